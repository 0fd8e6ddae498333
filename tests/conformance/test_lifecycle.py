"""Confirms, returns, tx, TTL, expiry, dead-lettering, overflow, and connection-level behaviour."""

from __future__ import annotations

from typing import Any

import amqp
import pytest

from ._harness import (
    Backend,
    E,
    confirmed,
    counts,
    drain_bodies,
    fill,
    get,
    nack,
    publish,
    sync,
    xdeclare,
)


def test_confirm_ack_per_publish(b: Backend) -> None:
    """confirm.select: every publish is acked; tags count from 1."""
    ch = b.channel(confirm=True)
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    for i in range(3):
        publish(ch, "", q, f"m{i}")
    b.wait(lambda: confirmed(b.events)["acked"] == [1, 2, 3])
    b.expect("confirms", confirmed(b.events), {"acked": [1, 2, 3], "nacked": []})


def test_mandatory_return_precedes_ack(b: Backend) -> None:
    """unroutable mandatory publish in confirm mode: basic.return, then basic.ack."""
    ch = b.channel(confirm=True)
    publish(ch, "", b.name("nowhere"), "r1", mandatory=True)
    publish(ch, "amq.direct", b.name("nowhere"), "r2", mandatory=True)
    b.wait(lambda: len(b.events) >= 4)
    kinds = [(e[0], e[-1] if e[0] == "return" else e[1]) for e in b.events]
    b.expect("order", kinds, [("return", "r1"), ("ack", 1), ("return", "r2"), ("ack", 2)])
    b.expect(
        "returns",
        [e for e in b.events if e[0] == "return"],
        [
            ("return", 312, "NO_ROUTE", "", "cf-T-nowhere", "r1"),
            ("return", 312, "NO_ROUTE", "amq.direct", "cf-T-nowhere", "r2"),
        ],
    )


def test_unroutable_without_mandatory_is_acked_silently(b: Backend) -> None:
    """unroutable, not mandatory: just acked."""
    ch = b.channel(confirm=True)
    publish(ch, "amq.topic", "nowhere", "m")
    b.wait(lambda: len(b.events) >= 1)
    b.settle()
    b.expect("events", b.events, [("ack", 1, False)])


def test_return_without_confirms(b: Backend) -> None:
    """mandatory without confirms: the return alone."""
    ch = b.channel()
    publish(ch, "amq.topic", "nowhere", "m", mandatory=True)
    b.wait(lambda: len(b.events) >= 1)
    b.expect("events", b.events, [("return", 312, "NO_ROUTE", "amq.topic", "nowhere", "m")])


def test_publish_to_missing_exchange_closes_channel(b: Backend) -> None:
    """publish to an exchange that does not exist: channel error 404 on basic.publish."""
    ch = b.channel(confirm=True)
    x = b.name("nope")
    publish(ch, x, "k", "m")
    b.expect(
        "reply",
        b.error(sync, ch, _conn=ch.connection),
        E(404, f"NOT_FOUND - no exchange '{x}' in vhost '/'", (60, 40)),
    )


def test_publish_immediate_not_implemented(b: Backend) -> None:
    """basic.publish immediate=true: connection error 540."""
    ch = b.channel()
    ch.basic_publish(amqp.Message("m"), "", "q", immediate=True)
    b.expect(
        "reply",
        b.error(sync, ch, _conn=ch.connection),
        E(540, "NOT_IMPLEMENTED - immediate=true", (60, 40), "connection"),
    )


TX = {
    "commit": ("commit", ["t1", "t2"]),
    "rollback": ("rollback", []),
    "nothing": (None, []),
}


@pytest.mark.parametrize("case", list(TX))
def test_tx_publish(b: Backend, case: str) -> None:
    """tx.select: publishes appear on commit, vanish on rollback."""
    action, want = TX[case]
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    ch.tx_select()
    publish(ch, "", q, "t1")
    publish(ch, "", q, "t2")
    b.expect("before", counts(ch, q), (0, 0))
    if action == "commit":
        ch.tx_commit()
    elif action == "rollback":
        ch.tx_rollback()
    other = b.channel()
    b.expect("after", b.eventually(lambda: drain_bodies(other, q) if want else []), want)


@pytest.mark.parametrize("action", ["commit", "rollback"])
def test_tx_acks(b: Backend, action: str) -> None:
    """tx: acks take effect on commit; on rollback the messages stay unacked."""
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    fill(b, ch, q, ["a", "b"])
    ch.tx_select()
    ch.basic_get(q, no_ack=False)
    ch.basic_ack(1)
    getattr(ch, f"tx_{action}")()
    ch.close()
    other = b.channel()
    want = ["b"] if action == "commit" else ["a", "b"]
    b.expect(
        "left",
        b.eventually(lambda: counts(other, q)[0] == len(want) and drain_bodies(other, q)),
        want,
    )


TX_ERRORS = {
    "commit_without_select": (
        "tx_commit",
        E(406, "PRECONDITION_FAILED - channel is not transactional", (90, 20)),
    ),
    "rollback_without_select": (
        "tx_rollback",
        E(406, "PRECONDITION_FAILED - channel is not transactional", (90, 30)),
    ),
    "confirm_then_tx": (
        "confirm_tx",
        E(406, "PRECONDITION_FAILED - cannot switch from confirm to tx mode", (90, 10)),
    ),
    "tx_then_confirm": (
        "tx_confirm",
        E(406, "PRECONDITION_FAILED - cannot switch from tx to confirm mode", (85, 10)),
    ),
}


@pytest.mark.parametrize("case", list(TX_ERRORS))
def test_tx_errors(b: Backend, case: str) -> None:
    """tx and confirm mode misuse."""
    op, want = TX_ERRORS[case]
    ch = b.channel()
    if op == "confirm_tx":
        ch.confirm_select()
        got = b.error(ch.tx_select)
    elif op == "tx_confirm":
        ch.tx_select()
        got = b.error(ch.confirm_select)
    else:
        got = b.error(getattr(ch, op))
    b.expect("reply", got, want)


# --- TTL, expiry, dead-lettering -----------------------------------------------------------


def _death(m: Any) -> dict[str, Any]:
    headers = dict(m.properties.get("application_headers") or {})
    deaths = [
        {k: v for k, v in d.items() if k != "time"} | {"time": type(d.get("time")).__name__}
        for d in headers.pop("x-death", [])
    ]
    return {
        "x-death": deaths,
        **headers,
        "exchange": m.delivery_info["exchange"],
        "routing_key": m.delivery_info["routing_key"],
    }


def _dlx_setup(
    b: Backend, ch: Any, qargs: dict[str, Any], dlrk: str | None = None
) -> tuple[str, str]:
    dlx, dead, q = b.name("dlx"), b.name("dead"), b.name("src")
    xdeclare(ch, dlx, "fanout")
    ch.queue_declare(dead, auto_delete=False)
    ch.queue_bind(dead, dlx)
    args = {"x-dead-letter-exchange": dlx, **qargs}
    if dlrk is not None:
        args["x-dead-letter-routing-key"] = dlrk
    ch.queue_declare(q, auto_delete=False, arguments=args)
    return q, dead


def _dead(b: Backend, ch: Any, dead: str, n: int = 1) -> list[Any]:
    got: list[Any] = []

    def poll() -> bool:
        while (m := ch.basic_get(dead, no_ack=True)) is not None:
            got.append(m)
        return len(got) >= n

    b.eventually(poll)
    return got


DLX_REASONS = ["rejected", "nacked", "expired_queue_ttl", "expired_message_ttl", "maxlen"]


@pytest.mark.parametrize("reason", DLX_REASONS)
def test_dead_letter_x_death(b: Backend, reason: str) -> None:
    """dead-lettering: x-death entry (count, reason, queue, exchange, routing-keys, time) and x-first-death-*."""
    ch = b.channel()
    qargs: dict[str, Any] = {}
    if reason == "expired_queue_ttl":
        qargs["x-message-ttl"] = 50
    if reason == "maxlen":
        qargs["x-max-length"] = 1
    q, dead = _dlx_setup(b, ch, qargs)
    props: dict[str, Any] = {"expiration": "50"} if reason == "expired_message_ttl" else {}
    publish(ch, "", q, "m1", **props)
    if reason == "maxlen":
        publish(ch, "", q, "m2")
    elif reason in ("rejected", "nacked"):
        m = b.eventually(lambda: ch.basic_get(q, no_ack=False))
        if reason == "rejected":
            ch.basic_reject(m.delivery_tag, requeue=False)
        else:
            nack(ch, m.delivery_tag, requeue=False)
    else:
        b.advance(0.2)
    got = _dead(b, ch, dead)
    b.expect("bodies", [m.body for m in got], ["m1"])
    death = _death(got[0])
    b.record("death", death)
    want_reason = {
        "nacked": "rejected",
        "expired_queue_ttl": "expired",
        "expired_message_ttl": "expired",
    }.get(reason, reason)
    entry = death["x-death"][0]
    assert (
        entry["count"],
        entry["reason"],
        entry["queue"],
        entry["exchange"],
        entry["routing-keys"],
    ) == (1, want_reason, q, "", [q])
    assert death["x-first-death-reason"] == want_reason and death["x-first-death-queue"] == q
    if reason == "expired_message_ttl":
        assert entry["original-expiration"] == "50"


def test_dead_letter_routing_key_override(b: Backend) -> None:
    """x-dead-letter-routing-key replaces the routing key; x-death keeps the original."""
    ch = b.channel()
    dlx, dead, q = b.name("dlx"), b.name("dead"), b.name("src")
    xdeclare(ch, dlx, "direct")
    ch.queue_declare(dead, auto_delete=False)
    ch.queue_bind(dead, dlx, "new-key")
    ch.queue_declare(
        q,
        auto_delete=False,
        arguments={"x-dead-letter-exchange": dlx, "x-dead-letter-routing-key": "new-key"},
    )
    publish(ch, "", q, "m")
    m = b.eventually(lambda: ch.basic_get(q, no_ack=False))
    ch.basic_reject(m.delivery_tag, requeue=False)
    got = _dead(b, ch, dead)
    death = b.record("death", _death(got[0]))
    assert death["routing_key"] == "new-key" and death["x-death"][0]["routing-keys"] == [q]


def test_dead_letter_twice_counts(b: Backend) -> None:
    """dead-lettered twice from the same queue for the same reason: one x-death entry, count 2."""
    ch = b.channel()
    q = b.name("loop")
    back = b.name("back")
    xdeclare(ch, back, "fanout")
    ch.queue_declare(q, auto_delete=False, arguments={"x-dead-letter-exchange": back})
    ch.queue_bind(q, back)
    publish(ch, "", q, "m")
    for _ in range(2):
        m = b.eventually(lambda: ch.basic_get(q, no_ack=False))
        ch.basic_reject(m.delivery_tag, requeue=False)
    m = b.eventually(lambda: ch.basic_get(q, no_ack=True))
    death = b.record("death", _death(m))
    assert [(d["count"], d["reason"]) for d in death["x-death"]] == [(2, "rejected")]


def test_message_ttl_expiry_no_dlx(b: Backend) -> None:
    """per-message expiration and x-message-ttl: expired messages are not delivered."""
    ch = b.channel()
    q, q2 = b.name("q"), b.name("q2")
    ch.queue_declare(q, auto_delete=False)
    ch.queue_declare(q2, auto_delete=False, arguments={"x-message-ttl": 100})
    publish(ch, "", q, "short", expiration="100")
    publish(ch, "", q, "long", expiration="60000")
    publish(ch, "", q, "none")
    publish(ch, "", q2, "queue-ttl")
    b.eventually(lambda: counts(ch, q)[0] == 3)
    b.advance(0.3)
    b.expect("q", drain_bodies(ch, q), ["long", "none"])
    b.expect("q2", drain_bodies(ch, q2), [])


def test_message_ttl_zero(b: Backend) -> None:
    """x-message-ttl 0: a message is delivered only if a consumer is waiting, else dropped."""
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False, arguments={"x-message-ttl": 0})
    publish(ch, "", q, "dropped")
    b.advance(0.05)
    b.expect("left", drain_bodies(ch, q), [])


def test_a_message_that_waited_expires_at_the_head(b: Backend) -> None:
    """expiration behind a head without one: it expires when it reaches the head (or its time)."""
    ch = b.channel()
    q, dead = _dlx_setup(b, ch, {})
    publish(ch, "", q, "m1")
    publish(ch, "", q, "zero", expiration="0")  # waits behind m1
    publish(ch, "", q, "m3")
    b.eventually(lambda: counts(ch, q)[0] == 3)
    b.expect("gets", [get(b, ch, q) for _ in range(3)], [("m1", False, 1), ("m3", False, 0), None])
    publish(ch, "", q, "m4")
    publish(ch, "", q, "short", expiration="100")  # behind m4: no timer until m4 is gone
    b.eventually(lambda: counts(ch, q)[0] == 2)
    b.expect("m4", get(b, ch, q), ("m4", False, 1))
    b.advance(0.3)  # nobody looks at the queue: its timer dead-letters "short"
    got = _dead(b, ch, dead, n=2)
    b.expect(
        "dead",
        [(m.body, _death(m)["x-death"][0]["reason"]) for m in got],
        [(b"zero", "expired"), (b"short", "expired")],
    )
    b.expect("left", counts(ch, q), (0, 0))


def test_a_zero_ttl_message_that_waited_for_a_consumer_is_not_delivered(b: Backend) -> None:
    """prefetch 1: a message with expiration "0" queued behind others expires before its turn."""
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    for body, props in (("a", {}), ("b", {}), ("c", {"expiration": "0"}), ("d", {})):
        publish(ch, "", q, body, **props)
    b.eventually(lambda: counts(ch, q)[0] == 3)  # "c" stays: it is not at the head
    ch.basic_qos(0, 1, False)

    def on(message: amqp.Message) -> None:
        b.events.append(("deliver", message.body))
        ch.basic_ack(message.delivery_tag)

    ch.basic_consume(q, callback=on)
    b.wait(lambda: len(b.events) >= 3)
    b.settle()
    b.expect("delivered", [e[1] for e in b.events], ["a", "b", "d"])


def test_a_priority_queue_expires_only_at_its_head(b: Backend) -> None:
    """x-max-priority: an expired message behind higher priorities waits, counted, for its turn."""
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False, arguments={"x-max-priority": 5})
    for body, props in (
        ("low-exp", {"priority": 0, "expiration": "100"}),
        ("low", {"priority": 0}),
        ("high", {"priority": 5}),
        ("high-exp", {"priority": 5, "expiration": "100"}),
        ("high2", {"priority": 5}),
    ):
        publish(ch, "", q, body, **props)
    b.eventually(lambda: counts(ch, q)[0] == 5)
    b.advance(0.3)
    b.expect("count", counts(ch, q), (5, 0))
    b.expect(
        "gets",
        [get(b, ch, q) for _ in range(4)],
        [("high", False, 3), ("high2", False, 1), ("low", False, 0), None],
    )


PUT_BACK = ["reject", "nack", "recover", "channel_close"]


@pytest.mark.parametrize("way", PUT_BACK)
def test_a_message_put_back_after_its_time_is_up_expires(b: Backend, way: str) -> None:
    """requeued with its TTL spent (expiration "0" included): dead-lettered 'expired', not redelivered."""
    ch = b.channel()
    q, dead = _dlx_setup(b, ch, {})
    cch = b.channel()
    b.consume(cch, q, "c")
    publish(ch, "", q, "zero", expiration="0")  # delivered: the consumer is waiting
    publish(ch, "", q, "later", expiration="60000")
    b.wait(lambda: len(b.deliveries("c")) == 2)
    tags = [m.delivery_tag for m in b.messages]
    if way == "reject":
        for tag in tags:
            cch.basic_reject(tag, requeue=True)
    elif way == "nack":
        nack(cch, tags[-1], multiple=True)
    elif way == "recover":
        cch.basic_recover(requeue=True)
    else:
        cch.close()
    got = _dead(b, ch, dead)
    b.expect(
        "dead", [(m.body, _death(m)["x-death"][0]["reason"]) for m in got], [(b"zero", "expired")]
    )
    if way == "channel_close":
        b.expect("left", b.eventually(lambda: counts(ch, q) == (1, 0) and counts(ch, q)), (1, 0))
    else:
        b.wait(lambda: len(b.deliveries("c")) == 3)
        b.expect(
            "delivered",
            [e[2:] for e in b.events if e[0] == "deliver"],
            [("zero", False), ("later", False), ("later", True)],
        )


def test_expiration_property_invalid(b: Backend) -> None:
    """an expiration that is not a number: channel error 406 on basic.publish."""
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    publish(ch, "", q, "m", expiration="soon")
    got = b.error(sync, ch, _conn=ch.connection)
    b.expect(
        "reply",
        got,
        E(406, "PRECONDITION_FAILED - invalid expiration 'soon': no_integer", (60, 40)),
    )


def test_queue_expires(b: Backend) -> None:
    """x-expires: an unused queue is deleted after the delay; use restarts the clock."""
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False, arguments={"x-expires": 200})
    b.advance(0.1)
    b.expect("alive", counts(ch, q), (0, 0))
    b.advance(0.5)
    got = b.eventually(
        lambda: b.error(ch.queue_declare, q, passive=True).get("code") == 404 and "gone"
    )
    b.expect("after", got, "gone")


OVERFLOW = {
    "drop-head": (["m2", "m3"], ["m1"], {"acked": [1, 2, 3], "nacked": []}),
    "reject-publish": (["m1", "m2"], [], {"acked": [1, 2], "nacked": [3]}),
    "reject-publish-dlx": (["m1", "m2"], ["m3"], {"acked": [1, 2], "nacked": [3]}),
}


@pytest.mark.parametrize("mode", list(OVERFLOW))
def test_overflow(b: Backend, mode: str) -> None:
    """x-max-length 2 with each x-overflow: what stays, what is dead-lettered, what is nacked."""
    kept, dead_lettered, confirms = OVERFLOW[mode]
    ch = b.channel(confirm=True)
    q, dead = _dlx_setup(b, ch, {"x-max-length": 2, "x-overflow": mode})
    for body in ("m1", "m2", "m3"):
        publish(ch, "", q, body)
    b.wait(lambda: len(confirmed(b.events)["acked"]) + len(confirmed(b.events)["nacked"]) >= 3)
    b.expect("confirms", confirmed(b.events), confirms)
    b.expect("kept", drain_bodies(ch, q), kept)
    got = _dead(b, ch, dead, len(dead_lettered)) if dead_lettered else []
    b.expect("dead", [m.body for m in got], dead_lettered)
    if got:
        b.record("death", _death(got[0]))


def test_max_length_bytes(b: Backend) -> None:
    """x-max-length-bytes counts body bytes: the oldest are dropped."""
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False, arguments={"x-max-length-bytes": 10})
    for body in ("aaaa", "bbbb", "cccc"):
        publish(ch, "", q, body)
    b.eventually(lambda: counts(ch, q)[0] == 2)
    b.expect("kept", drain_bodies(ch, q), ["bbbb", "cccc"])


# --- connection level ---------------------------------------------------------------------


def test_negotiated_tune(b: Backend) -> None:
    """connection.tune: heartbeat negotiated down to the client's; server properties and capabilities."""
    conn = b.connect(heartbeat=30, frame_max=65536, channel_max=100)
    b.expect("negotiated", [conn.channel_max, conn.frame_max, conn.heartbeat], [2047, 131072, 30])
    props = conn.server_properties
    caps = dict(props["capabilities"])
    caps.pop("consumer_priorities", None)  # see test_consumer_priorities_capability
    b.expect(
        "capabilities",
        caps,
        {
            "publisher_confirms": True,
            "exchange_exchange_bindings": True,
            "basic.nack": True,
            "consumer_cancel_notify": True,
            "connection.blocked": True,
            "authentication_failure_close": True,
            "per_consumer_qos": True,
            "direct_reply_to": True,
        },
    )


def test_default_tune(b: Backend) -> None:
    """heartbeat None (accept the server's): 60 s, frame_max 131072, channel_max 2047."""
    conn = b.connect(heartbeat=60)
    b.expect("negotiated", [conn.channel_max, conn.frame_max, conn.heartbeat], [2047, 131072, 60])


def test_large_body_split_into_frames(b: Backend) -> None:
    """a body larger than frame_max arrives whole."""
    conn = b.connect(frame_max=4096)
    ch = b.channel(conn)
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    body = "x" * 20000
    publish(ch, "", q, body)
    m = b.eventually(lambda: ch.basic_get(q, no_ack=True))
    b.expect("size", len(m.body), 20000)


def test_channel_open_twice(b: Backend) -> None:
    """channel.open on an open channel: 504 CHANNEL_ERROR on the connection."""
    conn = b.connect()
    ch = conn.channel()
    from amqp import spec

    got = b.error(
        lambda: ch.send_method(spec.Channel.Open, "s", ("",), wait=spec.Channel.OpenOk), _conn=conn
    )
    b.expect(
        "reply", got, E(504, "CHANNEL_ERROR - second 'channel.open' seen", (20, 10), "connection")
    )


def test_channel_error_leaves_connection_usable(b: Backend) -> None:
    """a channel error closes that channel only."""
    conn = b.connect()
    ch = b.channel(conn)
    b.error(ch.queue_declare, b.name("nope"), passive=True)
    other = b.channel(conn)
    q = b.name("q")
    b.expect("declare", list(other.queue_declare(q, auto_delete=False)), [q, 0, 0])


SERVER_NAMES = {"queue": r"amq\.gen-[A-Za-z0-9_-]{22}", "ctag": r"amq\.ctag-[A-Za-z0-9_-]{22}"}


@pytest.mark.parametrize("kind", list(SERVER_NAMES))
def test_server_generated_names(b: Backend, kind: str) -> None:
    """server-named queues (amq.gen-) and consumer tags (amq.ctag-): 22 url-safe base64 chars."""
    import re

    ch = b.channel()
    names = []
    for _ in range(5):
        q = ch.queue_declare("", exclusive=True).queue
        names.append(q if kind == "queue" else ch.basic_consume(q))
    assert all(re.fullmatch(SERVER_NAMES[kind], n) for n in names), names
    assert len(set(names)) == 5
    b.expect("shape", sorted({len(n) for n in names}), [30] if kind == "queue" else [31])


def test_empty_queue_name_means_last_declared(b: Backend) -> None:
    """'' in queue.bind / basic.get means the channel's last declared queue; 404 before any."""
    ch = b.channel()
    b.expect(
        "get_before",
        b.error(ch.basic_get, ""),
        E(404, "NOT_FOUND - no previously declared queue", (60, 70)),
    )
    ch = b.channel()
    q = ch.queue_declare("", exclusive=True).queue
    ch.queue_bind("", "amq.fanout")
    publish(ch, "amq.fanout", "", "m")
    m = b.eventually(lambda: ch.basic_get("", no_ack=True))
    b.expect("got", [m.body, m.delivery_info["routing_key"]], ["m", ""])
    assert q.startswith("amq.gen-")


def test_consumer_priorities_capability(b: Backend) -> None:
    """server capability consumer_priorities."""
    conn = b.connect()
    b.expect(
        "consumer_priorities",
        conn.server_properties["capabilities"].get("consumer_priorities"),
        True,
    )


@pytest.mark.divergence(
    "fakebroker names itself in connection.start (product, version), on purpose"
)
def test_server_product(b: Backend) -> None:
    """server properties product and version."""
    props = b.connect().server_properties
    b.expect("product", [props["product"], props["version"]], ["RabbitMQ", "3.10.8"])


@pytest.mark.parametrize("header", ["CC", "BCC"])
def test_sender_selected_header_not_an_array(b: Backend, header: str) -> None:
    """a CC or BCC that is not an array: 406 invalid message, on basic.publish."""
    ch = b.channel(confirm=True)
    publish(ch, "", "q", "m", application_headers={header: "not-an-array"})
    b.expect(
        "reply",
        b.error(sync, ch, _conn=ch.connection),
        E(
            406,
            f'PRECONDITION_FAILED - invalid message: {{unacceptable_type_in_header,"{header}",longstr}}',
            (60, 40),
        ),
    )
