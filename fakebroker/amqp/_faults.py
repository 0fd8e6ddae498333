"""The engine's side of fault injection: it asks the plan, and gets decisions back.

The plan (``broker.faults``, the :class:`~fakebroker.core.faultpoints.FaultHooks`
a node installs) is pure data; this module describes each fault point as a
:class:`~fakebroker.core.faultpoints.Hit` and returns the
:class:`~fakebroker.core.faultpoints.Decision` that fired there, if any.
The engine and its parts carry decisions out (``Engine.apply``, the channel
layer, the event writer); nothing here touches the connection.  Output
shaping (latency, bandwidth, slices) is ``_shaping.py``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pamqp import base
from pamqp import commands as C

from fakebroker.core.faultpoints import Decision, Hit, Point

from ._wire import FRAME_METHOD, Frame

if TYPE_CHECKING:
    from fakebroker.core import events as E

    from ._engine import Engine

__all__ = ["ask", "method_fields"]


def ask(eng: Engine, point: Point, **fields: Any) -> Decision | None:
    """The fault to apply at ``point`` (None, cheaply, when none waits there)."""
    faults = eng.faults
    if not faults.armed(point):
        return None
    return faults.fire(_hit(eng, point, **fields))


def _hit(eng: Engine, point: Point, **fields: Any) -> Hit:
    conn = eng.connection
    return Hit(
        point=point,
        connection=eng.name,
        connection_name=eng.client_name,
        vhost=conn.vhost.name if conn is not None else "/",
        **fields,
    )


def method_fields(method: base.Frame) -> dict[str, Any]:
    """A method's name, exchange, queue and routing key, as hits carry them."""
    return {
        "method": method.name.lower(),
        "exchange": getattr(method, "exchange", None),
        "queue": getattr(method, "queue", None),
        "routing_key": getattr(method, "routing_key", None),
    }


# -- points of the input path ---------------------------------------------------------------


def at_bytes(eng: Engine, data: bytes) -> Decision | None:
    """bytes_received: a byte-count rule reached inside ``data`` (``cut``: where)."""
    return ask(eng, Point.BYTES_RECEIVED, received=eng.bytes_in, size=len(data))


def at_frame(eng: Engine, frame: Frame) -> Decision | None:
    """frame_received: before a frame is handled."""
    if not eng.faults.armed(Point.FRAME_RECEIVED):
        return None
    fields: dict[str, Any] = {"channel": frame.channel}
    if frame.type == FRAME_METHOD and len(frame.payload) >= 4:
        fields["method"] = _method_name(frame.payload)
    return ask(eng, Point.FRAME_RECEIVED, **fields)


def at_content_header(eng: Engine, number: int, method: base.Frame) -> Decision | None:
    """content_header_received (mid-publish)."""
    return ask(eng, Point.CONTENT_HEADER_RECEIVED, channel=number, **method_fields(method))


def at_command(eng: Engine, number: int, method: base.Frame) -> Decision | None:
    """method_received: a complete command, before it is handled."""
    if not eng.faults.armed(Point.METHOD_RECEIVED):
        return None
    return ask(eng, Point.METHOD_RECEIVED, channel=number, **method_fields(method))


def at_routed(eng: Engine, number: int, method: C.Basic.Publish) -> Decision | None:
    """message_routed: after a publish was routed."""
    if not eng.faults.armed(Point.MESSAGE_ROUTED):
        return None
    return ask(eng, Point.MESSAGE_ROUTED, channel=number, **method_fields(method))


def _method_name(payload: bytes) -> str | None:
    cls: type[base.Frame] | None = C.INDEX_MAPPING.get(int.from_bytes(payload[:4], "big"))
    return str(cls.name).lower() if cls is not None else None


# -- points of the output path ------------------------------------------------------------------


def at_confirm(eng: Engine, ev: E.ConfirmAck, where: tuple[str, str] | None) -> Decision | None:
    """confirm_sending: before a basic.ack confirm goes out (``where``: exchange, key)."""
    if not eng.faults.armed(Point.CONFIRM_SENDING):
        return None
    exchange, routing_key = where if where is not None else (None, None)
    return ask(
        eng,
        Point.CONFIRM_SENDING,
        channel=ev.channel,
        method="basic.ack",
        exchange=exchange,
        routing_key=routing_key,
    )


def at_delivery(eng: Engine, ev: E.Deliver, queue: str | None) -> Decision | None:
    """delivery_sending: before a basic.deliver goes out (applied after it is written)."""
    if not eng.faults.armed(Point.DELIVERY_SENDING):
        return None
    return ask(
        eng,
        Point.DELIVERY_SENDING,
        channel=ev.channel,
        method="basic.deliver",
        exchange=ev.exchange,
        routing_key=ev.routing_key,
        queue=queue,
        unacked=eng.channels.unacked(),
    )


def at_bytes_sent(eng: Engine, data: bytes) -> Decision | None:
    """bytes_sent: a byte-count rule reached inside ``data``, about to leave (``cut``: where)."""
    return ask(eng, Point.BYTES_SENT, sent=eng.bytes_out, size=len(data))


def at_frames_sending(eng: Engine) -> tuple[Decision, ...]:
    """frame_sending: the shaping rules that fire (they combine)."""
    if not eng.faults.armed(Point.FRAME_SENDING):
        return ()
    return eng.faults.fire_all(_hit(eng, Point.FRAME_SENDING))
