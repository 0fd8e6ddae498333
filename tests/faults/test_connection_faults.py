"""Connection faults on both fronts: drop at each point, refuse, close 320, stall."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import amqp
import pytest

from ._front import CONNECTION_LOST, Front


@pytest.fixture
def conn(front: Front) -> Iterator[amqp.Connection]:
    c = front.connect()
    yield c
    c.collect()


def _queues(front: Front) -> dict[str, int]:
    with front.locked():
        return {q.name: q.messages for q in front.broker.list_queues()}


def test_drop_before_a_method_is_handled(front: Front, conn: amqp.Connection) -> None:
    rule = front.broker.faults.drop_connection(on="queue.declare", queue="victim")
    ch = conn.channel()
    ch.queue_declare("fine")
    with pytest.raises(CONNECTION_LOST):
        ch.queue_declare("victim")
    assert _queues(front) == {"fine": 0}  # the victim was never declared
    assert rule.fired == 1 and front.faults()[0]["point"] == "method_received"
    assert front.broker.connections == []


def test_drop_after_route_loses_the_confirm_not_the_message(
    front: Front, conn: amqp.Connection
) -> None:
    ch = conn.channel()
    ch.queue_declare("q", durable=True)
    front.broker.faults.drop_connection(on="basic.publish", nth=2, when="after_route")
    ch.basic_publish_confirm(amqp.Message(b"1"), routing_key="q")  # confirmed
    with pytest.raises(CONNECTION_LOST):
        ch.basic_publish_confirm(amqp.Message(b"2"), routing_key="q")  # routed, not confirmed
    assert _queues(front) == {"q": 2}
    assert [f["point"] for f in front.faults()] == ["message_routed"]


def test_drop_between_header_and_body_enqueues_nothing(front: Front, conn: amqp.Connection) -> None:
    ch = conn.channel()
    ch.queue_declare("q", durable=True)
    front.broker.faults.drop_connection(when="mid_publish", routing_key="q")
    ch.basic_publish(amqp.Message(b"x" * 100), routing_key="q")  # no confirm: no read
    with pytest.raises(CONNECTION_LOST):
        ch.queue_declare("q", passive=True)
    assert _queues(front) == {"q": 0}
    assert front.faults()[0]["point"] == "content_header_received"


def test_drop_after_n_bytes(front: Front) -> None:
    front.broker.faults.drop_connection(after_bytes=8)  # right after the protocol header
    with pytest.raises(CONNECTION_LOST):
        front.connect()
    assert front.faults()[0]["point"] == "bytes_received"
    front.connect().collect()  # the rule fired once


def test_refuse_the_next_n_connections(front: Front) -> None:
    front.broker.faults.refuse_connections(2)
    for _ in range(2):
        with pytest.raises(CONNECTION_LOST):
            front.connect()
    c = front.connect()
    assert c.connected
    c.close()
    assert [f["action"] for f in front.faults()] == ["refuse", "refuse"]


def test_close_with_320(front: Front, conn: amqp.Connection) -> None:
    front.broker.faults.close_connection(on="exchange.declare")
    ch = conn.channel()
    with pytest.raises(amqp.exceptions.ConnectionForced) as info:
        ch.exchange_declare("x", "direct")
    assert info.value.reply_code == 320
    assert "fault injected" in info.value.reply_text


def test_stall_makes_client_heartbeats_time_out(
    front: Front, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(amqp.connection, "monotonic", front.broker.clock.now)
    c = front.connect(heartbeat=2)
    assert c.heartbeat == 2

    def tick() -> None:
        front.advance(0.5)
        with contextlib.suppress(socket.timeout):
            c.drain_events(timeout=0.05)
        c.heartbeat_tick()

    for _ in range(12):  # 6 s: the broker's heartbeats keep the client happy
        tick()
    front.broker.faults.stall()  # at the next frame the client sends
    with pytest.raises(amqp.exceptions.ConnectionForced, match="heartbeats missed"):
        for _ in range(20):
            tick()
    assert front.faults()[0]["action"] == "stall"
    c.collect()


def test_stall_for_a_while_then_resume(front: Front, conn: amqp.Connection) -> None:
    ch = conn.channel()
    front.broker.faults.stall(on="queue.declare", duration=5.0)
    ch.send_method(
        amqp.spec.Queue.Declare, "BsbbbbbF", (0, "q", False, False, False, False, False, {})
    )
    front.wait_until(lambda: bool(front.faults()))
    with pytest.raises(TimeoutError):
        conn.drain_events(timeout=0.1)
    front.advance(5.0)
    conn.drain_events(timeout=5)  # declare-ok, once the stall is over
    assert _queues(front) == {"q": 0}


def test_latency_delays_every_frame(front: Front, conn: amqp.Connection) -> None:
    front.broker.faults.latency(2.0)
    t0 = front.broker.clock.now()
    ch = amqp.Channel(conn, channel_id=None)
    ch.send_method(amqp.spec.Channel.Open, "s", ("",))
    front.wait_until(lambda: bool(front.faults()))  # the open-ok is held
    with pytest.raises(TimeoutError):
        conn.drain_events(timeout=0.1)
    front.advance(1.9)
    with pytest.raises(TimeoutError):
        conn.drain_events(timeout=0.1)
    front.advance(0.1)
    conn.drain_events(timeout=5)  # channel.open-ok arrives 2 s late
    assert ch.is_open
    assert front.broker.clock.now() - t0 == pytest.approx(2.0)


def test_bandwidth_spreads_frames_over_time(front: Front, conn: amqp.Connection) -> None:
    got: list[amqp.Message] = []
    ch = conn.channel()
    ch.queue_declare("q")
    ch.basic_publish(amqp.Message(b"x" * 1000), routing_key="q")
    ch.basic_publish(amqp.Message(b"x" * 1000), routing_key="q")
    front.broker.faults.bandwidth(1000.0)  # bytes per second
    ch.basic_consume("q", consumer_tag="c", no_ack=True, callback=got.append, nowait=True)
    front.wait_until(lambda: bool(front.broker.list_consumers()))
    front.advance(1.2)  # consume-ok and the first delivery (~1.1 kB) are out, not the second
    while not got:
        conn.drain_events(timeout=5)
    with pytest.raises(TimeoutError):
        conn.drain_events(timeout=0.1)
    assert len(got) == 1
    front.advance(1.2)
    conn.drain_events(timeout=5)
    assert len(got) == 2
