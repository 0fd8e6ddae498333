"""Dead-lettering: the new message RabbitMQ republishes, with its ``x-death`` history.

Rules (RabbitMQ 3.10):
- ``x-death`` is a list, newest first, one entry per (queue, reason): a
  repeat increments ``count`` and moves the entry to the front;
- each entry has count, reason, queue, time, exchange, routing-keys, and
  original-expiration when the message had an ``expiration``, which is removed;
- ``x-first-death-reason/queue/exchange`` are set once and never changed;
- a message dead-lettered around a cycle with no rejection in it is dropped
  at the queue that would see it again.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .message import Message


def _routing_keys(msg: Message) -> list[str]:
    keys = [msg.routing_key]
    headers = msg.headers
    for extra in ("CC",):
        value = headers.get(extra)
        if isinstance(value, list):
            keys.extend(v.decode() if isinstance(v, bytes) else str(v) for v in value)
    return keys


def dead_letter_message(
    msg: Message,
    *,
    queue: str,
    reason: str,
    now: float,
    new_id: int,
    exchange: str,
    routing_key: str,
) -> Message:
    """The message to publish to the dead-letter exchange."""
    props = dict(msg.properties)
    headers: dict[str, Any] = dict(msg.headers)
    expiration = props.pop("expiration", None)
    deaths: list[dict[str, Any]] = [dict(d) for d in headers.get("x-death") or []]
    found = next(
        (i for i, d in enumerate(deaths) if d.get("queue") == queue and d.get("reason") == reason),
        None,
    )
    if found is not None:
        entry = deaths.pop(found)
        entry["count"] = int(entry.get("count", 0)) + 1
        entry["time"] = datetime.fromtimestamp(int(now), tz=timezone.utc)
    else:
        entry = {
            "count": 1,
            "reason": reason,
            "queue": queue,
            "time": datetime.fromtimestamp(int(now), tz=timezone.utc),
            "exchange": msg.exchange,
            "routing-keys": _routing_keys(msg),
        }
        if expiration is not None:
            entry["original-expiration"] = expiration
    deaths.insert(0, entry)
    headers["x-death"] = deaths
    headers.setdefault("x-first-death-reason", reason)
    headers.setdefault("x-first-death-queue", queue)
    headers.setdefault("x-first-death-exchange", msg.exchange)
    props["headers"] = headers
    return Message(exchange, routing_key, props, msg.body, new_id)


def is_cycle(target_queue: str, deaths: list[dict[str, Any]]) -> bool:
    """True when dead-lettering into ``target_queue`` closes a cycle with no rejection."""
    for death in deaths:
        if death.get("reason") == "rejected":
            return False
        if death.get("queue") == target_queue:
            return True
    return False
