from __future__ import annotations

import re

import pytest

from fakebroker.core import AMQPChannelError, AMQPConnectionError, Broker, Channel, Connection


def test_predeclared_exchanges(broker: Broker) -> None:
    names = {x["name"]: x["type"] for x in broker.list_exchanges("/")}
    assert names == {
        "": "direct",
        "amq.direct": "direct",
        "amq.fanout": "fanout",
        "amq.topic": "topic",
        "amq.headers": "headers",
        "amq.match": "headers",
    }


def test_passive_declare_missing_queue_is_404_and_closes_channel(
    conn: Connection, ch: Channel
) -> None:
    with pytest.raises(AMQPChannelError) as info:
        ch.queue_declare("nope", passive=True)
    assert info.value.code == 404
    assert info.value.reply_text == "NOT_FOUND - no queue 'nope' in vhost '/'"
    assert ch.closed and 1 not in conn.channels
    assert not conn.closed


def test_passive_declare_missing_exchange(ch: Channel) -> None:
    with pytest.raises(AMQPChannelError) as info:
        ch.exchange_declare("nox", passive=True)
    assert info.value.reply_text == "NOT_FOUND - no exchange 'nox' in vhost '/'"


def test_redeclare_with_other_durable_is_406(conn: Connection) -> None:
    conn.open_channel(1).queue_declare("q", durable=False)
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(2).queue_declare("q", durable=True)
    assert info.value.code == 406
    assert info.value.text == (
        "inequivalent arg 'durable' for queue 'q' in vhost '/': "
        "received 'true' but current is 'false'"
    )


def test_redeclare_checks_known_args_only(conn: Connection) -> None:
    ch = conn.open_channel(1)
    ch.queue_declare("q", arguments={"x-message-ttl": 1000, "x-foo": 1})
    ch.queue_declare("q", arguments={"x-message-ttl": 1000, "x-foo": 2})
    with pytest.raises(AMQPChannelError) as info:
        ch.queue_declare("q", arguments={"x-message-ttl": 2000})
    assert info.value.code == 406
    assert "inequivalent arg 'x-message-ttl'" in info.value.text


def test_reserved_prefix(ch: Channel, conn: Connection) -> None:
    with pytest.raises(AMQPChannelError) as info:
        ch.exchange_declare("amq.foo", "direct")
    assert info.value.code == 403
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(2).queue_declare("amq.foo")
    assert info.value.code == 403


def test_default_exchange_operations_refused(conn: Connection) -> None:
    conn.open_channel(1).queue_declare("q")
    for n, op in enumerate(
        [
            lambda c: c.queue_bind("q", "", "q"),
            lambda c: c.queue_unbind("q", "", "q"),
            lambda c: c.exchange_delete(""),
        ],
        start=2,
    ):
        with pytest.raises(AMQPChannelError) as info:
            op(conn.open_channel(n))
        assert info.value.code == 403
        assert "default exchange" in info.value.text


def test_server_named_queue(ch: Channel) -> None:
    ok = ch.queue_declare("")
    assert re.fullmatch(r"amq\.gen-[A-Za-z0-9_-]{22}", ok.queue)
    assert ok.message_count == 0 and ok.consumer_count == 0


def test_a_server_named_queue_is_not_redeclared_by_name(ch: Channel, conn: Connection) -> None:
    name = ch.queue_declare("", exclusive=True).queue
    assert conn.open_channel(2).queue_declare(name, passive=True).queue == name
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(3).queue_declare(name, exclusive=True)
    assert info.value.code == 403
    assert info.value.text == f"queue name '{name}' contains reserved prefix 'amq.*'"


def test_exchange_type_is_checked_before_the_default_exchange(ch: Channel) -> None:
    with pytest.raises(AMQPConnectionError) as info:
        ch.exchange_declare("", "x-nope")
    assert info.value.code == 503


def test_bind_checks_header_arguments_before_exclusivity(broker: Broker, conn: Connection) -> None:
    conn.open_channel(1).queue_declare("ex", exclusive=True)
    other = broker.connect(name="c2")
    with pytest.raises(AMQPChannelError) as info:
        other.open_channel(1).queue_bind("ex", "amq.headers", "", {"x-match": "foo"})
    assert info.value.code == 406
    with pytest.raises(AMQPChannelError) as info:
        other.open_channel(2).queue_bind("ex", "amq.headers", "", {"x-match": "all"})
    assert info.value.code == 405
    with pytest.raises(AMQPChannelError) as info:  # a missing exchange before all of them
        other.open_channel(3).queue_bind("ex", "nox", "", {"x-match": "foo"})
    assert info.value.code == 404


def test_exclusive_queue_locked_for_other_connections(broker: Broker, conn: Connection) -> None:
    conn.open_channel(1).queue_declare("ex", exclusive=True)
    other = broker.connect(name="c2")
    with pytest.raises(AMQPChannelError) as info:
        other.open_channel(1).queue_declare("ex", exclusive=True)
    assert info.value.code == 405
    for n, op in enumerate(
        [
            lambda c: c.basic_consume("ex"),
            lambda c: c.basic_get("ex"),
            lambda c: c.queue_purge("ex"),
            lambda c: c.queue_delete("ex"),
            lambda c: c.queue_declare("ex", passive=True),
        ],
        start=2,
    ):
        with pytest.raises(AMQPChannelError) as info:
            op(other.open_channel(n))
        assert info.value.code == 405


def test_exclusive_queue_gone_when_owner_closes(broker: Broker, conn: Connection) -> None:
    conn.open_channel(1).queue_declare("ex", exclusive=True)
    conn.close()
    assert "ex" not in broker.vhost().queues


def test_auto_delete_queue_goes_with_last_consumer(broker: Broker, ch: Channel) -> None:
    ch.queue_declare("ad", auto_delete=True)
    assert "ad" in broker.vhost().queues
    t1 = ch.basic_consume("ad")
    t2 = ch.basic_consume("ad")
    ch.basic_cancel(t1)
    assert "ad" in broker.vhost().queues
    ch.basic_cancel(t2)
    assert "ad" not in broker.vhost().queues


def test_delete_if_unused_and_if_empty(conn: Connection) -> None:
    ch = conn.open_channel(1)
    ch.queue_declare("q")
    ch.basic_consume("q")
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(2).queue_delete("q", if_unused=True)
    assert info.value.code == 406
    ch3 = conn.open_channel(3)
    ch3.queue_declare("q2")
    ch3.basic_publish("", "q2", b"x")
    with pytest.raises(AMQPChannelError) as info:
        ch3.queue_delete("q2", if_empty=True)
    assert info.value.code == 406


def test_delete_if_empty_is_checked_before_if_unused(conn: Connection) -> None:
    ch = conn.open_channel(1)
    ch.queue_declare("q")
    ch.basic_qos(prefetch_count=1)
    ch.basic_consume("q", "c")
    for body in (b"a", b"b"):  # "a" goes to the consumer, "b" stays ready
        ch.basic_publish("", "q", body)
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(2).queue_delete("q", if_unused=True, if_empty=True)
    assert info.value.text == "queue 'q' in vhost '/' not empty"
    ch.basic_ack(1)
    ch.basic_get("q", no_ack=True)  # empty now, still in use
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(3).queue_delete("q", if_unused=True, if_empty=True)
    assert info.value.text == "queue 'q' in vhost '/' in use"


def test_exchange_delete_if_unused(conn: Connection) -> None:
    ch = conn.open_channel(1)
    ch.exchange_declare("x", "fanout")
    ch.queue_declare("q")
    ch.queue_bind("q", "x")
    with pytest.raises(AMQPChannelError) as info:
        ch.exchange_delete("x", if_unused=True)
    assert info.value.code == 406
    ch2 = conn.open_channel(2)
    ch2.exchange_delete("x")
    ch2.exchange_declare("x", passive=False, type="fanout")


def test_deleting_missing_things_succeeds(ch: Channel) -> None:
    assert ch.queue_delete("missing") == 0
    ch.exchange_delete("missing")
    ch.queue_declare("q")
    ch.queue_unbind("q", "amq.direct", "nothing")
    ch.queue_unbind("q", "no-such-exchange", "k")
    assert not ch.closed


def test_purge_returns_count(ch: Channel) -> None:
    ch.queue_declare("q")
    for i in range(3):
        ch.basic_publish("", "q", b"%d" % i)
    assert ch.queue_purge("q") == 3
    assert ch.queue_declare("q", passive=True).message_count == 0


def test_unknown_exchange_type_closes_connection(conn: Connection, ch: Channel) -> None:
    with pytest.raises(AMQPConnectionError) as info:
        ch.exchange_declare("x", "nope")
    assert info.value.code == 503
    assert conn.closed


def test_exchange_redeclare_type_mismatch(ch: Channel) -> None:
    ch.exchange_declare("x", "direct")
    with pytest.raises(AMQPChannelError) as info:
        ch.exchange_declare("x", "fanout")
    assert info.value.code == 406
    assert "inequivalent arg 'type'" in info.value.text


def test_quorum_queue_requires_durable(conn: Connection) -> None:
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(1).queue_declare("qq", arguments={"x-queue-type": "quorum"})
    assert info.value.code == 406
    ok = conn.open_channel(2).queue_declare(
        "qq", durable=True, arguments={"x-queue-type": "quorum"}
    )
    assert ok.queue == "qq"


def test_unmodelled_queue_type_refused(ch: Channel) -> None:
    with pytest.raises(AMQPChannelError) as info:
        ch.queue_declare("s", durable=True, arguments={"x-queue-type": "foo"})
    assert info.value.code == 406


def test_unknown_vhost(broker: Broker) -> None:
    with pytest.raises(AMQPConnectionError) as info:
        broker.connect(vhost="nope")
    assert info.value.code == 530


def test_empty_queue_name_means_last_declared(ch: Channel) -> None:
    ok = ch.queue_declare("")
    ch.basic_publish("", ok.queue, b"m")
    got = ch.basic_get("")
    assert got is not None and got.message.body == b"m"


def test_bind_names_the_missing_exchange_before_the_queue(conn: Connection) -> None:
    """RabbitMQ 3.10.8: queue.bind with both missing says 'no exchange'; exchange.bind names the source."""
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(1).queue_bind("nope-q", "nope-x", "k")
    assert (info.value.code, info.value.text) == (404, "no exchange 'nope-x' in vhost '/'")
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(2).exchange_bind("nope-dst", "nope-src", "k")
    assert info.value.text == "no exchange 'nope-src' in vhost '/'"
    with pytest.raises(AMQPChannelError) as info:
        conn.open_channel(3).queue_bind("nope-q", "", "k")
    assert info.value.code == 403


def test_alternate_exchange_must_be_a_string(ch: Channel) -> None:
    """RabbitMQ 3.10.8 refuses a non-string alternate-exchange with 406."""
    with pytest.raises(AMQPChannelError) as info:
        ch.exchange_declare("x", "direct", arguments={"alternate-exchange": 5})
    assert (info.value.code, info.value.text) == (
        406,
        "invalid type 'signedint' for arg 'alternate-exchange' in exchange 'x' in vhost '/'",
    )
