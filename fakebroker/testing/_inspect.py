"""The inspection and assertion API shared by the pytest fixtures.

Everything here reads one vhost of a node's broker under the node's lock,
so it is safe while a TCP server thread or a Celery worker thread drives
the same broker.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core import SystemClock, VirtualClock

if TYPE_CHECKING:
    from .._node import Node
    from ..core import BindingInfo, JournalEntry, Message, QueueInfo

__all__ = ["Inspector", "match_body"]

#: How many published messages a failed assertion lists.
SHOWN = 20

_ANY: Any = object()


def match_body(expected: Any, body: bytes) -> bool:
    """Whether ``body`` is ``expected``: bytes as is, str decoded, anything else JSON-decoded."""
    if isinstance(expected, bytes):
        return body == expected
    if isinstance(expected, str):
        return body.decode("utf-8", "replace") == expected
    try:
        return bool(json.loads(body) == expected)
    except ValueError:
        return False


def _describe(message: Message) -> str:
    body = message.body
    shown = body[:80] + (b"..." if len(body) > 80 else b"")
    return f"exchange={message.exchange!r} routing_key={message.routing_key!r} body={shown!r}"


class Inspector:
    """Read-only views of one vhost of a broker, and assertions on what was published."""

    def __init__(self, *, node: Node, vhost: str = "/", since: int = 0) -> None:
        self.node = node
        self.broker = node.broker
        self.vhost = vhost
        self.lock = node.lock
        #: Assertions need the journal complete after this entry (0: all of it).
        self.since = since

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
        """The vhost's queues by name (snapshots: counts are taken now)."""
        with self.lock:
            return {q.name: q for q in self.broker.list_queues(self.vhost)}

    @property
    def exchanges(self) -> dict[str, dict[str, Any]]:
        """The vhost's exchanges by name, the default ones included."""
        with self.lock:
            return {x["name"]: x for x in self.broker.list_exchanges(self.vhost)}

    @property
    def bindings(self) -> list[BindingInfo]:
        """Every binding of the vhost, the default exchange's implicit ones first."""
        with self.lock:
            return self.broker.list_bindings(self.vhost)

    @property
    def consumers(self) -> list[dict[str, Any]]:
        """Every consumer of the vhost."""
        with self.lock:
            return self.broker.list_consumers(self.vhost)

    def messages(self, queue: str) -> list[Message]:
        """The ready messages of ``queue``, in delivery order (KeyError if no such queue)."""
        with self.lock:
            return self.broker.messages(queue, self.vhost)

    # -- the journal -----------------------------------------------------------------------------

    def journal(self, kind: str | None = None, **match: Any) -> list[JournalEntry]:
        """The vhost's journal entries of ``kind`` whose fields equal ``match``."""
        with self.lock:
            return self.broker.journal.entries(kind, vhost=self.vhost, **match)

    def published(
        self,
        *,
        exchange: str | None = None,
        routing_key: str | None = None,
        body: Any = _ANY,
        headers: dict[str, Any] | None = None,
        where: Callable[[Message], bool] | None = None,
        **properties: Any,
    ) -> list[Message]:
        """Messages published to the vhost, oldest first, filtered by every argument given.

        ``body`` matches bytes exactly, a str against the UTF-8 text, anything
        else against the JSON-decoded body; ``headers`` must be a subset of
        the message's; other keywords are basic properties (``content_type=``,
        ``correlation_id=`` ...); ``where`` is any predicate.
        """
        found = []
        for entry in self.journal("published"):
            msg = entry.message
            if msg is None:
                continue
            if exchange is not None and msg.exchange != exchange:
                continue
            if routing_key is not None and msg.routing_key != routing_key:
                continue
            if body is not _ANY and not match_body(body, msg.body):
                continue
            if headers and any(msg.headers.get(k, _ANY) != v for k, v in headers.items()):
                continue
            if any(msg.properties.get(k, _ANY) != v for k, v in properties.items()):
                continue
            if where is not None and not where(msg):
                continue
            found.append(msg)
        return found

    def assert_published(self, *, count: int | None = None, **criteria: Any) -> list[Message]:
        """Assert something matching ``criteria`` (see :meth:`published`) was published.

        With ``count``, exactly that many.  Returns the matches; the failure
        message lists what was published instead.
        """
        found = self.published(**criteria)
        if count is not None or not found:
            self._require_complete_journal("assert_published")
        if (count is None and not found) or (count is not None and len(found) != count):
            wanted = "a message" if count is None else f"{count} message(s)"
            raise AssertionError(self._report(f"expected {wanted} matching", criteria, found))
        return found

    def assert_not_published(self, **criteria: Any) -> None:
        """Assert nothing matching ``criteria`` (see :meth:`published`) was published."""
        self._require_complete_journal("assert_not_published")
        found = self.published(**criteria)
        if found:
            raise AssertionError(self._report("expected no message matching", criteria, found))

    def _require_complete_journal(self, what: str) -> None:
        """Fail loudly when the journal lost entries this inspector would have read."""
        journal = self.broker.journal
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

    def _report(self, headline: str, criteria: dict[str, Any], found: list[Message]) -> str:
        wanted = ", ".join(f"{k}={v!r}" for k, v in criteria.items()) or "anything"
        everything = self.published()
        lines = [f"{headline} {wanted} in vhost {self.vhost!r}; {len(found)} matched."]
        if not everything:
            lines.append("Nothing was published.")
            return "\n".join(lines)
        lines.append(f"Published ({len(everything)}):")
        lines += [f"  {_describe(m)}" for m in everything[-SHOWN:]]
        if len(everything) > SHOWN:
            lines.insert(2, f"  ... {len(everything) - SHOWN} earlier")
        return "\n".join(lines)

    def dead_letters(self, queue: str | None = None, *, reason: str | None = None) -> list[Message]:
        """Messages dead-lettered from ``queue`` (any if None), as republished (with x-death).

        ``reason`` is RabbitMQ's: ``"rejected"``, ``"expired"``, ``"maxlen"``
        or ``"delivery_limit"``.
        """
        match: dict[str, Any] = {} if queue is None else {"queue": queue}
        return [
            entry.message
            for entry in self.journal("dead-lettered", **match)
            if entry.message is not None
            and (reason is None or entry.details.get("reason") == reason)
        ]
