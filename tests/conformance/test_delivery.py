"""Delivery: acks, nacks, rejects, requeue order, redelivered flags, prefetch, basic.get, consumers."""

from __future__ import annotations

from typing import Any

import pytest

from ._harness import LOCKED, Backend, E, counts, drain_bodies, fill, get, nack, publish, sync

PF = "PRECONDITION_FAILED - "

ACK_ERRORS: dict[str, tuple[int, list[tuple[str, int, bool]], int, int]] = {
    # case: (messages got unacked, ops, bad tag in the error, ready afterwards)
    "ack_unknown_no_unacked": (0, [("ack", 5, False)], 5, 0),
    "ack_unknown_with_unacked": (2, [("ack", 5, False)], 5, 3),
    "double_ack": (1, [("ack", 1, False), ("ack", 1, False)], 1, 2),
    "ack_multiple_above_all": (2, [("ack", 99, True)], 99, 3),
    "ack_multiple_gap": (3, [("ack", 2, False), ("ack", 2, True)], 2, 2),
    "nack_unknown": (1, [("nack", 7, False)], 7, 3),
    "reject_unknown": (1, [("reject", 7, False)], 7, 3),
}


@pytest.mark.parametrize("case", list(ACK_ERRORS))
def test_unknown_delivery_tag(b: Backend, case: str) -> None:
    """acking what is not outstanding: 406 unknown delivery tag, unacked ones requeued."""
    n, ops, bad, ready = ACK_ERRORS[case]
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    fill(b, ch, q, [f"m{i}" for i in range(3)] if n or ready else [])
    for _ in range(n):
        ch.basic_get(q, no_ack=False)
    reply: Any = None
    for op, tag, multiple in ops:
        if op == "ack":
            reply = b.error(ch.basic_ack, tag, multiple=multiple, _conn=ch.connection)
            if op == "ack" and "ok" in reply and tag:
                reply = b.error(counts, ch, q, _conn=ch.connection)
        elif op == "nack":
            nack(ch, tag, multiple=multiple)
            reply = b.error(counts, ch, q, _conn=ch.connection)
        else:
            ch.basic_reject(tag, requeue=True)
            reply = b.error(counts, ch, q, _conn=ch.connection)
    if "ok" in reply:  # the error surfaces on the next synchronous call
        reply = b.error(counts, b.channel(ch.connection), q)
    method = {"ack": (60, 80), "nack": (60, 120), "reject": (60, 90)}[ops[-1][0]]
    b.expect("reply", reply, E(406, f"{PF}unknown delivery tag {bad}", method))
    other = b.channel()
    b.expect(
        "ready_after",
        b.eventually(lambda: counts(other, q)[0] == ready and counts(other, q)),
        [ready, 0],
    )


def test_requeue_order_nack_reject(b: Backend) -> None:
    """get m1..m3, nack m2, reject m1: requeued messages go back in original order, redelivered."""
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    fill(b, ch, q, [f"m{i}" for i in range(1, 6)])
    for _ in range(3):
        ch.basic_get(q, no_ack=False)
    nack(ch, 2, requeue=True)
    ch.basic_reject(1, requeue=True)
    got = [get(b, ch, q) for _ in range(5)]
    b.expect(
        "gets", got, [("m1", True, 3), ("m2", True, 2), ("m4", False, 1), ("m5", False, 0), None]
    )
    ch.basic_ack(3)


def test_requeue_on_channel_close(b: Backend) -> None:
    """closing a channel requeues all its unacked messages, redelivered, in order."""
    conn = b.connect()
    ch = b.channel(conn)
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    fill(b, ch, q, [f"m{i}" for i in range(1, 6)])
    for _ in range(5):
        ch.basic_get(q, no_ack=False)
    ch.close()
    ch2 = b.channel(conn)
    got = b.eventually(lambda: counts(ch2, q)[0] == 5 and [get(b, ch2, q) for _ in range(5)])
    b.expect("gets", got, [(f"m{i}", True, 4 - i + 1) for i in range(1, 6)])


def test_requeue_on_connection_close_consumer(b: Backend) -> None:
    """consumer got c1..c3, acked c2, connection closed: c1, c3, c4 redelivered, c5 fresh."""
    conn = b.connect()
    ch = b.channel(conn)
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    ch.basic_qos(0, 3, False)
    b.consume(ch, q, "c")
    fill(b, b.channel(), q, [f"c{i}" for i in range(1, 6)])
    b.wait(lambda: len(b.deliveries()) >= 3, conn)
    b.record("consumer_got", b.deliveries())
    ch.basic_ack(b.messages[1].delivery_tag)
    b.wait(lambda: len(b.deliveries()) >= 4, conn)
    conn.close()
    ch2 = b.channel()
    got = b.eventually(lambda: counts(ch2, q)[0] == 4 and [get(b, ch2, q)[:2] for _ in range(4)])
    b.expect("then_queue", got, [("c1", True), ("c3", True), ("c4", True), ("c5", False)])


@pytest.mark.parametrize("multiple", [True, False])
def test_nack_multiple(b: Backend, multiple: bool) -> None:
    """basic.nack multiple=true requeues every outstanding tag up to it."""
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    fill(b, ch, q, ["n1", "n2", "n3", "n4"])
    for _ in range(3):
        ch.basic_get(q, no_ack=False)
    nack(ch, 3, multiple=multiple, requeue=True)
    got = drain_bodies(ch, q)
    b.expect("order", got, ["n1", "n2", "n3", "n4"] if multiple else ["n3", "n4"])


DISCARD = {"nack": "nack", "reject": "reject"}


@pytest.mark.parametrize("how", list(DISCARD))
def test_requeue_false_discards(b: Backend, how: str) -> None:
    """nack/reject requeue=false with no DLX: the message is gone."""
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    fill(b, ch, q, ["a", "b"])
    m = ch.basic_get(q, no_ack=False)
    if how == "nack":
        nack(ch, m.delivery_tag, requeue=False)
    else:
        ch.basic_reject(m.delivery_tag, requeue=False)
    b.expect("left", drain_bodies(ch, q), ["b"])


@pytest.mark.parametrize("n", [1, 3, 5])
def test_basic_get_message_count(b: Backend, n: int) -> None:
    """basic.get-ok message_count: the ready messages left after this one."""
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    fill(b, ch, q, [f"m{i}" for i in range(n)])
    got = [get(b, ch, q) for _ in range(n + 1)]
    b.expect("gets", got, [(f"m{i}", False, n - i - 1) for i in range(n)] + [None])


def test_basic_get_fields(b: Backend) -> None:
    """basic.get-ok: delivery tag, exchange, routing key and properties as published."""
    ch = b.channel()
    q, x = b.name("q"), "amq.direct"
    ch.queue_declare(q, auto_delete=False)
    ch.queue_bind(q, x, "rk")
    publish(
        ch,
        x,
        "rk",
        "body",
        content_type="text/plain",
        priority=3,
        message_id="id1",
        application_headers={"h": 1, "s": "v"},
        delivery_mode=2,
    )
    m = b.eventually(lambda: ch.basic_get(q, no_ack=False))
    info = {
        k: m.delivery_info[k]
        for k in ("delivery_tag", "redelivered", "exchange", "routing_key", "message_count")
    }
    b.expect(
        "delivery_info",
        info,
        {
            "delivery_tag": 1,
            "redelivered": False,
            "exchange": "amq.direct",
            "routing_key": "rk",
            "message_count": 0,
        },
    )
    b.expect(
        "properties",
        m.properties,
        {
            "content_encoding": "utf-8",
            "content_type": "text/plain",
            "priority": 3,
            "message_id": "id1",
            "application_headers": {"h": 1, "s": "v"},
            "delivery_mode": 2,
        },
    )


def test_declare_ok_counts(b: Backend) -> None:
    """queue.declare-ok counts ready messages (not unacked) and consumers."""
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    fill(b, ch, q, ["a", "b", "c"])
    ch.basic_get(q, no_ack=False)
    b.expect("ready2_unacked1", counts(ch, q), (2, 0))
    c2 = b.channel()
    c2.basic_qos(0, 1, False)
    b.consume(c2, q, "c")
    b.wait(lambda: len(b.deliveries()) >= 1)
    b.expect(
        "ready1_consumer1", b.eventually(lambda: counts(ch, q) == (1, 1) and counts(ch, q)), (1, 1)
    )
    b.expect("purge", ch.queue_purge(q), 1)


QOS = {
    # case: (steps, expected deliveries per consumer with 10 ready messages each)
    "qos2_before_consume": (["qos2", "A", "B"], {"A": 2, "B": 2}),
    "qos2_after_consume": (["A", "qos2"], {"A": 10}),
    "qos2_between_consumers": (["A", "qos2", "B"], {"A": 10, "B": 2}),
    "qos3_global_two_consumers": (["qos3g", "A", "B"], {"A": 3, "B": 0}),
    "qos2_and_qos3_global": (["qos2", "qos3g", "A", "B"], {"A": 2, "B": 1}),
    "global_after_consume": (["A", "qos3g"], {"A": 10}),
    "qos0_unlimited": (["qos0", "A"], {"A": 10}),
    "qos1_per_consumer": (["qos1", "A", "B"], {"A": 1, "B": 1}),
    # a per-consumer basic.qos also lifts the channel's (global) limit, as RabbitMQ 3.10 does
    "per_consumer_qos_lifts_global": (["qos1g", "A", "qos2", "B"], {"A": 10, "B": 2}),
    "per_consumer_qos0_lifts_global": (["qos3g", "A", "qos0"], {"A": 10}),
}


@pytest.mark.parametrize("case", list(QOS))
def test_prefetch(b: Backend, case: str) -> None:
    """basic.qos: per-consumer and per-channel (global) prefetch, and when it takes effect."""
    steps, want = QOS[case]
    conn = b.connect()
    ch = b.channel(conn)
    feeder = b.channel()
    queues = {c: b.name(f"q{c}") for c in "AB"}
    for q in queues.values():
        ch.queue_declare(q, auto_delete=False)
        fill(b, feeder, q, [f"m{i}" for i in range(10)])
    for step in steps:
        if step.startswith("qos"):
            n = int(step[3])
            ch.basic_qos(0, n, step.endswith("g"))
        else:
            b.consume(ch, queues[step], step)
    total = sum(want.values())
    b.wait(lambda: len(b.deliveries()) >= total, conn)
    b.settle(conn)
    got = {c: len(b.deliveries(c)) for c in want}
    b.expect("deliveries", got, want)


def test_prefetch_refills_on_ack(b: Backend) -> None:
    """with prefetch 2, each ack lets one more message through."""
    conn = b.connect()
    ch = b.channel(conn)
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    fill(b, b.channel(), q, [f"m{i}" for i in range(5)])
    ch.basic_qos(0, 2, False)
    b.consume(ch, q, "c")
    b.wait(lambda: len(b.deliveries()) >= 2, conn)
    ch.basic_ack(b.messages[0].delivery_tag)
    b.wait(lambda: len(b.deliveries()) >= 3, conn)
    b.settle(conn)
    b.expect("deliveries", b.deliveries(), ["m0", "m1", "m2"])


def test_basic_get_ignores_prefetch(b: Backend) -> None:
    """basic.get is not limited by basic.qos."""
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    fill(b, ch, q, ["a", "b", "c"])
    ch.basic_qos(0, 1, False)
    got = [ch.basic_get(q, no_ack=False) is not None for _ in range(3)]
    b.expect("gets", got, [True, True, True])


@pytest.mark.parametrize("global_", [False, True])
def test_prefetch_size_not_implemented(b: Backend, global_: bool) -> None:
    """basic.qos prefetch_size != 0: connection error 540."""
    ch = b.channel()
    b.expect(
        "reply",
        b.error(ch.basic_qos, 1000, 0, global_),
        E(540, "NOT_IMPLEMENTED - prefetch_size!=0 (1000)", (60, 10), "connection"),
    )


def test_recover_requeue(b: Backend) -> None:
    """basic.recover requeue=true: unacked gets come back redelivered."""
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    fill(b, ch, q, ["m0", "m1", "m2"])
    ch.basic_get(q, no_ack=False)
    ch.basic_get(q, no_ack=False)
    ch.basic_recover(requeue=True)
    got = b.eventually(lambda: counts(ch, q)[0] == 3 and [get(b, ch, q)[:2] for _ in range(3)])
    b.expect("gets", got, [("m0", True), ("m1", True), ("m2", False)])


def test_recover_no_requeue_not_implemented(b: Backend) -> None:
    """basic.recover requeue=false: 540 NOT_IMPLEMENTED."""
    ch = b.channel()
    b.expect(
        "reply",
        b.error(lambda: (ch.basic_recover(requeue=False), sync(ch)), _conn=ch.connection),
        E(540, "NOT_IMPLEMENTED - requeue=false", (60, 110), "connection"),
    )


def test_redelivered_flag_to_consumer(b: Backend) -> None:
    """a message rejected with requeue comes back to the consumer with redelivered=true."""
    conn = b.connect()
    ch = b.channel(conn)
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    fill(b, b.channel(), q, ["m"])
    ch.basic_qos(0, 1, False)
    b.consume(ch, q, "c")
    b.wait(lambda: len(b.deliveries()) >= 1, conn)
    ch.basic_reject(b.messages[0].delivery_tag, requeue=True)
    b.wait(lambda: len(b.deliveries()) >= 2, conn)
    ch.basic_ack(b.messages[1].delivery_tag)
    b.expect(
        "events",
        [e for e in b.events if e[0] == "deliver"],
        [("deliver", "c", "m", False), ("deliver", "c", "m", True)],
    )


def test_round_robin_between_consumers(b: Backend) -> None:
    """two consumers on a queue share messages round-robin."""
    conn = b.connect()
    ch = b.channel(conn)
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    b.consume(ch, q, "a", no_ack=True)
    b.consume(ch, q, "b", no_ack=True)
    feeder = b.channel()
    for i in range(6):
        publish(feeder, "", q, f"m{i}")
    b.wait(lambda: len(b.deliveries()) >= 6, conn)
    b.expect("a", b.deliveries("a"), ["m0", "m2", "m4"])
    b.expect("b", b.deliveries("b"), ["m1", "m3", "m5"])


CONSUMER_ERRORS = {
    "reuse_tag_same_channel": E(
        530, "NOT_ALLOWED - attempt to reuse consumer tag 'first'", (60, 20), "connection"
    ),
    "exclusive_while_other_consumer": E(
        403, "ACCESS_REFUSED - queue 'cf-T-q' in vhost '/' in exclusive use", (60, 20)
    ),
    "consume_while_exclusive_consumer": E(
        403, "ACCESS_REFUSED - queue 'cf-T-q' in vhost '/' in exclusive use", (60, 20)
    ),
    "cancel_unknown_tag": {"ok": "no-such-tag"},
    "reuse_tag_other_channel": {"ok": "first"},
    "get_while_exclusive_consumer": {"ok": None},
    "reuse_tag_on_a_missing_queue": E(
        530, "NOT_ALLOWED - attempt to reuse consumer tag 'first'", (60, 20), "connection"
    ),
    "bad_arguments_while_exclusive_consumer": E(
        406,
        "PRECONDITION_FAILED - invalid arg 'x-priority' for queue 'cf-T-q' in vhost '/': "
        '"expected integer, got longstr"',
        (60, 20),
    ),
}


@pytest.mark.parametrize("case", list(CONSUMER_ERRORS))
def test_consumer_rules(b: Backend, case: str) -> None:
    """consumer tags and exclusive consumers."""
    conn = b.connect()
    ch = b.channel(conn)
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    if case == "reuse_tag_same_channel":
        ch.basic_consume(q, consumer_tag="first")
        got = b.error(ch.basic_consume, q, consumer_tag="first")
    elif case == "exclusive_while_other_consumer":
        ch.basic_consume(q, consumer_tag="first")
        got = b.error(b.channel().basic_consume, q, consumer_tag="x", exclusive=True)
    elif case == "consume_while_exclusive_consumer":
        ch.basic_consume(q, consumer_tag="first", exclusive=True)
        got = b.error(b.channel().basic_consume, q, consumer_tag="x")
    elif case == "cancel_unknown_tag":
        got = b.error(ch.basic_cancel, "no-such-tag")
    elif case == "reuse_tag_other_channel":
        ch.basic_consume(q, consumer_tag="first")
        got = b.error(b.channel(conn).basic_consume, q, consumer_tag="first")
    elif case == "reuse_tag_on_a_missing_queue":  # the tag is checked before the queue
        ch.basic_consume(q, consumer_tag="first")
        got = b.error(ch.basic_consume, b.name("missing"), consumer_tag="first")
    elif case == "bad_arguments_while_exclusive_consumer":  # arguments before exclusivity
        ch.basic_consume(q, consumer_tag="first", exclusive=True)
        got = b.error(b.channel().basic_consume, q, arguments={"x-priority": "high"})
    else:
        ch.basic_consume(q, consumer_tag="first", exclusive=True)
        got = b.error(b.channel().basic_get, q)
    b.expect("reply", got, CONSUMER_ERRORS[case])


CONSUMER_ARGUMENTS: dict[str, tuple[dict[str, Any], str | None]] = {
    "priority_int": ({"x-priority": 5}, None),
    "priority_negative": ({"x-priority": -1}, None),
    "priority_long": ({"x-priority": 2**40}, None),
    "priority_string": ({"x-priority": "high"}, '"expected integer, got longstr"'),
    "priority_float": ({"x-priority": 1.5}, '"expected integer, got double"'),
    "priority_bool": ({"x-priority": True}, '"expected integer, got bool"'),
    "priority_table": ({"x-priority": {"a": 1}}, '"expected integer, got table"'),
    "priority_array": ({"x-priority": [1]}, '"expected integer, got array"'),
    "priority_void": ({"x-priority": None}, '"expected integer, got void"'),
    "cancel_on_failover_bool": ({"x-cancel-on-ha-failover": True}, None),
    "cancel_on_failover_string": (
        {"x-cancel-on-ha-failover": "yes"},
        "{unacceptable_type,longstr}",
    ),
    "cancel_on_failover_int": ({"x-cancel-on-ha-failover": 1}, "{unacceptable_type,signedint}"),
    "both_wrong_priority_first": (
        {"x-cancel-on-ha-failover": "yes", "x-priority": "a"},
        '"expected integer, got longstr"',
    ),
    "unknown_argument": ({"x-foo": "bar"}, None),
}


@pytest.mark.parametrize("case", list(CONSUMER_ARGUMENTS))
def test_consumer_arguments(b: Backend, case: str) -> None:
    """basic.consume arguments: x-priority must be an integer, x-cancel-on-ha-failover a bool."""
    arguments, reason = CONSUMER_ARGUMENTS[case]
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    got = b.error(ch.basic_consume, q, consumer_tag="c", arguments=arguments)
    if reason is None:
        b.expect("reply", got, {"ok": "c"})
        return
    key = "x-priority" if "integer" in reason else "x-cancel-on-ha-failover"
    text = f"PRECONDITION_FAILED - invalid arg '{key}' for queue '{q}' in vhost '/': {reason}"
    b.expect("reply", got, E(406, text, (60, 20)))


@pytest.mark.parametrize("how", ["queue_delete", "other_connection_delete"])
def test_consumer_cancelled_on_queue_delete(b: Backend, how: str) -> None:
    """deleting a queue sends its consumers basic.cancel (consumer_cancel_notify)."""
    conn = b.connect()
    ch = b.channel(conn)
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    b.consume(ch, q, "c1")
    b.consume(ch, q, "c2")
    other = ch if how == "queue_delete" else b.channel()
    b.expect("deleted", other.queue_delete(q), 0)
    b.wait(lambda: len(b.events) >= 2, conn)
    b.expect("events", sorted(b.events), [("cancel", "c1"), ("cancel", "c2")])
    b.expect("channel_open", b.error(ch.basic_qos, 0, 5, False), {"ok": []})


def test_exclusive_queue_lifecycle(b: Backend) -> None:
    """exclusive queue: locked for other connections (405), gone when its connection closes."""
    owner = b.connect()
    ch = b.channel(owner)
    q = b.name("q")
    ch.queue_declare(q, exclusive=True)
    other = b.connect()
    for op, call in {
        "declare": lambda c: c.queue_declare(q, exclusive=True),
        "passive": lambda c: c.queue_declare(q, passive=True),
        "consume": lambda c: c.basic_consume(q),
        "get": lambda c: c.basic_get(q),
        "purge": lambda c: c.queue_purge(q),
        "delete": lambda c: c.queue_delete(q),
        "bind": lambda c: c.queue_bind(q, "amq.direct", "k"),
    }.items():
        c = b.channel(other)
        got = b.error(call, c, _conn=other)
        b.record(op, got)
        assert got["code"] == 405 and got["text"] == LOCKED.format(q=q), (op, got)
    owner.close()
    c = b.channel(other)
    b.expect(
        "after_close",
        b.eventually(
            lambda: b.error(c.queue_declare, q, passive=True).get("code") == 404 and "gone"
        ),
        "gone",
    )


def test_auto_delete_queue_lifecycle(b: Backend) -> None:
    """auto-delete queue: survives with no consumer ever, deleted when its last consumer goes."""
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=True)
    b.expect("before_consume", counts(ch, q), (0, 0))
    ch.basic_consume(q, consumer_tag="a")
    ch.basic_consume(q, consumer_tag="b")
    ch.basic_cancel("a")
    b.expect("one_left", counts(ch, q), (0, 1))
    ch.basic_cancel("b")
    ch2 = b.channel()
    got = b.eventually(
        lambda: b.error(ch2.queue_declare, q, passive=True).get("code") == 404 and "gone"
    )
    b.expect("after_last_cancel", got, "gone")


def test_auto_delete_exchange_lifecycle(b: Backend) -> None:
    """auto-delete exchange: deleted when its last binding (as source) goes."""
    from ._harness import xdeclare

    ch = b.channel()
    x, q = b.name("x"), b.name("q")
    xdeclare(ch, x, "direct", auto_delete=True)
    ch.queue_declare(q, auto_delete=False)
    ch.queue_bind(q, x, "a")
    ch.queue_bind(q, x, "b")
    ch.queue_unbind(q, x, "a")
    b.expect(
        "one_binding",
        b.error(xdeclare, ch, x, "direct", passive=True, _conn=ch.connection),
        {"ok": None},
    )
    ch.queue_unbind(q, x, "b")
    got = b.error(xdeclare, ch, x, "direct", passive=True, _conn=ch.connection)
    b.expect("after_last_unbind", got["code"], 404)


def test_single_active_consumer(b: Backend) -> None:
    """x-single-active-consumer: one consumer gets everything until it cancels."""
    conn = b.connect()
    ch = b.channel(conn)
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False, arguments={"x-single-active-consumer": True})
    b.consume(ch, q, "A", no_ack=True)
    b.consume(ch, q, "B", no_ack=True)
    b.expect("counts", counts(ch, q), (0, 2))
    feeder = b.channel()
    for i in range(4):
        publish(feeder, "", q, f"m{i}")
    b.wait(lambda: len(b.deliveries()) >= 4, conn)
    ch.basic_cancel("A")
    for i in range(4, 6):
        publish(feeder, "", q, f"m{i}")
    b.wait(lambda: len(b.deliveries()) >= 6, conn)
    b.expect("A", b.deliveries("A"), ["m0", "m1", "m2", "m3"])
    b.expect("B", b.deliveries("B"), ["m4", "m5"])


def test_single_active_consumer_failover_with_unacked(b: Backend) -> None:
    """SAC: the active consumer's channel closes with unacked messages; the next gets them first."""
    conn_a, conn_b = b.connect(), b.connect()
    ca, cb = b.channel(conn_a), b.channel(conn_b)
    q = b.name("q")
    ca.queue_declare(q, auto_delete=False, arguments={"x-single-active-consumer": True})
    ca.basic_qos(0, 1, False)
    b.consume(ca, q, "A")
    b.consume(cb, q, "B", no_ack=True)
    feeder = b.channel()
    for i in range(3):
        publish(feeder, "", q, f"u{i}")
    b.wait(lambda: len(b.deliveries("A")) >= 1, conn_a)
    ca.close()
    b.wait(lambda: len(b.deliveries("B")) >= 3, conn_b)
    b.expect("A", b.deliveries("A"), ["u0"])
    b.expect("B", b.deliveries("B"), ["u0", "u1", "u2"])


def test_sac_refuses_exclusive_consume(b: Backend) -> None:
    """SAC queue: an exclusive basic.consume while a consumer exists is 403."""
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False, arguments={"x-single-active-consumer": True})
    ch.basic_consume(q, consumer_tag="a")
    got = b.error(b.channel().basic_consume, q, consumer_tag="x", exclusive=True)
    b.expect(
        "reply",
        got,
        E(403, f"ACCESS_REFUSED - queue '{q}' in vhost '/' in exclusive use", (60, 20)),
    )


PRIORITY = {
    "max10": (
        {"x-max-priority": 10},
        [0, 9, 5, None, 3, 10, 20],
        ["p=10", "p=20", "p=9", "p=5", "p=3", "p=0", "p=None"],
    ),
    "max3": ({"x-max-priority": 3}, [1, 2, 3, 4, 0], ["p=3", "p=4", "p=2", "p=1", "p=0"]),
    "no_priority_queue": ({}, [0, 9, 5], ["p=0", "p=9", "p=5"]),
    "max0": ({"x-max-priority": 0}, [0, 5, 1], ["p=0", "p=5", "p=1"]),
}


@pytest.mark.parametrize("case", list(PRIORITY))
def test_priority_order(b: Backend, case: str) -> None:
    """x-max-priority: higher priority first (capped at the max), FIFO within a priority."""
    args, prios, want = PRIORITY[case]
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False, arguments=args)
    for p in prios:
        publish(ch, "", q, f"p={p}", **({} if p is None else {"priority": p}))
    b.eventually(lambda: counts(ch, q)[0] == len(prios))
    b.expect("order", drain_bodies(ch, q), want)


def test_priority_requeue(b: Backend) -> None:
    """priority queue: requeued messages return within their priority, ahead of newer ones."""
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False, arguments={"x-max-priority": 5})
    for p in (1, 2, 3):
        publish(ch, "", q, f"p={p}", priority=p)
    b.eventually(lambda: counts(ch, q)[0] == 3)
    ch.basic_get(q, no_ack=False)
    ch.basic_get(q, no_ack=False)
    publish(ch, "", q, "p=1-late", priority=1)
    b.eventually(lambda: counts(ch, q)[0] == 2)
    nack(ch, 2, multiple=True, requeue=True)
    b.expect(
        "order",
        b.eventually(lambda: counts(ch, q)[0] == 4 and drain_bodies(ch, q)),
        ["p=3", "p=2", "p=1", "p=1-late"],
    )


def test_no_ack_consumer_ignores_prefetch(b: Backend) -> None:
    """a no-ack consumer gets everything whatever the prefetch."""
    conn = b.connect()
    ch = b.channel(conn)
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    fill(b, b.channel(), q, [f"m{i}" for i in range(5)])
    ch.basic_qos(0, 1, False)
    b.consume(ch, q, "c", no_ack=True)
    b.wait(lambda: len(b.deliveries()) >= 5, conn)
    b.expect("got", b.deliveries(), [f"m{i}" for i in range(5)])
    b.expect("counts", counts(ch, q), (0, 1))


def test_consumer_priorities(b: Backend) -> None:
    """x-priority: the highest-priority consumer with room gets the message; lower ones get
    messages only while the higher ones are full (prefetch 1 each)."""
    conn = b.connect()
    ch = b.channel(conn)
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    ch.basic_qos(0, 1, False)
    b.consume(ch, q, "low", arguments={"x-priority": 0})
    b.consume(ch, q, "high", arguments={"x-priority": 10})
    fill(b, b.channel(), q, ["m1", "m2", "m3"])
    b.wait(lambda: len(b.deliveries()) >= 2, conn)
    b.settle(conn)
    b.expect("first", [b.deliveries("high"), b.deliveries("low")], [["m1"], ["m2"]])
    high = next(m for m in b.messages if m.delivery_info["consumer_tag"] == "high")
    ch.basic_ack(high.delivery_tag)
    b.wait(lambda: len(b.deliveries()) >= 3, conn)
    b.settle(conn)
    b.expect("after_ack", [b.deliveries("high"), b.deliveries("low")], [["m1", "m3"], ["m2"]])
