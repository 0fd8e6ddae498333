"""Raw-frame differential: the same well-formed frames to the engine and to RabbitMQ.

Where ``tests/conformance/test_differential.py`` drives both brokers through
py-amqp, this one writes frames directly, so it reaches what a client
library would not send: methods on closing or unopened channels, acks of
unknown tags, tx and confirm mixed, deletes of what is in use, qos and
recover anywhere. Every example is one connection with a single working
channel (RabbitMQ orders a channel's replies; across channels it does not),
ended by opening channel 9 as a sentinel and reading on until RabbitMQ has
been quiet for QUIET seconds (channel 9's reply can overtake channel 1's last
ones; there is no event that says a channel process is done). Compared: every frame's channel,
method, reply code and text, class and method ids, counts and bodies,
except the publisher confirms (RabbitMQ may send them after later replies);
consumers' deliveries are compared per step as a multiset (RabbitMQ's queue
process may deliver before or after the channel's reply); a declare-ok that
counts fewer messages than fakebroker's is asked again (RabbitMQ's queue
takes the count before publishes still in its mailbox, see ``_recounted``). 1,000 examples
pass here (about 9 % of them with deliveries); CI runs 60 (derandomized, as
hypothesis does under CI). ``FAKEBROKER_DIFF_EXAMPLES=1000`` runs more, with
fresh random examples, to look for new divergences.
Skipped without RabbitMQ.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import struct
from collections.abc import Iterator
from typing import Any

import amqp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pamqp import commands as C

from ._client import (
    PROTOCOL_HEADER,
    RawClient,
    body_frame,
    header_frame,
    method_frame,
    parse,
    start_ok,
)
from ._rabbit import HOST, PORT, reachable

SENTINEL = 9
QUIET = 0.15

#: q1's name is outside the spec's [\w.:-] (RabbitMQ takes any UTF-8 name up to 255 bytes).
Q1 = "q 1*é"
QUEUES = ("q0", Q1)
EXCHANGES = (("x0", "direct"), ("x1", "fanout"), ("x2", "topic"), ("x3", "headers"))
TARGETS = ("", "amq.direct", "nox", "x0", "x1", "x2", "x3")

pytestmark = pytest.mark.skipif(not reachable(), reason="the real RabbitMQ is not reachable")


def _header(size: int, headers: dict[str, Any] | None = None) -> bytes:
    props = C.Basic.Properties(headers=headers) if headers else C.Basic.Properties()
    return header_frame(1, size, props)


# Each op is a list of (frame builder, token) -> bytes; names get the example's token.
Op = tuple[Any, ...]

_DECLARE_Q0: Op = ("declare_q", "q0", False, False, False, False)
_DECLARE_Q1: Op = ("declare_q", Q1, False, False, False, False)
#: How sessions start, so that consumers meet messages often enough.
PREAMBLES: list[list[Op]] = [
    [],
    [_DECLARE_Q0],
    [_DECLARE_Q0, ("consume", "q0", False, False)],
    [_DECLARE_Q0, ("qos", 1, False), ("consume", "q0", False, False)],
    [_DECLARE_Q0, _DECLARE_Q1, ("consume", "q0", True, False), ("consume", Q1, False, True)],
]

#: Queue arguments, valid and not; "DLX" becomes the example's exchange x1.
QUEUE_ARGS: list[dict[str, Any]] = [
    {"x-max-length": 1},
    {"x-max-length": 1, "x-overflow": "reject-publish"},
    {"x-message-ttl": "abc"},
    {"x-message-ttl": -1},
    {"x-max-priority": 300},
    {"x-max-priority": 5},
    {"x-queue-type": "quorum"},
    {"x-dead-letter-exchange": "DLX"},
    {"x-expires": 0},
    {"x-single-active-consumer": True},
    {"x-overflow": "nope"},
    {"x-max-length-bytes": -5},
    {"x-message-ttl": 0, "x-dead-letter-exchange": "DLX"},
    {"x-dead-letter-exchange": "DLX", "x-dead-letter-routing-key": "a"},
    {"x-dead-letter-routing-key": "a"},
    {"x-max-length": 1, "x-overflow": "reject-publish-dlx", "x-dead-letter-exchange": "DLX"},
    {"x-max-priority": 2, "x-max-length": 2},
]

_q = st.sampled_from(QUEUES)
_x = st.sampled_from([name for name, _ in EXCHANGES])
_tag = st.integers(min_value=0, max_value=4)

OPS: st.SearchStrategy[Op] = st.one_of(
    st.tuples(st.just("open")),
    st.tuples(st.just("close")),
    st.tuples(st.just("close_ok")),
    st.tuples(st.just("declare_q"), _q, st.booleans(), st.booleans(), st.booleans(), st.booleans()),
    st.tuples(st.just("declare_x"), st.integers(0, len(EXCHANGES) - 1), st.booleans()),
    st.tuples(st.just("bind"), _q, st.sampled_from(TARGETS), st.sampled_from(["a", "#", ""])),
    st.tuples(st.just("unbind"), _q, st.sampled_from(TARGETS), st.sampled_from(["a", "#", ""])),
    st.tuples(
        st.just("publish"),
        st.sampled_from(TARGETS),
        st.sampled_from(["a", "q0", Q1, "zz"]),
        st.booleans(),
        st.binary(min_size=0, max_size=6),
    ),
    st.tuples(st.just("get"), _q, st.booleans()),
    st.tuples(st.just("ack"), _tag, st.booleans()),
    st.tuples(st.just("nack"), _tag, st.booleans(), st.booleans()),
    st.tuples(st.just("reject"), _tag, st.booleans()),
    st.tuples(st.just("recover"), st.booleans()),
    st.tuples(st.just("qos"), st.integers(0, 3), st.booleans()),
    st.tuples(st.just("purge"), _q),
    st.tuples(st.just("delete_q"), _q, st.booleans(), st.booleans()),
    st.tuples(st.just("delete_x"), _x, st.booleans()),
    st.tuples(st.just("confirm")),
    st.tuples(st.just("tx"), st.sampled_from(["select", "commit", "rollback"])),
    st.tuples(st.just("flow"), st.booleans()),
    st.tuples(
        st.just("declare_q_args"), _q, st.booleans(), st.sampled_from(range(len(QUEUE_ARGS)))
    ),
    st.tuples(st.just("xbind"), st.sampled_from(TARGETS), st.sampled_from(TARGETS), st.booleans()),
    st.tuples(
        st.just("publish_props"),
        _q,
        st.sampled_from([None, "0", "-1", "abc", "100000", ""]),
        st.sampled_from([None, 0, 5, 255]),
        st.sampled_from([None, 1, 2]),
    ),
    st.tuples(st.just("qos_size"), st.integers(1, 10)),
    st.tuples(st.just("consume"), _q, st.booleans(), st.booleans()),
    st.tuples(st.just("consume_args"), _q, st.sampled_from([5, -1, "high", 2**40])),
    st.tuples(
        st.just("declare_x_flags"),
        st.integers(0, len(EXCHANGES) - 1),
        st.sampled_from(["direct", "fanout", "topic", "headers", "x-nope"]),
        st.booleans(),
        st.booleans(),
        st.booleans(),
        st.sampled_from([None, "x1", 5]),
    ),
    st.tuples(st.just("cancel"), _q),
    # sending to a queue by name, more often than the rest, so consumers get messages
    *[
        st.tuples(st.just("publish"), st.just(""), _q, st.just(False), st.binary(max_size=4))
        for _ in range(6)
    ],
)


def _frames(op: Op, token: str) -> list[bytes]:
    def n(name: str) -> str:
        return name if name in ("", "amq.direct") else f"{token}.{name}"

    kind, *args = op
    ch = 1
    if kind == "open":
        return [method_frame(ch, C.Channel.Open())]
    if kind == "close":
        return [method_frame(ch, C.Channel.Close(200, "bye", 0, 0))]
    if kind == "close_ok":
        return [method_frame(ch, C.Channel.CloseOk())]
    if kind == "declare_q":
        queue, passive, durable, exclusive, auto_delete = args
        method = C.Queue.Declare(
            queue=n(queue),
            passive=passive,
            durable=durable,
            exclusive=exclusive,
            auto_delete=auto_delete,
        )
        return [method_frame(ch, method)]
    if kind == "declare_x":
        index, passive = args
        name, type_ = EXCHANGES[index]
        method = C.Exchange.Declare(exchange=n(name), exchange_type=type_, passive=passive)
        return [method_frame(ch, method)]
    if kind in ("bind", "unbind"):
        queue, exchange, key = args
        cls = C.Queue.Bind if kind == "bind" else C.Queue.Unbind
        return [method_frame(ch, cls(queue=n(queue), exchange=n(exchange), routing_key=key))]
    if kind == "publish":
        exchange, key, mandatory, body = args
        key = n(key) if key in QUEUES else key
        publish = C.Basic.Publish(exchange=n(exchange), routing_key=key, mandatory=mandatory)
        frames = [method_frame(ch, publish), _header(len(body), {"k": "a"})]
        return frames + ([body_frame(ch, body)] if body else [])
    if kind == "get":
        queue, no_ack = args
        return [method_frame(ch, C.Basic.Get(queue=n(queue), no_ack=no_ack))]
    if kind == "ack":
        return [method_frame(ch, C.Basic.Ack(delivery_tag=args[0], multiple=args[1]))]
    if kind == "nack":
        tag, multiple, requeue = args
        method = C.Basic.Nack(delivery_tag=tag, multiple=multiple, requeue=requeue)
        return [method_frame(ch, method)]
    if kind == "reject":
        return [method_frame(ch, C.Basic.Reject(delivery_tag=args[0], requeue=args[1]))]
    if kind == "recover":
        return [method_frame(ch, C.Basic.Recover(requeue=args[0]))]
    if kind == "qos":
        count, global_ = args
        return [method_frame(ch, C.Basic.Qos(prefetch_count=count, global_=global_))]
    if kind == "purge":
        return [method_frame(ch, C.Queue.Purge(queue=n(args[0])))]
    if kind == "delete_q":
        queue, if_unused, if_empty = args
        method = C.Queue.Delete(queue=n(queue), if_unused=if_unused, if_empty=if_empty)
        return [method_frame(ch, method)]
    if kind == "delete_x":
        return [method_frame(ch, C.Exchange.Delete(exchange=n(args[0]), if_unused=args[1]))]
    if kind == "declare_q_args":
        queue, durable, index = args
        arguments = {k: (n("x1") if v == "DLX" else v) for k, v in QUEUE_ARGS[index].items()}
        method = C.Queue.Declare(queue=n(queue), durable=durable, arguments=arguments)
        return [method_frame(ch, method)]
    if kind == "xbind":
        destination, source, unbind = args
        cls = C.Exchange.Unbind if unbind else C.Exchange.Bind
        return [
            method_frame(ch, cls(destination=n(destination), source=n(source), routing_key="a"))
        ]
    if kind == "publish_props":
        queue, expiration, priority, delivery_mode = args
        props = C.Basic.Properties(
            expiration=expiration, priority=priority, delivery_mode=delivery_mode
        )
        return [
            method_frame(ch, C.Basic.Publish(exchange="", routing_key=n(queue))),
            header_frame(ch, 1, props),
            body_frame(ch, b"p"),
        ]
    if kind == "qos_size":
        return [method_frame(ch, C.Basic.Qos(prefetch_size=args[0]))]
    if kind == "consume":
        queue, no_ack, exclusive = args
        method = C.Basic.Consume(
            queue=n(queue), consumer_tag=f"ct-{queue}", no_ack=no_ack, exclusive=exclusive
        )
        return [method_frame(ch, method)]
    if kind == "cancel":
        return [method_frame(ch, C.Basic.Cancel(consumer_tag=f"ct-{args[0]}"))]
    if kind == "consume_args":
        queue, priority = args
        method = C.Basic.Consume(
            queue=n(queue), consumer_tag=f"cp-{queue}", arguments={"x-priority": priority}
        )
        return [method_frame(ch, method)]
    if kind == "declare_x_flags":
        index, type_, durable, auto_delete, internal, alternate = args
        arguments = {} if alternate is None else {"alternate-exchange": _ae(alternate, n)}
        method = C.Exchange.Declare(
            exchange=n(EXCHANGES[index][0]),
            exchange_type=type_,
            durable=durable,
            auto_delete=auto_delete,
            internal=internal,
            arguments=arguments,
        )
        return [method_frame(ch, method)]
    if kind == "confirm":
        return [method_frame(ch, C.Confirm.Select())]
    if kind == "tx":
        cls = {"select": C.Tx.Select, "commit": C.Tx.Commit, "rollback": C.Tx.Rollback}[args[0]]
        return [method_frame(ch, cls())]
    assert kind == "flow"
    return [method_frame(ch, C.Channel.Flow(active=args[0]))]


def _ae(alternate: str | int, n: Any) -> str | int:
    """An alternate-exchange argument: an exchange of the example, or a wrong type."""
    return n(alternate) if isinstance(alternate, str) else alternate


def _observable(frames: list[tuple[int, Any]], token: str) -> list[tuple[Any, ...]]:
    """What must agree: confirms and heartbeats left out, the token masked in texts."""
    seen: list[tuple[Any, ...]] = []
    for channel, value in frames:
        name = getattr(value, "name", type(value).__name__)
        if name in ("Basic.Ack", "Basic.Nack", "Heartbeat") or channel in (-1, SENTINEL):
            continue
        if name == "ContentHeader":
            seen.append((channel, name, value.body_size))
            continue
        if name == "ContentBody":
            seen.append((channel, name, value.value))
            continue
        fields = tuple(
            getattr(value, attr)
            for attr in (
                "reply_code",
                "reply_text",
                "class_id",
                "method_id",
                "message_count",
                "consumer_count",
                "redelivered",
                "delivery_tag",
                "active",
                "consumer_tag",
                "exchange",
                "routing_key",
            )
            if hasattr(value, attr)
        )
        masked = tuple(f.replace(token, "T") if isinstance(f, str) else f for f in fields)
        seen.append((channel, name, *masked))
    return seen


class _Rabbit:
    """A raw connection to RabbitMQ that reads frames as they come."""

    def __init__(self) -> None:
        self.sock = socket.create_connection((HOST, PORT), timeout=5.0)
        self.buffer = b""
        for chunk in (
            PROTOCOL_HEADER,
            start_ok(),
            method_frame(0, C.Connection.TuneOk(2047, 131072, 0))
            + method_frame(0, C.Connection.Open(virtual_host="/")),
        ):
            self.sock.sendall(chunk)
            self.read(1, timeout=5.0)

    def read(self, count: int, *, timeout: float) -> list[tuple[int, Any]]:
        """Frames until ``count`` of them are observable, EOF, or ``timeout`` of silence."""
        return self.read_until(lambda frames: len(_observable(frames, "")) >= count, timeout)

    def read_until(self, done: Any, timeout: float) -> list[tuple[int, Any]]:
        """Frames until ``done(frames)``, EOF, or ``timeout`` of silence."""
        self.sock.settimeout(timeout)
        frames: list[tuple[int, Any]] = []
        while True:
            frames += self._parse()
            if done(frames):
                return frames
            try:
                chunk = self.sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                return frames
            if not chunk:
                return frames
            self.buffer += chunk

    def _parse(self) -> list[tuple[int, Any]]:
        frames = []
        while len(self.buffer) >= 8:
            (size,) = struct.unpack_from(">I", self.buffer, 3)
            if len(self.buffer) < size + 8:
                break
            frames += parse(self.buffer[: size + 8])
            self.buffer = self.buffer[size + 8 :]
        return frames

    def close(self) -> None:
        self.sock.close()


def _sentinel_answered(frames: list[tuple[int, Any]]) -> bool:
    return any(c == SENTINEL and isinstance(v, C.Channel.OpenOk) for c, v in frames)


def _split(seen: list[tuple[Any, ...]]) -> tuple[list[tuple[Any, ...]], list[str]]:
    """(the replies in order, the deliveries as a sorted multiset).

    RabbitMQ's queue process sends deliveries while the channel answers
    methods: within one step, a delivery may come before or after a reply.
    """
    replies: list[tuple[Any, ...]] = []
    deliveries: list[list[tuple[Any, ...]]] = []
    group = replies  # where content frames go: after the method that carries them
    for item in seen:
        if item[1] == "Basic.Deliver":
            deliveries.append([item])
            group = deliveries[-1]
        elif item[1] in ("ContentHeader", "ContentBody"):
            group.append(item)
        else:
            replies.append(item)
            group = replies
    return replies, sorted(repr(d) for d in deliveries)


def _closed(frames: list[tuple[int, Any]]) -> bool:
    return any(isinstance(v, C.Connection.Close) for _, v in frames)


def _cleanup(token: str) -> None:
    conn = amqp.Connection(host=f"{HOST}:{PORT}")
    conn.connect()
    try:
        for name in QUEUES:
            ch = conn.channel()
            with contextlib.suppress(Exception):
                ch.queue_delete(f"{token}.{name}")
        for name, _ in EXCHANGES:
            ch = conn.channel()
            with contextlib.suppress(Exception):
                ch.exchange_delete(f"{token}.{name}")
    finally:
        conn.close()


@settings(
    max_examples=int(os.environ.get("FAKEBROKER_DIFF_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(start=st.sampled_from(PREAMBLES), more=st.lists(OPS, min_size=1, max_size=15))
def test_raw_frames_get_rabbitmqs_answers(start: list[Op], more: list[Op]) -> None:
    """Op by op, as a client would (waiting for replies); fakebroker says how many to wait for."""
    with _unvalidated():
        _compare([*start, *more])


@contextlib.contextmanager
def _unvalidated() -> Iterator[None]:
    """pamqp's constructors and marshal as a client that sends any name RabbitMQ takes."""
    classes = [cls for cls in C.INDEX_MAPPING.values() if "validate" in cls.__dict__]
    saved = [cls.__dict__["validate"] for cls in classes]
    try:
        for cls in classes:
            cls.validate = lambda self: None  # type: ignore[method-assign]
        yield
    finally:
        for cls, validate in zip(classes, saved, strict=True):
            cls.validate = validate  # type: ignore[method-assign]


def _recounted(
    rabbit: _Rabbit, op: Op, token: str, got: list[tuple[Any, ...]], seen: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """RabbitMQ's declare-ok once its queue has taken in every publish sent before.

    RabbitMQ answers queue.declare with a ``stat`` call that its queue process
    takes before the deliveries in its mailbox (gen_server2 priorities), so on
    a loaded server declare-ok can count fewer messages than the queue holds.
    When that is the only difference, ask again (passive), a bounded number of
    round trips, until the count is the one fakebroker gave.
    """
    if op[0] not in ("declare_q", "declare_q_args") or len(got) != len(seen):
        return seen
    diffs = [k for k, (want, have) in enumerate(zip(got, seen, strict=True)) if want != have]
    if len(diffs) != 1:
        return seen
    k = diffs[0]
    want, have = got[k], seen[k]
    same_kind = want[:2] == have[:2] == (1, "Queue.DeclareOk") and want[3] == have[3]
    if not (same_kind and have[2] < want[2]):
        return seen
    ask = method_frame(1, C.Queue.Declare(queue=f"{token}.{op[1]}", passive=True))
    for _ in range(50):
        rabbit.sock.sendall(ask)
        again = _observable(rabbit.read(1, timeout=5.0), token)
        if len(again) != 1 or again[0][:2] != want[:2]:
            return seen  # something else came: let the comparison show it
        if again[0] == want:
            return [*seen[:k], again[0], *seen[k + 1 :]]
    return seen


def _compare(ops: list[Op]) -> None:
    token = f"fd{secrets.token_hex(4)}"
    fake = RawClient()
    fake.handshake()
    rabbit = _Rabbit()
    try:
        for i, op in enumerate([("open",), *ops]):
            payload = b"".join(_frames(op, token))
            got = _observable(fake.send(payload), token)
            rabbit.sock.sendall(payload)
            replies = rabbit.read(len(got), timeout=5.0 if got else 0.0)  # a bound, not a wait
            seen = _recounted(rabbit, op, token, got, _observable(replies, token))
            assert _split(got) == _split(seen), f"op {i}: {op}"
            if _closed(replies):
                return
        # Nothing more is on its way from RabbitMQ: the sentinel's reply, then silence.
        rabbit.sock.sendall(method_frame(SENTINEL, C.Channel.Open()))
        late = rabbit.read_until(_sentinel_answered, 5.0)
        late += rabbit.read(1, timeout=QUIET)
        assert _observable(late, token) == [], late
    finally:
        rabbit.close()
        _cleanup(token)
