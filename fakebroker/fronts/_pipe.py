"""In-memory byte pipes between in-process clients and protocol engines.

A :class:`Pipe` stands where a TCP socket would: the client writes AMQP
bytes with :meth:`Pipe.send` (fed straight to the connection's engine) and
reads the engine's output with :meth:`Pipe.recv`.  Every call into the
engine or the core holds the node's lock; each pipe has a
:class:`threading.Condition` on that lock, notified by the engine's wakeup,
so a consumer thread can block in :meth:`Pipe.recv` while another thread
publishes.

Determinism: when no other thread could produce output for a pipe
(:meth:`fakebroker.Node.others_driving` is false), a read with nothing to
read does not block: it runs the timers due (jumping an autojumping
:class:`~fakebroker.core.clock.VirtualClock` to the next deadline within
the timeout, or waiting for a :class:`~fakebroker.core.clock.SystemClock`
deadline within the timeout) and then raises :class:`socket.timeout`.

For event loops that watch file descriptors (kombu's hub, used by Celery
workers) a pipe lends a socket that is readable exactly when the client has
something to read (:meth:`Pipe.fileno`).
"""

from __future__ import annotations

import errno
import itertools
import socket
import struct
import threading
import time
from typing import TYPE_CHECKING

from .._node import SHUTDOWN_TEXT
from ..core.clock import VirtualClock
from ._protocol import EngineFactory, amqp_engine_factory

if TYPE_CHECKING:
    from .._node import Node

__all__ = ["Pipe"]

_MAX_JUMPS = 10_000
# Read bytes are cut from the inbox's front once this many have accumulated.
_COMPACT = 1 << 16
_FRAME_HEADER = struct.Struct(">BHI")
# A blocked reader re-checks this often whether another thread could still write.
_RECHECK = 0.5


# --- the pipe ---------------------------------------------------------------

_ports = itertools.count(40000)


class Pipe:
    """A bidirectional in-memory byte stream between one client and one engine.

    ``send`` and ``recv`` are safe to call from any thread; the engine only
    ever runs under the broker's lock.
    """

    def __init__(
        self,
        *,
        node: Node,
        engine_factory: EngineFactory | None = None,
        peer: str | None = None,
        local: str = "127.0.0.1:5672",
    ) -> None:
        self.node = node
        self.broker = node.broker
        self._lock = node.lock
        self._cond = threading.Condition(self._lock)
        self._changed = node.changed
        self._inbox = bytearray()
        self._pos = 0  # read position in _inbox (consumed bytes are dropped in bulk)
        self._seen: int | None = None  # the last thread recorded as a driver
        self._dirty = False
        self._closed = False
        self._signal: tuple[socket.socket, socket.socket] | None = None
        self._signalled = False
        self._jumps = 0
        self._virtual_deadline: float | None = None
        factory = engine_factory or amqp_engine_factory()
        self.peer = peer or f"127.0.0.1:{next(_ports)}"
        with self._lock:
            node.note_driver()
            self.engine = factory(broker=self.broker, peer=self.peer, local=local)
            if self.engine.reset_requested:
                raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
            self.engine.wakeup = self._on_wakeup
        node.add_pipe(self)

    # client side ------------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Deliver client bytes to the engine; raises BrokenPipeError once closed."""
        with self._lock:
            self._note()
            if self.engine.reset_requested and not self._closed:
                raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
            if self._closed or self.engine.closed:
                raise BrokenPipeError(errno.EPIPE, "fakebroker pipe closed")
            self.engine.receive_data(data if type(data) is bytes else bytes(data))
            self._service()
            self._changed.notify_all()

    def recv(self, n: int, timeout: float | None = None) -> bytes:
        """Return 1 to ``n`` bytes, or b"" at end of stream.

        Raises :class:`socket.timeout` when nothing arrives in ``timeout``
        seconds (at once when no other thread could produce anything).
        """
        with self._lock:
            self._note()
            if len(self._inbox) > self._pos:  # already here: no timers, no engine
                return self._take(n)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            self._jumps = 0
            clock = self.broker.clock
            self._virtual_deadline = (
                clock.now() + timeout
                if timeout is not None and isinstance(clock, VirtualClock)
                else None
            )
            while True:
                self._service()
                if len(self._inbox) > self._pos:
                    return self._take(n)
                if self.engine.reset_requested and not self._closed:
                    raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
                if self._closed or self.engine.closed:
                    return b""
                if not self._wait(deadline, timeout):
                    raise TimeoutError("timed out")

    def take_frame(self) -> tuple[int, int, bytes] | None:
        """The next whole AMQP frame ``(type, channel, payload)`` if one is here, else None.

        Never waits and never raises for a short or empty inbox (the caller
        then reads with :meth:`recv`); raises ValueError when the frame's end
        octet is wrong.
        """
        with self._lock:
            self._note()
            if len(self._inbox) - self._pos < 8:
                self._service()
            inbox, pos = self._inbox, self._pos
            if len(inbox) - pos < 8:
                return None
            frame_type, channel, size = _FRAME_HEADER.unpack_from(inbox, pos)
            end = pos + 7 + size
            if end >= len(inbox):
                return None
            if inbox[end] != 0xCE:
                raise ValueError(f"Received frame_end {inbox[end]:#04x} while expecting 0xce")
            payload = bytes(inbox[pos + 7 : end])
            self._advance(end + 1)
            return frame_type, channel, payload

    def pending(self) -> int:
        """How many bytes the client can read without waiting."""
        with self._lock:
            self._service()
            return len(self._inbox) - self._pos

    def fileno(self) -> int:
        """A file descriptor readable exactly when :meth:`recv` has something (or EOF)."""
        with self._lock:
            if self._signal is None:
                pair = socket.socketpair()
                for sock in pair:
                    sock.setblocking(False)
                self._signal = pair
                self._update_signal()
            return self._signal[0].fileno()

    def poke(self) -> None:
        """Make :meth:`fileno` readable until the next read finds nothing.

        For event loops that have work of their own queued and are about
        to block on this descriptor (see :class:`fakebroker.fronts.transport.Transport`).
        """
        with self._lock:
            if self._signal is not None and not self._closed:
                self._dirty = True
                self._set_signal(True)

    @property
    def closed(self) -> bool:
        """True once the client closed the pipe or the engine ended the connection."""
        with self._lock:
            return self._closed or self.engine.closed

    def close(self) -> None:
        """The client hangs up: the engine sees the transport die."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if not self.engine.closed:
                self.engine.connection_lost()
            self._inbox.clear()
            self._pos = 0
            self._cond.notify_all()
            self._changed.notify_all()
            signal, self._signal = self._signal, None
        if signal is not None:
            for sock in signal:
                sock.close()

    def force_close(self, text: str = SHUTDOWN_TEXT) -> None:
        """Close from the server side with 320 CONNECTION_FORCED (as a broker shutdown)."""
        with self._lock:
            if self._closed or self.engine.closed:
                return
            self.engine.close_forced(text)
            self._dirty = True
            self._service()
            self._cond.notify_all()

    # internals (lock held) ----------------------------------------------------

    def _on_wakeup(self) -> None:
        with self._lock:
            self._dirty = True
            self._cond.notify_all()
            self._set_signal(True)

    def _service(self) -> None:
        """Run due timers and move the engine's output into the inbox."""
        if self._closed:
            return
        if self.broker.clock.run_due():
            self._changed.notify_all()
        self._dirty = False  # before: a wakeup while taking (a slicer's next slice) stays
        data = self.engine.data_to_send()
        if data:
            self._inbox += data
            self._cond.notify_all()
        self._update_signal()

    def _note(self) -> None:
        ident = threading.get_ident()
        if ident != self._seen:
            self.node.note_driver()
            self._seen = ident

    def _take(self, n: int) -> bytes:
        pos = self._pos
        chunk = bytes(self._inbox[pos : pos + n])
        self._advance(pos + len(chunk))
        return chunk

    def _advance(self, pos: int) -> None:
        inbox = self._inbox
        if pos >= len(inbox):
            inbox.clear()
            pos = 0
        elif pos > _COMPACT:
            del inbox[:pos]
            pos = 0
        self._pos = pos
        self._update_signal()

    def _wait(self, deadline: float | None, timeout: float | None) -> bool:
        """Wait for output; False when the read should time out."""
        if timeout == 0:
            return False
        clock = self.broker.clock
        if not self.node.others_driving():
            return self._wait_alone(deadline, timeout)
        delay = _remaining(deadline)
        if delay is not None and delay <= 0:
            return False
        due = clock.next_deadline()
        if due is not None and not isinstance(clock, VirtualClock):
            until_due = max(0.0, due - clock.now())
            delay = until_due if delay is None else min(delay, until_due)
        self._cond.wait(_RECHECK if delay is None else min(delay, _RECHECK))
        return True

    def _wait_alone(self, deadline: float | None, timeout: float | None) -> bool:
        """Nobody else can produce output: only timers can. False means time out."""
        clock = self.broker.clock
        due = clock.next_deadline()
        if isinstance(clock, VirtualClock):
            return self._jump(clock, due)
        delay = _remaining(deadline)
        if due is None or delay is None:
            return False
        until_due = due - clock.now()
        if until_due > delay:
            return False
        if until_due > 0:
            self._cond.wait(until_due)
        return True

    def _jump(self, clock: VirtualClock, due: float | None) -> bool:
        """Autojump: move virtual time to the next deadline within the timeout."""
        if not clock.autojump:
            return False
        limit = self._virtual_deadline
        if due is None or (limit is not None and due > limit):
            if limit is not None:
                clock.advance(max(0.0, limit - clock.now()))
            return False
        self._jumps += 1
        if self._jumps > _MAX_JUMPS:
            return False
        clock.jump()
        return True

    def _update_signal(self) -> None:
        self._set_signal(len(self._inbox) > self._pos or self._dirty or self.engine.closed)

    def _set_signal(self, readable: bool) -> None:
        if self._signal is None or readable == self._signalled:
            return
        reader, writer = self._signal
        try:
            if readable:
                writer.send(b"\x00")
            else:
                reader.recv(16)
        except (BlockingIOError, InterruptedError):
            pass
        self._signalled = readable


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()
