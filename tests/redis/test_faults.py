"""Faults at the RESP front's points: what kombu and redis-py see, as against a failing Redis."""

from __future__ import annotations

import contextlib
import socket
import time

import pytest
from kombu import Consumer, Queue
from redis.backoff import NoBackoff
from redis.retry import Retry

from fakebroker.testing._redis import RedisBrokerHandle

from ._raw import Raw, request


def test_drop_before_a_command_is_not_applied_and_the_client_retries(
    fake_redis: RedisBrokerHandle,
) -> None:
    client = fake_redis.client(retry=Retry(NoBackoff(), 3))
    client.ping()
    rule = fake_redis.faults.drop_connection(on="LPUSH")
    assert client.lpush("q", "x") == 1  # redis-py reconnects and sends it again
    assert rule.fired == 1
    assert client.llen("q") == 1
    [entry] = fake_redis.node.broker.journal.entries("fault")  # type: ignore[union-attr]
    assert (entry.details["action"], entry.details["point"]) == ("drop", "method_received")


def test_a_lost_reply_makes_a_duplicate(fake_redis: RedisBrokerHandle) -> None:
    client = fake_redis.client(retry=Retry(NoBackoff(), 3))
    fake_redis.faults.lose_reply(on="LPUSH")
    client.lpush("q", "x")  # applied, the reply lost, retried: at-least-once
    assert client.lrange("q", 0, -1) == [b"x", b"x"]


def test_drop_between_multi_and_exec_applies_nothing(fake_redis: RedisBrokerHandle) -> None:
    raw = Raw(fake_redis.url)
    fake_redis.faults.drop_connection(on="EXEC")
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "k", "v") == b"+QUEUED\r\n"
    with pytest.raises(ConnectionError):
        raw.call("EXEC")
    raw.close()
    assert fake_redis.client().exists("k") == 0


def test_a_message_popped_but_never_delivered_is_lost(fake_redis: RedisBrokerHandle) -> None:
    """kombu's BRPOP is not acknowledged: a reply lost after the pop loses the message."""
    got: list[object] = []
    with fake_redis.connection() as conn:
        conn.SimpleQueue("jobs").put({"n": 1})
        fake_redis.faults.drop_connection(when="popped", queue="jobs")
        consumer = Consumer(conn, [Queue("jobs")], callbacks=[lambda body, m: got.append(body)])
        with consumer, contextlib.suppress(*conn.connection_errors, TimeoutError):
            conn.drain_events(timeout=1)
    assert got == []
    assert fake_redis.queues["jobs"].messages == 0
    assert fake_redis.unacked == {}


def test_stall_holds_the_reply(fake_redis: RedisBrokerHandle) -> None:
    client = fake_redis.client()
    client.set("k", "v")
    fake_redis.faults.stall(on="GET", duration=0.3)
    started = time.monotonic()
    assert client.get("k") == b"v"
    assert time.monotonic() - started >= 0.3


def test_latency_holds_every_reply(fake_redis: RedisBrokerHandle) -> None:
    client = fake_redis.client()
    client.ping()
    rule = fake_redis.faults.latency(0.1)
    started = time.monotonic()
    client.ping()
    client.ping()
    assert time.monotonic() - started >= 0.2
    fake_redis.node.faults.remove(rule)  # type: ignore[union-attr]


def test_refused_connection_is_reset(fake_redis: RedisBrokerHandle) -> None:
    fake_redis.faults.refuse_connections(1)
    host, port = fake_redis.url.split("//")[1].split("/")[0].split(":")

    def ping() -> bytes:
        with socket.create_connection((host, int(port)), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(10)

    with pytest.raises((ConnectionResetError, BrokenPipeError)):
        ping()
    assert fake_redis.client().ping() is True  # the next one is let in


@pytest.mark.parametrize("keep_data", [True, False])
def test_restart_disconnects_and_keeps_or_loses_the_data(
    fake_redis: RedisBrokerHandle, keep_data: bool
) -> None:
    client = fake_redis.client(retry=Retry(NoBackoff(), 1))  # the first use may hit the reset
    client.set("k", "v")
    pubsub = fake_redis.client().pubsub()
    pubsub.subscribe("c")
    pubsub.get_message(timeout=1)
    fake_redis.faults.restart(keep_data=keep_data)
    fake_redis.wait_for(lambda: not any(s.connections for s in fake_redis.node.redis.servers))  # type: ignore[union-attr]
    assert client.get("k") == (b"v" if keep_data else None)  # reconnected
    assert client.pubsub_numsub("c") == [(b"c", 0)]
    pubsub.close()


def test_restore_visible_cut_between_hget_and_exec_is_redone_once(
    redis_broker: RedisBrokerHandle,
) -> None:
    """kombu restores under WATCH/HGET/MULTI/EXEC: the connection lost before EXEC, redis-py
    runs the transaction again (a WatchError to its retry loop): restored once, not doubled."""
    worker = redis_broker.connection()
    worker.SimpleQueue("orders").put({"id": 1})
    worker.SimpleQueue("orders").get(timeout=1)  # unacked; the worker dies
    redis_broker.clock.advance(3600)  # type: ignore[attr-defined]
    with redis_broker.connection() as conn:
        rule = redis_broker.faults.drop_connection(on="EXEC")
        conn.default_channel.qos.restore_visible()
        assert rule.fired == 1
        assert redis_broker.queues["orders"].messages == 1
        assert redis_broker.unacked == {}
        again = conn.SimpleQueue("orders").get(timeout=1)
        assert again.payload == {"id": 1}
        again.ack()
    names = [c.name for c in redis_broker.node.redis.commands()]  # type: ignore[union-attr]
    assert names.count("HGET") >= 2  # the transaction ran twice


def _recording_writes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every write the RESP front makes, in order (a spy on its one write path)."""
    from fakebroker.fronts.redis._server import _Client

    writes: list[bytes] = []
    original = _Client._write_now

    def write(self: _Client, data: bytes, size: int | None = None, gap: float = 0.0) -> None:
        writes.append(data)
        original(self, data)

    monkeypatch.setattr(_Client, "_write_now", write)
    return writes


@pytest.mark.parametrize("size", [1, 3])
def test_a_slicer_sends_each_reply_in_writes_of_size_bytes(
    fake_redis: RedisBrokerHandle, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    raw = Raw(fake_redis.url)
    writes = _recording_writes(monkeypatch)
    rule = fake_redis.faults.slicer(size)
    raw.send(b"PING\r\n" + request("ECHO", "0123456789"))  # two replies, one read
    assert raw.reply() + raw.reply() == b"+PONG\r\n$10\r\n0123456789\r\n"
    data = b"".join(writes)
    assert data == b"+PONG\r\n$10\r\n0123456789\r\n"
    assert [len(w) for w in writes] == [len(data[i : i + size]) for i in range(0, len(data), size)]
    assert rule.fired >= 1
    fake_redis.node.faults.remove(rule)  # type: ignore[union-attr]
    raw.close()


def test_sliced_replies_keep_their_order_with_a_delay(fake_redis: RedisBrokerHandle) -> None:
    """Slices 0.02 s apart: a reply flushed while another is being sliced waits behind it."""
    raw = Raw(fake_redis.url)
    rule = fake_redis.faults.slicer(2, delay=0.02)
    started = time.monotonic()
    raw.send(request("ECHO", "abcdef"))
    raw.send(request("ECHO", "ghijkl"))
    assert [raw.reply(), raw.reply()] == [b"$6\r\nabcdef\r\n", b"$6\r\nghijkl\r\n"]
    assert time.monotonic() - started >= 0.02 * (2 * 6 - 1)  # 12 slices of 2 bytes, 11 gaps
    fake_redis.node.faults.remove(rule)  # type: ignore[union-attr]
    raw.close()


@pytest.mark.parametrize("size", [1, 7])
def test_kombu_and_redis_py_work_through_slices(fake_redis: RedisBrokerHandle, size: int) -> None:
    rule = fake_redis.faults.slicer(size)
    client = fake_redis.client()
    client.set("k", "v" * 100)
    assert client.get("k") == b"v" * 100
    with fake_redis.connection() as conn:
        queue = conn.SimpleQueue("sliced")
        queue.put({"n": 1})
        message = queue.get(timeout=5)
        assert message.payload == {"n": 1}
        message.ack()
        queue.close()
    fake_redis.node.faults.remove(rule)  # type: ignore[union-attr]
