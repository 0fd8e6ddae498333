"""A node's Redis front on a real TCP port, run by an asyncio loop in a background thread.

    with RedisThread(node=node) as server:   # or node.redis.loopback()
        redis.Redis.from_url(server.url)      # redis://127.0.0.1:PORT/0

kombu's redis transport registers each channel's socket with epoll, so an
in-process Redis needs a real descriptor: the node's loopback server is
this, on 127.0.0.1 and a free port, owned by the node and closed with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType
from typing import TYPE_CHECKING

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
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

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
        return self._thread is not None and self._thread.is_alive() and self._error is None

    @property
    def connections(self) -> int:
        """How many clients are connected."""
        return self.server.connections

    def start(self) -> RedisThread:
        """Start the thread; returns once the port listens (raises OSError if it cannot)."""
        if self._thread is not None:
            raise RuntimeError("redis server already started")
        self._thread = threading.Thread(target=self._run, name="fakebroker-redis", daemon=True)
        self._thread.start()
        if not self._ready.wait(self.timeout):
            raise TimeoutError("fakebroker redis server did not start in time")
        if self._error is not None:
            self._thread.join(self.timeout)
            raise self._error
        self.node.attach(self)
        return self

    def close(self) -> None:
        """Disconnect every client, stop listening, end the thread."""
        loop, stop, thread = self._loop, self._stop, self._thread
        if thread is None or loop is None or stop is None:
            return
        self.node.detach(self)
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(stop.set)
        thread.join(self.timeout)
        if thread.is_alive():
            raise TimeoutError("fakebroker redis server did not stop in time")

    def __enter__(self) -> RedisThread:
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
            await self.server.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        await self._stop.wait()
        await self.server.close()
