"""One asyncio server run on its own event loop in a daemon thread: the fronts' shared shell.

Rules:
- :meth:`LoopThread.start` returns once the server's ``start()`` coroutine
  returned (the port is listening), or raises what it raised;
- :meth:`LoopThread.stop` runs the server's ``close()`` on its loop, then
  ends the thread; both wait at most their timeout (``TimeoutError``);
- starting twice is an error; stopping what never started does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Protocol

__all__ = ["AsyncServer", "LoopThread"]


class AsyncServer(Protocol):
    """What a front's server offers: coroutines that start and close it."""

    async def start(self) -> None:
        """Listen (raises OSError when the port is taken)."""

    async def close(self) -> None:
        """Stop listening and end its connections."""


class LoopThread:
    """Runs ``server`` on a new event loop in a daemon thread called ``name``."""

    def __init__(
        self,
        *,
        server: AsyncServer,
        name: str,
        startup_timeout: float = 10.0,
        shutdown_timeout: float = 10.0,
    ) -> None:
        self.server = server
        self.name = name
        self.startup_timeout = startup_timeout
        self.shutdown_timeout = shutdown_timeout
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread; return once the server listens (or raise why it could not)."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name} already started")
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(self.startup_timeout):
            raise TimeoutError(f"{self.name} did not start in time")
        if self._error is not None:
            self._thread.join(self.shutdown_timeout)
            raise self._error

    def stop(self) -> None:
        """Close the server on its loop and end the thread."""
        loop, stop, thread = self._loop, self._stop, self._thread
        if thread is None or loop is None or stop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop already ended
            loop.call_soon_threadsafe(stop.set)
        thread.join(self.shutdown_timeout)
        if thread.is_alive():
            raise TimeoutError(f"{self.name} did not stop in time")

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
