"""Publishing: what the bookstore sends, and where it lands."""

from __future__ import annotations

import pytest
from bookstore import notify, place_order


def test_placing_an_order_publishes_it(broker):
    with broker.connection() as conn:
        place_order(conn, {"id": 1, "isbn": "978-0"})
    broker.assert_published(
        exchange="bookstore", routing_key="order.created", body={"id": 1, "isbn": "978-0"}
    )


def test_orders_are_persistent_json(broker):
    with broker.connection() as conn:
        place_order(conn, {"id": 2, "isbn": "978-1"})
    [message] = broker.assert_published(routing_key="order.created")
    assert message.properties["delivery_mode"] == 2
    assert message.properties["content_type"] == "application/json"


def test_an_order_waits_in_the_orders_queue(broker):
    with broker.connection() as conn:
        place_order(conn, {"id": 3, "isbn": "978-2"})
    assert broker.queues["bookstore.orders"].messages_ready == 1
    assert [m.body for m in broker.messages("bookstore.orders")] == [b'{"id": 3, "isbn": "978-2"}']


def test_nothing_is_cancelled(broker):
    with broker.connection() as conn:
        place_order(conn, {"id": 4, "isbn": "978-3"})
    broker.assert_not_published(routing_key="order.cancelled")
    broker.assert_published(count=1)


def test_an_unbound_routing_key_reaches_no_queue(broker):
    with broker.connection() as conn:
        place_order(conn, {"id": 5, "isbn": "978-4"})
        conn.Producer().publish({"id": 5}, exchange="bookstore", routing_key="invoice.created")
    broker.assert_published(routing_key="invoice.created", body={"id": 5})
    assert broker.queues["bookstore.orders"].messages_ready == 1


def test_the_topology_is_declared(broker):
    with broker.connection() as conn:
        place_order(conn, {"id": 6, "isbn": "978-5"})
    assert broker.exchanges["bookstore"]["type"] == "topic"
    assert broker.queues["bookstore.orders"].arguments == {
        "x-dead-letter-exchange": "bookstore.dead"
    }
    assert any(
        b.source == "bookstore"
        and b.destination == "bookstore.orders"
        and b.routing_key == "order.*"
        for b in broker.bindings
    )


def test_a_wrong_queue_name_is_explained(broker):
    with broker.connection() as conn:
        place_order(conn, {"id": 7, "isbn": "978-6"})
    with pytest.raises(KeyError, match=r"did you mean 'bookstore\.orders'"):
        broker.queues["bookstore.order"]


def test_a_failed_assertion_shows_the_nearest_message(broker):
    with broker.connection() as conn:
        place_order(conn, {"id": 8, "isbn": "978-7"})
    with pytest.raises(AssertionError) as failure:
        broker.assert_published(routing_key="order.created", body={"id": 9, "isbn": "978-7"})
    assert 'body: expected {"id": 9, "isbn": "978-7"}, got {"id": 8, "isbn": "978-7"}' in str(
        failure.value
    )


def test_only_the_two_newest_notifications_are_kept(broker):
    with broker.connection() as conn:
        for text in ("one", "two", "three"):
            notify(conn, text)
    assert broker.queues["bookstore.notifications"].messages_ready == 2
    [dropped] = broker.assert_dead_lettered("bookstore.notifications", reason="maxlen")
    assert dropped.body == b'{"text": "one"}'
