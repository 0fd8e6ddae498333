"""Logins RabbitMQ refuses, refused alike: PLAIN with an authorization identity."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


@contextmanager
def _namespace() -> Iterator[tuple[str, str]]:
    """A network namespace joined to this one by a veth pair: (our address, its name).

    The namespace's end has its own address (in a random /30 of 10.213.0.0/16), so a
    client run inside it (``ip netns exec``) dials us from a second, non-loopback
    address, as a client on another machine would. Needs root and ``ip``.
    """
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("making a network namespace needs root and iproute2's ip")
    name = f"fb{secrets.token_hex(3)}"
    block = secrets.randbelow(16_384) * 4  # one /30 of 10.213.0.0/16, unlikely to be in use
    ours, theirs = (f"10.213.{block >> 8}.{(block & 255) + n}" for n in (1, 2))
    steps = [
        ["ip", "netns", "add", name],
        ["ip", "link", "add", f"{name}h", "type", "veth", "peer", "name", f"{name}n"],
        ["ip", "link", "set", f"{name}n", "netns", name],
        ["ip", "addr", "add", f"{ours}/30", "dev", f"{name}h"],
        ["ip", "link", "set", f"{name}h", "up"],
        ["ip", "-n", name, "addr", "add", f"{theirs}/30", "dev", f"{name}n"],
        ["ip", "-n", name, "link", "set", f"{name}n", "up"],
    ]
    try:
        for step in steps:
            made = subprocess.run(step, capture_output=True, text=True, check=False)
            if made.returncode != 0:
                pytest.skip(f"could not make a network namespace: {made.stderr.strip()}")
        yield ours, name
    finally:
        subprocess.run(["ip", "link", "del", f"{name}h"], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


def _answer_from_namespace(namespace: str, address: tuple[str, int], response: bytes) -> str:
    """``_answer_to`` run by a client process inside ``namespace``."""
    code = (
        "import sys; from tests.server.test_login import _answer_to; "
        f"print(_answer_to(({address[0]!r}, {address[1]}), {response!r}))"
    )
    root = Path(__file__).resolve().parents[2]
    ran = subprocess.run(
        ["ip", "netns", "exec", namespace, sys.executable, "-c", code],
        capture_output=True, text=True, cwd=root, timeout=60, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.strip()


@pytest.mark.parametrize("user", ["guest", "app"])
def test_guest_is_refused_from_another_network_namespace(user: str) -> None:
    """The issue's set-up for loopback_users: a client in a namespace the test makes.

    fakebroker listens on our end of a veth pair; a client inside the namespace
    dials it from the pair's other address. guest is refused as RabbitMQ refuses
    it (connection.close 403 after start-ok), any other user logs in.
    """
    node = fakebroker.build_node(users=[("guest", "guest"), ("app", "pw")])
    password = "guest" if user == "guest" else "pw"
    response = f"\0{user}\0{password}".encode()
    with _namespace() as (ours, namespace), fakebroker.serve(host=ours, port=0, node=node) as srv:
        remote = _answer_from_namespace(namespace, (ours, srv.port), response)
    assert remote == ("Close" if user == "guest" else "Tune")


def test_loopback_rule_reads_every_address_form() -> None:
    from fakebroker.core import Broker

    broker = Broker()
    for peer in ("127.0.0.1:5000", "127.8.9.10:1", "[::1]:5000", "[::ffff:127.0.0.1]:2", "pipe"):
        assert broker.may_log_in_from("guest", peer), peer
    for peer in ("192.0.2.2:5000", "[fd00::2]:5000", "[::ffff:10.0.0.1]:2"):
        assert not broker.may_log_in_from("guest", peer), peer
    assert Broker(loopback_users=()).may_log_in_from("guest", "192.0.2.2:1")
