"""The TCP front's plumbing, with a toy line-echo engine instead of AMQP."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from fakebroker import Node, Server
from fakebroker.core import SystemClock, VirtualClock

from ._toy import ToyEngine

TIMEOUT = 5.0


@pytest.fixture
def node() -> Node:
    return Node(clock=SystemClock())


@pytest.fixture
def server(node: Node) -> Iterator[Server]:
    ToyEngine.instances.clear()
    with Server(node=node, engine_factory=ToyEngine, shutdown_timeout=TIMEOUT) as srv:
        yield srv


class LineClient:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buf = b""

    def send(self, line: bytes) -> None:
        self.sock.sendall(line + b"\n")

    def line(self) -> bytes:
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def at_eof(self) -> bool:
        return self.sock.recv(4096) == b""

    def close(self) -> None:
        self.sock.close()


def engine_for(count: int) -> ToyEngine:
    assert len(ToyEngine.instances) >= count
    return ToyEngine.instances[count - 1]


def test_echo_and_close_when_engine_closes(server: Server) -> None:
    client = LineClient(server.port)
    client.send(b"hello")
    assert client.line() == b"HELLO"
    client.send(b"quit")
    assert client.line() == b"BYE"
    assert client.at_eof()
    engine = engine_for(1)
    assert engine.peer.startswith("127.0.0.1:")
    assert engine.local == f"127.0.0.1:{server.port}"
    client.close()


def test_connection_lost_when_client_dies(server: Server) -> None:
    client = LineClient(server.port)
    client.send(b"x")
    assert client.line() == b"X"
    engine = engine_for(1)
    client.sock.shutdown(socket.SHUT_RDWR)
    client.close()
    assert _wait_until(lambda: engine.closed)
    assert engine.eof or engine.lost


def test_wakeup_from_another_thread(server: Server, node: Node) -> None:
    client = LineClient(server.port)
    client.send(b"a")
    assert client.line() == b"A"
    engine = engine_for(1)

    def produce() -> None:
        with node.locked():
            engine.push(b"FROM-THREAD\n")

    thread = threading.Thread(target=produce)
    thread.start()
    thread.join(TIMEOUT)
    assert client.line() == b"FROM-THREAD"
    client.close()


def test_broker_clock_timers_run_at_their_deadline(server: Server) -> None:
    client = LineClient(server.port)
    client.send(b"later 0.05")
    client.send(b"now")
    assert client.line() == b"NOW"
    assert client.line() == b"TICK"
    client.close()


def test_two_clients_and_garbage_isolated(server: Server) -> None:
    first, second = LineClient(server.port), LineClient(server.port)
    first.send(b"\xff\x00garbage")
    second.send(b"fine")
    assert second.line() == b"FINE"
    assert first.line() == b"\xff\x00GARBAGE"
    first.close()
    second.close()


def test_shutdown_forces_close_then_closes_sockets(node: Node) -> None:
    ToyEngine.instances.clear()
    server = Server(node=node, engine_factory=ToyEngine, shutdown_timeout=TIMEOUT).start()
    client = LineClient(server.port)
    client.send(b"x")
    assert client.line() == b"X"
    done = threading.Thread(target=server.close)
    done.start()
    assert client.line().startswith(b"FORCED 320 broker forced connection closure")
    client.send(b"ok")
    done.join(TIMEOUT)
    assert not done.is_alive()
    assert client.at_eof()
    client.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)


def test_virtual_clock_broker_runs_timers_when_advanced() -> None:
    clock = VirtualClock()
    node = Node(clock=clock)
    ToyEngine.instances.clear()
    with Server(node=node, engine_factory=ToyEngine) as server:
        client = LineClient(server.port)
        client.send(b"later 30")
        client.send(b"sync")
        assert client.line() == b"SYNC"
        with node.locked():
            clock.advance(30)
        assert client.line() == b"TICK"
        client.close()


def test_port_in_use_raises(server: Server, node: Node) -> None:
    other = Server(node=node, port=server.port, engine_factory=ToyEngine)
    with pytest.raises(OSError):
        other.start()


def _wait_until(predicate: object, timeout: float = TIMEOUT) -> bool:
    event = threading.Event()
    deadline = 0.0
    step = 0.01
    while deadline < timeout:
        if predicate():  # type: ignore[operator]
            return True
        event.wait(step)
        deadline += step
    return False


def test_backpressure_pauses_reading_while_the_client_does_not_read(server: Server) -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(TIMEOUT)
    sock.connect(("127.0.0.1", server.port))
    line = b"x" * 1023 + b"\n"
    total = 8 * 1024 * 1024
    writer = threading.Thread(target=lambda: sock.sendall(line * (total // len(line))))
    writer.start()
    connections = server._server._connections
    assert _wait_until(lambda: any(not c.transport.is_reading() for c in connections))
    received = 0
    while received < total:
        chunk = sock.recv(1 << 20)
        assert chunk
        received += len(chunk)
    writer.join(TIMEOUT)
    assert received == total
    assert _wait_until(lambda: all(c.transport.is_reading() for c in connections))
    sock.close()
