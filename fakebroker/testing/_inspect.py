"""The inspection and assertion API shared by the pytest fixtures.

Everything here reads one vhost of a node's broker under the node's lock,
so it is safe while a TCP server thread or a Celery worker thread drives
the same broker.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..core import SystemClock, VirtualClock
from ._assertions import Assertions
from ._matching import Record, Views, match_body, no_such

if TYPE_CHECKING:
    from .._node import Node
    from ..core import BindingInfo, JournalEntry, Message, QueueInfo

__all__ = ["Inspector", "match_body"]

#: The longest a read waits for the broker to go quiet (seconds).
SETTLE_LIMIT = 1.0
#: The journal fields a record carries besides its message.
_FIELDS = ("queue", "consumer_tag", "redelivered", "no_ack", "reason")


class Inspector(Assertions):
    """Read-only views of one vhost of a broker, and assertions on its journal."""

    def __init__(self, *, node: Node, vhost: str = "/", since: int = 0) -> None:
        self.node = node
        self.broker = node.broker
        self.vhost = vhost
        self.lock = node.lock
        #: Assertions need the journal complete after this entry (0: all of it).
        self.since = since
        #: Over a socket, reads first wait this long for the broker to go quiet (seconds).
        self.settle_window = 0.0

    def settle(self) -> None:
        """Let bytes clients already sent reach the broker before a read (TCP fronts only).

        Waits until the broker has not changed for :attr:`settle_window`
        seconds (at most :data:`SETTLE_LIMIT`); in-process, a client's
        write is handled before it returns, so there is nothing to wait for.
        """
        if not self.settle_window:
            return
        limit = time.monotonic() + SETTLE_LIMIT
        with self.node.changed:
            while self.node.changed.wait(self.settle_window) and time.monotonic() < limit:
                pass

    @property
    def clock(self) -> VirtualClock | SystemClock:
        """The broker's clock: ``advance(seconds)`` moves a :class:`~fakebroker.VirtualClock`
        (the ``broker`` fixture's); a :class:`~fakebroker.SystemClock` refuses it."""
        clock = self.broker.clock
        if not isinstance(clock, (VirtualClock, SystemClock)):
            raise TypeError(f"the broker runs on a clock of its own: {clock!r}")
        return clock

    # -- topology ------------------------------------------------------------------------------

    @property
    def queues(self) -> dict[str, QueueInfo]:
        """The vhost's queues by name (snapshots: counts are taken now).

        A missing name is a KeyError that names the vhost and the close names.
        """
        self.settle()
        with self.lock:
            found = {q.name: q for q in self.broker.list_queues(self.vhost)}
        return Views(found, what="queue", vhost=self.vhost)

    @property
    def exchanges(self) -> dict[str, dict[str, Any]]:
        """The vhost's exchanges by name, the default ones included."""
        self.settle()
        with self.lock:
            found = {x["name"]: x for x in self.broker.list_exchanges(self.vhost)}
        return Views(found, what="exchange", vhost=self.vhost)

    @property
    def bindings(self) -> list[BindingInfo]:
        """Every binding of the vhost, the default exchange's implicit ones first."""
        self.settle()
        with self.lock:
            return self.broker.list_bindings(self.vhost)

    @property
    def consumers(self) -> list[dict[str, Any]]:
        """Every consumer of the vhost."""
        self.settle()
        with self.lock:
            return self.broker.list_consumers(self.vhost)

    @property
    def connections(self) -> list[dict[str, Any]]:
        """The open connections to the vhost (``name``, ``user``, ``vhost``, ``channels`` ...)."""
        self.settle()
        with self.lock:
            return [
                {
                    "name": conn.name,
                    "user": conn.user,
                    "vhost": conn.vhost.name,
                    "channels": len(conn.channels),
                    "client_properties": dict(conn.client_properties),
                }
                for conn in self.broker.connections
                if conn.vhost.name == self.vhost and not conn.closed
            ]

    def messages(self, queue: str) -> list[Message]:
        """The ready messages of ``queue``, in delivery order (KeyError if no such queue)."""
        self.settle()
        with self.lock:
            names = [q.name for q in self.broker.list_queues(self.vhost)]
            if queue not in names:
                raise no_such("queue", queue, self.vhost, names)
            return self.broker.messages(queue, self.vhost)

    # -- the journal -----------------------------------------------------------------------------

    def journal(self, kind: str | None = None, **match: Any) -> list[JournalEntry]:
        """The vhost's journal entries of ``kind`` whose fields equal ``match``."""
        self.settle()
        with self.lock:
            return self.broker.journal.entries(kind, vhost=self.vhost, **match)

    def _records(self, kind: str) -> list[Record]:
        return [
            Record(entry.message, _fields(entry))
            for entry in self.journal(kind)
            if entry.message is not None
        ]

    def _require_complete(self, what: str) -> None:
        """Fail loudly when the journal lost entries this inspector would have read."""
        journal = self.broker.journal
        self.settle()
        with self.lock:
            if journal.complete_since(self.since):
                return
            why = (
                "it is switched off"
                if not journal.enabled
                else f"it keeps only its last {len(journal):,} entries and older ones were dropped"
            )
        raise AssertionError(
            f"{what} cannot decide: the broker's journal is incomplete ({why}); "
            "give the broker a larger journal_maxlen or journal_max_bytes (None: unbounded) "
            "or assert sooner"
        )


def _fields(entry: JournalEntry) -> dict[str, Any]:
    found = {key: entry.details.get(key, getattr(entry, key, None)) for key in _FIELDS}
    return {key: value for key, value in found.items() if value is not None}
