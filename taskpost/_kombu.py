"""kombu's classes and functions, typed as ``Any`` for ``mypy --strict``.

kombu ships ``py.typed`` but most of its API is unannotated; going through
these names keeps the rest of taskpost free of ``type: ignore`` comments.
"""

from __future__ import annotations

from typing import Any

import kombu.common
import kombu.connection
import kombu.entity
import kombu.messaging
import kombu.pools

__all__ = [
    "Connection",
    "Consumer",
    "Exchange",
    "KombuConnection",
    "KombuMessage",
    "KombuProducer",
    "KombuQueue",
    "Producer",
    "ProducerPool",
    "Queue",
    "maybe_declare",
]

Connection: Any = kombu.connection.Connection
Consumer: Any = kombu.messaging.Consumer
Exchange: Any = kombu.entity.Exchange
Producer: Any = kombu.messaging.Producer
Queue: Any = kombu.entity.Queue
ProducerPool: Any = kombu.pools.ProducerPool
maybe_declare: Any = kombu.common.maybe_declare

# Names for annotations: kombu objects are handled as Any.
KombuConnection = Any
KombuMessage = Any
KombuProducer = Any
KombuQueue = Any
