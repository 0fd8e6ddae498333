"""A resource alarm, observed the same way on fakebroker (both fronts) and on RabbitMQ.

What RabbitMQ 3.10.8 does (docs/rabbitmq-facts.md, section 29):
connection.blocked goes to a connection only once it publishes, never to one
that is idle, only consumes, or published before the alarm; the publish is
held (not routed, not confirmed) and the blocked connection is not read any
more; a client without the ``connection.blocked`` capability is held without
a word; consumers keep receiving; connection.unblocked goes only to the
connections that were told they were blocked.

The ``rabbitmq`` case raises a real memory alarm (``rabbitmqctl
set_vm_memory_high_watermark 0``, restored to 0.4 in a ``finally``); it is
skipped when RabbitMQ or rabbitmqctl is not there, and in a parallel run
(``-n``), where the node-wide alarm would hold other workers' publishes,
unless FAKEBROKER_RABBITMQ_ALARMS=1.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import amqp
import pytest
from amqp import spec

from fakebroker.testing._idle import wait_for

from ._front import open_front, without_blocked_capability

RABBITMQ = ("127.0.0.1", 5672)
Connect = Callable[..., amqp.Connection]

#: What each connection saw; the same on RabbitMQ 3.10.8 and on fakebroker.
EXPECTED = {
    "events after the alarm, before anyone publishes": {
        "idle": [],
        "consumer": [],
        "published-before": [],
        "publisher": [],
        "mute-publisher": [],
    },
    "deliveries to a consumer started under the alarm": ["before", "ready"],
    "events after publishing under the alarm": {
        "idle": [],
        "consumer": [],
        "published-before": [],
        "publisher": ["blocked"],
        "mute-publisher": [],
    },
    "deliveries and confirms while the alarm lasts": ([], []),
    "the blocked publisher answers a passive queue.declare": False,
    "it answers once the alarm clears": True,
    "events after the alarm cleared": {
        "idle": [],
        "consumer": [],
        "published-before": [],
        "publisher": ["blocked", "unblocked"],
        "mute-publisher": [],
    },
    "deliveries and confirms after the alarm cleared": (["held", "held-mute"], [1]),
}


def _reachable() -> bool:
    try:
        socket.create_connection(RABBITMQ, timeout=1.0).close()
    except OSError:
        return False
    return shutil.which("rabbitmqctl") is not None


def _ctl(*args: str) -> str:
    done = subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def _parallel() -> bool:
    """Whether other pytest-xdist workers may be using RabbitMQ at the same time."""
    return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1


@contextlib.contextmanager
def _backend(kind: str) -> Iterator[tuple[Connect, Callable[[bool], None], float]]:
    """connect(blocked_capability=, **options), set_alarm(on), and how long to watch."""
    if kind != "rabbitmq":
        with open_front(kind) as front:
            faults = front.broker.faults
            yield (
                front.connect,
                lambda on: faults.raise_alarm() if on else faults.clear_alarm(),
                0.2,
            )
        return
    if not _reachable():
        pytest.skip("RabbitMQ (with rabbitmqctl) is not reachable at 127.0.0.1:5672")
    if _parallel() and not os.environ.get("FAKEBROKER_RABBITMQ_ALARMS"):
        pytest.skip(
            "raises a node-wide memory alarm on the shared RabbitMQ, which would hold other "
            "workers' publishes: run this file without -n, or set FAKEBROKER_RABBITMQ_ALARMS=1"
        )

    def connect(*, blocked_capability: bool = True, **options: Any) -> amqp.Connection:
        cls = amqp.Connection if blocked_capability else without_blocked_capability(amqp.Connection)
        conn = cls(host=f"{RABBITMQ[0]}:{RABBITMQ[1]}", **options)
        conn.connect()
        return conn

    def set_alarm(on: bool) -> None:
        _ctl("set_vm_memory_high_watermark", "0" if on else "0.4")
        wait_for(lambda: ("Memory alarm" in _ctl("status")) == on, 30)

    try:
        yield connect, set_alarm, 1.5
    finally:
        _ctl("set_vm_memory_high_watermark", "0.4")


class Watched:
    """One connection, its channel, and the connection.blocked / unblocked it received."""

    def __init__(self, connect: Connect, *, capable: bool = True) -> None:
        self.events: list[str] = []
        self.conn = connect(
            blocked_capability=capable,
            on_blocked=lambda reason: self.events.append("blocked"),  # py-amqp hides the reason
            on_unblocked=lambda: self.events.append("unblocked"),
        )
        self.ch = self.conn.channel()

    def watch(self, seconds: float) -> list[str]:
        """Read what the server sends for ``seconds``; the events so far."""
        with contextlib.suppress(TimeoutError):
            while True:
                self.conn.drain_events(timeout=seconds)
        return list(self.events)

    def passive_declare(self, queue: str, seconds: float) -> bool:
        """Send queue.declare(passive) and say whether declare-ok came within ``seconds``."""
        args = (0, queue, True, False, False, False, False, {})
        self.ch.send_method(spec.Queue.Declare, "BsbbbbbF", args)
        return self.answered(seconds)

    def answered(self, seconds: float) -> bool:
        """Whether the pending queue.declare-ok arrives within ``seconds``."""
        try:
            self.ch.wait(spec.Queue.DeclareOk, timeout=seconds)
        except TimeoutError:
            return False
        return True


def observe_alarm(
    connect: Connect, set_alarm: Callable[[bool], None], watch: float
) -> dict[str, Any]:
    """Run the scenario of ``tests/conformance/probe_lifecycle.py alarm``; what was seen."""
    queue = f"alarm-facts-{uuid.uuid4().hex[:8]}"
    names = ("idle", "consumer", "published-before", "publisher", "mute-publisher")
    conns = {n: Watched(connect, capable=n != "mute-publisher") for n in names}
    consumer, publisher, mute = conns["consumer"], conns["publisher"], conns["mute-publisher"]
    consumer.ch.queue_declare(queue, auto_delete=False)
    for name, body in (("published-before", b"before"), ("consumer", b"ready")):
        conns[name].ch.basic_publish(amqp.Message(body), routing_key=queue)
        conns[name].ch.queue_declare(queue, passive=True)  # the publish was handled
    publisher.ch.confirm_select()
    acks: list[int] = []
    publisher.ch.events["basic_ack"].add(lambda tag, multiple: acks.append(tag))
    got: list[str] = []
    seen: dict[str, Any] = {}

    def events() -> dict[str, list[str]]:
        return {n: c.watch(watch / len(names)) for n, c in conns.items()}

    try:
        set_alarm(True)
        seen["events after the alarm, before anyone publishes"] = events()
        consumer.ch.basic_consume(
            queue, callback=lambda m: got.append(m.body.decode()), no_ack=True
        )
        consumer.watch(watch)
        seen["deliveries to a consumer started under the alarm"] = sorted(got)
        got.clear()
        publisher.ch.basic_publish(amqp.Message(b"held"), routing_key=queue)
        mute.ch.basic_publish(amqp.Message(b"held-mute"), routing_key=queue)
        seen["events after publishing under the alarm"] = events()
        seen["deliveries and confirms while the alarm lasts"] = (sorted(got), list(acks))
        answered = publisher.passive_declare(queue, watch)
        seen["the blocked publisher answers a passive queue.declare"] = answered
    finally:
        set_alarm(False)
    seen["it answers once the alarm clears"] = answered or publisher.answered(10 * watch)
    mute.ch.queue_declare(queue, passive=True)  # its held publish was handled by now
    seen["events after the alarm cleared"] = events()
    seen["deliveries and confirms after the alarm cleared"] = (sorted(got), list(acks))
    consumer.conn.close()
    conns["idle"].ch.queue_delete(queue)
    for c in conns.values():
        c.conn.close()
    return seen


@pytest.mark.parametrize("kind", ["inproc", "tcp", "rabbitmq"])
def test_a_resource_alarm_blocks_a_connection_only_when_it_publishes(kind: str) -> None:
    with _backend(kind) as (connect, set_alarm, watch):
        assert observe_alarm(connect, set_alarm, watch) == EXPECTED
