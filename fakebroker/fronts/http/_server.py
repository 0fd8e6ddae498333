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

from types import TracebackType
from typing import TYPE_CHECKING

from aiohttp import web

from ..._version import __version__
from ...core import stats
from .._loopthread import LoopThread
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
        self._thread = LoopThread(
            server=self._server,
            name="fakebroker-http",
            startup_timeout=startup_timeout,
            shutdown_timeout=shutdown_timeout,
        )

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
        self._thread.start()
        self.node.attach(self)
        return self

    def close(self) -> None:
        """Stop serving and end the thread."""
        self.node.detach(self)
        self._thread.stop()

    def __enter__(self) -> ThreadedHTTPServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
