"""The broker's journal: what happened to which message, in order.

Assertion helpers (``broker.assert_published`` ...) and the fault injector
read it.  It is bounded (``maxlen`` entries) so a long benchmark does not
grow without limit, and can be switched off.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .message import Message

__all__ = ["KINDS", "Journal", "JournalEntry"]

KINDS = frozenset(
    {
        "published",
        "routed",
        "returned",
        "unroutable",
        "delivered",
        "acked",
        "nacked",
        "rejected",
        "requeued",
        "dead-lettered",
        "expired",
        "dropped",
        "purged",
        "deleted",
        "confirmed",
        "fault",
    }
)


@dataclass(slots=True)
class JournalEntry:
    """One event: ``kind`` is one of :data:`KINDS` (treat it as read-only)."""

    seq: int
    time: float
    kind: str
    vhost: str
    exchange: str | None = None
    routing_key: str | None = None
    queue: str | None = None
    message: Message | None = None
    details: dict[str, Any] = field(default_factory=dict)


class Journal:
    """An ordered, bounded record of broker events."""

    def __init__(self, *, clock: Callable[[], float], maxlen: int | None = 100_000) -> None:
        self._now = clock
        self._entries: deque[JournalEntry] = deque(maxlen=maxlen)
        self._seq = itertools.count(1)
        self.enabled = True

    def record(
        self,
        kind: str,
        vhost: str,
        *,
        exchange: str | None = None,
        routing_key: str | None = None,
        queue: str | None = None,
        msg: Message | None = None,
        **details: Any,
    ) -> None:
        """Append one event (a no-op while disabled)."""
        if not self.enabled:
            return
        self._entries.append(
            JournalEntry(
                next(self._seq),
                self._now(),
                kind,
                vhost,
                exchange,
                routing_key,
                queue,
                msg,
                details,
            )
        )

    def entries(self, kind: str | None = None, **match: Any) -> list[JournalEntry]:
        """Events of ``kind`` (all if None) whose fields equal ``match``."""
        return [
            entry
            for entry in self._entries
            if (kind is None or entry.kind == kind)
            and all(getattr(entry, key) == value for key, value in match.items())
        ]

    def clear(self) -> None:
        """Forget every event."""
        self._entries.clear()

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
