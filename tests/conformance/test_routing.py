"""Routing: direct, fanout, topic and headers exchanges, exchange-to-exchange, alternate exchanges."""

from __future__ import annotations

import pytest

from ._harness import Backend, drain_bodies, publish, xdeclare

TOPIC_KEYS = ["a", "", "a.", ".a", "a.b", "a..b", "b", "a.b.c", "a.x.b", "a.x.y.b", "..", ".", "A"]
# pattern -> the keys above it routes, as RabbitMQ 3.10.8 answered the probe
TOPIC = {
    "a.#": ["a", "a.", "a.b", "a..b", "a.b.c", "a.x.b", "a.x.y.b"],
    "#": TOPIC_KEYS,
    "*": ["a", "b", "A"],
    "a.*": ["a.", "a.b"],
    "a..b": ["a..b"],
    "#.#": TOPIC_KEYS,
    "a.#.b": ["a.b", "a..b", "a.x.b", "a.x.y.b"],
    "*.*": ["a.", ".a", "a.b", "."],
    "#.a": ["a", ".a"],
    "a.*.#": ["a.", "a.b", "a..b", "a.b.c", "a.x.b", "a.x.y.b"],
    "": [""],
    "a.#.#.b": ["a.b", "a..b", "a.x.b", "a.x.y.b"],
    "#.*": [k for k in TOPIC_KEYS if k != ""],
    "*.#": [k for k in TOPIC_KEYS if k != ""],
    "a": ["a"],
    "A": ["A"],
    "*.b.*": ["a.b.c"],
    "a.*.*.b": ["a.x.y.b"],
}


@pytest.mark.parametrize("pattern", list(TOPIC), ids=[repr(p) for p in TOPIC])
def test_topic_pattern(b: Backend, pattern: str) -> None:
    """topic: which routing keys a binding pattern matches (# and * corners)."""
    ch = b.channel()
    x, q = b.name("x"), b.name("q")
    xdeclare(ch, x, "topic")
    ch.queue_declare(q)
    ch.queue_bind(q, x, pattern)
    for key in TOPIC_KEYS:
        publish(ch, x, key, f"key={key!r}")
    got = b.eventually(lambda: drain_bodies(ch, q) if TOPIC[pattern] else [])
    b.expect("routed", got, [f"key={k!r}" for k in TOPIC[pattern]])


DIRECT = {
    "exact": ("k", "k", True),
    "case": ("k", "K", False),
    "empty-both": ("", "", True),
    "empty-binding": ("", "k", False),
    "dots": ("a.b", "a.b", True),
    "hash-is-literal": ("#", "anything", False),
    "hash-literal-match": ("#", "#", True),
    "prefix": ("ab", "a", False),
    "unicode": ("clé", "clé", True),
}


@pytest.mark.parametrize("binding,key,routed", DIRECT.values(), ids=list(DIRECT))
def test_direct_binding(b: Backend, binding: str, key: str, routed: bool) -> None:
    """direct: the routing key equals the binding key, byte for byte."""
    ch = b.channel()
    x, q = b.name("x"), b.name("q")
    xdeclare(ch, x, "direct")
    ch.queue_declare(q)
    ch.queue_bind(q, x, binding)
    publish(ch, x, key, "m")
    got = b.eventually(lambda: drain_bodies(ch, q) if routed else [])
    b.expect("routed", got, ["m"] if routed else [])


@pytest.mark.parametrize("key", ["", "a", "a.b", "#"])
def test_fanout_ignores_key(b: Backend, key: str) -> None:
    """fanout: every bound queue gets a copy, whatever the keys."""
    ch = b.channel()
    x, q1, q2 = b.name("x"), b.name("q1"), b.name("q2")
    xdeclare(ch, x, "fanout")
    for q, bk in ((q1, "zzz"), (q2, "")):
        ch.queue_declare(q)
        ch.queue_bind(q, x, bk)
    publish(ch, x, key, "m")
    b.expect("q1", b.eventually(lambda: drain_bodies(ch, q1)), ["m"])
    b.expect("q2", b.eventually(lambda: drain_bodies(ch, q2)), ["m"])


def test_default_exchange_routes_by_queue_name(b: Backend) -> None:
    """default exchange: routing key = queue name; no other match."""
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q)
    publish(ch, "", q, "hit")
    publish(ch, "", q.upper(), "miss")
    b.expect("got", b.eventually(lambda: drain_bodies(ch, q)), ["hit"])


def test_one_copy_per_queue_with_two_bindings(b: Backend) -> None:
    """a queue bound twice to matching keys gets one copy."""
    ch = b.channel()
    x, q = b.name("x"), b.name("q")
    xdeclare(ch, x, "topic")
    ch.queue_declare(q)
    ch.queue_bind(q, x, "a.*")
    ch.queue_bind(q, x, "#")
    publish(ch, x, "a.b", "once")
    b.expect("got", b.eventually(lambda: drain_bodies(ch, q)), ["once"])


def test_unbind_stops_routing(b: Backend) -> None:
    """queue.unbind removes exactly that binding."""
    ch = b.channel()
    x, q = b.name("x"), b.name("q")
    xdeclare(ch, x, "direct")
    ch.queue_declare(q)
    ch.queue_bind(q, x, "a")
    ch.queue_bind(q, x, "b")
    ch.queue_unbind(q, x, "a")
    publish(ch, x, "a", "via-a")
    publish(ch, x, "b", "via-b")
    b.expect("got", b.eventually(lambda: drain_bodies(ch, q)), ["via-b"])


HEADER_BINDINGS = {
    "all_a1_b2": {"x-match": "all", "a": 1, "b": "2"},
    "any_a1_b2": {"x-match": "any", "a": 1, "b": "2"},
    "default_a1_b2": {"a": 1, "b": "2"},
    "all_n_int1": {"x-match": "all", "n": 1},
    "all_n_str1": {"x-match": "all", "n": "1"},
    "all_f_true": {"x-match": "all", "f": True},
    "all_xk_only": {"x-match": "all", "x-k": "v"},
    "any_xk_only": {"x-match": "any", "x-k": "v"},
    "allx_xk": {"x-match": "all-with-x", "x-k": "v"},
    "anyx_xk_a1": {"x-match": "any-with-x", "x-k": "v", "a": 1},
    "all_empty": {"x-match": "all"},
    "any_empty": {"x-match": "any"},
    "no_args": {},
}
HEADER_MESSAGES = {
    "h_a1_b2": {"a": 1, "b": "2"},
    "h_a1": {"a": 1},
    "h_a1_b3": {"a": 1, "b": "3"},
    "h_a_str1": {"a": "1"},
    "h_n_int1": {"n": 1},
    "h_n_str1": {"n": "1"},
    "h_f_true": {"f": True},
    "h_f_int1": {"f": 1},
    "h_xk": {"x-k": "v"},
    "h_xk_a1_b2": {"x-k": "v", "a": 1, "b": "2"},
    "h_empty": {},
    "no_headers": None,
}
_ALL = list(HEADER_MESSAGES)
HEADERS_ROUTED = {
    "all_a1_b2": ["h_a1_b2", "h_xk_a1_b2"],
    "any_a1_b2": ["h_a1_b2", "h_a1", "h_a1_b3", "h_xk_a1_b2"],
    "default_a1_b2": ["h_a1_b2", "h_xk_a1_b2"],
    "all_n_int1": ["h_n_int1"],
    "all_n_str1": ["h_n_str1"],
    "all_f_true": ["h_f_true"],
    "all_xk_only": _ALL,
    "any_xk_only": [],
    "allx_xk": ["h_xk", "h_xk_a1_b2"],
    "anyx_xk_a1": ["h_a1_b2", "h_a1", "h_a1_b3", "h_xk", "h_xk_a1_b2"],
    "all_empty": _ALL,
    "any_empty": [],
    "no_args": _ALL,
}


@pytest.mark.parametrize("binding", list(HEADER_BINDINGS))
def test_headers_match(b: Backend, binding: str) -> None:
    """headers: x-match all/any/all-with-x/any-with-x, types, x- keys, empty bindings."""
    ch = b.channel()
    x, q = b.name("x"), b.name("q")
    xdeclare(ch, x, "headers")
    ch.queue_declare(q)
    ch.queue_bind(q, x, "", arguments=HEADER_BINDINGS[binding])
    for name, headers in HEADER_MESSAGES.items():
        props = {} if headers is None else {"application_headers": headers}
        publish(ch, x, "ignored", name, **props)
    expected = HEADERS_ROUTED[binding]
    got = b.eventually(lambda: drain_bodies(ch, q) if expected else [])
    b.expect("routed", got, expected)


@pytest.mark.parametrize("value", ["foo", "ALL", ""])
def test_headers_bad_x_match(b: Backend, value: str) -> None:
    """headers: an invalid x-match closes the channel with 406 and RabbitMQ's text."""
    ch = b.channel()
    x, q = b.name("x"), b.name("q")
    xdeclare(ch, x, "headers")
    ch.queue_declare(q)
    err = b.error(ch.queue_bind, q, x, "", arguments={"x-match": value})
    b.expect(
        "error",
        err,
        {
            "code": 406,
            "text": f'PRECONDITION_FAILED - Invalid x-match field value <<"{value}">>; '
            "expected all, any, all-with-x, or any-with-x"
            if value
            else "PRECONDITION_FAILED - Invalid x-match field value <<>>; "
            "expected all, any, all-with-x, or any-with-x",
            "method": [50, 20],
            "closed": "channel",
        },
    )


E2E = {
    "direct-to-fanout": ("direct", "k", "fanout", "", "k", True),
    "direct-miss": ("direct", "k", "fanout", "", "other", False),
    "topic-to-direct": ("topic", "a.*", "direct", "a.b", "a.b", True),
    "topic-to-direct-inner-miss": ("topic", "a.*", "direct", "zzz", "a.b", False),
    "fanout-to-topic": ("fanout", "", "topic", "#", "x.y", True),
}


@pytest.mark.parametrize("stype,skey,dtype,qkey,key,routed", E2E.values(), ids=list(E2E))
def test_exchange_to_exchange(
    b: Backend, stype: str, skey: str, dtype: str, qkey: str, key: str, routed: bool
) -> None:
    """exchange.bind: messages flow source -> destination -> queue, keys checked at each hop."""
    ch = b.channel()
    src, dst, q = b.name("src"), b.name("dst"), b.name("q")
    xdeclare(ch, src, stype)
    xdeclare(ch, dst, dtype)
    ch.exchange_bind(dst, src, skey)
    ch.queue_declare(q)
    ch.queue_bind(q, dst, qkey)
    publish(ch, src, key, "m")
    got = b.eventually(lambda: drain_bodies(ch, q) if routed else [])
    b.expect("routed", got, ["m"] if routed else [])


def test_exchange_to_exchange_cycle_delivers_once(b: Backend) -> None:
    """a cycle of exchange bindings routes each message once per queue."""
    ch = b.channel()
    x1, x2, q = b.name("x1"), b.name("x2"), b.name("q")
    xdeclare(ch, x1, "fanout")
    xdeclare(ch, x2, "fanout")
    ch.exchange_bind(x2, x1)
    ch.exchange_bind(x1, x2)
    ch.queue_declare(q)
    ch.queue_bind(q, x2)
    ch.queue_bind(q, x1)
    publish(ch, x1, "", "m")
    b.expect("got", b.eventually(lambda: drain_bodies(ch, q)), ["m"])


def test_exchange_unbind(b: Backend) -> None:
    """exchange.unbind stops the flow."""
    ch = b.channel()
    src, dst, q = b.name("src"), b.name("dst"), b.name("q")
    xdeclare(ch, src, "fanout")
    xdeclare(ch, dst, "fanout")
    ch.exchange_bind(dst, src)
    ch.queue_declare(q)
    ch.queue_bind(q, dst)
    publish(ch, src, "", "before")
    ch.exchange_unbind(dst, src)
    publish(ch, src, "", "after")
    b.expect("got", b.eventually(lambda: drain_bodies(ch, q)), ["before"])


AE = {
    "unroutable-goes-to-ae": ("nomatch", ["ae"], []),
    "routable-stays": ("k", [], ["main"]),
}


@pytest.mark.parametrize("key,in_ae,in_main", AE.values(), ids=list(AE))
def test_alternate_exchange(b: Backend, key: str, in_ae: list[str], in_main: list[str]) -> None:
    """alternate-exchange: unroutable messages go to the AE, routable ones do not."""
    ch = b.channel()
    x, ae, qa, qm = b.name("x"), b.name("ae"), b.name("qa"), b.name("qm")
    xdeclare(ch, ae, "fanout")
    xdeclare(ch, x, "direct", arguments={"alternate-exchange": ae})
    ch.queue_declare(qa)
    ch.queue_bind(qa, ae)
    ch.queue_declare(qm)
    ch.queue_bind(qm, x, "k")
    publish(ch, x, key, "ae" if in_ae else "main")
    b.expect("ae", b.eventually(lambda: drain_bodies(ch, qa) if in_ae else []), in_ae)
    b.expect("main", b.eventually(lambda: drain_bodies(ch, qm) if in_main else []), in_main)


def test_alternate_exchange_chain(b: Backend) -> None:
    """an AE with its own AE: the message follows the chain."""
    ch = b.channel()
    x, ae1, ae2, q = b.name("x"), b.name("ae1"), b.name("ae2"), b.name("q")
    xdeclare(ch, ae2, "fanout")
    xdeclare(ch, ae1, "direct", arguments={"alternate-exchange": ae2})
    xdeclare(ch, x, "direct", arguments={"alternate-exchange": ae1})
    ch.queue_declare(q)
    ch.queue_bind(q, ae2)
    publish(ch, x, "k", "m")
    b.expect("got", b.eventually(lambda: drain_bodies(ch, q)), ["m"])


def test_alternate_exchange_missing_returns_mandatory(b: Backend) -> None:
    """an AE that does not exist: a mandatory message comes back 312 NO_ROUTE."""
    ch = b.channel()
    x = b.name("x")
    xdeclare(ch, x, "direct", arguments={"alternate-exchange": b.name("nope")})
    publish(ch, x, "k", "m", mandatory=True)
    b.wait(lambda: len(b.events) >= 1)
    b.expect("events", b.events, [("return", 312, "NO_ROUTE", x, "k", "m")])


def test_alternate_exchange_unroutable_there_too(b: Backend) -> None:
    """AE that routes nowhere: mandatory returns with the original exchange and key."""
    ch = b.channel()
    x, ae = b.name("x"), b.name("ae")
    xdeclare(ch, ae, "direct")
    xdeclare(ch, x, "direct", arguments={"alternate-exchange": ae})
    publish(ch, x, "k", "m", mandatory=True)
    b.wait(lambda: len(b.events) >= 1)
    b.expect("events", b.events, [("return", 312, "NO_ROUTE", x, "k", "m")])


def test_internal_exchange_routes_via_binding(b: Backend) -> None:
    """an internal exchange cannot be published to, but routes what is bound into it."""
    ch = b.channel()
    src, internal, q = b.name("src"), b.name("int"), b.name("q")
    xdeclare(ch, src, "fanout")
    xdeclare(ch, internal, "fanout", internal=True)
    ch.exchange_bind(internal, src)
    ch.queue_declare(q)
    ch.queue_bind(q, internal)
    publish(ch, src, "", "m")
    b.expect("got", b.eventually(lambda: drain_bodies(ch, q)), ["m"])
    publish(ch, internal, "", "direct")
    err = b.error(ch.queue_declare, q, passive=True)
    b.expect(
        "error",
        err,
        {
            "code": 403,
            "text": f"ACCESS_REFUSED - cannot publish to internal exchange '{internal}' in vhost '/'",
            "method": [60, 40],
            "closed": "channel",
        },
    )


def test_sender_selected_cc_and_bcc(b: Backend) -> None:
    """CC and BCC headers add routing keys; BCC is removed from what is delivered."""
    ch = b.channel()
    main, cc, bcc = b.name("main"), b.name("cc"), b.name("bcc")
    for q in (main, cc, bcc):
        ch.queue_declare(q)
    headers = {"CC": [cc], "BCC": [bcc], "x": "kept"}
    publish(ch, "", main, "m", application_headers=headers)
    got = {}
    for label, q in (("main", main), ("cc", cc), ("bcc", bcc)):
        message = ch.basic_get(q, no_ack=True)
        got[label] = message and (_text(message.body), sorted(message.headers))
    b.expect("delivered", got, {k: ("m", ["CC", "x"]) for k in ("main", "cc", "bcc")})


def test_sender_selected_keys_and_the_alternate_exchange(b: Backend) -> None:
    """all keys route at once: the AE is used only when none of them routes."""
    ch = b.channel()
    x, ae, q, qa = b.name("x"), b.name("ae"), b.name("q"), b.name("qa")
    xdeclare(ch, ae, "fanout")
    xdeclare(ch, x, "direct", arguments={"alternate-exchange": ae})
    ch.queue_declare(q)
    ch.queue_bind(q, x, "hit")
    ch.queue_declare(qa)
    ch.queue_bind(qa, ae)
    publish(ch, x, "miss", "one key routes", application_headers={"CC": ["hit"]})
    publish(ch, x, "miss", "none routes", application_headers={"CC": ["miss2"]})
    b.expect("q", b.eventually(lambda: drain_bodies(ch, q)), ["one key routes"])
    b.expect("ae", b.eventually(lambda: drain_bodies(ch, qa)), ["none routes"])


def _text(body: str | bytes) -> str:
    return body.decode() if isinstance(body, bytes) else body


# Names RabbitMQ accepts (any UTF-8 up to 255 bytes) beyond the spec's [\w.:-]{0,127}.
ODD_NAMES = {
    "star-space": "a*b c#",
    "unicode": "clé→ü",
    "200-chars": "n" * 200,
    "255-bytes": "é" * 120,  # with the harness prefix: 255 bytes in all
}


@pytest.mark.parametrize("case", list(ODD_NAMES))
def test_odd_names_route_and_come_back(b: Backend, case: str) -> None:
    """declare-ok, get-ok, deliver and return carry names RabbitMQ allows."""
    suffix = ODD_NAMES[case]
    prefix_len = len(b.name("").encode())
    suffix = suffix.encode()[: 255 - prefix_len].decode("utf-8", "ignore")
    x, q = b.name(suffix), b.name("q" + suffix)[:255]
    q = q.encode()[:255].decode("utf-8", "ignore")
    ch = b.channel()
    xdeclare(ch, x, "direct")
    b.expect("declare-ok", list(ch.queue_declare(q)), [q, 0, 0])
    ch.queue_bind(q, x, suffix)
    publish(ch, x, suffix, "got")
    message = b.eventually(lambda: ch.basic_get(q, no_ack=True))
    info = message.delivery_info
    b.expect("get-ok", [info["exchange"], info["routing_key"]], [x, suffix])
    b.consume(ch, q, tag=suffix)
    publish(ch, x, suffix, "delivered")
    publish(ch, x, "no-such-key" + suffix[:100], "returned", mandatory=True)
    b.wait(lambda: len(b.events) >= 2)
    deliver = [m.delivery_info for m in b.messages]
    b.expect(
        "deliver",
        [(d["consumer_tag"], d["exchange"], d["routing_key"]) for d in deliver],
        [(suffix, x, suffix)],
    )
    b.expect(
        "events",
        sorted(e[:2] + e[3:] for e in b.events),
        [
            ("deliver", suffix, False),
            ("return", 312, x, "no-such-key" + suffix[:100], "returned"),
        ],
    )
    ch.queue_delete(q)
