"""Publishers under faults: lost confirms and torn publishes, with py-amqp and kombu."""

from __future__ import annotations

import amqp
import kombu
import pytest

from tests.faults._front import CONNECTION_LOST, Front


def _bodies(front: Front, queue: str) -> list[bytes]:
    with front.locked():
        return [m.body for m in front.broker.messages(queue)]


def test_confirm_lost_after_routing_a_retrying_client_makes_two_copies(front: Front) -> None:
    """At-least-once: the broker routed the message, the confirm never came, the client retried."""
    conn = front.connect()
    conn.channel().queue_declare("orders", durable=True, auto_delete=False)
    front.broker.faults.drop_connection(on="basic.publish", when="after_route")

    def publish(body: bytes) -> None:
        nonlocal conn
        for _attempt in range(3):
            try:
                conn.channel().basic_publish_confirm(
                    amqp.Message(body, delivery_mode=2), routing_key="orders"
                )
                return
            except CONNECTION_LOST:
                conn.collect()
                conn = front.connect()
        raise AssertionError("never confirmed")

    publish(b"order-1")
    assert _bodies(front, "orders") == [b"order-1", b"order-1"]
    conn.collect()


@pytest.mark.parametrize("confirm", [True, False])
def test_connection_dropped_mid_publish(front: Front, confirm: bool) -> None:
    """Header sent, body not: nothing is enqueued; with confirms, kombu's retry gets it there once."""
    queue = kombu.Queue("jobs", kombu.Exchange("jobs"), "jobs", durable=True, auto_delete=False)
    options = {"confirm_publish": True} if confirm else {}
    with kombu.Connection(front.url, transport_options=options) as conn:
        producer = conn.Producer()
        producer.publish({}, exchange=queue.exchange, routing_key="none", declare=[queue])
        front.broker.faults.drop_connection(when="mid_publish", routing_key="jobs")
        producer.publish(
            {"job": 1},
            exchange=queue.exchange,
            routing_key="jobs",
            retry=True,
            retry_policy={"max_retries": 3, "interval_start": 0, "interval_step": 0},
        )
        front.wait_until(lambda: bool(front.faults()))  # over TCP the server may lag
        assert [f["point"] for f in front.faults()] == ["content_header_received"]
        # without confirms the client never learns: the message is silently lost
        assert _bodies(front, "jobs") == ([b'{"job": 1}'] if confirm else [])
