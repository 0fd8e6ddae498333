"""The asyncio TCP front: AMQP 0-9-1 clients connect over real sockets.

One :class:`~fakebroker.amqp.Engine` per accepted connection; bytes in go
to ``receive_data``, ``data_to_send()`` goes out, and the socket closes once
the engine says ``closed`` (aborted when it says ``reset_requested``).
Every call into an engine or the core holds the node's lock, so in-process
clients may share the broker from other threads; their effects reach this
loop through ``engine.wakeup`` (``call_soon_threadsafe``).  The broker
clock's timers run at its next deadline, re-armed after every batch of
input and every wakeup.

On :meth:`AMQPServer.close` (the CLI calls it on SIGINT/SIGTERM) every
client is sent ``connection.close`` 320 CONNECTION_FORCED, as RabbitMQ does
when it shuts down, before the sockets close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import struct
import time
from typing import TYPE_CHECKING

from .._node import SHUTDOWN_TEXT
from ._protocol import EngineFactory, ProtocolEngine, amqp_engine_factory

if TYPE_CHECKING:
    from .._node import Node

__all__ = ["AMQPServer"]

log = logging.getLogger(__name__)


class AMQPServer:
    """Serve one node's broker over TCP on an asyncio event loop.

    Create it, ``await start()`` on the loop that will run it, and
    ``await close()`` to shut down.  ``port=0`` picks a free port; the
    bound one is :attr:`port` after :meth:`start`.
    """

    def __init__(
        self,
        *,
        node: Node,
        host: str = "127.0.0.1",
        port: int = 0,
        engine_factory: EngineFactory | None = None,
        shutdown_grace: float = 2.0,
        ssl: ssl.SSLContext | None = None,
    ) -> None:
        self.node = node
        self.broker = node.broker
        self.host = host
        self.port = port
        self.shutdown_grace = shutdown_grace
        #: TLS (``amqps://``): the handshake happens before the engine sees a byte.
        self.ssl = ssl
        self._factory = engine_factory or amqp_engine_factory()
        self.lock = node.lock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[_ClientConnection] = set()
        self._timer: asyncio.Handle | None = None
        self._armed: float | None = None
        self._closing = False
        self._real_time = not node.broker.clock.virtual

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the server runs on (set by :meth:`start`)."""
        if self._loop is None:
            raise RuntimeError("server not started")
        return self._loop

    @property
    def connections(self) -> int:
        """How many client connections are open."""
        return len(self._connections)

    async def start(self) -> None:
        """Bind and listen; raises OSError (EADDRINUSE, ...) when the port is unavailable."""
        self._loop = asyncio.get_running_loop()
        self.node.note_driver()
        self._server = await self._loop.create_server(
            lambda: _ClientConnection(self), self.host, self.port, ssl=self.ssl
        )
        sockname = self._server.sockets[0].getsockname()
        self.port = int(sockname[1])

    async def close(self, *, text: str = SHUTDOWN_TEXT) -> None:
        """Stop accepting, close every client with 320 CONNECTION_FORCED, then the sockets."""
        if self._closing:
            return
        self._closing = True
        if self._server is not None:
            self._server.close()
        connections = list(self._connections)
        for conn in connections:
            conn.force_close(text)
        waits = [conn.done.wait() for conn in connections]
        if waits:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waits), self.shutdown_grace)
        for conn in connections:
            conn.abort()
        self._cancel_timer()
        if self._server is not None:
            await self._server.wait_closed()

    # engines ------------------------------------------------------------------

    def make_engine(self, peer: str, local: str) -> ProtocolEngine:
        """A new engine for an accepted connection (lock held by the caller)."""
        return self._factory(broker=self.broker, peer=peer, local=local)

    def attach(self, conn: _ClientConnection) -> None:
        """Track an accepted connection."""
        self._connections.add(conn)

    def detach(self, conn: _ClientConnection) -> None:
        """Forget a closed connection."""
        self._connections.discard(conn)

    # the broker clock ------------------------------------------------------------

    def rearm(self) -> None:
        """Schedule the broker clock's next deadline on the loop (loop thread only)."""
        with self.lock:
            deadline = self.broker.clock.next_deadline()
            now = self.broker.clock.now()
        if deadline == self._armed and self._timer is not None:
            return
        self._cancel_timer()
        if deadline is None:
            return
        self._armed = deadline
        if self._real_time:
            self._timer = self.loop.call_later(max(0.0, deadline - now), self._on_timer)
        elif deadline <= now:
            self._timer = self.loop.call_soon(self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._armed = None
        with self.lock:
            self.broker.clock.run_due()
            self.node.changed.notify_all()
        self.rearm()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._armed = None


class _ClientConnection(asyncio.Protocol):
    """One client socket and its engine."""

    def __init__(self, server: AMQPServer) -> None:
        self.server = server
        self.engine: ProtocolEngine | None = None
        self.transport: asyncio.Transport | None = None
        self.done = asyncio.Event()
        self._flush_pending = False
        self._lost = False

    # asyncio callbacks --------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = _address(transport.get_extra_info("peername"))
        local = _address(transport.get_extra_info("sockname"))
        try:
            with self.server.lock:
                self.engine = self.server.make_engine(peer, local)
                self.engine.wakeup = self._wakeup
        except Exception:
            log.exception("fakebroker: cannot start a connection from %s", peer)
            transport.abort()
            return
        self.server.attach(self)
        self._flush()

    def data_received(self, data: bytes) -> None:
        self._feed(data)

    def eof_received(self) -> bool:
        self._feed(b"")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        engine = self.engine
        if engine is not None:
            with self.server.lock:
                engine.wakeup = None
                if not engine.closed:
                    engine.connection_lost()
                self.server.node.changed.notify_all()
        self.server.detach(self)
        self.done.set()
        self.server.rearm()

    def pause_writing(self) -> None:
        """The socket's buffer is full: stop reading and hold the client's deliveries."""
        if self.transport is not None:
            self.transport.pause_reading()
        if self.engine is not None and not self._lost:
            with self.server.lock:
                self.engine.pause_output()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()
        if self.engine is not None and not self._lost:
            with self.server.lock:
                self.engine.resume_output()
                self.server.node.changed.notify_all()
            self._flush()

    # the engine ---------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        engine = self.engine
        if engine is None or self._lost:
            return
        try:
            with self.server.lock:
                engine.receive_data(data)
                self.server.node.changed.notify_all()
        except Exception:
            log.exception("fakebroker: engine failed on input from %s", _name(self))
            self.abort()
            return
        self._flush()
        if self.server.node.waiting:  # another thread wants the lock: let it in now
            time.sleep(0)

    def _wakeup(self) -> None:
        """Engine output became pending outside receive_data (any thread, lock held)."""
        if self._flush_pending or self._lost:
            return
        self._flush_pending = True
        with contextlib.suppress(RuntimeError):  # the loop is closed
            self.server.loop.call_soon_threadsafe(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        engine, transport = self.engine, self.transport
        if engine is None or transport is None or self._lost:
            return
        try:
            with self.server.lock:
                data = engine.data_to_send()
                closed = engine.closed
        except Exception:
            log.exception("fakebroker: engine failed on output to %s", _name(self))
            self.abort()
            return
        if data and not transport.is_closing():
            transport.write(data)
        if closed and engine.reset_requested:
            self.reset()
        elif closed:
            transport.close()
        self.server.rearm()

    def force_close(self, text: str) -> None:
        """Shutdown: the client gets connection.close 320, or the socket just closes."""
        engine, transport = self.engine, self.transport
        if engine is None or transport is None or self._lost:
            return
        with self.server.lock:
            engine.close_forced(text)
        self._flush()

    def reset(self) -> None:
        """A fault: abort with a TCP reset (SO_LINGER 0), as a crashed peer's socket."""
        if self.transport is None or self._lost:
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

    def abort(self) -> None:
        """Drop the socket now."""
        if self.transport is not None and not self._lost:
            self.transport.abort()


def _address(info: object) -> str:
    if isinstance(info, tuple) and len(info) >= 2:
        host, port = info[0], info[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(info)


def _name(conn: _ClientConnection) -> str:
    return conn.engine.name if conn.engine is not None else "a client"
