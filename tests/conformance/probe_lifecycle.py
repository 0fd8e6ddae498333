"""Ask the real RabbitMQ what clients see on a restart and under a resource alarm.

Standalone script (not collected by pytest); it needs ``rabbitmqctl`` for the
RabbitMQ at 127.0.0.1:5672 and changes that server for a few seconds:

- ``restart``: ``rabbitmqctl stop_app`` then ``start_app`` (and ``await_startup``);
- ``alarm``: ``rabbitmqctl set_vm_memory_high_watermark 0``, restored to 0.4
  in a ``finally``.

Usage::

    python tests/conformance/probe_lifecycle.py [restart] [alarm]

It prints what each connection received, as JSON.  The facts are in
docs/rabbitmq-facts.md, section 29 "Restart and resource alarms".
"""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import amqp
import pika
from amqp import spec

HOST = "127.0.0.1:5672"
PREFIX = f"probe-{secrets.token_hex(3)}-"
#: How long a connection is watched for frames the server sends on its own.
WATCH = 3.0


class NotCapable(amqp.Connection):  # type: ignore[misc]
    """A py-amqp client that does not announce the connection.blocked capability."""

    negotiate_capabilities = {
        k: v for k, v in amqp.Connection.negotiate_capabilities.items() if k != "connection.blocked"
    }


def ctl(*args: str) -> str:
    """Run ``rabbitmqctl`` and return its output (raises when it fails)."""
    done = subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


def delete_queue(queue: str) -> None:
    """Delete ``queue`` (best effort: the probe's own leftovers)."""
    with contextlib.suppress(Exception):
        cleanup = amqp.Connection(host=HOST)
        cleanup.connect()
        cleanup.channel().queue_delete(queue)
        cleanup.close()


class Watched:
    """A py-amqp connection that records connection.blocked / unblocked as they arrive."""

    def __init__(self, name: str, *, capable: bool = True) -> None:
        self.name = name
        self.events: list[tuple[float, str]] = []
        props: dict[str, Any] = {"connection_name": PREFIX + name}
        self.conn = (amqp.Connection if capable else NotCapable)(
            host=HOST,
            client_properties=props,
            on_blocked=lambda reason: self.events.append((time.monotonic(), f"blocked {reason}")),
            on_unblocked=lambda: self.events.append((time.monotonic(), "unblocked")),
        )
        self.conn.connect()
        self.ch = self.conn.channel()

    def drain(self, seconds: float) -> None:
        """Read whatever the server sends during ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            with contextlib.suppress(TimeoutError, OSError):
                self.conn.drain_events(timeout=left)

    def seen(self) -> list[str]:
        """The events so far, without their times."""
        return [what for _, what in self.events]


def probe_restart() -> dict[str, Any]:
    """What a client reads when the broker application stops (read raw, nothing sent back).

    The socket of an open py-amqp connection (a consumer) is read directly
    while ``stop_app`` runs: every byte, then how the stream ended (EOF is a
    FIN, ConnectionResetError an RST).
    """
    conn = amqp.Connection(host=HOST, client_properties={"connection_name": PREFIX + "restart"})
    conn.connect()
    ch = conn.channel()
    queue = PREFIX + "restart-q"
    ch.queue_declare(queue, auto_delete=False)
    ch.basic_consume(queue, callback=lambda message: None)
    sock = conn.transport.sock
    sock.settimeout(60)
    received: list[bytes] = []
    answer: dict[str, Any] = {}

    def read() -> None:
        try:
            while data := sock.recv(65536):
                received.append(data)
            answer["end"] = "EOF (FIN)"
        except OSError as error:
            answer["end"] = repr(error)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        ctl("stop_app")
        reader.join(30)
    finally:
        ctl("start_app")
        ctl("await_startup")
    data = b"".join(received)
    answer["bytes"] = repr(data)
    if data[:1] == b"\x01" and data[7:11] == b"\x00\x0a\x00\x32":  # connection.close
        code = int.from_bytes(data[11:13], "big")
        size = data[13]
        text = data[14 : 14 + size].decode()
        ids = data[14 + size : 18 + size]
        answer["close"] = {
            "reply_code": code,
            "reply_text": text,
            "class_id": int.from_bytes(ids[:2], "big"),
            "method_id": int.from_bytes(ids[2:], "big"),
        }
    with contextlib.suppress(Exception):
        sock.close()
    delete_queue(queue)
    return answer


@contextlib.contextmanager
def memory_alarm() -> Iterator[None]:
    """A memory alarm in force for the block (the watermark is always restored)."""
    try:
        ctl("set_vm_memory_high_watermark", "0")
        yield
    finally:
        ctl("set_vm_memory_high_watermark", "0.4")


def probe_alarm() -> dict[str, Any]:
    """Who gets connection.blocked, and when; what happens to publishes and deliveries."""
    queue = PREFIX + "alarm-q"
    idle = Watched("idle")
    consumer = Watched("consumer")
    earlier = Watched("published-before")  # published once before the alarm, then idle
    publisher = Watched("publisher")
    mute = Watched("publisher-not-capable", capable=False)
    every = (idle, consumer, earlier, publisher, mute)
    consumer.ch.queue_declare(queue, auto_delete=False)
    earlier.ch.basic_publish(amqp.Message(b"before"), routing_key=queue)
    consumer.ch.basic_publish(amqp.Message(b"ready"), routing_key=queue)
    publisher.ch.confirm_select()
    acks: list[int] = []
    publisher.ch.events["basic_ack"].add(lambda tag, multiple: acks.append(tag))
    got: list[bytes] = []
    facts: dict[str, Any] = {}
    pika_conn: pika.BlockingConnection | None = None
    try:
        with memory_alarm():
            raised = time.monotonic()
            for c in every:
                c.drain(WATCH / len(every))
            facts["after alarm raised, nobody published"] = {c.name: c.seen() for c in every}
            consumer.ch.basic_consume(queue, callback=lambda m: got.append(m.body), no_ack=True)
            consumer.drain(1.0)
            facts["consumer: basic.consume under the alarm, deliveries"] = [g.decode() for g in got]
            facts["consumer events after consuming"] = consumer.seen()
            publisher.ch.basic_publish(amqp.Message(b"held"), routing_key=queue)
            mute.ch.basic_publish(amqp.Message(b"held-mute"), routing_key=queue)
            publisher.drain(WATCH)
            mute.drain(1.0)
            consumer.drain(1.0)
            pika_conn, reasons = pika_reason(queue)
            facts["pika publisher: connection.blocked reason"] = reasons
            facts["blocked publisher answers a passive queue.declare"] = still_reads(
                publisher, queue
            )
            facts["after publishing under the alarm"] = {c.name: c.seen() for c in every}
            facts["deliveries while alarm in force"] = [g.decode() for g in got]
            facts["publisher confirms while alarm in force"] = list(acks)
            times = {c.name: [round(t - raised, 2) for t, _ in c.events] for c in every}
            facts["event times (s after the alarm was raised)"] = times
        with contextlib.suppress(TimeoutError):
            publisher.ch.wait(spec.Queue.DeclareOk, timeout=WATCH)
            facts["passive queue.declare answered after clearing"] = True
        for c in every:
            c.drain(WATCH / len(every))
        consumer.drain(1.0)
        facts["after the alarm cleared"] = {c.name: c.seen() for c in every}
        facts["deliveries after clearing"] = [g.decode() for g in got]
        facts["publisher confirms after clearing"] = list(acks)
    finally:
        for c in every:
            with contextlib.suppress(Exception):
                c.conn.close()
        if pika_conn is not None:
            with contextlib.suppress(Exception):
                pika_conn.close()
        delete_queue(queue)
    return facts


def pika_reason(queue: str) -> tuple[pika.BlockingConnection, list[str]]:
    """The reason text of connection.blocked, as pika reads it (py-amqp hides it).

    The connection is returned open: a blocked connection is not read, so
    connection.close would wait for close-ok until the alarm clears.
    """
    reasons: list[str] = []
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672))
    conn.add_on_connection_blocked_callback(
        lambda _conn, frame: reasons.append(frame.method.reason)
    )
    conn.channel().basic_publish("", queue, b"held-pika")
    conn.process_data_events(time_limit=WATCH)
    return conn, reasons


def still_reads(watched: Watched, queue: str) -> bool:
    """Whether a blocked connection still reads: a passive queue.declare, answered?"""
    args = (0, queue, True, False, False, False, False, {})
    watched.ch.send_method(spec.Queue.Declare, "BsbbbbbF", args)
    try:
        watched.ch.wait(spec.Queue.DeclareOk, timeout=WATCH)
    except TimeoutError:
        return False
    return True


def main() -> None:
    """Run the probes named on the command line (default: both)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run the finally blocks
    wanted = sys.argv[1:] or ["restart", "alarm"]
    out: dict[str, Any] = {"version": ctl("version").strip(), "date": time.strftime("%Y-%m-%d")}
    if "alarm" in wanted:
        out["alarm"] = probe_alarm()
    if "restart" in wanted:
        out["restart"] = probe_restart()
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
