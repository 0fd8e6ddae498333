"""The assertion API every backend's inspector shares.

A backend supplies its records (:meth:`Assertions._records`: what was
published, delivered, acked and dead-lettered, oldest first) and says
whether they are complete; the matching and the failure texts are
:mod:`._matching`'s, so they read the same on fakebroker and RabbitMQ.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._matching import ANY, Record, check_reason, report, select

if TYPE_CHECKING:
    from ..core import Message

__all__ = ["RECORD_KINDS", "Assertions"]

#: The record kinds a backend provides (journal entry kinds of the same names).
RECORD_KINDS = ("published", "delivered", "acked", "dead-lettered")


class Assertions(ABC):
    """``published``, ``dead_letters`` and the ``assert_*`` helpers over a backend's records."""

    vhost: str

    @abstractmethod
    def _records(self, kind: str) -> list[Record]:
        """The vhost's records of ``kind`` (one of :data:`RECORD_KINDS`), oldest first."""

    @abstractmethod
    def _require_complete(self, what: str) -> None:
        """Fail when the records may lack entries an assertion would have read."""

    # -- queries -------------------------------------------------------------------------------

    def published(
        self,
        *,
        exchange: str | None = None,
        routing_key: str | None = None,
        body: Any = ANY,
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
        criteria = _criteria(exchange, routing_key, body, headers, where, properties)
        return [r.message for r in select(self._records("published"), criteria)]

    def dead_letters(self, queue: str | None = None, *, reason: str | None = None) -> list[Message]:
        """Messages dead-lettered from ``queue`` (any if None), as republished (with x-death).

        ``reason`` is RabbitMQ's: ``"rejected"``, ``"expired"``, ``"maxlen"``
        or ``"delivery_limit"`` (anything else is a ValueError).
        """
        check_reason(reason)
        criteria = {k: v for k, v in (("queue", queue), ("reason", reason)) if v is not None}
        return [r.message for r in select(self._records("dead-lettered"), criteria)]

    # -- assertions ----------------------------------------------------------------------------

    def assert_published(self, *, count: int | None = None, **criteria: Any) -> list[Message]:
        """Assert something matching ``criteria`` (see :meth:`published`) was published.

        With ``count``, exactly that many.  Returns the matches; the failure
        message lists what was published instead, decoded, and how the
        nearest one differs.
        """
        __tracebackhide__ = True
        return self._assert("published", "assert_published", count, criteria)

    def assert_not_published(self, **criteria: Any) -> None:
        """Assert nothing matching ``criteria`` (see :meth:`published`) was published."""
        __tracebackhide__ = True
        self._assert("published", "assert_not_published", 0, criteria, none=True)

    def assert_consumed(
        self, queue: str | None = None, *, count: int | None = None, **criteria: Any
    ) -> list[Message]:
        """Assert a message matching ``criteria`` was delivered from ``queue`` (consume or get).

        Criteria are :meth:`published`'s; with ``count``, exactly that many
        deliveries (redeliveries count again).
        """
        __tracebackhide__ = True
        return self._assert("delivered", "assert_consumed", count, _with(criteria, queue=queue))

    def assert_acked(
        self, queue: str | None = None, *, count: int | None = None, **criteria: Any
    ) -> list[Message]:
        """Assert a message matching ``criteria`` taken from ``queue`` was acknowledged.

        Only explicit ``basic.ack`` counts (a ``no_ack`` delivery is not an ack).
        """
        __tracebackhide__ = True
        return self._assert("acked", "assert_acked", count, _with(criteria, queue=queue))

    def assert_dead_lettered(
        self,
        queue: str | None = None,
        *,
        reason: str | None = None,
        count: int | None = None,
        **criteria: Any,
    ) -> list[Message]:
        """Assert a message matching ``criteria`` was dead-lettered from ``queue`` for ``reason``.

        Returns the messages as republished (with ``x-death``).
        """
        __tracebackhide__ = True
        check_reason(reason)
        wanted = _with(criteria, queue=queue, reason=reason)
        return self._assert("dead-lettered", "assert_dead_lettered", count, wanted)

    def _assert(
        self,
        kind: str,
        what: str,
        count: int | None,
        criteria: dict[str, Any],
        *,
        none: bool = False,
    ) -> list[Message]:
        __tracebackhide__ = True
        records = self._records(kind)
        found = select(records, criteria)
        if none or count is not None or not found:
            self._require_complete(what)
        if none:
            failed, headline = bool(found), "expected no message matching"
        elif count is None:
            failed, headline = not found, "expected a message matching"
        else:
            failed, headline = len(found) != count, f"expected {count} message(s) matching"
        if failed:
            text = report(
                headline, criteria, vhost=self.vhost, found=found, everything=records, noun=kind
            )
            raise AssertionError(text)
        return [r.message for r in found]


def _criteria(
    exchange: str | None,
    routing_key: str | None,
    body: Any,
    headers: dict[str, Any] | None,
    where: Callable[[Message], bool] | None,
    properties: dict[str, Any],
) -> dict[str, Any]:
    given = {
        "exchange": exchange,
        "routing_key": routing_key,
        "headers": headers or None,
        "where": where,
    }
    criteria = {k: v for k, v in given.items() if v is not None}
    if body is not ANY:
        criteria["body"] = body
    return {**criteria, **properties}


def _with(criteria: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**{k: v for k, v in fields.items() if v is not None}, **criteria}
