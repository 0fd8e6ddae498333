"""Malformed client input, sent to RabbitMQ and to fakebroker: the cases and how to ask each.

Run ``python -m tests.amqp.probe_malformed [NAME ...]`` to print both
answers side by side (RabbitMQ at 127.0.0.1:5672); ``tests/amqp/test_malformed.py``
holds the same cases to RabbitMQ's probed answers. Not collected by pytest.

A case is bytes sent at one stage of a connection:

- ``raw``: from the first byte (the protocol header is the case's own);
- ``tuned``: after start-ok and tune-ok, before connection.open;
- ``open``: after connection.open and channel.open on channel 1.

The answer is every frame the server sent after that stage, summarised
(method name, reply code and text, class and method ids; content headers as
their raw payload), and how the socket ended: ``open`` (still serving: at
the ``open`` stage a sentinel channel.open on channel 9 was answered),
``eof`` (closed, with how long after the input), or ``held`` (neither within
the case's wait). Queue names carry a token per run, masked as ``T`` in texts.
"""

from __future__ import annotations

import secrets
import socket
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pamqp import commands as C

from fakebroker.amqp._codec import decode_method
from fakebroker.amqp._wire import FrameReader
from fakebroker.core import Broker, VirtualClock

from ._client import PROTOCOL_HEADER, RawClient, method_frame, start_ok

HOST, PORT = "127.0.0.1", 5672
SENTINEL = 9
QUIET = 0.3
TUNE = (2047, 131072, 0)

Build = Callable[[str], bytes]

# -- frame builders (raw bytes, past pamqp's validation) ------------------------------------------


def frame(frame_type: int, channel: int, payload: bytes, end: int = 0xCE) -> bytes:
    """One frame with any type, payload and end octet."""
    return struct.pack(">BHI", frame_type, channel, len(payload)) + payload + bytes([end])


def shortstr(raw: bytes) -> bytes:
    return bytes([len(raw)]) + raw


def longstr(raw: bytes) -> bytes:
    return struct.pack(">I", len(raw)) + raw


def table(raw_pairs: bytes) -> bytes:
    """A field table around already-encoded (key, tagged value) pairs."""
    return longstr(raw_pairs)


def method(channel: int, class_id: int, method_id: int, args: bytes) -> bytes:
    return frame(1, channel, struct.pack(">HH", class_id, method_id) + args)


def publish(channel: int, exchange: bytes, routing_key: bytes, *, mandatory: bool = False) -> bytes:
    args = b"\x00\x00" + shortstr(exchange) + shortstr(routing_key) + bytes([mandatory])
    return method(channel, 60, 40, args)


def header(channel: int, size: int, props: bytes, *, weight: int = 0, class_id: int = 60) -> bytes:
    """A content header with ``props`` (flags and values) as given."""
    return frame(2, channel, struct.pack(">HHQ", class_id, weight, size) + props)


def body(channel: int, data: bytes) -> bytes:
    return frame(3, channel, data)


def declare(channel: int, queue: bytes, arguments: bytes = b"\x00\x00\x00\x00") -> bytes:
    """queue.declare (not passive, not durable) with raw name and arguments."""
    return method(channel, 50, 10, b"\x00\x00" + shortstr(queue) + b"\x00" + arguments)


def get(channel: int, queue: bytes) -> bytes:
    return method(channel, 60, 70, b"\x00\x00" + shortstr(queue) + b"\x01")


def props_headers(headers: bytes) -> bytes:
    """Property flags with only ``headers`` set, then the table."""
    return struct.pack(">H", 0x2000) + headers


def nested(depth: int) -> bytes:
    """A headers table ``{"a": {"a": ... {} }}`` ``depth`` tables deep."""
    inner = b"\x00\x00\x00\x00"
    for _ in range(depth - 1):
        inner = longstr(shortstr(b"a") + b"F" + inner)
    return inner


def round_trip(token: str, props: bytes, *, queue: str = "q") -> bytes:
    """Declare a queue, publish a 1-byte message with ``props`` to it, get it back."""
    name = f"{token}.{queue}".encode()
    return (
        declare(1, name)
        + publish(1, b"", name)
        + header(1, 1, props)
        + body(1, b"m")
        + get(1, name)
    )


# -- the cases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """Bytes sent at ``stage`` of a fresh connection; ``wait`` bounds how long we watch the socket."""

    name: str
    stage: str
    build: Build
    wait: float = 1.0
    note: str = ""


def _const(data: bytes) -> Build:
    return lambda token: data


_BAD_UTF8 = b"\xff\xfek"
_LONG_NAME_HIGH = bytes(range(160, 256)) + b"x" * 100  # 196 bytes, none of them UTF-8
_TABLE_KEY = props_headers(table(shortstr(_BAD_UTF8) + b"S" + longstr(b"v")))


def _queue_args(pairs: bytes) -> Build:
    return lambda token: declare(1, f"{token}.qa".encode(), table(pairs))


#: Properties published and got back unchanged (RabbitMQ re-sends the publisher's header).
ROUND_TRIPS: dict[str, bytes] = {
    "utf8-table-key": _TABLE_KEY,
    "nested-600": props_headers(nested(600)),
    "timestamp-max": struct.pack(">H", 0x0040) + b"\xff" * 8,
    "timestamp-max-in-table": props_headers(table(shortstr(b"t") + b"T" + b"\xff" * 8)),
    "utf8-content-type": struct.pack(">H", 0x8000) + shortstr(_BAD_UTF8),
    "long-type-L": props_headers(table(shortstr(b"k") + b"L" + b"\xff" * 8)),
    "decimal-unsigned": props_headers(table(shortstr(b"k") + b"D\x02\xff\xff\xff\xff")),
    "duplicate-keys": props_headers(
        table(shortstr(b"k") + b"I\0\0\0\1" + shortstr(b"k") + b"I\0\0\0\2")
    ),
}


def _round_trip(name: str) -> Build:
    return lambda token: round_trip(token, ROUND_TRIPS[name])


CODEC_CASES: list[Case] = [
    *(Case(name, "open", _round_trip(name)) for name in ROUND_TRIPS),
    Case(
        "utf8-routing-key",
        "open",
        lambda t: (
            publish(1, b"amq.direct", b"rk\xff", mandatory=True)
            + header(1, 1, b"\x00\x00")
            + body(1, b"m")
        ),
        note="unroutable and mandatory: basic.return carries the key back",
    ),
    Case("utf8-queue-arg-key", "open", _queue_args(shortstr(_BAD_UTF8) + b"S" + longstr(b"v"))),
    Case("bad-queue-name-utf8", "open", lambda t: declare(1, b"\xff\xfe" + t.encode())),
    Case("nested-600-args", "open", _queue_args(shortstr(b"x-n") + b"F" + nested(600))),
    Case("delivery-mode-7", "open", lambda t: round_trip(t, struct.pack(">HB", 0x1000, 7))),
    Case("delivery-mode-0", "open", lambda t: round_trip(t, struct.pack(">HB", 0x1000, 0))),
    Case(
        "header-class-50",
        "open",
        lambda t: publish(1, b"", b"nowhere") + header(1, 0, b"\x00\x00", class_id=50),
    ),
    Case(
        "props-truncated",
        "open",
        lambda t: publish(1, b"", b"nowhere") + header(1, 0, struct.pack(">H", 0x8000) + b"\x05ab"),
    ),
    Case(
        "props-flags-truncated",
        "open",
        lambda t: publish(1, b"", b"nowhere") + header(1, 0, b"\x80"),
    ),
    Case(
        "props-trailing",
        "open",
        lambda t: publish(1, b"", b"nowhere") + header(1, 0, b"\x00\x00junk"),
    ),
    Case(
        "props-table-length",
        "open",
        lambda t: (
            publish(1, b"", b"nowhere")
            + header(1, 0, struct.pack(">HI", 0x2000, 1000) + b"\x01kSabc")
        ),
    ),
    Case(
        "props-table-inner-length",
        "open",
        lambda t: (
            publish(1, b"", b"nowhere")
            + header(
                1, 0, props_headers(table(shortstr(b"k") + b"S" + struct.pack(">I", 99) + b"x"))
            )
        ),
    ),
    Case(
        "props-unknown-type",
        "open",
        lambda t: (
            publish(1, b"", b"nowhere")
            + header(1, 0, props_headers(table(shortstr(b"k") + b"Z" + b"\x00")))
        ),
    ),
    Case(
        "props-continuation",
        "open",
        lambda t: publish(1, b"", b"nowhere") + header(1, 0, b"\x00\x01\x00\x00"),
    ),
    Case(
        "props-continuation-set",
        "open",
        lambda t: publish(1, b"", b"nowhere") + header(1, 0, b"\x80\x01\x00\x00" + b"\x01a"),
    ),
    Case(
        "method-unknown-type",
        "open",
        _queue_args(shortstr(b"k") + b"Z\x00"),
    ),
    Case(
        "method-table-length",
        "open",
        _const(declare(1, b"T.qa", struct.pack(">I", 50) + b"\x01kSab")),
    ),
    Case(
        "long-text-high-bytes",
        "open",
        lambda t: method(1, 50, 10, b"\x00\x00" + shortstr(_LONG_NAME_HIGH) + b"\x01" + b"\0" * 4),
        note="passive declare of a missing queue whose name is bytes 160-255",
    ),
    Case(
        "long-text-255",
        "open",
        lambda t: method(1, 50, 10, b"\x00\x00" + shortstr(b"n" * 255) + b"\x01" + b"\0" * 4),
        note="passive declare of a missing queue with a 255-byte name",
    ),
    Case(
        "long-text-utf8",
        "open",
        lambda t: method(
            1, 50, 10, b"\x00\x00" + shortstr("é".encode() * 120) + b"\x01" + b"\0" * 4
        ),
    ),
    Case(
        "long-text-exchange",
        "open",
        lambda t: method(
            1,
            40,
            10,
            b"\x00\x00" + shortstr(_LONG_NAME_HIGH) + shortstr(b"direct") + b"\x01\0\0\0\0",
        ),
    ),
]

#: Codec-level answers that need a change in the engine or the core (see test_malformed.py).
ENGINE_CODEC_CASES: list[Case] = [
    Case(
        "header-weight-1",
        "open",
        lambda t: publish(1, b"", b"nowhere") + header(1, 1, b"\x00\x00", weight=1) + body(1, b"m"),
    ),
    Case(
        "props-bad-before-body",
        "open",
        lambda t: publish(1, b"", b"nowhere") + header(1, 1, b"\x00\x00junk"),
        note="RabbitMQ decodes properties once the body is complete",
    ),
    Case(
        "connection-close-not-utf8",
        "open",
        lambda t: method(0, 10, 50, b"\x00\xc8" + shortstr(_BAD_UTF8) + b"\0\0\0\0"),
    ),
    Case(
        "publish-exchange-not-utf8",
        "open",
        lambda t: publish(1, _BAD_UTF8, b"k") + header(1, 0, b"\x00\x00"),
    ),
]

#: What follows a client's channel.close in the same packet (``close-then-NAME``).
_AFTER_CLOSE: dict[str, Build] = {
    "close-ok": lambda t: method_frame(1, C.Channel.CloseOk()),
    "declare": lambda t: method(1, 50, 10, b"\x00\x00" + shortstr(b"nowhere") + b"\x01\0\0\0\0"),
    "open": lambda t: method_frame(1, C.Channel.Open()),
    "header": lambda t: header(1, 0, b"\x00\x00"),
    "publish": lambda t: publish(1, b"", b"nowhere") + header(1, 1, b"\x00\x00") + body(1, b"m"),
    "bad-method": lambda t: declare(1, b"T.qa", struct.pack(">I", 50) + b"\x01kSab"),
}

ENGINE_CASES: list[Case] = [
    Case("header-unopened-channel", "open", lambda t: header(5, 0, b"\x00\x00")),
    Case("body-unopened-channel", "open", lambda t: body(5, b"m")),
    Case(
        "open-on-channel-1",
        "tuned",
        lambda t: method_frame(1, C.Connection.Open(virtual_host="/")),
        wait=5.0,
    ),
    Case("heartbeat-payload", "open", lambda t: frame(8, 0, b"xy")),
    Case("heartbeat-payload-tuned", "tuned", lambda t: frame(8, 0, b"xy"), wait=5.0),
    Case(
        "heartbeat-payload-start",
        "raw",
        lambda t: PROTOCOL_HEADER + frame(8, 0, b"xy"),
        wait=5.0,
    ),
    Case(
        "two-channel-close",
        "open",
        lambda t: method_frame(1, C.Channel.Close(200, "a", 0, 0)) * 2,
    ),
    Case("access-request", "open", lambda t: method(1, 30, 10, shortstr(b"/data") + b"\x00")),
    *(
        Case(
            f"close-then-{name}",
            "open",
            lambda t, after=after: method_frame(1, C.Channel.Close(200, "a", 0, 0)) + after(t),
            note="pipelined after the client's channel.close, before its close-ok",
        )
        for name, after in _AFTER_CLOSE.items()
    ),
    Case("amqp-0-8-header", "raw", _const(b"AMQP\x01\x01\x08\x00"), wait=4.0),
    Case("amqp-0-9-header", "raw", _const(b"AMQP\x01\x01\x00\x09"), wait=4.0),
    Case("amqp-0-8-site-header", "raw", _const(b"AMQP\x01\x01\x09\x01"), wait=4.0),
    Case("amqp-1-0-header", "raw", _const(b"AMQP\x00\x01\x00\x00"), wait=4.0),
    Case("amqp-1-0-sasl-header", "raw", _const(b"AMQP\x03\x01\x00\x00"), wait=4.0),
    Case(
        "amqp-0-8-session",
        "raw",
        lambda t: (
            b"AMQP\x01\x01\x08\x00"
            + start_ok()
            + method_frame(0, C.Connection.TuneOk(*TUNE))
            + method_frame(0, C.Connection.Open(virtual_host="/"))
            + method_frame(1, C.Channel.Open())
            + method(1, 50, 10, b"\x00\x00" + shortstr(b"nowhere") + b"\x01" + b"\0" * 4)
        ),
        wait=4.0,
        note="0-8 header, then the 0-9-1 handshake and a passive declare",
    ),
    Case(
        "header-2-62-bodies",
        "open",
        lambda t: (
            publish(1, b"", b"nowhere")
            + header(1, 2**62, b"\x00\x00")
            + body(1, b"m" * 100_000) * 3
        ),
        note="a body that never completes, far over max_message_size",
    ),
    Case(
        "props-bad-after-body",
        "open",
        lambda t: publish(1, b"", b"nowhere") + header(1, 1, b"\x00\x00junk") + body(1, b"m"),
    ),
    Case(
        "frame-too-large",
        "open",
        lambda t: struct.pack(">BHI", 1, 1, 200_000),
        wait=5.0,
    ),
]

CASES = {case.name: case for case in CODEC_CASES + ENGINE_CODEC_CASES + ENGINE_CASES}

# -- answers ----------------------------------------------------------------------------------------

_FIELDS = (
    "reply_code",
    "reply_text",
    "class_id",
    "method_id",
    "message_count",
    "routing_key",
    "exchange",
    "version_major",
    "version_minor",
)


@dataclass
class Answer:
    """What a server sent back, summarised, and how the socket ended."""

    frames: list[tuple[Any, ...]] = field(default_factory=list)
    end: str = "open"  # open | eof | held
    after: float = 0.0  # seconds from the input to EOF

    def summary(self) -> str:
        lines = [f"  {f}" for f in self.frames]
        lines.append(
            f"  end: {self.end}" + (f" after {self.after:.1f} s" if self.end == "eof" else "")
        )
        return "\n".join(lines)


#: Methods pamqp does not define (the access class of AMQP 0-9-1, deprecated).
_UNKNOWN_TO_PAMQP = {b"\x00\x1e\x00\x0b": "Access.RequestOk"}
#: AMQP 0-8's channel.open-ok, which has no arguments (0-9-1's has a long string).
_OPEN_OK_0_8 = b"\x00\x14\x00\x0b"


def summarise(data: bytes, token: str) -> list[tuple[Any, ...]]:
    """The frames in ``data``, summarised (a leading protocol header as ('header', bytes))."""
    out: list[tuple[Any, ...]] = []
    if data.startswith(b"AMQP"):
        out.append(("protocol-header", data[:8]))
        data = data[8:]
    reader = FrameReader(frame_max=0)
    reader.feed(data)
    while (f := reader.next_frame()) is not None:
        if f.type == 1 and f.payload == _OPEN_OK_0_8:
            out.append((f.channel, "Channel.OpenOk", b""))
        elif f.type == 1 and f.payload[:4] in _UNKNOWN_TO_PAMQP:
            out.append((f.channel, _UNKNOWN_TO_PAMQP[f.payload[:4]], f.payload[4:]))
        elif f.type == 1:
            m = decode_method(f.payload, utf8=False)
            values = tuple(getattr(m, a) for a in _FIELDS if hasattr(m, a))
            masked = tuple(v.replace(token, "T") if isinstance(v, str) else v for v in values)
            masked = tuple(
                v.replace(token.encode(), b"T") if isinstance(v, bytes) else v for v in masked
            )
            out.append((f.channel, m.name, *masked))
        elif f.type == 2:
            out.append((f.channel, "header", f.payload.hex()))
        elif f.type == 3:
            out.append((f.channel, "body", f.payload))
        else:
            out.append((f.channel, f"type-{f.type}", f.payload))
    if reader.buffered:
        out.append(("partial", reader.buffered))
    return out


def _sentinel(case: Case) -> bytes:
    return method_frame(SENTINEL, C.Channel.Open()) if case.stage == "open" else b""


def _strip_sentinel(frames: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [f for f in frames if f[0] != SENTINEL]


def fake_answer(case: Case, token: str = "tok", **engine: Any) -> Answer:
    """The case sent to a fresh fakebroker Engine on a virtual clock."""
    client = RawClient(Broker(clock=VirtualClock()), **engine)
    if case.stage != "raw":
        client.send(PROTOCOL_HEADER, start_ok())
        client.send(method_frame(0, C.Connection.TuneOk(*TUNE)))
    if case.stage == "open":
        client.send(method_frame(0, C.Connection.Open(virtual_host="/")))
        client.send(method_frame(1, C.Channel.Open()))
    eng, clock = client.engine, client.clock
    eng.receive_data(case.build(token) + _sentinel(case))
    out = eng.data_to_send()
    start = clock.now()
    answer = Answer()
    while not eng.closed:
        deadline = clock.next_deadline()
        if deadline is None or deadline > start + case.wait:
            break
        clock.advance(deadline - clock.now())
        out += eng.data_to_send()
    out += eng.data_to_send()
    answer.frames = _strip_sentinel(summarise(out, token))
    if eng.closed:
        answer.end, answer.after = "eof", clock.now() - start
    elif _closing(answer.frames) or case.stage != "open":
        answer.end = "held"
    return answer


def _closing(frames: list[tuple[Any, ...]]) -> bool:
    return any(f[1] == "Connection.Close" for f in frames) or case_dead(frames)


def case_dead(frames: list[tuple[Any, ...]]) -> bool:
    return False


class _Socket:
    def __init__(self) -> None:
        self.sock = socket.create_connection((HOST, PORT), timeout=5.0)
        self.data = b""
        self.eof = False

    def read(self, done: Callable[[bytes], bool], timeout: float) -> None:
        """Read until ``done(data)``, EOF, or ``timeout`` seconds in all."""
        stop = time.monotonic() + timeout
        while not self.eof and not done(self.data):
            left = stop - time.monotonic()
            if left <= 0:
                return
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.eof = True
                return
            self.data += chunk

    def step(self, data: bytes) -> None:
        """Send ``data`` and read the one frame it answers (a handshake step)."""
        self.data = b""
        self.sock.sendall(data)
        self.read(lambda d: len(d) >= 7 and len(d) >= 8 + int.from_bytes(d[3:7], "big"), 5.0)


def _has_sentinel(data: bytes) -> bool:
    try:
        frames = summarise(data, "")
    except Exception:
        return False
    return any(f[0] == SENTINEL for f in frames) or any(f[1] == "Connection.Close" for f in frames)


def rabbit_answer(case: Case, token: str, *, quiet: float = QUIET) -> Answer:
    """The case sent to RabbitMQ at 127.0.0.1:5672 on a fresh socket.

    ``quiet``: how long to read on after the sentinel's answer (replies on
    other channels can overtake it).
    """
    conn = _Socket()
    try:
        if case.stage != "raw":
            conn.step(PROTOCOL_HEADER)
            conn.step(start_ok())
            conn.sock.sendall(method_frame(0, C.Connection.TuneOk(*TUNE)))
        if case.stage == "open":
            conn.step(method_frame(0, C.Connection.Open(virtual_host="/")))
            conn.step(method_frame(1, C.Channel.Open()))
        conn.data = b""
        start = time.monotonic()
        conn.sock.sendall(case.build(token) + _sentinel(case))
        answer = Answer()
        if case.stage == "open":
            conn.read(_has_sentinel, case.wait)
            if not conn.eof:
                conn.read(lambda d: False, quiet)
        if not conn.eof and (case.stage != "open" or _closing(summarise(conn.data, token))):
            conn.read(lambda d: False, max(0.0, start + case.wait - time.monotonic()))
        answer.frames = _strip_sentinel(summarise(conn.data, token))
        if conn.eof:
            answer.end, answer.after = "eof", time.monotonic() - start
        elif _closing(answer.frames) or case.stage != "open":
            answer.end = "held"
        return answer
    finally:
        conn.sock.close()


def cleanup(token: str) -> None:
    """Delete the queues a run declared on RabbitMQ."""
    conn = _Socket()
    try:
        conn.step(PROTOCOL_HEADER)
        conn.step(start_ok())
        conn.sock.sendall(method_frame(0, C.Connection.TuneOk(*TUNE)))
        conn.step(method_frame(0, C.Connection.Open(virtual_host="/")))
        conn.step(method_frame(1, C.Channel.Open()))
        for name in ("q", "qa"):
            conn.step(method_frame(1, C.Queue.Delete(queue=f"{token}.{name}")))
    finally:
        conn.sock.close()


def main(names: list[str]) -> None:
    for name in names or list(CASES):
        case = CASES[name]
        token = f"pm{secrets.token_hex(3)}"
        print(f"== {name} ({case.stage}) {case.note}")
        try:
            print(" RabbitMQ:")
            print(rabbit_answer(case, token).summary())
        finally:
            cleanup(token)
        print(" fakebroker:")
        print(fake_answer(case, token).summary())


if __name__ == "__main__":
    main(sys.argv[1:])
