"""fakebroker: a RabbitMQ-faithful AMQP 0-9-1 broker emulator and test harness.

- ``kombu.Connection('fakebroker://')`` (and Celery's ``broker_url``) reach an
  in-process broker once this package is imported: no socket, deterministic;
- :func:`serve` (or ``fakebroker serve`` on the command line) speaks AMQP
  0-9-1 over TCP for any client (pika, aio-pika, other processes);
- :class:`Node` hosts one :class:`Broker` for every front, with the lock any
  thread takes to act on it (``with node.locked() as broker: ...``);
  :func:`get_node` is the registry ``fakebroker://NAME`` URLs resolve through.

Importing this package loads no kombu, asyncio, socket or threading (the
sans-I/O core is imported through it): the rest is imported when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._alias import register_when_kombu_loads
from ._version import __version__
from .core import Broker, SystemClock, VirtualClock

if TYPE_CHECKING:
    from ssl import SSLContext

    from ._factory import build_node
    from ._node import Node, drop_node, get_node, nodes, reset_nodes, set_node
    from .fronts import Server, tls_context

__all__ = [
    "Broker",
    "Node",
    "Server",
    "SystemClock",
    "VirtualClock",
    "__version__",
    "build_node",
    "drop_node",
    "get_node",
    "nodes",
    "reset_nodes",
    "serve",
    "set_node",
    "tls_context",
]

register_when_kombu_loads()


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    node: Node | None = None,
    ssl: SSLContext | None = None,
    **options: Any,
) -> Server:
    """A TCP server for ``node`` (default: ``build_node(**options)``), not yet started.

    Use it as a context manager: the server listens when ``__enter__``
    returns and shuts down (clients get 320 CONNECTION_FORCED) on exit::

        with fakebroker.serve(port=0) as server:
            server.url, server.port, server.node, server.faults

    ``ssl``: a server-side TLS context (:func:`tls_context`); the URL is then ``amqps://``.
    """
    from ._factory import build_node
    from .fronts import Server

    if node is None:
        node = build_node(**options)
    elif options:
        raise TypeError("pass either node= or options for a new node, not both")
    return Server(node=node, host=host, port=port, ssl=ssl)


_LAZY = {
    "Node": "._node",
    "drop_node": "._node",
    "get_node": "._node",
    "nodes": "._node",
    "reset_nodes": "._node",
    "set_node": "._node",
    "build_node": "._factory",
    "Server": ".fronts",
    "tls_context": ".fronts",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fakebroker' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
