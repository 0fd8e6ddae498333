"""Malformed input answered as RabbitMQ 3.10.8 answers it (issue 16), case by case.

Each case of ``probe_malformed.py`` is sent to a fresh fakebroker engine and
to the real RabbitMQ (skipped when unreachable); both must give RabbitMQ's
probed answer below: the frames (reply code, text, class and method ids;
content headers byte for byte) and how the socket ends (``open``: still
serving; ``held``: a close sent and the socket kept; ``eof``). Every case
passes on both (a new difference would be a failure, not an xfail).

``python -m tests.amqp.probe_malformed NAME`` prints both answers side by side.
"""

from __future__ import annotations

import secrets
import struct
from typing import Any

import pytest

from . import probe_malformed as P
from ._rabbit import on_both

Frames = list[tuple[Any, ...]]

DECLARE_OK = (1, "Queue.DeclareOk", 0)
CLOSE_UTF8 = (0, "Connection.Close", 501, "FRAME_ERROR - Malformed UTF-8 in shortstr", 0, 0)
CRASH = (0, "Connection.Close", 541, "INTERNAL_ERROR", 0, 0)
NOT_METHOD = "UNEXPECTED_FRAME - expected method frame, got non method frame instead"


def _got_back(props: bytes) -> Frames:
    """Declare-ok, then get-ok with the publisher's own header and the body."""
    sent = struct.pack(">HHQ", 60, 0, 1) + props
    return [
        DECLARE_OK,
        (1, "Basic.GetOk", 0, "T.q", ""),
        (1, "header", sent.hex()),
        (1, "body", b"m"),
    ]


def _cannot_decode(args: bytes, ids: tuple[int, int]) -> Frames:
    text = "FRAME_ERROR - cannot decode <<" + ",".join(map(str, args)) + ">>"
    return [(0, "Connection.Close", 501, text, *ids)]


#: RabbitMQ 3.10.8's answers, probed (the queue token masked as T).
EXPECTED: dict[str, tuple[Frames, str]] = {
    **{name: (_got_back(props), "open") for name, props in P.ROUND_TRIPS.items()},
    "utf8-routing-key": (
        [(1, "Basic.Return", 312, "NO_ROUTE", "rk\udcff", "amq.direct"),
         (1, "header", "003c000000000000000000010000"), (1, "body", b"m")],
        "open",
    ),
    "utf8-queue-arg-key": ([DECLARE_OK], "open"),
    "bad-queue-name-utf8": ([CLOSE_UTF8], "held"),
    "nested-600-args": ([DECLARE_OK], "open"),
    "delivery-mode-7": (
        [DECLARE_OK, (1, "Channel.Close", 406,
                      "PRECONDITION_FAILED - invalid message: {delivery_mode_unknown,7}", 60, 40)],
        "open",
    ),
    "delivery-mode-0": (
        [DECLARE_OK, (1, "Channel.Close", 406,
                      "PRECONDITION_FAILED - invalid message: {delivery_mode_unknown,0}", 60, 40)],
        "open",
    ),
    "header-class-50": (
        [(0, "Connection.Close", 505, "UNEXPECTED_FRAME - expected content header for class 60, "
          "got one for class 50 instead", 60, 40)],
        "held",
    ),
    **{
        name: ([CRASH], "held")
        for name in (
            "props-truncated", "props-flags-truncated", "props-trailing", "props-table-length",
            "props-table-inner-length", "props-unknown-type", "props-continuation",
            "props-continuation-set",
        )
    },
    "method-unknown-type": ([], "eof"),
    "method-table-length": (
        _cannot_decode(b"\0\0\x04T.qa\0\0\0\0\x32\x01kSab", (50, 10)), "held"
    ),
    "long-text-high-bytes": ([CLOSE_UTF8], "held"),
    "long-text-255": (
        [(1, "Channel.Close", 404, "NOT_FOUND - no queue '" + "n" * 230 + "...", 50, 10)], "open"
    ),
    "long-text-utf8": (
        [(1, "Channel.Close", 404, "NOT_FOUND - no queue '" + "é" * 115 + "...", 50, 10)], "open"
    ),
    "long-text-exchange": ([CLOSE_UTF8], "held"),
    "heartbeat-payload": (
        [(0, "Connection.Close", 501,
          'FRAME_ERROR - type 8, all octets = <<"xy">>: unknown_frame', 0, 0)],
        "held",
    ),
    "heartbeat-payload-start": ([("Connection.Start", 0, 9)], "eof"),
    # -- needing the engine or the core
    "header-weight-1": (
        [(0, "Connection.Close", 505, "UNEXPECTED_FRAME - expected content header for class 60, "
          "got non content header frame instead", 60, 40)],
        "held",
    ),
    "props-bad-before-body": ([], "open"),
    "props-bad-after-body": ([CRASH], "held"),
    "connection-close-not-utf8": (
        [(0, "Connection.Close", 501, "FRAME_ERROR - Malformed UTF-8 in shortstr", 10, 50)], "held"
    ),
    "publish-exchange-not-utf8": (
        [(1, "Channel.Close", 404, "NOT_FOUND - no exchange '\udcff\udcfek' in vhost '/'", 60, 40)],
        "open",
    ),
    "header-unopened-channel": ([(0, "Connection.Close", 505, NOT_METHOD, 0, 0)], "held"),
    "body-unopened-channel": ([(0, "Connection.Close", 505, NOT_METHOD, 0, 0)], "held"),
    "open-on-channel-1": (
        [(0, "Connection.Close", 505,
          "UNEXPECTED_FRAME - type 1, all octets = <<0,10,0,40,1,47,0,0>>", 0, 0)],
        "held",
    ),
    "heartbeat-payload-tuned": (
        [(0, "Connection.Close", 501,
          'FRAME_ERROR - type 8, all octets = <<"xy">>: unknown_frame', 0, 0)],
        "held",
    ),
    "two-channel-close": ([(1, "Channel.CloseOk"), (1, "Channel.CloseOk")], "open"),
    "access-request": ([(1, "Access.RequestOk", b"\x00\x01")], "open"),
    **{f"close-then-{name}": (frames, "open") for name, frames in (
        ("close-ok", []), ("declare", [(1, "Channel.CloseOk")]),
        ("publish", [(1, "Channel.CloseOk")]),
    )},
    "close-then-open": (
        [(0, "Connection.Close", 504, "CHANNEL_ERROR - second 'channel.open' seen", 20, 10)],
        "held",
    ),
    "close-then-header": ([(0, "Connection.Close", 505, NOT_METHOD, 0, 0)], "held"),
    "close-then-bad-method": (
        _cannot_decode(b"\0\0\x04T.qa\0\0\0\0\x32\x01kSab", (50, 10)), "held"
    ),
    "header-2-62-bodies": ([], "open"),
    "amqp-0-8-header": ([("Connection.Start", 8, 0)], "held"),
    "amqp-0-8-site-header": ([("Connection.Start", 8, 0)], "held"),
    "amqp-1-0-header": ([("protocol-header", b"AMQP\x00\x00\x09\x01")], "eof"),
    "amqp-1-0-sasl-header": ([("protocol-header", b"AMQP\x00\x00\x09\x01")], "eof"),
    "amqp-0-8-session": (
        [("Connection.Start", 8, 0), (0, "Connection.Tune"), (0, "Connection.OpenOk"),
         (1, "Channel.OpenOk", b""),
         (1, "Channel.Close", 404, "NOT_FOUND - no queue 'nowhere' in vhost '/'", 50, 10)],
        "held",
    ),
    "amqp-0-9-header": ([("Connection.Start", 0, 9)], "held"),
    "frame-too-large": (
        [(0, "Connection.Close", 501, "FRAME_ERROR - type 1, all octets = <<>>: "
          "{frame_too_large,200000,131064}", 0, 0)],
        "eof",
    ),
}  # fmt: skip

#: How long after the input RabbitMQ drops the socket, where that is part of the answer.
EOF_AFTER = {"frame-too-large": 3.0, "heartbeat-payload-start": 3.0, "method-unknown-type": 0.0}


def _mask(frames: Frames) -> Frames:
    """Connection.start reduced to its version (its properties differ by design)."""
    return [f[1:] if len(f) > 1 and f[1] == "Connection.Start" else f for f in frames]


def _check(answer: P.Answer, name: str) -> None:
    frames, end = EXPECTED[name]
    assert (_mask(answer.frames), answer.end) == (frames, end), answer.summary()
    if name in EOF_AFTER:
        assert abs(answer.after - EOF_AFTER[name]) < 0.6, answer.after


@pytest.mark.parametrize(
    ("name", "backend"),
    on_both(EXPECTED),
)
def test_malformed_input_gets_rabbitmqs_answer(name: str, backend: str) -> None:
    case = P.CASES[name]
    token = f"tm{secrets.token_hex(3)}"
    if backend == "fakebroker":
        _check(P.fake_answer(case, token), name)
        return
    try:
        answer = P.rabbit_answer(case, token)
    finally:
        P.cleanup(token)
    _check(answer, name)


def test_every_probed_case_has_an_expected_answer() -> None:
    assert set(EXPECTED) == set(P.CASES)


def test_tables_nest_as_deep_as_a_frame_allows() -> None:
    """20,000 tables deep (about what 131,072 bytes hold): decoded and re-encoded, no recursion."""
    from fakebroker.amqp._tables import decode_table, encode_table

    raw = P.nested(20_000)
    end, table = decode_table(raw)
    assert end == len(raw)
    assert encode_table(table) == raw


def test_values_rabbitmq_keeps_re_encode_to_the_same_bytes() -> None:
    """Timestamps up to 2^64-1, ``L`` as a long, an unsigned decimal, keys that are not UTF-8."""
    from fakebroker.amqp._tables import decode_table, encode_table

    pairs = (
        P.shortstr(b"t") + b"T" + b"\xff" * 8
        + P.shortstr(b"\xff\xfek") + b"S" + P.longstr(b"\xfe")
        + P.shortstr(b"d") + b"D\x02\xff\xff\xff\xff"
        + P.shortstr(b"a") + b"A" + P.longstr(b"l" + b"\x80" + b"\0" * 7)
    )  # fmt: skip
    raw = P.table(pairs)
    _, table = decode_table(raw)
    assert encode_table(table) == raw
    _, long_table = decode_table(P.table(P.shortstr(b"k") + b"L" + b"\xff" * 8))
    assert encode_table(long_table) == P.table(P.shortstr(b"k") + b"l" + b"\xff" * 8)
