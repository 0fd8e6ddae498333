"""Output shaping: the frame_sending rules that hold or split what the engine sends (sans-I/O).

Rules:
- latency and bandwidth (:class:`Shaper`) hold each frame until its release
  time on the broker's clock: latencies add up, the lowest bandwidth holds,
  frames leave in order;
- a slicer (:class:`Slicer`) hands the output over a slice of at most
  ``size`` bytes per :meth:`OutputShaping.take`, ``delay`` seconds apart;
  the front is woken for each next one; new frames with no slice rule firing
  on them let what waits leave at once;
- what is held still leaves after the connection ends (a close-ok under
  latency reaches the client); a reset or a lost transport drops it
  (:meth:`OutputShaping.drop`).

The engine makes one :class:`OutputShaping` the first time a rule fires at
frame_sending and asks it on every :meth:`~fakebroker.amqp.Engine.data_to_send`
after that.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from fakebroker.core import Clock, Timer
from fakebroker.core.faultpoints import Action, Decision

__all__ = ["OutputShaping", "Shaper", "Slicer"]


class OutputShaping:
    """One connection's latency, bandwidth and slicer state: chunks in, bytes that may leave out."""

    __slots__ = ("_clock", "_shaper", "_slicer", "_wake")

    def __init__(self, *, clock: Clock, wake: Callable[[], None]) -> None:
        self._clock = clock
        #: Asks the front to call data_to_send again (a release time passed, a slice is due).
        self._wake = wake
        self._shaper: Shaper | None = None
        self._slicer: Slicer | None = None

    @property
    def holding(self) -> bool:
        """Whether bytes wait that have not left yet."""
        shaper, slicer = self._shaper, self._slicer
        return (shaper is not None and bool(shaper.held)) or (slicer is not None and slicer.pending)

    def take(self, chunks: list[bytes], decisions: tuple[Decision, ...], fresh: bool) -> bytes:
        """What may leave now of the held output and ``chunks`` (``fresh``: new frames, on
        which ``decisions`` fired)."""
        if decisions or (self._shaper is not None and self._shaper.held):
            chunks = self._shape(chunks, decisions)
        data = b"".join(chunks)
        if self._slicer is not None or any(d.action is Action.SLICE for d in decisions):
            data = self._slice(data, decisions if fresh else None)
        return data

    def drop(self) -> None:
        """The transport is reset or gone: what is held never leaves."""
        if self._shaper is not None and self._shaper.timer is not None:
            self._shaper.timer.cancel()
        self._shaper = None
        if self._slicer is not None:
            self._slicer.clear()
            self._slicer = None

    def _shape(self, chunks: list[bytes], decisions: tuple[Decision, ...]) -> list[bytes]:
        """latency, bandwidth: the chunks due now; the rest wait on the clock."""
        shaper = self._shaper
        if shaper is None:
            shaper = self._shaper = Shaper()
        now = self._clock.now()
        shaper.push(chunks, now, decisions)
        out = shaper.ready(now)
        release = shaper.next_release()
        if release is not None and shaper.timer is None:
            shaper.timer = self._clock.call_at(release, self._released)
        return out

    def _released(self) -> None:
        if self._shaper is not None:
            self._shaper.timer = None
        self._wake()

    def _slice(self, data: bytes, decisions: tuple[Decision, ...] | None) -> bytes:
        """slice: the next slice of the output (``decisions`` None: output latency held)."""
        slicer = self._slicer
        if slicer is None:
            slicer = self._slicer = Slicer()
        slicer.push(data, decisions)
        now = self._clock.now()
        out = slicer.take(now)
        if not slicer.pending:
            if slicer.size is None:  # no slice rule fires any more
                self._slicer = None
        elif slicer.timer is None:
            if slicer.due > now:
                slicer.timer = self._clock.call_at(slicer.due, self._slice_due)
            else:
                self._wake()  # the front calls again: the next slice leaves on its own
        return out

    def _slice_due(self) -> None:
        if self._slicer is not None:
            self._slicer.timer = None
        self._wake()


class Shaper:
    """Frames held until their release time on the broker's clock (latency, bandwidth)."""

    def __init__(self) -> None:
        self.held: deque[tuple[float, bytes]] = deque()
        self.last_release = 0.0
        self.line_free = 0.0
        self.timer: Timer | None = None

    def push(self, chunks: list[bytes], now: float, decisions: tuple[Decision, ...]) -> None:
        """Hold ``chunks`` (in order): latencies add up, the lowest bandwidth holds."""
        delay = sum(d.delay or 0.0 for d in decisions if d.action is Action.LATENCY)
        rates = [d.rate for d in decisions if d.action is Action.BANDWIDTH and d.rate]
        rate = min(rates) if rates else None
        for chunk in chunks:
            start = max(now, self.line_free)
            self.line_free = start + (len(chunk) / rate if rate else 0.0)
            release = max(self.line_free + delay, self.last_release)
            self.last_release = release
            self.held.append((release, chunk))

    def ready(self, now: float) -> list[bytes]:
        """The chunks due by ``now``."""
        out = []
        while self.held and self.held[0][0] <= now:
            out.append(self.held.popleft()[1])
        return out

    def next_release(self) -> float | None:
        """When the next held chunk is due (None when nothing is held)."""
        return self.held[0][0] if self.held else None


class Slicer:
    """Output handed over in slices of at most ``size`` bytes, one per take (Toxiproxy's slicer).

    The bytes queue up in order (a backlog read from ``pos``); :meth:`take`
    gives the next slice, or nothing while the gap after the previous slice
    (``delay`` seconds, broker clock) has not passed.
    """

    __slots__ = ("backlog", "delay", "due", "pos", "size", "timer")

    def __init__(self) -> None:
        self.backlog = bytearray()
        self.pos = 0
        self.size: int | None = None
        self.delay = 0.0
        #: When the next slice may leave (broker clock).
        self.due = 0.0
        self.timer: Timer | None = None

    @property
    def pending(self) -> bool:
        """Whether bytes wait to leave."""
        return self.pos < len(self.backlog)

    def push(self, data: bytes, decisions: tuple[Decision, ...] | None) -> None:
        """Queue ``data``; the slice rules that fired set the size (smallest) and delay (largest).

        ``decisions`` is None for output that latency or bandwidth held (the
        settings stay); new frames with no slice rule firing on them any more
        (removed, or its count ran out) let what waits leave at once.
        """
        if decisions is not None:
            slices = [d.size for d in decisions if d.action is Action.SLICE and d.size]
            if slices:
                self.size = min(slices)
                self.delay = max(d.delay or 0.0 for d in decisions if d.action is Action.SLICE)
            elif data:
                self.size, self.delay = None, 0.0
        self.backlog += data

    def take(self, now: float) -> bytes:
        """The next slice (``b""`` while the gap after the last one lasts)."""
        if not self.pending or now < self.due:
            return b""
        end = len(self.backlog) if self.size is None else self.pos + self.size
        out = bytes(self.backlog[self.pos : end])
        self.pos += len(out)
        if self.pos >= len(self.backlog):
            self.backlog.clear()
            self.pos = 0
        elif self.pos > 1 << 16:  # drop what left, in bulk
            del self.backlog[: self.pos]
            self.pos = 0
        self.due = now + self.delay if self.delay else 0.0
        return out

    def clear(self) -> None:
        """Forget what waits (the connection ended)."""
        self.backlog.clear()
        self.pos = 0
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
