"""A small kombu application: orders go out on a topic exchange, a worker takes them in.

Invalid orders are rejected and dead-lettered to ``<queue>.dead``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kombu

EXCHANGE = "shop"


def topology(queue: str = "orders") -> tuple[kombu.Queue, kombu.Queue]:
    """The work queue (bound to ``order.*``) and its dead-letter queue."""
    dead = kombu.Queue(f"{queue}.dead", kombu.Exchange(f"{queue}.dlx", "fanout"))
    work = kombu.Queue(
        queue,
        kombu.Exchange(EXCHANGE, "topic"),
        routing_key="order.*",
        queue_arguments={"x-dead-letter-exchange": f"{queue}.dlx"},
    )
    return work, dead


def place_order(conn: kombu.Connection, order: dict[str, Any], *, queue: str = "orders") -> None:
    """Publish ``order`` as a persistent JSON message with routing key ``order.created``."""
    with conn.Producer() as producer:
        producer.publish(
            order,
            exchange=EXCHANGE,
            routing_key="order.created",
            serializer="json",
            delivery_mode=2,
            declare=list(topology(queue)),
        )


class OrderWorker:
    """Consumes orders: valid ones go to ``handle``, the others are dead-lettered."""

    def __init__(
        self,
        conn: kombu.Connection,
        handle: Callable[[dict[str, Any]], None],
        *,
        queue: str = "orders",
    ) -> None:
        self.handle = handle
        work, dead = topology(queue)
        self.consumer = conn.Consumer([work], callbacks=[self.on_message], accept=["json"])
        dead.maybe_bind(conn.default_channel)
        dead.declare()

    def on_message(self, body: dict[str, Any], message: kombu.Message) -> None:
        if not isinstance(body, dict) or "id" not in body:
            message.reject(requeue=False)
            return
        self.handle(body)
        message.ack()

    def __enter__(self) -> OrderWorker:
        self.consumer.consume()
        return self

    def __exit__(self, *exc: object) -> None:
        self.consumer.cancel()
