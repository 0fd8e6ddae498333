"""The Redis front: kombu's ``redis://`` transport, redis-py and Celery on a node.

fakeredis (its ``FakeServer`` and command layer) holds the data and runs
the commands; this package puts our own RESP server in front of it, so
that the node's clock drives key expiry and the node's fault plan applies
(docs/redis.md):

- :class:`RedisServer`: the asyncio RESP2/RESP3 server (the CLI's
  ``--redis-port``);
- :class:`RedisThread`: the same on a background thread; ``node.redis``
  (:class:`RedisState`) starts one on 127.0.0.1 on demand
  (``node.redis.url``);
- :class:`RedisFaults`: fault rules with Redis words.

Importing this package imports fakeredis; ``import fakebroker`` does not.
"""

from __future__ import annotations

from ._codec import Error, ProtocolError, Push, RequestParser, Simple, encode
from ._faults import RedisFaults
from ._server import RedisServer
from ._state import Command, RedisState
from ._threaded import RedisThread

__all__ = [
    "Command",
    "Error",
    "ProtocolError",
    "Push",
    "RedisFaults",
    "RedisServer",
    "RedisState",
    "RedisThread",
    "RequestParser",
    "Simple",
    "encode",
]
