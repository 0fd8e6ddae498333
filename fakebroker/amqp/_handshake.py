"""The connection handshake: what the server offers and how it reads the answers.

Rules (RabbitMQ 3.10):
- the protocol header must be ``AMQP 0 0 9 1`` (``AMQP 1 1 0 9``, the 0-9
  form, is accepted too), or one of AMQP 0-8's (``AMQP 1 1 8 0``, ``AMQP 1 1 9 1``:
  a 0-8 connection, :mod:`._amqp08`); anything else gets ``AMQP 0 0 9 1`` back
  and the socket closed; fewer than 8 bytes is "need more data";
- mechanisms ``PLAIN AMQPLAIN``, locales ``en_US``;
- tune-ok: the client's values apply; 0 means "no limit", which a server
  with a limit refuses; frame_max must be at least 4096; values above the
  server's are refused; any heartbeat is accepted.
"""

from __future__ import annotations

import functools
import platform
import struct
from collections.abc import Mapping
from typing import Any

from pamqp import commands as C
from pamqp import decode

from . import _amqp08 as A08
from ._codec import encode_method

__all__ = [
    "ACCEPTED_HEADERS",
    "FRAME_MIN_SIZE",
    "PROTOCOL_HEADER",
    "client_capabilities",
    "credentials",
    "server_properties",
    "start_frame",
    "start_frame_0_8",
    "tune_ok_acceptable",
]

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
ACCEPTED_HEADERS = frozenset({PROTOCOL_HEADER, b"AMQP\x01\x01\x00\x09"})
FRAME_MIN_SIZE = 4096
MECHANISMS = "PLAIN AMQPLAIN"
LOCALES = "en_US"

#: The capabilities fakebroker really implements (all that RabbitMQ 3.10 lists).
CAPABILITIES = (
    "publisher_confirms",
    "exchange_exchange_bindings",
    "basic.nack",
    "consumer_cancel_notify",
    "connection.blocked",
    "authentication_failure_close",
    "per_consumer_qos",
    "direct_reply_to",
    "consumer_priorities",
)


def _version() -> str:
    try:
        from fakebroker import __version__
    except ImportError:  # pragma: no cover - the package always has one
        return "0.1.0"
    return str(__version__)


def server_properties(*, direct_reply_to: bool = False) -> dict[str, Any]:
    """connection.start's server_properties, shaped as RabbitMQ's."""
    caps: dict[str, Any] = {name: True for name in CAPABILITIES}
    if direct_reply_to:
        caps["direct_reply_to"] = True
    return {
        "capabilities": caps,
        "cluster_name": "fakebroker@localhost",
        "copyright": "fakebroker: a RabbitMQ emulator for tests",
        "information": "Licensed under the MIT license.",
        "platform": f"Python {platform.python_version()}",
        "product": "fakebroker",
        "version": _version(),
    }


@functools.cache
def start_frame() -> bytes:
    """The connection.start frame, the same for every connection: encoded once."""
    start = C.Connection.Start(
        version_major=0,
        version_minor=9,
        server_properties=server_properties(),
        mechanisms=MECHANISMS,
        locales=LOCALES,
    )
    return encode_method(0, start)


@functools.cache
def start_frame_0_8() -> bytes:
    """connection.start for an AMQP 0-8 client (version 8-0), encoded once."""
    return A08.start_frame(server_properties(), MECHANISMS, LOCALES)


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return None
    return value if isinstance(value, str) else None


def _plain(response: bytes) -> tuple[str, str] | None:
    parts = response.split(b"\x00")
    if len(parts) != 3 or parts[0]:  # RabbitMQ takes no authzid: "\0user\0password" only
        return None
    user, password = _text(parts[1]), _text(parts[2])
    if user is None or password is None:
        return None
    return user, password


def _amqplain(response: bytes) -> tuple[str, str] | None:
    try:
        _, table = decode.field_table(struct.pack(">I", len(response)) + response)
    except Exception:
        return None
    user, password = _text(table.get("LOGIN")), _text(table.get("PASSWORD"))
    if user is None or password is None:
        return None
    return user, password


def credentials(mechanism: str, response: str | bytes) -> tuple[str, str] | None:
    """(user, password) from a start-ok response; None if it cannot be read."""
    raw = response.encode() if isinstance(response, str) else bytes(response)
    if mechanism == "PLAIN":
        return _plain(raw)
    if mechanism == "AMQPLAIN":
        return _amqplain(raw)
    return None


def client_capabilities(client_properties: Mapping[str, Any] | None) -> frozenset[str]:
    """The capability names a client announced as true."""
    caps = (client_properties or {}).get("capabilities")
    if not isinstance(caps, Mapping):
        return frozenset()
    return frozenset(name for name, value in caps.items() if value is True)


def _within(client: int, server: int) -> bool:
    if server == 0:
        return True
    return 0 < client <= server


def tune_ok_acceptable(
    *, channel_max: int, frame_max: int, server_channel_max: int, server_frame_max: int
) -> bool:
    """Whether RabbitMQ would accept a tune-ok with these values."""
    if frame_max and frame_max < FRAME_MIN_SIZE:
        return False
    return _within(channel_max, server_channel_max) and _within(frame_max, server_frame_max)
