"""RabbitMQ's firehose as the record of what a test published and what was delivered.

With tracing on for a vhost, RabbitMQ republishes every publish to
``amq.rabbitmq.trace`` with routing key ``publish.<exchange>`` and every
delivery with ``deliver.<queue>``; headers carry ``exchange_name``,
``routing_keys``, the message's ``properties`` and (deliveries)
``redelivered``.  One consumer on a private queue bound to both collects
them.  Deliveries to RabbitMQ's internal connections (the management API's
gets, which :meth:`messages` uses) are left out.

Publishes reach the trace asynchronously, so before each read the tracer
publishes a barrier message of its own and reads until its trace arrives:
everything the broker handled before the barrier is then in.  What a client
wrote just before (a publish and a close) may still be on its way through
RabbitMQ's reader, so a read repeats the barrier until one, a moment after
the last, brings nothing new.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from ..core import Message
from ._matching import Record

__all__ = ["BARRIER_PREFIX", "CONNECTION_NAME", "QUEUE_PREFIX", "Firehose"]

TRACE_EXCHANGE = "amq.rabbitmq.trace"
BARRIER_PREFIX = "fakebroker.barrier."
#: The tracer's queue and connection, which the inspection API leaves out.
QUEUE_PREFIX = "fakebroker.firehose."
CONNECTION_NAME = "fakebroker firehose"
#: How long a barrier may take to come back (seconds).
BARRIER_TIMEOUT = 10.0
#: Bytes a client wrote just before closing may still be in RabbitMQ's reader:
#: reads repeat the barrier until one this long after the last brings nothing new.
QUIET = 0.03
#: The longest a read waits for the trace to go quiet (seconds).
QUIET_LIMIT = 1.0


class Firehose:
    """One py-amqp connection that consumes the firehose of ``vhost``."""

    def __init__(self, *, host: str, port: int, user: str, password: str, vhost: str) -> None:
        import amqp

        self._conn = amqp.Connection(
            host=f"{host}:{port}",
            userid=user,
            password=password,
            virtual_host=vhost,
            connect_timeout=BARRIER_TIMEOUT,
            client_properties={"connection_name": CONNECTION_NAME},
        )
        self._conn.connect()
        self._channel = self._conn.channel()
        queue = QUEUE_PREFIX + uuid.uuid4().hex
        self._channel.queue_declare(queue, exclusive=True, auto_delete=True)
        for pattern in ("publish.#", "deliver.#"):
            self._channel.queue_bind(queue, TRACE_EXCHANGE, pattern)
        self._channel.basic_consume(queue, no_ack=True, callback=self._on_trace)
        self.records: dict[str, list[Record]] = {"published": [], "delivered": []}
        #: When (monotonic) the last delivery from each queue was seen.
        self.delivered_at: dict[str, float] = {}
        self._barriers_seen: set[str] = set()

    @property
    def connection(self) -> Any:
        """The tracer's py-amqp connection (for passive declares on other channels)."""
        return self._conn

    def settle(self) -> None:
        """Read the trace until a barrier :data:`QUIET` seconds after the last brings nothing."""
        limit = time.monotonic() + QUIET_LIMIT
        self.sync()
        while time.monotonic() < limit:
            before = self._count()
            threading.Event().wait(QUIET)  # no event says RabbitMQ's readers are done
            self.sync()
            if self._count() == before:
                return

    def _count(self) -> int:
        return sum(len(records) for records in self.records.values())

    def sync(self) -> None:
        """Read the trace up to a barrier published now."""
        import amqp

        token = BARRIER_PREFIX + uuid.uuid4().hex
        self._channel.basic_publish(amqp.Message(b""), exchange="", routing_key=token)
        limit = time.monotonic() + BARRIER_TIMEOUT
        while token not in self._barriers_seen:
            remaining = limit - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"RabbitMQ's firehose did not answer within {BARRIER_TIMEOUT} s")
            try:
                self._conn.drain_events(timeout=remaining)
            except TimeoutError:
                continue
        self._barriers_seen.discard(token)

    def _on_trace(self, trace: Any) -> None:
        key: str = trace.delivery_info["routing_key"]
        headers = trace.properties.get("application_headers") or {}
        keys = list(headers.get("routing_keys") or [""])
        routing_key = str(keys[0])
        if routing_key.startswith(BARRIER_PREFIX):
            self._barriers_seen.add(routing_key)
            return
        body = trace.body if isinstance(trace.body, bytes) else bytes(trace.body, "utf-8")
        properties = dict(headers.get("properties") or {})
        message = Message(str(headers.get("exchange_name", "")), routing_key, properties, body)
        if key.startswith("publish."):
            self.records["published"].append(Record(message))
        elif key.startswith("deliver.") and not _internal(headers):
            queue = key[len("deliver.") :]
            fields = {"queue": queue, "redelivered": bool(headers.get("redelivered"))}
            self.records["delivered"].append(Record(message, fields))
            self.delivered_at[queue] = time.monotonic()

    def close(self) -> None:
        """Close the tracer's connection (errors ignored: the vhost may be gone)."""
        try:
            self._conn.close()
        except Exception:
            self._conn.collect()


def _internal(headers: dict[str, Any]) -> bool:
    """A delivery to an Erlang-internal ("direct") connection: the management API's own gets.

    Network clients' connections are named ``"PEER -> LOCAL"``; direct ones ``"<pid>"``.
    """
    return str(headers.get("connection", "")).startswith("<")
