"""Clocks: the only source of time for the core and the engine.

A clock tells the time and runs timers.  Nothing in the core reads the
system time directly, so a test can drive expiry, x-expires, consumer
timeouts and heartbeats with :class:`VirtualClock` and never sleep.

Rules:
- timers run in (deadline, scheduling order) order, so runs are deterministic;
- while a timer runs, ``now()`` equals its deadline on a virtual clock;
- a timer cancelled before it runs never runs; a timer may schedule others.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "SystemClock", "Timer", "VirtualClock"]


class Timer:
    """A scheduled callback; :meth:`cancel` stops it from running."""

    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback: Callable[[], None] | None = callback
        self.cancelled = False

    def cancel(self) -> None:
        """Stop the timer; harmless if it already ran."""
        self.cancelled = True
        self.callback = None


class Clock(Protocol):
    """What the core and the engine need from a clock."""

    #: True for a clock that moves only when told to (fronts then never wait for it).
    virtual: bool

    def now(self) -> float:
        """Seconds since the epoch."""

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` once ``now() >= when``."""

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` after ``delay`` seconds."""

    def next_deadline(self) -> float | None:
        """The earliest pending timer's deadline, or None."""

    def run_due(self) -> int:
        """Run every timer that is due; return how many ran."""


class _TimerHeap:
    """The timer queue both clocks share."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(when, callback)
        heapq.heappush(self._heap, (when, next(self._seq), timer))
        return timer

    def next_deadline(self) -> float | None:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, now: float) -> Timer | None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            timer = heapq.heappop(heap)[2]
            if not timer.cancelled:
                return timer
        return None

    def __len__(self) -> int:
        return sum(1 for entry in self._heap if not entry[2].cancelled)


def _fire(timer: Timer) -> None:
    callback = timer.callback
    timer.cancel()
    if callback is not None:
        callback()


class SystemClock:
    """Real time (``time.time()``); a front calls :meth:`run_due` at :meth:`next_deadline`."""

    virtual = False

    def __init__(self) -> None:
        self._timers = _TimerHeap()

    def now(self) -> float:
        return time.time()

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        return self._timers.call_at(when, callback)

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return self._timers.call_at(self.now() + delay, callback)

    def next_deadline(self) -> float | None:
        return self._timers.next_deadline()

    def run_due(self) -> int:
        ran = 0
        while (timer := self._timers.pop_due(self.now())) is not None:
            _fire(timer)
            ran += 1
        return ran

    def advance(self, seconds: float) -> int:
        """Refused: real time moves on its own (a :class:`VirtualClock` can be advanced)."""
        raise TypeError(
            "this broker runs on the system clock, which cannot be advanced: "
            "use a virtual clock (the broker fixture's default, or clock='virtual')"
        )


class VirtualClock:
    """Time that moves only when told to, in the manner of trio's MockClock.

    ``advance(seconds)`` runs every timer due on the way, each at its own
    deadline.  With ``autojump=True`` a front that would wait for I/O with
    nothing to read calls :meth:`jump` instead, moving straight to the next
    timer.
    """

    virtual = True

    def __init__(self, *, start: float = 1_700_000_000.0, autojump: bool = False) -> None:
        self._now = float(start)
        self._timers = _TimerHeap()
        self.autojump = autojump

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        return self._timers.call_at(when, callback)

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return self._timers.call_at(self._now + delay, callback)

    def next_deadline(self) -> float | None:
        return self._timers.next_deadline()

    def run_due(self) -> int:
        ran = 0
        while (timer := self._timers.pop_due(self._now)) is not None:
            _fire(timer)
            ran += 1
        return ran

    def advance(self, seconds: float) -> int:
        """Move time forward by ``seconds``, running every timer due; return how many ran."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        target = self._now + seconds
        ran = self.run_due()
        while (deadline := self._timers.next_deadline()) is not None and deadline <= target:
            self._now = max(self._now, deadline)
            ran += self.run_due()
        self._now = target
        return ran

    def jump(self) -> bool:
        """Move to the next deadline and run what is due there; False if nothing is scheduled."""
        deadline = self._timers.next_deadline()
        if deadline is None:
            return False
        self._now = max(self._now, deadline)
        self.run_due()
        return True

    @property
    def pending(self) -> int:
        """How many timers are scheduled."""
        return len(self._timers)
