"""Reply and error texts of the Redis front, as Redis 7 writes them.

fakeredis words a few errors its own way (or as another Redis version
does); the front gives clients Redis 7's words, which the conformance
tests check against the real server.
"""

from __future__ import annotations

__all__ = [
    "AUTH_WITHOUT_PASSWORD",
    "HELLO_SERVER",
    "HELLO_VERSION",
    "NOPROTO",
    "NULL_ARRAY_COMMANDS",
    "REWORDED",
    "SET_COMMANDS",
    "reworded",
    "unknown_command",
    "unknown_subcommand",
]

#: HELLO's ``server`` and ``version`` fields (fakeredis says "fakeredis" and its own version).
HELLO_SERVER = b"redis"
HELLO_VERSION = b"7.0.0"
#: HELLO with a protocol version other than 2 or 3.
NOPROTO = "NOPROTO unsupported protocol version"

#: AUTH <password> while the default user has none.
AUTH_WITHOUT_PASSWORD = (
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?"
)

#: fakeredis's text -> Redis 7's.
REWORDED = {
    "ERR invalid expire time in setex": "ERR invalid expire time in 'setex' command",
    "ERR invalid expire time in psetex": "ERR invalid expire time in 'psetex' command",
    "ERR invalid expire time in set": "ERR invalid expire time in 'set' command",
    "ERR invalid expire time in getex": "ERR invalid expire time in 'getex' command",
}

#: Commands whose "nothing" is the null array (``*-1``), not the null bulk string.
NULL_ARRAY_COMMANDS = frozenset(
    {"exec", "blpop", "brpop", "bzpopmin", "bzpopmax", "blmpop", "bzmpop", "xread", "xreadgroup"}
)
#: Commands whose reply is a set in RESP3 (``~``).
SET_COMMANDS = frozenset({"smembers", "sinter", "sunion", "sdiff"})
_PUBSUB_ONLY = "ERR only (P)SUBSCRIBE"
#: A command other than these while subscribed (RESP2).
PUBSUB_ONLY = (
    "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
    "are allowed in this context"
)
_NEGATIVE_TIMEOUT = "ERR timeout is negative"
BAD_TIMEOUT = "ERR timeout is not a float or out of range"


def reworded(text: str, command: str, fields: list[bytes] | None = None) -> str:
    """Redis 7's words for a fakeredis error text (``command``: the one being handled)."""
    if text.startswith(_PUBSUB_ONLY):
        return PUBSUB_ONLY.format(command)
    if text == _NEGATIVE_TIMEOUT and fields and not _is_float(fields[-1]):
        return BAD_TIMEOUT
    return REWORDED.get(text, text)


def _is_float(data: bytes) -> bool:
    try:
        float(data)
    except ValueError:
        return False
    return True


# Redis prints at most 128 bytes of a name and of the arguments it quotes.
_SHOWN = 128


def _text(data: bytes, limit: int = _SHOWN) -> str:
    text = data[:limit].decode("utf-8", "replace")
    return text.replace("\r", " ").replace("\n", " ")


def unknown_command(fields: list[bytes]) -> str:
    """``ERR unknown command 'NAME', with args beginning with: 'a' 'b' `` (Redis 7)."""
    args = ""
    for arg in fields[1:]:
        if len(args) >= _SHOWN:
            break
        args += f"'{_text(arg, _SHOWN - len(args))}' "
    return f"ERR unknown command '{_text(fields[0])}', with args beginning with: {args}"


def unknown_subcommand(fields: list[bytes]) -> str:
    """``ERR unknown subcommand 'SUB'. Try CMD HELP.`` (Redis 7)."""
    return (
        f"ERR unknown subcommand '{_text(fields[1])}'. "
        f"Try {fields[0].decode('utf-8', 'replace').upper()} HELP."
    )
