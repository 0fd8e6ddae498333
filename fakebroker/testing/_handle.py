"""Broker handles for tests: a fakebroker in-process or over TCP, with inspection."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._urls import amqp_url, parse_amqp_url
from ._idle import ConnectionSet
from ._idle import run_until_idle as _run_until_idle
from ._idle import wait_for as _wait_for
from ._inspect import Inspector

if TYPE_CHECKING:
    from .._node import Node
    from ..faults import Faults
    from ..fronts import Server

__all__ = ["BrokerHandle"]

#: Over TCP, reads wait for the broker to be quiet this long (seconds): what a
#: client wrote just before is then handled (see :meth:`Inspector.settle`).
SETTLE_WINDOW = 0.02


class BrokerHandle(Inspector):
    """A fakebroker for one test: its URL, client factories and the inspection API.

    ``kind`` is ``"inproc"`` (``url`` is ``fakebroker://NAME/VHOST``) or
    ``"tcp"`` (``url`` is ``amqp://...@127.0.0.1:PORT/VHOST``).
    """

    def __init__(
        self,
        *,
        node: Node,
        kind: str,
        url: str,
        vhost: str = "/",
        user: tuple[str, str] = ("guest", "guest"),
        name: str | None = None,
        since: int = 0,
    ) -> None:
        super().__init__(node=node, vhost=vhost, since=since)
        self.kind = kind
        self.url = url
        self.name = name
        self.user = user
        if kind == "tcp":
            self.settle_window = SETTLE_WINDOW
        self._connections = ConnectionSet()
        self._servers: list[Server] = []
        self._finalizers: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"

    @property
    def faults(self) -> Faults:
        """The broker's fault plan (docs/faults.md): ``broker.faults.drop_connection(...)``."""
        return self.node.faults

    # -- clients --------------------------------------------------------------------------------

    def connection(self, **options: Any) -> Any:
        """A :class:`kombu.Connection` to this broker (closed after the test).

        Its consumers run in :meth:`run_until_idle`.
        """
        from kombu import connection

        factory: Any = connection.Connection
        return self._connections.add(factory(self.url, **options))

    def amqp_connection(self, **options: Any) -> Any:
        """A connected py-amqp :class:`amqp.Connection` to this broker (closed after the test)."""
        if self.kind == "inproc":
            from ..fronts.transport import AMQPConnection

            conn: Any = AMQPConnection(
                host=self.name,
                virtual_host=self.vhost,
                userid=self.user[0],
                password=self.user[1],
                **options,
            )
        else:
            import amqp

            server = self._servers[0] if self._servers else None
            port = server.port if server is not None else parse_amqp_url(self.url)["port"]
            conn = amqp.Connection(
                host=f"127.0.0.1:{port}",
                virtual_host=self.vhost,
                userid=self.user[0],
                password=self.user[1],
                **options,
            )
        conn.connect()
        return self._connections.add(conn)

    def unique(self, name: str) -> str:
        """A queue or exchange name private to this test: ``name`` itself (the vhost is private)."""
        return name

    def serve(self) -> str:
        """Serve this broker on a TCP port (port 0) for socket clients; return the amqp:// URL.

        The in-process broker stays the same: pika or aio-pika over TCP and
        kombu in-process see the same queues.  The server stops after the test.
        """
        if self.kind == "tcp":
            return self.url
        if not self._servers:
            self._servers.append(self.node.serve(port=0))
        user, password = self.user
        port = self._servers[0].port
        return amqp_url(host="127.0.0.1", port=port, user=user, password=password, vhost=self.vhost)

    @property
    def amqp_url(self) -> str:
        """An ``amqp://`` URL for socket clients (pika, aio-pika): :meth:`serve` in-process."""
        return self.serve()

    @property
    def http_url(self) -> str:
        """The management API's base URL, ``http://127.0.0.1:PORT/`` (started on first use).

        It serves this broker's node (docs/http.md) and stops after the test;
        the API is under ``api/`` (``broker.http_url + "api/queues"``).
        """
        server = getattr(self, "_http", None)
        if server is None:
            server = self._http = self.node.serve_http(port=0)
            self.add_finalizer(server.close)
        url: str = server.url
        return url

    # -- waiting --------------------------------------------------------------------------------

    def run_until_idle(self, timeout: float = 10.0) -> int:
        """Deliver everything deliverable and run due timers; return how many events ran.

        Drains every connection made with :meth:`connection` (so their
        consumers' callbacks run here) and waits for clients driven by other
        threads; see :mod:`fakebroker.testing._idle` for what idle means.
        """
        return _run_until_idle(self.node, self._connections.live(), timeout=timeout)

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until ``predicate`` holds (e.g. ``lambda: broker.published(routing_key="done")``).

        Re-checked whenever a client changes the broker (no polling for broker
        state). Returns its first truthy value; :class:`TimeoutError` after
        ``timeout`` seconds.
        """
        return _wait_for(predicate, timeout, node=self.node)

    # -- lifetime -------------------------------------------------------------------------------

    def add_finalizer(self, finalizer: Callable[[], None]) -> None:
        """Run ``finalizer`` when the handle closes (last added, first run)."""
        self._finalizers.append(finalizer)

    def close(self) -> None:
        """Close the test's connections and servers, then run the finalizers."""
        try:
            self._connections.close_all()
            servers, self._servers = self._servers, []
            for server in servers:
                server.close()
        finally:
            while self._finalizers:
                self._finalizers.pop()()
