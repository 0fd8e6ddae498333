"""The Redis flavour of the test fixtures: handles, inspection, kombu on the node's clock.

A :class:`RedisBrokerHandle` is one test's Redis: ``url`` (a ``redis://``
URL that kombu and Celery take as broker and result backend), ``kind``:

- ``"redis-inproc"``: a fresh node per test on a virtual clock, served on
  127.0.0.1 by the node's loopback server (kombu's transport needs a real
  file descriptor for epoll); while the handle lives, kombu's redis
  transport reads its ``time()`` from the node's clock too, so
  ``broker.clock.advance(3600)`` makes an unacked message's visibility
  timeout pass for kombu and for the keys' expiries alike;
- ``"redis-tcp"``: a database of its own (``SELECT n``) on one node per
  process, served on a free port, on the system clock;
- ``"redis"``: a real Redis (``redis://host:port/db``); tests are isolated
  by kombu's ``global_keyprefix`` (``transport_options``), and the keys
  under it are deleted afterwards.

Inspection reads the data (fakebroker: directly, under the node's lock;
a real Redis: over RESP): :attr:`~RedisInspector.queues` (list lengths per
priority step), :meth:`~RedisInspector.messages`,
:attr:`~RedisInspector.unacked`, :attr:`~RedisInspector.bindings` (from
``_kombu.binding.*``); :meth:`~RedisInspector.published` and
``assert_published`` read the front's command journal (fakebroker only).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ._idle import wait_for as _wait_for
from ._inspect import match_body

if TYPE_CHECKING:
    from .._node import Node
    from ..core import Clock
    from ..fronts.redis import RedisFaults, RedisThread

__all__ = [
    "RedisBinding",
    "RedisBrokerHandle",
    "RedisInspector",
    "RedisMessage",
    "RedisPool",
    "RedisQueue",
    "kombu_on_clock",
    "make_redis_inproc",
    "make_redis_real",
]

#: kombu's separator in binding members and priority queue names.
SEP = "\x06\x16"
#: kombu's default priority steps.
STEPS = (0, 3, 6, 9)
BINDING = "_kombu.binding."
_ANY: Any = object()


# -- kombu's time on the node's clock ---------------------------------------------------------


@contextlib.contextmanager
def kombu_on_clock(clock: Clock) -> Iterator[None]:
    """Make kombu's redis transport read ``time()`` from ``clock`` inside the block.

    kombu scores ``unacked_index`` with it and ``restore_visible`` cuts off
    at ``time() - visibility_timeout``: on a virtual clock,
    ``clock.advance(visibility_timeout)`` makes every unacked message
    restorable at once.  The transport's module is process-wide, so this
    is for one test at a time (as pytest runs them in one process).
    """
    import importlib

    transport: Any = importlib.import_module("kombu.transport.redis")
    saved = transport.time
    transport.time = clock.now
    try:
        yield
    finally:
        transport.time = saved


# -- what inspection returns --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RedisQueue:
    """A kombu queue on Redis: its lists, one per priority step."""

    name: str
    #: Priority step -> list length (step 0 is the queue's own key).
    steps: dict[int, int]

    @property
    def messages(self) -> int:
        """Messages waiting, every step together."""
        return sum(self.steps.values())


@dataclass(frozen=True, slots=True)
class RedisBinding:
    """One member of ``_kombu.binding.<exchange>``."""

    exchange: str
    routing_key: str
    pattern: str
    queue: str


@dataclass(frozen=True, slots=True)
class RedisMessage:
    """A kombu message as it travels on Redis (its JSON envelope, decoded)."""

    exchange: str
    routing_key: str
    body: bytes
    headers: dict[str, Any]
    properties: dict[str, Any]
    #: The list (LPUSH) or channel (PUBLISH) it went to.
    key: str
    payload: dict[str, Any] = field(repr=False)

    @property
    def priority(self) -> int:
        """The message's priority property (0 when it has none)."""
        return int(self.properties.get("priority") or 0)

    @classmethod
    def decode(cls, raw: bytes, key: str = "") -> RedisMessage | None:
        """The message in a kombu envelope, or None when ``raw`` is not one."""
        try:
            payload = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(payload, dict) or "body" not in payload:
            return None
        props = payload.get("properties") or {}
        info = props.get("delivery_info") or {}
        body = payload.get("body") or ""
        data = (
            base64.b64decode(body)
            if props.get("body_encoding") == "base64"
            else str(body).encode("utf-8")
        )
        return cls(
            exchange=str(info.get("exchange") or ""),
            routing_key=str(info.get("routing_key") or ""),
            body=data,
            headers=dict(payload.get("headers") or {}),
            properties=dict(props),
            key=key,
            payload=payload,
        )


# -- reading the data -----------------------------------------------------------------------------


class _Reader(Protocol):
    def lists(self, prefix: str) -> dict[str, int]: ...
    def members(self, key: str) -> set[bytes]: ...
    def hash(self, key: str) -> dict[bytes, bytes]: ...
    def items(self, key: str) -> list[bytes]: ...
    def keys(self, prefix: str) -> list[str]: ...


class _FakeReader:
    """Reads a node's fakeredis data directly (no command, no fault, no journal entry)."""

    def __init__(self, node: Node, db: int) -> None:
        self.state = node.redis
        self.db = db

    def lists(self, prefix: str) -> dict[str, int]:
        with self.state.database(self.db) as data:
            return {
                k.decode(): len(data[k].value)
                for k in data
                if k.decode(errors="replace").startswith(prefix) and isinstance(data[k].value, list)
            }

    def members(self, key: str) -> set[bytes]:
        value = self.state.value(key, self.db)
        if value is None or isinstance(value, bytes | list) or hasattr(value, "items"):
            return set()
        return {bytes(member) for member in value}  # a set, or fakeredis's ExpiringMembersSet

    def hash(self, key: str) -> dict[bytes, bytes]:
        value = self.state.value(key, self.db)
        return dict(value.items()) if value is not None and hasattr(value, "items") else {}

    def items(self, key: str) -> list[bytes]:
        value = self.state.value(key, self.db)
        return list(value) if isinstance(value, list) else []

    def keys(self, prefix: str) -> list[str]:
        return [k.decode() for k in self.state.keys(self.db) if k.decode().startswith(prefix)]


class _RespReader:
    """Reads a real Redis with redis-py."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def keys(self, prefix: str) -> list[str]:
        pattern = _glob_escape(prefix) + "*"
        return sorted(k.decode() for k in self.client.scan_iter(match=pattern, count=500))

    def lists(self, prefix: str) -> dict[str, int]:
        return {
            k: int(self.client.llen(k)) for k in self.keys(prefix) if self.client.type(k) == b"list"
        }

    def members(self, key: str) -> set[bytes]:
        return set(self.client.smembers(key))

    def hash(self, key: str) -> dict[bytes, bytes]:
        return dict(self.client.hgetall(key))

    def items(self, key: str) -> list[bytes]:
        return list(self.client.lrange(key, 0, -1))


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class RedisInspector:
    """What kombu keeps on Redis, read back: queues, messages, unacked, bindings, published."""

    def __init__(self, *, reader: _Reader, prefix: str = "", node: Node | None = None, db: int = 0):
        self._reader = reader
        #: kombu's ``global_keyprefix`` for this test ("" on fakebroker).
        self.prefix = prefix
        self.node = node
        self.db = db

    @property
    def queues(self) -> dict[str, RedisQueue]:
        """kombu's queues by name: every list (per priority step) and every bound queue."""
        steps: dict[str, dict[int, int]] = {}
        for key, length in self._reader.lists(self.prefix).items():
            name, _, step = key[len(self.prefix) :].partition(SEP)
            if step and not step.isdigit():
                continue
            steps.setdefault(name, {})[int(step or 0)] = length
        for binding in self.bindings:
            steps.setdefault(binding.queue, {})
        return {
            name: RedisQueue(name=name, steps={s: got.get(s, 0) for s in sorted({*STEPS, *got})})
            for name, got in sorted(steps.items())
        }

    def messages(self, queue: str) -> list[RedisMessage]:
        """The messages waiting in ``queue``, in the order kombu takes them (step 0 first)."""
        found = []
        for step in STEPS:
            key = self.prefix + (queue if step == 0 else f"{queue}{SEP}{step}")
            for raw in reversed(self._reader.items(key)):  # LPUSH in, RPOP out
                message = RedisMessage.decode(raw, key)
                if message is not None:
                    found.append(message)
        return found

    @property
    def unacked(self) -> dict[str, RedisMessage]:
        """Delivered, unacknowledged messages by delivery tag (kombu's ``unacked`` hash)."""
        out = {}
        for tag, raw in self._reader.hash(self.prefix + "unacked").items():
            try:
                payload, _exchange, _routing_key = json.loads(raw)
            except ValueError:
                continue
            message = RedisMessage.decode(json.dumps(payload).encode())
            if message is not None:
                out[tag.decode()] = message
        return out

    @property
    def bindings(self) -> list[RedisBinding]:
        """Every binding kombu stored (``_kombu.binding.<exchange>`` members)."""
        found = []
        start = self.prefix + BINDING
        for key in self._reader.keys(start):
            exchange = key[len(start) :]
            for member in sorted(self._reader.members(key)):
                routing_key, pattern, queue = [*member.decode().split(SEP), "", ""][:3]
                found.append(RedisBinding(exchange, routing_key, pattern, queue))
        return found

    # -- the journal ------------------------------------------------------------------------

    def published(
        self,
        *,
        queue: str | None = None,
        exchange: str | None = None,
        routing_key: str | None = None,
        body: Any = _ANY,
        headers: dict[str, Any] | None = None,
        where: Callable[[RedisMessage], bool] | None = None,
    ) -> list[RedisMessage]:
        """Messages kombu published (LPUSH to a queue, PUBLISH to a fanout), oldest first.

        Requeues and visibility-timeout restores (kombu marks them
        ``redelivered``) are not publishes.  ``queue`` matches the list's
        queue (any priority step); ``body`` as :func:`match_body`.
        """
        found = []
        for message in self._journal_messages():
            if message.headers.get("redelivered"):
                continue
            name = message.key[len(self.prefix) :].partition(SEP)[0]
            if queue is not None and name != queue:
                continue
            if exchange is not None and message.exchange != exchange:
                continue
            if routing_key is not None and message.routing_key != routing_key:
                continue
            if body is not _ANY and not match_body(body, message.body):
                continue
            if headers and any(message.headers.get(k, _ANY) != v for k, v in headers.items()):
                continue
            if where is not None and not where(message):
                continue
            found.append(message)
        return found

    def assert_published(self, *, count: int | None = None, **criteria: Any) -> list[RedisMessage]:
        """Assert a message matching ``criteria`` (see :meth:`published`) was published."""
        found = self.published(**criteria)
        if (count is None and not found) or (count is not None and len(found) != count):
            self._require_complete_journal()
            wanted = "a message" if count is None else f"{count} message(s)"
            everything = self.published()
            lines = [f"expected {wanted} matching {criteria!r}; {len(found)} matched."]
            lines += [
                f"  {m.exchange!r} {m.routing_key!r} {m.body[:80]!r}" for m in everything[-9:]
            ]
            raise AssertionError("\n".join(lines or ["Nothing was published."]))
        return found

    def assert_not_published(self, **criteria: Any) -> None:
        """Assert nothing matching ``criteria`` was published."""
        self._require_complete_journal()
        found = self.published(**criteria)
        if found:
            raise AssertionError(f"expected no message matching {criteria!r}; found {found!r}")

    def _journal_messages(self) -> list[RedisMessage]:
        if self.node is None:
            raise RuntimeError("published() reads fakebroker's command journal, not a real Redis's")
        found = []
        for command in self.node.redis.commands():
            if command.db != self.db or command.name not in ("LPUSH", "PUBLISH"):
                continue
            if not command.args:
                continue
            key = command.args[0].decode("utf-8", "replace")
            for raw in command.args[1:]:
                message = RedisMessage.decode(raw, key)
                if message is not None:
                    found.append(message)
        return found

    def _require_complete_journal(self) -> None:
        if self.node is not None and not self.node.redis.journal_complete:
            raise AssertionError(
                "cannot decide: the Redis command journal dropped its oldest commands"
            )


# -- handles -------------------------------------------------------------------------------------


class RedisBrokerHandle(RedisInspector):
    """One test's Redis (see the module): URL, clients, clock, faults, inspection."""

    def __init__(
        self,
        *,
        kind: str,
        url: str,
        reader: _Reader,
        node: Node | None = None,
        db: int = 0,
        prefix: str = "",
    ) -> None:
        super().__init__(reader=reader, prefix=prefix, node=node, db=db)
        self.kind = kind
        self.url = url
        self._connections: list[Any] = []
        self._finalizers: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        return f"<RedisBrokerHandle {self.kind} {self.url}>"

    @property
    def transport_options(self) -> dict[str, Any]:
        """kombu transport options this test's clients need (the key prefix on a real Redis)."""
        return {"global_keyprefix": self.prefix} if self.prefix else {}

    @property
    def clock(self) -> Clock:
        """The node's clock (``advance(seconds)`` on a virtual one)."""
        if self.node is None:
            raise RuntimeError("a real Redis runs on real time")
        return self.node.clock

    @property
    def faults(self) -> RedisFaults:
        """Fault rules for the Redis front (fakeredis kinds only)."""
        if self.node is None:
            raise RuntimeError("faults need fakebroker's Redis front, not a real Redis")
        return self.node.redis_faults

    def advance(self, seconds: float) -> int:
        """Move the node's virtual clock on (expiries and kombu's time())."""
        if self.node is None:
            raise RuntimeError("a real Redis runs on real time")
        return self.node.advance(seconds)

    def unique(self, name: str) -> str:
        """A queue or exchange name private to this test (the handle isolates keys already)."""
        return name

    def connection(self, **options: Any) -> Any:
        """A :class:`kombu.Connection` to this Redis (closed after the test)."""
        from kombu import connection

        factory: Any = connection.Connection
        transport_options = {**self.transport_options, **options.pop("transport_options", {})}
        conn = factory(self.url, transport_options=transport_options, **options)
        self._connections.append(conn)
        return conn

    def client(self, **options: Any) -> Any:
        """A redis-py client of this Redis's database (closed after the test)."""
        import redis

        client = redis.Redis.from_url(self.url, **options)
        self._connections.append(client)
        return client

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until ``predicate()`` is truthy (woken by every command on fakebroker).

        On fakebroker the predicate runs under the node's lock, which the front
        needs for every command: read with the inspection API there, not with a
        Redis client (that would wait for the lock until the timeout).
        """
        return _wait_for(predicate, timeout, node=self.node)

    def add_finalizer(self, finalizer: Callable[[], None]) -> None:
        """Run ``finalizer`` when the handle closes (last added, first run)."""
        self._finalizers.append(finalizer)

    def close(self) -> None:
        """Close the test's clients, then run the finalizers."""
        try:
            while self._connections:
                with contextlib.suppress(Exception):
                    self._connections.pop().close()
        finally:
            while self._finalizers:
                self._finalizers.pop()()


def make_redis_inproc(*, clock: str = "virtual", name: str | None = None) -> RedisBrokerHandle:
    """A fresh node (virtual clock by default) served on loopback; kombu on its clock."""
    from .._factory import build_node

    node = build_node(clock=clock, name=name)
    url = node.redis.url
    handle = RedisBrokerHandle(kind="redis-inproc", url=url, reader=_FakeReader(node, 0), node=node)
    stack = contextlib.ExitStack()
    stack.enter_context(kombu_on_clock(node.clock))
    handle.add_finalizer(node.close)
    handle.add_finalizer(stack.close)
    return handle


class RedisPool:
    """One node's Redis served on a free port for a whole process; a database per test.

    Databases 1-15 (Redis has 16) are lent to tests and flushed when given back.
    """

    def __init__(self) -> None:
        self._server: RedisThread | None = None
        self._node: Node | None = None
        self._free = list(range(1, 16))
        self._lock = threading.Lock()

    def _shared(self) -> tuple[Node, RedisThread]:
        with self._lock:
            if self._server is None or self._node is None:
                from .._factory import build_node

                self._node = build_node(clock="system")
                self._server = self._node.redis.loopback()
            return self._node, self._server

    def handle(self) -> RedisBrokerHandle:
        """A database of its own on the shared server (flushed after the test)."""
        node, server = self._shared()
        with self._lock:
            if not self._free:
                raise RuntimeError("every database of the shared Redis front is lent out")
            db = self._free.pop(0)
        url = f"redis://127.0.0.1:{server.port}/{db}"
        handle = RedisBrokerHandle(
            kind="redis-tcp", url=url, reader=_FakeReader(node, db), node=node, db=db
        )

        def flush() -> None:
            with node.redis.database(db) as data:
                data.clear()
            with self._lock:
                self._free.append(db)

        handle.add_finalizer(flush)
        return handle

    def close(self) -> None:
        """Stop the shared server."""
        with self._lock:
            node, self._node, self._server = self._node, None, None
        if node is not None:
            node.close()


_serial = itertools.count()


def make_redis_real(url: str, *, test_id: str) -> RedisBrokerHandle:
    """A real Redis at ``url``, this test's keys under a prefix of its own (deleted after)."""
    import redis

    client = redis.Redis.from_url(url)
    slug = "".join(c if c.isalnum() else "-" for c in test_id)[:40]
    prefix = f"fbtest:{slug}:{next(_serial)}:{threading.get_ident() % 10_000}:"
    db = int(client.connection_pool.connection_kwargs.get("db", 0))
    handle = RedisBrokerHandle(
        kind="redis", url=url, reader=_RespReader(client), db=db, prefix=prefix
    )

    def clean() -> None:
        for key in _RespReader(client).keys(prefix):
            client.delete(key)
        client.close()

    handle.add_finalizer(clean)
    return handle


# -- the pytest plugin's hooks ---------------------------------------------------------------------

#: ``--broker`` values that select a Redis (besides ``redis://`` URLs).
CHOICES = ("redis-inproc", "redis-tcp")


_REDIS_URL = re.compile(r"^rediss?://([^@/]*@)?[^:/@]+:\d+/\d+$")


def is_redis_choice(choice: str) -> bool:
    """Whether a ``--broker`` value selects a Redis: ``redis-inproc``, ``redis-tcp`` or a
    ``redis://[USER:PASSWORD@]HOST:PORT/DB`` URL (port and database spelled out, as the
    suite's keys go to that database)."""
    return choice in CHOICES or bool(_REDIS_URL.match(choice))


def make_redis_backend(choice: str, pool: RedisPool, *, test_id: str) -> RedisBrokerHandle:
    """The handle ``--broker=choice`` asks for (``redis-inproc`` for anything not Redis)."""
    if choice == "redis-tcp":
        return pool.handle()
    if choice.startswith(("redis://", "rediss://")):
        return make_redis_real(choice, test_id=test_id)
    return make_redis_inproc()
