"""Consumers under faults: a dropped consumer's deliveries, a broker restart (kombu)."""

from __future__ import annotations

import kombu
import pytest

from tests.faults._front import Front

QUEUE = kombu.Queue("work", kombu.Exchange("work"), "work", durable=True, auto_delete=False)


def _publish(front: Front, bodies: list[str], *, persistent: bool = True) -> None:
    with kombu.Connection(front.url) as conn:
        producer = conn.Producer()
        for body in bodies:
            producer.publish(
                body,
                exchange=QUEUE.exchange,
                routing_key="work",
                declare=[QUEUE],
                delivery_mode=2 if persistent else 1,
            )


def test_consumer_dropped_with_unacked_deliveries_they_go_to_the_next(front: Front) -> None:
    _publish(front, ["a", "b", "c"])
    front.broker.faults.drop_connection(holding=2, queue="work")
    first: list[str] = []
    with (
        kombu.Connection(front.url) as conn,
        conn.Consumer(QUEUE, callbacks=[lambda body, msg: first.append(body)], prefetch_count=2),
        pytest.raises(conn.recoverable_connection_errors),
    ):
        for _ in range(5):
            conn.drain_events(timeout=5)  # two deliveries, never acked; then the reset
    front.wait_until(lambda: not front.broker.connections)
    second: list[tuple[str, bool]] = []
    with kombu.Connection(front.url) as conn:

        def on_message(body: str, msg: kombu.Message) -> None:
            second.append((body, msg.delivery_info["redelivered"]))
            msg.ack()

        with conn.Consumer(QUEUE, callbacks=[on_message]):
            while len(second) < 3:
                conn.drain_events(timeout=5)
    assert second == [("a", True), ("b", True), ("c", False)]
    assert first in ([], ["a"], ["a", "b"])  # over TCP the reset may beat the bytes


def test_broker_restart_durable_survives_and_a_kombu_consumer_goes_on(front: Front) -> None:
    _publish(front, ["p1", "p2"])
    _publish(front, ["t1"], persistent=False)
    got: list[tuple[str, bool]] = []

    def on_message(body: str, msg: kombu.Message) -> None:
        got.append((body, msg.delivery_info["redelivered"]))
        msg.ack()

    with kombu.Connection(front.url) as conn:
        consumer = conn.Consumer(QUEUE, callbacks=[on_message], prefetch_count=1)
        consumer.consume()
        conn.drain_events(timeout=5)
        assert got == [("p1", False)]
        front.wait_until(lambda: bool(front.broker.journal.entries("acked")))
        front.broker.faults.restart()  # p2 is out, unacked; t1 waits, transient
        reconnects = 0
        while not got or got[-1][0] != "after":
            try:
                conn.drain_events(timeout=5)
            except conn.recoverable_connection_errors:  # 320 CONNECTION_FORCED
                reconnects += 1
                conn.ensure_connection(max_retries=3)
                consumer.revive(conn.default_channel)
                consumer.consume()
                _publish(front, ["after"])
    assert reconnects == 1
    bodies = [body for body, _ in got]
    assert "t1" not in bodies  # transient: gone with the restart
    assert got[-2:] == [("p2", True), ("after", False)]  # persistent in a durable queue: kept
    assert set(bodies) == {"p1", "p2", "after"}  # p2 may come twice (at-least-once)
    with front.locked():
        assert front.broker.messages("work") == []
