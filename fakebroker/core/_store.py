"""Ready-message storage of a queue: FIFO, or FIFO per priority.

Rules:
- entries leave from the head in publication order (``seq``), highest
  priority first in a priority queue;
- a requeued entry goes back to its original place (by ``seq``), as
  RabbitMQ's classic queues do since 2.7;
- the common requeue (older than everything ready) is O(1).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Iterator

from .message import Message


class Entry:
    """One message in one queue, with its per-queue state."""

    __slots__ = ("dcount", "expires", "msg", "priority", "redelivered", "seq")

    def __init__(self, msg: Message, seq: int, expires: float | None, priority: int) -> None:
        self.msg = msg
        self.seq = seq
        self.expires = expires
        self.priority = priority
        self.redelivered = False
        self.dcount = 0


def _insert_by_seq(fifo: deque[Entry], entry: Entry) -> None:
    if not fifo or entry.seq < fifo[0].seq:
        fifo.appendleft(entry)
    elif entry.seq > fifo[-1].seq:
        fifo.append(entry)
    else:
        index = bisect_left(fifo, entry.seq, key=lambda e: e.seq)
        fifo.insert(index, entry)


class Fifo(deque[Entry]):
    """Plain FIFO storage: a deque, so ``len`` and truth tests cost nothing."""

    __slots__ = ()

    push = deque.append
    take_head = deque.popleft

    def requeue(self, entry: Entry) -> None:
        _insert_by_seq(self, entry)

    def peek(self) -> Entry | None:
        return self[0] if self else None

    def drain(self) -> list[Entry]:
        entries = list(self)
        self.clear()
        return entries


class PriorityStore:
    """One FIFO per priority level 0..max_priority; the highest level leaves first."""

    __slots__ = ("_levels", "_size")

    def __init__(self, max_priority: int) -> None:
        self._levels: list[deque[Entry]] = [deque() for _ in range(max_priority + 1)]
        self._size = 0

    def push(self, entry: Entry) -> None:
        self._levels[entry.priority].append(entry)
        self._size += 1

    def requeue(self, entry: Entry) -> None:
        _insert_by_seq(self._levels[entry.priority], entry)
        self._size += 1

    def take_head(self) -> Entry:
        for level in reversed(self._levels):
            if level:
                self._size -= 1
                return level.popleft()
        raise IndexError("pop from an empty queue")

    def peek(self) -> Entry | None:
        for level in reversed(self._levels):
            if level:
                return level[0]
        return None

    def drain(self) -> list[Entry]:
        entries = list(self)
        for level in self._levels:
            level.clear()
        self._size = 0
        return entries

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Entry]:
        for level in reversed(self._levels):
            yield from level


Store = Fifo | PriorityStore
