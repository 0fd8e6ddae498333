"""Declaration argument checks, with the texts RabbitMQ 3.10.8 sent for each (probed)."""

from __future__ import annotations

from typing import Any

import pytest

from fakebroker.core import AMQPChannelError, Connection

Q = "q"
INVALID = [
    ({"x-message-ttl": -1}, "invalid arg 'x-message-ttl' for queue 'q' in vhost '/': {value_negative,-1}"),
    ({"x-message-ttl": "abc"}, "invalid arg 'x-message-ttl' for queue 'q' in vhost '/': \"expected integer, got longstr\""),
    ({"x-message-ttl": 1.5}, "invalid arg 'x-message-ttl' for queue 'q' in vhost '/': \"expected integer, got double\""),
    ({"x-expires": 0}, "invalid arg 'x-expires' for queue 'q' in vhost '/': {value_zero,0}"),
    ({"x-expires": "abc"}, "invalid arg 'x-expires' for queue 'q' in vhost '/': \"expected integer, got longstr\""),
    ({"x-max-length": -1}, "invalid arg 'x-max-length' for queue 'q' in vhost '/': {value_negative,-1}"),
    ({"x-max-length-bytes": "abc"}, "invalid arg 'x-max-length-bytes' for queue 'q' in vhost '/': \"expected integer, got longstr\""),
    ({"x-max-priority": 256}, "invalid arg 'x-max-priority' for queue 'q' in vhost '/': {max_value_exceeded,256}"),
    ({"x-max-priority": -1}, "invalid arg 'x-max-priority' for queue 'q' in vhost '/': {value_negative,-1}"),
    ({"x-overflow": "foo"}, "invalid arg 'x-overflow' for queue 'q' in vhost '/': invalid_overflow"),
    ({"x-single-active-consumer": "yes"}, "invalid arg 'x-single-active-consumer' for queue 'q' in vhost '/': {unacceptable_type,longstr}"),
    ({"x-queue-type": 5}, "invalid arg 'x-queue-type' for queue 'q' in vhost '/': {unacceptable_type,signedint}"),
    ({"x-queue-type": "foo"}, "invalid arg 'x-queue-type' for queue 'q' in vhost '/': \"unsupported queue type 'foo'\""),
    ({"x-dead-letter-exchange": 5}, "invalid type 'signedint' for arg 'x-dead-letter-exchange' in queue 'q' in vhost '/'"),
    ({"x-dead-letter-routing-key": "k"}, "invalid arg 'x-dead-letter-routing-key' for queue 'q' in vhost '/': routing_key_but_no_dlx_defined"),
    ({"x-delivery-limit": 3}, "invalid arg 'x-delivery-limit' for queue 'q' in vhost '/' of queue type rabbit_classic_queue"),
    ({"x-message-ttl": 315360000001}, "invalid arg 'x-message-ttl' for queue 'q' in vhost '/': {value_too_large,315360000001}"),
    ({"x-expires": 1099511627776}, "invalid arg 'x-expires' for queue 'q' in vhost '/': {value_too_large,1099511627776}"),
    ({"x-queue-mode": "foo"}, "invalid arg 'x-queue-mode' for queue 'q' in vhost '/': \"unsupported queue mode 'foo'\""),
    ({"x-queue-mode": 5}, "invalid arg 'x-queue-mode' for queue 'q' in vhost '/': {unacceptable_type,signedint}"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "text"), INVALID)
def test_invalid_queue_arguments(conn: Connection, args: dict[str, Any], text: str) -> None:
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(1).queue_declare(Q, arguments=args)
    assert info.value.code == 406
    assert info.value.text == text


IA = "invalid arg '{}' for queue 'q' in vhost '/'"
TWO_BAD = [
    ({"x-message-ttl": -1, "x-dead-letter-exchange": 5}, "invalid type 'signedint' for arg 'x-dead-letter-exchange' in queue 'q' in vhost '/'"),
    ({"x-message-ttl": -1, "x-queue-type": "foo"}, IA.format("x-queue-type") + ": \"unsupported queue type 'foo'\""),
    ({"x-message-ttl": -1, "x-expires": 0}, IA.format("x-expires") + ": {value_zero,0}"),
    ({"x-max-length": -1, "x-dead-letter-routing-key": "k"}, IA.format("x-dead-letter-routing-key") + ": routing_key_but_no_dlx_defined"),
    ({"x-overflow": "foo", "x-max-priority": 256}, IA.format("x-max-priority") + ": {max_value_exceeded,256}"),
    ({"x-delivery-limit": 3, "x-message-ttl": -1}, IA.format("x-message-ttl") + ": {value_negative,-1}"),
    ({"x-delivery-limit": 3, "x-max-age": "1D"}, IA.format("x-delivery-limit") + " of queue type rabbit_classic_queue"),
    ({"x-max-age": "1D", "x-delivery-limit": 3}, IA.format("x-max-age") + " of queue type rabbit_classic_queue"),
    ({"x-queue-type": "quorum", "x-max-priority": 1, "x-message-ttl": -1}, IA.format("x-message-ttl") + ": {value_negative,-1}"),
    ({"x-queue-type": "quorum", "x-queue-mode": "lazy", "x-max-priority": 1}, IA.format("x-queue-mode") + " of queue type rabbit_quorum_queue"),
    ({"x-queue-type": "quorum", "x-max-length": -1, "x-dead-letter-strategy": "foo"}, IA.format("x-dead-letter-strategy") + ": invalid_dlx_strategy"),
    ({"x-queue-type": "quorum", "x-overflow": "foo", "x-max-in-memory-length": -1}, IA.format("x-max-in-memory-length") + ": {value_negative,-1}"),
    ({"x-queue-type": "quorum", "x-queue-leader-locator": "foo", "x-quorum-initial-group-size": 0}, IA.format("x-quorum-initial-group-size") + ": {value_zero,0}"),
    ({"x-dead-letter-exchange": "d", "x-dead-letter-routing-key": 5}, IA.format("x-dead-letter-routing-key") + ": {unacceptable_type,signedint}"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "text"), TWO_BAD)
def test_the_bad_argument_rabbitmq_checks_first_is_named(
    conn: Connection, args: dict[str, Any], text: str
) -> None:
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(1).queue_declare(Q, durable=True, arguments=args)
    assert info.value.text == text


def test_quorum_delivery_limit_is_not_checked(broker, conn: Connection) -> None:  # type: ignore[no-untyped-def]
    for n, limit in enumerate((-1, "abc")):
        args = {"x-queue-type": "quorum", "x-delivery-limit": limit}
        conn.open_channel(n + 1).queue_declare(f"q{n}", durable=True, arguments=args)
    assert broker.get_queue("q0").args.delivery_limit == -1
    assert broker.get_queue("q1").args.delivery_limit is None


def test_redeclare_compares_what_the_queues_type_takes(conn: Connection) -> None:
    ch = conn.open_channel(1)
    ch.queue_declare("c", durable=True)
    ch.queue_declare("c", durable=True, arguments={"x-delivery-limit": 3})  # not classic's
    qq = {"x-queue-type": "quorum", "x-expires": 1000, "x-dead-letter-exchange": "a"}
    ch.queue_declare("qq", durable=True, arguments=qq)
    ch.queue_declare("qq", durable=True, arguments={**qq, "x-max-priority": 3})  # not quorum's
    with pytest.raises(AMQPChannelError) as info:  # quorum compares the DLX before x-expires
        ch.queue_declare(
            "qq", durable=True, arguments={**qq, "x-expires": 2000, "x-dead-letter-exchange": "b"}
        )
    assert info.value.text.startswith("inequivalent arg 'x-dead-letter-exchange'")


QUORUM = [
    (dict(durable=False), "non-durable"),
    (dict(durable=True, exclusive=True), "exclusive-owner"),
    (dict(durable=False, exclusive=True), "exclusive-owner"),
    (dict(durable=True, auto_delete=True), "auto-delete"),
    (dict(durable=False, auto_delete=True, exclusive=True), "auto-delete"),
]


@pytest.mark.parametrize(("flags", "prop"), QUORUM)
def test_quorum_queue_properties(conn: Connection, flags: dict[str, bool], prop: str) -> None:
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(1).queue_declare(Q, arguments={"x-queue-type": "quorum"}, **flags)
    assert info.value.text == f"invalid property '{prop}' for queue 'q' in vhost '/'"


def test_quorum_refuses_priority(conn: Connection) -> None:
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(1).queue_declare(
            Q, durable=True, arguments={"x-queue-type": "quorum", "x-max-priority": 5}
        )
    assert info.value.text == (
        "invalid arg 'x-max-priority' for queue 'q' in vhost '/' of queue type rabbit_quorum_queue"
    )


REDECLARE = [
    ({"x-message-ttl": 1000}, {"x-message-ttl": 2000}, "x-message-ttl", "received '2000' but current is '1000'"),
    ({}, {"x-message-ttl": 2000}, "x-message-ttl", "received the value '2000' of type 'signedint' but current is none"),
    ({"x-max-length": 5}, {}, "x-max-length", "received none but current is the value '5' of type 'signedint'"),
    ({"x-message-ttl": 1000}, {"x-message-ttl": 1000.0}, "x-message-ttl", "received '1.0e3' but current is '1000'"),
    ({"x-dead-letter-exchange": "a"}, {"x-dead-letter-exchange": "b"}, "x-dead-letter-exchange", "received 'b' but current is 'a'"),
    ({"x-single-active-consumer": True}, {"x-single-active-consumer": False}, "x-single-active-consumer", "received 'false' but current is 'true'"),
]  # fmt: skip


@pytest.mark.parametrize(("first", "second", "key", "tail"), REDECLARE)
def test_inequivalent_arguments(
    conn: Connection, first: dict[str, Any], second: dict[str, Any], key: str, tail: str
) -> None:
    conn.open_channel(1).queue_declare(Q, arguments=first)
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(2).queue_declare(Q, arguments=second)
    assert info.value.text == f"inequivalent arg '{key}' for queue 'q' in vhost '/': {tail}"


def test_system_exchanges(conn: Connection) -> None:
    conn.open_channel(1).exchange_declare("amq.direct", "direct", durable=True)
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(2).exchange_declare("amq.direct", "fanout", durable=True)
    assert "inequivalent arg 'type' for exchange 'amq.direct'" in info.value.text
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(3).exchange_delete("amq.direct")
    assert info.value.reply_text == (
        "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed"
    )
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(4).exchange_declare("", "direct", passive=True)
    assert (
        info.value.reply_text == "ACCESS_REFUSED - operation not permitted on the default exchange"
    )


def test_unbind_on_anothers_exclusive_queue(broker, conn: Connection) -> None:  # type: ignore[no-untyped-def]
    ch = conn.open_channel(1)
    ch.queue_declare("ex", exclusive=True)
    ch.queue_bind("ex", "amq.direct", "k")
    other = broker.connect()
    other.open_channel(1).queue_unbind("ex", "amq.direct", "nokey")  # no such binding: ok
    with pytest.raises(AMQPChannelError) as info:  # a binding there: exclusivity is checked
        other.open_channel(2).queue_unbind("ex", "amq.direct", "k")
    assert info.value.code == 405
    assert sorted(b.source for b in broker.list_bindings()) == ["", "amq.direct"]


def test_deleting_a_missing_system_exchange_is_refused(conn: Connection) -> None:
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(1).exchange_delete("amq.nothing")
    assert info.value.text == "deletion of system exchange 'amq.nothing' in vhost '/' not allowed"


def test_quorum_queues_cannot_be_server_named(conn: Connection) -> None:
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(1).queue_declare("", durable=True, arguments={"x-queue-type": "quorum"})
    assert info.value.reply_text == (
        "PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_quorum_queue"
    )


def test_queue_type_defaults_to_classic_on_redeclare(conn: Connection) -> None:
    conn.open_channel(1).queue_declare(Q)
    conn.open_channel(2).queue_declare(Q, arguments={"x-queue-type": "classic"})
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(3).queue_declare(Q, arguments={"x-queue-type": "quorum"})
    # the queue was created without the argument: RabbitMQ 3.10.8 says "none" for it
    assert info.value.text == (
        "inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': "
        "received the value 'quorum' of type 'longstr' but current is none"
    )


def test_passive_declare_restarts_x_expires(broker, clock, conn: Connection) -> None:  # type: ignore[no-untyped-def]
    ch = conn.open_channel(1)
    ch.queue_declare(Q, arguments={"x-expires": 1000})
    for _ in range(3):
        clock.advance(0.9)
        ch.queue_declare(Q, passive=True)
    assert Q in broker.vhost().queues
    clock.advance(1.0)
    assert Q not in broker.vhost().queues


@pytest.mark.parametrize(
    ("expiration", "reason"),
    [
        ("soon", "no_integer"),
        ("", "no_integer"),
        (" 5", "no_integer"),
        ("-1", "{value_negative,-1}"),
        ("1.5", '{leftover_string,".5"}'),
        ("0x10", '{leftover_string,"x10"}'),
        ("315360000001", "{value_too_large,315360000001}"),
    ],
)
def test_invalid_expiration_refused_at_publish(
    conn: Connection, expiration: str, reason: str
) -> None:
    """RabbitMQ 3.10.8 answers basic.publish with a bad expiration with 406 (probed)."""
    ch = conn.open_channel(1)
    with pytest.raises(AMQPChannelError) as info:
        ch.basic_publish("", "q", b"m", {"expiration": expiration})
    assert info.value.code == 406
    assert info.value.text == f"invalid expiration '{expiration}': {reason}"


def test_signed_expiration_accepted(conn: Connection) -> None:
    conn.open_channel(1).basic_publish("", "q", b"m", {"expiration": "+5"})
