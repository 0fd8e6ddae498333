"""A pika application: publish audit events with publisher confirms, read them back."""

from __future__ import annotations

import json
from typing import Any

import pika


def publish_event(url: str, queue: str, event: dict[str, Any]) -> None:
    """Publish ``event`` as JSON to ``queue`` and wait for the broker's confirm."""
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        channel = conn.channel()
        channel.confirm_delivery()
        channel.queue_declare(queue, durable=True)
        channel.basic_publish(
            "",
            queue,
            json.dumps(event).encode(),
            pika.BasicProperties(content_type="application/json", delivery_mode=2),
            mandatory=True,
        )


def read_events(url: str, queue: str, *, limit: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Consume up to ``limit`` events (acking each), waiting at most ``timeout`` for each."""
    events: list[dict[str, Any]] = []
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        channel = conn.channel()
        channel.queue_declare(queue, durable=True)
        for method, _props, body in channel.consume(queue, inactivity_timeout=timeout):
            if method is None:
                break
            events.append(json.loads(body))
            channel.basic_ack(method.delivery_tag)
            if len(events) == limit:
                break
        channel.cancel()
    return events
