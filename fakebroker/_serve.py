"""``fakebroker.serve()``: a broker on a real TCP port, run from a background thread.

    with fakebroker.serve(port=0) as server:
        kombu.Connection(server.url)  # amqp://guest:guest@127.0.0.1:PORT//

The asyncio loop runs in a daemon thread; the server is listening when
:meth:`Server.start` (or ``__enter__``) returns, and closing it sends every
client ``connection.close`` 320 CONNECTION_FORCED, as a RabbitMQ shutdown does.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ._inproc import EngineFactory
from .server.tcp import AMQPServer

if TYPE_CHECKING:
    from .core import Broker

__all__ = ["Server", "make_broker", "serve"]


def make_broker(**broker_options: Any) -> Broker:
    """A new core broker (``fakebroker.core.Broker(**broker_options)``)."""
    from .core import Broker

    return Broker(**broker_options)


def amqp_url(
    host: str, port: int, *, vhost: str = "/", user: str = "guest", password: str = "guest"
) -> str:
    """The amqp:// URL of a vhost, ``amqp://guest:guest@127.0.0.1:PORT/%2F`` for "/".

    The vhost is percent-encoded as RabbitMQ's URI spec says, which kombu,
    Celery, pika and aio-pika all read the same way (pika reads ``//`` as "").
    """
    netloc_host = f"[{host}]" if ":" in host else host
    credentials = f"{quote(user, safe='')}:{quote(password, safe='')}"
    path = quote(vhost, safe="")
    return f"amqp://{credentials}@{netloc_host}:{port}/{path}"


class Server:
    """A broker served over TCP by an asyncio loop in a background thread."""

    def __init__(
        self,
        *,
        broker: Broker,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 10.0,
        shutdown_timeout: float = 10.0,
        engine_factory: EngineFactory | None = None,
    ) -> None:
        self.broker = broker
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self.shutdown_timeout = shutdown_timeout
        self._server = AMQPServer(
            broker=broker, host=host, port=port, engine_factory=engine_factory
        )
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``amqp://guest:guest@HOST:PORT//``: the default vhost as guest."""
        return amqp_url(self.host, self.port)

    def url_for(self, vhost: str = "/", *, user: str = "guest", password: str = "guest") -> str:
        """The amqp:// URL of ``vhost`` with the given credentials."""
        return amqp_url(self.host, self.port, vhost=vhost, user=user, password=password)

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
        return self

    def close(self) -> None:
        """Close every client with 320 CONNECTION_FORCED, stop listening, end the thread."""
        loop, stop, thread = self._loop, self._stop, self._thread
        if thread is None or loop is None or stop is None:
            return
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


def serve(
    *, host: str = "127.0.0.1", port: int = 0, broker: Broker | None = None, **broker_options: Any
) -> Server:
    """Serve ``broker`` (default: a new ``Broker(**broker_options)``) on TCP.

    Use it as a context manager: the server listens when ``__enter__``
    returns and shuts down (clients get 320 CONNECTION_FORCED) on exit::

        with fakebroker.serve(port=0) as server:
            server.url, server.port, server.broker
    """
    if broker is None:
        broker = make_broker(**broker_options)
    elif broker_options:
        raise TypeError("pass either broker= or broker options, not both")
    return Server(broker=broker, host=host, port=port)
