"""Binding indexes of RabbitMQ's exchange types (direct, fanout, topic, headers).

An exchange keeps its own binding records and asks its matcher only where a
message goes.  Every matcher:

- treats ``(dest, routing_key, arguments)`` as one binding, ``add`` of a
  binding already present and ``remove`` of one absent being no-ops;
- returns each matching destination once, ordered by when the destination got
  its first still-live binding on this matcher (first bound, first routed).

Facts checked against RabbitMQ 3.10.8:

- topic: a key or pattern ``""`` has zero words, otherwise it is split on
  every ``"."`` (so ``"."`` is two empty words); ``*`` is exactly one word
  (possibly empty), ``#`` zero or more;
- headers: ``x-match`` is ``all`` (the default), ``any``, ``all-with-x`` or
  ``any-with-x``; the ``x-match`` key itself never takes part, other ``x-``
  keys only in the ``-with-x`` modes; a void binding value asks for presence;
  ``all`` over no keys matches every message, ``any`` over no keys none;
- header values compare as Erlang's ``==`` on RabbitMQ's decoded values:
  ``1 == 1.0``, a timestamp equals its integer seconds, ``True != 1``,
  ``"1" != 1``, a longstr equals a byte array of the same bytes, decimals
  compare as (scale, value), tables and arrays compare with their field
  types and in order (``{"a": 1}`` differs from ``{"a": 1.0}``).
"""

from __future__ import annotations

import calendar
import datetime
from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping
from decimal import Decimal
from typing import Any, Generic, TypeVar

from .erlang import erlang_binary, wire_text
from .fieldtypes import field_type

D = TypeVar("D", bound=Hashable)

#: routing_key -> destinations cached per topic matcher (cleared on any change).
TOPIC_CACHE_SIZE = 4096

X_MATCH_MODES = ("all", "any", "all-with-x", "any-with-x")


def freeze(value: Any) -> Hashable:
    """A hashable, type-preserving image of an AMQP value (1, 1.0, True differ).

    Tables compare by content, whatever their keys' order (RabbitMQ sorts a
    binding's argument table), arrays by position.
    """
    if isinstance(value, Mapping):
        return ("table", tuple(sorted((str(k), freeze(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("array", tuple(freeze(v) for v in value))
    if isinstance(value, (bytearray, memoryview)):
        value = bytes(value)
    return (type(value).__name__, value)


class Matcher(ABC, Generic[D]):
    """The binding index of one exchange."""

    def __init__(self) -> None:
        self._bindings: set[tuple[Any, str, Hashable]] = set()
        self._refs: dict[D, int] = {}
        self._seq: dict[D, int] = {}
        self._counter = 0

    def add(self, dest: D, routing_key: str, arguments: Mapping[str, Any]) -> None:
        """Index one binding; a no-op if an equal binding is indexed."""
        ident = (dest, routing_key, freeze(arguments))
        if ident in self._bindings:
            return
        self._bindings.add(ident)
        refs = self._refs.get(dest, 0)
        if refs == 0:
            self._counter += 1
            self._seq[dest] = self._counter
        self._refs[dest] = refs + 1
        self._insert(dest, routing_key, arguments, ident)

    def remove(self, dest: D, routing_key: str, arguments: Mapping[str, Any]) -> None:
        """Forget one binding added with equal attributes; a no-op if absent."""
        ident = (dest, routing_key, freeze(arguments))
        if ident not in self._bindings:
            return
        self._bindings.discard(ident)
        self._delete(dest, routing_key, arguments, ident)
        refs = self._refs[dest] - 1
        if refs:
            self._refs[dest] = refs
        else:
            del self._refs[dest]
            del self._seq[dest]

    def __len__(self) -> int:
        """The number of bindings indexed."""
        return len(self._bindings)

    def _ordered(self, dests: Any) -> list[D]:
        """Destinations (distinct) sorted first-bound first."""
        result: list[D] = list(dests)
        if len(result) > 1:
            result.sort(key=self._seq.__getitem__)
        return result

    @abstractmethod
    def _insert(self, dest: D, key: str, arguments: Mapping[str, Any], ident: Hashable) -> None:
        """Index a new binding."""

    @abstractmethod
    def _delete(self, dest: D, key: str, arguments: Mapping[str, Any], ident: Hashable) -> None:
        """Unindex a binding known to be indexed."""

    @abstractmethod
    def route(self, routing_key: str, headers: Mapping[str, Any] | None) -> list[D]:
        """Every matching destination once, first-bound first."""


def _incr(counts: dict[D, int], dest: D) -> None:
    """Add one to a reference count."""
    counts[dest] = counts.get(dest, 0) + 1


def _decr(counts: dict[D, int], dest: D) -> None:
    """Take one from a reference count, dropping it at zero."""
    left = counts[dest] - 1
    if left:
        counts[dest] = left
    else:
        del counts[dest]


class DirectMatcher(Matcher[D]):
    """Exact routing-key equality: one dictionary lookup per route."""

    def __init__(self) -> None:
        super().__init__()
        self._by_key: dict[str, dict[D, int]] = {}

    def _insert(self, dest: D, key: str, arguments: Mapping[str, Any], ident: Hashable) -> None:
        _incr(self._by_key.setdefault(key, {}), dest)

    def _delete(self, dest: D, key: str, arguments: Mapping[str, Any], ident: Hashable) -> None:
        counts = self._by_key[key]
        _decr(counts, dest)
        if not counts:
            del self._by_key[key]

    def route(self, routing_key: str, headers: Mapping[str, Any] | None) -> list[D]:
        """The destinations bound with exactly this key."""
        counts = self._by_key.get(routing_key)
        return self._ordered(counts) if counts else []


class FanoutMatcher(Matcher[D]):
    """Every bound destination, whatever the key."""

    def __init__(self) -> None:
        super().__init__()
        self._all: tuple[D, ...] | None = ()

    def _insert(self, dest: D, key: str, arguments: Mapping[str, Any], ident: Hashable) -> None:
        self._all = None

    def _delete(self, dest: D, key: str, arguments: Mapping[str, Any], ident: Hashable) -> None:
        self._all = None

    def route(self, routing_key: str, headers: Mapping[str, Any] | None) -> list[D]:
        """All destinations (the reference counts are kept in bind order)."""
        if self._all is None:
            self._all = tuple(self._refs)
        return list(self._all)


def topic_words(key: str) -> list[str]:
    """RabbitMQ's split of a topic key or pattern: ``""`` is no words at all."""
    return key.split(".") if key else []


class _Node:
    """A trie node: literal children, ``*`` and ``#`` children, bindings ending here."""

    __slots__ = ("dests", "hash", "is_hash", "star", "words")

    def __init__(self, is_hash: bool = False) -> None:
        self.words: dict[str, _Node] = {}
        self.star: _Node | None = None
        self.hash: _Node | None = None
        self.is_hash = is_hash
        self.dests: dict[Any, int] = {}

    def child(self, word: str) -> _Node | None:
        """The child for a pattern word, if any."""
        if word == "*":
            return self.star
        if word == "#":
            return self.hash
        return self.words.get(word)

    def make_child(self, word: str) -> _Node:
        """The child for a pattern word, created if missing."""
        node = self.child(word)
        if node is not None:
            return node
        node = _Node(is_hash=word == "#")
        if word == "*":
            self.star = node
        elif word == "#":
            self.hash = node
        else:
            self.words[word] = node
        return node

    def drop_child(self, word: str) -> None:
        """Remove the child for a pattern word."""
        if word == "*":
            self.star = None
        elif word == "#":
            self.hash = None
        else:
            del self.words[word]

    def is_empty(self) -> bool:
        """True when nothing hangs off this node."""
        return not (self.dests or self.words or self.star or self.hash)


class TopicMatcher(Matcher[D]):
    """A trie over pattern words plus a bounded routing-key cache."""

    def __init__(self, cache_size: int = TOPIC_CACHE_SIZE) -> None:
        super().__init__()
        self._root = _Node()
        self._cache: dict[str, tuple[D, ...]] = {}
        self._cache_size = cache_size

    def _insert(self, dest: D, key: str, arguments: Mapping[str, Any], ident: Hashable) -> None:
        node = self._root
        for word in topic_words(key):
            node = node.make_child(word)
        _incr(node.dests, dest)
        self._cache.clear()

    def _delete(self, dest: D, key: str, arguments: Mapping[str, Any], ident: Hashable) -> None:
        path: list[tuple[_Node, str]] = []
        node = self._root
        for word in topic_words(key):
            child = node.child(word)
            assert child is not None, "indexed binding missing from the trie"
            path.append((node, word))
            node = child
        _decr(node.dests, dest)
        for parent, word in reversed(path):
            if not node.is_empty():
                break
            parent.drop_child(word)
            node = parent
        self._cache.clear()

    def route(self, routing_key: str, headers: Mapping[str, Any] | None) -> list[D]:
        """Destinations whose pattern matches the key (cached)."""
        cached = self._cache.get(routing_key)
        if cached is None:
            cached = tuple(self._ordered(self._match(topic_words(routing_key))))
            if len(self._cache) >= self._cache_size:
                del self._cache[next(iter(self._cache))]
            self._cache[routing_key] = cached
        return list(cached)

    def _match(self, words: list[str]) -> set[D]:
        """Walk the trie over states (node, index of the next word).

        Two paths reach one state only through a ``#`` node that swallowed a
        different number of words, so remembering the ``#`` states visited
        bounds the work by (trie nodes reached) x (words).
        """
        found: set[D] = set()
        end = len(words)
        seen: set[tuple[int, int]] = set()
        stack: list[tuple[_Node, int]] = [(self._root, 0)]
        pop, push = stack.pop, stack.append
        while stack:
            node, i = pop()
            if node.is_hash:
                if (id(node), i) in seen:
                    continue
                seen.add((id(node), i))
                if i < end:
                    push((node, i + 1))
            if node.hash is not None:
                push((node.hash, i))
            if i == end:
                if node.dests:
                    found.update(node.dests)
                continue
            if node.star is not None:
                push((node.star, i + 1))
            child = node.words.get(words[i])
            if child is not None:
                push((child, i + 1))
        return found


# --- headers ---------------------------------------------------------------------------------

_VOID = object()


def amqp_type(value: Any) -> str:
    """RabbitMQ's name for the field type a value came as (or a client would encode it as)."""
    received = field_type(value)
    if received is not None:
        return received
    if value is None:
        return "void"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "signedint" if -(2**31) <= value < 2**31 else "long"
    names: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (float, "double"),
        (str, "longstr"),
        ((bytes, bytearray, memoryview), "binary"),
        (Decimal, "decimal"),
        (datetime.datetime, "timestamp"),
        (Mapping, "table"),
        ((list, tuple), "array"),
    )
    for kind, name in names:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _decimal_pair(value: Decimal) -> tuple[int, int]:
    """A decimal as RabbitMQ holds it: (scale, unscaled value)."""
    sign, digits, exponent = value.as_tuple()
    unscaled = int("".join(map(str, digits)) or "0")
    scale = -exponent if isinstance(exponent, int) else 0
    return scale, -unscaled if sign else unscaled


def _timestamp(value: datetime.datetime) -> int:
    """Seconds since the epoch, a naive datetime being UTC (as clients encode it)."""
    return calendar.timegm(value.utctimetuple())


def _typed(value: Any) -> tuple[str, Hashable]:
    """An inner field as RabbitMQ compares it: (type, value)."""
    return (amqp_type(value), _erlang(value))


def _erlang(value: Any) -> Hashable:
    """The decoded value as a term whose ``==`` mirrors Erlang's ``==``."""
    if value is None or isinstance(value, bool):
        return ("atom", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, datetime.datetime):
        return ("number", _timestamp(value))
    if isinstance(value, str):
        return ("binary", value.encode("utf-8", "surrogatepass"))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return ("binary", bytes(value))
    if isinstance(value, Decimal):
        return ("tuple", _decimal_pair(value))
    if isinstance(value, Mapping):
        return ("list", tuple((str(k), *_typed(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return ("list", tuple(_typed(v) for v in value))
    return ("other", repr(value))


def _x_match(arguments: Mapping[str, Any]) -> tuple[bool, bool]:
    """(match all?, include x- keys?) of a binding; RabbitMQ falls back to all."""
    mode = arguments.get("x-match", "all")
    if isinstance(mode, (bytes, bytearray)):
        mode = bytes(mode).decode("utf-8", "replace")
    if mode not in X_MATCH_MODES:
        mode = "all"
    return mode.startswith("all"), mode.endswith("-with-x")


class _HeadersBinding:
    """A headers binding compiled for matching."""

    __slots__ = ("dest", "fields", "match_all")

    def __init__(self, dest: Any, arguments: Mapping[str, Any]) -> None:
        self.dest = dest
        self.match_all, with_x = _x_match(arguments)
        self.fields: tuple[tuple[str, Hashable], ...] = tuple(
            (key, _VOID if value is None else _erlang(value))
            for key, value in arguments.items()
            if key != "x-match" and (with_x or not key.startswith("x-"))
        )

    def matches(self, headers: Mapping[str, Hashable]) -> bool:
        """Whether message headers (already converted by ``_erlang``) match."""
        for key, want in self.fields:
            hit = key in headers and (want is _VOID or headers[key] == want)
            if hit != self.match_all:
                return hit
        return self.match_all


class HeadersMatcher(Matcher[D]):
    """Header tables against binding arguments (a scan, as RabbitMQ does)."""

    def __init__(self) -> None:
        super().__init__()
        self._compiled: dict[Hashable, _HeadersBinding] = {}

    def _insert(self, dest: D, key: str, arguments: Mapping[str, Any], ident: Hashable) -> None:
        self._compiled[ident] = _HeadersBinding(dest, arguments)

    def _delete(self, dest: D, key: str, arguments: Mapping[str, Any], ident: Hashable) -> None:
        del self._compiled[ident]

    def route(self, routing_key: str, headers: Mapping[str, Any] | None) -> list[D]:
        """Destinations of the bindings the headers match."""
        converted = {str(k): _erlang(v) for k, v in (headers or {}).items()}
        found: dict[D, None] = {}
        for binding in self._compiled.values():
            if binding.dest not in found and binding.matches(converted):
                found[binding.dest] = None
        return self._ordered(found)


_MATCHERS: dict[str, type[Matcher[Any]]] = {
    "direct": DirectMatcher,
    "fanout": FanoutMatcher,
    "topic": TopicMatcher,
    "headers": HeadersMatcher,
}


def matcher_for(exchange_type: str) -> Matcher[Any] | None:
    """A fresh matcher for an exchange type, or None for an unknown type."""
    factory = _MATCHERS.get(exchange_type)
    return factory() if factory is not None else None


# --- x-match validation and Erlang's ~p ----------------------------------------------------------

_LINE_LENGTH = 80


def erlang_float(value: float) -> str:
    """A float as Erlang's ``~p`` prints it (shortest digits; shorter of fixed/scientific)."""
    if value != value or value in (float("inf"), float("-inf")):
        return repr(value)
    _sign, digits_t, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digits_t)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    exponent += len(digits_t) - len(digits)
    prefix = "-" if value < 0 or (value == 0 and str(value).startswith("-")) else ""
    point = len(digits) + exponent
    if exponent >= 0:
        fixed = digits + "0" * exponent + ".0"
    elif point > 0:
        fixed = digits[:point] + "." + digits[point:]
    else:
        fixed = "0." + "0" * -point + digits
    if digits == "0":
        return prefix + "0.0"
    scientific = f"{digits[0]}.{digits[1:] or '0'}e{point - 1}"
    return prefix + (scientific if len(scientific) < len(fixed) else fixed)


def _term(value: Any) -> str:
    """A decoded AMQP value as a flat Erlang term."""
    if value is None:
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return erlang_float(value)
    if isinstance(value, str):
        return erlang_binary(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return erlang_binary(bytes(value))
    if isinstance(value, Decimal):
        scale, unscaled = _decimal_pair(value)
        return f"{{{scale},{unscaled}}}"
    if isinstance(value, datetime.datetime):
        return str(_timestamp(value))
    return "[" + ",".join(_elements(value)) + "]" if _is_list(value) else repr(value)


def _is_list(value: Any) -> bool:
    """Tables and arrays are Erlang lists."""
    return isinstance(value, (Mapping, list, tuple))


def _elements(value: Any) -> list[str]:
    """The flat elements of a table (``{Key,Type,Value}``) or array (``{Type,Value}``)."""
    if isinstance(value, Mapping):
        return [f"{{{_term(str(k))},{amqp_type(v)},{_term(v)}}}" for k, v in value.items()]
    return [f"{{{amqp_type(v)},{_term(v)}}}" for v in value]


def _pretty(value: Any, column: int) -> str:
    """``~p`` at a column: a list too long for the line gets one element a line."""
    flat = _term(value)
    if not _is_list(value) or column + len(flat) <= _LINE_LENGTH:
        return flat
    return "[" + (",\n" + " " * (column + 1)).join(_elements(value)) + "]"


def check_headers_binding(arguments: Mapping[str, Any]) -> str | None:
    """None if a headers binding's ``x-match`` is valid, else RabbitMQ's 406 text.

    The text is the part after ``PRECONDITION_FAILED - `` (reply code 406).
    """
    if "x-match" not in arguments:
        return None
    mode = arguments["x-match"]
    if isinstance(mode, str):
        if mode in X_MATCH_MODES:
            return None
        shown = erlang_binary(mode.encode("utf-8", "surrogatepass"))
        text = f"Invalid x-match field value {shown}; expected all, any, all-with-x, or any-with-x"
    else:
        head = f"Invalid x-match field type {amqp_type(mode)} (value "
        text = f"{head}{_pretty(mode, len(head))}); expected longstr"
    return wire_text(text)
