"""The node: one object that hosts a broker for every front.

As a RabbitMQ node runs one broker and the listeners that reach it, a
:class:`Node` owns one core :class:`~fakebroker.core.Broker` and everything
that lets fronts and threads share it:

- ``lock``: the re-entrant lock held by every call into the broker, its
  engines and its fault plan (the core and the engines are not thread-safe);
- ``changed``: a condition on that lock, notified after a front let a client
  change the broker (bytes handled, timers run, a connection gone), so a
  thread can wait for broker state without polling;
- the in-process pipes into the broker and the servers serving it, closed
  with the node;
- the threads that drive its clients (see :meth:`Node.others_driving`).

Any thread acts on the broker through the node: ``with node.locked() as
broker: ...``, or the methods that lock (:meth:`restart`, :meth:`advance`,
:meth:`raise_alarm` ...).  Nothing else keeps per-broker state: the only
process-wide table is the registry of named nodes (:func:`get_node`), which
``fakebroker://NAME`` URLs resolve through.

Rules:
- a read on an in-process pipe blocks only while another thread could still
  write to the broker: a server of the node is running, or another live
  thread has used one of the node's pipes; otherwise it runs due timers and
  times out at once (deterministic tests need no sleeping);
- closing a node closes its servers and gives every in-process client
  connection.close 320 CONNECTION_FORCED, as a RabbitMQ shutdown does.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from .core import SHUTDOWN_TEXT, Broker, VirtualClock
from .faults import Faults

if TYPE_CHECKING:
    from ssl import SSLContext

    from .core import Clock
    from .fronts import Server
    from .fronts._pipe import Pipe
    from .fronts.http import ThreadedHTTPServer
    from .fronts.redis import RedisFaults, RedisState

__all__ = [
    "DEFAULT_NAME",
    "SHUTDOWN_TEXT",
    "Node",
    "drop_node",
    "get_node",
    "nodes",
    "reset_nodes",
    "set_node",
]

#: The name of the node ``fakebroker://`` (no name) reaches.
DEFAULT_NAME = "default"


class Listener(Protocol):
    """A server attached to a node (the threaded TCP server, later HTTP and Redis)."""

    def close(self) -> None:
        """Stop serving; clients get 320 CONNECTION_FORCED."""


class Node:
    """One broker and what reaches it: its lock, pipes, servers and fault plan.

    ``Node()`` makes a broker on the system clock with guest/guest and vhost
    "/"; pass ``broker=`` to host one you made, or the broker's options
    (``clock=``, ``users=``, ``vhosts=`` ...).  :func:`fakebroker.build_node`
    also loads definitions and fault plans.
    """

    def __init__(self, *, broker: Broker | None = None, name: str | None = None, **options: Any):
        if broker is None:
            broker = Broker(**options)
        elif options:
            raise TypeError("pass either broker= or the broker's options, not both")
        self.broker = broker
        self.name = name
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        #: Threads waiting in :meth:`locked` (the HTTP front, a test): a busy front's loop
        #: yields to them between chunks, since a lock retaken at once is not fair.
        self.waiting = 0
        self._faults = _install_faults(broker, self.lock)
        self._pipes: weakref.WeakSet[Pipe] = weakref.WeakSet()
        self._listeners: list[Listener] = []
        self._drivers: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
        self._guard = threading.Lock()
        self._redis: RedisState | None = None

    def __repr__(self) -> str:
        return f"<Node {self.name or hex(id(self))}>"

    # -- acting on the broker ---------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[Broker]:
        """Hold the node's lock and get its broker: the safe way to touch it from any thread.

        Changes made inside the block wake waiters (``wait_for``) on exit.
        """
        self.waiting += 1  # a hint for the fronts' loops: yield after the chunk in hand
        try:
            self.lock.acquire()
        finally:
            self.waiting -= 1
        try:
            yield self.broker
        finally:
            self.changed.notify_all()
            self.lock.release()

    def notify(self) -> None:
        """Wake every thread waiting on :attr:`changed` (fronts call it, lock held)."""
        with self.lock:
            self.changed.notify_all()

    @property
    def clock(self) -> Clock:
        """The broker's clock."""
        return self.broker.clock

    @property
    def faults(self) -> Faults:
        """The broker's fault plan (docs/faults.md); its methods lock the node themselves."""
        return self._faults

    def advance(self, seconds: float) -> int:
        """Move a virtual clock forward, running every timer due; how many ran."""
        clock = self.broker.clock
        if not isinstance(clock, VirtualClock):
            raise TypeError("only a virtual clock can be advanced (this node runs on real time)")
        with self.locked():
            return clock.advance(seconds)

    def run_due(self) -> int:
        """Run the clock's due timers now; how many ran."""
        with self.locked():
            return self.broker.clock.run_due()

    def restart(self) -> None:
        """Restart the broker: clients get 320, only durable things and persistent messages stay."""
        with self.locked() as broker:
            broker.restart()

    def raise_alarm(self, resource: str = "memory") -> None:
        """A resource alarm: publishing connections block until it clears."""
        with self.locked() as broker:
            broker.raise_alarm(resource)

    def clear_alarm(self, resource: str | None = None) -> None:
        """Clear one alarm (all when None); blocked connections resume."""
        with self.locked() as broker:
            broker.clear_alarm(resource)

    @property
    def redis(self) -> RedisState:
        """The node's Redis flavour (fakeredis data on this clock, its fronts), made on first use.

        ``node.redis.url`` is a ``redis://`` URL of it, served on 127.0.0.1 on demand.
        """
        from .fronts.redis import RedisState

        with self._guard:
            if self._redis is None:
                self._redis = RedisState(node=self)
            return self._redis

    @property
    def redis_faults(self) -> RedisFaults:
        """Fault rules for the Redis front, in Redis words (on the one plan, ``faults``)."""
        from .fronts.redis import RedisFaults

        return RedisFaults(self)

    # -- fronts -----------------------------------------------------------------------------

    def pipe(self, *, peer: str | None = None) -> Pipe:
        """A new in-process client connection: an AMQP byte stream to a fresh engine."""
        from .fronts._pipe import Pipe

        return Pipe(node=self, peer=peer)

    def serve(
        self, *, host: str = "127.0.0.1", port: int = 0, ssl: SSLContext | None = None
    ) -> Server:
        """Serve the broker over TCP from a background thread, started; closed with the node.

        ``ssl``: a server-side context (``fakebroker.tls_context(...)``) for ``amqps://``.
        """
        from .fronts import Server

        return Server(node=self, host=host, port=port, ssl=ssl).start()

    def serve_http(self, *, host: str = "127.0.0.1", port: int = 0) -> ThreadedHTTPServer:
        """Serve the management API and dashboard from a background thread, started.

        Closed with the node; ``url`` is ``http://HOST:PORT/`` (docs/http.md).
        """
        from .fronts.http import ThreadedHTTPServer

        return ThreadedHTTPServer(node=self, host=host, port=port).start()

    def attach(self, listener: Listener) -> None:
        """Track a server of this node (it is closed with the node)."""
        with self._guard:
            self._listeners.append(listener)

    def detach(self, listener: Listener) -> None:
        """Forget a server that closed."""
        with self._guard, contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def add_pipe(self, pipe: Pipe) -> None:
        """Track an in-process connection (the pipe calls it)."""
        with self._guard:
            self._pipes.add(pipe)

    @property
    def pipes(self) -> list[Pipe]:
        """The live in-process connections."""
        with self._guard:
            return list(self._pipes)

    @property
    def listeners(self) -> list[Listener]:
        """The servers serving this node."""
        with self._guard:
            return list(self._listeners)

    # -- who drives the broker ----------------------------------------------------------------

    def note_driver(self, thread: threading.Thread | None = None) -> None:
        """Record that ``thread`` (default: this one) drives clients of the broker."""
        thread = thread or threading.current_thread()
        with self._guard:
            self._drivers.add(thread)

    def others_driving(self) -> bool:
        """Whether another thread could change the broker (see the module's rules)."""
        me = threading.current_thread()
        with self._guard:
            drivers = list(self._drivers)
        return any(t is not me and t.is_alive() for t in drivers)

    # -- lifetime -----------------------------------------------------------------------------

    def close_clients(self, text: str = SHUTDOWN_TEXT) -> None:
        """Give every in-process client connection.close 320 CONNECTION_FORCED."""
        for pipe in self.pipes:
            pipe.force_close(text)

    def close(self) -> None:
        """Close the node's servers and in-process clients (320 CONNECTION_FORCED)."""
        for listener in reversed(self.listeners):
            listener.close()
        self.close_clients()


def _install_faults(broker: Broker, lock: threading.RLock) -> Faults:
    """The broker's fault plan, on the node's lock (a plan it already had is kept)."""
    faults = broker.faults
    if isinstance(faults, Faults):
        faults.lock = lock
        return faults
    return Faults(broker=broker, lock=lock).install()


# -- the registry of named nodes ------------------------------------------------------------

_nodes: dict[str, Node] = {}
_registry = threading.Lock()


def get_node(name: str = DEFAULT_NAME, **options: Any) -> Node:
    """The node called ``name``, made on first use (with ``options`` for its broker)."""
    name = name or DEFAULT_NAME
    with _registry:
        node = _nodes.get(name)
        if node is None:
            node = _nodes[name] = Node(name=name, **options)
        return node


def set_node(name: str, node: Node) -> Node:
    """Register ``node`` as ``name``; the in-process clients of a node it replaces get 320."""
    name = name or DEFAULT_NAME
    with _registry:
        old = _nodes.get(name)
        _nodes[name] = node
    node.name = node.name or name
    if old is not None and old is not node:
        old.close_clients()
    return node


def drop_node(name: str = DEFAULT_NAME) -> None:
    """Forget the node ``name``; its in-process clients get 320 CONNECTION_FORCED."""
    with _registry:
        node = _nodes.pop(name or DEFAULT_NAME, None)
    if node is not None:
        node.close_clients()


def reset_nodes(name: str | None = None) -> None:
    """Drop the node ``name``, or every named node when ``name`` is None."""
    with _registry:
        names = list(_nodes) if name is None else [name]
    for each in names:
        drop_node(each)


def nodes() -> dict[str, Node]:
    """A snapshot of the registry: name -> node."""
    with _registry:
        return dict(_nodes)
