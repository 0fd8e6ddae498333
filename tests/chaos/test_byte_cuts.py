"""Cuts at the byte level: aio-pika's robust connection consumes through doubling cuts.

A proxy (tests/chaos/_cutproxy.py, Toxiproxy's limit_data) sits in front of
the server and cuts the k-th connection after 64 x 2^(k//2) bytes, upstream
and downstream in turn, the handshake included, up to 64 KiB; later
connections pass. 100 messages of 12 kB wait in a queue; a robust aio-pika
consumer (manual acks, prefetch 10) must end with every one of them. The same
run goes against fakebroker serve and the real RabbitMQ, and fakebroker must
recover at least as well as RabbitMQ does.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from dataclasses import dataclass, field

import amqp
import pytest

import fakebroker

from ._cutproxy import CutProxy, doubling_cuts

aio_pika = pytest.importorskip("aio_pika")

MESSAGES = 100
BODY = b"c" * 12_000
DEADLINE = 60.0
RABBITMQ = ("127.0.0.1", 5672)


@dataclass
class Outcome:
    received: set[str] = field(default_factory=set)
    deliveries: int = 0
    connect_attempts: int = 0
    setup_retries: int = 0
    cuts: int = 0
    seconds: float = 0.0

    @property
    def recovered(self) -> bool:
        return len(self.received) == MESSAGES


def _fill(address: tuple[str, int], queue: str) -> set[str]:
    conn = amqp.Connection(host=f"{address[0]}:{address[1]}", heartbeat=0, confirm_publish=True)
    conn.connect()
    ch = conn.channel()
    ch.queue_declare(queue, durable=False, auto_delete=False)
    ids = set()
    for _ in range(MESSAGES):
        ident = uuid.uuid4().hex
        ids.add(ident)
        ch.basic_publish(amqp.Message(BODY, message_id=ident), "", queue)
    conn.close()
    return ids


def _delete(address: tuple[str, int], queue: str) -> None:
    conn = amqp.Connection(host=f"{address[0]}:{address[1]}", heartbeat=0)
    conn.connect()
    conn.channel().queue_delete(queue)
    conn.close()


async def _consume_through(proxy: CutProxy, queue: str, outcome: Outcome) -> None:
    await consume(f"amqp://guest:guest@127.0.0.1:{proxy.port}/", queue, outcome)


async def consume(url: str, queue: str, outcome: Outcome) -> None:
    """A robust aio-pika consumer (manual acks, prefetch 10) takes ``queue`` to the end,
    reconnecting and setting up again after every cut, within :data:`DEADLINE`."""
    started = time.monotonic()
    connection = None
    while connection is None and time.monotonic() - started < DEADLINE:
        outcome.connect_attempts += 1
        try:
            connection = await aio_pika.connect_robust(url, reconnect_interval=0.05, timeout=5)
        except Exception:  # the cut hit the handshake: try again, as an application would
            await asyncio.sleep(0.05)  # an application's back-off (real time, aio-pika's own)
    assert connection is not None, "never connected"
    done = asyncio.Event()

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        outcome.deliveries += 1
        outcome.received.add(message.message_id or "?")
        with contextlib.suppress(Exception):  # a cut took the channel: it comes back
            await message.ack()
        if len(outcome.received) == MESSAGES:
            done.set()

    async with connection:
        while time.monotonic() - started < DEADLINE:
            try:  # a cut during set-up fails the call: an application tries again
                channel = await connection.channel()
                await channel.set_qos(prefetch_count=10)
                declared = await channel.declare_queue(queue, passive=True)
                await declared.consume(on_message)
                break
            except Exception:
                outcome.setup_retries += 1
                await asyncio.sleep(0.05)  # as above: the application's back-off
        left = DEADLINE - (time.monotonic() - started)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=max(left, 0.1))
    outcome.seconds = time.monotonic() - started


def _run(address: tuple[str, int]) -> Outcome:
    queue = f"chaos-bytes-{uuid.uuid4().hex[:8]}"
    sent = _fill(address, queue)
    outcome = Outcome()
    try:
        with CutProxy(target=address, limits=doubling_cuts(64, 65536)) as proxy:
            asyncio.run(_consume_through(proxy, queue, outcome))
            outcome.cuts = proxy.cuts
    finally:
        _delete(address, queue)
    assert outcome.received <= sent, "a message nobody published"
    return outcome


def _rabbitmq_up() -> bool:
    try:
        socket.create_connection(RABBITMQ, timeout=1).close()
    except OSError:
        return False
    return True


def test_robust_consumer_recovers_through_byte_cuts_as_on_rabbitmq() -> None:
    with fakebroker.serve(port=0) as server:
        fake = _run(("127.0.0.1", server.port))
    assert fake.cuts >= 10, fake
    assert fake.recovered, f"fakebroker: {len(fake.received)}/{MESSAGES} after {fake}"
    if not _rabbitmq_up():
        pytest.skip("RabbitMQ is not reachable at 127.0.0.1:5672: compared with nothing")
    real = _run(RABBITMQ)
    assert fake.recovered >= real.recovered, (fake, real)
