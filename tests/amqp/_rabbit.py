"""Ask the real RabbitMQ (127.0.0.1:5672) the same question; skip when it is not there."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from typing import Any

import pytest
from pamqp import commands as C

from ._client import PROTOCOL_HEADER, method_frame, parse, start_ok

HOST, PORT = "127.0.0.1", 5672


def reachable() -> bool:
    try:
        socket.create_connection((HOST, PORT), timeout=0.5).close()
    except OSError:
        return False
    return True


def on_both(names: Iterable[str]) -> list[Any]:
    """Each case name for fakebroker and for RabbitMQ (skipped when unreachable), as
    ``(name, backend)`` params with ids ``NAME-BACKEND``."""
    skip = pytest.mark.skipif(not reachable(), reason="RabbitMQ is not reachable")
    return [
        pytest.param(name, backend, marks=[skip] if backend == "rabbitmq" else [],
                     id=f"{name}-{backend}")
        for name in names
        for backend in ("fakebroker", "rabbitmq")
    ]  # fmt: skip


def require_rabbit() -> None:
    if not reachable():
        pytest.skip("the real RabbitMQ at 127.0.0.1:5672 is not reachable")


def _read_until(sock: socket.socket, done: Any, timeout: float) -> tuple[bytes, bool]:
    """Read until ``done(data)`` or EOF; (data, eof)."""
    sock.settimeout(timeout)
    data = b""
    while not done(data):
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return data, False
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def _has_frames(count: int) -> Any:
    def done(data: bytes) -> bool:
        try:
            return len(parse(data)) >= count
        except Exception:
            return False

    return done


def rabbit_raw(data: bytes, *, timeout: float = 2.0) -> tuple[bytes, bool]:
    """Send raw bytes on a fresh socket; everything until EOF or timeout, and whether EOF came."""
    require_rabbit()
    with socket.create_connection((HOST, PORT), timeout=timeout) as sock:
        sock.sendall(data)
        return _read_until(sock, lambda d: False, timeout)


def rabbit_session(
    *chunks: bytes,
    expect: int = 1,
    tune: tuple[int, int, int] = (2047, 131072, 0),
    timeout: float = 5.0,  # a bound on a slow server (a loaded CI), not a wait
) -> list[tuple[int, Any]]:
    """Open a connection, send ``chunks``, return the next ``expect`` frames."""
    return parse(rabbit_session_bytes(*chunks, expect=expect, tune=tune, timeout=timeout))


def rabbit_session_bytes(
    *chunks: bytes,
    expect: int = 1,
    tune: tuple[int, int, int] = (2047, 131072, 0),
    timeout: float = 5.0,  # a bound on a slow server (a loaded CI), not a wait
) -> bytes:
    """As :func:`rabbit_session`, but the answer's raw bytes."""
    require_rabbit()
    with socket.create_connection((HOST, PORT), timeout=timeout) as sock:
        sock.sendall(PROTOCOL_HEADER)
        _read_until(sock, _has_frames(1), timeout)
        sock.sendall(start_ok())
        _read_until(sock, _has_frames(1), timeout)
        sock.sendall(
            method_frame(0, C.Connection.TuneOk(*tune))
            + method_frame(0, C.Connection.Open(virtual_host="/"))
        )
        _read_until(sock, _has_frames(1), timeout)
        sock.sendall(b"".join(chunks))
        data, _ = _read_until(sock, _has_frames(expect), timeout)
        return data
