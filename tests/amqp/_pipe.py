"""An in-memory, single-threaded "socket" between py-amqp and an Engine.

Writes go straight into ``engine.receive_data``; reads take what
``engine.data_to_send`` has.  A read with nothing pending raises
``socket.timeout`` at once (nothing else could produce data), so tests are
deterministic; at EOF a read raises ``OSError``.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import amqp
import amqp.transport

from fakebroker.amqp import Engine
from fakebroker.core import Broker


class PipeTransport(amqp.transport._AbstractTransport):  # type: ignore[misc]
    """py-amqp transport whose peer is an Engine."""

    engine: Engine

    def __init__(self, host: str, *, engine: Engine, **kwargs: Any) -> None:
        self.engine = engine
        self._buf = b""
        super().__init__(host, **kwargs)

    def _connect(self, host: str, port: int, timeout: float | None) -> None:
        self.sock = socket.socket()  # never used for I/O; py-amqp wants an object here
        self.sock.close()

    def _init_socket(self, socket_settings: Any, read_timeout: Any, write_timeout: Any) -> None:
        self._write(amqp.transport.AMQP_PROTOCOL_HEADER)

    @contextlib.contextmanager
    def having_timeout(self, timeout: float | None) -> Iterator[Any]:
        yield self.sock

    def _read(self, n: int, initial: bool = False) -> bytes:
        while len(self._buf) < n:
            data = self.engine.data_to_send()
            if not data:
                if self.engine.closed:
                    raise OSError("Server unexpectedly closed connection")
                raise TimeoutError("nothing pending")
            self._buf += data
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _write(self, s: bytes) -> None:
        self.engine.receive_data(bytes(s))

    def close(self) -> None:
        if not self.engine.closed:
            self.engine.connection_lost()
        self.connected = False


class PipeConnection(amqp.Connection):  # type: ignore[misc]
    """amqp.Connection over a PipeTransport to a fresh Engine on ``broker``."""

    def __init__(
        self, broker: Broker, *, engine_options: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        self._engine = Engine(
            broker=broker, peer="127.0.0.1:6000", local="127.0.0.1:5672", **(engine_options or {})
        )
        super().__init__(host="fake:5672", **kwargs)

    @property
    def engine(self) -> Engine:
        return self._engine

    def Transport(
        self,
        host: str,
        connect_timeout: Any,
        ssl: Any = False,
        read_timeout: Any = None,
        write_timeout: Any = None,
        **kwargs: Any,
    ) -> PipeTransport:
        return PipeTransport(
            host,
            engine=self._engine,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            **kwargs,
        )
