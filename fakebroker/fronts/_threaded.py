"""A node served on a real TCP port by an asyncio loop in a background thread.

    with fakebroker.serve(port=0) as server:
        kombu.Connection(server.url)  # amqp://guest:guest@127.0.0.1:PORT/%2F

The server is listening when :meth:`Server.start` (or ``__enter__``)
returns; closing it sends every client ``connection.close`` 320
CONNECTION_FORCED, as a RabbitMQ shutdown does.  The server is attached to
its node while it runs (``node.close()`` closes it too).
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from .._urls import amqp_url
from ._loopthread import LoopThread
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
        self._thread = LoopThread(
            server=self._server,
            name="fakebroker-server",
            startup_timeout=startup_timeout,
            shutdown_timeout=shutdown_timeout,
        )

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
        self._thread.start()
        self.port = self._server.port
        self.node.attach(self)
        return self

    def close(self) -> None:
        """Close every client with 320 CONNECTION_FORCED, stop listening, end the thread."""
        self.node.detach(self)
        self._thread.stop()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
