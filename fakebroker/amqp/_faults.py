"""The engine's side of fault injection: fault points ask the plan, actions break things.

The plan (``broker.faults``, :mod:`fakebroker.faults`) is pure data; this
module describes each point as a :class:`~fakebroker.faults.Hit` and carries
out what fires there.  A drop sets ``engine.reset_requested`` and ends the
connection as a lost transport does (unacked deliveries requeued): output
produced before the fault point still leaves, nothing after it does.  Output
shaping (latency, bandwidth) holds frames on the broker's clock.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from pamqp import base
from pamqp import commands as C

from fakebroker.core import AMQPChannelError, AMQPConnectionError, Message, Timer
from fakebroker.core import events as E
from fakebroker.core.faultpoints import Action, Decision, Hit, Point

from ._wire import FRAME_METHOD, Frame

if TYPE_CHECKING:
    from ._channels import _Chan
    from ._content import Command
    from ._engine import Engine

__all__ = ["Shaper"]

# -- asking the plan ----------------------------------------------------------------------------


def _hit(eng: Engine, point: Point, **fields: Any) -> Hit:
    conn = eng.connection
    return Hit(
        point=point,
        connection=eng.name,
        connection_name=str(eng._login[1].get("connection_name") or ""),
        vhost=conn.vhost.name if conn is not None else "/",
        **fields,
    )


def fire(eng: Engine, point: Point, **fields: Any) -> Decision | None:
    """The fault to apply at ``point`` (None, cheaply, when none waits there)."""
    faults = eng._faults
    if not faults.armed(point):
        return None
    return faults.fire(_hit(eng, point, **fields))


def method_fields(method: base.Frame) -> dict[str, Any]:
    """A method's name, exchange, queue and routing key, as hits carry them."""
    return {
        "method": method.name.lower(),
        "exchange": getattr(method, "exchange", None),
        "queue": getattr(method, "queue", None),
        "routing_key": getattr(method, "routing_key", None),
    }


# -- actions on the connection ------------------------------------------------------------------


def drop(eng: Engine) -> None:
    """Reset the transport: the front aborts it; the core connection goes as if lost."""
    eng.reset_requested = True
    eng._finish()
    eng._notify()


def stall(eng: Engine, rule: Decision) -> None:
    """Stop reading and writing (and heartbeats) for ``rule.delay`` seconds, or for good."""
    eng._frozen = True
    if eng._heartbeats is not None:
        eng._heartbeats.cancel()
        eng._heartbeats = None
    if rule.delay is not None:
        eng.broker.clock.call_later(rule.delay, lambda: _unstall(eng))


def _unstall(eng: Engine) -> None:
    if eng.closed or not eng._frozen:
        return
    eng._frozen = False
    if eng.heartbeat:
        eng._start_heartbeats(eng.heartbeat)
    eng._resume()
    eng._notify()


def close_connection(eng: Engine, rule: Decision) -> None:
    """connection.close ``rule.code`` from the server (the core connection is gone)."""
    conn = eng.connection
    if conn is None or conn.closed:
        return
    conn.teardown()
    conn.emit(E.ConnectionClosed(AMQPConnectionError(rule.code or 320, rule.text or "")))


def apply(eng: Engine, rule: Decision) -> bool:
    """Carry out a connection-level action; False if the point must go on as usual."""
    if rule.action is Action.DROP:
        drop(eng)
    elif rule.action is Action.STALL:
        stall(eng, rule)
    elif rule.action is Action.CLOSE_CONNECTION:
        close_connection(eng, rule)
    else:
        return False
    return True


# -- points of the input path ---------------------------------------------------------------


def on_open(eng: Engine) -> None:
    """connection_opening: a refused connection is reset before anything is read."""
    rule = fire(eng, Point.CONNECTION_OPENING)
    if rule is not None:
        drop(eng)


def cut_input(eng: Engine, data: bytes) -> tuple[bytes, bytes, Decision | None]:
    """bytes_received: ``data`` split where a byte-count rule fires, and the rule."""
    rule = fire(eng, Point.BYTES_RECEIVED, received=eng._bytes_in, size=len(data))
    if rule is None or rule.cut is None:
        return data, b"", None
    return data[: rule.cut], data[rule.cut :], rule


def on_frame(eng: Engine, frame: Frame) -> bool:
    """frame_received; True when a fault took the frame."""
    if not eng._faults.armed(Point.FRAME_RECEIVED):
        return False
    fields: dict[str, Any] = {"channel": frame.channel}
    if frame.type == FRAME_METHOD and len(frame.payload) >= 4:
        fields["method"] = _method_name(frame.payload)
    rule = fire(eng, Point.FRAME_RECEIVED, **fields)
    if rule is not None and rule.action is Action.STALL:
        eng._held = frame  # handled when the stall ends
    return rule is not None and apply(eng, rule)


def on_content_header(eng: Engine, number: int, command: Command | None) -> bool:
    """content_header_received (mid-publish); True when a fault took over."""
    if command is None or not eng._faults.armed(Point.CONTENT_HEADER_RECEIVED):
        return False
    rule = fire(eng, Point.CONTENT_HEADER_RECEIVED, channel=number, **method_fields(command.method))
    return rule is not None and apply(eng, rule)


def on_command(eng: Engine, number: int, chan: _Chan, command: Command) -> bool:
    """method_received; True when a fault handled the command instead of the core."""
    if not eng._faults.armed(Point.METHOD_RECEIVED):
        return False
    method = command.method
    rule = fire(eng, Point.METHOD_RECEIVED, channel=number, **method_fields(method))
    if rule is None:
        return False
    if rule.action is Action.CLOSE_CHANNEL:
        chan.core.teardown()
        raise AMQPChannelError(rule.code or 406, rule.text or "fault injected")
    if rule.action is Action.RETURN and isinstance(method, C.Basic.Publish):
        _fake_return(eng, number, chan, command)
        return True
    if rule.action is Action.STALL:
        stall(eng, rule)  # handled now, but nothing leaves or is read until the stall ends
        return False
    return apply(eng, rule)


def after_command(eng: Engine, number: int, chan: _Chan, command: Command) -> bool:
    """message_routed (after a publish); True when a fault ended the connection."""
    method = command.method
    if not isinstance(method, C.Basic.Publish):
        return False
    if chan.core.confirm and eng._faults.armed(Point.CONFIRM_SENDING):
        eng._confirm_info[number, chan.core.publish_seq] = (method.exchange, method.routing_key)
    if not eng._faults.armed(Point.MESSAGE_ROUTED):
        return False
    rule = fire(eng, Point.MESSAGE_ROUTED, channel=number, **method_fields(method))
    return rule is not None and apply(eng, rule)


def _fake_return(eng: Engine, number: int, chan: _Chan, command: Command) -> None:
    method: Any = command.method
    core = chan.core
    props = command.properties or {}
    msg_id = eng.broker.next_message_id()
    msg = Message(method.exchange, method.routing_key, props, command.body or b"", msg_id)
    journal = eng.broker.journal
    where = {"exchange": method.exchange, "routing_key": method.routing_key, "msg": msg}
    journal.record("published", core.vhost.name, **where)
    journal.record("unroutable", core.vhost.name, **where)
    if method.mandatory:
        journal.record("returned", core.vhost.name, **where)
        core.conn.emit(E.Return(number, 312, "NO_ROUTE", method.exchange, method.routing_key, msg))
    core._confirm(False)


def _method_name(payload: bytes) -> str | None:
    cls: Any = C.INDEX_MAPPING.get(int.from_bytes(payload[:4], "big"))
    return str(cls.name).lower() if cls is not None else None


# -- points of the output path ------------------------------------------------------------------


def on_confirm(eng: Engine, ev: E.ConfirmAck) -> bool:
    """confirm_sending; True when a fault took the confirm (nack, delay, withhold)."""
    info = eng._confirm_info.pop((ev.channel, ev.delivery_tag), None)
    if not eng._faults.armed(Point.CONFIRM_SENDING):
        return False
    exchange, routing_key = info if info is not None else (None, None)
    rule = fire(
        eng,
        Point.CONFIRM_SENDING,
        channel=ev.channel,
        method="basic.ack",
        exchange=exchange,
        routing_key=routing_key,
    )
    if rule is None:
        return False
    if rule.action is Action.NACK:
        eng._send_confirm(ev.channel, ev.delivery_tag, ev.multiple, ack=False)
    elif rule.action is Action.DELAY:
        eng.broker.clock.call_later(rule.delay or 0.0, lambda: _late_confirm(eng, ev))
    elif rule.action is Action.DROP:
        drop(eng)
    return True


def _late_confirm(eng: Engine, ev: E.ConfirmAck) -> None:
    if eng._live(ev.channel) and not eng._frozen:
        eng._send_confirm(ev.channel, ev.delivery_tag, ev.multiple, ack=True)
        eng._notify()


def delivery_fault(eng: Engine, ev: E.Deliver) -> Decision | None:
    """delivery_sending: the rule to apply once the delivery has been written."""
    if not eng._faults.armed(Point.DELIVERY_SENDING):
        return None
    chan = eng._channels.get(ev.channel)
    consumer = chan.core.consumers.get(ev.consumer_tag) if chan is not None else None
    unacked = sum(len(c.core.unacked) for c in eng._channels.values())
    return fire(
        eng,
        Point.DELIVERY_SENDING,
        channel=ev.channel,
        method="basic.deliver",
        exchange=ev.exchange,
        routing_key=ev.routing_key,
        queue=consumer.queue.name if consumer is not None else None,
        unacked=unacked,
    )


def after_delivery(eng: Engine, ev: E.Deliver, rule: Decision) -> None:
    """Apply a delivery_sending rule after the delivery went out."""
    chan = eng._channels.get(ev.channel)
    consumer = chan.core.consumers.get(ev.consumer_tag) if chan is not None else None
    if rule.action is Action.CANCEL and consumer is not None and chan is not None:
        consumer.queue.remove_consumer(consumer)
        chan.core.cancel_by_server(consumer)
    elif rule.action is Action.DUPLICATE and consumer is not None and not consumer.queue.deleted:
        consumer.queue.enqueue(ev.message)
    else:
        apply(eng, rule)


# -- output shaping -------------------------------------------------------------------------


class Shaper:
    """Frames held until their release time on the broker's clock (latency, bandwidth)."""

    def __init__(self) -> None:
        self.held: deque[tuple[float, bytes]] = deque()
        self.last_release = 0.0
        self.line_free = 0.0
        self.timer: Timer | None = None

    def push(self, chunks: list[bytes], now: float, delay: float, rate: float | None) -> None:
        """Hold ``chunks`` (in order) ``delay`` seconds, serialised at ``rate`` bytes/s."""
        for chunk in chunks:
            start = max(now, self.line_free)
            self.line_free = start + (len(chunk) / rate if rate else 0.0)
            release = max(self.line_free + delay, self.last_release)
            self.last_release = release
            self.held.append((release, chunk))

    def ready(self, now: float) -> list[bytes]:
        """The chunks due by ``now``."""
        out = []
        while self.held and self.held[0][0] <= now:
            out.append(self.held.popleft()[1])
        return out


def shape(eng: Engine, chunks: list[bytes]) -> list[bytes]:
    """frame_sending: the chunks that may leave now; the rest wait on the clock."""
    shaper = eng._shaper
    rules: tuple[Decision, ...] = ()
    if chunks and eng._faults.armed(Point.FRAME_SENDING):
        rules = eng._faults.fire_all(_hit(eng, Point.FRAME_SENDING))
    if not rules and (shaper is None or not shaper.held):
        return chunks
    if shaper is None:
        shaper = eng._shaper = Shaper()
    clock = eng.broker.clock
    delay = sum(r.delay or 0.0 for r in rules if r.action is Action.LATENCY)
    rates = [r.rate for r in rules if r.action is Action.BANDWIDTH and r.rate]
    shaper.push(chunks, clock.now(), delay, min(rates) if rates else None)
    out = shaper.ready(clock.now())
    if shaper.held and shaper.timer is None:
        shaper.timer = clock.call_at(shaper.held[0][0], lambda: _release(eng))
    return out


def _release(eng: Engine) -> None:
    shaper = eng._shaper
    if shaper is None:
        return
    shaper.timer = None
    if eng.wakeup is not None and not eng._busy:
        eng.wakeup()
