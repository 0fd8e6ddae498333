"""fakebroker: a RabbitMQ-faithful AMQP 0-9-1 broker emulator and test harness.

The in-process broker is reachable as ``kombu.Connection('fakebroker://')``
once this package is imported; ``fakebroker serve`` (or :func:`serve`)
speaks AMQP over TCP.
"""

from __future__ import annotations

from .core import Broker, SystemClock, VirtualClock

__version__ = "0.1.0"

__all__ = ["Broker", "SystemClock", "VirtualClock", "__version__"]
