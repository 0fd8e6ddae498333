"""A real RabbitMQ as a test backend: a fresh vhost per test, inspected for real.

Each test gets a vhost of its own, made through the management API
(``fakebroker-test-<host>-<pid>-<random>``), its user granted every
permission, its firehose on; the vhost is deleted after the test, and a new
session deletes those a dead process left behind (:func:`sweep`).

The inspection API reads the broker: queues, exchanges, bindings, consumers
and connections through the management API (ready counts and consumers of a
queue through a passive queue.declare, which is exact; unacknowledged counts
are RabbitMQ's statistics, up to ``collect_statistics_interval`` late),
``messages()`` through a management get that requeues (RabbitMQ then marks
the messages redelivered), ``published()`` and deliveries from the firehose,
dead letters from ``x-death``.  Virtual time and faults are fakebroker's
alone: :class:`EmulatorOnly` says so.
"""

from __future__ import annotations

import base64
import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

from .._urls import amqp_url, parse_amqp_url
from ..core import BindingInfo, Message, QueueInfo
from ._assertions import Assertions
from ._firehose import CONNECTION_NAME, QUEUE_PREFIX, Firehose
from ._idle import ConnectionSet
from ._idle import wait_for as _wait_for
from ._management import ManagementAPI, ManagementError
from ._matching import Record, Views, no_such

__all__ = ["VHOST_PREFIX", "EmulatorOnly", "RabbitMQHandle", "RealClock", "sweep"]

VHOST_PREFIX = "fakebroker-test-"
#: How long run_until_idle waits for nothing more to arrive (seconds).
QUIET = 0.05
#: RabbitMQ refreshes statistics every 5 s by default (collect_statistics_interval);
#: acks are read from them, in a refresh taken after the last delivery.
STATS_INTERVAL = 5.5
MARK_HINT = (
    "this test runs on a real RabbitMQ (--broker={url}); mark it "
    "@pytest.mark.fake_only(reason=...) so that it is skipped there"
)


class EmulatorOnly(RuntimeError):
    """A part of the API only fakebroker has (virtual time, faults, the journal)."""


def _host_tag() -> str:
    return "".join(c if c.isalnum() else "-" for c in socket.gethostname())[:20]


def vhost_name() -> str:
    """A new test vhost's name: the prefix, this host and pid, and a random part."""
    return f"{VHOST_PREFIX}{_host_tag()}-{os.getpid()}-{uuid.uuid4().hex[:10]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(api: ManagementAPI) -> list[str]:
    """Delete the test vhosts of processes of this host that are gone; return their names."""
    mine = f"{VHOST_PREFIX}{_host_tag()}-"
    gone = []
    for vhost in api.vhosts():
        name = str(vhost["name"])
        pid = name[len(mine) :].split("-", 1)[0] if name.startswith(mine) else ""
        if pid.isdigit() and not _alive(int(pid)):
            api.delete_vhost(name)
            gone.append(name)
    return gone


class RealClock:
    """A real broker's clock: real time, which a test cannot move."""

    def __init__(self, *, url: str) -> None:
        self._url = url

    def now(self) -> float:
        """Seconds on the monotonic clock."""
        return time.monotonic()

    def advance(self, seconds: float) -> None:
        """Refuse: virtual time is fakebroker's alone."""
        raise EmulatorOnly(
            f"broker.clock.advance({seconds!r}) needs fakebroker's virtual clock; "
            + MARK_HINT.format(url=self._url)
        )


class RabbitMQHandle(Assertions):
    """A real RabbitMQ for one test, with the same clients and inspection as fakebroker's."""

    kind = "amqp"

    def __init__(self, *, url: str, management: ManagementAPI, test_id: str = "") -> None:
        self._base = parse_amqp_url(url)
        self._given_url = url
        self._management = management
        self._connections = ConnectionSet()
        self._finalizers: list[Callable[[], None]] = []
        self.test_id = test_id
        self.name: str | None = None
        self.user = (self._base["user"], self._base["password"])
        self.vhost = vhost_name()
        management.create_vhost(self.vhost, tracing=True)
        self.add_finalizer(lambda: management.delete_vhost(self.vhost))
        management.grant(self.vhost, self.user[0])
        base = self._base
        self.url = amqp_url(
            host=base["host"],
            port=base["port"],
            user=base["user"],
            password=base["password"],
            vhost=self.vhost,
        )
        self._firehose = Firehose(
            host=base["host"],
            port=base["port"],
            user=base["user"],
            password=base["password"],
            vhost=self.vhost,
        )
        self.add_finalizer(self._firehose.close)

    def __repr__(self) -> str:
        return f"<RabbitMQHandle {self.url}>"

    # -- what fakebroker alone has ------------------------------------------------------------

    def _emulator_only(self, what: str) -> EmulatorOnly:
        hint = MARK_HINT.format(url=self._given_url)
        return EmulatorOnly(f"{what} is fakebroker's alone; {hint}")

    @property
    def clock(self) -> RealClock:
        """Real time: ``advance()`` raises :class:`EmulatorOnly`."""
        return RealClock(url=self._given_url)

    @property
    def faults(self) -> Any:
        """Raises :class:`EmulatorOnly`: faults cannot be injected into a real broker."""
        raise self._emulator_only("broker.faults (fault injection)")

    def journal(self, kind: str | None = None, **match: Any) -> Any:
        """Raises :class:`EmulatorOnly`: use ``published()`` and the ``assert_*`` helpers."""
        raise self._emulator_only("broker.journal()")

    # -- clients ------------------------------------------------------------------------------

    @property
    def amqp_url(self) -> str:
        """The same as :attr:`url` (a real RabbitMQ always has a socket)."""
        return self.url

    def serve(self) -> str:
        """The URL: a real RabbitMQ is already on a socket."""
        return self.url

    def unique(self, name: str) -> str:
        """``name`` itself: the vhost is the test's own."""
        return name

    def connection(self, **options: Any) -> Any:
        """A :class:`kombu.Connection` to the test's vhost (closed after the test)."""
        from kombu import connection

        factory: Any = connection.Connection
        return self._connections.add(factory(self.url, **options))

    def amqp_connection(self, **options: Any) -> Any:
        """A connected py-amqp :class:`amqp.Connection` to the test's vhost."""
        import amqp

        conn = amqp.Connection(
            host=f"{self._base['host']}:{self._base['port']}",
            virtual_host=self.vhost,
            userid=self.user[0],
            password=self.user[1],
            **options,
        )
        conn.connect()
        return self._connections.add(conn)

    # -- waiting ------------------------------------------------------------------------------

    def run_until_idle(self, timeout: float = 10.0) -> int:
        """Drain the test's connections until nothing arrives for a moment; return events handled.

        A real broker has no "idle" to ask for: this reads every connection
        made with :meth:`connection` until a round of ``QUIET`` seconds
        brings nothing.
        """
        handled = 0
        limit = time.monotonic() + timeout
        while True:
            progressed = sum(_drain(c) for c in self._connections.live())
            handled += progressed
            if not progressed:
                return handled
            if time.monotonic() > limit:
                raise TimeoutError(f"RabbitMQ still delivering after {timeout} s")

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Poll ``predicate`` in real time until truthy; return its value (TimeoutError after)."""
        return _wait_for(predicate, timeout)

    def settle(self) -> None:
        """Wait until what clients sent before now is handled: barriers through the firehose."""
        self._firehose.settle()

    # -- topology -----------------------------------------------------------------------------

    @property
    def queues(self) -> dict[str, QueueInfo]:
        """The vhost's queues by name: ready and consumer counts exact, unacked up to 5 s late."""
        self.settle()
        return Views(
            {q["name"]: self._queue_info(q) for q in self._queues()},
            what="queue",
            vhost=self.vhost,
        )

    def _queues(self) -> list[dict[str, Any]]:
        """The management API's queues, the tracer's own left out."""
        found = self._management.queues(self.vhost)
        return [q for q in found if not str(q["name"]).startswith(QUEUE_PREFIX)]

    def _queue_info(self, item: dict[str, Any]) -> QueueInfo:
        ready, consumers = self._passive(str(item["name"]))
        return QueueInfo(
            vhost=self.vhost,
            name=str(item["name"]),
            durable=bool(item.get("durable")),
            exclusive=bool(item.get("exclusive")),
            auto_delete=bool(item.get("auto_delete")),
            arguments=dict(item.get("arguments") or {}),
            messages_ready=int(item.get("messages_ready", 0)) if ready is None else ready,
            messages_unacknowledged=int(item.get("messages_unacknowledged", 0)),
            consumers=int(item.get("consumers", 0)) if consumers is None else consumers,
        )

    def _passive(self, queue: str) -> tuple[int | None, int | None]:
        import amqp

        channel = self._firehose.connection.channel()
        try:
            _, ready, consumers = channel.queue_declare(queue, passive=True)
        except amqp.exceptions.ChannelError:  # another connection's exclusive queue, or gone
            return None, None
        channel.close()
        return int(ready), int(consumers)

    @property
    def exchanges(self) -> dict[str, dict[str, Any]]:
        """The vhost's exchanges by name, the default ones included."""
        self.settle()
        found = {x["name"]: x for x in self._management.exchanges(self.vhost)}
        return Views(found, what="exchange", vhost=self.vhost)

    @property
    def bindings(self) -> list[BindingInfo]:
        """Every binding of the vhost, the default exchange's implicit ones first."""
        self.settle()
        return [
            BindingInfo(
                vhost=self.vhost,
                source=b["source"],
                destination=b["destination"],
                destination_type=b["destination_type"],
                routing_key=b["routing_key"],
                arguments=dict(b.get("arguments") or {}),
            )
            for b in self._management.bindings(self.vhost)
        ]

    @property
    def consumers(self) -> list[dict[str, Any]]:
        """Every consumer of the vhost, as the management API lists them (may lag)."""
        return [
            {
                "vhost": self.vhost,
                "queue": c["queue"]["name"],
                "consumer_tag": c["consumer_tag"],
                "ack_required": c.get("ack_required"),
                "exclusive": c.get("exclusive"),
                "prefetch_count": c.get("prefetch_count"),
            }
            for c in self._management.consumers(self.vhost)
            if not str(c["queue"]["name"]).startswith(QUEUE_PREFIX)
        ]

    @property
    def connections(self) -> list[dict[str, Any]]:
        """The connections open on the vhost (the plugin's own tracer left out)."""
        found = self._management.connections(self.vhost)
        return [
            c
            for c in found
            if c.get("client_properties", {}).get("connection_name") != CONNECTION_NAME
        ]

    def messages(self, queue: str) -> list[Message]:
        """The ready messages of ``queue``, in order, read by a management get that requeues.

        RabbitMQ marks every message read this way redelivered.
        """
        self.settle()
        names = [q["name"] for q in self._queues()]
        if queue not in names:
            raise no_such("queue", queue, self.vhost, names)
        ready, _ = self._passive(queue)
        if not ready:
            return []
        return [_message(m) for m in self._management.get_messages(self.vhost, queue, ready)]

    # -- records ------------------------------------------------------------------------------

    def _records(self, kind: str) -> list[Record]:
        if kind in ("published", "delivered"):
            self._firehose.settle()
            return list(self._firehose.records[kind])
        if kind == "acked":
            return self._acked()
        return self._dead_lettered()

    def _require_complete(self, what: str) -> None:
        """The firehose was on from the vhost's start: nothing to check."""

    def _acked(self) -> list[Record]:
        """Deliveries of queues that, per RabbitMQ's statistics, hold nothing unacknowledged."""
        delivered = self._records("delivered")
        queues = {str(r.fields["queue"]) for r in delivered}
        settled = {q for q in queues if self._wait_unacked_zero(q)}
        return [r for r in delivered if r.fields["queue"] in settled]

    def _wait_unacked_zero(self, queue: str) -> bool:
        fresh = self._firehose.delivered_at.get(queue, 0.0) + STATS_INTERVAL
        if time.monotonic() < fresh:  # statistics from before the delivery would say 0
            time.sleep(fresh - time.monotonic())
        limit = time.monotonic() + STATS_INTERVAL
        while True:
            try:
                item = self._management.queue(self.vhost, queue)
            except ManagementError:
                return True  # deleted: nothing is left unacknowledged
            if item.get("messages_unacknowledged", 0) == 0 and "messages" in item:
                return True
            if time.monotonic() > limit:
                return False
            time.sleep(0.1)

    def _dead_lettered(self) -> list[Record]:
        """Messages with ``x-death``: delivered ones (firehose) and those ready in a queue now."""
        self.settle()
        seen: set[Any] = set()
        found = []
        ready = [Record(_message(m)) for q in self._queues() for m in self._ready(str(q["name"]))]
        for record in [*self._records("delivered"), *ready]:
            deaths = record.message.headers.get("x-death")
            if not deaths:
                continue
            key = (record.message.body, repr(deaths))
            if key in seen:
                continue
            seen.add(key)
            first = deaths[0]
            fields = {"queue": first.get("queue"), "reason": first.get("reason")}
            found.append(Record(record.message, fields))
        return found

    def _ready(self, queue: str) -> list[dict[str, Any]]:
        ready, _ = self._passive(queue)
        return self._management.get_messages(self.vhost, queue, ready) if ready else []

    # -- lifetime -----------------------------------------------------------------------------

    def add_finalizer(self, finalizer: Callable[[], None]) -> None:
        """Run ``finalizer`` when the handle closes (last added, first run)."""
        self._finalizers.append(finalizer)

    def close(self) -> None:
        """Close the test's connections, its tracer, and delete its vhost."""
        try:
            self._connections.close_all()
        finally:
            while self._finalizers:
                self._finalizers.pop()()


def _drain(connection: Any) -> int:
    if not getattr(connection, "connected", False):
        return 0
    handled = 0
    while True:
        try:
            connection.drain_events(timeout=QUIET)
        except TimeoutError:
            return handled
        handled += 1


def _message(item: dict[str, Any]) -> Message:
    """A management get's answer as a :class:`~fakebroker.core.Message`."""
    payload = item.get("payload", "")
    if item.get("payload_encoding") == "base64":
        body = base64.b64decode(payload)
    else:
        body = str(payload).encode()
    properties = dict(item.get("properties") or {})
    exchange, routing_key = str(item.get("exchange", "")), str(item.get("routing_key", ""))
    return Message(exchange, routing_key, properties, body)


def _connection_name(item: dict[str, Any]) -> Any:
    return (item.get("client_properties") or {}).get("connection_name")
