"""Faults at named points of the RESP front, on the node's one fault plan.

The Redis front consults the same plan as the AMQP engines
(``node.faults``, :class:`fakebroker.faults.Faults`) with the same
:class:`~fakebroker.faults.Rule` objects, at these points (a rule's
``method`` is the Redis command, upper case: ``"BRPOP"``, ``"EXEC"``,
``"CLIENT SETNAME"``; its ``queue`` the command's first argument, or for a
served blocking pop the key it popped; ``connection`` the client's
``"peer -> local"``):

- ``connection_opening``: a client connects (refuse: a TCP reset);
- ``method_received``: a command arrived, before it is handled (drop,
  stall, close_connection);
- ``message_routed``: a command was applied, its reply not sent (drop: the
  reply is lost; stall);
- ``delivery_sending``: a blocking pop (BRPOP ...) took a value, its reply
  not sent (drop: the value is gone, as on a real Redis; close_connection);
- ``frame_sending``: replies leave the front (latency; slice: each reply's
  bytes leave in writes of at most ``size`` bytes, ``delay`` real seconds
  apart, in order).

"Between MULTI and EXEC" is a drop before ``EXEC``: the queued commands are
discarded with the connection, none applied.  Durations (stall, latency)
are real seconds on the front's loop: a Redis client waits on its socket,
and a test thread blocked in that wait cannot move a virtual clock.

:class:`RedisFaults` (``node.redis_faults``, or ``RedisFaults(node)``)
writes these rules with Redis words; restarts are its
:meth:`RedisFaults.restart`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.faultpoints import Action, Decision, Point
from ...faults import Hit, Rule

if TYPE_CHECKING:
    from ..._node import Node
    from ._server import _Client

__all__ = ["WHEN", "RedisFaults"]

#: ``when=`` of :meth:`RedisFaults.drop_connection` -> the fault point.
WHEN = {
    "before": Point.METHOD_RECEIVED,
    "after_apply": Point.MESSAGE_ROUTED,
    "popped": Point.DELIVERY_SENDING,
}
#: The actions the front carries out when a rule fires before or after a command.
COMMAND_ACTIONS = frozenset({Action.DROP, Action.STALL, Action.CLOSE_CONNECTION})


def _hit(name: str, point: str, method: str | None, key: bytes | None, db: int) -> Hit:
    return Hit(
        point=Point(point),
        connection=name,
        vhost=str(db),
        method=method,
        queue=None if key is None else key.decode("utf-8", "replace"),
    )


def refused(node: Node, name: str) -> bool:
    """Whether a refuse rule fires for a new connection (node lock held)."""
    faults = node.faults
    if not faults.armed(Point.CONNECTION_OPENING):
        return False
    decision = faults.fire(_hit(name, Point.CONNECTION_OPENING, None, None, 0))
    return decision is not None and decision.action is Action.REFUSE


def hit(client: _Client, point: str, method: str, key: bytes | None) -> Hit | None:
    """The hit at ``point`` when a rule waits there (node lock held), else None."""
    if not client.node.faults.armed(Point(point)):
        return None
    db = client.sock.db_number if client.sock is not None else 0
    return _hit(client.name, point, method, key, db)


def fire(node: Node, at: Hit) -> Decision | None:
    """The fault to carry out at ``at``: the first armed rule's, as on AMQP (node lock held)."""
    decision = node.faults.fire(at)
    if decision is None or decision.action not in COMMAND_ACTIONS:
        return None
    return decision


def shaping(client: _Client) -> tuple[float, int | None, float]:
    """How output leaves, by the rules that fire: (latency in seconds, the slice size or
    None, seconds between slices); (0, None, 0) for none."""
    faults = client.node.faults
    if not faults.armed(Point.FRAME_SENDING):
        return 0.0, None, 0.0
    fired = faults.fire_all(_hit(client.name, Point.FRAME_SENDING, None, None, 0))
    delay = sum(d.delay or 0.0 for d in fired if d.action is Action.LATENCY)
    slices = [d for d in fired if d.action is Action.SLICE and d.size]
    if not slices:
        return delay, None, 0.0
    size = min(d.size for d in slices if d.size)
    return delay, size, max(d.delay or 0.0 for d in slices)


class RedisFaults:
    """Fault rules for the node's Redis front, written with Redis words.

    Each builder adds one rule to ``node.faults`` and returns it; every
    builder takes the plan's match and count keywords (``connection``,
    ``queue`` for the key, ``nth``, ``every``, ``after``, ``probability``,
    ``times``).
    """

    def __init__(self, node: Node) -> None:
        self.node = node

    def drop_connection(self, *, on: str | None = None, when: str = "before", **match: Any) -> Rule:
        """Reset the client's socket at ``when``: ``"before"`` command ``on`` is handled,
        ``"after_apply"`` (applied, the reply lost), ``"popped"`` (a blocking pop took a
        value, the reply lost).  ``on="EXEC"`` drops between MULTI and EXEC."""
        try:
            point = WHEN[when]
        except KeyError:
            raise ValueError(f"when= must be one of {sorted(WHEN)}, not {when!r}") from None
        if when == "popped" and on is None:
            on = "BRPOP"
        return self._add("drop", point, on, **match)

    def close_connection(self, *, on: str | None = None, **match: Any) -> Rule:
        """Close the client's socket (FIN) instead of handling command ``on``."""
        return self._add("close_connection", "method_received", on, **match)

    def refuse_connections(self, n: int | None = 1, **match: Any) -> Rule:
        """Reset the next ``n`` connections at accept (None: every one the counts pick)."""
        return self._add("refuse", "connection_opening", None, times=n, **match)

    def stall(self, *, on: str | None = None, duration: float | None = None, **match: Any) -> Rule:
        """Stop reading and replying to the client at command ``on``, for ``duration`` s
        (real time) or for good; the command is applied, its reply held."""
        return self._add("stall", "method_received", on, delay=duration, **match)

    def lose_reply(self, *, on: str, **match: Any) -> Rule:
        """Apply command ``on``, then reset the socket before its reply goes out."""
        return self.drop_connection(on=on, when="after_apply", **match)

    def latency(self, delay: float, **match: Any) -> Rule:
        """Hold every reply ``delay`` seconds (real time)."""
        match.setdefault("times", None)
        return self._add("latency", "frame_sending", None, delay=delay, **match)

    def slicer(self, size: int, *, delay: float | None = None, **match: Any) -> Rule:
        """Send replies in writes of at most ``size`` bytes, ``delay`` seconds (real time)
        apart: Toxiproxy's slicer, as ``node.faults.slicer`` for AMQP."""
        match.setdefault("times", None)
        return self._add("slice", "frame_sending", None, size=size, delay=delay, **match)

    def restart(self, *, keep_data: bool = True) -> None:
        """Restart Redis now: every client is reset; without ``keep_data`` every key goes."""
        self.node.redis.restart(keep_data=keep_data)

    def _add(self, action: str, point: str, on: str | None, **fields: Any) -> Rule:
        if on is not None:
            on = on.upper()
        if "times" not in fields and any(
            fields.get(k) is not None for k in ("every", "after", "probability")
        ):
            fields["times"] = None
        return self.node.faults.add(Rule(action=action, point=point, method=on, **fields))
