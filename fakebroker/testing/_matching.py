"""Matching messages against assertion criteria, and the failure texts.

Shared by every backend's inspection API (the in-process journal and a real
RabbitMQ's firehose), so the same criteria match the same messages and a
failed assertion reads the same everywhere.

Criteria are keywords: ``exchange``, ``routing_key``, ``body`` (bytes
exactly, a str against the UTF-8 text, anything else against the decoded
JSON), ``headers`` (a subset), ``where`` (a predicate on the message),
record fields such as ``queue`` or ``reason``, and anything else is a basic
property (``content_type=``, ``correlation_id=`` ...).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core import Message

__all__ = [
    "ANY",
    "DEAD_LETTER_REASONS",
    "Record",
    "check_reason",
    "describe",
    "match_body",
    "mismatches",
    "no_such",
    "report",
    "show_body",
]

#: How many records a failed assertion lists.
SHOWN = 20
#: How many characters of a body a failure shows.
BODY_CHARS = 120
#: The reasons RabbitMQ writes into x-death.
DEAD_LETTER_REASONS = ("rejected", "expired", "maxlen", "delivery_limit")

ANY: Any = object()

_MESSAGE_FIELDS = ("exchange", "routing_key")


@dataclass(frozen=True)
class Record:
    """One event about one message: ``fields`` are the event's own (``queue``, ``reason``)."""

    message: Message
    fields: Mapping[str, Any] = field(default_factory=dict)


def match_body(expected: Any, body: bytes) -> bool:
    """Whether ``body`` is ``expected``: bytes as is, str decoded, anything else JSON-decoded."""
    if isinstance(expected, bytes):
        return body == expected
    if isinstance(expected, str):
        return body.decode("utf-8", "replace") == expected
    try:
        return bool(json.loads(body) == expected)
    except ValueError:
        return False


def show_body(body: bytes) -> str:
    """The body as a reader wants it: JSON compactly, else text, else bytes."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        shown = repr(body)
    else:
        try:
            shown = json.dumps(json.loads(text), ensure_ascii=False, sort_keys=True)
        except ValueError:
            shown = repr(text)
    return shown if len(shown) <= BODY_CHARS else shown[: BODY_CHARS - 3] + "..."


def describe(record: Record) -> str:
    """One line naming where the message went and what it says."""
    msg = record.message
    extra = "".join(f" {k}={v!r}" for k, v in record.fields.items() if k in ("queue", "reason"))
    return (
        f"exchange={msg.exchange!r} routing_key={msg.routing_key!r}{extra} "
        f"body={show_body(msg.body)}"
    )


def mismatches(record: Record, criteria: Mapping[str, Any]) -> list[str]:
    """What in ``record`` differs from ``criteria``, one line each (empty: it matches)."""
    msg = record.message
    found: list[str] = []
    for key, wanted in criteria.items():
        if key == "body":
            if wanted is not ANY and not match_body(wanted, msg.body):
                found.append(f"body: expected {_show(wanted)}, got {show_body(msg.body)}")
        elif key == "headers":
            found += _header_mismatches(wanted or {}, msg.headers)
        elif key == "where":
            if wanted is not None and not wanted(msg):
                found.append(f"where: {_name(wanted)} returned false")
        elif key in record.fields or key in ("queue", "reason"):
            got = record.fields.get(key)
            if got != wanted:
                found.append(f"{key}: expected {wanted!r}, got {got!r}")
        elif key in _MESSAGE_FIELDS:
            got = getattr(msg, key)
            if got != wanted:
                found.append(f"{key}: expected {wanted!r}, got {got!r}")
        else:
            got = msg.properties.get(key, ANY)
            if got != wanted:
                shown = "no such property" if got is ANY else repr(got)
                found.append(f"{key}: expected {wanted!r}, got {shown}")
    return found


def _header_mismatches(wanted: Mapping[str, Any], headers: Mapping[str, Any]) -> list[str]:
    found = []
    for key, value in wanted.items():
        if key not in headers:
            found.append(f"headers[{key!r}]: expected {value!r}, missing")
        elif headers[key] != value:
            found.append(f"headers[{key!r}]: expected {value!r}, got {headers[key]!r}")
    return found


def _show(expected: Any) -> str:
    if isinstance(expected, bytes):
        return repr(expected)
    if isinstance(expected, str):
        return repr(expected)
    return json.dumps(expected, ensure_ascii=False, sort_keys=True, default=repr)


def _name(function: Callable[..., Any]) -> str:
    return getattr(function, "__qualname__", repr(function))


def select(records: Iterable[Record], criteria: Mapping[str, Any]) -> list[Record]:
    """The records that match every criterion."""
    return [r for r in records if not mismatches(r, criteria)]


def report(
    headline: str,
    criteria: Mapping[str, Any],
    *,
    vhost: str,
    found: Sequence[Record],
    everything: Sequence[Record],
    noun: str = "published",
) -> str:
    """The failure text: what was asked, what there was, and how the nearest one differs."""
    wanted = ", ".join(f"{k}={_criterion(v)}" for k, v in criteria.items()) or "anything"
    lines = [f"{headline} {wanted} in vhost {vhost!r}; {len(found)} matched."]
    if not everything:
        lines.append(f"Nothing was {noun}.")
        return "\n".join(lines)
    lines.append(f"{noun.capitalize()} ({len(everything)}):")
    if len(everything) > SHOWN:
        lines.append(f"  ... {len(everything) - SHOWN} earlier")
    lines += [f"  {describe(r)}" for r in everything[-SHOWN:]]
    if not found and criteria:
        nearest = min(everything, key=lambda r: len(mismatches(r, criteria)))
        lines.append(f"Nearest: {describe(nearest)}")
        lines += [f"  {line}" for line in mismatches(nearest, criteria)]
    return "\n".join(lines)


def _criterion(value: Any) -> str:
    return _name(value) if callable(value) else repr(value)


def check_reason(reason: str | None) -> None:
    """Refuse a dead-letter reason RabbitMQ never writes (ValueError, with a suggestion)."""
    if reason is None or reason in DEAD_LETTER_REASONS:
        return
    raise ValueError(
        f"reason={reason!r} is not a dead-letter reason{_suggest(reason, DEAD_LETTER_REASONS)}; "
        f"RabbitMQ's are {', '.join(DEAD_LETTER_REASONS)}"
    )


def no_such(what: str, name: str, vhost: str, known: Iterable[str]) -> KeyError:
    """A KeyError naming the missing object, its vhost, and the names close to it."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=3)
    if close:
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?"
    elif names:
        shown = ", ".join(repr(n) for n in names[:10]) + (" ..." if len(names) > 10 else "")
        hint = f"; it has {shown}"
    else:
        hint = f"; it has no {what}s"
    return KeyError(f"no {what} {name!r} in vhost {vhost!r}{hint}")


def suggest(word: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest choice, or nothing."""
    return _suggest(word, tuple(choices))


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class Views(dict[str, Any]):
    """A dict of a vhost's objects by name whose missing keys explain themselves."""

    def __init__(self, items: Mapping[str, Any], *, what: str, vhost: str) -> None:
        super().__init__(items)
        self.what = what
        self.vhost = vhost

    def __missing__(self, key: str) -> Any:
        raise no_such(self.what, key, self.vhost, self.keys())
