"""RabbitMQ's memory high watermark, modelled on what the core holds.

Rules:
- "memory used" is the bytes of message bodies the broker holds: ready
  messages in every queue and messages delivered and not yet acknowledged
  (the journal's own hold is bounded apart: ``journal_max_bytes``).  A message routed to three
  queues counts three times (each queue's copy is its own entry).  This is
  a model, not the process's RSS: deterministic, so a test can reach the
  watermark with a known number of bytes.
- As RabbitMQ's memory monitor, it looks every ``interval`` seconds
  (``memory_monitor_interval``, 2.5 s) on the broker's clock: at or above
  the watermark it raises the "memory" alarm (publishing connections get
  connection.blocked "low on memory" and their publishes wait), below it
  clears the alarm, but only an alarm it raised itself.
- :meth:`MemoryWatermark.check` looks at once (a test or a front may call it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .broker import Broker
    from .clock import Timer

__all__ = ["DEFAULT_INTERVAL", "MemoryWatermark"]

#: RabbitMQ's memory_monitor_interval: 2,500 ms.
DEFAULT_INTERVAL = 2.5


class MemoryWatermark:
    """Raises and clears the memory alarm as the bytes held cross ``limit``."""

    def __init__(self, *, broker: Broker, limit: int, interval: float = DEFAULT_INTERVAL) -> None:
        if limit <= 0:
            raise ValueError(f"a memory high watermark is a positive number of bytes, not {limit}")
        self.broker = broker
        self.limit = limit
        self.interval = interval
        self.raised = False
        self._timer: Timer | None = None
        self._arm()

    def used(self) -> int:
        """Bytes of message bodies held (see the module's rules)."""
        broker = self.broker
        total = 0
        for vhost in broker.vhosts.values():
            for queue in vhost.queues.values():
                total += queue.ready_bytes
        for conn in broker.connections:
            for channel in conn.channels.values():
                total += channel.unacked_bytes()
        return total

    def check(self) -> None:
        """Compare now; raise or clear the alarm."""
        over = self.used() >= self.limit
        broker = self.broker
        if over and "memory" not in broker.alarms:
            self.raised = True
            broker.raise_alarm("memory")
        elif not over and self.raised:
            self.raised = False
            broker.clear_alarm("memory")

    def stop(self) -> None:
        """Stop looking (the alarm stays as it is)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self) -> None:
        self._timer = self.broker.clock.call_later(self.interval, self._tick)

    def _tick(self) -> None:
        self.check()
        self._arm()
