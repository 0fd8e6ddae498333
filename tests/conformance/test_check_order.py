"""Check order: which refusal a method gets when two of its checks would fail at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import amqp
import pytest

from ._harness import LOCKED, Backend, E, fill, publish, sync, xdeclare

PF = "PRECONDITION_FAILED - "

# --- queue.delete if-unused / if-empty ----------------------------------------------------

#: What the queue holds when it is deleted: nothing, a ready message (with the consumer, a
#: prefetch-1 consumer holds a first one unacked and a second waits ready), or only a
#: message fetched unacked by basic.get on another channel.
HOLDS = ("empty", "ready", "unacked")


FLAGS = {
    "plain": (False, False),
    "if_unused": (True, False),
    "if_empty": (False, True),
    "both": (True, True),
}


@pytest.mark.parametrize("flags", list(FLAGS))
@pytest.mark.parametrize("holds", HOLDS)
@pytest.mark.parametrize("consumer", [False, True], ids=["idle", "consumed"])
def test_queue_delete_flags(b: Backend, consumer: bool, holds: str, flags: str) -> None:
    """queue.delete with if-unused, if-empty, both or neither: 'not empty' is checked first."""
    if_unused, if_empty = FLAGS[flags]
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    if consumer:
        cch = b.channel(ch.connection)
        cch.basic_qos(0, 1, False)
        b.consume(cch, q, "c")
    if holds == "ready":
        fill(b, ch, q, ["m1", "m2"] if consumer else ["m1"])
        if consumer:
            assert b.wait(lambda: len(b.deliveries("c")) == 1)
    elif holds == "unacked":
        fill(b, ch, q, ["m1"])
        if consumer:
            assert b.wait(lambda: len(b.deliveries("c")) == 1)
        else:
            assert b.channel(ch.connection).basic_get(q, no_ack=False) is not None
    ready = 1 if holds == "ready" else 0
    got = b.error(ch.queue_delete, q, if_unused=if_unused, if_empty=if_empty)
    if if_empty and ready:
        want = E(406, PF + f"queue '{q}' in vhost '/' not empty", (50, 40))
    elif if_unused and consumer:
        want = E(406, PF + f"queue '{q}' in vhost '/' in use", (50, 40))
    else:
        want = {"ok": ready}
    b.expect("reply", got, want)
    other = b.channel()
    left = b.error(other.queue_declare, q, passive=True)
    b.expect(
        "left",
        left,
        {"ok": [q, ready, int(consumer)]}
        if "code" in want
        else E(404, f"NOT_FOUND - no queue '{q}' in vhost '/'", (50, 10)),
    )


# --- two failures at once, method by method ---------------------------------------------

Case = Callable[[Backend], tuple[Any, Any]]
TWO: dict[str, Case] = {}


def two(fn: Case) -> Case:
    """Register a case: it returns (what the broker answered, what RabbitMQ answers)."""
    TWO[fn.__name__] = fn
    return fn


def _declared(b: Backend, **flags: Any) -> tuple[Any, str]:
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False, **flags)
    return ch, q


def _exclusive_elsewhere(b: Backend) -> tuple[Any, str]:
    """A queue exclusive to one connection, and a channel on another."""
    _, q = _declared(b, exclusive=True)
    return b.channel(), q


def _inequivalent(what: str, kind: str, name: str, received: str, current: str) -> str:
    return (
        f"{PF}inequivalent arg '{what}' for {kind} '{name}' in vhost '/': "
        f"received {received} but current is {current}"
    )


QD, XD, XDEL, QB, QU, XB, BC, QDEL, BP = (
    (50, 10),
    (40, 10),
    (40, 20),
    (50, 20),
    (50, 50),
    (40, 30),
    (60, 20),
    (50, 40),
    (60, 40),
)
DENIED = "ACCESS_REFUSED - operation not permitted on the default exchange"


# queue.declare: exclusive, then durable, then auto_delete, then the arguments


@two
def redeclare_exclusive_and_durable(b: Backend) -> tuple[Any, Any]:
    ch, q = _declared(b)
    got = b.error(ch.queue_declare, q, exclusive=True, durable=True, auto_delete=False)
    return got, E(405, LOCKED.format(q=q), QD)


@two
def redeclare_durable_and_auto_delete(b: Backend) -> tuple[Any, Any]:
    ch, q = _declared(b)
    got = b.error(ch.queue_declare, q, durable=True, auto_delete=True)
    return got, E(406, _inequivalent("durable", "queue", q, "'true'", "'false'"), QD)


@two
def redeclare_auto_delete_and_args(b: Backend) -> tuple[Any, Any]:
    ch, q = _declared(b)
    got = b.error(ch.queue_declare, q, auto_delete=True, arguments={"x-message-ttl": 5})
    return got, E(406, _inequivalent("auto_delete", "queue", q, "'true'", "'false'"), QD)


@two
def redeclare_expires_and_ttl(b: Backend) -> tuple[Any, Any]:
    ch, q = _declared(b, arguments={"x-expires": 100000, "x-message-ttl": 5})
    args = {"x-message-ttl": 6, "x-expires": 200000}
    got = b.error(ch.queue_declare, q, auto_delete=False, arguments=args)
    return got, E(406, _inequivalent("x-expires", "queue", q, "'200000'", "'100000'"), QD)


@two
def redeclare_with_an_invalid_arg(b: Backend) -> tuple[Any, Any]:
    """an existing queue's arguments are compared, not validated"""
    ch, q = _declared(b)
    got = b.error(ch.queue_declare, q, auto_delete=False, arguments={"x-message-ttl": -1})
    received = "the value '-1' of type 'signedint'"
    return got, E(406, _inequivalent("x-message-ttl", "queue", q, received, "none"), QD)


def _declare_anothers_exclusive(b: Backend, **flags: Any) -> tuple[Any, Any]:
    other, q = _exclusive_elsewhere(b)
    got = b.error(other.queue_declare, q, arguments={"x-message-ttl": -1}, **flags)
    return got, E(405, LOCKED.format(q=q), QD)


@two
def redeclare_anothers_exclusive_with_other_flags(b: Backend) -> tuple[Any, Any]:
    return _declare_anothers_exclusive(b, durable=True, auto_delete=True)


@two
def passive_declare_of_anothers_exclusive_with_flags(b: Backend) -> tuple[Any, Any]:
    return _declare_anothers_exclusive(b, passive=True, durable=True)


@two
def redeclare_own_exclusive_as_shared_and_durable(b: Backend) -> tuple[Any, Any]:
    ch, q = _declared(b, exclusive=True)
    got = b.error(ch.queue_declare, q, durable=True, auto_delete=True)
    return got, E(405, LOCKED.format(q=q), QD)


@two
def redeclare_server_named_by_its_name(b: Backend) -> tuple[Any, Any]:
    """the amq. prefix is refused before the queue is looked up, even one the server named"""
    ch = b.channel()
    q = ch.queue_declare("", exclusive=True).queue
    got = b.error(ch.queue_declare, q, exclusive=True)
    return got, E(403, f"ACCESS_REFUSED - queue name '{q}' contains reserved prefix 'amq.*'", QD)


@two
def declare_amq_name_with_invalid_args(b: Backend) -> tuple[Any, Any]:
    ch = b.channel()
    got = b.error(ch.queue_declare, "amq.cf-order", arguments={"x-message-ttl": -1})
    text = "ACCESS_REFUSED - queue name 'amq.cf-order' contains reserved prefix 'amq.*'"
    return got, E(403, text, QD)


@two
def declare_server_named_exclusive_quorum(b: Backend) -> tuple[Any, Any]:
    ch = b.channel()
    args = {"x-queue-type": "quorum", "x-message-ttl": -1}
    got = b.error(ch.queue_declare, "", exclusive=True, arguments=args)
    text = PF + "Cannot declare a server-named queue for type rabbit_quorum_queue"
    return got, E(406, text, QD)


# exchange.declare: the type first (503, even for ""), then "", then the flags in order

UNKNOWN_TYPE = E(503, "COMMAND_INVALID - unknown exchange type 'x-nope'", XD, "connection")


def _xdeclared(b: Backend, name: str, type_: str, **flags: Any) -> Any:
    ch = b.channel()
    return b.error(xdeclare, ch, name, type_, **flags, _conn=ch.connection)


def _redeclare_exchange(b: Backend, type_: str, **flags: Any) -> tuple[Any, str]:
    """A direct exchange declared again as ``type_`` with ``flags``: (answer, its name)."""
    ch = b.channel()
    x = b.name("x")
    xdeclare(ch, x, "direct")
    return b.error(xdeclare, ch, x, type_, **flags, _conn=ch.connection), x


@two
def declare_default_exchange_of_unknown_type(b: Backend) -> tuple[Any, Any]:
    return _xdeclared(b, "", "x-nope"), UNKNOWN_TYPE


@two
def redeclare_exchange_of_unknown_type(b: Backend) -> tuple[Any, Any]:
    return _redeclare_exchange(b, "x-nope", durable=True)[0], UNKNOWN_TYPE


@two
def declare_amq_exchange_of_unknown_type(b: Backend) -> tuple[Any, Any]:
    return _xdeclared(b, "amq.cf-x", "x-nope"), UNKNOWN_TYPE


@two
def declare_amq_exchange_with_a_bad_alternate(b: Backend) -> tuple[Any, Any]:
    got = _xdeclared(b, "amq.cf-x", "direct", arguments={"alternate-exchange": 5})
    text = "ACCESS_REFUSED - exchange name 'amq.cf-x' contains reserved prefix 'amq.*'"
    return got, E(403, text, XD)


@two
def passive_declare_of_missing_exchange_of_unknown_type(b: Backend) -> tuple[Any, Any]:
    x = b.name("x")
    got = _xdeclared(b, x, "x-nope", passive=True)
    return got, E(404, f"NOT_FOUND - no exchange '{x}' in vhost '/'", XD)


@two
def passive_declare_of_default_exchange_of_unknown_type(b: Backend) -> tuple[Any, Any]:
    return _xdeclared(b, "", "x-nope", passive=True), E(403, DENIED, XD)


@two
def redeclare_exchange_type_and_durable(b: Backend) -> tuple[Any, Any]:
    got, x = _redeclare_exchange(b, "fanout", durable=True)
    return got, E(406, _inequivalent("type", "exchange", x, "'fanout'", "'direct'"), XD)


@two
def redeclare_exchange_durable_auto_delete_internal(b: Backend) -> tuple[Any, Any]:
    got, x = _redeclare_exchange(b, "direct", durable=True, auto_delete=True, internal=True)
    return got, E(406, _inequivalent("durable", "exchange", x, "'true'", "'false'"), XD)


@two
def redeclare_exchange_auto_delete_and_internal(b: Backend) -> tuple[Any, Any]:
    got, x = _redeclare_exchange(b, "direct", auto_delete=True, internal=True)
    return got, E(406, _inequivalent("auto_delete", "exchange", x, "'true'", "'false'"), XD)


@two
def redeclare_exchange_internal_and_alternate(b: Backend) -> tuple[Any, Any]:
    args = {"alternate-exchange": "a"}
    got, x = _redeclare_exchange(b, "direct", internal=True, arguments=args)
    return got, E(406, _inequivalent("internal", "exchange", x, "'true'", "'false'"), XD)


@two
def redeclare_amq_direct_with_a_bad_alternate(b: Backend) -> tuple[Any, Any]:
    """an existing exchange's alternate-exchange is compared, not type-checked"""
    ch = b.channel()
    args = {"alternate-exchange": 5}
    got = b.error(
        xdeclare, ch, "amq.direct", "direct", durable=True, arguments=args, _conn=ch.connection
    )
    received = "the value '5' of type 'signedint'"
    text = _inequivalent("alternate-exchange", "exchange", "amq.direct", received, "none")
    return got, E(406, text, XD)


# exchange.delete if-unused


@two
def delete_bound_amq_direct_if_unused(b: Backend) -> tuple[Any, Any]:
    ch, q = _declared(b)
    ch.queue_bind(q, "amq.direct", q)
    got = b.error(ch.exchange_delete, "amq.direct", if_unused=True)
    text = "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed"
    return got, E(403, text, XDEL)


@two
def delete_default_exchange_if_unused(b: Backend) -> tuple[Any, Any]:
    ch = b.channel()
    return b.error(ch.exchange_delete, "", if_unused=True), E(403, DENIED, XDEL)


@two
def delete_missing_exchange_if_unused(b: Backend) -> tuple[Any, Any]:
    ch = b.channel()
    return b.error(ch.exchange_delete, b.name("x"), if_unused=True), {"ok": []}


@two
def delete_if_unused_the_source_of_an_exchange_binding(b: Backend) -> tuple[Any, Any]:
    ch = b.channel()
    x, d = b.name("x"), b.name("d")
    xdeclare(ch, x, "fanout")
    xdeclare(ch, d, "fanout")
    ch.exchange_bind(d, x)
    got = b.error(ch.exchange_delete, x, if_unused=True)
    return got, E(406, PF + f"exchange '{x}' in vhost '/' in use", XDEL)


@two
def delete_if_unused_an_alternate_exchange(b: Backend) -> tuple[Any, Any]:
    """being another exchange's alternate is no use"""
    ch = b.channel()
    x, y = b.name("x"), b.name("y")
    xdeclare(ch, x, "fanout")
    xdeclare(ch, y, "fanout", arguments={"alternate-exchange": x})
    return b.error(ch.exchange_delete, x, if_unused=True), {"ok": []}


# queue.bind / queue.unbind / exchange.bind: both ends looked up, then the arguments,
# then the queue's exclusivity


@two
def bind_anothers_exclusive_to_a_missing_exchange(b: Backend) -> tuple[Any, Any]:
    other, q = _exclusive_elsewhere(b)
    nx = b.name("nx")
    got = b.error(other.queue_bind, q, nx, "k")
    return got, E(404, f"NOT_FOUND - no exchange '{nx}' in vhost '/'", QB)


@two
def bind_anothers_exclusive_with_a_bad_x_match(b: Backend) -> tuple[Any, Any]:
    other, q = _exclusive_elsewhere(b)
    got = b.error(other.queue_bind, q, "amq.headers", "", arguments={"x-match": "foo"})
    text = (
        PF + 'Invalid x-match field value <<"foo">>; expected all, any, all-with-x, or any-with-x'
    )
    return got, E(406, text, QB)


def _missing_with_a_bad_x_match(
    b: Backend, kind: str, sig: tuple[int, int], bind: Callable[[Any, str], tuple[Any, ...]]
) -> tuple[Any, Any]:
    """``bind(channel, missing)``'s call, sent with a bad x-match: the missing end is named."""
    missing = b.name("missing")
    got = b.error(*bind(b.channel(), missing), arguments={"x-match": "foo"})
    return got, E(404, f"NOT_FOUND - no {kind} '{missing}' in vhost '/'", sig)


@two
def bind_missing_queue_with_a_bad_x_match(b: Backend) -> tuple[Any, Any]:
    return _missing_with_a_bad_x_match(
        b, "queue", QB, lambda ch, n: (ch.queue_bind, n, "amq.headers", "")
    )


@two
def unbind_a_binding_of_anothers_exclusive(b: Backend) -> tuple[Any, Any]:
    owner, q = _declared(b, exclusive=True)
    owner.queue_bind(q, "amq.direct", "k")
    got = b.error(b.channel().queue_unbind, q, "amq.direct", "k")
    return got, E(405, LOCKED.format(q=q), QU)


@two
def unbind_no_binding_of_anothers_exclusive(b: Backend) -> tuple[Any, Any]:
    other, q = _exclusive_elsewhere(b)
    return b.error(other.queue_unbind, q, "amq.direct", "k"), {"ok": []}


@two
def unbind_anothers_exclusive_from_a_missing_exchange(b: Backend) -> tuple[Any, Any]:
    other, q = _exclusive_elsewhere(b)
    return b.error(other.queue_unbind, q, b.name("nx"), "k"), {"ok": []}


@two
def exchange_bind_missing_destination_with_a_bad_x_match(b: Backend) -> tuple[Any, Any]:
    return _missing_with_a_bad_x_match(
        b, "exchange", XB, lambda ch, n: (ch.exchange_bind, n, "amq.headers", "k")
    )


@two
def exchange_bind_missing_source_with_a_bad_x_match(b: Backend) -> tuple[Any, Any]:
    return _missing_with_a_bad_x_match(
        b, "exchange", XB, lambda ch, n: (ch.exchange_bind, "amq.direct", n, "k")
    )


@two
def exchange_bind_default_to_a_missing_destination(b: Backend) -> tuple[Any, Any]:
    ch = b.channel()
    return b.error(ch.exchange_bind, b.name("nx"), "", "k"), E(403, DENIED, XB)


# basic.consume: the tag, then the queue (404 / 405), then the arguments, then exclusivity


@two
def consume_anothers_exclusive_with_bad_args(b: Backend) -> tuple[Any, Any]:
    other, q = _exclusive_elsewhere(b)
    got = b.error(other.basic_consume, q, arguments={"x-priority": "high"})
    return got, E(405, LOCKED.format(q=q), BC)


@two
def consume_anothers_exclusive_with_a_used_tag(b: Backend) -> tuple[Any, Any]:
    other, q = _exclusive_elsewhere(b)
    q2 = b.name("q2")
    other.queue_declare(q2, auto_delete=False)
    other.basic_consume(q2, consumer_tag="t")
    got = b.error(other.basic_consume, q, consumer_tag="t")
    return got, E(530, "NOT_ALLOWED - attempt to reuse consumer tag 't'", BC, "connection")


@two
def consume_exclusively_held_with_bad_args(b: Backend) -> tuple[Any, Any]:
    ch, q = _declared(b)
    ch.basic_consume(q, exclusive=True)
    got = b.error(ch.basic_consume, q, arguments={"x-priority": "high"})
    text = (
        PF
        + f"invalid arg 'x-priority' for queue '{q}' in vhost '/': "
        + ('"expected integer, got longstr"')
    )
    return got, E(406, text, BC)


@two
def consume_missing_queue_with_bad_args(b: Backend) -> tuple[Any, Any]:
    ch = b.channel()
    nq = b.name("nq")
    got = b.error(ch.basic_consume, nq, arguments={"x-priority": "high"})
    return got, E(404, f"NOT_FOUND - no queue '{nq}' in vhost '/'", BC)


@two
def delete_anothers_exclusive_in_use_and_not_empty(b: Backend) -> tuple[Any, Any]:
    owner, q = _declared(b, exclusive=True)
    fill(b, owner, q, ["m1", "m2"])
    owner.basic_qos(0, 1, False)
    b.consume(owner, q, "c")
    got = b.error(b.channel().queue_delete, q, if_unused=True, if_empty=True)
    return got, E(405, LOCKED.format(q=q), QDEL)


# basic.publish: immediate, the exchange, internal, the fast reply-to, the expiration


def _published(b: Backend, ch: Any, *args: Any, **props: Any) -> Any:
    publish(ch, *args, **props)
    return b.error(sync, ch, _conn=ch.connection)


@two
def publish_mandatory_to_a_missing_exchange_in_confirm_mode(b: Backend) -> tuple[Any, Any]:
    ch = b.channel(confirm=True)
    nx = b.name("nx")
    got = _published(b, ch, nx, "k", "m", mandatory=True)
    b.settle()
    return [got, b.events], [E(404, f"NOT_FOUND - no exchange '{nx}' in vhost '/'", BP), []]


@two
def publish_mandatory_to_a_missing_exchange_in_a_transaction(b: Backend) -> tuple[Any, Any]:
    ch = b.channel()
    ch.tx_select()
    nx = b.name("nx")
    got = _published(b, ch, nx, "k", "m", mandatory=True)
    return got, E(404, f"NOT_FOUND - no exchange '{nx}' in vhost '/'", BP)


@two
def publish_immediate_to_a_missing_exchange(b: Backend) -> tuple[Any, Any]:
    ch = b.channel()
    ch.basic_publish(amqp.Message("m"), b.name("nx"), "k", immediate=True, mandatory=True)
    got = b.error(sync, ch, _conn=ch.connection)
    return got, E(540, "NOT_IMPLEMENTED - immediate=true", BP, "connection")


@two
def publish_bad_expiration_to_a_missing_exchange(b: Backend) -> tuple[Any, Any]:
    ch = b.channel()
    nx = b.name("nx")
    got = _published(b, ch, nx, "k", "m", expiration="abc")
    return got, E(404, f"NOT_FOUND - no exchange '{nx}' in vhost '/'", BP)


@two
def publish_bad_expiration_to_an_internal_exchange(b: Backend) -> tuple[Any, Any]:
    ch = b.channel()
    x = b.name("x")
    xdeclare(ch, x, "fanout", internal=True)
    got = _published(b, ch, x, "k", "m", expiration="abc")
    text = f"ACCESS_REFUSED - cannot publish to internal exchange '{x}' in vhost '/'"
    return got, E(403, text, BP)


@two
def publish_bad_expiration_with_a_missing_fast_reply_consumer(b: Backend) -> tuple[Any, Any]:
    ch = b.channel()
    got = _published(b, ch, "", "k", "m", expiration="abc", reply_to="amq.rabbitmq.reply-to")
    return got, E(406, PF + "fast reply consumer does not exist", BP)


@pytest.mark.parametrize("case", list(TWO))
def test_two_failures(b: Backend, case: str) -> None:
    """a method two of whose checks fail: the one RabbitMQ reports."""
    got, want = TWO[case](b)
    b.expect("reply", got, want)


@pytest.mark.parametrize("expiration", [None, "abc"], ids=["alone", "with_bad_expiration"])
def test_publish_user_id(b: Backend, expiration: str | None) -> None:
    """basic.publish with another user's user_id: 406, named before a bad expiration."""
    ch = b.channel()
    props: dict[str, Any] = {"user_id": "someone"}
    if expiration is not None:
        props["expiration"] = expiration
    got = _published(b, ch, "", b.name("q"), "m", **props)
    text = PF + "user_id property set to 'someone' but authenticated user was 'guest'"
    b.expect("reply", got, E(406, text, BP))


# --- a new queue's arguments: which bad one is named ------------------------------------

IA = "invalid arg '{key}' for queue '{q}' in vhost '/'"
CLASSIC_ONLY = IA + " of queue type rabbit_classic_queue"
QUORUM_ONLY = IA + " of queue type rabbit_quorum_queue"
DLX_TYPE = "invalid type 'signedint' for arg 'x-dead-letter-exchange' in queue '{q}' in vhost '/'"
QQ = {"x-queue-type": "quorum"}
DURABLE = {"durable": True}

#: case: (declare flags, the arguments in table order, (the argument named, the text) or None)
NEW_QUEUE: dict[str, tuple[dict[str, Any], dict[str, Any], tuple[str, str] | None]] = {
    # x-dead-letter-exchange's type (the channel's check), then x-queue-type, then the rest
    "dlx_type_before_ttl": (
        {},
        {"x-message-ttl": -1, "x-dead-letter-exchange": 5},
        ("", DLX_TYPE),
    ),
    "dlx_type_before_queue_type": (
        {},
        {"x-queue-type": "foo", "x-dead-letter-exchange": 5},
        ("", DLX_TYPE),
    ),
    "queue_type_before_ttl": (
        {},
        {"x-message-ttl": -1, "x-queue-type": "foo"},
        ("x-queue-type", IA + ": \"unsupported queue type 'foo'\""),
    ),
    "queue_type_not_a_string_before_ttl": (
        {},
        {"x-message-ttl": -1, "x-queue-type": 5},
        ("x-queue-type", IA + ": {{unacceptable_type,signedint}}"),
    ),
    # the values, in RabbitMQ's order whatever the table's
    "expires_before_ttl": (
        {},
        {"x-message-ttl": -1, "x-expires": 0},
        ("x-expires", IA + ": {{value_zero,0}}"),
    ),
    "dlrk_before_max_length": (
        {},
        {"x-max-length": -1, "x-dead-letter-routing-key": "rk"},
        ("x-dead-letter-routing-key", IA + ": routing_key_but_no_dlx_defined"),
    ),
    "dlrk_not_a_string": (
        {},
        {"x-dead-letter-exchange": "d", "x-dead-letter-routing-key": 5},
        ("x-dead-letter-routing-key", IA + ": {{unacceptable_type,signedint}}"),
    ),
    "max_priority_before_overflow": (
        {},
        {"x-overflow": "foo", "x-max-priority": 256},
        ("x-max-priority", IA + ": {{max_value_exceeded,256}}"),
    ),
    "overflow_before_queue_mode": (
        {},
        {"x-queue-mode": "foo", "x-overflow": "foo"},
        ("x-overflow", IA + ": invalid_overflow"),
    ),
    "queue_mode_before_single_active_consumer": (
        {},
        {"x-single-active-consumer": "yes", "x-queue-mode": "foo"},
        ("x-queue-mode", IA + ": \"unsupported queue mode 'foo'\""),
    ),
    # then what the type does not take, in the table's order
    "classic_values_before_what_it_does_not_take": (
        {},
        {"x-delivery-limit": 3, "x-message-ttl": -1},
        ("x-message-ttl", IA + ": {{value_negative,-1}}"),
    ),
    "classic_does_not_take_delivery_limit_then_max_age": (
        {},
        {"x-delivery-limit": 3, "x-max-age": "1D"},
        ("x-delivery-limit", CLASSIC_ONLY),
    ),
    "classic_does_not_take_max_age_then_delivery_limit": (
        {},
        {"x-max-age": "1D", "x-delivery-limit": 3},
        ("x-max-age", CLASSIC_ONLY),
    ),
    "classic_does_not_take_max_in_memory_length": (
        {},
        {"x-max-in-memory-length": 5},
        ("x-max-in-memory-length", CLASSIC_ONLY),
    ),
    "classic_does_not_take_dead_letter_strategy": (
        {},
        {"x-dead-letter-strategy": "at-most-once"},
        ("x-dead-letter-strategy", CLASSIC_ONLY),
    ),
    "classic_does_not_take_leader_locator": (
        {},
        {"x-queue-leader-locator": "client-local"},
        ("x-queue-leader-locator", CLASSIC_ONLY),
    ),
    "classic_takes_master_locator": ({}, {"x-queue-master-locator": "client-local"}, None),
    # quorum: the same steps, then its properties (auto-delete, exclusive-owner, non-durable)
    "quorum_dlx_type_first": (
        DURABLE,
        {**QQ, "x-max-priority": 3, "x-dead-letter-exchange": 5},
        ("", DLX_TYPE),
    ),
    "quorum_ttl_before_what_it_does_not_take": (
        DURABLE,
        {**QQ, "x-max-priority": 3, "x-message-ttl": -1},
        ("x-message-ttl", IA + ": {{value_negative,-1}}"),
    ),
    "quorum_does_not_take_max_priority_then_queue_mode": (
        DURABLE,
        {**QQ, "x-max-priority": 3, "x-queue-mode": "lazy"},
        ("x-max-priority", QUORUM_ONLY),
    ),
    "quorum_does_not_take_queue_mode_then_max_priority": (
        DURABLE,
        {**QQ, "x-queue-mode": "lazy", "x-max-priority": 3},
        ("x-queue-mode", QUORUM_ONLY),
    ),
    "quorum_does_not_take_initial_cluster_size": (
        DURABLE,
        {**QQ, "x-initial-cluster-size": 3},
        ("x-initial-cluster-size", QUORUM_ONLY),
    ),
    "quorum_max_priority_before_its_properties": (
        {"exclusive": True, "auto_delete": True},
        {**QQ, "x-max-priority": 3},
        ("x-max-priority", QUORUM_ONLY),
    ),
    "quorum_auto_delete_before_exclusive": (
        {"exclusive": True, "auto_delete": True, "durable": True},
        QQ,
        ("", "invalid property 'auto-delete' for queue '{q}' in vhost '/'"),
    ),
    "quorum_auto_delete_before_non_durable": (
        {"auto_delete": True},
        QQ,
        ("", "invalid property 'auto-delete' for queue '{q}' in vhost '/'"),
    ),
    "quorum_max_in_memory_length_before_overflow": (
        DURABLE,
        {**QQ, "x-overflow": "foo", "x-max-in-memory-length": -1},
        ("x-max-in-memory-length", IA + ": {{value_negative,-1}}"),
    ),
    "quorum_max_length_bytes_before_max_in_memory_length": (
        DURABLE,
        {**QQ, "x-max-in-memory-length": -1, "x-max-length-bytes": -1},
        ("x-max-length-bytes", IA + ": {{value_negative,-1}}"),
    ),
    "quorum_max_in_memory_bytes_an_integer": (
        DURABLE,
        {**QQ, "x-max-in-memory-bytes": "abc"},
        ("x-max-in-memory-bytes", IA + ': "expected integer, got longstr"'),
    ),
    "quorum_dead_letter_strategy_before_max_length": (
        DURABLE,
        {**QQ, "x-max-length": -1, "x-dead-letter-strategy": "foo"},
        ("x-dead-letter-strategy", IA + ": invalid_dlx_strategy"),
    ),
    "quorum_dead_letter_strategy_a_string": (
        DURABLE,
        {**QQ, "x-dead-letter-strategy": 5},
        ("x-dead-letter-strategy", IA + ": {{unacceptable_type,signedint}}"),
    ),
    "quorum_single_active_consumer_before_initial_group_size": (
        DURABLE,
        {**QQ, "x-quorum-initial-group-size": 0, "x-single-active-consumer": "yes"},
        ("x-single-active-consumer", IA + ": {{unacceptable_type,longstr}}"),
    ),
    "quorum_initial_group_size_before_leader_locator": (
        DURABLE,
        {**QQ, "x-queue-leader-locator": "foo", "x-quorum-initial-group-size": 0},
        ("x-quorum-initial-group-size", IA + ": {{value_zero,0}}"),
    ),
    "quorum_initial_group_size_negative": (
        DURABLE,
        {**QQ, "x-quorum-initial-group-size": -1},
        ("x-quorum-initial-group-size", IA + ": {{value_negative,-1}}"),
    ),
    "quorum_leader_locator_unknown": (
        DURABLE,
        {**QQ, "x-queue-leader-locator": "foo"},
        ("x-queue-leader-locator", IA + ": invalid_queue_locator_arg"),
    ),
    "quorum_leader_locator_balanced": (DURABLE, {**QQ, "x-queue-leader-locator": "balanced"}, None),
    "quorum_delivery_limit_negative_not_checked": (DURABLE, {**QQ, "x-delivery-limit": -1}, None),
    "quorum_delivery_limit_text_not_checked": (DURABLE, {**QQ, "x-delivery-limit": "abc"}, None),
}


@pytest.mark.parametrize("case", list(NEW_QUEUE))
def test_new_queue_arguments(b: Backend, case: str) -> None:
    """a new queue's arguments: the dead-letter exchange's type, x-queue-type, the values, the rest."""
    flags, args, refusal = NEW_QUEUE[case]
    ch = b.channel()
    q = b.name("q")
    got = b.error(ch.queue_declare, q, **{"auto_delete": False, **flags, "arguments": args})
    if refusal is None:
        want = {"ok": [q, 0, 0]}
    else:
        key, text = refusal
        want = E(406, PF + text.format(key=key, q=q), QD)
    b.expect("reply", got, want)


#: case: (the queue's arguments, the redeclare's, the argument named or None for declare-ok)
REDECLARE: dict[str, tuple[dict[str, Any], dict[str, Any], str | None]] = {
    "classic_compares_master_locator": (
        {"x-queue-master-locator": "client-local"},
        {"x-queue-master-locator": "min-masters"},
        "x-queue-master-locator",
    ),
    "classic_ignores_delivery_limit": ({}, {"x-delivery-limit": 3}, None),
    "classic_ignores_max_in_memory_length": ({}, {"x-max-in-memory-length": 3}, None),
    "classic_queue_type_before_master_locator": (
        {"x-queue-master-locator": "client-local"},
        {**QQ, "x-queue-master-locator": "min-masters"},
        "x-queue-type",
    ),
    "quorum_ignores_max_priority": (QQ, {**QQ, "x-max-priority": 3}, None),
    "quorum_compares_leader_locator": (
        {**QQ, "x-queue-leader-locator": "client-local"},
        {**QQ, "x-queue-leader-locator": "balanced"},
        "x-queue-leader-locator",
    ),
    "quorum_compares_dead_letter_strategy": (
        {**QQ, "x-dead-letter-strategy": "at-most-once"},
        {**QQ, "x-dead-letter-strategy": "at-least-once"},
        "x-dead-letter-strategy",
    ),
    "quorum_dlx_before_expires": (
        {**QQ, "x-expires": 100000, "x-dead-letter-exchange": "d1"},
        {**QQ, "x-expires": 200000, "x-dead-letter-exchange": "d2"},
        "x-dead-letter-exchange",
    ),
    "quorum_max_length_before_ttl": (
        {**QQ, "x-message-ttl": 1000, "x-max-length": 10},
        {**QQ, "x-message-ttl": 2000, "x-max-length": 11},
        "x-max-length",
    ),
    "quorum_queue_type_before_initial_group_size": (
        {**QQ, "x-quorum-initial-group-size": 1},
        {"x-queue-type": "classic", "x-quorum-initial-group-size": 2},
        "x-queue-type",
    ),
}


@pytest.mark.parametrize("case", list(REDECLARE))
def test_queue_redeclare_compares_by_type(b: Backend, case: str) -> None:
    """a queue declared again: the arguments its own type takes, compared in that type's order."""
    first, second, named = REDECLARE[case]
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, durable=True, auto_delete=False, arguments=first)
    got = b.error(ch.queue_declare, q, durable=True, auto_delete=False, arguments=second)
    got = {"ok": None} if "ok" in got else {"named": got["text"].split("'")[1], "code": got["code"]}
    b.expect("reply", got, {"ok": None} if named is None else {"named": named, "code": 406})


@pytest.mark.divergence(
    "RabbitMQ 3.10.8's channel crashes on these declares (541 INTERNAL_ERROR closes the "
    "connection, method 0,0): a server-named queue whose x-queue-type is unknown (it looks "
    "the type up to ask whether it may be server-named) and a classic queue with an unknown "
    "x-queue-master-locator; fakebroker answers 406 unsupported queue type, and declare-ok"
)
@pytest.mark.parametrize("case", ["server_named_of_unknown_type", "unknown_master_locator"])
def test_declares_that_crash_rabbitmq(b: Backend, case: str) -> None:
    """queue.declare that RabbitMQ's channel crashes on: 541 INTERNAL_ERROR, connection closed."""
    ch = b.channel()
    if case == "server_named_of_unknown_type":
        got = b.error(ch.queue_declare, "", arguments={"x-queue-type": "foo"})
    else:
        args = {"x-queue-master-locator": "foo"}
        got = b.error(ch.queue_declare, b.name("q"), auto_delete=False, arguments=args)
    b.expect("reply", got, E(541, "INTERNAL_ERROR", (0, 0), "connection"))
