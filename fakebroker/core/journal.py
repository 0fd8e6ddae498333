"""The broker's journal: what happened to which message, in order.

Assertion helpers (``broker.assert_published`` ...) and the fault injector
read it.  It is bounded (``maxlen`` entries) so a long benchmark does not
grow without limit, and can be switched off.

Rules:
- entries are numbered from 1 (``seq``) in the order they happened;
- past ``maxlen`` the oldest entry goes; :meth:`Journal.complete_since`
  tells whether every entry after a given ``seq`` is still there, so an
  assertion over a truncated journal can fail instead of passing wrongly;
- while disabled nothing is recorded, and nothing counts as complete.
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
        self._last = 0
        self._gap_at = 0  # the highest seq dropped by truncation, or missed while disabled
        self._enabled = True

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
        if not self._enabled:
            return
        entries = self._entries
        if len(entries) == entries.maxlen:
            self._gap_at = max(self._gap_at, entries[0].seq)
        self._last = seq = next(self._seq)
        entries.append(
            JournalEntry(
                seq,
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

    @property
    def enabled(self) -> bool:
        """Whether events are recorded; switching it off leaves a gap that assertions see."""
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        if self._enabled and not value:
            self._gap_at = self._last + 1  # whatever happens from now on goes unrecorded
        self._enabled = value

    @property
    def last_seq(self) -> int:
        """The number of the newest entry (0 before the first)."""
        return self._last

    def complete_since(self, seq: int) -> bool:
        """Whether every event after entry ``seq`` was recorded and is still here."""
        return self._enabled and self._gap_at <= seq

    def clear(self) -> None:
        """Forget every event (entries before now then count as never recorded)."""
        self._entries.clear()
        self._gap_at = self._last

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
