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


def _non_loopback_address() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent
            address = str(probe.getsockname()[0])
    except OSError:
        return None
    return None if address.startswith("127.") else address


@pytest.mark.parametrize("user", ["guest", "app"])
def test_guest_logs_in_only_from_loopback(user: str) -> None:
    """RabbitMQ's loopback_users (["guest"] by default); other users log in from anywhere.

    RabbitMQ on our machines listens on 127.0.0.1 only, so this runs on fakebroker alone:
    served on every address, dialled from the machine's own non-loopback address.
    """
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to dial from")
    node = fakebroker.build_node(users=[("guest", "guest"), ("app", "pw")])
    with fakebroker.serve(host="0.0.0.0", port=0, node=node) as server:
        password = "guest" if user == "guest" else "pw"
        response = f"\0{user}\0{password}".encode()
        remote = _answer_to((address, server.port), response)
        local = _answer_to(("127.0.0.1", server.port), response)
    assert local == "Tune"
    assert remote == ("Close" if user == "guest" else "Tune")


def test_loopback_rule_reads_every_address_form() -> None:
    from fakebroker.core import Broker

    broker = Broker()
    for peer in ("127.0.0.1:5000", "127.8.9.10:1", "[::1]:5000", "[::ffff:127.0.0.1]:2", "pipe"):
        assert broker.may_log_in_from("guest", peer), peer
    for peer in ("192.0.2.2:5000", "[fd00::2]:5000", "[::ffff:10.0.0.1]:2"):
        assert not broker.may_log_in_from("guest", peer), peer
    assert Broker(loopback_users=()).may_log_in_from("guest", "192.0.2.2:1")
