"""A slow reader: a front pauses a connection's deliveries; messages wait in their queue."""

from __future__ import annotations

from fakebroker.core import Broker, Connection
from fakebroker.core.events import Deliver


def _deliveries(conn: Connection) -> int:
    outbox = conn.outbox
    count = sum(isinstance(event, Deliver) for event in outbox)
    outbox.clear()
    return count


def test_paused_deliveries_stay_ready_and_go_out_on_resume() -> None:
    broker = Broker()
    slow = broker.connect()
    channel = slow.open_channel(1)
    channel.queue_declare("q")
    channel.basic_consume("q", no_ack=True)
    publisher = broker.connect().open_channel(1)
    publisher.basic_publish("", "q", b"first")
    assert _deliveries(slow) == 1
    slow.pause_deliveries()
    for _ in range(1000):
        publisher.basic_publish("", "q", b"x" * 1024)
    assert _deliveries(slow) == 0
    assert broker.get_queue("q").message_count == 1000  # held in the queue, not a buffer
    slow.resume_deliveries()
    assert _deliveries(slow) == 1000


def test_a_paused_connection_leaves_messages_to_other_consumers() -> None:
    broker = Broker()
    slow, fast = broker.connect(), broker.connect()
    for conn in (slow, fast):
        ch = conn.open_channel(1)
        ch.queue_declare("shared")
        ch.basic_consume("shared", no_ack=True)
    slow.pause_deliveries()
    publisher = broker.connect().open_channel(1)
    for _ in range(10):
        publisher.basic_publish("", "shared", b"m")
    assert (_deliveries(slow), _deliveries(fast)) == (0, 10)


def test_a_consumer_started_while_paused_waits_too() -> None:
    broker = Broker()
    slow = broker.connect()
    slow.pause_deliveries()
    ch = slow.open_channel(1)
    ch.queue_declare("q")
    ch.basic_consume("q", no_ack=True)
    ch.basic_publish("", "q", b"m")
    assert _deliveries(slow) == 0
    slow.resume_deliveries()
    assert _deliveries(slow) == 1
