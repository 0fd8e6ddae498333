"""Publish, consume and channel faults on both fronts."""

from __future__ import annotations

from collections.abc import Iterator

import amqp
import pytest

from ._front import CONNECTION_LOST, Front


@pytest.fixture
def conn(front: Front) -> Iterator[amqp.Connection]:
    c = front.connect()
    yield c
    c.collect()


def _ready(front: Front, queue: str) -> int:
    with front.locked():
        return front.broker.get_queue(queue).message_count


def _drain(conn: amqp.Connection, until: object, timeout: float = 5.0) -> None:
    """Read events until ``until()`` is true (bounded)."""
    assert callable(until)
    for _ in range(100):
        if until():
            return
        conn.drain_events(timeout=timeout)
    raise AssertionError("condition not reached")


# -- publish --------------------------------------------------------------------------------


def test_nack_a_confirm(front: Front, conn: amqp.Connection) -> None:
    ch = conn.channel()
    ch.queue_declare("q", auto_delete=False)
    front.broker.faults.nack_confirms(routing_key="q", nth=2)
    ch.basic_publish_confirm(amqp.Message(b"1"), routing_key="q")
    with pytest.raises(amqp.exceptions.MessageNacked):
        ch.basic_publish_confirm(amqp.Message(b"2"), routing_key="q")
    ch.basic_publish_confirm(amqp.Message(b"3"), routing_key="q")
    assert _ready(front, "q") == 3  # a nack says nothing about routing
    assert [f["action"] for f in front.faults()] == ["nack"]


def test_delay_confirms(front: Front, conn: amqp.Connection) -> None:
    ch = conn.channel()
    ch.queue_declare("q", auto_delete=False)
    ch.confirm_select()
    acks: list[int] = []
    ch.events["basic_ack"].add(lambda tag, multiple: acks.append(tag))
    front.broker.faults.delay_confirms(3.0)
    ch.basic_publish(amqp.Message(b"1"), routing_key="q")
    front.wait_until(lambda: _ready(front, "q") == 1)
    with pytest.raises(TimeoutError):
        conn.drain_events(timeout=0.1)
    front.advance(3.0)
    _drain(conn, lambda: acks == [1])
    ch.basic_publish(amqp.Message(b"2"), routing_key="q")  # times=1: on time again
    _drain(conn, lambda: acks == [1, 2])


def test_withhold_confirms(front: Front, conn: amqp.Connection) -> None:
    ch = conn.channel()
    ch.queue_declare("q", auto_delete=False)
    ch.confirm_select()
    acks: list[int] = []
    ch.events["basic_ack"].add(lambda tag, multiple: acks.append(tag))
    front.broker.faults.withhold_confirms(every=2)
    for body in (b"1", b"2", b"3", b"4", b"5"):
        ch.basic_publish(amqp.Message(body), routing_key="q")
    _drain(conn, lambda: len(acks) == 3)
    assert acks == [1, 3, 5] and _ready(front, "q") == 5
    with pytest.raises(TimeoutError):
        conn.drain_events(timeout=0.1)


def test_return_a_publish_as_unroutable(front: Front, conn: amqp.Connection) -> None:
    ch = conn.channel()
    ch.queue_declare("q", auto_delete=False)
    returned: list[tuple[int, str]] = []
    ch.events["basic_return"].add(
        lambda exc, exchange, key, msg: returned.append((exc.reply_code, exc.reply_text))
    )
    front.broker.faults.return_unroutable(routing_key="q")
    ch.basic_publish_confirm(amqp.Message(b"1"), routing_key="q", mandatory=True)
    assert returned == [(312, "NO_ROUTE")]
    ch.basic_publish_confirm(amqp.Message(b"2"), routing_key="q", mandatory=True)
    assert _ready(front, "q") == 1 and len(returned) == 1


# -- consume --------------------------------------------------------------------------------


def test_drop_a_connection_holding_n_unacked(front: Front, conn: amqp.Connection) -> None:
    ch = conn.channel()
    ch.queue_declare("q", auto_delete=False)
    for i in range(5):
        ch.basic_publish(amqp.Message(str(i).encode()), routing_key="q")
    front.broker.faults.drop_connection(holding=3, queue="q")
    ch.basic_qos(0, 3, False)
    ch.basic_consume("q", callback=lambda m: None)
    with pytest.raises(CONNECTION_LOST):
        for _ in range(10):
            conn.drain_events(timeout=5)
    front.wait_until(lambda: not front.broker.connections)
    other = front.connect()
    try:
        och = other.channel()
        got = [och.basic_get("q") for _ in range(5)]
        assert [m.body for m in got if m] == [b"0", b"1", b"2", b"3", b"4"]
        assert [m.delivery_info["redelivered"] for m in got if m] == [True] * 3 + [False] * 2
    finally:
        other.collect()


def test_cancel_a_consumer_from_the_server(front: Front, conn: amqp.Connection) -> None:
    ch = conn.channel()
    ch.queue_declare("q", auto_delete=False)
    cancelled: list[str] = []
    got: list[amqp.Message] = []
    front.broker.faults.cancel_consumer(queue="q")
    tag = ch.basic_consume("q", callback=got.append, on_cancel=cancelled.append)
    ch.basic_publish(amqp.Message(b"1"), routing_key="q")
    _drain(conn, lambda: cancelled == [tag])
    assert [m.body for m in got] == [b"1"]
    got[0].channel.basic_ack(got[0].delivery_tag)  # the delivery itself stays valid
    ch.basic_publish(amqp.Message(b"2"), routing_key="q")
    front.wait_until(lambda: _ready(front, "q") == 1)
    with front.locked():
        assert front.broker.list_consumers() == []


def test_deliver_a_message_twice(front: Front, conn: amqp.Connection) -> None:
    ch = conn.channel()
    ch.queue_declare("q", auto_delete=False)
    got: list[amqp.Message] = []
    front.broker.faults.duplicate_delivery(queue="q", nth=2)
    ch.basic_consume("q", callback=got.append)
    for body in (b"1", b"2", b"3"):
        ch.basic_publish(amqp.Message(body), routing_key="q")
    _drain(conn, lambda: len(got) == 4)
    assert [m.body for m in got] == [b"1", b"2", b"2", b"3"]
    assert len({m.delivery_tag for m in got}) == 4
    for m in got:
        ch.basic_ack(m.delivery_tag)


# -- channel --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (404, amqp.exceptions.NotFound),
        (406, amqp.exceptions.PreconditionFailed),
        (403, amqp.exceptions.AccessRefused),
    ],
)
def test_close_a_channel_with_a_chosen_code(
    front: Front, conn: amqp.Connection, code: int, error: type[Exception]
) -> None:
    front.broker.faults.close_channel(on="queue.bind", code=code, text="boom")
    ch = conn.channel()
    ch.queue_declare("q", auto_delete=False)
    with pytest.raises(error) as info:
        ch.queue_bind("q", "amq.direct", "k")
    assert info.value.reply_code == code  # type: ignore[attr-defined]
    assert info.value.method_name == "Queue.bind"  # type: ignore[attr-defined]
    with front.locked():
        assert front.broker.list_bindings() == [
            b for b in front.broker.list_bindings() if b.source == ""
        ]
    conn.channel().queue_declare("q2")  # the connection goes on


def test_with_nack_and_withhold_both_armed_the_first_rule_wins(
    front: Front, conn: amqp.Connection
) -> None:
    ch = conn.channel()
    ch.queue_declare("q", auto_delete=False)
    nack = front.broker.faults.nack_confirms()
    withhold = front.broker.faults.withhold_confirms()
    with pytest.raises(amqp.exceptions.MessageNacked):
        ch.basic_publish_confirm(amqp.Message(b"1"), routing_key="q")
    assert (nack.fired, withhold.fired) == (1, 0)
    assert [f["action"] for f in front.faults()] == ["nack"]  # journaled: what was applied


def test_a_confirm_that_goes_out_is_journaled(front: Front, conn: amqp.Connection) -> None:
    ch = conn.channel()
    ch.queue_declare("q", auto_delete=False)
    ch.basic_publish_confirm(amqp.Message(b"1"), routing_key="q")
    front.broker.faults.nack_confirms()
    with pytest.raises(amqp.exceptions.MessageNacked):
        ch.basic_publish_confirm(amqp.Message(b"2"), routing_key="q")
    with front.locked():
        entries = front.broker.journal.entries("confirmed")
    assert [(e.vhost, e.details["delivery_tag"], e.details["ack"]) for e in entries] == [
        ("/", 1, True),
        ("/", 2, False),
    ]
    assert all(e.details["channel"] == ch.channel_id for e in entries)
