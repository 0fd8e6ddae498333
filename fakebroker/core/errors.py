"""AMQP failures as exceptions carrying RabbitMQ's reply code and text.

Every refusal the core makes is an :class:`AMQPError`.  Its ``scope`` says
whether RabbitMQ closes the channel or the whole connection for it; the
protocol engine turns it into ``channel.close`` or ``connection.close``.
The texts themselves live in :mod:`fakebroker.core._replies`.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    "AMQPChannelError",
    "AMQPConnectionError",
    "AMQPError",
    "ReplyCode",
    "Scope",
]


class ReplyCode:
    """AMQP 0-9-1 reply codes (the subset RabbitMQ uses)."""

    REPLY_SUCCESS = 200
    CONTENT_TOO_LARGE = 311
    NO_ROUTE = 312
    NO_CONSUMERS = 313
    CONNECTION_FORCED = 320
    INVALID_PATH = 402
    ACCESS_REFUSED = 403
    NOT_FOUND = 404
    RESOURCE_LOCKED = 405
    PRECONDITION_FAILED = 406
    FRAME_ERROR = 501
    SYNTAX_ERROR = 502
    COMMAND_INVALID = 503
    CHANNEL_ERROR = 504
    UNEXPECTED_FRAME = 505
    RESOURCE_ERROR = 506
    NOT_ALLOWED = 530
    NOT_IMPLEMENTED = 540
    INTERNAL_ERROR = 541


#: Reply code -> the symbolic name RabbitMQ prefixes its texts with.
REPLY_NAMES: dict[int, str] = {
    value: name
    for name, value in vars(ReplyCode).items()
    if not name.startswith("_") and isinstance(value, int)
}


class Scope(Enum):
    """What an error closes."""

    CHANNEL = "channel"
    CONNECTION = "connection"


#: A reply text's longest form on the wire (a short string), in bytes.
MAX_REPLY_TEXT = 255


class AMQPError(Exception):
    """A refusal with RabbitMQ's reply code and text.

    ``text`` is the part after RabbitMQ's ``NAME - `` prefix; ``reply_text``
    is the full string RabbitMQ puts on the wire.  ``class_id`` and
    ``method_id`` name the method that failed (0, 0 when none did).
    """

    scope: Scope = Scope.CHANNEL

    def __init__(self, code: int, text: str, *, class_id: int = 0, method_id: int = 0) -> None:
        super().__init__(code, text)
        self.code = code
        self.text = text
        self.class_id = class_id
        self.method_id = method_id

    @property
    def reply_text(self) -> str:
        """The reply text as RabbitMQ sends it, e.g. ``NOT_FOUND - no queue 'q' in vhost '/'``.

        A reply text is a short string: RabbitMQ cuts a longer one to its
        first 252 bytes followed by ``...`` (255 bytes in all).
        """
        name = REPLY_NAMES.get(self.code, "UNKNOWN")
        text = f"{name} - {self.text}"
        # a name that is not UTF-8 is kept as its raw bytes (surrogateescape), as RabbitMQ
        # echoes the bytes it was sent
        raw = text.encode("utf-8", "surrogateescape")
        if len(raw) <= MAX_REPLY_TEXT:
            return text
        # a cut inside a UTF-8 sequence drops that character's partial bytes
        errors = "ignore" if text.isascii() or _utf8(text) else "surrogateescape"
        return raw[: MAX_REPLY_TEXT - 3].decode("utf-8", errors) + "..."

    def __str__(self) -> str:
        return f"({self.code}) {self.reply_text}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}, {self.text!r})"


class AMQPChannelError(AMQPError):
    """An error that closes the channel; the connection stays open."""

    scope = Scope.CHANNEL


class AMQPConnectionError(AMQPError):
    """An error that closes the whole connection."""

    scope = Scope.CONNECTION


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
