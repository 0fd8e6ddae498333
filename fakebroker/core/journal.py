"""The broker's journal: what happened to which message, in order.

Assertion helpers (``broker.assert_published`` ...) and the fault injector
read it.  It is bounded (``maxlen`` entries, and ``max_bytes`` of message
bodies that only the journal still holds) so a long benchmark or a served
broker does not grow without limit, and can be switched off.

Rules:
- entries are numbered from 1 (``seq``) in the order they happened;
- entries hold references to messages, never copies: a body still queued
  costs nothing more; a body counts toward ``max_bytes`` once per message,
  however many entries name it, until the last of them goes;
- past ``maxlen`` entries or ``max_bytes`` the oldest entries go; :meth:`Journal.complete_since`
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

__all__ = ["DEFAULT_MAX_BYTES", "KINDS", "Journal", "JournalEntry"]

#: Message bodies the journal may keep alive by default: 64 MiB.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024

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

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        maxlen: int | None = 100_000,
        max_bytes: int | None = DEFAULT_MAX_BYTES,
    ) -> None:
        self._now = clock
        self._entries: deque[JournalEntry] = deque()
        self.maxlen = maxlen
        self.max_bytes = max_bytes
        self._refs: dict[int, int] = {}  # id(message) -> entries naming it
        self.bytes = 0  # body bytes of the messages the entries name
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
        self._last = seq = next(self._seq)
        if msg is not None:
            key = id(msg)
            count = self._refs.get(key, 0)
            if not count:
                self.bytes += len(msg.body)
            self._refs[key] = count + 1
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
        maxlen, max_bytes = self.maxlen, self.max_bytes
        if (maxlen is not None and len(entries) > maxlen) or (
            max_bytes is not None and self.bytes > max_bytes
        ):
            self._trim()

    def _trim(self) -> None:
        entries, maxlen, max_bytes = self._entries, self.maxlen, self.max_bytes
        while entries and (
            (maxlen is not None and len(entries) > maxlen)
            or (max_bytes is not None and self.bytes > max_bytes)
        ):
            gone = entries.popleft()
            self._gap_at = max(self._gap_at, gone.seq)
            self._release(gone.message)

    def _release(self, msg: Message | None) -> None:
        if msg is None:
            return
        key = id(msg)
        count = self._refs[key] - 1
        if count:
            self._refs[key] = count
        else:
            del self._refs[key]
            self.bytes -= len(msg.body)

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
        self._refs.clear()
        self.bytes = 0
        self._gap_at = self._last

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
