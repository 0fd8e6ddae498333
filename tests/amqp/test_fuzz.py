"""Fuzzed client input: the engine answers as a protocol error, never as a crash.

Hypothesis builds sessions from valid frames, then mutates them (bytes
flipped, frames cut short, random bytes spliced in) and splits them at
arbitrary points. Whatever arrives, the engine must not raise, must not fail
internally (it logs such a failure on ``fakebroker.amqp`` and answers 541
INTERNAL_ERROR; RabbitMQ's own 541 answers are deliberate and not logged),
must emit only well-formed frames, and must leave the broker serving other
connections.
"""

from __future__ import annotations

import itertools
import logging
import struct
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pamqp import commands as C

from fakebroker.amqp._codec import decode_method
from fakebroker.amqp._wire import FrameReader
from fakebroker.core import Broker, VirtualClock

from ._client import PROTOCOL_HEADER, RawClient, body_frame, method_frame, start_ok

HANDSHAKE = [
    PROTOCOL_HEADER,
    start_ok(),
    method_frame(0, C.Connection.TuneOk(2047, 4096, 0)),
    method_frame(0, C.Connection.Open(virtual_host="/")),
]


def _header(channel: int, size: int, props: bytes = b"\x00\x00") -> bytes:
    payload = struct.pack(">HHQ", 60, 0, size) + props
    return struct.pack(">BHI", 2, channel, len(payload)) + payload + b"\xce"


def _publish(channel: int, key: str, body: bytes) -> list[bytes]:
    return [
        method_frame(channel, C.Basic.Publish(exchange="", routing_key=key)),
        _header(channel, len(body)),
        body_frame(channel, body),
    ]


_names = st.sampled_from(["q", "fz", "", "amq.fz", "x" * 250])
_channels = st.sampled_from([1, 1, 1, 2, 0, 3])  # mostly the channel a session opens

_frames: st.SearchStrategy[list[bytes]] = st.one_of(
    st.builds(lambda c: [method_frame(c, C.Channel.Open())], _channels),
    st.builds(lambda c: [method_frame(c, C.Channel.Close(200, "bye", 0, 0))], _channels),
    st.builds(
        lambda c, q, d, p: [method_frame(c, C.Queue.Declare(queue=q, durable=d, passive=p))],
        _channels,
        _names,
        st.booleans(),
        st.booleans(),
    ),
    st.builds(
        lambda c, e, t: [method_frame(c, C.Exchange.Declare(exchange=e, exchange_type=t))],
        _channels,
        st.sampled_from(["fz.x", "amq.direct", "fz.h"]),
        st.sampled_from(["direct", "topic", "headers", "fanout", "nope"]),
    ),
    st.builds(
        lambda c, q: [method_frame(c, C.Queue.Bind(queue=q, exchange="fz.x", routing_key="#"))],
        _channels,
        _names,
    ),
    st.builds(_publish, _channels, _names, st.binary(max_size=40)),
    st.builds(
        lambda c, q, n: [method_frame(c, C.Basic.Consume(queue=q, no_ack=n))],
        _channels,
        _names,
        st.booleans(),
    ),
    st.builds(
        lambda c, t, m: [method_frame(c, C.Basic.Ack(delivery_tag=t, multiple=m))],
        _channels,
        st.integers(min_value=0, max_value=5),
        st.booleans(),
    ),
    st.builds(lambda c: [method_frame(c, C.Basic.Qos(prefetch_count=1))], _channels),
    st.builds(lambda c: [method_frame(c, C.Confirm.Select())], _channels),
    st.builds(lambda c: [method_frame(c, C.Tx.Select())], _channels),
    st.builds(lambda c, q: [method_frame(c, C.Basic.Get(queue=q))], _channels, _names),
    st.builds(lambda c, size: [_header(c, size)], _channels, st.integers(0, 10)),
    st.builds(lambda c, b: [body_frame(c, b)], _channels, st.binary(max_size=10)),
    st.builds(lambda b: [b], st.binary(min_size=1, max_size=30)),
)


@st.composite
def _sessions(draw: Any) -> list[bytes]:
    """Frames after the handshake, mutated, and re-split at arbitrary points."""
    groups = draw(st.lists(_frames, min_size=1, max_size=12))
    frames = [method_frame(1, C.Channel.Open()), *(f for group in groups for f in group)]
    data = bytearray(b"".join(frames))
    for _ in range(draw(st.integers(0, 3))):
        if not data:
            break
        where = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "cut", "splice"]))
        if action == "flip":
            data[where] ^= 1 << draw(st.integers(0, 7))
        elif action == "cut":
            del data[where : where + draw(st.integers(1, 8))]
        else:
            data[where:where] = draw(st.binary(min_size=1, max_size=8))
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    bounds = [0, *cuts, len(data)]
    return [bytes(data[a:b]) for a, b in itertools.pairwise(bounds) if b > a]


def _check_output(output: bytes) -> None:
    """Well-formed frames only; texts may carry raw bytes (RabbitMQ's do), which pamqp refuses."""
    reader = FrameReader(frame_max=0)
    reader.feed(output[8:] if output.startswith(b"AMQP") else output)
    while (frame := reader.next_frame()) is not None:
        if frame.type == 1:
            decode_method(frame.payload, utf8=False)
    assert not reader.buffered, output


class _Failures(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:  # an internal error; channel and connection errors are expected
            self.records.append(record)


LOG = logging.getLogger("fakebroker")  # the engines' default log sink


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(chunks=_sessions())
def test_fuzzed_input_is_answered_not_crashed_on(chunks: list[bytes]) -> None:
    failures = _Failures()
    LOG.addHandler(failures)
    try:
        _fuzz(chunks)
    finally:
        LOG.removeHandler(failures)
    assert not failures.records, failures.records[0].exc_info


def _fuzz(chunks: list[bytes]) -> None:
    broker = Broker(clock=VirtualClock())
    fuzzed = RawClient(broker)
    for chunk in HANDSHAKE:
        fuzzed.engine.receive_data(chunk)
    _check_output(fuzzed.engine.data_to_send())
    for chunk in chunks:
        fuzzed.engine.receive_data(chunk)  # never raises
        _check_output(fuzzed.engine.data_to_send())
    broker.clock.advance(30.0)  # close timeouts, heartbeats: the timers must not crash either
    _check_output(fuzzed.engine.data_to_send())
    fuzzed.engine.connection_lost()

    # Another connection is served as if nothing happened.
    other = RawClient(broker)
    other.open()
    other.call(1, C.Queue.Declare(queue="other-q"))
    other.publish(1, b"still here", routing_key="other-q")
    got = other.call(1, C.Basic.Get(queue="other-q", no_ack=True))
    assert [type(v).__name__ for _, v in got][:1] == ["GetOk"], got
    assert got[-1][1].value == b"still here"
