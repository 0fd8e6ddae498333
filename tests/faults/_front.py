"""The two fronts a fault test runs on: in-process (fakebroker://) and TCP (serve)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import amqp

import fakebroker
import fakebroker.fronts.transport as fbt
from fakebroker import Node, Server, serve
from fakebroker.core import Broker, Clock, VirtualClock
from fakebroker.testing import wait_for

FRONTS = ["inproc", "tcp"]
#: What a client sees when a fault resets its connection.
CONNECTION_LOST = (
    OSError,
    amqp.exceptions.ConnectionError,
    amqp.exceptions.RecoverableConnectionError,
)


def without_blocked_capability(cls: type[amqp.Connection]) -> type[amqp.Connection]:
    """A py-amqp connection class that does not announce ``connection.blocked``."""
    caps = {k: v for k, v in cls.negotiate_capabilities.items() if k != "connection.blocked"}
    return type(f"NotBlockable{cls.__name__}", (cls,), {"negotiate_capabilities": caps})


@dataclass
class Front:
    """One broker reachable through one front."""

    kind: str
    node: Node
    url: str
    host: str

    @property
    def broker(self) -> Broker:
        """The core broker (look at it inside :meth:`locked`)."""
        return self.node.broker

    def connect(self, *, blocked_capability: bool = True, **options: Any) -> amqp.Connection:
        """A connected py-amqp connection (without ``connection.blocked`` if asked)."""
        options.setdefault("connect_timeout", 5)
        options.setdefault("read_timeout", 5)
        options.setdefault("write_timeout", 5)
        cls = fbt.AMQPConnection if self.kind == "inproc" else amqp.Connection
        if not blocked_capability:
            cls = without_blocked_capability(cls)
        conn = cls(host=self.host, **options)
        conn.connect()
        return conn

    def advance(self, seconds: float) -> None:
        """Move the broker's virtual clock (its timers run here, under the lock)."""
        self.node.advance(seconds)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait (bounded) until ``predicate()``, checked under the broker's lock.

        Over TCP the broker handles a client's bytes on the server thread; this
        waits for that to have happened (in-process it has, at once).
        """
        wait_for(predicate, timeout, node=self.node)

    def locked(self) -> contextlib.AbstractContextManager[Any]:
        """The broker's lock, for looking at it while clients run."""
        return self.node.locked()

    def faults(self) -> list[dict[str, Any]]:
        """The journal's fault entries, as (action, point) details."""
        with self.node.locked():
            return [e.details for e in self.broker.journal.entries("fault")]


@contextlib.contextmanager
def open_front(kind: str, *, clock: Clock | None = None, **options: Any) -> Iterator[Front]:
    """A fresh broker served by ``kind``."""
    node = Node(clock=clock if clock is not None else VirtualClock(), **options)
    if kind == "inproc":
        name = f"faults-{uuid.uuid4().hex[:10]}"
        fakebroker.set_node(name, node)
        try:
            yield Front(kind, node, f"fakebroker://{name}/", name)
        finally:
            fakebroker.drop_node(name)
        return
    server: Server
    with serve(node=node, port=0) as server:
        yield Front(kind, node, server.url, f"127.0.0.1:{server.port}")
