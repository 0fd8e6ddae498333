"""What a transactional channel buffers until tx.commit (sans-I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._channel import Pending
    from ._exchange import Exchange
    from .message import Properties

__all__ = ["TxPublish", "TxSettlement"]


@dataclass(frozen=True, slots=True)
class TxPublish:
    """A basic.publish waiting for tx.commit."""

    exchange: Exchange
    routing_key: str
    mandatory: bool
    properties: Properties
    body: bytes
    #: The engine's encoded content header (opaque to the core).
    wire: object
    #: CC / BCC routing keys.
    extra_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TxSettlement:
    """An ack, nack or reject waiting for tx.commit (``reason``: None for an ack)."""

    delivery_tag: int
    pending: Pending
    reason: str | None
    requeue: bool
