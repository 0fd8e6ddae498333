"""In-process AMQP: ``kombu.Connection('fakebroker://NAME/VHOST')`` with no socket.

kombu's own pyamqp transport and py-amqp's :class:`amqp.Connection` run
unchanged; only py-amqp's socket transport is replaced by
:class:`PipeTransport`, which carries the same AMQP bytes through an
in-memory :class:`~fakebroker.fronts._pipe.Pipe` to a protocol engine on a
named :class:`~fakebroker.Node`.  The URL's host part names the node (empty,
``localhost`` and ``127.0.0.1`` mean ``"default"``); the path is the vhost,
as for ``amqp://``.

    node = fakebroker.get_node()                      # the "default" node
    with kombu.Connection("fakebroker://") as conn:   # guest/guest, vhost "/"
        conn.SimpleQueue("q").put("hi")

py-amqp directly: ``fakebroker.fronts.transport.AMQPConnection(host="default")``.

Celery workers (kombu's hub) wait on :attr:`PipeTransport.sock`, a file
descriptor readable exactly when the connection has input.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import amqp
import amqp.transport
from kombu.transport import pyamqp

from .._node import DEFAULT_NAME, get_node
from .._version import __version__
from ._pipe import Pipe

__all__ = ["AMQPConnection", "Connection", "PipeTransport", "Transport"]

# kombu shows (and rewrites) an empty host as localhost / 127.0.0.1: both mean "default".
_DEFAULT_ALIASES = frozenset({"", "localhost", "127.0.0.1"})


def _node_name(host: str) -> str:
    name, _port = amqp.transport.to_host_port(host or DEFAULT_NAME)
    name = str(name)
    return DEFAULT_NAME if name in _DEFAULT_ALIASES else name


class _PipeSocket:
    """What py-amqp and kombu's hub touch of ``transport.sock``: a file descriptor."""

    def __init__(self, pipe: Pipe) -> None:
        self.pipe = pipe

    def fileno(self) -> int:
        """Readable when the connection has input (see :meth:`Pipe.fileno`)."""
        return self.pipe.fileno()

    def getsockname(self) -> tuple[str, int]:
        """The broker side, as a socket would name it."""
        return ("127.0.0.1", 5672)

    def getpeername(self) -> tuple[str, int]:
        """The client side."""
        host, _, port = self.pipe.peer.rpartition(":")
        return (host, int(port))

    def close(self) -> None:
        """Hang up."""
        self.pipe.close()

    def __repr__(self) -> str:
        return f"<fakebroker pipe {self.pipe.peer}>"


class PipeTransport(amqp.transport.TCPTransport):  # type: ignore[misc]
    """py-amqp's transport with the socket replaced by an in-memory pipe to an engine.

    ``host`` is ``NAME[:PORT]``: the name of the node (the port is ignored).
    Reads follow socket semantics: ``socket.timeout`` when nothing arrives in
    time (see :class:`~fakebroker.fronts._pipe.Pipe` for when
    that is at once), ``OSError`` at end of stream.
    """

    def __init__(self, host: str, connect_timeout: float | None = None, **kwargs: Any) -> None:
        kwargs.pop("ssl", None)
        super().__init__(host, connect_timeout=connect_timeout, **kwargs)
        self.node_name = _node_name(host)
        self._read_buffer: bytes = b""
        self.sock: _PipeSocket | None = None
        self.pipe: Pipe | None = None
        self._timeout: float | None = None

    def _connect(self, host: str, port: int, timeout: float | None) -> None:
        self.pipe = get_node(self.node_name).pipe()
        self.sock = _PipeSocket(self.pipe)

    def _init_socket(
        self, socket_settings: Any, read_timeout: float | None, write_timeout: float | None
    ) -> None:
        self._timeout = read_timeout
        self._write(amqp.transport.AMQP_PROTOCOL_HEADER)

    @contextlib.contextmanager
    def having_timeout(self, timeout: float | None) -> Iterator[Any]:
        """Reads inside the block time out after ``timeout`` seconds (None: the default)."""
        if timeout is None:
            yield self.sock
            return
        previous, self._timeout = self._timeout, timeout
        try:
            yield self.sock
        finally:
            self._timeout = previous

    def read_frame(self, unpack: Any = None) -> tuple[int, int, bytes]:
        """The next frame: taken whole from the pipe when it is there, else read as py-amqp does."""
        pipe = self.pipe
        if pipe is not None and not self._read_buffer:
            try:
                frame = pipe.take_frame()
            except ValueError as error:
                raise amqp.exceptions.UnexpectedFrame(str(error)) from None
            if frame is not None:
                return frame
        result: tuple[int, int, bytes] = super().read_frame()
        return result

    def _read(self, n: int, initial: bool = False) -> bytes:
        pipe = self._require_pipe()
        rbuf = self._read_buffer
        try:
            while len(rbuf) < n:
                chunk = pipe.recv(n - len(rbuf), self._timeout)
                if not chunk:
                    raise OSError("Server unexpectedly closed connection")
                rbuf += chunk
        except BaseException:
            self._read_buffer = rbuf
            raise
        result, self._read_buffer = rbuf[:n], rbuf[n:]
        return bytes(result)

    def _write(self, s: bytes | memoryview) -> None:
        self._require_pipe().send(bytes(s))

    def _require_pipe(self) -> Pipe:
        if self.pipe is None:
            raise OSError("fakebroker pipe is not connected")
        return self.pipe

    def close(self) -> None:
        """Hang up: the engine sees the transport die (as a closed socket)."""
        pipe, self.pipe = self.pipe, None
        if pipe is not None:
            pipe.close()
        self.sock = None
        self.connected = False

    def __repr__(self) -> str:
        state = self.node_name if self.pipe is not None else "(disconnected)"
        return f"<PipeTransport: fakebroker://{state} at {id(self):#x}>"


class _PipeConnectionMixin:
    """Make a py-amqp connection build a :class:`PipeTransport`."""

    def Transport(
        self,
        host: str,
        connect_timeout: float | None,
        ssl: Any = False,
        read_timeout: float | None = None,
        write_timeout: float | None = None,
        socket_settings: Any = None,
        **kwargs: Any,
    ) -> PipeTransport:
        return PipeTransport(
            host,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            socket_settings=socket_settings,
            **kwargs,
        )


class AMQPConnection(_PipeConnectionMixin, amqp.Connection):  # type: ignore[misc]
    """A py-amqp connection to an in-process broker: ``AMQPConnection(host="NAME")``."""


class Connection(_PipeConnectionMixin, pyamqp.Connection):
    """kombu's pyamqp connection, over a pipe."""


class Transport(pyamqp.Transport):
    """kombu transport for ``fakebroker://NAME/VHOST`` URLs."""

    Connection = Connection
    driver_name = "fakebroker"

    def register_with_event_loop(self, connection: Any, loop: Any) -> None:
        """Watch the pipe's descriptor in kombu's hub, and keep the hub from stalling.

        kombu's hub runs the callbacks queued from its own thread (Celery's
        deferred acks, the reader's next round) only after its next poll.
        Over a network the broker's answer to the previous round arrives
        while the hub polls and wakes it; in-process that answer was already
        read in the same round, so the poll would block with acks queued and
        nothing left to wake it (kombu PR #1587, celery issue #7718).  Before
        each poll, a tick makes the pipe's descriptor readable while the hub
        has queued callbacks: the poll returns at once, the read finds
        nothing, and the queued callbacks run.
        """
        super().register_with_event_loop(connection, loop)  # type: ignore[no-untyped-call]
        loop.on_tick.add(_HubTick(connection, loop))

    def qos_semantics_matches_spec(self, connection: Any) -> bool:
        """False, as kombu answers for RabbitMQ: prefetch is per consumer unless global."""
        return False

    @property
    def default_connection_params(self) -> dict[str, Any]:
        """guest/guest on the "default" broker."""
        params: dict[str, Any] = super().default_connection_params
        params["hostname"] = DEFAULT_NAME
        return params

    def driver_version(self) -> str:
        """fakebroker's version."""
        return __version__


class _HubTick:
    """An ``on_tick`` callback of kombu's hub for one in-process connection."""

    def __init__(self, connection: Any, loop: Any) -> None:
        self.connection = connection
        self.loop = loop

    def __call__(self) -> None:
        pipe = getattr(self.connection.transport, "pipe", None)
        if pipe is None or pipe.closed:
            self.loop.on_tick.discard(self)
            return
        if getattr(self.loop, "_ready", None):
            pipe.poke()
