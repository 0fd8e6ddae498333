"""The fronts: how clients reach a node's broker.

- in-process: :class:`~fakebroker.fronts._pipe.Pipe` byte streams, behind
  kombu's and py-amqp's transports (:mod:`fakebroker.fronts.transport`,
  ``fakebroker://`` URLs);
- TCP: :class:`AMQPServer` on an asyncio loop (the CLI runs it), and
  :class:`Server`, the same on a background thread (``fakebroker.serve()``);
- Redis (RESP, for kombu's ``redis://`` and Celery): :mod:`fakebroker.fronts.redis`,
  imported on demand (it needs fakeredis), reached through ``node.redis``.
- HTTP: :mod:`fakebroker.fronts.http`, RabbitMQ's management API and a
  dashboard (``node.serve_http()``; imported on use, it needs aiohttp).

Every front drives a protocol engine through one contract
(:class:`ProtocolEngine`) and holds the node's lock around each call.
"""

from __future__ import annotations

from ._protocol import EngineFactory, ProtocolEngine
from ._threaded import Server
from ._tls import tls_context
from .tcp import AMQPServer

__all__ = ["AMQPServer", "EngineFactory", "ProtocolEngine", "Server", "tls_context"]
