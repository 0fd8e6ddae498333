"""Byte-count cuts on both fronts, as Toxiproxy's limit_data: exact counts, either direction.

A raw client sends one fixed script (the handshake, a 12 kB publish, a
basic.get, connection.close) in one write and reads until the stream ends
or the close-ok arrives (after which the broker, as RabbitMQ, waits for the
client to close).
Uncut, the broker answers with the same bytes every time; with
``drop_connection(after_bytes_sent=N)`` the client reads exactly the first N
of them, then EOF; with ``after_bytes_received=N`` (``after_bytes``) the
engine reads exactly N bytes of the script and the connection is reset.
"""

from __future__ import annotations

import socket

import pytest
from pamqp import commands as C

from fakebroker.fronts._pipe import Pipe
from tests.amqp._client import (
    PROTOCOL_HEADER,
    body_frame,
    close,
    header_frame,
    method_frame,
    start_ok,
)

from ._front import Front

BODY = b"b" * 12_000


def _script() -> bytes:
    return b"".join(
        [
            PROTOCOL_HEADER,
            start_ok(),
            method_frame(0, C.Connection.TuneOk(channel_max=2047, frame_max=131072)),
            method_frame(0, C.Connection.Open(virtual_host="/")),
            method_frame(1, C.Channel.Open()),
            method_frame(1, C.Queue.Declare(queue="cut")),
            method_frame(1, C.Basic.Publish(exchange="", routing_key="cut")),
            header_frame(1, len(BODY)),
            body_frame(1, BODY),
            method_frame(1, C.Basic.Get(queue="cut", no_ack=True)),
            method_frame(0, close()),
        ]
    )


SCRIPT = _script()
CLOSE_OK = method_frame(0, C.Connection.CloseOk())


def _exchange(front: Front, data: bytes) -> tuple[bytes, str]:
    """Send ``data`` at once; read until the stream ends or close-ok arrives:
    (bytes read, "eof" or "reset"; close-ok counts as "eof")."""
    got = bytearray()
    if front.kind == "inproc":
        pipe = Pipe(node=front.node)
        try:
            pipe.send(data)
            while not got.endswith(CLOSE_OK) and (chunk := pipe.recv(65536, timeout=5)):
                got += chunk
        except ConnectionResetError:
            return bytes(got), "reset"
        finally:
            pipe.close()
        return bytes(got), "eof"
    host, port = front.host.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        try:
            sock.sendall(data)
            while not got.endswith(CLOSE_OK) and (chunk := sock.recv(65536)):
                got += chunk
        except ConnectionResetError:
            return bytes(got), "reset"
    return bytes(got), "eof"


def _uncut(front: Front) -> bytes:
    out, ending = _exchange(front, SCRIPT)
    assert ending == "eof"
    return out


def _wait_gone(front: Front) -> None:
    front.wait_until(lambda: not front.broker.connections)


def test_the_uncut_answer_is_the_same_every_time(front: Front) -> None:
    first = _uncut(front)
    assert len(first) > len(BODY)  # the get-ok carried the body back
    assert _uncut(front) == first


#: Cut points: inside connection.start, at its very end, inside tune, mid-body, the last byte.
def _cuts(full: bytes) -> list[int]:
    start_end = 7 + int.from_bytes(full[3:7], "big") + 1
    return [1, 64, start_end - 1, start_end, start_end + 3, len(full) // 2, len(full) - 1]


def test_after_bytes_sent_the_client_reads_exactly_n_then_eof(front: Front) -> None:
    full = _uncut(front)
    for n in _cuts(full):
        rule = front.broker.faults.drop_connection(after_bytes_sent=n)
        out, ending = _exchange(front, SCRIPT)
        assert (len(out), ending) == (n, "eof"), n
        assert out == full[:n]
        assert rule.fired == 1 and rule.exhausted
        _wait_gone(front)
    points = [(f["action"], f["point"]) for f in front.faults()]
    assert points == [("drop", "bytes_sent")] * len(_cuts(full))


def test_a_cut_inside_the_handshake_never_opens_a_connection(front: Front) -> None:
    full = _uncut(front)
    front.broker.faults.drop_connection(after_bytes_sent=100)  # inside connection.start
    out, ending = _exchange(front, PROTOCOL_HEADER)
    assert (out, ending) == (full[:100], "eof")
    with front.locked():
        assert front.broker.connections == []


def test_a_cut_mid_delivery_requeues_the_unacked_message(front: Front) -> None:
    full = _uncut(front)
    script = SCRIPT.replace(
        method_frame(1, C.Basic.Get(queue="cut", no_ack=True)),
        method_frame(1, C.Basic.Get(queue="cut", no_ack=False)),
    )
    front.broker.faults.drop_connection(after_bytes_sent=len(full) - 5_000)  # inside the body
    out, ending = _exchange(front, script)
    assert (len(out), ending) == (len(full) - 5_000, "eof")
    _wait_gone(front)
    with front.locked():
        assert {q.name: q.messages for q in front.broker.list_queues()} == {"cut": 1}


def test_every_connection_is_cut_while_times_lasts(front: Front) -> None:
    full = _uncut(front)
    rule = front.broker.faults.drop_connection(after_bytes_sent=300, times=2)
    for _ in range(2):
        assert _exchange(front, SCRIPT) == (full[:300], "eof")
    assert _exchange(front, SCRIPT) == (full, "eof")
    assert rule.fired == 2


def test_connection_matching_picks_the_connection(front: Front) -> None:
    full = _uncut(front)
    front.broker.faults.drop_connection(after_bytes_sent=50, connection="nobody*")
    assert _exchange(front, SCRIPT) == (full, "eof")


@pytest.mark.parametrize("keyword", ["after_bytes", "after_bytes_received"])
def test_after_bytes_received_reads_exactly_n_then_resets(front: Front, keyword: str) -> None:
    full = _uncut(front)
    header_and_start_ok = len(PROTOCOL_HEADER) + len(start_ok())
    rule = front.broker.faults.drop_connection(**{keyword: header_and_start_ok + 3})
    out, ending = _exchange(front, SCRIPT)
    # the engine read the header and start-ok (connection.tune went out), not tune-ok
    start_and_tune = _frames_end(full, 2)
    assert (out, ending) == (full[:start_and_tune], "reset")
    assert rule.point == "bytes_received" and rule.fired == 1
    with front.locked():
        assert front.broker.connections == []


def test_a_sent_rule_leaves_the_received_direction_alone(front: Front) -> None:
    full = _uncut(front)
    received = front.broker.faults.drop_connection(after_bytes_received=len(SCRIPT) + 1)
    sent = front.broker.faults.drop_connection(after_bytes_sent=len(full) + 1)
    assert _exchange(front, SCRIPT) == (full, "eof")  # neither count was reached
    assert (received.seen, sent.seen) == (0, 0)


def _frames_end(data: bytes, count: int) -> int:
    """Where the ``count``-th frame of ``data`` ends (no protocol header in the broker's output)."""
    pos = 0
    for _ in range(count):
        pos += 7 + int.from_bytes(data[pos + 3 : pos + 7], "big") + 1
    return pos
