"""Asynchronous output of the core: what a connection must tell its client.

The core appends these to ``Connection.outbox``; the protocol engine turns
each into frames, in order.  ``channel`` is the channel number (0 for the
connection itself).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import AMQPError
from .message import Message

__all__ = [
    "Blocked",
    "ChannelClosed",
    "ConfirmAck",
    "ConfirmNack",
    "ConnectionClosed",
    "ConnectionReset",
    "ConsumerCancelled",
    "Deliver",
    "Event",
    "Return",
    "Unblocked",
]


@dataclass(slots=True)
class Deliver:
    """basic.deliver of ``message`` to a consumer."""

    channel: int
    consumer_tag: str
    delivery_tag: int
    redelivered: bool
    exchange: str
    routing_key: str
    message: Message


@dataclass(slots=True)
class Return:
    """basic.return of an unroutable mandatory message."""

    channel: int
    reply_code: int
    reply_text: str
    exchange: str
    routing_key: str
    message: Message


@dataclass(slots=True)
class ConfirmAck:
    """A publisher confirm (basic.ack from the server)."""

    channel: int
    delivery_tag: int
    multiple: bool = False


@dataclass(slots=True)
class ConfirmNack:
    """A negative publisher confirm (basic.nack from the server)."""

    channel: int
    delivery_tag: int
    multiple: bool = False


@dataclass(slots=True)
class ConsumerCancelled:
    """The server cancelled a consumer (its queue was deleted, ...)."""

    channel: int
    consumer_tag: str


@dataclass(slots=True)
class ChannelClosed:
    """The server closed a channel on its own (e.g. a consumer ack timeout)."""

    channel: int
    error: AMQPError


@dataclass(slots=True)
class ConnectionClosed:
    """The server closed the connection (operator close, shutdown, restart).

    ``reset``: the transport is reset right after the connection.close frame,
    without waiting for close-ok (RabbitMQ's shutdown does this).
    """

    error: AMQPError
    channel: int = 0
    reset: bool = False


@dataclass(slots=True)
class ConnectionReset:
    """A fault dropped the connection: the transport is reset, as a crashed peer's."""

    channel: int = 0


@dataclass(slots=True)
class Blocked:
    """connection.blocked: a resource alarm is in force."""

    reason: str
    channel: int = 0


@dataclass(slots=True)
class Unblocked:
    """connection.unblocked: every alarm cleared."""

    channel: int = 0


Event = (
    Deliver
    | Return
    | ConfirmAck
    | ConfirmNack
    | ConsumerCancelled
    | ChannelClosed
    | ConnectionClosed
    | ConnectionReset
    | Blocked
    | Unblocked
)
