"""Binding indexes (fakebroker.core._routing), checked against RabbitMQ 3.10.8's behaviour.

The tables TOPIC_TABLE, HEADERS_CASES and X_MATCH_ERRORS were recorded from the
real server; the ``test_live_*`` tests re-check them when RabbitMQ is reachable
on 127.0.0.1:5672 (guest/guest) and skip otherwise.
"""

from __future__ import annotations

import datetime
import re
import socket
import uuid
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakebroker.core._routing import (
    DirectMatcher,
    FanoutMatcher,
    HeadersMatcher,
    Matcher,
    TopicMatcher,
    check_headers_binding,
    erlang_float,
    matcher_for,
    topic_words,
)

RABBIT = ("127.0.0.1", 5672)

# --- reference data recorded from RabbitMQ 3.10.8 ------------------------------------------------

TOPIC_KEYS = ["", ".", "..", "a", "b", "a.", ".a", "a..", "a.b", "a..b", "a.b.c", "a.b.b", "a.c.b",
              "b.a", "a.a", "a.x.y.b", "x.a", "a.b.", ".a.b", "#", "*", "a#", "a*", "a.b*", "...",
              "b.b"]  # fmt: skip
ALL_KEYS = list(TOPIC_KEYS)
NON_EMPTY = [k for k in TOPIC_KEYS if k]

#: pattern -> the keys of TOPIC_KEYS it matches (every other key does not match).
TOPIC_TABLE: dict[str, list[str]] = {
    "": [""],
    ".": ["."],
    "..": [".."],
    "#": ALL_KEYS,
    "#.#": ALL_KEYS,
    "#.*": NON_EMPTY,
    "*.#": NON_EMPTY,
    "#.*.#": NON_EMPTY,
    "*": ["a", "b", "#", "*", "a#", "a*"],
    "*.*": [".", "a.", ".a", "a.b", "b.a", "a.a", "x.a", "a.b*", "b.b"],
    "a": ["a"],
    "a.#": ["a", "a.", "a..", "a.b", "a..b", "a.b.c", "a.b.b", "a.c.b", "a.a", "a.x.y.b", "a.b.",
            "a.b*"],
    "a.#.#": ["a", "a.", "a..", "a.b", "a..b", "a.b.c", "a.b.b", "a.c.b", "a.a", "a.x.y.b", "a.b.",
              "a.b*"],
    "#.a": ["a", ".a", "b.a", "a.a", "x.a"],
    "#.#.a": ["a", ".a", "b.a", "a.a", "x.a"],
    "a.*": ["a.", "a.b", "a.a", "a.b*"],
    "*.a": [".a", "b.a", "a.a", "x.a"],
    "a.#.b": ["a.b", "a..b", "a.b.b", "a.c.b", "a.x.y.b"],
    "a.*.b": ["a..b", "a.b.b", "a.c.b"],
    "a..b": ["a..b"],
    "a.": ["a."],
    ".a": [".a"],
    "a.*.#": ["a.", "a..", "a.b", "a..b", "a.b.c", "a.b.b", "a.c.b", "a.a", "a.x.y.b", "a.b.",
              "a.b*"],
    "*.*.*": ["..", "a..", "a..b", "a.b.c", "a.b.b", "a.c.b", "a.b.", ".a.b"],
    "a.b": ["a.b"],
    "a#": ["a#"],
    "a*": ["a*"],
    "a.b*": ["a.b*"],
    "#.": [".", "..", "a.", "a..", "a.b.", "..."],
    ".#": [".", "..", ".a", ".a.b", "..."],
    "*.": [".", "a."],
    ".*": [".", ".a"],
    "#..#": [".", "..", "a.", ".a", "a..", "a..b", "a.b.", ".a.b", "..."],
    "a.#.": ["a.", "a..", "a.b."],
    "a.*.": ["a..", "a.b."],
    ".*.": [".."],
    "#.b.#": ["b", "a.b", "a..b", "a.b.c", "a.b.b", "a.c.b", "b.a", "a.x.y.b", "a.b.", ".a.b",
              "b.b"],
    "*.#.*": [".", "..", "a.", ".a", "a..", "a.b", "a..b", "a.b.c", "a.b.b", "a.c.b", "b.a", "a.a",
              "a.x.y.b", "x.a", "a.b.", ".a.b", "a.b*", "...", "b.b"],
}  # fmt: skip

TOPIC_CASES = [(p, k, k in keys) for p, keys in TOPIC_TABLE.items() for k in TOPIC_KEYS]

T2020 = datetime.datetime(2020, 1, 1)
#: (binding arguments, message headers or None, matches?) -- all sendable by py-amqp.
HEADERS_CASES: list[tuple[dict[str, Any], dict[str, Any] | None, bool]] = [
    # typed comparisons: Erlang == on the decoded values
    ({"k": 1}, {"k": 1}, True),
    ({"k": 1}, {"k": "1"}, False),
    ({"k": 1}, {"k": True}, False),
    ({"k": 1}, {"k": 1.0}, True),
    ({"k": 1}, {"k": Decimal(1)}, False),
    ({"k": 1}, {"k": None}, False),
    ({"k": 1}, {"k": 2**40}, False),
    ({"k": 2**40}, {"k": 2**40}, True),
    ({"k": True}, {"k": 1}, False),
    ({"k": True}, {"k": True}, True),
    ({"k": True}, {"k": 1.0}, False),
    ({"k": True}, {"k": "true"}, False),
    ({"k": False}, {"k": 0}, False),
    ({"k": False}, {"k": False}, True),
    ({"k": False}, {"k": None}, False),
    ({"k": 1.0}, {"k": 1}, True),
    ({"k": 1.0}, {"k": 1.0}, True),
    ({"k": 1.0}, {"k": True}, False),
    ({"k": "v"}, {"k": "v"}, True),
    ({"k": "v"}, {"k": "V"}, False),
    ({"k": ""}, {"k": ""}, True),
    ({"k": ""}, {"k": None}, False),
    ({"k": ""}, {}, False),
    ({"k": {"a": 1, "b": 2}}, {"k": {"a": 1, "b": 2}}, True),
    ({"k": {"a": 1, "b": 2}}, {"k": {"b": 2, "a": 1}}, False),
    ({"k": {"a": 1, "b": 2}}, {"k": {"a": True, "b": 2}}, False),
    ({"k": [1, 2]}, {"k": [1, 2]}, True),
    ({"k": [1, 2]}, {"k": [2, 1]}, False),
    ({"k": [1, 2]}, {"k": [1, 2.0]}, False),
    ({"k": [1, 2]}, {"k": [True, 2]}, False),
    ({"k": Decimal("1.0")}, {"k": Decimal("1.00")}, False),
    ({"k": Decimal("1.0")}, {"k": Decimal("1.0")}, True),
    ({"k": Decimal("1.0")}, {"k": Decimal("10E-1")}, True),
    ({"k": T2020}, {"k": T2020}, True),
    ({"k": T2020}, {"k": 1577836800}, True),
    # void binding value: presence only
    ({"k": None}, {"k": "x"}, True),
    ({"k": None}, {"k": None}, True),
    ({"k": None}, {"k": 0}, True),
    ({"k": None}, {}, False),
    ({"k": None}, {"j": 1}, False),
    ({"x-match": "any", "a": None}, {"a": 5}, True),
    ({"x-match": "any", "a": None}, {"b": 5}, False),
    # no keys: all matches everything (even no headers), any matches nothing
    ({"x-match": "all"}, None, True),
    ({"x-match": "all"}, {}, True),
    ({"x-match": "all"}, {"a": 1}, True),
    ({}, None, True),
    ({}, {"a": 1}, True),
    ({"x-match": "any"}, None, False),
    ({"x-match": "any"}, {"a": 1}, False),
    ({"x-match": "any"}, {"x-match": "any"}, False),
    # x- keys ignored by all/any (case-sensitive prefix), x-match never compared
    ({"x-match": "all", "x-foo": 1}, None, True),
    ({"x-match": "all", "x-foo": 1}, {"x-foo": 2}, True),
    ({"x-match": "all", "x-": 1}, {}, True),
    ({"X-foo": 1}, {}, False),
    ({"X-foo": 1}, {"X-foo": 1}, True),
    ({"x-match": "any", "x-foo": 1, "k": 1}, {"x-foo": 1}, False),
    ({"x-match": "any", "x-foo": 1, "k": 1}, {"k": 1}, True),
    ({"x-match": "all", "x-foo": 1, "k": 1}, {"k": 1}, True),
    ({"x-match": "all", "x-foo": 1, "k": 1}, {"k": 1, "x-foo": 2}, True),
    ({"k": 5}, {"k": 5, "x-match": "any"}, True),
    # -with-x variants
    ({"x-match": "all-with-x", "x-foo": 1}, {"x-foo": 1}, True),
    ({"x-match": "all-with-x", "x-foo": 1}, {"x-foo": 1, "x-match": "all-with-x"}, True),
    ({"x-match": "all-with-x", "x-foo": 1}, None, False),
    ({"x-match": "all-with-x", "x-foo": 1}, {"x-foo": 2}, False),
    ({"x-match": "all-with-x"}, None, True),
    ({"x-match": "all-with-x"}, {"x-match": "all-with-x"}, True),
    ({"x-match": "any-with-x"}, None, False),
    ({"x-match": "any-with-x"}, {"x-match": "any-with-x"}, False),
    ({"x-match": "any-with-x", "x-foo": 1, "k": 2}, {"x-foo": 1}, True),
    ({"x-match": "any-with-x", "x-foo": 1, "k": 2}, {"k": 2}, True),
    ({"x-match": "any-with-x", "x-foo": 1, "k": 2}, {"x-foo": 2}, False),
    # plain all / any
    ({"x-match": "any", "a": 1, "b": 2}, {"a": 1}, True),
    ({"x-match": "any", "a": 1, "b": 2}, {"b": 2}, True),
    ({"x-match": "any", "a": 1, "b": 2}, {"a": 2}, False),
    ({"x-match": "any", "a": 1, "b": 2}, {"c": 1}, False),
    ({"x-match": "any", "a": 1, "b": 2}, None, False),
    ({"a": 1, "b": 2}, {"a": 1}, False),
    ({"a": 1, "b": 2}, {"a": 1, "b": 2}, True),
    ({"a": 1, "b": 2}, {"a": 1, "b": 2, "c": 3}, True),
]

#: x-match value -> RabbitMQ's 406 text after "PRECONDITION_FAILED - ".
_EXPECTED = "; expected all, any, all-with-x, or any-with-x"
X_MATCH_ERRORS: list[tuple[Any, str]] = [
    ("foo", 'Invalid x-match field value <<"foo">>' + _EXPECTED),
    ("ALL", 'Invalid x-match field value <<"ALL">>' + _EXPECTED),
    ("", "Invalid x-match field value <<>>" + _EXPECTED),
    ("all ", 'Invalid x-match field value <<"all ">>' + _EXPECTED),
    ('a"b', 'Invalid x-match field value <<"a\\"b">>' + _EXPECTED),
    ("a\\b", 'Invalid x-match field value <<"a\\\\b">>' + _EXPECTED),
    ("a\nb", 'Invalid x-match field value <<"a\\nb">>' + _EXPECTED),
    ("\x08\x0b\x0c\r\x1b ", 'Invalid x-match field value <<"\\b\\v\\f\\r\\e ">>' + _EXPECTED),
    ("é", 'Invalid x-match field value <<"é">>' + _EXPECTED),
    ("\x01x", "Invalid x-match field value <<1,120>>" + _EXPECTED),
    ("\x7f", "Invalid x-match field value <<127>>" + _EXPECTED),
    ("a\x00", "Invalid x-match field value <<97,0>>" + _EXPECTED),
    ("€", "Invalid x-match field value <<226,130,172>>" + _EXPECTED),
    (1, "Invalid x-match field type signedint (value 1); expected longstr"),
    (-5, "Invalid x-match field type signedint (value -5); expected longstr"),
    (2**40, "Invalid x-match field type long (value 1099511627776); expected longstr"),
    (True, "Invalid x-match field type bool (value true); expected longstr"),
    (None, "Invalid x-match field type void (value undefined); expected longstr"),
    (1.5, "Invalid x-match field type double (value 1.5); expected longstr"),
    (1.0, "Invalid x-match field type double (value 1.0); expected longstr"),
    (1e20, "Invalid x-match field type double (value 1.0e20); expected longstr"),
    (1e15, "Invalid x-match field type double (value 1.0e15); expected longstr"),
    (123456789.0, "Invalid x-match field type double (value 123456789.0); expected longstr"),
    (1e-4, "Invalid x-match field type double (value 0.0001); expected longstr"),
    (1e-5, "Invalid x-match field type double (value 1.0e-5); expected longstr"),
    (Decimal("1.25"), "Invalid x-match field type decimal (value {2,125}); expected longstr"),
    (
        datetime.datetime(2020, 1, 2, 3, 4, 5),
        "Invalid x-match field type timestamp (value 1577934245); expected longstr",
    ),
    ({}, "Invalid x-match field type table (value []); expected longstr"),
    ([], "Invalid x-match field type array (value []); expected longstr"),
    (
        ["all"],
        'Invalid x-match field type array (value [{longstr,<<"all">>}]); expected longstr',
    ),
    (
        {"a": [1]},
        'Invalid x-match field type table (value [{<<"a">>,array,[{signedint,1}]}]);'
        " expected longstr",
    ),
    (
        {"k": "v", "n": 1},
        'Invalid x-match field type table (value [{<<"k">>,longstr,<<"v">>},\n'
        + " " * 41
        + '{<<"n">>,signedint,1}]); expected longstr',
    ),
]

# --- helpers ----------------------------------------------------------------------------------


def ref_topic_match(pattern: str, key: str) -> bool:
    """Reference topic matcher: plain recursion over RabbitMQ's word split."""

    def go(p: list[str], k: list[str]) -> bool:
        if not p:
            return not k
        if p[0] == "#":
            return any(go(p[1:], k[i:]) for i in range(len(k) + 1))
        if not k:
            return False
        return (p[0] == "*" or p[0] == k[0]) and go(p[1:], k[1:])

    return go(pattern.split(".") if pattern else [], key.split(".") if key else [])


def ref_topic_regex(pattern: str) -> re.Pattern[str]:
    """Second reference: a regex over "." + key, each word being "." + word."""
    parts = []
    for word in pattern.split(".") if pattern else []:
        if word == "#":
            parts.append(r"(?:\.[^.]*)*")
        elif word == "*":
            parts.append(r"\.[^.]*")
        else:
            parts.append(re.escape("." + word))
    return re.compile("".join(parts))


def regex_match(pattern: str, key: str) -> bool:
    """Match with ref_topic_regex (the key gets a leading dot unless empty)."""
    return ref_topic_regex(pattern).fullmatch("." + key if key else "") is not None


def rabbit_up() -> bool:
    """True when a broker listens on 127.0.0.1:5672."""
    try:
        with socket.create_connection(RABBIT, timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def rabbit() -> Iterator[Any]:
    """A py-amqp connection to the real RabbitMQ, or skip."""
    if not rabbit_up():
        pytest.skip("real RabbitMQ is not reachable on 127.0.0.1:5672")
    amqp = pytest.importorskip("amqp")
    conn = amqp.Connection(
        "127.0.0.1:5672", userid="guest", password="guest", connect_timeout=3,
        confirm_publish=True,
    )  # fmt: skip
    conn.connect()
    try:
        yield conn
    finally:
        conn.close()


def live_route(conn: Any, ex_type: str, bindings: list[Any], messages: list[Any]) -> list[set[int]]:
    """Bind one queue per (key, args); publish (key, headers) messages; who got what."""
    import amqp

    ch = conn.channel()
    ex = f"fakebroker-test-routing-{uuid.uuid4().hex[:8]}"
    ch.exchange_declare(ex, ex_type, auto_delete=True)
    queues = []
    for key, args in bindings:
        queue, *_ = ch.queue_declare("", exclusive=True)
        ch.queue_bind(queue, ex, key, arguments=args)
        queues.append(queue)
    for i, (key, headers) in enumerate(messages):
        props = {} if headers is None else {"application_headers": headers}
        ch.basic_publish(amqp.Message(str(i), **props), exchange=ex, routing_key=key)
    got = []
    for queue in queues:
        seen = set()
        while (msg := ch.basic_get(queue, no_ack=True)) is not None:
            seen.add(int(msg.body))
        got.append(seen)
    ch.exchange_delete(ex)
    ch.close()
    return got


def live_bind_error(conn: Any, args: dict[str, Any]) -> str | None:
    """The reply text of binding to a headers exchange with these arguments (None if ok)."""
    ch = conn.channel()
    ex = f"fakebroker-test-routing-{uuid.uuid4().hex[:8]}"
    ch.exchange_declare(ex, "headers", auto_delete=True)
    queue, *_ = ch.queue_declare("", exclusive=True)
    try:
        ch.queue_bind(queue, ex, "", arguments=args)
    except Exception as exc:
        code = getattr(exc, "reply_code", None)
        return f"{code} {getattr(exc, 'reply_text', exc)}"
    finally:  # an auto-delete exchange that never had a binding is never deleted
        cleanup = conn.channel()
        cleanup.exchange_delete(ex)
        cleanup.close()
    ch.close()
    return None


def routes(matcher: Matcher[Any], key: str = "", headers: Mapping[str, Any] | None = None) -> Any:
    """Shorthand for matcher.route."""
    return matcher.route(key, headers)


# --- matcher_for ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls"),
    [("direct", DirectMatcher), ("fanout", FanoutMatcher), ("topic", TopicMatcher),
     ("headers", HeadersMatcher)],
)  # fmt: skip
def test_matcher_for_known_types(name: str, cls: type) -> None:
    first, second = matcher_for(name), matcher_for(name)
    assert isinstance(first, cls)
    assert first is not second


@pytest.mark.parametrize("name", ["x-consistent-hash", "Direct", "", "x-delayed-message"])
def test_matcher_for_unknown_type_is_none(name: str) -> None:
    assert matcher_for(name) is None


# --- common binding bookkeeping -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["direct", "fanout", "topic", "headers"])
def test_duplicate_add_is_one_binding_and_remove_absent_is_silent(name: str) -> None:
    m = matcher_for(name)
    assert m is not None
    m.add("q", "k", {})
    m.add("q", "k", {})
    assert len(m) == 1
    m.remove("q", "other", {})
    m.remove("nobody", "k", {})
    m.remove("q", "k", {"x": 1})
    assert routes(m, "k") == ["q"]
    m.remove("q", "k", {})
    assert routes(m, "k") == []
    m.remove("q", "k", {})
    assert len(m) == 0


@pytest.mark.parametrize("name", ["direct", "fanout", "topic"])
def test_bindings_differing_only_in_arguments_are_separate(name: str) -> None:
    m = matcher_for(name)
    assert m is not None
    m.add("q", "k", {"a": 1})
    m.add("q", "k", {"a": True})  # 1 and True are different argument values
    m.add("q", "k", {"a": 1.0})
    assert len(m) == 3
    assert routes(m, "k") == ["q"]
    m.remove("q", "k", {"a": True})
    m.remove("q", "k", {"a": 1})
    assert routes(m, "k") == ["q"]
    m.remove("q", "k", {"a": 1.0})
    assert routes(m, "k") == []


@pytest.mark.parametrize("name", ["direct", "fanout", "topic", "headers"])
def test_order_is_first_bound_first_and_rebinding_goes_last(name: str) -> None:
    m = matcher_for(name)
    assert m is not None
    for dest in ["q3", "q1", "q2"]:
        m.add(dest, "k", {})
    m.add("q3", "k", {"x-other": "second binding"})
    assert routes(m, "k") == ["q3", "q1", "q2"]
    m.remove("q3", "k", {})
    assert routes(m, "k") == ["q3", "q1", "q2"]  # q3 still bound once
    m.remove("q3", "k", {"x-other": "second binding"})
    m.add("q3", "k", {})
    assert routes(m, "k") == ["q1", "q2", "q3"]


def test_destinations_may_be_any_hashable_object() -> None:
    class Queue:
        pass

    a, b = Queue(), Queue()
    m = matcher_for("topic")
    assert m is not None
    m.add(b, "x.*", {})
    m.add(a, "#", {})
    m.add(a, "x.y", {})
    assert m.route("x.y", None) == [b, a]


# --- direct and fanout ---------------------------------------------------------------------------


def test_direct_is_exact_equality() -> None:
    m: DirectMatcher[str] = DirectMatcher()
    m.add("q1", "a.b", {})
    m.add("q2", "", {})
    m.add("q3", "A.B", {})
    m.add("q4", "#", {})
    assert routes(m, "a.b") == ["q1"]
    assert routes(m, "") == ["q2"]
    assert routes(m, "A.B") == ["q3"]
    assert routes(m, "a.c") == []
    assert routes(m, "anything") == []
    assert routes(m, "#") == ["q4"]


def test_direct_same_dest_under_two_keys() -> None:
    m: DirectMatcher[str] = DirectMatcher()
    m.add("q", "a", {})
    m.add("q", "b", {})
    assert routes(m, "a") == routes(m, "b") == ["q"]
    m.remove("q", "a", {})
    assert routes(m, "a") == []
    assert routes(m, "b") == ["q"]


def test_fanout_ignores_key_and_headers_and_counts_each_dest_once() -> None:
    m: FanoutMatcher[str] = FanoutMatcher()
    assert routes(m, "x") == []
    m.add("q1", "a", {})
    m.add("q2", "b", {})
    m.add("q1", "c", {})
    assert routes(m, "zzz", {"h": 1}) == ["q1", "q2"]
    result = routes(m)
    result.append("mutated")
    assert routes(m) == ["q1", "q2"]
    m.remove("q1", "a", {})
    assert routes(m) == ["q1", "q2"]
    m.remove("q1", "c", {})
    assert routes(m) == ["q2"]


# --- topic --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "words"), [("", []), (".", ["", ""]), ("a..b", ["a", "", "b"])])
def test_topic_words(key: str, words: list[str]) -> None:
    assert topic_words(key) == words


@pytest.mark.parametrize(("pattern", "key", "expected"), TOPIC_CASES)
def test_topic_table(pattern: str, key: str, expected: bool) -> None:
    m: TopicMatcher[str] = TopicMatcher()
    m.add("q", pattern, {})
    assert (routes(m, key) == ["q"]) is expected


@pytest.mark.parametrize(("pattern", "key", "expected"), TOPIC_CASES)
def test_topic_references_agree_with_rabbitmq_table(pattern: str, key: str, expected: bool) -> None:
    assert ref_topic_match(pattern, key) is expected
    assert regex_match(pattern, key) is expected


def test_topic_whole_table_in_one_matcher() -> None:
    m: TopicMatcher[str] = TopicMatcher()
    for pattern in TOPIC_TABLE:
        m.add(pattern, pattern, {})
    for key in TOPIC_KEYS:
        assert routes(m, key) == [p for p, keys in TOPIC_TABLE.items() if key in keys], key


def test_topic_cache_is_invalidated_on_add_and_remove() -> None:
    m: TopicMatcher[str] = TopicMatcher()
    m.add("q1", "a.*", {})
    assert routes(m, "a.b") == ["q1"]
    m.add("q2", "#.b", {})
    assert routes(m, "a.b") == ["q1", "q2"]
    m.remove("q1", "a.*", {})
    assert routes(m, "a.b") == ["q2"]
    m.remove("q2", "#.b", {})
    assert routes(m, "a.b") == []


def test_topic_cache_is_bounded_and_results_are_copies() -> None:
    m: TopicMatcher[str] = TopicMatcher(cache_size=8)
    m.add("q", "#", {})
    for i in range(100):
        assert routes(m, f"k{i}") == ["q"]
    assert len(m._cache) == 8
    result = routes(m, "k99")
    result.clear()
    assert routes(m, "k99") == ["q"]


def test_topic_trie_is_pruned_when_bindings_go() -> None:
    m: TopicMatcher[str] = TopicMatcher()
    patterns = ["a.b.c", "a.*.c", "a.#", "#", "#.#.x", "*", "", "a..b"]
    for p in patterns:
        m.add("q", p, {})
        m.add("r", p, {})
    for p in patterns:
        m.remove("q", p, {})
        m.remove("r", p, {})
    assert m._root.is_empty()


def test_topic_many_hashes_do_not_explode() -> None:
    m: TopicMatcher[str] = TopicMatcher()
    m.add("q", ".".join(["#"] * 30 + ["z"]), {})
    assert routes(m, ".".join(["a"] * 40)) == []
    assert routes(m, ".".join(["a"] * 40 + ["z"])) == ["q"]


def test_topic_ten_thousand_bindings() -> None:
    m: TopicMatcher[str] = TopicMatcher()
    venues = ["nyse", "lse", "tse", "xetra"]
    for i in range(2500):
        for venue in venues:
            m.add(f"q-{i}-{venue}", f"stock.s{i}.{venue}", {})
    for i in range(0, 2500, 250):
        m.add(f"all-{i}", f"#.s{i}", {})
    assert len(m) == 10_010
    assert routes(m, "stock.s250.lse") == ["q-250-lse"]
    assert routes(m, "stock.s250") == ["all-250"]
    assert routes(m, "x.y.s500") == ["all-500"]
    assert routes(m, "stock.s251.lse.s500") == ["all-500"]


PATTERN_WORDS = st.sampled_from(["a", "b", "", "*", "#"])
KEY_WORDS = st.sampled_from(["a", "b", ""])


def _join(words: list[str]) -> str:
    return ".".join(words)


patterns_st = st.lists(PATTERN_WORDS, max_size=5).map(_join)
keys_st = st.lists(KEY_WORDS, max_size=6).map(_join)


@settings(max_examples=300, deadline=None)
@given(st.lists(patterns_st, max_size=12), st.lists(keys_st, min_size=1, max_size=8))
def test_topic_trie_agrees_with_reference(patterns: list[str], keys: list[str]) -> None:
    m: TopicMatcher[int] = TopicMatcher()
    for dest, pattern in enumerate(patterns):
        m.add(dest, pattern, {})
    for key in keys:
        expected = [d for d, p in enumerate(patterns) if ref_topic_match(p, key)]
        assert m.route(key, None) == expected
        assert expected == [d for d, p in enumerate(patterns) if regex_match(p, key)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 3), patterns_st),
        max_size=30,
    ),
    st.lists(keys_st, min_size=1, max_size=6),
)
def test_topic_add_remove_sequences_agree_with_reference(
    ops: list[tuple[bool, int, str]], keys: list[str]
) -> None:
    m: TopicMatcher[int] = TopicMatcher(cache_size=4)
    live: list[tuple[int, str]] = []
    for i, (is_add, dest, pattern) in enumerate(ops):
        if is_add:
            m.add(dest, pattern, {})
            if (dest, pattern) not in live:
                live.append((dest, pattern))
        else:
            m.remove(dest, pattern, {})
            if (dest, pattern) in live:
                live.remove((dest, pattern))
        key = keys[i % len(keys)]
        assert set(m.route(key, None)) == {d for d, p in live if ref_topic_match(p, key)}
    for key in keys:
        assert set(m.route(key, None)) == {d for d, p in live if ref_topic_match(p, key)}


# --- headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "headers", "expected"), HEADERS_CASES)
def test_headers_table(
    args: dict[str, Any], headers: dict[str, Any] | None, expected: bool
) -> None:
    m: HeadersMatcher[str] = HeadersMatcher()
    m.add("q", "ignored-key", args)
    assert (routes(m, "any-key", headers) == ["q"]) is expected


@pytest.mark.parametrize(
    ("args", "headers", "expected"),
    [
        ({"k": "v"}, {"k": b"v"}, True),  # longstr == bytearray of the same bytes (pika)
        ({"k": b"v"}, {"k": "v"}, True),
        ({"k": "é"}, {"k": "é".encode()}, True),
        ({"k": {}}, {"k": []}, True),  # an empty table and an empty array are both []
        ({"k": {"a": 1}}, {"k": [1]}, False),
        ({"k": T2020}, {"k": 1577836800.0}, True),
        ({"k": datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)}, {"k": T2020}, True),
        ({"k": [T2020]}, {"k": [1577836800]}, False),  # inside arrays the field type counts
        ({"x-match": b"any", "a": 1, "b": 2}, {"a": 1}, True),
        ({"x-match": "bogus", "a": 1, "b": 2}, {"a": 1}, False),  # unvalidated: falls back to all
    ],
)
def test_headers_more_value_kinds(
    args: dict[str, Any], headers: dict[str, Any], expected: bool
) -> None:
    m: HeadersMatcher[str] = HeadersMatcher()
    m.add("q", "", args)
    assert (routes(m, "", headers) == ["q"]) is expected


def test_headers_dest_with_two_bindings_routed_once_and_removed_independently() -> None:
    m: HeadersMatcher[str] = HeadersMatcher()
    m.add("q1", "", {"x-match": "any", "a": 1})
    m.add("q2", "", {"b": 2})
    m.add("q1", "", {"b": 2})
    assert routes(m, "", {"a": 1, "b": 2}) == ["q1", "q2"]
    m.remove("q1", "", {"x-match": "any", "a": 1})
    assert routes(m, "", {"a": 1}) == []
    assert routes(m, "", {"b": 2}) == ["q1", "q2"]
    m.remove("q1", "", {"b": True})  # not the same binding: 2 vs True
    assert routes(m, "", {"b": 2}) == ["q1", "q2"]


# --- x-match validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [{}, {"a": 1}, {"x-match": "all"}, {"x-match": "any"}, {"x-match": "all-with-x"},
     {"x-match": "any-with-x"}, {"x-match": "any", "x-foo": [1, {}]}],
)  # fmt: skip
def test_valid_x_match(args: dict[str, Any]) -> None:
    assert check_headers_binding(args) is None


@pytest.mark.parametrize(("value", "text"), X_MATCH_ERRORS)
def test_invalid_x_match_text(value: Any, text: str) -> None:
    assert check_headers_binding({"x-match": value, "k": 1}) == text


def test_bytes_x_match_is_a_byte_array_and_invalid() -> None:
    # pika (and pamqp) send bytes as a byte array: RabbitMQ says "binary"
    assert check_headers_binding({"x-match": b"any"}) == (
        'Invalid x-match field type binary (value <<"any">>); expected longstr'
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0, "0.0"), (-0.0, "-0.0"), (100.0, "100.0"), (1e21, "1.0e21"), (-2.5, "-2.5"),
     (0.1, "0.1"), (123.456, "123.456"), (1.5e-7, "1.5e-7"), (1e100, "1.0e100")],
)  # fmt: skip
def test_erlang_float(value: float, text: str) -> None:
    assert erlang_float(value) == text


# --- live checks against the real RabbitMQ ------------------------------------------------------


def test_live_topic_table(rabbit: Any) -> None:
    got = live_route(
        rabbit, "topic", [(p, None) for p in TOPIC_TABLE], [(k, None) for k in TOPIC_KEYS]
    )
    for (pattern, expected), seen in zip(TOPIC_TABLE.items(), got, strict=True):
        assert sorted(TOPIC_KEYS[i] for i in seen) == sorted(expected), pattern


def test_live_headers_table(rabbit: Any) -> None:
    # one exchange per case keeps the other bindings from interfering
    for args, headers, expected in HEADERS_CASES:
        (seen,) = live_route(rabbit, "headers", [("", args)], [("", headers)])
        assert (seen == {0}) is expected, (args, headers)


@pytest.mark.parametrize(("value", "text"), X_MATCH_ERRORS)
def test_live_invalid_x_match(rabbit: Any, value: Any, text: str) -> None:
    assert live_bind_error(rabbit, {"x-match": value}) == f"406 PRECONDITION_FAILED - {text}"


def test_live_valid_x_match(rabbit: Any) -> None:
    for mode in ["all", "any", "all-with-x", "any-with-x"]:
        assert live_bind_error(rabbit, {"x-match": mode}) is None
