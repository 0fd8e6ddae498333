"""What a front needs from a protocol engine: the one contract between them.

An engine is sans-I/O (h11's shape): bytes in, bytes out, a flag when the
connection is over.  The AMQP engine (:class:`fakebroker.amqp.Engine`)
satisfies it; a front never reaches past it.  Every call holds the node's
lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..amqp import LogSink
    from ..core import Broker

__all__ = ["CONNECTION_LOG", "EngineFactory", "ProtocolEngine"]

#: Where engines write RabbitMQ's connection lines (accepted, authenticated,
#: closing, channel and connection errors): pytest's caplog sees them, and
#: ``fakebroker serve`` sends them to stderr or ``--log-file``.
CONNECTION_LOG = logging.getLogger("fakebroker")


class ProtocolEngine(Protocol):
    """One client connection's protocol state."""

    #: Set by the front: called (lock held) when output became pending outside
    #: :meth:`receive_data` (a delivery caused by another connection, a timer).
    wakeup: Callable[[], None] | None

    @property
    def name(self) -> str:
        """The connection's name as the broker shows it (``"peer -> local"``)."""

    @property
    def closed(self) -> bool:
        """True once the connection is over: send :meth:`data_to_send`, then close."""

    @property
    def reset_requested(self) -> bool:
        """True when the connection ended by a reset: abort the transport, don't close it."""

    def receive_data(self, data: bytes) -> None:
        """Bytes from the client; ``b""`` means it closed its side."""

    def data_to_send(self) -> bytes:
        """Take every pending output byte (possibly ``b""``)."""

    def connection_lost(self) -> None:
        """The transport died."""

    def close_forced(self, text: str) -> None:
        """Operator close: connection.close 320 CONNECTION_FORCED if open, else end."""

    def pause_output(self) -> None:
        """The transport's write buffer passed its high-water mark: hold deliveries."""

    def resume_output(self) -> None:
        """The write buffer drained below its low-water mark: deliver again."""


class EngineFactory(Protocol):
    """Makes the engine of one accepted connection."""

    def __call__(self, *, broker: Broker, peer: str, local: str) -> ProtocolEngine:
        """A fresh engine for a client at ``peer`` connected to ``local``."""


def amqp_engine_factory(log: LogSink = CONNECTION_LOG) -> EngineFactory:
    """The AMQP 0-9-1 engine, writing RabbitMQ's connection lines to ``log``.

    The engine imports no ``logging`` (it is sans-I/O): the front injects the
    sink here; ``peer`` and ``local`` (the TCP front's socket addresses, or
    the pipe's) name the connection in every line.
    """
    from ..amqp import Engine

    def make(*, broker: Broker, peer: str, local: str) -> ProtocolEngine:
        return Engine(broker=broker, peer=peer, local=local, log=log)

    return make
