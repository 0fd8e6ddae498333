"""The Redis flavour of a node: its fakeredis data, clients, servers and journal.

One :class:`RedisState` per :class:`~fakebroker.Node`, made on first use
(``node.redis``).  It owns a fakeredis ``FakeServer`` whose databases read
the time from the node's clock, so key expiries (EXPIRE, PEXPIRE, SET PX,
SETEX, the unacked mutex) follow a virtual clock: ``node.advance(60)``
expires a 60 s key at once.  Every command the front handles goes through
:meth:`RedisState.run` with the node's lock held, and is written to the
command :attr:`~RedisState.journal`.

Hash-field expiries (HEXPIRE ...), TIME and CLIENT PAUSE read the system
time inside fakeredis; kombu and Celery use none of them.
"""

from __future__ import annotations

import contextlib
import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fakeredis._core._database import Database
from fakeredis._core._server import FakeServer

if TYPE_CHECKING:
    from ..._node import Node
    from ...core import Clock
    from ._server import RedisServer
    from ._threaded import RedisThread

__all__ = ["ClockedDatabase", "Command", "RedisState"]

#: The Redis version fakeredis emulates (the machines run Redis 7).
VERSION = (7, 0)
#: Commands the journal keeps by default (the oldest go first).
JOURNAL_SIZE = 100_000


class ClockedDatabase(Database):
    """A fakeredis database whose ``time`` is the node's clock (the setter is ignored)."""

    def __init__(self, lock: threading.Lock, clock: Clock) -> None:
        self._clock = clock
        super().__init__(lock)

    @property
    def time(self) -> float:
        return self._clock.now()

    @time.setter
    def time(self, value: float) -> None:
        """fakeredis stamps the system time before each command: the clock wins."""


@dataclass(frozen=True, slots=True)
class Command:
    """One command a client sent, as the journal keeps it."""

    #: The broker clock's time when it was handled.
    at: float
    #: ``"peer -> local"`` of the client connection.
    connection: str
    db: int
    #: The command's name, upper case (``"LPUSH"``, ``"CLIENT SETNAME"``).
    name: str
    args: tuple[bytes, ...]


class RedisState:
    """The node's Redis: a fakeredis server on the node's clock, and its fronts."""

    def __init__(self, *, node: Node, journal_size: int = JOURNAL_SIZE) -> None:
        self.node = node
        self.server = self._fresh_server()
        self.journal: deque[Command] = deque(maxlen=journal_size)
        #: How many commands went into the journal since it was made (or cleared).
        self.journaled = 0
        self._servers: list[RedisServer] = []
        self._loopback: RedisThread | None = None
        self._guard = threading.Lock()

    def _fresh_server(self) -> FakeServer:
        server = FakeServer(version=VERSION)
        clock = self.node.clock
        lock = server.lock
        server.dbs = defaultdict(lambda: self._database(lock, clock))
        return server

    def _database(self, lock: threading.Lock, clock: Clock) -> ClockedDatabase:
        db = ClockedDatabase(lock, clock)
        db.add_change_callback(self._changed)
        return db

    # -- commands -------------------------------------------------------------------------

    def record(self, connection: str, db: int, name: str, args: list[bytes]) -> None:
        """Journal one command (node lock held)."""
        self.journal.append(Command(self.node.clock.now(), connection, db, name, tuple(args)))
        self.journaled += 1

    @property
    def journal_complete(self) -> bool:
        """Whether the journal still holds every command since it began."""
        return self.journaled <= (self.journal.maxlen or 0)

    def commands(self, name: str | None = None) -> list[Command]:
        """The journal's commands (only ``name``'s, upper case, when given)."""
        with self.node.lock:
            entries = list(self.journal)
        if name is None:
            return entries
        return [c for c in entries if c.name == name.upper()]

    def _changed(self) -> None:
        """A key changed (fakeredis's lock held): parked BRPOPs get another go."""
        for server in list(self._servers):
            server.poke()

    # -- the data -------------------------------------------------------------------------

    @contextlib.contextmanager
    def database(self, db: int = 0) -> Iterator[Database]:
        """Hold the node's lock and fakeredis's, and get database ``db`` (for inspection)."""
        with self.node.lock, self.server.lock:
            database = self.server.dbs[db]
            yield database

    def value(self, key: bytes | str, db: int = 0) -> Any:
        """A key's stored value (fakeredis's model: bytes, list, set, Hash, ZSet), or None."""
        raw = key.encode() if isinstance(key, str) else key
        with self.database(db) as database:
            item = database.get(raw)
            return None if item is None else item.value

    def keys(self, db: int = 0) -> list[bytes]:
        """The live keys of database ``db``."""
        with self.database(db) as database:
            return sorted(database)

    def flush(self) -> None:
        """Forget every key of every database, and the scripts (FLUSHALL + SCRIPT FLUSH)."""
        with self.node.lock, self.server.lock:
            for database in self.server.dbs.values():
                database.clear()
            self.server.script_cache.clear()

    # -- fronts ---------------------------------------------------------------------------

    def attach(self, server: RedisServer) -> None:
        """Track a running server of this node's Redis."""
        with self._guard:
            self._servers.append(server)

    def detach(self, server: RedisServer) -> None:
        """Forget a server that stopped."""
        with self._guard, contextlib.suppress(ValueError):
            self._servers.remove(server)

    @property
    def servers(self) -> list[RedisServer]:
        """The servers serving this node's Redis."""
        with self._guard:
            return list(self._servers)

    def loopback(self) -> RedisThread:
        """The node's own Redis server on 127.0.0.1 (a free port), started on first use."""
        from ._threaded import RedisThread

        with self._guard:
            thread = self._loopback
            if thread is not None and thread.running:
                return thread
            thread = self._loopback = RedisThread(node=self.node)
        return thread.start()

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0`` of :meth:`loopback` (started on first use)."""
        return self.loopback().url

    def restart(self, *, keep_data: bool = True) -> None:
        """A Redis restart: every client is disconnected; without ``keep_data`` the keys go."""
        for server in self.servers:
            server.drop_all()
        if not keep_data:
            self.flush()
        with self.node.lock, self.server.lock:
            self.server.subscribers.clear()
            self.server.psubscribers.clear()
            self.server.ssubscribers.clear()

    def close(self) -> None:
        """Stop the node's loopback server (the node closes its other servers)."""
        with self._guard:
            thread, self._loopback = self._loopback, None
        if thread is not None:
            thread.close()
