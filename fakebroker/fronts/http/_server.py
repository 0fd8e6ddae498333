"""The HTTP front's servers: on the caller's asyncio loop, or on a background thread.

    server = HTTPServer(node=node, port=0)   # in a running loop (the CLI)
    await server.start(); print(server.url); ...; await server.close()

    with node.serve_http(port=0) as http:     # from any thread (tests)
        urllib.request.urlopen(http.url + "api/overview")

Both listen when ``start`` returns (port 0 picks a free port, read back in
``port``); closing ends open event streams.  The threaded server is
attached to its node while it runs (``node.close()`` closes it too).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType
from typing import TYPE_CHECKING

from aiohttp import web

from ..._version import __version__
from ...core import stats
from ._app import CONTEXT, make_app

if TYPE_CHECKING:
    from ..._node import Node

__all__ = ["HTTPServer", "ThreadedHTTPServer"]


class HTTPServer:
    """The management API, fakebroker's endpoints and the dashboard, on an asyncio loop."""

    def __init__(self, *, node: Node, host: str = "127.0.0.1", port: int = 0) -> None:
        self.node = node
        self.host = host
        self.port = port
        self.app = make_app(node=node, version=__version__)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """``http://HOST:PORT/`` (the dashboard; the API is under ``api/``)."""
        return f"http://{self.host}:{self.port}/"

    async def start(self) -> None:
        """Listen (raises OSError when the port is taken)."""
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        addresses = runner.addresses
        if addresses:
            self.port = int(addresses[0][1])
        self.app[CONTEXT].listeners.append(
            {"node": stats.NODE, "protocol": "http", "ip_address": self.host, "port": self.port}
        )

    async def close(self) -> None:
        """Stop listening; open event streams end."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


class ThreadedHTTPServer:
    """:class:`HTTPServer` on its own event loop in a background thread."""

    def __init__(
        self,
        *,
        node: Node,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 10.0,
        shutdown_timeout: float = 10.0,
    ) -> None:
        self.node = node
        self.startup_timeout = startup_timeout
        self.shutdown_timeout = shutdown_timeout
        self._server = HTTPServer(node=node, host=host, port=port)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"<ThreadedHTTPServer {self.url}>"

    @property
    def host(self) -> str:
        """The address listened on."""
        return self._server.host

    @property
    def port(self) -> int:
        """The port listened on."""
        return self._server.port

    @property
    def url(self) -> str:
        """``http://HOST:PORT/``."""
        return self._server.url

    def start(self) -> ThreadedHTTPServer:
        """Start the thread; return once listening (raises OSError if it cannot)."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        self._thread = threading.Thread(target=self._run, name="fakebroker-http", daemon=True)
        self._thread.start()
        if not self._ready.wait(self.startup_timeout):
            raise TimeoutError("fakebroker HTTP server did not start in time")
        if self._error is not None:
            self._thread.join(self.shutdown_timeout)
            raise self._error
        self.node.attach(self)
        return self

    def close(self) -> None:
        """Stop serving and end the thread."""
        loop, stop, thread = self._loop, self._stop, self._thread
        if thread is None or loop is None or stop is None:
            return
        self.node.detach(self)
        with contextlib.suppress(RuntimeError):  # the loop already ended
            loop.call_soon_threadsafe(stop.set)
        thread.join(self.shutdown_timeout)
        if thread.is_alive():
            raise TimeoutError("fakebroker HTTP server did not stop in time")

    def __enter__(self) -> ThreadedHTTPServer:
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
