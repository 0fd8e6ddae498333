from __future__ import annotations

import pytest

from fakebroker.core import AMQPChannelError, Broker, Channel, Connection
from fakebroker.core.events import ConfirmAck

from .conftest import drain


def test_confirms_count_from_one(conn: Connection, ch: Channel) -> None:
    ch.queue_declare("q")
    ch.confirm_select()
    for _ in range(3):
        ch.basic_publish("", "q", b"x")
    assert drain(conn) == [ConfirmAck(1, 1), ConfirmAck(1, 2), ConfirmAck(1, 3)]


def test_unroutable_is_confirmed(conn: Connection, ch: Channel) -> None:
    ch.confirm_select()
    ch.basic_publish("amq.direct", "nowhere", b"x")
    assert drain(conn) == [ConfirmAck(1, 1)]


def test_confirm_and_tx_exclusive(conn: Connection) -> None:
    a = conn.open_channel(1)
    a.confirm_select()
    with pytest.raises(AMQPChannelError) as info:
        a.tx_select()
    assert info.value.code == 406
    b = conn.open_channel(2)
    b.tx_select()
    with pytest.raises(AMQPChannelError) as info:
        b.confirm_select()
    assert info.value.code == 406


def test_tx_commit_and_rollback_publishes(broker: Broker, ch: Channel) -> None:
    ch.queue_declare("q")
    ch.tx_select()
    ch.basic_publish("", "q", b"a")
    assert broker.messages("q") == []
    ch.tx_commit()
    assert [m.body for m in broker.messages("q")] == [b"a"]
    ch.basic_publish("", "q", b"b")
    ch.tx_rollback()
    ch.tx_commit()
    assert [m.body for m in broker.messages("q")] == [b"a"]


def test_tx_acks_wait_for_commit(broker: Broker, ch: Channel) -> None:
    ch.queue_declare("q")
    ch.basic_publish("", "q", b"a")
    ch.tx_select()
    got = ch.basic_get("q")
    assert got is not None
    ch.basic_ack(got.delivery_tag)
    assert broker.get_queue("q").unacked == 1
    ch.tx_rollback()
    assert list(ch.unacked) == [got.delivery_tag]
    ch.basic_ack(got.delivery_tag)
    ch.tx_commit()
    assert broker.get_queue("q").unacked == 0


def test_commit_without_select(ch: Channel) -> None:
    with pytest.raises(AMQPChannelError) as info:
        ch.tx_commit()
    assert info.value.code == 406
