"""The fault-hook interface the engines call: points, hits and decisions (sans-I/O).

The core and the protocol engines declare here what they ask of a fault
plan; :mod:`fakebroker.faults` implements it (``Faults``), and a
:class:`~fakebroker.Node` installs one as ``broker.faults``.  A broker with
no node has :data:`NO_FAULTS`, which never fires.

Rules:
- at each named :class:`Point` the engine asks :meth:`FaultHooks.armed`
  first (cheap), and only then describes what happens as a :class:`Hit`;
- :meth:`FaultHooks.fire` returns the one :class:`Decision` to apply, or
  None: the first rule of the plan (in order) that matches and fires wins,
  and only that rule counts the firing and is journaled;
- at ``frame_sending`` the output-shaping rules combine (latencies add up,
  the lowest bandwidth and the smallest slice hold): :meth:`FaultHooks.fire_all`
  returns every decision that fired there;
- the engine carries a decision out; the plan never touches the engine.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

__all__ = ["NO_FAULTS", "Action", "Decision", "FaultHooks", "Hit", "Point"]


class Point(str, enum.Enum):
    """The named fault points of the engine."""

    CONNECTION_OPENING = "connection_opening"
    BYTES_RECEIVED = "bytes_received"
    BYTES_SENT = "bytes_sent"
    FRAME_RECEIVED = "frame_received"
    METHOD_RECEIVED = "method_received"
    CONTENT_HEADER_RECEIVED = "content_header_received"
    MESSAGE_ROUTED = "message_routed"
    CONFIRM_SENDING = "confirm_sending"
    DELIVERY_SENDING = "delivery_sending"
    FRAME_SENDING = "frame_sending"

    def __str__(self) -> str:
        return self.value


class Action(str, enum.Enum):
    """What a fault does."""

    DROP = "drop"
    REFUSE = "refuse"
    CLOSE_CONNECTION = "close_connection"
    CLOSE_CHANNEL = "close_channel"
    STALL = "stall"
    NACK = "nack"
    DELAY = "delay"
    WITHHOLD = "withhold"
    RETURN = "return"
    CANCEL = "cancel"
    DUPLICATE = "duplicate"
    LATENCY = "latency"
    BANDWIDTH = "bandwidth"
    SLICE = "slice"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True, kw_only=True)
class Hit:
    """What happens at a fault point, as the engine reports it."""

    point: Point
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
    #: Bytes sent to the client so far (bytes_sent, before this chunk).
    sent: int = 0
    #: The size of the chunk just received (bytes_received) or about to leave (bytes_sent).
    size: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """One fault to carry out: what the engine applies."""

    action: Action
    #: Reply code and text (close_connection, close_channel).
    code: int | None = None
    text: str | None = None
    #: Seconds (delay, latency, stall duration; None stalls for good).
    delay: float | None = None
    #: Bytes per second (bandwidth).
    rate: float | None = None
    #: bytes_received / bytes_sent: how many bytes of the chunk pass before the fault.
    cut: int | None = None
    #: slice: at most this many bytes leave at a time.
    size: int | None = None


class FaultHooks(Protocol):
    """What the engines ask of a broker's fault plan (see the module's rules)."""

    def armed(self, point: Point) -> bool:
        """Whether any live rule waits at ``point``."""

    def fire(self, hit: Hit) -> Decision | None:
        """The one fault to apply on ``hit`` (counted and journaled), or None."""

    def fire_all(self, hit: Hit) -> tuple[Decision, ...]:
        """Every fault that fires on ``hit`` (frame_sending: they combine)."""


class _NoFaults:
    """The plan of a broker no node hosts: nothing is ever armed."""

    def armed(self, point: Point) -> bool:
        return False

    def fire(self, hit: Hit) -> Decision | None:
        return None

    def fire_all(self, hit: Hit) -> tuple[Decision, ...]:
        return ()


#: The empty fault plan.
NO_FAULTS: FaultHooks = _NoFaults()
