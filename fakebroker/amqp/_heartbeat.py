"""Heartbeat monitors, on the broker's clock, as RabbitMQ 3.10 runs them.

Rules (probed against RabbitMQ 3.10.8 with heartbeat H):
- the sender checks every H/2 seconds from tune-ok; its first check always
  sends a heartbeat frame, later checks send one only if nothing at all was
  sent since the previous check;
- the receiver checks every H seconds from tune-ok; its first check counts
  as activity; two checks in a row with nothing received in between end the
  connection (no close frame): between 2H and 3H of silence;
- H = 0 runs neither.
"""

from __future__ import annotations

from collections.abc import Callable

from fakebroker.core import Clock, Timer

__all__ = ["Heartbeats"]


class Heartbeats:
    """The two monitors of one connection; the engine supplies byte counters and actions."""

    def __init__(
        self,
        *,
        clock: Clock,
        interval: float,
        sent: Callable[[], int],
        received: Callable[[], int],
        send_heartbeat: Callable[[], None],
        on_timeout: Callable[[], None],
    ) -> None:
        self._clock = clock
        self._interval = interval
        self._sent = sent
        self._received = received
        self._send_heartbeat = send_heartbeat
        self._on_timeout = on_timeout
        self._sent_mark: int | None = None
        self._recv_mark = 0
        self._misses = 0
        start = clock.now()
        self._send_timer: Timer = clock.call_at(start + interval / 2, self._check_send)
        self._recv_timer: Timer = clock.call_at(start + interval, self._check_receive)

    def cancel(self) -> None:
        """Stop both monitors."""
        self._send_timer.cancel()
        self._recv_timer.cancel()

    def _check_send(self) -> None:
        due = self._send_timer.when
        if self._sent_mark is None or self._sent() == self._sent_mark:
            self._send_heartbeat()
        self._sent_mark = self._sent()
        self._send_timer = self._clock.call_at(due + self._interval / 2, self._check_send)

    def _check_receive(self) -> None:
        due = self._recv_timer.when
        received = self._received()
        self._misses = 0 if received != self._recv_mark else self._misses + 1
        self._recv_mark = received
        if self._misses >= 2:
            self._send_timer.cancel()
            self._on_timeout()
            return
        self._recv_timer = self._clock.call_at(due + self._interval, self._check_receive)
