"""A raw AMQP client for driving an Engine with frames built by pamqp."""

from __future__ import annotations

import struct
from typing import Any

from pamqp import base, body, frame, header, heartbeat
from pamqp import commands as C

from fakebroker.amqp import Engine
from fakebroker.core import Broker, VirtualClock

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
CAPS = {"authentication_failure_close": True, "consumer_cancel_notify": True}


def method_frame(channel: int, method: base.Frame) -> bytes:
    return frame.marshal(method, channel)


def raw_method(channel: int, class_id: int, method_id: int, args: bytes) -> bytes:
    payload = struct.pack(">HH", class_id, method_id) + args
    return struct.pack(">BHI", 1, channel, len(payload)) + payload + b"\xce"


def header_frame(channel: int, size: int, props: C.Basic.Properties | None = None) -> bytes:
    return frame.marshal(header.ContentHeader(0, size, props or C.Basic.Properties()), channel)


def body_frame(channel: int, data: bytes) -> bytes:
    return frame.marshal(body.ContentBody(data), channel)


def heartbeat_frame(channel: int = 0) -> bytes:
    return struct.pack(">BHI", 8, channel, 0) + b"\xce"


def start_ok(
    user: str = "guest", password: str = "guest", *, caps: bool = True, mechanism: str = "PLAIN"
) -> bytes:
    props: dict[str, Any] = {"capabilities": dict(CAPS)} if caps else {}
    response = f"\0{user}\0{password}"
    return method_frame(0, C.Connection.StartOk(props, mechanism, response, "en_US"))


def close(code: int = 200, text: str = "bye") -> C.Connection.Close:
    return C.Connection.Close(reply_code=code, reply_text=text, class_id=0, method_id=0)


def channel_close(code: int = 200, text: str = "bye") -> C.Channel.Close:
    return C.Channel.Close(reply_code=code, reply_text=text, class_id=0, method_id=0)


def parse(data: bytes) -> list[tuple[int, Any]]:
    """Frames in ``data``: (channel, pamqp object); a protocol header as (-1, bytes)."""
    out: list[tuple[int, Any]] = []
    if data.startswith(b"AMQP"):
        out.append((-1, data[:8]))
        data = data[8:]
    while data:
        used, channel, value = frame.unmarshal(data)
        out.append((channel, value))
        data = data[used:]
    return out


def summary(frames: list[tuple[int, Any]]) -> list[tuple[int, str]]:
    return [(ch, getattr(value, "name", repr(value))) for ch, value in frames]


class RawClient:
    """One engine on a VirtualClock, fed raw bytes."""

    def __init__(self, broker: Broker | None = None, **engine_kwargs: Any) -> None:
        self.clock = VirtualClock()
        self.broker = broker or Broker(clock=self.clock)
        if broker is not None:
            assert isinstance(broker.clock, VirtualClock)
            self.clock = broker.clock
        self.engine = Engine(
            broker=self.broker, peer="127.0.0.1:5555", local="127.0.0.1:5672", **engine_kwargs
        )
        self.wakeups = 0
        self.engine.wakeup = self._wakeup

    def _wakeup(self) -> None:
        self.wakeups += 1

    def send(self, *chunks: bytes) -> list[tuple[int, Any]]:
        for chunk in chunks:
            self.engine.receive_data(chunk)
        return self.recv()

    def recv(self) -> list[tuple[int, Any]]:
        return parse(self.engine.data_to_send())

    def handshake(
        self, *, tune: tuple[int, int, int] = (2047, 131072, 0), vhost: str = "/"
    ) -> list[tuple[int, Any]]:
        self.send(PROTOCOL_HEADER)
        self.send(start_ok())
        return self.send(
            method_frame(0, C.Connection.TuneOk(*tune)),
            method_frame(0, C.Connection.Open(virtual_host=vhost)),
        )

    def open(self, *, channels: tuple[int, ...] = (1,), **kwargs: Any) -> None:
        frames = self.handshake(**kwargs)
        assert isinstance(frames[-1][1], C.Connection.OpenOk), frames
        for number in channels:
            reply = self.send(method_frame(number, C.Channel.Open()))
            assert isinstance(reply[0][1], C.Channel.OpenOk), reply

    def call(self, channel: int, method: base.Frame) -> list[tuple[int, Any]]:
        return self.send(method_frame(channel, method))

    def publish(
        self,
        channel: int,
        data: bytes,
        *,
        routing_key: str,
        exchange: str = "",
        chunk: int | None = None,
        props: C.Basic.Properties | None = None,
    ) -> list[tuple[int, Any]]:
        chunk = chunk or max(1, len(data))
        bodies = [body_frame(channel, data[i : i + chunk]) for i in range(0, len(data), chunk)]
        return self.send(
            method_frame(channel, C.Basic.Publish(exchange=exchange, routing_key=routing_key)),
            header_frame(channel, len(data), props),
            *bodies,
        )


def only_close(frames: list[tuple[int, Any]]) -> Any:
    """The last frame, which must be a connection.close; returns it."""
    assert frames, "no frames"
    channel, value = frames[-1]
    assert channel == 0 and isinstance(value, C.Connection.Close), frames
    return value


__all__ = [
    "PROTOCOL_HEADER",
    "RawClient",
    "body_frame",
    "channel_close",
    "close",
    "header_frame",
    "heartbeat",
    "heartbeat_frame",
    "method_frame",
    "only_close",
    "parse",
    "raw_method",
    "start_ok",
    "summary",
]
