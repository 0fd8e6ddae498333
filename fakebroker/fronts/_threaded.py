"""A node served on a real TCP port by an asyncio loop in a background thread.

    with fakebroker.serve(port=0) as server:
        kombu.Connection(server.url)  # amqp://guest:guest@127.0.0.1:PORT/%2F

The server is listening when :meth:`Server.start` (or ``__enter__``)
returns; closing it sends every client ``connection.close`` 320
CONNECTION_FORCED, as a RabbitMQ shutdown does.  The server is attached to
its node while it runs (``node.close()`` closes it too).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType
from typing import TYPE_CHECKING

from .._urls import amqp_url
from .tcp import AMQPServer

if TYPE_CHECKING:
    from ssl import SSLContext

    from .._node import Node
    from ..core import Broker
    from ..faults import Faults
    from ._protocol import EngineFactory

__all__ = ["Server"]


class Server:
    """A node's broker served over TCP by an asyncio loop in a background thread.

    ``node`` is the :class:`~fakebroker.Node` served: act on the broker
    through it (``with server.node.locked() as broker: ...``) while clients
    run; ``faults`` is its fault plan.
    """

    def __init__(
        self,
        *,
        node: Node,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 10.0,
        shutdown_timeout: float = 10.0,
        engine_factory: EngineFactory | None = None,
        ssl: SSLContext | None = None,
    ) -> None:
        self.node = node
        self.scheme = "amqps" if ssl is not None else "amqp"
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self.shutdown_timeout = shutdown_timeout
        self._server = AMQPServer(
            node=node, host=host, port=port, engine_factory=engine_factory, ssl=ssl
        )
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"<Server {self.url}>"

    @property
    def broker(self) -> Broker:
        """The core broker; touch it only inside ``server.node.locked()`` while clients run."""
        return self.node.broker

    @property
    def faults(self) -> Faults:
        """The node's fault plan (docs/faults.md)."""
        return self.node.faults

    @property
    def url(self) -> str:
        """``amqp://guest:guest@HOST:PORT/%2F``: the default vhost as guest (``amqps`` for TLS)."""
        return amqp_url(host=self.host, port=self.port, scheme=self.scheme)

    def url_for(self, vhost: str = "/", *, user: str = "guest", password: str = "guest") -> str:
        """The amqp:// URL of ``vhost`` with the given credentials."""
        return amqp_url(
            host=self.host,
            port=self.port,
            vhost=vhost,
            user=user,
            password=password,
            scheme=self.scheme,
        )

    @property
    def connections(self) -> int:
        """How many client connections are open."""
        return self._server.connections

    def start(self) -> Server:
        """Start the loop thread and return once the port is listening (raises OSError if not)."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        self._thread = threading.Thread(target=self._run, name="fakebroker-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(self.startup_timeout):
            raise TimeoutError("fakebroker server did not start in time")
        if self._error is not None:
            self._thread.join(self.shutdown_timeout)
            raise self._error
        self.port = self._server.port
        self.node.attach(self)
        return self

    def close(self) -> None:
        """Close every client with 320 CONNECTION_FORCED, stop listening, end the thread."""
        loop, stop, thread = self._loop, self._stop, self._thread
        if thread is None or loop is None or stop is None:
            return
        self.node.detach(self)
        with contextlib.suppress(RuntimeError):  # the loop already ended
            loop.call_soon_threadsafe(stop.set)
        thread.join(self.shutdown_timeout)
        if thread.is_alive():
            raise TimeoutError("fakebroker server did not stop in time")

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.close()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self._server.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        await self._stop.wait()
        await self._server.close()
