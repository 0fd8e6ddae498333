"""The core's asynchronous events turned into frames (docs/architecture.md, the events table).

Rules:
- events for a channel that is gone or closing are dropped;
- basic.cancel goes only to clients with ``consumer_cancel_notify``, and
  connection.blocked / unblocked only to clients with ``connection.blocked``;
- ConnectionClosed sends connection.close and waits for close-ok (30 s), or
  resets the transport right after it (``reset``, a shutdown);
- ConnectionReset resets the transport (the output before it still leaves).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pamqp import commands as C

from fakebroker.core import events as E

from . import _faults as F
from ._codec import encode_deliver, unchecked

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["send_event"]


# -- events -> frames ---------------------------------------------------------------------------


def _deliver(eng: Engine, ev: Any) -> None:
    if eng._live(ev.channel):
        fault = F.delivery_fault(eng, ev)
        method = encode_deliver(
            ev.channel,
            ev.consumer_tag,
            ev.delivery_tag,
            ev.redelivered,
            ev.exchange,
            ev.routing_key,
        )
        eng._send_content(ev.channel, method, ev.message)
        if fault is not None:
            F.after_delivery(eng, ev, fault)


def _return(eng: Engine, ev: Any) -> None:
    if eng._live(ev.channel):
        method = unchecked(
            C.Basic.Return,
            reply_code=ev.reply_code,
            reply_text=ev.reply_text,
            exchange=ev.exchange,
            routing_key=ev.routing_key,
        )
        eng._send_content(ev.channel, method, ev.message)


def _confirm_ack(eng: Engine, ev: Any) -> None:
    if eng._live(ev.channel) and not F.on_confirm(eng, ev):
        eng._send_confirm(ev.channel, ev.delivery_tag, ev.multiple, ack=True)


def _confirm_nack(eng: Engine, ev: Any) -> None:
    if eng._live(ev.channel):
        eng._send_confirm(ev.channel, ev.delivery_tag, ev.multiple, ack=False)


def _cancelled(eng: Engine, ev: Any) -> None:
    if eng._live(ev.channel) and eng._capable("consumer_cancel_notify"):
        eng._send(ev.channel, C.Basic.Cancel(consumer_tag=ev.consumer_tag, nowait=True))


def _channel_closed(eng: Engine, ev: Any) -> None:
    eng._close_channel(ev.channel, ev.error)


def _connection_closed(eng: Engine, ev: Any) -> None:
    eng._send_connection_close(ev.error)
    eng._teardown_core()
    if ev.reset:
        F.drop(eng)  # the close frame leaves, then the transport is reset
    else:
        eng._start_closing(eng._delays[1])


def _connection_reset(eng: Engine, ev: Any) -> None:
    F.drop(eng)


def _blocked(eng: Engine, ev: Any) -> None:
    if eng._capable("connection.blocked"):
        eng._send(0, C.Connection.Blocked(reason=ev.reason))
        eng._blocked_sent = True


def _unblocked(eng: Engine, ev: Any) -> None:
    if eng._capable("connection.blocked") and eng._blocked_sent:
        eng._send(0, C.Connection.Unblocked())
    eng._blocked_sent = False
    if eng._held is not None:
        eng._resume()


_EVENTS: dict[type, Callable[[Engine, Any], None]] = {
    E.Deliver: _deliver,
    E.Return: _return,
    E.ConfirmAck: _confirm_ack,
    E.ConfirmNack: _confirm_nack,
    E.ConsumerCancelled: _cancelled,
    E.ChannelClosed: _channel_closed,
    E.ConnectionClosed: _connection_closed,
    E.ConnectionReset: _connection_reset,
    E.Blocked: _blocked,
    E.Unblocked: _unblocked,
}


def send_event(eng: Engine, event: E.Event) -> None:
    """Write the frames for one outbox event."""
    _EVENTS[type(event)](eng, event)
