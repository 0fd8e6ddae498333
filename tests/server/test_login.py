"""Logins RabbitMQ refuses, refused alike: PLAIN with an authorization identity."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from pamqp import commands, frame

import fakebroker

RABBITMQ = ("127.0.0.1", 5672)


def _rabbitmq_up() -> bool:
    try:
        socket.create_connection(RABBITMQ, timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture(params=["fakebroker", "rabbitmq"])
def address(request: pytest.FixtureRequest) -> Iterator[tuple[str, int]]:
    if request.param == "rabbitmq":
        if not _rabbitmq_up():
            pytest.skip("RabbitMQ is not reachable at 127.0.0.1:5672")
        yield RABBITMQ
        return
    with fakebroker.serve(port=0) as server:
        yield ("127.0.0.1", server.port)


def _answer_to(address: tuple[str, int], response: bytes) -> str:
    """What the server sends after start-ok: a method's name, or "closed" for a dropped socket."""
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(b"AMQP\x00\x00\x09\x01")
        buffer = b""
        seen: list[object] = []
        start_ok = commands.Connection.StartOk(
            client_properties={"capabilities": {"authentication_failure_close": True}},
            mechanism="PLAIN",
            response=response.decode("latin-1"),
            locale="en_US",
        )
        while len(seen) < 2:
            try:
                size, _channel, value = frame.unmarshal(buffer)
            except Exception:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    data = b""
                if not data:
                    return "closed"
                buffer += data
                continue
            buffer = buffer[size:]
            seen.append(value)
            if len(seen) == 1:
                sock.sendall(frame.marshal(start_ok, 0))
        return type(seen[1]).__name__


def test_plain_takes_user_and_password_only(address: tuple[str, int]) -> None:
    assert _answer_to(address, b"\0guest\0guest") == "Tune"


def test_plain_with_an_authorization_identity_is_refused(address: tuple[str, int]) -> None:
    """RabbitMQ's PLAIN reads ``\\0user\\0password``; ``authzid\\0user\\0password`` is a
    syntax error, and in the starting state the socket is closed without a word."""
    assert _answer_to(address, b"x\0guest\0guest") == "closed"
