"""A small bookstore service on kombu: orders come in, shipments go out.

The code a user would test; it knows nothing of fakebroker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kombu

EXCHANGE = kombu.Exchange("bookstore", "topic", durable=True)
DEAD = kombu.Exchange("bookstore.dead", "fanout", durable=True)
ORDERS = kombu.Queue(
    "bookstore.orders",
    EXCHANGE,
    routing_key="order.*",
    queue_arguments={"x-dead-letter-exchange": "bookstore.dead"},
)
DEAD_LETTERS = kombu.Queue("bookstore.dead-letters", DEAD)
#: Reservations lapse after 15 minutes, into the dead letters.
RESERVATIONS = kombu.Queue(
    "bookstore.reservations",
    EXCHANGE,
    routing_key="reservation.*",
    queue_arguments={"x-message-ttl": 15 * 60 * 1000, "x-dead-letter-exchange": "bookstore.dead"},
)
#: Only the two newest notifications are kept; older ones are dead-lettered.
NOTIFICATIONS = kombu.Queue(
    "bookstore.notifications",
    EXCHANGE,
    routing_key="notify.*",
    queue_arguments={"x-max-length": 2, "x-dead-letter-exchange": "bookstore.dead"},
)
QUEUES = (ORDERS, DEAD_LETTERS, RESERVATIONS, NOTIFICATIONS)


def declare(conn: kombu.Connection) -> None:
    """Declare the exchanges, queues and bindings."""
    channel = conn.default_channel
    for queue in QUEUES:
        queue.bind(channel).declare()


def publish(conn: kombu.Connection, routing_key: str, body: Any) -> None:
    """Publish ``body`` as persistent JSON to the bookstore exchange."""
    declare(conn)
    conn.Producer().publish(
        body, exchange=EXCHANGE, routing_key=routing_key, serializer="json", delivery_mode=2
    )


def place_order(conn: kombu.Connection, order: dict[str, Any]) -> None:
    """An order for the warehouse."""
    publish(conn, "order.created", order)


def reserve(conn: kombu.Connection, isbn: str) -> None:
    """Hold a book for a customer for 15 minutes."""
    publish(conn, "reservation.created", {"isbn": isbn})


def notify(conn: kombu.Connection, text: str) -> None:
    """A notification for the shop's screen."""
    publish(conn, "notify.shop", {"text": text})


class OrderWorker:
    """Handles orders: a valid one is acked and a shipment requested; others are rejected."""

    def __init__(self, conn: kombu.Connection, handle: Callable[[dict[str, Any]], None]) -> None:
        self.connection = conn
        self.handle = handle
        self._consumer: kombu.Consumer | None = None

    def __enter__(self) -> OrderWorker:
        declare(self.connection)
        self._consumer = kombu.Consumer(
            self.connection.default_channel, [ORDERS], callbacks=[self.on_order]
        )
        self._consumer.consume()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._consumer is not None:
            self._consumer.cancel()

    def on_order(self, body: dict[str, Any], message: kombu.Message) -> None:
        if "isbn" not in body:
            message.reject()  # no requeue: it goes to the dead letters
            return
        self.handle(body)
        message.ack()
        conn = self.connection
        conn.Producer().publish(
            {"isbn": body["isbn"]}, exchange=EXCHANGE, routing_key="shipment.requested"
        )
