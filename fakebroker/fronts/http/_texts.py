"""Every status, error and reason text the HTTP front answers with (RabbitMQ 3.10.8's)."""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "ACCESS_REFUSED",
    "LOGIN_FAILED",
    "NOT_ADMINISTRATOR",
    "NOT_FOUND",
    "NOT_JSON",
    "NOT_MANAGEMENT",
    "NOT_MONITORING",
    "REALM",
    "VHOST_NOT_AUTHORISED",
    "VHOST_NOT_FOUND",
    "VHOST_OR_USER_NOT_FOUND",
    "invalid_regexp",
    "key_missing",
]

#: The basic-auth realm RabbitMQ asks for.
REALM = 'Basic realm="RabbitMQ Management"'

#: (error, reason) pairs of RabbitMQ's JSON error bodies.
NOT_FOUND = ("Object Not Found", "Not Found")
LOGIN_FAILED = ("not_authorized", "Login failed")
NOT_MANAGEMENT = ("not_authorised", "Not management user")
NOT_MONITORING = ("not_authorised", "Not monitor user")
NOT_ADMINISTRATOR = ("not_authorised", "Not administrator user")
VHOST_NOT_AUTHORISED = ("not_authorised", "User not authorised to access virtual host")
ACCESS_REFUSED = ("not_authorised", "Access refused.")
VHOST_NOT_FOUND = ("not_found", "vhost_not_found")
VHOST_OR_USER_NOT_FOUND = ("bad_request", "vhost_or_user_not_found")
NOT_JSON = ("bad_request", "not_json")
DEFINITIONS_NOT_JSON = ("bad_request", "failed_to_parse_json")

#: The text a connection closed through the API gets (320 CONNECTION_FORCED - ...).
CLOSED_VIA_API = "Closed via management plugin"


def key_missing(keys: list[str]) -> str:
    """``[{key_missing,payload}]`` as Erlang's ``~p`` prints it (one line while it fits)."""
    items = [f"{{key_missing,{key}}}" for key in keys]
    one_line = "[" + ",".join(items) + "]"
    if len(one_line) < 79:
        return one_line
    return "[" + ",\n ".join(items) + "]"


# -- invalid regular expressions ------------------------------------------------------------
#
# RabbitMQ validates a permission's regex with Erlang's re:compile (PCRE 8) and answers
# ``["invalid_regexp", PATTERN, [MESSAGE, OFFSET]]``: MESSAGE is an Erlang string (so JSON
# shows a list of character codes) and OFFSET a byte offset.  Python's re finds the same
# mistakes with other words and positions; each (Python message, PCRE message, where PCRE
# points) below was read off RabbitMQ 3.10.8.  "end" is the pattern's end, "pos" Python's
# position, "range" the last character of the bad range, "name" the end of the group name,
# "brace" the closing ``}``, "next" the character after Python's position.

_PCRE_ERRORS: tuple[tuple[str, str, str], ...] = (
    ("missing ), unterminated subpattern", "missing )", "end"),
    ("unterminated character set", "missing terminating ] for character class", "end"),
    ("nothing to repeat", "nothing to repeat", "pos"),
    ("multiple repeat", "nothing to repeat", "pos"),
    ("unbalanced parenthesis", "unmatched parentheses", "pos"),
    ("min repeat greater than max repeat", "numbers out of order in {} quantifier", "brace"),
    ("bad escape (end of pattern)", "\\ at end of pattern", "end"),
    ("missing >, unterminated name", "syntax error in subpattern name (missing terminator)", "end"),
    ("bad character range", "range out of order in character class", "range"),
    ("redefinition of group name", "two named subpatterns have the same name", "name"),
    ("unexpected end of pattern", "unrecognized character after (? or (?-", "end"),
    ("unknown extension ?<", "syntax error in subpattern name (missing terminator)", "end"),
    ("unknown extension", "unrecognized character after (? or (?-", "next"),
    ("bad escape \\k", "\\k is not followed by a braced, angle-bracketed, or quoted name", "next"),
    ("look-behind requires fixed-width pattern", "lookbehind assertion is not fixed length", "end"),
)


def _pcre_position(error: re.error, pattern: str, where: str) -> int:
    pos = len(pattern) if error.pos is None else error.pos
    if where == "end":
        pos = len(pattern)
    elif where == "next":
        pos += 1
    elif where == "brace":
        brace = pattern.find("}", pos)
        pos = len(pattern) if brace < 0 else brace
    elif where == "range":  # "bad character range z-a": PCRE points at its last character
        pos += len(error.msg.rsplit(" ", 1)[-1]) - 1
    elif where == "name":  # "redefinition of group name 'x' as ...": PCRE points past the name
        found = re.search(r"'([^']*)'", error.msg)
        pos += len(found.group(1)) if found else 0
    return len(pattern[:pos].encode())


def invalid_regexp(pattern: str, error: re.error, *, as_bytes: bool = False) -> list[Any]:
    """RabbitMQ's reason for a regex re:compile refuses (PCRE's words where they are known).

    ``as_bytes``: the pattern is shown as its UTF-8 bytes, as PUT /api/permissions
    shows it (PUT /api/topic-permissions shows the string).
    """
    message, where = error.msg, "pos"
    for python, pcre, position in _PCRE_ERRORS:
        if error.msg.startswith(python):
            message, where = pcre, position
            break
    if message.startswith("range out of order") and "-\\" in error.msg:
        message = "invalid range in character class"  # [a-\d]: a class escape ends the range
    return [
        "invalid_regexp",
        list(pattern.encode()) if as_bytes else pattern,
        [[ord(c) for c in message], _pcre_position(error, pattern, where)],
    ]
