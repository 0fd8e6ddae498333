"""Consuming: the order worker acks good orders and dead-letters bad ones."""

from __future__ import annotations

from bookstore import OrderWorker, place_order


def test_the_worker_handles_and_acks_a_valid_order(broker):
    handled = []
    with broker.connection() as conn, OrderWorker(conn, handled.append):
        place_order(conn, {"id": 1, "isbn": "978-0"})
        broker.run_until_idle()
    assert handled == [{"id": 1, "isbn": "978-0"}]
    broker.assert_consumed("bookstore.orders", body={"id": 1, "isbn": "978-0"})
    broker.assert_acked("bookstore.orders", body={"id": 1, "isbn": "978-0"})
    assert broker.queues["bookstore.orders"].messages_ready == 0


def test_the_worker_requests_a_shipment(broker):
    with broker.connection() as conn, OrderWorker(conn, lambda order: None):
        place_order(conn, {"id": 2, "isbn": "978-1"})
        broker.run_until_idle()
    broker.assert_published(routing_key="shipment.requested", body={"isbn": "978-1"})


def test_an_order_without_isbn_is_dead_lettered(broker):
    handled = []
    with broker.connection() as conn, OrderWorker(conn, handled.append):
        place_order(conn, {"id": 3})
        broker.run_until_idle()
    assert handled == []
    [dead] = broker.assert_dead_lettered("bookstore.orders", reason="rejected", body={"id": 3})
    assert dead.headers["x-death"][0]["exchange"] == "bookstore"
    assert broker.queues["bookstore.dead-letters"].messages_ready == 1
    broker.assert_not_published(routing_key="shipment.requested")


def test_the_worker_is_a_consumer_while_it_runs(broker):
    with broker.connection() as conn, OrderWorker(conn, lambda order: None):
        assert broker.queues["bookstore.orders"].consumers == 1
    assert broker.wait_for(lambda: broker.queues["bookstore.orders"].consumers == 0, timeout=5)
