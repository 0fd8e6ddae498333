"""Read-only views of a broker in the shapes of RabbitMQ's management API (sans-I/O).

Each function turns live core objects into JSON-ready dictionaries with the
field names RabbitMQ 3.10.8's management plugin uses (``messages_ready``,
``message_stats.publish_details.rate`` ...).  Callers hold the node's lock.

Rates and idleness need history: a :class:`Sampler` remembers earlier
counter values and turns them into ``{"rate": per_second}`` over a sliding
window, as the plugin's ``basic`` rates mode does.  Time is passed in (the
caller's monotonic clock for rates, the broker clock for timestamps), so
nothing here reads a clock of its own.

Rules:
- ``message_stats`` appears only once something happened, as on RabbitMQ;
  ``deliver_get`` is deliver + deliver_no_ack + get + get_no_ack;
- a vhost's counters are its channels' (publish, confirm, unroutable) plus
  its queues' (live ones and deleted ones); the overview adds the vhosts';
- JSON cannot carry bytes: AMQP table values that are bytes become text
  (UTF-8, or latin-1 when not UTF-8), decimals and timestamps become numbers.
"""

from __future__ import annotations

import datetime
import decimal
import weakref
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._channel import Channel
    from ._connection import Connection
    from ._exchange import Binding, Exchange
    from ._queue import Queue
    from ._vhost import Vhost
    from .broker import Broker

__all__ = [
    "NODE",
    "QUEUE_STATS",
    "Sampler",
    "binding_view",
    "channel_view",
    "connection_view",
    "consumer_views",
    "exchange_view",
    "iso_time",
    "jsonable",
    "overview",
    "properties_key",
    "queue_view",
    "vhost_stats",
    "vhost_view",
]

#: The node name fakebroker reports (RabbitMQ's look like ``rabbit@host``).
NODE = "fakebroker@localhost"
#: Counters a queue keeps, in RabbitMQ's order.
QUEUE_STATS = (
    "ack",
    "deliver",
    "deliver_no_ack",
    "get",
    "get_no_ack",
    "get_empty",
    "publish",
    "redeliver",
)
_DELIVER_GET = ("deliver", "deliver_no_ack", "get", "get_no_ack")
_VHOST_STATS = ("confirm", "drop_unroutable", "return_unroutable")


class Sampler:
    """Counter history turned into rates and idle times.

    ``rate(key, value, now)`` records ``value`` at ``now`` (monotonic
    seconds) and returns the per-second change over the last ``window``
    seconds (0.0 until there are two samples).  ``idle_since(key, signature,
    when)`` returns the broker time at which ``signature`` last changed.
    A key is a tuple whose first item owns the history: a queue's or a
    vhost's history goes with the object (it is held weakly).
    """

    def __init__(self, *, window: float = 5.0, spacing: float = 1.0) -> None:
        self.window = window
        self.spacing = spacing
        self._owned: weakref.WeakKeyDictionary[Any, dict[Any, Any]] = weakref.WeakKeyDictionary()
        self._named: dict[Any, dict[Any, Any]] = {}

    def _history(self, key: tuple[Any, ...]) -> dict[Any, Any]:
        owner = key[0]
        try:
            table = self._owned.get(owner)
            if table is None:
                table = self._owned[owner] = {}
        except TypeError:  # not weakly referenceable (a name such as "overview")
            table = self._named.setdefault(owner, {})
        return table

    def rate(self, key: tuple[Any, ...], value: float, now: float) -> float:
        """The per-second rate of ``value`` over the window ending ``now``.

        Samples are kept at least ``spacing`` seconds apart, so two looks in
        quick succession do not divide by a tiny interval.
        """
        history, name = self._history(key), key[1:]  # the owner only as the weak key
        samples: deque[tuple[float, float]] | None = history.get(name)
        if samples is None:
            history[name] = deque([(now, value)])
            return 0.0
        if now - samples[-1][0] >= self.spacing:
            samples.append((now, value))
        while len(samples) > 1 and samples[1][0] <= now - self.window:
            samples.popleft()
        first_time, first_value = samples[0]
        if now - first_time < self.spacing:
            return 0.0
        return round((value - first_value) / (now - first_time), 1)

    def idle_since(self, key: tuple[Any, ...], signature: Any, when: float) -> float:
        """The broker time since which ``signature`` has not changed (``when`` if it just did)."""
        history, name = self._history(key), key[1:]
        seen = history.get(name)
        if seen is None or seen[0] != signature:
            history[name] = (signature, when)
            return when
        return float(seen[1])

    def __len__(self) -> int:
        """How many objects have a history."""
        return len(self._owned) + len(self._named)


def iso_time(seconds: float) -> str:
    """``2026-12-03T05:45:33.740+00:00``, as RabbitMQ 3.10 writes ``idle_since``."""
    when = datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)
    return when.isoformat(timespec="milliseconds")


def jsonable(value: Any) -> Any:
    """An AMQP value (table, array, bytes, decimal, timestamp) as JSON can carry it."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        try:
            return raw.decode()
        except UnicodeDecodeError:
            return raw.decode("latin-1")
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.datetime):
        return int(value.timestamp())
    return value


def _details(
    sampler: Sampler | None, key: Any, fields: Mapping[str, int], now: float
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in fields.items():
        out[name] = value
        rate = sampler.rate((*key, name), value, now) if sampler is not None else 0.0
        out[f"{name}_details"] = {"rate": rate}
    return out


def _message_stats(
    counters: Mapping[str, int], sampler: Sampler | None, key: Any, now: float
) -> dict[str, Any] | None:
    if not any(counters.values()):
        return None
    fields = {name: counters.get(name, 0) for name in sorted({*counters, "deliver_get"})}
    fields["deliver_get"] = sum(counters.get(name, 0) for name in _DELIVER_GET)
    return _details(sampler, key, fields, now)


def _queue_type(queue: Queue) -> str:
    return queue.args.queue_type


def queue_view(
    queue: Queue, *, sampler: Sampler | None = None, now: float = 0.0, detail: bool = False
) -> dict[str, Any]:
    """One queue as GET /api/queues lists it (``detail``: as GET /api/queues/VH/NAME)."""
    ready = len(queue.store)
    unacked = queue.unacked
    key = (queue,)
    view: dict[str, Any] = {
        "arguments": jsonable(queue.arguments),
        "auto_delete": queue.auto_delete,
        "consumers": len(queue.consumers),
        "durable": queue.durable,
        "exclusive": queue.exclusive,
        "exclusive_consumer_tag": _exclusive_tag(queue),
        "head_message_timestamp": None,
        "message_bytes": queue.ready_bytes,
        "message_bytes_ready": queue.ready_bytes,
        "name": queue.name,
        "node": NODE,
        "policy": None,
        "single_active_consumer_tag": _single_active_tag(queue),
        "state": "running",
        "type": _queue_type(queue),
        "vhost": queue.vhost.name,
    }
    view.update(
        _details(
            sampler,
            key,
            {
                "messages": ready + unacked,
                "messages_ready": ready,
                "messages_unacknowledged": unacked,
            },
            now,
        )
    )
    broker_now = queue.vhost.broker.clock.now()
    signature = (ready, unacked, len(queue.consumers), tuple(sorted(queue.stats.items())))
    if sampler is not None and not queue.consumers:
        view["idle_since"] = iso_time(sampler.idle_since((queue, "idle"), signature, broker_now))
    elif not queue.consumers:
        view["idle_since"] = iso_time(broker_now)
    stats = _message_stats(queue.stats, sampler, key, now)
    if stats is not None:
        view["message_stats"] = stats
    if detail:
        view["consumer_details"] = [_consumer(queue, c) for c in queue.consumers]
        view["deliveries"] = []
        view["incoming"] = []
    return dict(sorted(view.items()))


def _exclusive_tag(queue: Queue) -> str | None:
    for consumer in queue.consumers:
        if consumer.exclusive:
            return consumer.tag
    return None


def _single_active_tag(queue: Queue) -> str | None:
    if queue.args.single_active_consumer and queue.consumers:
        return queue.consumers[0].tag
    return None


def exchange_view(exchange: Exchange, vhost: Vhost, *, detail: bool = False) -> dict[str, Any]:
    """One exchange as GET /api/exchanges lists it (``detail``: with incoming/outgoing)."""
    view: dict[str, Any] = {
        "arguments": jsonable(exchange.arguments),
        "auto_delete": exchange.auto_delete,
        "durable": exchange.durable,
        "internal": exchange.internal,
        "name": exchange.name,
        "type": exchange.type,
        "vhost": vhost.name,
    }
    if detail:
        view["incoming"] = []
        view["outgoing"] = []
    return view


def properties_key(routing_key: str, arguments: Mapping[str, Any]) -> str:
    """The binding's ``properties_key``: the quoted routing key, ``~`` and an arguments hash.

    RabbitMQ hashes the arguments with Erlang's ``phash2``; fakebroker uses
    its own stable hash of the same width, so keys with arguments differ from
    RabbitMQ's but work the same way (read them from GET, use them in DELETE).
    """
    from urllib.parse import quote_plus

    quoted = quote_plus(routing_key).replace("~", "%7E")
    if not arguments:
        return quoted
    import base64
    import hashlib
    import json

    text = json.dumps(jsonable(arguments), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).digest()[:4]
    return quoted + "~" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def binding_view(
    vhost: str,
    source: str,
    destination: str,
    destination_type: str,
    routing_key: str,
    arguments: Mapping[str, Any],
) -> dict[str, Any]:
    """One binding as GET /api/bindings lists it."""
    return {
        "source": source,
        "vhost": vhost,
        "destination": destination,
        "destination_type": destination_type,
        "routing_key": routing_key,
        "arguments": jsonable(arguments),
        "properties_key": properties_key(routing_key, arguments),
    }


def bindings_of(vhost: Vhost) -> list[dict[str, Any]]:
    """Every binding of a vhost, the default exchange's implicit ones first."""
    name = vhost.name
    result = [binding_view(name, "", q.name, "queue", q.name, {}) for q in vhost.queues.values()]
    for exchange in vhost.exchanges.values():
        result.extend(_binding(vhost.name, b) for b in exchange.bindings.values())
    return result


def _binding(vhost: str, b: Binding) -> dict[str, Any]:
    return binding_view(
        vhost, b.source.name, b.destination.name, b.destination_type, b.routing_key, b.arguments
    )


def _peer(name: str) -> tuple[str, int, str, int]:
    """``("127.0.0.1", 5555, "127.0.0.1", 5672)`` from ``"127.0.0.1:5555 -> 127.0.0.1:5672"``."""
    peer, _, local = name.partition(" -> ")

    def split(text: str) -> tuple[str, int]:
        host, _, port = text.rpartition(":")
        return (host or text, int(port)) if port.isdigit() else (text, 0)

    return (*split(peer), *split(local))


def connection_view(conn: Connection) -> dict[str, Any]:
    """One connection as GET /api/connections lists it."""
    peer_host, peer_port, host, port = _peer(conn.name)
    return {
        "channels": len(conn.channels),
        "client_properties": jsonable(conn.client_properties),
        "connected_at": int(conn.connected_at * 1000),
        "host": host,
        "name": conn.name,
        "node": NODE,
        "peer_host": peer_host,
        "peer_port": peer_port,
        "port": port,
        "protocol": "AMQP 0-9-1",
        "ssl": False,
        "state": "blocked" if conn.broker.alarms else "running",
        "type": "network",
        "user": conn.user,
        "user_who_performed_action": conn.user,
        "vhost": conn.vhost.name,
    }


def _channel_details(channel: Channel) -> dict[str, Any]:
    conn = channel.conn
    peer_host, peer_port, _, _ = _peer(conn.name)
    return {
        "connection_name": conn.name,
        "name": f"{conn.name} ({channel.number})",
        "node": NODE,
        "number": channel.number,
        "peer_host": peer_host,
        "peer_port": peer_port,
        "user": conn.user,
    }


def channel_view(channel: Channel) -> dict[str, Any]:
    """One channel as GET /api/channels lists it."""
    conn = channel.conn
    peer_host, peer_port, _, _ = _peer(conn.name)
    return {
        "acks_uncommitted": channel.uncommitted[1],
        "confirm": channel.confirm,
        "connection_details": {"name": conn.name, "peer_host": peer_host, "peer_port": peer_port},
        "consumer_count": len(channel.consumers),
        "global_prefetch_count": channel.global_prefetch,
        "messages_unacknowledged": len(channel.unacked),
        "messages_unconfirmed": 0,
        "messages_uncommitted": channel.uncommitted[0],
        "name": f"{conn.name} ({channel.number})",
        "node": NODE,
        "number": channel.number,
        "prefetch_count": channel.prefetch,
        "state": "running",
        "transactional": channel.tx,
        "user": conn.user,
        "user_who_performed_action": conn.user,
        "vhost": conn.vhost.name,
    }


def _consumer(queue: Queue, consumer: Any) -> dict[str, Any]:
    return {
        "ack_required": not consumer.no_ack,
        "active": True,
        "activity_status": "up",
        "arguments": jsonable(consumer.arguments),
        "channel_details": _channel_details(consumer.channel),
        "consumer_tag": consumer.tag,
        "exclusive": consumer.exclusive,
        "prefetch_count": consumer.prefetch,
        "queue": {"name": queue.name, "vhost": queue.vhost.name},
    }


def consumer_views(vhost: Vhost) -> list[dict[str, Any]]:
    """Every consumer of a vhost's queues, as GET /api/consumers lists them."""
    return [_consumer(q, c) for q in vhost.queues.values() for c in q.consumers]


def vhost_stats(vhost: Vhost) -> Counter[str]:
    """The vhost's message_stats counters: its channels', its queues' (live and deleted)."""
    total: Counter[str] = Counter(vhost.retired)
    for queue in vhost.queues.values():
        total.update(queue.stats)
    total.pop("publish", None)  # a vhost's publish counts publishes, not enqueues
    for name in ("publish", *_VHOST_STATS):
        if vhost.stats.get(name):
            total[name] = vhost.stats[name]
    return total


def _totals(vhosts: Iterable[Vhost]) -> dict[str, int]:
    ready = unacked = 0
    for vhost in vhosts:
        for queue in vhost.queues.values():
            ready += len(queue.store)
            unacked += queue.unacked
    return {
        "messages": ready + unacked,
        "messages_ready": ready,
        "messages_unacknowledged": unacked,
    }


def vhost_view(
    vhost: Vhost,
    *,
    tracing: bool = False,
    description: str = "",
    tags: list[str] | None = None,
    sampler: Sampler | None = None,
    now: float = 0.0,
) -> dict[str, Any]:
    """One vhost as GET /api/vhosts lists it."""
    view: dict[str, Any] = {
        "cluster_state": {NODE: "running"},
        "default_queue_type": "undefined",
        "description": description,
        "metadata": {"description": description, "tags": list(tags or [])},
        "name": vhost.name,
        "tags": list(tags or []),
        "tracing": tracing,
    }
    view.update(_details(sampler, (vhost,), _totals([vhost]), now))
    stats = _message_stats(vhost_stats(vhost), sampler, (vhost,), now)
    if stats is not None:
        view["message_stats"] = stats
    return dict(sorted(view.items()))


def overview(
    broker: Broker,
    vhosts: list[Vhost],
    *,
    version: str,
    listeners: list[dict[str, Any]],
    sampler: Sampler | None = None,
    now: float = 0.0,
) -> dict[str, Any]:
    """GET /api/overview over the ``vhosts`` the user may see."""
    counters: Counter[str] = Counter()
    for vhost in vhosts:
        counters.update(vhost_stats(vhost))
    visible = set(vhosts)
    connections = [c for c in broker.connections if c.vhost in visible]
    view: dict[str, Any] = {
        "cluster_name": NODE,
        "disable_stats": False,
        "enable_queue_totals": False,
        "exchange_types": [
            {
                "name": name,
                "description": f"AMQP {name} exchange, as per the AMQP specification",
                "enabled": True,
            }
            for name in ("direct", "fanout", "headers", "topic")
        ],
        "listeners": listeners,
        "management_version": "3.10.8",
        "node": NODE,
        "object_totals": {
            "channels": sum(len(c.channels) for c in connections),
            "connections": len(connections),
            "consumers": sum(len(q.consumers) for v in vhosts for q in v.queues.values()),
            "exchanges": sum(len(v.exchanges) for v in vhosts),
            "queues": sum(len(v.queues) for v in vhosts),
        },
        "product_name": "fakebroker",
        "product_version": version,
        "queue_totals": _details(sampler, ("overview",), _totals(vhosts), now),
        "rabbitmq_version": "3.10.8",
        "rates_mode": "basic",
        "statistics_db_event_queue": 0,
    }
    stats = _message_stats(counters, sampler, ("overview",), now)
    view["message_stats"] = stats if stats is not None else {}
    return view
