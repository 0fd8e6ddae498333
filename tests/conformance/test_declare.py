"""Declarations: declare, redeclare, passive, delete, bind and their exact errors."""

from __future__ import annotations

from typing import Any

import pytest

from ._harness import LOCKED, Backend, E, publish, xdeclare

PF = "PRECONDITION_FAILED - "
BASE_QARGS = {"x-message-ttl": 1000, "x-max-length": 10, "x-foo": "a"}

QUEUE_REDECLARE: dict[str, tuple[dict[str, Any], dict[str, Any] | str]] = {
    "identical": ({}, "ok"),
    "durable": (
        {"durable": True},
        PF + "inequivalent arg 'durable' for queue '{q}' in vhost '/': "
        "received 'true' but current is 'false'",
    ),
    "auto_delete": (
        {"auto_delete": True},
        PF + "inequivalent arg 'auto_delete' for queue '{q}' in vhost '/': "
        "received 'true' but current is 'false'",
    ),
    "ttl_changed": (
        {"arguments": {**BASE_QARGS, "x-message-ttl": 2000}},
        PF + "inequivalent arg 'x-message-ttl' for queue '{q}' in vhost '/': "
        "received '2000' but current is '1000'",
    ),
    "ttl_removed": (
        {"arguments": {"x-max-length": 10}},
        PF + "inequivalent arg 'x-message-ttl' for queue '{q}' in vhost '/': "
        "received none but current is the value '1000' of type 'signedint'",
    ),
    "ttl_as_string": (
        {"arguments": {**BASE_QARGS, "x-message-ttl": "1000"}},
        PF + "inequivalent arg 'x-message-ttl' for queue '{q}' in vhost '/': "
        "received '1000' but current is '1000'",
    ),
    "max_length_changed": (
        {"arguments": {**BASE_QARGS, "x-max-length": 11}},
        PF + "inequivalent arg 'x-max-length' for queue '{q}' in vhost '/': "
        "received '11' but current is '10'",
    ),
    "x_foo_changed": ({"arguments": {**BASE_QARGS, "x-foo": "b"}}, "ok"),
    "x_foo_removed": ({"arguments": {"x-message-ttl": 1000, "x-max-length": 10}}, "ok"),
    "x_expires_added": (
        {"arguments": {**BASE_QARGS, "x-expires": 100000}},
        PF + "inequivalent arg 'x-expires' for queue '{q}' in vhost '/': "
        "received the value '100000' of type 'signedint' but current is none",
    ),
    "dlx_added": (
        {"arguments": {**BASE_QARGS, "x-dead-letter-exchange": "dlx"}},
        PF + "inequivalent arg 'x-dead-letter-exchange' for queue '{q}' in vhost '/': "
        "received the value 'dlx' of type 'longstr' but current is none",
    ),
    "max_priority_added": (
        {"arguments": {**BASE_QARGS, "x-max-priority": 5}},
        PF + "inequivalent arg 'x-max-priority' for queue '{q}' in vhost '/': "
        "received the value '5' of type 'signedint' but current is none",
    ),
    "overflow_added": (
        {"arguments": {**BASE_QARGS, "x-overflow": "reject-publish"}},
        PF + "inequivalent arg 'x-overflow' for queue '{q}' in vhost '/': "
        "received the value 'reject-publish' of type 'longstr' but current is none",
    ),
    "queue_type_classic_added": ({"arguments": {**BASE_QARGS, "x-queue-type": "classic"}}, "ok"),
    "all_args_removed": (
        {"arguments": {}},
        PF + "inequivalent arg 'x-message-ttl' for queue '{q}' in vhost '/': "
        "received none but current is the value '1000' of type 'signedint'",
    ),
}


@pytest.mark.parametrize("case", list(QUEUE_REDECLARE))
def test_queue_redeclare(b: Backend, case: str) -> None:
    """queue.declare again with other flags or arguments: ok or 406 with the exact text."""
    change, outcome = QUEUE_REDECLARE[case]
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False, arguments=BASE_QARGS)
    kwargs: dict[str, Any] = {"auto_delete": False, "arguments": BASE_QARGS, **change}
    got = b.error(ch.queue_declare, q, **kwargs)
    want = {"ok": [q, 0, 0]} if outcome == "ok" else E(406, str(outcome).format(q=q), (50, 10))
    b.expect("reply", got, want)


QT = "inequivalent arg 'x-queue-type' for queue '{q}' in vhost '/': "
QUEUE_TYPE_REDECLARE: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    # a missing x-queue-type compares as classic, but the text says "none" for it
    "none_then_classic": ({}, {"x-queue-type": "classic"}, "ok"),
    "classic_then_none": ({"x-queue-type": "classic"}, {}, "ok"),
    "none_then_quorum": (
        {},
        {"x-queue-type": "quorum"},
        PF + QT + "received the value 'quorum' of type 'longstr' but current is none",
    ),
    "classic_then_quorum": (
        {"x-queue-type": "classic"},
        {"x-queue-type": "quorum"},
        PF + QT + "received 'quorum' but current is 'classic'",
    ),
    "quorum_then_none": (
        {"x-queue-type": "quorum"},
        {},
        PF + QT + "received none but current is the value 'quorum' of type 'longstr'",
    ),
    "quorum_then_classic": (
        {"x-queue-type": "quorum"},
        {"x-queue-type": "classic"},
        PF + QT + "received 'classic' but current is 'quorum'",
    ),
}


@pytest.mark.parametrize("case", list(QUEUE_TYPE_REDECLARE))
def test_queue_type_redeclare(b: Backend, case: str) -> None:
    """x-queue-type on redeclare: compared with classic as the default, texts by presence."""
    first, second, outcome = QUEUE_TYPE_REDECLARE[case]
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, durable=True, auto_delete=False, arguments=first)
    try:
        got = b.error(ch.queue_declare, q, durable=True, auto_delete=False, arguments=second)
        want = {"ok": [q, 0, 0]} if outcome == "ok" else E(406, outcome.format(q=q), (50, 10))
        b.expect("reply", got, want)
    finally:
        b.channel().queue_delete(q)


@pytest.mark.parametrize("first,second", [(False, True), (True, False), (True, True)])
def test_exclusive_queue_durable_flag_is_ignored(b: Backend, first: bool, second: bool) -> None:
    """an exclusive queue is never durable: redeclaring it with another durable flag is ok."""
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, durable=first, exclusive=True, auto_delete=False)
    got = b.error(ch.queue_declare, q, durable=second, exclusive=True, auto_delete=False)
    b.expect("reply", got, {"ok": [q, 0, 0]})


def test_queue_redeclare_exclusive_mismatch(b: Backend) -> None:
    """queue.declare exclusive on a non-exclusive queue: 405 RESOURCE_LOCKED."""
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    b.expect(
        "reply",
        b.error(ch.queue_declare, q, exclusive=True, auto_delete=False),
        E(405, LOCKED.format(q=q), (50, 10)),
    )


EXCHANGE_REDECLARE: dict[str, tuple[dict[str, Any], str]] = {
    "identical": ({}, "ok"),
    "x_foo_changed": ({"arguments": {"alternate-exchange": "ae1", "x-foo": "b"}}, "ok"),
    "type": (
        {"type": "fanout"},
        PF + "inequivalent arg 'type' for exchange '{x}' in vhost '/': "
        "received 'fanout' but current is 'direct'",
    ),
    "durable": (
        {"durable": True},
        PF + "inequivalent arg 'durable' for exchange '{x}' in vhost '/': "
        "received 'true' but current is 'false'",
    ),
    "auto_delete": (
        {"auto_delete": True},
        PF + "inequivalent arg 'auto_delete' for exchange '{x}' in vhost '/': "
        "received 'true' but current is 'false'",
    ),
    "internal": (
        {"internal": True},
        PF + "inequivalent arg 'internal' for exchange '{x}' in vhost '/': "
        "received 'true' but current is 'false'",
    ),
    "ae_changed": (
        {"arguments": {"alternate-exchange": "ae2", "x-foo": "a"}},
        PF + "inequivalent arg 'alternate-exchange' for exchange '{x}' in vhost '/': "
        "received 'ae2' but current is 'ae1'",
    ),
    "ae_removed": (
        {"arguments": {"x-foo": "a"}},
        PF + "inequivalent arg 'alternate-exchange' for exchange '{x}' in vhost '/': "
        "received none but current is the value 'ae1' of type 'longstr'",
    ),
}


@pytest.mark.parametrize("case", list(EXCHANGE_REDECLARE))
def test_exchange_redeclare(b: Backend, case: str) -> None:
    """exchange.declare again with other type, flags or arguments."""
    change, outcome = EXCHANGE_REDECLARE[case]
    ch = b.channel()
    x = b.name("x")
    base: dict[str, Any] = {
        "type": "direct",
        "arguments": {"alternate-exchange": "ae1", "x-foo": "a"},
    }
    xdeclare(ch, x, **base)
    got = b.error(xdeclare, ch, x, **{**base, **change}, _conn=ch.connection)
    want = {"ok": None} if outcome == "ok" else E(406, outcome.format(x=x), (40, 10))
    b.expect("reply", got, want)


PASSIVE = {
    "queue-missing": ("queue", False, E(404, "NOT_FOUND - no queue '{n}' in vhost '/'", (50, 10))),
    "exchange-missing": (
        "exchange",
        False,
        E(404, "NOT_FOUND - no exchange '{n}' in vhost '/'", (40, 10)),
    ),
    "queue-existing": ("queue", True, {"ok": ["{n}", 0, 0]}),
    "exchange-existing-other-type": ("exchange", True, {"ok": None}),
}


@pytest.mark.parametrize("kind,exists,want", PASSIVE.values(), ids=list(PASSIVE))
def test_passive_declare(b: Backend, kind: str, exists: bool, want: dict[str, Any]) -> None:
    """passive declare: 404 for what is missing; existing entities answer whatever the flags."""
    ch = b.channel()
    n = b.name(kind)
    if kind == "queue":
        if exists:
            ch.queue_declare(n, auto_delete=False)
        got = b.error(ch.queue_declare, n, passive=True, durable=True, exclusive=True)
    else:
        if exists:
            xdeclare(ch, n, "direct")
        got = b.error(xdeclare, ch, n, "fanout", passive=True, _conn=ch.connection)
    want = {k: (v.format(n=n) if isinstance(v, str) else v) for k, v in want.items()}
    if want.get("ok"):
        want["ok"] = [n, 0, 0]
    b.expect("reply", got, want)


def _amq(b: Backend, op: str) -> Any:
    ch = b.channel()
    if op == "exchange_declare":
        return b.error(xdeclare, ch, "amq.cf-foo", "direct", _conn=ch.connection)
    if op == "exchange_declare_passive":
        return b.error(xdeclare, ch, "amq.cf-foo", "direct", passive=True, _conn=ch.connection)
    if op == "queue_declare":
        return b.error(ch.queue_declare, "amq.cf-foo")
    if op == "queue_declare_passive":
        return b.error(ch.queue_declare, "amq.cf-foo", passive=True)
    if op == "exchange_delete_missing_amq":
        return b.error(ch.exchange_delete, "amq.cf-foo")
    if op == "exchange_delete_amq.direct":
        return b.error(ch.exchange_delete, "amq.direct")
    if op == "queue_delete_missing_amq":
        return b.error(ch.queue_delete, "amq.cf-foo")
    if op == "amq.direct_same":
        return b.error(xdeclare, ch, "amq.direct", "direct", durable=True, _conn=ch.connection)
    if op == "amq.direct_nondurable":
        return b.error(xdeclare, ch, "amq.direct", "direct", _conn=ch.connection)
    if op == "amq.direct_fanout":
        return b.error(xdeclare, ch, "amq.direct", "fanout", durable=True, _conn=ch.connection)
    if op == "default_declare":
        return b.error(xdeclare, ch, "", "direct", durable=True, _conn=ch.connection)
    if op == "default_delete":
        return b.error(ch.exchange_delete, "")
    if op == "default_bind":
        q = b.name("q")
        ch.queue_declare(q)
        return b.error(ch.queue_bind, q, "", q)
    if op == "default_unbind":
        q = b.name("q")
        ch.queue_declare(q)
        return b.error(ch.queue_unbind, q, "", q)
    if op == "default_exchange_bind_dest":
        return b.error(ch.exchange_bind, "", "amq.direct", "k")
    if op == "default_exchange_bind_source":
        x = b.name("x")
        xdeclare(ch, x)
        return b.error(ch.exchange_bind, x, "", "k")
    raise AssertionError(op)


DENIED = "ACCESS_REFUSED - operation not permitted on the default exchange"
AMQ = {
    "exchange_declare": E(
        403,
        "ACCESS_REFUSED - exchange name 'amq.cf-foo' contains reserved prefix 'amq.*'",
        (40, 10),
    ),
    "exchange_declare_passive": E(
        404, "NOT_FOUND - no exchange 'amq.cf-foo' in vhost '/'", (40, 10)
    ),
    "queue_declare": E(
        403, "ACCESS_REFUSED - queue name 'amq.cf-foo' contains reserved prefix 'amq.*'", (50, 10)
    ),
    "queue_declare_passive": E(404, "NOT_FOUND - no queue 'amq.cf-foo' in vhost '/'", (50, 10)),
    "exchange_delete_missing_amq": E(
        403,
        "ACCESS_REFUSED - deletion of system exchange 'amq.cf-foo' in vhost '/' not allowed",
        (40, 20),
    ),
    "exchange_delete_amq.direct": E(
        403,
        "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed",
        (40, 20),
    ),
    "queue_delete_missing_amq": {"ok": 0},
    "amq.direct_same": {"ok": None},
    "amq.direct_nondurable": E(
        406,
        PF + "inequivalent arg 'durable' for exchange 'amq.direct' in vhost '/': "
        "received 'false' but current is 'true'",
        (40, 10),
    ),
    "amq.direct_fanout": E(
        406,
        PF + "inequivalent arg 'type' for exchange 'amq.direct' in vhost '/': "
        "received 'fanout' but current is 'direct'",
        (40, 10),
    ),
    "default_declare": E(403, DENIED, (40, 10)),
    "default_delete": E(403, DENIED, (40, 20)),
    "default_bind": E(403, DENIED, (50, 20)),
    "default_unbind": E(403, DENIED, (50, 50)),
    "default_exchange_bind_dest": E(403, DENIED, (40, 30)),
    "default_exchange_bind_source": E(403, DENIED, (40, 30)),
}


@pytest.mark.parametrize("op", list(AMQ))
def test_reserved_names(b: Backend, op: str) -> None:
    """amq.* names and the default exchange: what is refused, with which code and text."""
    b.expect("reply", _amq(b, op), AMQ[op])


def test_uppercase_amq_prefix_allowed(b: Backend) -> None:
    """the reserved prefix is case-sensitive: AMQ.x is an ordinary name."""
    ch = b.channel()
    q = "AMQ." + b.name("q")
    b._names.append(q)
    b.expect("reply", b.error(ch.queue_declare, q), {"ok": [q, 0, 0]})


def _missing(b: Backend, op: str) -> Any:
    ch = b.channel()
    nq, nx = b.name("nope-q"), b.name("nope-x")
    q, x = b.name("q"), b.name("x")
    ch.queue_declare(q)
    xdeclare(ch, x, "direct")
    calls: dict[str, Any] = {
        "queue_delete_missing": (ch.queue_delete, nq),
        "queue_purge_missing": (ch.queue_purge, nq),
        "exchange_delete_missing": (ch.exchange_delete, nx),
        "queue_unbind_no_such_binding": (ch.queue_unbind, q, x, "zz"),
        "queue_unbind_missing_queue": (ch.queue_unbind, nq, x, "k"),
        "queue_unbind_missing_exchange": (ch.queue_unbind, q, nx, "k"),
        "queue_bind_missing_queue": (ch.queue_bind, nq, x, "k"),
        "queue_bind_missing_exchange": (ch.queue_bind, q, nx, "k"),
        "queue_bind_both_missing": (ch.queue_bind, nq, nx, "k"),
        "exchange_bind_missing_source": (ch.exchange_bind, x, nx, "k"),
        "exchange_bind_missing_destination": (ch.exchange_bind, nx, x, "k"),
        "exchange_unbind_missing_source": (ch.exchange_unbind, x, nx, "k"),
        "exchange_unbind_no_such_binding": (ch.exchange_unbind, x, "amq.direct", "k"),
        "basic_get_missing_queue": (ch.basic_get, nq),
        "exchange_bind_both_missing": (ch.exchange_bind, nx, b.name("nope-x2"), "k"),
        "queue_bind_default_missing_queue": (ch.queue_bind, nq, "", "k"),
        "basic_consume_missing_queue": (ch.basic_consume, nq),
    }
    fn, *args = calls[op]
    return b.error(fn, *args)


NQ, NX = (
    "NOT_FOUND - no queue 'cf-T-nope-q' in vhost '/'",
    "NOT_FOUND - no exchange 'cf-T-nope-x' in vhost '/'",
)
MISSING = {
    "queue_delete_missing": {"ok": 0},
    "queue_purge_missing": E(404, NQ, (50, 30)),
    "exchange_delete_missing": {"ok": []},
    "queue_unbind_no_such_binding": {"ok": []},
    "queue_unbind_missing_queue": {"ok": []},
    "queue_unbind_missing_exchange": {"ok": []},
    "queue_bind_missing_queue": E(404, NQ, (50, 20)),
    "queue_bind_missing_exchange": E(404, NX, (50, 20)),
    "queue_bind_both_missing": E(404, NX, (50, 20)),
    "exchange_bind_missing_source": E(404, NX, (40, 30)),
    "exchange_bind_missing_destination": E(404, NX, (40, 30)),
    "exchange_unbind_missing_source": {"ok": []},
    "exchange_unbind_no_such_binding": {"ok": []},
    "exchange_bind_both_missing": E(
        404, "NOT_FOUND - no exchange 'cf-T-nope-x2' in vhost '/'", (40, 30)
    ),
    "queue_bind_default_missing_queue": E(403, DENIED, (50, 20)),
    "basic_get_missing_queue": E(404, NQ, (60, 70)),
    "basic_consume_missing_queue": E(404, NQ, (60, 20)),
}


@pytest.mark.parametrize("op", list(MISSING))
def test_missing_entities(b: Backend, op: str) -> None:
    """operations on queues, exchanges and bindings that do not exist."""
    b.expect("reply", _missing(b, op), MISSING[op])


DELETE = {
    "queue_if_unused_with_consumer": E(406, PF + "queue 'cf-T-q' in vhost '/' in use", (50, 40)),
    "queue_if_empty_with_messages": E(406, PF + "queue 'cf-T-q' in vhost '/' not empty", (50, 40)),
    "queue_if_empty_only_unacked": {"ok": 0},
    "queue_with_2_ready_1_unacked": {"ok": 2},
    "exchange_if_unused_with_binding": E(
        406, PF + "exchange 'cf-T-x' in vhost '/' in use", (40, 20)
    ),
    "exchange_if_unused_only_destination": {"ok": []},
}


@pytest.mark.parametrize("case", list(DELETE))
def test_delete_conditions(b: Backend, case: str) -> None:
    """queue.delete if-unused / if-empty and exchange.delete if-unused, and delete counts."""
    ch = b.channel()
    q, x = b.name("q"), b.name("x")
    ch.queue_declare(q)
    xdeclare(ch, x, "direct")
    if case == "queue_if_unused_with_consumer":
        ch.basic_consume(q, consumer_tag="c")
        got = b.error(ch.queue_delete, q, if_unused=True)
    elif case == "queue_if_empty_with_messages":
        publish(ch, "", q, "m")
        b.eventually(lambda: ch.queue_declare(q, passive=True).message_count)
        got = b.error(ch.queue_delete, q, if_empty=True)
    elif case == "queue_if_empty_only_unacked":
        publish(ch, "", q, "m")
        b.eventually(lambda: ch.basic_get(q, no_ack=False))
        got = b.error(ch.queue_delete, q, if_empty=True)
    elif case == "queue_with_2_ready_1_unacked":
        for i in range(3):
            publish(ch, "", q, f"m{i}")
        b.eventually(lambda: ch.queue_declare(q, passive=True).message_count == 3)
        ch.basic_get(q, no_ack=False)
        got = b.error(ch.queue_delete, q)
    elif case == "exchange_if_unused_with_binding":
        ch.queue_bind(q, x, "k")
        got = b.error(ch.exchange_delete, x, if_unused=True)
    else:
        src = b.name("src")
        xdeclare(ch, src, "fanout")
        ch.exchange_bind(x, src)
        got = b.error(ch.exchange_delete, x, if_unused=True)
    b.expect("reply", got, DELETE[case])


INVALID_QARGS: dict[str, tuple[dict[str, Any], str | None]] = {
    "ttl_-1": (
        {"x-message-ttl": -1},
        "invalid arg 'x-message-ttl' for queue '{q}' in vhost '/': {{value_negative,-1}}",
    ),
    "ttl_abc": (
        {"x-message-ttl": "abc"},
        "invalid arg 'x-message-ttl' for queue '{q}' in vhost '/': \"expected integer, got longstr\"",
    ),
    "ttl_float": (
        {"x-message-ttl": 1.5},
        "invalid arg 'x-message-ttl' for queue '{q}' in vhost '/': \"expected integer, got double\"",
    ),
    "ttl_0": ({"x-message-ttl": 0}, None),
    "ttl_huge": (
        {"x-message-ttl": 1099511627776},
        "invalid arg 'x-message-ttl' for queue '{q}' in vhost '/': {{value_too_large,1099511627776}}",
    ),
    "max_length_-1": (
        {"x-max-length": -1},
        "invalid arg 'x-max-length' for queue '{q}' in vhost '/': {{value_negative,-1}}",
    ),
    "max_length_0": ({"x-max-length": 0}, None),
    "max_length_bytes_-1": (
        {"x-max-length-bytes": -1},
        "invalid arg 'x-max-length-bytes' for queue '{q}' in vhost '/': {{value_negative,-1}}",
    ),
    "overflow_foo": (
        {"x-overflow": "foo"},
        "invalid arg 'x-overflow' for queue '{q}' in vhost '/': invalid_overflow",
    ),
    "overflow_int": (
        {"x-overflow": 1},
        "invalid arg 'x-overflow' for queue '{q}' in vhost '/': {{unacceptable_type,signedint}}",
    ),
    "max_priority_256": (
        {"x-max-priority": 256},
        "invalid arg 'x-max-priority' for queue '{q}' in vhost '/': {{max_value_exceeded,256}}",
    ),
    "max_priority_255": ({"x-max-priority": 255}, None),
    "max_priority_-1": (
        {"x-max-priority": -1},
        "invalid arg 'x-max-priority' for queue '{q}' in vhost '/': {{value_negative,-1}}",
    ),
    "expires_0": (
        {"x-expires": 0},
        "invalid arg 'x-expires' for queue '{q}' in vhost '/': {{value_zero,0}}",
    ),
    "expires_abc": (
        {"x-expires": "abc"},
        "invalid arg 'x-expires' for queue '{q}' in vhost '/': \"expected integer, got longstr\"",
    ),
    "dlrk_without_dlx": (
        {"x-dead-letter-routing-key": "rk"},
        "invalid arg 'x-dead-letter-routing-key' for queue '{q}' in vhost '/': routing_key_but_no_dlx_defined",
    ),
    "dlx_int": (
        {"x-dead-letter-exchange": 5},
        "invalid type 'signedint' for arg 'x-dead-letter-exchange' in queue '{q}' in vhost '/'",
    ),
    "sac_yes": (
        {"x-single-active-consumer": "yes"},
        "invalid arg 'x-single-active-consumer' for queue '{q}' in vhost '/': {{unacceptable_type,longstr}}",
    ),
    "queue_mode_foo": (
        {"x-queue-mode": "foo"},
        "invalid arg 'x-queue-mode' for queue '{q}' in vhost '/': \"unsupported queue mode 'foo'\"",
    ),
    "queue_type_foo": (
        {"x-queue-type": "foo"},
        "invalid arg 'x-queue-type' for queue '{q}' in vhost '/': \"unsupported queue type 'foo'\"",
    ),
    "delivery_limit_classic": (
        {"x-delivery-limit": 3},
        "invalid arg 'x-delivery-limit' for queue '{q}' in vhost '/' of queue type rabbit_classic_queue",
    ),
    "two_errors_maxlen_then_ttl": (
        {"x-max-length": -1, "x-message-ttl": -1},
        "invalid arg 'x-message-ttl' for queue '{q}' in vhost '/': {{value_negative,-1}}",
    ),
}


@pytest.mark.parametrize("case", list(INVALID_QARGS))
def test_queue_argument_validation(b: Backend, case: str) -> None:
    """queue.declare arguments: accepted values, and 406 texts for invalid ones."""
    args, text = INVALID_QARGS[case]
    ch = b.channel()
    q = b.name("ia")
    got = b.error(ch.queue_declare, q, arguments=args)
    b.expect(
        "reply", got, {"ok": [q, 0, 0]} if text is None else E(406, PF + text.format(q=q), (50, 10))
    )


@pytest.mark.parametrize("type_", ["qwzxv", "topic2", "x-consistent-hash"])
def test_exchange_unknown_type(b: Backend, type_: str) -> None:
    """an unknown exchange type is a connection error 503."""
    ch = b.channel()
    x = b.name("x")
    got = b.error(xdeclare, ch, x, type_, _conn=ch.connection)
    b.expect(
        "reply",
        got,
        E(503, f"COMMAND_INVALID - unknown exchange type '{type_}'", (40, 10), "connection"),
    )


@pytest.mark.divergence(
    "RabbitMQ says 'invalid exchange type' when the name happens to be an existing Erlang atom "
    "in the node (foo, bar, ...) and 'unknown exchange type' otherwise; fakebroker cannot know "
    "the node's atom table and always says 'unknown'"
)
def test_exchange_type_that_is_an_erlang_atom(b: Backend) -> None:
    """an exchange type that is an Erlang atom ('foo'): 503 'invalid exchange type'."""
    ch = b.channel()
    got = b.error(xdeclare, ch, b.name("x"), "foo", _conn=ch.connection)
    b.expect(
        "reply",
        got,
        E(503, "COMMAND_INVALID - invalid exchange type 'foo'", (40, 10), "connection"),
    )


def test_exchange_ae_wrong_type(b: Backend) -> None:
    """alternate-exchange must be a string."""
    ch = b.channel()
    x = b.name("x")
    got = b.error(
        xdeclare, ch, x, "direct", arguments={"alternate-exchange": 5}, _conn=ch.connection
    )
    b.expect(
        "reply",
        got,
        E(
            406,
            PF
            + f"invalid type 'signedint' for arg 'alternate-exchange' in exchange '{x}' in vhost '/'",
            (40, 10),
        ),
    )


QUORUM = {
    "nondurable": ({}, False, "invalid property 'non-durable' for queue '{q}' in vhost '/'"),
    "durable": ({}, True, None),
    "exclusive": (
        {"exclusive": True},
        True,
        "invalid property 'exclusive-owner' for queue '{q}' in vhost '/'",
    ),
    "auto_delete": (
        {"auto_delete": True},
        True,
        "invalid property 'auto-delete' for queue '{q}' in vhost '/'",
    ),
    "max_priority": (
        {"arguments": {"x-max-priority": 3}},
        True,
        "invalid arg 'x-max-priority' for queue '{q}' in vhost '/' of queue type rabbit_quorum_queue",
    ),
}


@pytest.mark.parametrize("case", list(QUORUM))
def test_quorum_declare(b: Backend, case: str) -> None:
    """x-queue-type quorum: the properties it refuses."""
    extra, durable, text = QUORUM[case]
    ch = b.channel()
    q = b.name("qq")
    flags = dict(extra)
    args = {"x-queue-type": "quorum", **flags.pop("arguments", {})}
    flags.setdefault("auto_delete", False)
    got = b.error(ch.queue_declare, q, durable=durable, arguments=args, **flags)
    b.expect(
        "reply", got, {"ok": [q, 0, 0]} if text is None else E(406, PF + text.format(q=q), (50, 10))
    )


@pytest.mark.divergence(
    "stream queues (x-queue-type stream) are not modelled: fakebroker refuses them with "
    "406 unsupported queue type"
)
def test_stream_queue_declare(b: Backend) -> None:
    """x-queue-type stream, durable: declared."""
    ch = b.channel()
    q = b.name("stream")
    got = b.error(
        ch.queue_declare, q, durable=True, auto_delete=False, arguments={"x-queue-type": "stream"}
    )
    b.expect("reply", got, {"ok": [q, 0, 0]})
