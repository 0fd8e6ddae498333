"""A node's Redis front on a real TCP port, run by an asyncio loop in a background thread.

    with RedisThread(node=node) as server:   # or node.redis.loopback()
        redis.Redis.from_url(server.url)      # redis://127.0.0.1:PORT/0

kombu's redis transport registers each channel's socket with epoll, so an
in-process Redis needs a real descriptor: the node's loopback server is
this, on 127.0.0.1 and a free port, owned by the node and closed with it.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from .._loopthread import LoopThread
from ._server import RedisServer

if TYPE_CHECKING:
    from ..._node import Node

__all__ = ["RedisThread"]


class RedisThread:
    """A :class:`RedisServer` on its own loop thread; listening once :meth:`start` returns."""

    def __init__(
        self, *, node: Node, host: str = "127.0.0.1", port: int = 0, timeout: float = 10.0
    ) -> None:
        self.node = node
        self.host = host
        self.timeout = timeout
        self.server = RedisServer(node=node, host=host, port=port)
        self._thread = LoopThread(
            server=self.server,
            name="fakebroker-redis",
            startup_timeout=timeout,
            shutdown_timeout=timeout,
        )
        self._running = False

    def __repr__(self) -> str:
        return f"<RedisThread {self.url}>"

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        return self.server.port

    @property
    def url(self) -> str:
        """``redis://HOST:PORT/0``."""
        return self.server.url

    @property
    def running(self) -> bool:
        """Whether the loop thread serves."""
        return self._running

    @property
    def connections(self) -> int:
        """How many clients are connected."""
        return self.server.connections

    def start(self) -> RedisThread:
        """Start the thread; returns once the port listens (raises OSError if it cannot)."""
        self._thread.start()
        self._running = True
        self.node.attach(self)
        return self

    def close(self) -> None:
        """Disconnect every client, stop listening, end the thread."""
        self.node.detach(self)
        self._running = False
        self._thread.stop()

    def __enter__(self) -> RedisThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
