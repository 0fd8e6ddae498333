"""The kombu app's tests: `broker` is a fresh broker per test (in-process unless --broker says)."""

from __future__ import annotations

import kombu
from orders import OrderWorker, place_order


def test_place_order_publishes_a_persistent_json_message(broker):
    with broker.connection() as conn:
        place_order(conn, {"id": 7, "item": "tea"})

    [message] = broker.assert_published(exchange="shop", routing_key="order.created")
    assert message.properties["delivery_mode"] == 2
    assert message.properties["content_type"] == "application/json"
    assert [m.body for m in broker.messages("orders")] == [message.body]


def test_worker_handles_valid_orders_and_dead_letters_the_rest(broker):
    handled = []
    with broker.connection() as conn, OrderWorker(conn, handled.append):
        place_order(conn, {"id": 1})
        place_order(conn, {"oops": True})
        broker.run_until_idle()  # the worker's callbacks run here

    assert handled == [{"id": 1}]
    [dead] = broker.dead_letters("orders", reason="rejected")
    assert dead.headers["x-death"][0]["queue"] == "orders"
    assert broker.queues["orders.dead"].messages_ready == 1
    broker.assert_not_published(routing_key="order.cancelled")


def test_round_trip_on_the_selected_backend(broker_backend):
    """Uses only what every --broker backend has, so it also runs on a real RabbitMQ."""
    queue = broker_backend.unique("orders")
    handled = []
    with broker_backend.connection() as conn, OrderWorker(conn, handled.append, queue=queue):
        place_order(conn, {"id": 2}, queue=queue)
        conn.drain_events(timeout=5)
    assert handled == [{"id": 2}]


def test_unbound_routing_keys_are_dropped(broker):
    with broker.connection() as conn:
        place_order(conn, {"id": 3})
        conn.Producer().publish({"id": 4}, exchange="shop", routing_key="invoice.created")
    assert len(broker.messages("orders")) == 1
    broker.assert_published(routing_key="invoice.created", body={"id": 4})
    assert isinstance(conn, kombu.Connection)
