"""The core's asynchronous events turned into frames (docs/architecture.md, the events table).

Rules:
- events for a channel that is gone or closed (by either side, ``_state.py``)
  are dropped;
- basic.cancel goes only to clients with ``consumer_cancel_notify``, and
  connection.blocked / unblocked only to clients with ``connection.blocked``;
- ConnectionClosed sends connection.close and waits for close-ok (30 s), or
  resets the transport right after it (``reset``, a shutdown);
- ConnectionReset resets the transport (the output before it still leaves);
- the event-level fault decisions (confirm_sending: nack, delay, withhold,
  drop; delivery_sending: cancel, duplicate, and connection actions) are
  carried out here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pamqp import commands as C

from fakebroker.core import events as E
from fakebroker.core.faultpoints import Action, Decision, Point

from . import _faults as F
from ._codec import encode_deliver, unchecked

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["send_event"]

_Ev = TypeVar("_Ev", bound=E.Event)
#: Handlers by event class; each is typed with its own event class when registered.
_EVENTS: dict[type, Callable[[Engine, Any], None]] = {}


def _on(
    kind: type[_Ev],
) -> Callable[[Callable[[Engine, _Ev], None]], Callable[[Engine, _Ev], None]]:
    def register(handler: Callable[[Engine, _Ev], None]) -> Callable[[Engine, _Ev], None]:
        _EVENTS[kind] = handler
        return handler

    return register


def send_event(eng: Engine, event: E.Event) -> None:
    """Write the frames for one outbox event."""
    _EVENTS[type(event)](eng, event)


# -- events -> frames ---------------------------------------------------------------------------


@_on(E.Deliver)
def _deliver(eng: Engine, ev: E.Deliver) -> None:
    chan = eng.channels.get(ev.channel)
    if chan is None or chan.closing:
        return
    decision = None
    if eng.faults.armed(Point.DELIVERY_SENDING):
        consumer = chan.core.consumers.get(ev.consumer_tag)
        decision = F.at_delivery(eng, ev, consumer.queue.name if consumer is not None else None)
    method = encode_deliver(
        ev.channel,
        ev.consumer_tag,
        ev.delivery_tag,
        ev.redelivered,
        ev.exchange,
        ev.routing_key,
    )
    eng.out.send_content(ev.channel, method, ev.message)
    if decision is not None:
        _after_delivery(eng, ev, decision)


def _after_delivery(eng: Engine, ev: E.Deliver, decision: Decision) -> None:
    """Carry out a delivery_sending decision once the delivery went out."""
    chan = eng.channels.get(ev.channel)
    consumer = chan.core.consumers.get(ev.consumer_tag) if chan is not None else None
    if decision.action is Action.CANCEL:
        if consumer is not None and chan is not None:
            consumer.queue.remove_consumer(consumer)
            chan.core.cancel_by_server(consumer)
    elif decision.action is Action.DUPLICATE:
        if consumer is not None and not consumer.queue.deleted:
            consumer.queue.enqueue(ev.message)
    else:
        eng.apply(decision)


@_on(E.Return)
def _return(eng: Engine, ev: E.Return) -> None:
    if eng.channels.live(ev.channel):
        method = unchecked(
            C.Basic.Return,
            reply_code=ev.reply_code,
            reply_text=ev.reply_text,
            exchange=ev.exchange,
            routing_key=ev.routing_key,
        )
        eng.out.send_content(ev.channel, method, ev.message)


@_on(E.ConfirmAck)
def _confirm_ack(eng: Engine, ev: E.ConfirmAck) -> None:
    where = eng.channels.confirm_target(ev.channel, ev.delivery_tag)
    if not eng.channels.live(ev.channel):
        return
    decision = F.at_confirm(eng, ev, where)
    if decision is None:
        eng.send_confirm(ev.channel, ev.delivery_tag, ev.multiple, ack=True)
    elif decision.action is Action.NACK:
        eng.send_confirm(ev.channel, ev.delivery_tag, ev.multiple, ack=False)
    elif decision.action is Action.DELAY:
        eng.clock.call_later(decision.delay or 0.0, lambda: _late_confirm(eng, ev))
    elif decision.action is Action.DROP:
        eng.drop()
    # withhold: nothing goes out


def _late_confirm(eng: Engine, ev: E.ConfirmAck) -> None:
    if eng.channels.live(ev.channel) and eng.machine.writes:
        eng.send_confirm(ev.channel, ev.delivery_tag, ev.multiple, ack=True)
        eng.notify()


@_on(E.ConfirmNack)
def _confirm_nack(eng: Engine, ev: E.ConfirmNack) -> None:
    if eng.channels.live(ev.channel):
        eng.send_confirm(ev.channel, ev.delivery_tag, ev.multiple, ack=False)


@_on(E.ConsumerCancelled)
def _cancelled(eng: Engine, ev: E.ConsumerCancelled) -> None:
    if eng.channels.live(ev.channel) and eng.capable("consumer_cancel_notify"):
        eng.out.send(ev.channel, C.Basic.Cancel(consumer_tag=ev.consumer_tag, nowait=True))


@_on(E.ChannelClosed)
def _channel_closed(eng: Engine, ev: E.ChannelClosed) -> None:
    eng.channels.close(ev.channel, ev.error)


@_on(E.ConnectionClosed)
def _connection_closed(eng: Engine, ev: E.ConnectionClosed) -> None:
    eng.close_connection(ev.error, reset=ev.reset)


@_on(E.ConnectionReset)
def _connection_reset(eng: Engine, ev: E.ConnectionReset) -> None:
    eng.drop()


@_on(E.Blocked)
def _blocked(eng: Engine, ev: E.Blocked) -> None:
    if eng.capable("connection.blocked"):
        eng.out.send(0, C.Connection.Blocked(reason=ev.reason))
        eng.machine.note_blocked()


@_on(E.Unblocked)
def _unblocked(eng: Engine, ev: E.Unblocked) -> None:
    if eng.machine.unblock() and eng.capable("connection.blocked"):
        eng.out.send(0, C.Connection.Unblocked())
    if eng.machine.alarm_holds:
        eng.resume()
