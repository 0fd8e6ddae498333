"""Time and faults: these need fakebroker (virtual time, injected failures)."""

from __future__ import annotations

import pytest
from bookstore import place_order, reserve


@pytest.mark.fake_only(reason="moves virtual time 15 minutes")
def test_a_reservation_lapses_after_15_minutes(broker):
    with broker.connection() as conn:
        reserve(conn, "978-0")
    broker.clock.advance(15 * 60)
    assert broker.queues["bookstore.reservations"].messages_ready == 0
    broker.assert_dead_lettered("bookstore.reservations", reason="expired", body={"isbn": "978-0"})


@pytest.mark.fake_only(reason="moves virtual time to just before the TTL")
def test_a_reservation_holds_for_almost_15_minutes(broker):
    with broker.connection() as conn:
        reserve(conn, "978-1")
    broker.clock.advance(15 * 60 - 1)
    assert broker.queues["bookstore.reservations"].messages_ready == 1
    assert broker.dead_letters(reason="expired") == []


@pytest.mark.fake_only(reason="injects a dropped connection")
def test_an_order_lost_with_its_connection_is_not_queued(broker):
    with broker.connection() as conn:
        place_order(conn, {"id": 0, "isbn": "978-0"})
        broker.assert_published(routing_key="order.created")  # handled before the fault goes in
        broker.faults.drop_connection(on="basic.publish")
        with pytest.raises(conn.recoverable_connection_errors):
            conn.Producer().publish({"id": 1}, exchange="bookstore", routing_key="order.created")
            conn.drain_events(timeout=1)
    assert broker.queues["bookstore.orders"].messages_ready == 1


@pytest.mark.broker(faults=[{"action": "drop", "point": "message_routed", "nth": 2}])
def test_the_second_publish_drops_the_connection(broker):
    with broker.connection() as conn:
        place_order(conn, {"id": 1, "isbn": "978-1"})
        with pytest.raises(conn.recoverable_connection_errors):
            conn.Producer().publish({"id": 2}, exchange="bookstore", routing_key="order.created")
            conn.drain_events(timeout=1)
    assert broker.queues["bookstore.orders"].messages_ready == 2  # routed, then dropped
