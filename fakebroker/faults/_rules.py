"""Fault rules: what to break, where, and when (pure data and matching, sans-I/O).

A :class:`Rule` names an action (``drop``, ``nack`` ...) and the fault point
where the engine asks for it (:data:`POINTS`).  At each point the engine
describes what is happening as a :class:`Hit`; a rule *matches* a hit when
every filter it sets agrees (strings are ``fnmatch`` patterns), and *fires*
on the matches its count condition picks:

- ``nth=k``: the k-th match (then the following ones while ``times`` lasts);
- ``every=k``: every k-th match;
- ``after=k``: every match after the first k;
- ``probability=p``: each match with probability p, from the plan's seeded RNG;
- none of these: the first match.

``times`` bounds how often a rule fires (None: without limit).
"""

from __future__ import annotations

import fnmatch
import random
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ACTIONS", "POINTS", "Hit", "Rule"]

#: The named fault points of the engine, and what happens there.
POINTS: dict[str, str] = {
    "connection_opening": "a client connects, before it sends anything (refuse)",
    "bytes_received": "the client's byte stream passes a count (bytes=N)",
    "frame_received": "a frame arrived, before it is handled",
    "method_received": "a complete command (method + content), before it is handled",
    "content_header_received": "a publish's content header arrived, its body not yet",
    "message_routed": "a publish was routed; its confirm has not gone out",
    "confirm_sending": "a publisher confirm (basic.ack) is about to go out",
    "delivery_sending": "a basic.deliver is about to go out",
    "frame_sending": "frames leave the broker (latency, bandwidth)",
}

#: The actions, and the points where each makes sense.
ACTIONS: dict[str, frozenset[str]] = {
    "drop": frozenset(POINTS) - {"connection_opening", "frame_sending"},
    "refuse": frozenset({"connection_opening"}),
    "close_connection": frozenset(
        {"frame_received", "method_received", "message_routed", "delivery_sending"}
    ),
    "close_channel": frozenset({"method_received"}),
    "stall": frozenset({"bytes_received", "frame_received", "method_received", "message_routed"}),
    "nack": frozenset({"confirm_sending"}),
    "delay": frozenset({"confirm_sending"}),
    "withhold": frozenset({"confirm_sending"}),
    "return": frozenset({"method_received"}),
    "cancel": frozenset({"delivery_sending"}),
    "duplicate": frozenset({"delivery_sending"}),
    "latency": frozenset({"frame_sending"}),
    "bandwidth": frozenset({"frame_sending"}),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Hit:
    """What happens at a fault point, as the engine reports it."""

    point: str
    connection: str = ""
    connection_name: str = ""
    vhost: str = "/"
    channel: int | None = None
    method: str | None = None
    exchange: str | None = None
    queue: str | None = None
    routing_key: str | None = None
    #: Unacknowledged deliveries the connection holds (delivery points).
    unacked: int = 0
    #: Bytes received from the client so far (bytes_received, before this chunk).
    received: int = 0


@dataclass(eq=False, slots=True, kw_only=True)
class Rule:
    """One fault: ``action`` at ``point`` on the hits it matches."""

    action: str
    point: str
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
    #: bytes_received: fire when the stream reaches this many bytes.
    bytes: int | None = None
    #: Reply code and text (close_connection, close_channel).
    code: int | None = None
    text: str | None = None
    #: Seconds (delay, latency, stall duration; None stalls for good).
    delay: float | None = None
    #: Bytes per second (bandwidth).
    rate: float | None = None
    #: How many hits matched the filters, and how many fired.
    seen: int = field(default=0)
    fired: int = field(default=0)

    def __post_init__(self) -> None:
        allowed = ACTIONS.get(self.action)
        if allowed is None:
            raise ValueError(f"unknown fault action {self.action!r}")
        if self.point not in allowed:
            raise ValueError(f"fault {self.action!r} cannot happen at {self.point!r}")
        for name in ("nth", "every", "holding", "bytes"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")

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
        """Count one match; True if the rule fires on it."""
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

    def describe(self) -> dict[str, Any]:
        """The rule's settings (for the journal and error messages)."""
        keys = ("action", "point", "method", "exchange", "queue", "routing_key", "nth", "every")
        return {key: getattr(self, key) for key in keys if getattr(self, key) is not None}


def _like(value: str | None, pattern: str) -> bool:
    return value is not None and fnmatch.fnmatchcase(value, pattern)
