"""Fault rules: what to break, where, and when (pure data and matching, sans-I/O).

A :class:`Rule` names an :class:`~fakebroker.core.faultpoints.Action`
(``drop``, ``nack`` ...) and the :class:`~fakebroker.core.faultpoints.Point`
where the engine asks for it (:data:`POINTS`).  At each point the engine
describes what is happening as a :class:`Hit`; a rule *matches* a hit when
every filter it sets agrees (strings are ``fnmatch`` patterns), and *fires*
on the matches its count condition picks:

- ``nth=k``: the k-th match (then the following ones while ``times`` lasts);
- ``every=k``: every k-th match;
- ``after=k``: every match after the first k;
- ``probability=p``: each match with probability p, from the plan's seeded RNG;
- none of these: the first match.

``times`` bounds how often a rule fires (None: without limit).  A rule that
fires becomes a :class:`~fakebroker.core.faultpoints.Decision`, what the
engine carries out.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import random
from dataclasses import dataclass, field
from typing import Any

from ..core.faultpoints import Action, Decision, Hit, Point

__all__ = ["ACTIONS", "BYTE_POINTS", "POINTS", "Hit", "Rule"]

#: The named fault points of the engine, and what happens there.
POINTS: dict[Point, str] = {
    Point.CONNECTION_OPENING: "a client connects, before it sends anything (refuse)",
    Point.BYTES_RECEIVED: "the client's byte stream passes a count (bytes=N)",
    Point.BYTES_SENT: "the broker's byte stream to the client passes a count (bytes=N)",
    Point.FRAME_RECEIVED: "a frame arrived, before it is handled",
    Point.METHOD_RECEIVED: "a complete command (method + content), before it is handled",
    Point.CONTENT_HEADER_RECEIVED: "a publish's content header arrived, its body not yet",
    Point.MESSAGE_ROUTED: "a publish was routed; its confirm has not gone out",
    Point.CONFIRM_SENDING: "a publisher confirm (basic.ack) is about to go out",
    Point.DELIVERY_SENDING: "a basic.deliver is about to go out",
    Point.FRAME_SENDING: "frames leave the broker (latency, bandwidth, slice)",
}

#: The points that count a connection's bytes (a rule there needs ``bytes=N``).
BYTE_POINTS = frozenset({Point.BYTES_RECEIVED, Point.BYTES_SENT})
#: The filters a byte count's hit never carries (a rule setting one could never fire).
_NOT_AT_BYTES = ("channel", "method", "exchange", "queue", "routing_key", "holding")

#: The fields that count (an int, never a float, string or bool: HTTP sends JSON).
_COUNTS = ("channel", "nth", "every", "after", "times", "holding", "bytes", "size", "code")

#: The actions, and the points where each makes sense.
ACTIONS: dict[Action, frozenset[Point]] = {
    Action.DROP: frozenset(POINTS) - {Point.CONNECTION_OPENING, Point.FRAME_SENDING},
    Action.REFUSE: frozenset({Point.CONNECTION_OPENING}),
    Action.CLOSE_CONNECTION: frozenset(
        {
            Point.FRAME_RECEIVED,
            Point.METHOD_RECEIVED,
            Point.MESSAGE_ROUTED,
            Point.DELIVERY_SENDING,
        }
    ),
    Action.CLOSE_CHANNEL: frozenset({Point.METHOD_RECEIVED}),
    Action.STALL: frozenset(
        {Point.BYTES_RECEIVED, Point.FRAME_RECEIVED, Point.METHOD_RECEIVED, Point.MESSAGE_ROUTED}
    ),
    Action.NACK: frozenset({Point.CONFIRM_SENDING}),
    Action.DELAY: frozenset({Point.CONFIRM_SENDING}),
    Action.WITHHOLD: frozenset({Point.CONFIRM_SENDING}),
    Action.RETURN: frozenset({Point.METHOD_RECEIVED}),
    Action.CANCEL: frozenset({Point.DELIVERY_SENDING}),
    Action.DUPLICATE: frozenset({Point.DELIVERY_SENDING}),
    Action.LATENCY: frozenset({Point.FRAME_SENDING}),
    Action.BANDWIDTH: frozenset({Point.FRAME_SENDING}),
    Action.SLICE: frozenset({Point.FRAME_SENDING}),
}


def _choices(kind: str, values: Any) -> str:
    return f"valid {kind}: " + ", ".join(sorted(str(v) for v in values))


def as_point(value: Point | str) -> Point:
    """``value`` as a :class:`Point`; ValueError listing the valid points."""
    try:
        return Point(value)
    except ValueError:
        raise ValueError(f"unknown fault point {value!r}; {_choices('points', Point)}") from None


def as_action(value: Action | str) -> Action:
    """``value`` as an :class:`Action`; ValueError listing the valid actions."""
    try:
        return Action(value)
    except ValueError:
        raise ValueError(f"unknown fault action {value!r}; {_choices('actions', Action)}") from None


@dataclass(eq=False, slots=True, kw_only=True)
class Rule:
    """One fault: ``action`` at ``point`` on the hits it matches."""

    action: Action | str
    point: Point | str
    connection: str | None = None
    channel: int | None = None
    method: str | None = None
    exchange: str | None = None
    queue: str | None = None
    routing_key: str | None = None
    nth: int | None = None
    every: int | None = None
    after: int | None = None
    probability: float | None = None
    times: int | None = 1
    #: delivery_sending: fire once the connection holds at least this many unacked deliveries.
    holding: int | None = None
    #: bytes_received / bytes_sent: fire when the stream reaches this many bytes.
    bytes: int | None = None
    #: Reply code and text (close_connection, close_channel).
    code: int | None = None
    text: str | None = None
    #: Seconds (delay, latency, stall duration; None stalls for good).
    delay: float | None = None
    #: Bytes per second (bandwidth).
    rate: float | None = None
    #: slice: the most bytes that leave at a time (``delay``: seconds between two slices).
    size: int | None = None
    #: How many hits matched the filters, and how many fired.
    seen: int = field(default=0)
    fired: int = field(default=0)

    def __post_init__(self) -> None:
        self.action = action = as_action(self.action)
        self.point = point = as_point(self.point)
        allowed = ACTIONS[action]
        if point not in allowed:
            raise ValueError(
                f"fault {action.value!r} cannot happen at {point.value!r}; "
                + _choices("points for it", allowed)
            )
        if point in BYTE_POINTS:
            self._check_byte_rule(point)
        elif self.bytes is not None:
            raise ValueError(f"bytes=N counts bytes_received or bytes_sent, not {point.value!r}")
        if (action is Action.SLICE) != (self.size is not None):
            raise ValueError(
                "a slice rule needs size=N (the most bytes sent at a time)"
                if action is Action.SLICE
                else "size=N is the slice's chunk size; only a slice rule takes it"
            )
        for name in _COUNTS:
            value = getattr(self, name)
            if value is not None and (type(value) is not int):  # JSON's 1.5, "64", true
                raise ValueError(f"{name} must be an integer, not {value!r}")
        for name in ("nth", "every", "holding", "bytes", "size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        if self.delay is not None and not self.delay >= 0:
            raise ValueError("delay must be a number of seconds, at least 0")

    def _check_byte_rule(self, point: Point) -> None:
        if self.bytes is None:
            raise ValueError(f"a {point.value} rule needs bytes=N (the count it fires at)")
        given = [name for name in _NOT_AT_BYTES if getattr(self, name) is not None]
        if given:
            raise ValueError(
                f"a {point.value} rule matches on the connection only, not on "
                + ", ".join(given)
                + " (no method or channel is known at a byte count)"
            )

    def fresh(self) -> Rule:
        """A copy of the rule with its counts at zero (a plan loaded twice starts afresh)."""
        return dataclasses.replace(self, seen=0, fired=0)

    @property
    def exhausted(self) -> bool:
        """True once the rule fired ``times`` times."""
        return self.times is not None and self.fired >= self.times

    def matches(self, hit: Hit) -> bool:
        """Whether every filter of the rule agrees with ``hit``."""
        if hit.point != self.point or self.exhausted:
            return False
        if self.channel is not None and hit.channel != self.channel:
            return False
        if self.holding is not None and hit.unacked < self.holding:
            return False
        if self.bytes is not None:
            done = hit.sent if hit.point is Point.BYTES_SENT else hit.received
            if not done < self.bytes <= done + hit.size:
                return False
        if self.connection is not None and not (
            _like(hit.connection, self.connection) or _like(hit.connection_name, self.connection)
        ):
            return False
        return all(
            pattern is None or _like(value, pattern)
            for pattern, value in (
                (self.method, hit.method),
                (self.exchange, hit.exchange),
                (self.queue, hit.queue),
                (self.routing_key, hit.routing_key),
            )
        )

    def decide(self, rng: random.Random) -> bool:
        """Count one match; True (and counted as fired) if the rule fires on it."""
        self.seen = seen = self.seen + 1
        if self.nth is not None and seen < self.nth:
            return False
        if self.every is not None and seen % self.every:
            return False
        if self.after is not None and seen <= self.after:
            return False
        if self.probability is not None and rng.random() >= self.probability:
            return False
        self.fired += 1
        return True

    def decision(self, hit: Hit) -> Decision:
        """What the engine carries out when the rule fires on ``hit``."""
        cut = None
        if self.bytes is not None:
            cut = self.bytes - (hit.sent if hit.point is Point.BYTES_SENT else hit.received)
        return Decision(
            action=Action(self.action),
            code=self.code,
            text=self.text,
            delay=self.delay,
            rate=self.rate,
            cut=cut,
            size=self.size,
        )

    def describe(self) -> dict[str, Any]:
        """The rule's settings (for the journal and error messages)."""
        keys = (
            "action",
            "point",
            "method",
            "exchange",
            "queue",
            "routing_key",
            "nth",
            "every",
            "bytes",
            "size",
        )
        out = {key: getattr(self, key) for key in keys if getattr(self, key) is not None}
        return {k: v.value if isinstance(v, Action | Point) else v for k, v in out.items()}


def _like(value: str | None, pattern: str) -> bool:
    return value is not None and fnmatch.fnmatchcase(value, pattern)
