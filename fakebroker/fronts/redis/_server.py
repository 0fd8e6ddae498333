"""The asyncio RESP front: Redis clients reach the node's fakeredis data over TCP.

One :class:`_Client` per accepted socket: bytes go through the codec's
:class:`~._codec.RequestParser`, each command runs in fakeredis (node lock
held, then fakeredis's), replies go out through :func:`~._codec.encode`.
A blocking command that finds no data parks its client: nothing more is
read from that client until a key change lets it through (any client's
write pokes the server) or its timeout passes on the loop's (real) time,
as a client waits on a real Redis.  Faults of the node's plan apply at the
points of :mod:`._faults`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fakeredis._commands import COMMANDS_WITH_SUB

from ...core.faultpoints import Action
from . import _faults
from ._codec import Error, ProtocolError, RequestParser, Simple, encode
from ._socket import FrontSocket

if TYPE_CHECKING:
    from ..._node import Node
    from ._state import RedisState

__all__ = ["RedisServer"]

log = logging.getLogger(__name__)

#: Replies waiting for a client that does not read, beyond which it is dropped (Redis's
#: client-output-buffer-limit for pub/sub clients, 32 MiB hard).
OUTPUT_LIMIT = 32 * 1024 * 1024
#: Blocking commands whose served reply is a "delivery" (fault point ``delivery_sending``).
BLOCKING = frozenset({"BRPOP", "BLPOP", "BRPOPLPUSH", "BLMOVE", "BLMPOP", "BZPOPMIN", "BZPOPMAX"})


class RedisServer:
    """Serve one node's Redis (``node.redis``) over TCP on an asyncio loop.

    ``await start()`` on the loop that runs it (``port=0`` picks a free
    port, :attr:`port` is the bound one), ``await close()`` to stop.
    """

    def __init__(self, *, node: Node, host: str = "127.0.0.1", port: int = 0) -> None:
        self.node = node
        self.state: RedisState = node.redis
        self.host = host
        self.port = port
        #: No TLS on the Redis front (the CLI reads it beside the AMQP servers').
        self.ssl = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self.clients: set[_Client] = set()
        self._parked: list[_Client] = []
        self._poked = False
        self._thread_id = 0

    @property
    def url(self) -> str:
        """``redis://HOST:PORT/0``."""
        return f"redis://{self.host}:{self.port}/0"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop the server runs on (set by :meth:`start`)."""
        if self._loop is None:
            raise RuntimeError("redis server not started")
        return self._loop

    @property
    def connections(self) -> int:
        """How many clients are connected."""
        return len(self.clients)

    async def start(self) -> None:
        """Bind and listen; OSError when the port is unavailable."""
        self._loop = asyncio.get_running_loop()
        self._thread_id = threading.get_ident()
        self.node.note_driver()
        self._server = await self._loop.create_server(lambda: _Client(self), self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self.state.attach(self)

    async def close(self) -> None:
        """Stop listening and disconnect every client (as a Redis shutdown does)."""
        self.state.detach(self)
        if self._server is not None:
            self._server.close()
        for client in list(self.clients):
            client.abort()
        if self._server is not None:
            await self._server.wait_closed()

    # -- clients --------------------------------------------------------------------------

    def drop_all(self) -> None:
        """Reset every client now, from any thread (a restart)."""
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._drop_all)

    def _drop_all(self) -> None:
        for client in list(self.clients):
            client.reset()

    def poke(self) -> None:
        """A key changed (any thread, fakeredis's lock held): retry parked clients soon."""
        if self._poked or self._loop is None or not self._parked:
            return
        self._poked = True
        self.soon(self._serve_parked)

    def soon(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the loop soon, from any thread (the self-pipe only if needed)."""
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed
            if threading.get_ident() == self._thread_id:
                loop.call_soon(callback)
            else:
                loop.call_soon_threadsafe(callback)

    def park(self, client: _Client) -> None:
        self._parked.append(client)

    def unpark(self, client: _Client) -> None:
        with contextlib.suppress(ValueError):
            self._parked.remove(client)

    def _serve_parked(self) -> None:
        self._poked = False
        for client in list(self._parked):  # first parked, first served, as Redis
            if client in self._parked:
                client.retry()


class _Client(asyncio.Protocol):
    """One client socket, its parser and its fakeredis session."""

    def __init__(self, server: RedisServer) -> None:
        self.server = server
        self.node = server.node
        self.state = server.state
        self.transport: asyncio.Transport | None = None
        self.parser = RequestParser()
        self.sock: FrontSocket | None = None
        self.name = "?"
        self._out: list[bytes] = []
        #: Bytes a slice rule holds back, sent a slice at a time (everything after queues).
        self._sliced = bytearray()
        self._running = False
        self._flush_pending = False
        self._timer: asyncio.TimerHandle | None = None
        self._stalled = False
        self._lost = False
        self._parked_name = ""

    # -- asyncio ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = _address(transport.get_extra_info("peername"))
        local = _address(transport.get_extra_info("sockname"))
        self.name = f"{peer} -> {local}"
        with self.node.lock:
            if _faults.refused(self.node, self.name):
                self.reset()
                return
            info = {"addr": peer, "laddr": local}
            self.sock = FrontSocket(server=self.state.server, deliver=self._deliver, info=info)
        self.server.clients.add(self)

    def data_received(self, data: bytes) -> None:
        if self._lost or self.sock is None:
            return
        self.parser.feed(data)
        self._pump()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._cancel_timer()
        self.server.unpark(self)
        self.server.clients.discard(self)
        sock, self.sock = self.sock, None
        if sock is not None:
            fake = self.state.server
            with self.node.lock, fake.lock:
                sock.close()
                sock.release(fake)
            self.node.notify()

    # -- commands ---------------------------------------------------------------------------

    def _pump(self) -> None:
        """Run every complete command received, unless parked, stalled or gone."""
        while not self._lost and not self._stalled and self.sock is not None:
            if self.sock.parked is not None:
                break
            try:
                fields = self.parser.next_command()
            except ProtocolError as exc:
                self._write_now(encode(Error(f"ERR {exc}")))
                self.close()
                return
            if fields is None:
                break
            self._run(fields)
        self._flush()

    def _run(self, fields: list[bytes]) -> None:
        sock = self.sock
        assert sock is not None
        name = _command_name(fields)
        key = fields[1] if len(fields) > 1 and name.count(" ") == 0 else None
        with self.node.lock:
            self.state.record(self.name, sock.db_number, name, fields[1:])
            hit = _faults.hit(self, "method_received", name, key)
            if hit is not None and self._fault(hit):
                return
            if name == "QUIT":
                self._write_now(encode(Simple(b"OK")))
                self.close()
                return
            self._running = True
            try:
                try:
                    sock.handle(fields)
                except Exception as exc:  # fakeredis failing must not take the front down
                    log.exception("fakebroker redis: %s failed", name)
                    self._deliver(Error(f"ERR internal error in {name.lower()}: {exc}"))
            finally:
                self._running = False
            if sock.parked is not None:
                self._park(name)
                return
            hit = _faults.hit(self, "message_routed", name, key)
            if hit is not None and self._fault(hit, lost_reply=True):
                return
            if name in BLOCKING and self._out and not self._out[-1].startswith((b"*-1", b"_")):
                hit = _faults.hit(self, "delivery_sending", name, _popped_key(self._out[-1]))
                if hit is not None and self._fault(hit, lost_reply=True):
                    return
            self.node.changed.notify_all()
        if sock.killed:
            self._flush()
            self.close()

    def _fault(self, hit: Any, *, lost_reply: bool = False) -> bool:
        """Apply the rules that fire at ``hit``; True if the command goes no further."""
        decision = _faults.fire(self.node, hit)
        if decision is None:
            return False
        if lost_reply:
            self._out.clear()  # applied, its reply never leaves
        if decision.action is Action.DROP:
            self.reset()
            return True
        if decision.action is Action.CLOSE_CONNECTION:
            self._flush()
            self.close()
            return True
        if decision.action is Action.STALL:
            self._stall(decision.delay)
            return not lost_reply and False
        return False

    def _park(self, name: str) -> None:
        sock = self.sock
        assert sock is not None and sock.parked is not None
        self._parked_name = name
        self.server.park(self)
        timeout = sock.parked.timeout
        if timeout:
            self._timer = self.server.loop.call_later(timeout, self._expire)

    def retry(self) -> None:
        """A key changed: serve the parked command if it can be now."""
        sock = self.sock
        if sock is None or sock.parked is None or self._lost:
            self.server.unpark(self)
            return
        with self.node.lock, self.state.server.lock:
            done, reply = sock.retry_parked()
        if not done:
            return
        self._unparked()
        if isinstance(reply, list) and reply:
            with self.node.lock:
                hit = _faults.hit(self, "delivery_sending", self._parked_name, reply[0])
                if hit is not None and self._fault(hit, lost_reply=True):
                    return
        self._deliver(reply)
        self._pump()

    def _expire(self) -> None:
        self._timer = None
        sock = self.sock
        if sock is None or sock.parked is None:
            return
        with self.node.lock, self.state.server.lock:
            reply = sock.expire_parked()
        self._unparked()
        self._deliver(reply)
        self._pump()

    def _unparked(self) -> None:
        self._cancel_timer()
        self.server.unpark(self)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- output -----------------------------------------------------------------------------

    def _deliver(self, msg: Any) -> None:
        """A reply or push for this client (fakeredis's lock may be held; any thread)."""
        sock = self.sock
        if sock is None or self._lost:
            return
        self._out.append(encode(msg, sock.protocol))
        if not self._running and not self._flush_pending:
            self._flush_pending = True
            self.server.soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        if not self._out or self.transport is None or self._lost or self._stalled:
            return
        data = b"".join(self._out)
        self._out.clear()
        with self.node.lock:
            delay, size, gap = _faults.shaping(self)
        write = self._write_now if size is None and not self._sliced else self._slice
        if delay:
            self.server.loop.call_later(delay, write, data, size, gap)
        else:
            write(data, size, gap)

    def _slice(self, data: bytes, size: int | None, gap: float) -> None:
        """Queue ``data`` behind what is being sliced; the first slice leaves now."""
        more = bool(self._sliced)
        self._sliced += data
        if not more:
            self._next_slice(size or len(self._sliced), gap)

    def _next_slice(self, size: int, gap: float) -> None:
        chunk = bytes(self._sliced[:size])
        del self._sliced[:size]
        self._write_now(chunk)
        if self._sliced and not self._lost:  # each slice a write of its own, in order
            loop = self.server.loop
            if gap:
                loop.call_later(gap, self._next_slice, size, gap)
            else:
                loop.call_soon(self._next_slice, size, gap)
        else:
            self._sliced.clear()

    def _write_now(self, data: bytes, size: int | None = None, gap: float = 0.0) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.write(data)
        if transport.get_write_buffer_size() > OUTPUT_LIMIT:
            log.warning("fakebroker redis: %s reads too slowly, disconnected", self.name)
            self.abort()

    def _stall(self, duration: float | None) -> None:
        self._stalled = True
        if self.transport is not None:
            self.transport.pause_reading()
        if duration is not None:
            self.server.loop.call_later(duration, self._unstall)

    def _unstall(self) -> None:
        self._stalled = False
        if self.transport is not None and not self._lost:
            self.transport.resume_reading()
        self._pump()

    # -- ending -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close after what is written (FIN)."""
        if self.transport is not None and not self._lost:
            self.transport.close()

    def reset(self) -> None:
        """Drop with a TCP reset (SO_LINGER 0), as a crashed or restarted server."""
        self._out.clear()
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


def _command_name(fields: list[bytes]) -> str:
    if not fields:
        return ""
    name = fields[0].decode("utf-8", "replace").upper()
    if name.lower() in COMMANDS_WITH_SUB and len(fields) > 1:
        return f"{name} {fields[1].decode('utf-8', 'replace').upper()}"
    return name


def _popped_key(encoded: bytes) -> bytes | None:
    """The key of an encoded ``[key, value]`` reply (for the delivery fault's ``queue``)."""
    parts = encoded.split(b"\r\n", 3)
    return parts[2] if len(parts) > 2 and parts[1].startswith(b"$") else None


def _address(info: object) -> str:
    if isinstance(info, tuple) and len(info) >= 2:
        host, port = info[0], info[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(info)
