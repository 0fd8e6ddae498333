"""The broker: vhosts, users and connections, and the inspection API."""

from __future__ import annotations

import base64
import contextlib
import hmac
import itertools
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import _lifecycle
from . import _replies as R
from ._connection import Connection
from ._exchange import Exchange
from ._memory import MemoryWatermark
from ._passwords import DEFAULT_ALGORITHM, check_password
from ._queue import Queue
from ._replyto import ReplyTo
from ._users import Permission, Permissions, TopicPermission, is_loopback
from ._vhost import Vhost
from .clock import Clock, SystemClock
from .faultpoints import NO_FAULTS, FaultHooks
from .journal import DEFAULT_MAX_BYTES as DEFAULT_JOURNAL_BYTES
from .journal import Journal
from .message import DEFAULT_MAX_MESSAGE_SIZE, MAX_MESSAGE_SIZE_CAP, Message

__all__ = [
    "DEFAULT_CONSUMER_TIMEOUT",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "BindingInfo",
    "Broker",
    "QueueInfo",
]

#: RabbitMQ's default delivery acknowledgement timeout (30 minutes).
DEFAULT_CONSUMER_TIMEOUT = 1800.0


@dataclass(frozen=True, slots=True)
class QueueInfo:
    """A snapshot of one queue."""

    vhost: str
    name: str
    durable: bool
    exclusive: bool
    auto_delete: bool
    arguments: dict[str, Any]
    messages_ready: int
    messages_unacknowledged: int
    consumers: int

    @property
    def messages(self) -> int:
        """Ready plus unacknowledged, as RabbitMQ's management API counts them."""
        return self.messages_ready + self.messages_unacknowledged


@dataclass(frozen=True, slots=True)
class BindingInfo:
    """A snapshot of one binding (the default exchange's implicit ones included)."""

    vhost: str
    source: str
    destination: str
    destination_type: str
    routing_key: str
    arguments: dict[str, Any]


class Broker:
    """An in-memory RabbitMQ: the sans-I/O core every front drives.

    Not thread-safe: fronts serialise calls (the node's lock, ``fakebroker.Node``).
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        users: Mapping[str, str] | None = None,
        vhosts: tuple[str, ...] = ("/",),
        consumer_timeout: float | None = DEFAULT_CONSUMER_TIMEOUT,
        consumer_timeout_tick: float = 60.0,
        seed: int = 0,
        journal_maxlen: int | None = 100_000,
        journal_max_bytes: int | None = DEFAULT_JOURNAL_BYTES,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        memory_high_watermark: int | None = None,
        loopback_users: tuple[str, ...] = ("guest",),
    ) -> None:
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.users: dict[str, str] = dict(users) if users is not None else {"guest": "guest"}
        self._hashes: dict[str, tuple[str, str]] = {}
        #: Tags and permissions (fakebroker/core/_users.py states the rules).
        self.permissions = Permissions()
        self.vhosts: dict[str, Vhost] = {}
        self.connections: list[Connection] = []
        self.consumer_timeout = consumer_timeout
        #: Bodies larger than this are refused at basic.publish (406), as RabbitMQ's setting.
        self.max_message_size = min(max_message_size, MAX_MESSAGE_SIZE_CAP)
        #: RabbitMQ checks ack timeouts on a 60 s channel tick; 0 checks exactly on time.
        self.consumer_timeout_tick = consumer_timeout_tick
        self.journal = Journal(
            clock=self.clock.now, maxlen=journal_maxlen, max_bytes=journal_max_bytes
        )
        self._rng = random.Random(seed)
        self.reply_to = ReplyTo(broker=self)
        self.message_ids = itertools.count(1)
        self._connection_ids = itertools.count(1)
        #: Resource alarms in force ("memory", "disk"): publishers block (see ``raise_alarm``).
        self.alarms: set[str] = set()
        #: The fault plan the engines consult (``fakebroker.faults.Faults``, installed
        #: by the node hosting the broker; without one, nothing ever fires).
        self.faults: FaultHooks = NO_FAULTS
        for name in vhosts:
            self.add_vhost(name)
        #: Users who may log in only from a loopback address (RabbitMQ's loopback_users).
        self.loopback_users = tuple(loopback_users)
        #: RabbitMQ's vm_memory_high_watermark over the bytes held (core/_memory.py); None: off.
        self.memory: MemoryWatermark | None = None
        if memory_high_watermark is not None:
            self.memory = MemoryWatermark(broker=self, limit=memory_high_watermark)

    # -- configuration ----------------------------------------------------------------------

    def add_vhost(self, name: str) -> Vhost:
        """Create a vhost (a no-op if it exists)."""
        if name not in self.vhosts:
            self.vhosts[name] = Vhost(broker=self, name=name)
        return self.vhosts[name]

    def delete_vhost(self, name: str) -> None:
        """Delete a vhost; its connections are closed with 320."""
        vhost = self.vhosts.pop(name, None)
        if vhost is None:
            return
        self.permissions.forget_vhost(name)
        for conn in [c for c in self.connections if c.vhost is vhost]:
            conn.close_forced(f"vhost '{name}' is deleted")

    def has_vhost(self, name: str) -> bool:
        """Whether the vhost exists."""
        return name in self.vhosts

    def add_user(
        self,
        name: str,
        password: str | None = None,
        *,
        password_hash: str | None = None,
        hashing_algorithm: str = DEFAULT_ALGORITHM,
        tags: tuple[str, ...] | list[str] = (),
        restricted: bool = False,
    ) -> None:
        """Add or replace a user, by plain password or by RabbitMQ's ``password_hash``.

        The user may do anything on every vhost unless ``restricted`` (then
        only what :meth:`set_permissions` grants, as a user imported from
        definitions or made by ``rabbitmqctl add_user``).
        """
        if password is None and password_hash is None:
            raise ValueError("a user needs a password or a password_hash")
        if tags or restricted:
            self.permissions.tags[name] = tuple(tags)
        else:  # never tagged: an unrestricted user counts as an administrator (core/_users.py)
            self.permissions.tags.pop(name, None)
        if restricted:
            self.permissions.restrict(name)
        else:
            self.permissions.unrestrict(name)
        if password is not None:
            self.users[name] = password
            self._hashes.pop(name, None)
        else:
            assert password_hash is not None
            self.users.pop(name, None)
            self._hashes[name] = (password_hash, hashing_algorithm)

    def delete_user(self, name: str) -> None:
        """Delete a user (its open connections stay, as on RabbitMQ)."""
        self.users.pop(name, None)
        self._hashes.pop(name, None)
        self.permissions.forget(name)

    def set_permissions(
        self, user: str, vhost: str, configure: str = ".*", write: str = ".*", read: str = ".*"
    ) -> None:
        """Grant ``user`` these regexes on ``vhost`` (the user is then restricted to its grants)."""
        self.permissions.set(user, vhost, Permission(configure, write, read))

    def clear_permissions(self, user: str, vhost: str) -> None:
        """Take away ``user``'s permission on ``vhost``."""
        self.permissions.clear(user, vhost)

    def set_topic_permissions(
        self, user: str, vhost: str, *, exchange: str, write: str = ".*", read: str = ".*"
    ) -> None:
        """Give ``user`` these write and read regexes on the routing keys of ``exchange``.

        As ``rabbitmqctl set_topic_permissions``: checked on topic exchanges only,
        ``{username}`` and ``{vhost}`` expanded (core/_users.py states the rules).
        ``ValueError`` for an invalid regex.
        """
        self.permissions.set_topic(user, vhost, TopicPermission(exchange, write, read))

    def clear_topic_permissions(
        self, user: str, vhost: str, *, exchange: str | None = None
    ) -> None:
        """Take away ``user``'s topic permission on ``exchange`` (None: all on ``vhost``)."""
        self.permissions.clear_topic(user, vhost, exchange)

    def check_topic_access(
        self, user: str, vhost: str, exchange: str, access: str, routing_key: str
    ) -> None:
        """RabbitMQ's 403 unless ``user`` may ``access`` ``routing_key`` on a topic exchange."""
        if not self.has_user(user):
            return
        if not self.permissions.allows_topic(user, vhost, exchange, access, routing_key):
            raise R.topic_access_refused(routing_key, exchange, vhost, user)

    def check_access(self, user: str, vhost: str, access: str, kind: str, name: str) -> None:
        """Raise RabbitMQ's 403 unless ``user`` may ``access`` the ``kind`` called ``name``."""
        if not self.has_user(user):
            return
        checked = "amq.default" if kind == "exchange" and name == "" else name
        if not self.permissions.allows(user, vhost, access, checked):
            raise R.access_refused(kind, checked, vhost, user)

    def may_log_in_from(self, user: str, peer: str) -> bool:
        """RabbitMQ's loopback_users rule: ``user`` from ``peer`` ("host:port")."""
        return user not in self.loopback_users or is_loopback(peer)

    def password_hash_of(self, name: str) -> tuple[str, str] | None:
        """(password_hash, hashing_algorithm) of a user imported by hash, else None."""
        return self._hashes.get(name)

    def has_user(self, name: str) -> bool:
        """Whether a user called ``name`` exists (by plain password or hash)."""
        return name in self.users or name in self._hashes

    @property
    def user_names(self) -> list[str]:
        """Every user's name, in the order they were added."""
        return [*self.users, *(n for n in self._hashes if n not in self.users)]

    def authenticate(self, username: str, password: str) -> bool:
        """Whether the credentials are valid."""
        if username in self.users:
            return hmac.compare_digest(self.users[username], password)
        stored = self._hashes.get(username)
        return stored is not None and check_password(password, *stored)

    # -- connections ------------------------------------------------------------------------

    def connect(
        self,
        *,
        vhost: str = "/",
        user: str = "guest",
        name: str | None = None,
        client_properties: Mapping[str, Any] | None = None,
        capabilities: frozenset[str] = frozenset(),
    ) -> Connection:
        """Open a connection to ``vhost`` (530 NOT_ALLOWED if it does not exist)."""
        target = self.vhosts.get(vhost)
        if target is None:
            raise R.vhost_not_found(vhost)
        if self.has_user(user) and not self.permissions.may_open(user, vhost):
            raise R.vhost_access_refused(vhost, user)
        conn = Connection(
            broker=self,
            vhost=target,
            user=user,
            name=name or f"internal-{next(self._connection_ids)}",
            client_properties=client_properties or {},
            capabilities=frozenset(capabilities),
        )
        self.connections.append(conn)
        return conn

    def connection_closed(self, conn: Connection) -> None:
        """Called by a connection as it goes."""
        with contextlib.suppress(ValueError):
            self.connections.remove(conn)

    def close_connection(self, name: str, reason: str = "Closed via management plugin") -> bool:
        """Close a connection by name from outside (320 CONNECTION_FORCED)."""
        for conn in list(self.connections):
            if conn.name == name:
                conn.close_forced(reason)
                return True
        return False

    # -- faults (fakebroker/core/_lifecycle.py, fakebroker/faults) ----------------------------

    def restart(self) -> None:
        """Restart: connections closed (320); only durable entities and persistent messages stay."""
        _lifecycle.restart(self)

    def raise_alarm(self, resource: str = "memory") -> None:
        """A resource alarm: each connection blocks at its next publish until it clears."""
        _lifecycle.raise_alarm(self, resource)

    def clear_alarm(self, resource: str | None = None) -> None:
        """Clear one alarm (all when None); blocked connections resume."""
        _lifecycle.clear_alarm(self, resource)

    # -- identifiers ------------------------------------------------------------------------

    def generate_name(self, prefix: str) -> str:
        """A server-generated name: ``prefix`` + 22 url-safe base64 characters, as RabbitMQ."""
        raw = self._rng.getrandbits(128).to_bytes(16, "big")
        return prefix + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def next_message_id(self) -> int:
        """A fresh message id."""
        return next(self.message_ids)

    # -- inspection -------------------------------------------------------------------------

    def vhost(self, name: str = "/") -> Vhost:
        """The vhost called ``name`` (KeyError if none)."""
        return self.vhosts[name]

    def get_queue(self, name: str, vhost: str = "/") -> Queue:
        """The live queue object (KeyError if none)."""
        return self.vhosts[vhost].queues[name]

    def get_exchange(self, name: str, vhost: str = "/") -> Exchange:
        """The live exchange object (KeyError if none)."""
        return self.vhosts[vhost].exchanges[name]

    def list_queues(self, vhost: str | None = None) -> list[QueueInfo]:
        """Snapshots of the queues of one vhost, or of all."""
        return [
            QueueInfo(
                vh.name,
                q.name,
                q.durable,
                q.exclusive,
                q.auto_delete,
                dict(q.arguments),
                q.message_count,
                q.unacked,
                q.consumer_count,
            )
            for vh in self._vhosts(vhost)
            for q in list(vh.queues.values())
        ]

    def list_exchanges(self, vhost: str | None = None) -> list[dict[str, Any]]:
        """The exchanges of one vhost, or of all, as dictionaries."""
        return [
            {
                "vhost": vh.name,
                "name": x.name,
                "type": x.type,
                "durable": x.durable,
                "auto_delete": x.auto_delete,
                "internal": x.internal,
                "arguments": dict(x.arguments),
            }
            for vh in self._vhosts(vhost)
            for x in vh.exchanges.values()
        ]

    def list_bindings(self, vhost: str | None = None) -> list[BindingInfo]:
        """Every binding, the default exchange's implicit ones first, as RabbitMQ lists them."""
        result: list[BindingInfo] = []
        for vh in self._vhosts(vhost):
            for q in vh.queues.values():
                result.append(BindingInfo(vh.name, "", q.name, "queue", q.name, {}))
            for x in vh.exchanges.values():
                for b in x.bindings.values():
                    dest = b.destination
                    result.append(
                        BindingInfo(
                            vh.name,
                            x.name,
                            dest.name,
                            b.destination_type,
                            b.routing_key,
                            dict(b.arguments),
                        )
                    )
        return result

    def list_consumers(self, vhost: str | None = None) -> list[dict[str, Any]]:
        """Every consumer, as dictionaries."""
        return [
            {
                "vhost": vh.name,
                "queue": q.name,
                "consumer_tag": c.tag,
                "channel": c.channel.number,
                "connection": c.channel.conn.name,
                "ack_required": not c.no_ack,
                "exclusive": c.exclusive,
                "prefetch_count": c.prefetch,
            }
            for vh in self._vhosts(vhost)
            for q in vh.queues.values()
            for c in q.consumers
        ]

    def messages(self, queue: str, vhost: str = "/") -> list[Message]:
        """The ready messages of a queue, in delivery order."""
        return self.get_queue(queue, vhost).messages()

    def _vhosts(self, name: str | None) -> list[Vhost]:
        if name is None:
            return list(self.vhosts.values())
        return [self.vhosts[name]] if name in self.vhosts else []
