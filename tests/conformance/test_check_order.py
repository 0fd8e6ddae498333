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


@pytest.mark.divergence(
    "fakebroker does not check basic.publish's user_id property against the connection's "
    "user; RabbitMQ 3.10.8 refuses a user_id that is not the authenticated user's (406, "
    "before the expiration is looked at) unless the user has the impersonator tag"
)
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
