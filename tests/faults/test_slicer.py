"""The slicer (Toxiproxy's): the broker's output leaves in slices of at most N bytes.

``broker.faults.slicer(size)`` makes the engine hand its output over a slice
at a time: the in-process pipe holds one slice per read, the TCP front
writes each one separately (a recording engine shows what it was given to
write), so clients read every frame in pieces.  The bytes are the unsliced
answer's, in order; a full session (publish, consume, ack) works through
1-byte and 7-byte slices with py-amqp (kombu), in-process and over TCP, and
with pika over TCP.  ``delay`` spaces the slices on the broker clock.
"""

from __future__ import annotations

import asyncio
import select
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import amqp
import kombu
import pika
import pytest
from pamqp import commands as C

from fakebroker import Node, Server
from fakebroker.core import Broker, SystemClock, VirtualClock
from fakebroker.faults import Rule
from fakebroker.fronts import ProtocolEngine
from fakebroker.fronts._pipe import Pipe
from fakebroker.fronts._protocol import amqp_engine_factory
from tests.amqp._client import PROTOCOL_HEADER, close, method_frame, start_ok

from ._front import Front, open_front
from .test_byte_cuts import CLOSE_OK, SCRIPT

SIZES = [1, 7]


def _reads_inproc(node: Node, data: bytes) -> list[bytes]:
    """Send ``data`` through a pipe at once; every read (65536 bytes asked each time) until
    EOF or close-ok (after which the broker, as RabbitMQ, leaves the socket to the client)."""
    pipe = Pipe(node=node)
    reads: list[bytes] = []
    got = bytearray()
    try:
        pipe.send(data)
        while not got.endswith(CLOSE_OK) and (chunk := pipe.recv(65536, timeout=5)):
            reads.append(chunk)
            got += chunk
    finally:
        pipe.close()
    return reads


def _read_tcp(port: int, data: bytes) -> bytes:
    got = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        while not got.endswith(CLOSE_OK) and (chunk := sock.recv(65536)):
            got += chunk
    return bytes(got)


@dataclass
class Recording:
    """An engine factory whose engines note what each ``data_to_send`` gave the front."""

    writes: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._make = amqp_engine_factory()

    def __call__(self, *, broker: Broker, peer: str, local: str) -> ProtocolEngine:
        engine = self._make(broker=broker, peer=peer, local=local)
        take = engine.data_to_send
        writes = self.writes

        def data_to_send() -> bytes:
            data = take()
            if data:
                writes.append(data)
            return data

        engine.data_to_send = data_to_send  # type: ignore[method-assign]
        return engine


@pytest.fixture
def recorded() -> Iterator[tuple[Server, Recording]]:
    """A TCP server whose engines record every write."""
    node = Node(clock=VirtualClock())
    recording = Recording()
    try:
        with Server(node=node, port=0, engine_factory=recording) as server:
            yield server, recording
    finally:
        node.close()


def _frames_end(data: bytes, count: int) -> int:
    """Where the ``count``-th frame of ``data`` ends."""
    pos = 0
    for _ in range(count):
        pos += 7 + int.from_bytes(data[pos + 3 : pos + 7], "big") + 1
    return pos


def _slices(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


# -- the bytes, as they leave -------------------------------------------------------------------


@pytest.mark.parametrize("size", [*SIZES, 1000])
def test_in_process_every_read_is_one_slice(size: int) -> None:
    with open_front("inproc") as front:
        full = b"".join(_reads_inproc(front.node, SCRIPT))
        rule = front.broker.faults.slicer(size)
        reads = _reads_inproc(front.node, SCRIPT)
    assert b"".join(reads) == full  # the same bytes, in order
    assert reads == _slices(full, size)  # each read one slice: size bytes, the last what is left
    assert rule.fired >= 1 and not rule.exhausted


@pytest.mark.parametrize("size", SIZES)
def test_over_tcp_every_write_is_one_slice(recorded: tuple[Server, Recording], size: int) -> None:
    server, recording = recorded
    full = _read_tcp(server.port, SCRIPT)
    assert max(len(w) for w in recording.writes) > size  # unsliced: whole frames at once
    recording.writes.clear()
    server.faults.slicer(size)
    assert _read_tcp(server.port, SCRIPT) == full
    assert recording.writes == _slices(full, size)


def test_a_slicer_matches_its_connection_only() -> None:
    with open_front("inproc") as front:
        full = b"".join(_reads_inproc(front.node, SCRIPT))
        front.broker.faults.slicer(1, connection="nobody*")
        assert _reads_inproc(front.node, SCRIPT) == [full]


def test_the_slicer_rule_removed_the_output_leaves_whole() -> None:
    with open_front("inproc") as front:
        rule = front.broker.faults.slicer(5)
        pipe = Pipe(node=front.node)
        pipe.send(PROTOCOL_HEADER)
        assert len(pipe.recv(65536, timeout=5)) == 5  # connection.start, sliced
        front.broker.faults.remove(rule)
        rest = pipe.recv(65536, timeout=5)  # what waited still leaves in slices ...
        assert len(rest) == 5
        pipe.send(start_ok())  # ... until new output comes: then everything at once
        tail = pipe.recv(65536, timeout=5)
        assert len(tail) > 5 and tail.endswith(b"\xce")
        pipe.close()


def test_a_byte_cut_counts_the_slices_as_they_leave() -> None:
    with open_front("inproc") as front:
        full = b"".join(_reads_inproc(front.node, SCRIPT))
        front.broker.faults.slicer(7)
        cut = front.broker.faults.drop_connection(after_bytes_sent=100)
        reads = _reads_inproc(front.node, SCRIPT)
    assert reads == _slices(full[:100], 7)  # exactly 100 bytes, in slices, then EOF
    assert cut.fired == 1


def test_a_reset_drops_what_the_slicer_holds() -> None:
    with open_front("inproc") as front:
        front.broker.faults.slicer(3)
        pipe = Pipe(node=front.node)
        pipe.send(_short_session()[: -len(method_frame(0, close()))])  # up to connection.open
        assert len(pipe.recv(65536, timeout=5)) == 3  # the first slice; the rest waits
        assert front.broker.faults.drop_connections() == 1
        with pytest.raises(ConnectionResetError):
            pipe.recv(65536, timeout=5)
        assert pipe.closed
        pipe.close()


def test_the_pipes_descriptor_stays_readable_while_slices_wait() -> None:
    """An event loop watching ``fileno()`` (kombu's hub) is woken for every slice."""
    with open_front("inproc") as front:
        front.broker.faults.slicer(10)
        pipe = Pipe(node=front.node)
        fd = pipe.fileno()
        pipe.send(PROTOCOL_HEADER)
        got = b""
        while len(got) < 100:
            assert select.select([fd], [], [], 0)[0] == [fd], len(got)
            got += pipe.recv(65536, timeout=0)
        pipe.close()


# -- spaced slices -----------------------------------------------------------------------------


def _short_session() -> bytes:
    """The handshake and connection.close only."""
    return b"".join(
        [
            PROTOCOL_HEADER,
            start_ok(),
            method_frame(0, C.Connection.TuneOk(channel_max=2047, frame_max=131072)),
            method_frame(0, C.Connection.Open(virtual_host="/")),
            method_frame(0, close()),
        ]
    )


def test_a_delay_spaces_the_slices_on_the_broker_clock() -> None:
    clock = VirtualClock(autojump=True)
    with open_front("inproc", clock=clock) as front:
        full = b"".join(_reads_inproc(front.node, _short_session()))
        front.broker.faults.slicer(16, delay=0.25)
        start = clock.now()
        reads = _reads_inproc(front.node, _short_session())
        spent = clock.now() - start
    assert reads == _slices(full, 16)
    assert spent == pytest.approx(0.25 * (len(reads) - 1))  # one gap between two slices


def test_a_delay_spaces_the_slices_over_tcp() -> None:
    node = Node(clock=SystemClock())
    try:
        with Server(node=node, port=0) as server:
            full = _read_tcp(server.port, _short_session())
            server.faults.slicer(64, delay=0.02)
            started = time.monotonic()
            assert _read_tcp(server.port, _short_session()) == full
            spent = time.monotonic() - started
    finally:
        node.close()
    gaps = len(_slices(full, 64)) - 1
    assert spent >= 0.02 * gaps  # real time: the gaps happened (no upper bound asked)


def test_latency_and_a_slicer_combine() -> None:
    clock = VirtualClock(autojump=True)
    with open_front("inproc", clock=clock) as front:
        full = b"".join(_reads_inproc(front.node, _short_session()))
        front.broker.faults.latency(2.0)
        front.broker.faults.slicer(16, delay=0.25)
        start = clock.now()
        reads = _reads_inproc(front.node, _short_session())
        spent = clock.now() - start
    assert reads == _slices(full, 16)
    # each burst of frames is held 2 s, then leaves in slices 0.25 s apart
    assert spent >= 2.0 + 0.25 * (len(_slices(full[: _frames_end(full, 1)], 16)) - 1)


def test_output_latency_holds_leaves_before_a_close() -> None:
    """connection.close-ok held by latency still reaches the client (it was lost before)."""
    clock = VirtualClock(autojump=True)
    with open_front("inproc", clock=clock) as front:
        full = b"".join(_reads_inproc(front.node, _short_session()))
        front.broker.faults.latency(2.0)
        start = clock.now()
        assert b"".join(_reads_inproc(front.node, _short_session())) == full
        assert clock.now() - start == pytest.approx(2.0)
    node = Node(clock=SystemClock())
    try:
        with Server(node=node, port=0) as server:
            server.faults.latency(0.05)
            assert _read_tcp(server.port, _short_session()) == full
    finally:
        node.close()


# -- clients through slices ----------------------------------------------------------------------


@pytest.fixture(params=["inproc", "tcp"])
def front(request: pytest.FixtureRequest) -> Iterator[Front]:
    with open_front(request.param) as f:
        yield f


@pytest.mark.parametrize("size", SIZES)
def test_kombu_publishes_consumes_and_acks_through_slices(front: Front, size: int) -> None:
    rule = front.broker.faults.slicer(size)
    queue = f"sliced-{uuid.uuid4().hex[:8]}"
    bodies = [b"x" * 3000, b"small", b"y" * 9000]
    with kombu.Connection(front.url, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        kq = kombu.Queue(queue, channel=channel, auto_delete=False)
        kq.declare()
        producer = conn.Producer(channel)
        for body in bodies:
            producer.publish(body, routing_key=queue, serializer=None, content_type="x/raw")
        got: list[bytes] = []

        def on_message(body: object, message: kombu.Message) -> None:
            got.append(message.body)
            message.ack()

        with conn.Consumer(kq, callbacks=[on_message], accept=["x/raw"]):
            while len(got) < len(bodies):
                conn.drain_events(timeout=10)
        assert got == bodies
        assert kq.queue_declare(passive=True).message_count == 0  # acked, gone
    assert rule.fired >= 1
    with front.locked():
        assert front.broker.get_queue(queue).message_count == 0


@pytest.mark.parametrize("size", SIZES)
def test_py_amqp_basic_get_through_slices(front: Front, size: int) -> None:
    front.broker.faults.slicer(size)
    conn = front.connect()
    try:
        ch = conn.channel()
        ch.queue_declare("sliced-get", auto_delete=False)
        ch.basic_publish(amqp.Message(b"z" * 5000), "", "sliced-get")
        msg = ch.basic_get("sliced-get")
        assert msg is not None and msg.body == b"z" * 5000
        ch.basic_ack(msg.delivery_tag)
        assert ch.basic_get("sliced-get") is None
    finally:
        conn.close()


@pytest.mark.parametrize("size", SIZES)
def test_pika_publishes_consumes_and_acks_through_slices(size: int) -> None:
    with open_front("tcp") as front:
        rule = front.broker.faults.slicer(size)
        host, port = front.host.split(":")
        params = pika.ConnectionParameters(host=host, port=int(port), socket_timeout=10)
        conn = pika.BlockingConnection(params)
        try:
            ch = conn.channel()
            ch.confirm_delivery()
            ch.queue_declare("sliced-pika")
            bodies = [b"p" * 4000, b"q", b"r" * 7000]
            for body in bodies:
                ch.basic_publish("", "sliced-pika", body)
            got = []
            for _method, _props, body in ch.consume("sliced-pika", inactivity_timeout=10):
                assert _method is not None, "nothing came in 10 s"
                got.append(body)
                ch.basic_ack(_method.delivery_tag)
                if len(got) == len(bodies):
                    break
            ch.cancel()
            assert got == bodies
            assert ch.queue_declare("sliced-pika", passive=True).method.message_count == 0
        finally:
            conn.close()
        assert rule.fired >= 1


@pytest.mark.parametrize("size", SIZES)
def test_aio_pika_consumes_through_slices(size: int) -> None:
    aio_pika = pytest.importorskip("aio_pika")
    bodies = [b"a" * 3000, b"b", b"c" * 5000]

    async def session(url: str) -> list[bytes]:
        connection = await aio_pika.connect(url, timeout=10)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue("sliced-aio")
            for body in bodies:
                await channel.default_exchange.publish(aio_pika.Message(body), "sliced-aio")
            got = []
            async with queue.iterator() as messages:
                async for message in messages:
                    await message.ack()
                    got.append(message.body)
                    if len(got) == len(bodies):
                        break
            return got

    with open_front("tcp") as front:
        rule = front.broker.faults.slicer(size)
        assert asyncio.run(asyncio.wait_for(session(front.url), 30)) == bodies
        with front.locked():
            assert front.broker.get_queue("sliced-aio").message_count == 0
    assert rule.fired >= 1


# -- the rule ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"action": "slice", "point": "frame_sending"}, "needs size=N"),
        ({"action": "slice", "point": "frame_sending", "size": 0}, "size must be at least 1"),
        ({"action": "slice", "point": "frame_sending", "size": 2.5}, "integer"),
        ({"action": "slice", "point": "bytes_sent", "size": 4, "bytes": 9}, "cannot happen"),
        ({"action": "latency", "point": "frame_sending", "delay": 1, "size": 4}, "only a slice"),
        ({"action": "slice", "point": "frame_sending", "size": 4, "delay": -1}, "delay must"),
    ],
)
def test_invalid_slice_rules_are_refused(fields: dict[str, object], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Rule(**fields)  # type: ignore[arg-type]


def test_the_builder_makes_an_unlimited_frame_sending_rule() -> None:
    with open_front("inproc") as front:
        rule = front.broker.faults.slicer(7, delay=0.5)
    assert (rule.action, rule.point, rule.size, rule.delay, rule.times) == (
        "slice",
        "frame_sending",
        7,
        0.5,
        None,
    )
    assert rule.describe()["size"] == 7
