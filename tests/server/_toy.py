"""A toy engine with the Engine API, to test the fronts' plumbing without AMQP.

Line protocol: every line received is echoed back upper-cased; ``quit``
closes the connection; ``later N`` schedules ``TICK`` on the broker clock N
seconds ahead; ``forced`` answers to a close_forced until the client says
``ok``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ToyEngine:
    """Echo engine; records what the front did to it."""

    instances: list[ToyEngine] = []

    def __init__(self, *, broker: Any, peer: str, local: str) -> None:
        self.broker = broker
        self.peer = peer
        self.local = local
        self.name = f"{peer} -> {local}"
        self.wakeup: Callable[[], None] | None = None
        self._out = bytearray()
        self._buf = b""
        self._closed = False
        self._closing = False
        self.lost = False
        self.eof = False
        ToyEngine.instances.append(self)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def reset_requested(self) -> bool:
        return False

    def receive_data(self, data: bytes) -> None:
        if not data:
            self.eof = True
            self._closed = True
            return
        self._buf += data
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            self._line(line.strip())

    def _line(self, line: bytes) -> None:
        if self._closing:
            if line == b"ok":
                self._closed = True
            return
        if line == b"quit":
            self._out += b"BYE\n"
            self._closed = True
        elif line.startswith(b"later "):
            delay = float(line.split()[1])
            self.broker.clock.call_later(delay, lambda: self.push(b"TICK\n"))
        else:
            self._out += line.upper() + b"\n"

    def push(self, data: bytes) -> None:
        """Output produced outside receive_data (another thread, a timer)."""
        was_empty = not self._out
        self._out += data
        if was_empty and self.wakeup is not None:
            self.wakeup()

    def close_forced(self, text: str) -> None:
        self._closing = True
        self.push(f"FORCED 320 {text}\n".encode())

    def data_to_send(self) -> bytes:
        data, self._out = bytes(self._out), bytearray()
        return data

    def connection_lost(self) -> None:
        self.lost = True
        self._closed = True
