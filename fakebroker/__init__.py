"""fakebroker: a RabbitMQ-faithful AMQP 0-9-1 broker emulator and test harness.

- ``kombu.Connection('fakebroker://')`` (and Celery's ``broker_url``) reach an
  in-process broker once this package is imported: no socket, deterministic;
- :func:`serve` (or ``fakebroker serve`` on the command line) speaks AMQP
  0-9-1 over TCP for any client (pika, aio-pika, other processes);
- :class:`Broker` is the broker itself, readable for assertions.
"""

from __future__ import annotations

from ._inproc_alias import register_kombu_alias as _register_kombu_alias
from ._serve import Server, serve
from .core import Broker, SystemClock, VirtualClock

__version__ = "0.1.0"

__all__ = ["Broker", "Server", "SystemClock", "VirtualClock", "__version__", "serve"]

_register_kombu_alias()
