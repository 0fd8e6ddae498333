"""Connection-level chaos: a resource alarm (pika, TCP only), a heartbeat stall (kombu)."""

from __future__ import annotations

import contextlib
import time

import kombu
import pika
import pika.exceptions
import pytest

from fakebroker.core import SystemClock
from tests.faults._front import FRONTS, Front, open_front


def _params(front: Front, **options: object) -> pika.ConnectionParameters:
    host, port = front.host.split(":")
    return pika.ConnectionParameters(host=host, port=int(port), **options)  # type: ignore[arg-type]


def test_resource_alarm_blocks_the_publisher_then_it_resumes(tcp_front: Front) -> None:
    front = tcp_front
    conn = pika.BlockingConnection(_params(front, blocked_connection_timeout=30))
    events: list[str] = []
    conn.add_on_connection_blocked_callback(
        lambda c, frame: events.append(f"blocked: {frame.method.reason}")
    )
    conn.add_on_connection_unblocked_callback(lambda c, frame: events.append("unblocked"))
    ch = conn.channel()
    ch.queue_declare("q")
    front.broker.faults.raise_alarm("memory")
    ch.basic_publish("", "q", b"held")
    for _ in range(50):
        if events:
            break
        conn.process_data_events(time_limit=0.1)
    assert events == ["blocked: low on memory"]
    with front.locked():
        assert front.broker.get_queue("q").message_count == 0  # the publish is held
    front.broker.faults.clear_alarm()  # ops free some memory
    for _ in range(50):
        if len(events) == 2:
            break
        conn.process_data_events(time_limit=0.1)
    assert events == ["blocked: low on memory", "unblocked"]
    assert ch.queue_declare("q", passive=True).method.message_count == 1
    conn.close()


@pytest.mark.parametrize("kind", FRONTS)
def test_heartbeat_stall_the_client_notices(kind: str) -> None:
    """kombu (py-amqp) with heartbeat=1 on a real clock: the stalled broker is noticed in 2-3 s."""
    with open_front(kind, clock=SystemClock()) as front:
        conn = kombu.Connection(front.url, heartbeat=1)
        try:
            conn.connect()
            front.broker.faults.stall()  # at the next frame the client sends
            start = time.monotonic()
            with pytest.raises(conn.recoverable_connection_errors):
                while time.monotonic() - start < 10:
                    with contextlib.suppress(TimeoutError):
                        conn.drain_events(timeout=0.2)
                    conn.heartbeat_check()
            assert 1.0 < time.monotonic() - start < 10
            assert [f["action"] for f in front.faults()] == ["stall"]
        finally:
            conn.collect()  # no close handshake with a stalled broker
