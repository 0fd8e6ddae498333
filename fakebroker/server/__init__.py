"""Network fronts for a fakebroker :class:`~fakebroker.core.Broker`."""

from __future__ import annotations

from .tcp import AMQPServer

__all__ = ["AMQPServer"]
