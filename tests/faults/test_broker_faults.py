"""Broker faults on both fronts: a restart, and a resource alarm."""

from __future__ import annotations

import amqp
import pytest

from ._front import CONNECTION_LOST, Front

#: What RabbitMQ 3.10.8 sends every client on ``rabbitmqctl stop_app`` (then it resets the
#: socket without waiting for close-ok): docs/rabbitmq-facts.md, section 29.
SHUTDOWN_REPLY = "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"


#: What a client can see when the broker resets it right after connection.close.
SHUTDOWN_SEEN = (ConnectionResetError, BrokenPipeError, amqp.exceptions.ConnectionForced)


def _record_connection_close(conn: amqp.Connection) -> list[tuple[int, str, int, int]]:
    """The connection.close frames ``conn`` receives (code, text, class, method)."""
    closes: list[tuple[int, str, int, int]] = []
    on_close = conn._callbacks[amqp.spec.Connection.Close]

    def record(code: int, text: str, class_id: int, method_id: int) -> None:
        closes.append((code, text, class_id, method_id))
        on_close(code, text, class_id, method_id)

    conn._callbacks[amqp.spec.Connection.Close] = record
    return closes


def test_restart_keeps_durable_and_persistent_only(front: Front) -> None:
    conn = front.connect()
    ch = conn.channel()
    ch.exchange_declare("dx", "direct", durable=True, auto_delete=False)
    ch.exchange_declare("tx", "direct", durable=False, auto_delete=False)
    ch.queue_declare("d", durable=True, auto_delete=False)
    ch.queue_declare("t", durable=False, auto_delete=False)
    ch.queue_bind("d", "dx", "k")
    ch.queue_bind("t", "dx", "k")
    for body, mode in ((b"p1", 2), (b"n1", 1), (b"p2", 2)):
        ch.basic_publish_confirm(amqp.Message(body, delivery_mode=mode), "dx", "k")
    held = ch.basic_get("d")  # p1, unacked when the broker goes down
    assert held is not None and held.body == b"p1"

    closes = _record_connection_close(conn)

    front.broker.faults.restart()

    with pytest.raises(CONNECTION_LOST) as info:
        conn.drain_events(timeout=5)
    # py-amqp answers close with close-ok, then raises ConnectionForced. Over TCP the broker's
    # reset can land before that write (ConnectionResetError or BrokenPipeError) or after it;
    # RabbitMQ resets its clients the same way (docs/rabbitmq-facts.md, section 29).
    assert isinstance(info.value, SHUTDOWN_SEEN), repr(info.value)
    assert closes == [(320, SHUTDOWN_REPLY, 0, 0)]
    conn.collect()
    with front.locked():
        assert [q.name for q in front.broker.list_queues()] == ["d"]
        names = {x["name"] for x in front.broker.list_exchanges()}
        assert "dx" in names and "tx" not in names
        assert [(b.source, b.routing_key) for b in front.broker.list_bindings()] == [
            ("", "d"),
            ("dx", "k"),
        ]
    again = front.connect()
    ch = again.channel()
    got = [ch.basic_get("d", no_ack=True) for _ in range(3)]
    assert [(m.body, m.delivery_info["redelivered"]) for m in got if m] == [
        (b"p1", True),
        (b"p2", False),
    ]
    again.collect()


def test_resource_alarm_blocks_publishers_until_cleared(front: Front) -> None:
    events: list[str] = []
    publisher = front.connect(
        on_blocked=lambda reason: events.append("blocked"),  # py-amqp hides the reason
        on_unblocked=lambda: events.append("unblocked"),
    )
    consumer = front.connect()
    pch = publisher.channel()
    pch.queue_declare("q", auto_delete=False)
    pch.confirm_select()
    cch = consumer.channel()

    front.broker.faults.raise_alarm("memory")
    pch.basic_publish(amqp.Message(b"held"), routing_key="q")
    publisher.drain_events(timeout=5)
    assert events == ["blocked"]
    assert cch.queue_declare("q", passive=True).message_count == 0  # consumers go on
    with pytest.raises(TimeoutError):
        publisher.drain_events(timeout=0.1)  # no confirm: the publish waits

    front.broker.faults.clear_alarm("memory")
    acks: list[int] = []
    pch.events["basic_ack"].add(lambda tag, multiple: acks.append(tag))
    while not acks:
        publisher.drain_events(timeout=5)
    assert events == ["blocked", "unblocked"] and acks == [1]
    assert cch.queue_declare("q", passive=True).message_count == 1
    publisher.collect()
    consumer.collect()


def test_an_alarm_blocks_only_connections_that_publish(front: Front) -> None:
    events: list[str] = []
    idle = front.connect(on_blocked=events.append, on_unblocked=lambda: events.append("u"))
    ch = idle.channel()
    front.broker.faults.raise_alarm("disk")
    ch.queue_declare("q", auto_delete=False)  # not a publish: handled
    front.broker.faults.clear_alarm()
    with pytest.raises(TimeoutError):
        idle.drain_events(timeout=0.1)
    assert events == []
    idle.collect()
