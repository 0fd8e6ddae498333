"""The in-memory pipe's plumbing, with the toy echo engine instead of AMQP."""

from __future__ import annotations

import select
import threading
import time

import pytest

from fakebroker import Node
from fakebroker.core import Broker, SystemClock, VirtualClock
from fakebroker.fronts._pipe import Pipe

from ..server._toy import ToyEngine

TIMEOUT = 5.0


def make_pipe(broker: Broker) -> tuple[Pipe, ToyEngine]:
    pipe = Pipe(node=Node(broker=broker), engine_factory=ToyEngine)
    assert isinstance(pipe.engine, ToyEngine)
    return pipe, pipe.engine


def readable(fd: int) -> bool:
    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)


def test_send_and_recv_exact_sizes() -> None:
    pipe, _engine = make_pipe(Broker())
    pipe.send(b"hello\n")
    assert pipe.recv(3) == b"HEL"
    assert pipe.recv(100) == b"LO\n"


def test_single_thread_read_with_nothing_times_out_at_once() -> None:
    pipe, _ = make_pipe(Broker())
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        pipe.recv(10, timeout=30)
    with pytest.raises(TimeoutError):
        pipe.recv(10, timeout=None)
    assert time.monotonic() - started < 1.0


def test_eof_after_engine_closes() -> None:
    pipe, engine = make_pipe(Broker())
    pipe.send(b"quit\n")
    assert pipe.recv(100) == b"BYE\n"
    assert pipe.recv(100) == b""
    assert engine.closed
    with pytest.raises(BrokenPipeError):
        pipe.send(b"more\n")


def test_close_tells_the_engine_the_transport_died() -> None:
    pipe, engine = make_pipe(Broker())
    pipe.close()
    assert engine.lost
    assert pipe.closed


def test_reader_thread_wakes_on_output_from_another_thread() -> None:
    broker = Broker()
    pipe, engine = make_pipe(broker)
    got: list[bytes] = []
    waiting = threading.Event()

    def reader() -> None:
        waiting.set()
        got.append(pipe.recv(100, timeout=TIMEOUT))

    thread = threading.Thread(target=reader)
    thread.start()
    assert waiting.wait(TIMEOUT)
    with pipe.node.locked():
        engine.push(b"PUSHED\n")
    thread.join(TIMEOUT)
    assert got == [b"PUSHED\n"]


def test_fileno_is_readable_exactly_when_there_is_input() -> None:
    broker = Broker()
    pipe, engine = make_pipe(broker)
    fd = pipe.fileno()
    assert not readable(fd)
    pipe.send(b"x\n")
    assert readable(fd)
    assert pipe.recv(1) == b"X"
    assert readable(fd)
    assert pipe.recv(1) == b"\n"
    assert not readable(fd)
    with pipe.node.locked():
        engine.push(b"LATER\n")
    assert readable(fd)
    assert pipe.recv(100) == b"LATER\n"
    assert not readable(fd)
    pipe.close()


def test_autojump_virtual_clock_moves_to_the_next_timer() -> None:
    clock = VirtualClock(autojump=True)
    pipe, _ = make_pipe(Broker(clock=clock))
    start = clock.now()
    pipe.send(b"later 45\n")
    assert pipe.recv(100, timeout=60) == b"TICK\n"
    assert clock.now() == start + 45
    pipe.send(b"later 45\n")
    with pytest.raises(TimeoutError):
        pipe.recv(100, timeout=10)
    assert clock.now() == start + 55  # waiting took (virtual) time


def test_virtual_clock_without_autojump_never_moves() -> None:
    clock = VirtualClock()
    pipe, _ = make_pipe(Broker(clock=clock))
    pipe.send(b"later 1\n")
    with pytest.raises(TimeoutError):
        pipe.recv(100, timeout=5)
    assert clock.pending == 1


def test_system_clock_timer_within_the_timeout_is_waited_for() -> None:
    pipe, _ = make_pipe(Broker(clock=SystemClock()))
    pipe.send(b"later 0.05\n")
    assert pipe.recv(100, timeout=TIMEOUT) == b"TICK\n"


def test_blocked_read_gives_up_once_no_other_thread_can_write() -> None:
    broker = Broker()
    pipe, _ = make_pipe(broker)
    touched, never = threading.Event(), threading.Event()

    def other_client() -> None:
        make_pipe(broker)[0].close()
        touched.set()
        never.wait(0.2)  # alive while the read starts, then gone without writing

    thread = threading.Thread(target=other_client)
    thread.start()
    assert touched.wait(TIMEOUT)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        pipe.recv(10, timeout=None)  # would block forever on a socket
    assert time.monotonic() - started < 2.0
    thread.join(TIMEOUT)
