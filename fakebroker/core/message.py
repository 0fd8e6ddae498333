"""Messages and the values core methods return."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: RabbitMQ's default max_message_size: 128 MiB.
DEFAULT_MAX_MESSAGE_SIZE = 134_217_728
#: The largest max_message_size RabbitMQ takes (?MAX_MSG_SIZE): 512 MiB.
MAX_MESSAGE_SIZE_CAP = 536_870_912

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "MAX_MESSAGE_SIZE_CAP",
    "DeclareOk",
    "GetOk",
    "Message",
    "Properties",
]

#: AMQP basic properties keyed by pamqp's ``Basic.Properties`` attribute names,
#: only the ones present (``headers``, ``delivery_mode``, ``priority``, ...).
Properties = dict[str, Any]

_EMPTY: Properties = {}


class Message:
    """One published message: immutable once routed, shared by every queue it reaches.

    ``wire`` is free for the protocol engine to cache the encoded content header.
    ``id`` is unique within a broker and orders messages by publication.
    """

    __slots__ = ("body", "exchange", "id", "properties", "routing_key", "wire")

    def __init__(
        self,
        exchange: str,
        routing_key: str,
        properties: Properties | None,
        body: bytes,
        id: int = 0,
    ) -> None:
        self.exchange = exchange
        self.routing_key = routing_key
        self.properties = properties if properties else _EMPTY
        self.body = body
        self.id = id
        self.wire: Any = None

    @property
    def headers(self) -> dict[str, Any]:
        """The message's headers table (empty if it has none)."""
        headers = self.properties.get("headers")
        return headers if isinstance(headers, dict) else {}

    @property
    def persistent(self) -> bool:
        """True for delivery_mode 2."""
        return self.properties.get("delivery_mode") == 2

    def __repr__(self) -> str:
        return (
            f"Message(id={self.id}, exchange={self.exchange!r}, "
            f"routing_key={self.routing_key!r}, body={self.body[:40]!r})"
        )


@dataclass(frozen=True, slots=True)
class DeclareOk:
    """queue.declare-ok: the queue's name and its ready and consumer counts."""

    queue: str
    message_count: int
    consumer_count: int


@dataclass(frozen=True, slots=True)
class GetOk:
    """basic.get-ok: one message and how many remain ready."""

    delivery_tag: int
    redelivered: bool
    exchange: str
    routing_key: str
    message_count: int
    message: Message
