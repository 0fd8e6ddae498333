"""Ask the real RabbitMQ (127.0.0.1:5672) the conformance questions; dump the answers as JSON.

Standalone script (not collected by pytest). Usage::

    python tests/conformance/probe_rabbitmq.py [--out fixtures/conformance/rabbitmq-3.10-probe.json]
    python tests/conformance/probe_rabbitmq.py --only dlx,topic

Every queue and exchange it makes is named ``probe-<random>-...`` and is deleted at the end.
Errors are recorded as {reply_code, reply_text, method_sig, closed: "channel"|"connection"}.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import sys
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from struct import unpack_from
from typing import Any

import amqp
from amqp import serialization
from amqp.exceptions import AMQPError

HOST = "127.0.0.1:5672"
SUFFIX = secrets.token_hex(3)
PREFIX = f"probe-{SUFFIX}-"

# ---------------------------------------------------------------------------
# Raw capture: the typed headers of every message and the raw connection.tune.

_orig_decode = serialization.PROPERTY_CLASSES[60]


def _decode_keep_raw(buf: Any, offset: int) -> tuple[dict[str, Any], int]:
    props, end = _orig_decode(buf, offset)
    props["__raw__"] = bytes(buf[offset:end])
    return props, end


serialization.PROPERTY_CLASSES[60] = _decode_keep_raw
TUNE: dict[str, int] = {}
_orig_on_tune = amqp.Connection._on_tune


TUNE_OK_CHANNEL_MAX: list[int] = []  # when set, tune-ok answers this channel_max


def _on_tune(
    self: Any, channel_max: int, frame_max: int, heartbeat: int, argsig: str = "BlB"
) -> Any:
    TUNE.update(channel_max=channel_max, frame_max=frame_max, heartbeat=heartbeat)
    if TUNE_OK_CHANNEL_MAX:
        channel_max = TUNE_OK_CHANNEL_MAX[0]
    return _orig_on_tune(self, channel_max, frame_max, heartbeat, argsig)


amqp.Connection._on_tune = _on_tune


def _typed(buf: bytes, off: int) -> tuple[Any, int]:
    """One field value as [type letter, value] (tables and arrays nested)."""
    t = chr(buf[off])
    off += 1
    fixed = {
        "b": ">b",
        "B": ">B",
        "s": ">h",
        "U": ">h",
        "u": ">H",
        "I": ">i",
        "i": ">I",
        "l": ">q",
        "L": ">q",
        "f": ">f",
        "d": ">d",
        "T": ">Q",
        "t": ">B",
    }
    if t in fixed:
        fmt = fixed[t]
        (v,) = unpack_from(fmt, buf, off)
        off += {"b": 1, "B": 1, "t": 1, "s": 2, "U": 2, "u": 2, "I": 4, "i": 4, "f": 4}.get(t, 8)
        return [t, bool(v) if t == "t" else v], off
    if t in "Sx":
        (n,) = unpack_from(">I", buf, off)
        raw = buf[off + 4 : off + 4 + n]
        return [t, raw.decode("utf-8", "replace")], off + 4 + n
    if t == "D":
        d, n = unpack_from(">Bi", buf, off)
        return [t, str(Decimal(n) / Decimal(10**d))], off + 5
    if t == "F":
        return _typed_table(buf, off)
    if t == "A":
        (n,) = unpack_from(">I", buf, off)
        off += 4
        end, items = off + n, []
        while off < end:
            item, off = _typed(buf, off)
            items.append(item)
        return ["A", items], off
    if t == "V":
        return ["V", None], off
    raise ValueError(t)


def _typed_table(buf: bytes, off: int) -> tuple[Any, int]:
    (n,) = unpack_from(">I", buf, off)
    off += 4
    end, out = off + n, {}
    while off < end:
        klen = buf[off]
        key = buf[off + 1 : off + 1 + klen].decode()
        off += 1 + klen
        out[key], off = _typed(buf, off)
    return ["F", out], off


def typed_headers(raw: bytes) -> Any:
    """The headers table of raw basic properties, typed; None when absent."""
    (flags,) = unpack_from(">H", raw, 0)
    off = 2
    for bit in (0x8000, 0x4000):
        if flags & bit:
            off += 1 + raw[off]
    if not flags & 0x2000:
        return None
    return _typed_table(raw, off)[0][1]


# ---------------------------------------------------------------------------
# Plumbing


def jsonable(x: Any) -> Any:
    if isinstance(x, amqp.Message):
        props = {k: jsonable(v) for k, v in x.properties.items() if k != "__raw__"}
        info = {k: v for k, v in x.delivery_info.items() if isinstance(v, (str, int, bool))}
        out = {"body": jsonable(x.body), "delivery_info": info, "properties": props}
        if "__raw__" in x.properties:
            out["typed_headers"] = typed_headers(x.properties["__raw__"])
        return out
    if hasattr(x, "_asdict"):
        return {k: jsonable(v) for k, v in x._asdict().items()}
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (bytes, bytearray, memoryview)):
        try:
            return bytes(x).decode()
        except UnicodeDecodeError:
            return repr(bytes(x))
    if isinstance(x, (datetime, Decimal)):
        return str(x)
    if x is None or isinstance(x, (str, int, float, bool)):
        return x
    return repr(x)


def err(e: BaseException, conn: amqp.Connection) -> dict[str, Any]:
    sig = getattr(e, "method_sig", None)
    return {
        "ok": False,
        "exception": type(e).__name__,
        "reply_code": getattr(e, "reply_code", None),
        "reply_text": getattr(e, "reply_text", str(e)),
        "method_sig": list(sig) if sig else None,
        "closed": "channel" if conn.connected else "connection",
    }


class Probe:
    """One main connection (reopened after connection errors) and the names to delete."""

    def __init__(self) -> None:
        self.names: list[tuple[str, str]] = []
        self.conns: list[amqp.Connection] = []
        self.conn = self.connect()

    def connect(self) -> amqp.Connection:
        c = amqp.Connection(HOST, userid="guest", password="guest", connect_timeout=5)
        c.connect()
        self.conns.append(c)
        return c

    def main(self) -> amqp.Connection:
        if not self.conn.connected:
            self.conn = self.connect()
        return self.conn

    def ch(self, conn: amqp.Connection | None = None) -> Any:
        return (conn or self.main()).channel()

    def q(self, name: str) -> str:
        full = PREFIX + name
        self.names.append(("queue", full))
        return full

    def x(self, name: str) -> str:
        full = PREFIX + name
        self.names.append(("exchange", full))
        return full

    def attempt(self, fn: Callable[[], Any], conn: amqp.Connection | None = None) -> dict[str, Any]:
        try:
            return {"ok": True, "result": jsonable(fn())}
        except AMQPError as e:
            return err(e, conn or self.conn)

    def cleanup(self) -> None:
        for c in self.conns:
            with contextlib.suppress(Exception):
                c.close()
        c = self.connect()
        for kind, name in self.names:
            ch = c.channel()
            try:
                if kind == "queue":
                    ch.queue_delete(name)
                else:
                    ch.exchange_delete(name)
                ch.close()
            except AMQPError:
                if not c.connected:
                    c = self.connect()
        c.close()


def declare_q(
    ch: Any,
    name: str,
    *,
    durable: bool = False,
    exclusive: bool = False,
    auto_delete: bool = False,
    arguments: dict[str, Any] | None = None,
    passive: bool = False,
) -> Any:
    return ch.queue_declare(
        name,
        passive=passive,
        durable=durable,
        exclusive=exclusive,
        auto_delete=auto_delete,
        arguments=arguments,
    )


def declare_x(
    ch: Any,
    name: str,
    type: str = "direct",
    *,
    durable: bool = False,
    auto_delete: bool = False,
    internal: bool = False,
    passive: bool = False,
    arguments: dict[str, Any] | None = None,
) -> Any:
    """exchange.declare with the internal flag (py-amqp always sends internal=False)."""
    return ch.send_method(
        amqp.spec.Exchange.Declare,
        "BssbbbbbF",
        (0, name, type, passive, durable, auto_delete, internal, False, arguments),
        wait=amqp.spec.Exchange.DeclareOk,
    )


def pub(ch: Any, rk: str, body: str = "m", exchange: str = "", **props: Any) -> None:
    if "headers" in props:  # py-amqp calls the headers property application_headers
        props["application_headers"] = props.pop("headers")
    mandatory = props.pop("mandatory", False)
    immediate = props.pop("immediate", False)
    ch.basic_publish(
        amqp.Message(body, **props),
        exchange=exchange,
        routing_key=rk,
        mandatory=mandatory,
        immediate=immediate,
    )


def basic_nack(ch: Any, tag: int, multiple: bool = False, requeue: bool = True) -> None:
    """basic.nack (py-amqp has no method for it)."""
    ch.send_method(amqp.spec.Basic.Nack, "Lbb", (tag, multiple, requeue))


def recover(ch: Any, requeue: bool) -> Any:
    """basic.recover waiting for recover-ok (py-amqp's basic_recover does not wait)."""
    return ch.send_method(amqp.spec.Basic.Recover, "b", (requeue,), wait=amqp.spec.Basic.RecoverOk)


def sync(ch: Any) -> Any:
    """A round trip on ``ch``: surfaces an asynchronous channel.close."""
    return ch.exchange_declare("amq.fanout", "fanout", passive=True)


def drain(conn: amqp.Connection, timeout: float = 0.25) -> None:
    while True:
        try:
            conn.drain_events(timeout=timeout)
        except TimeoutError:
            return


def get_all(ch: Any, q: str, no_ack: bool = True) -> list[Any]:
    out = []
    while (m := ch.basic_get(q, no_ack=no_ack)) is not None:
        out.append(m)
    return out


def bodies(msgs: list[Any]) -> list[str]:
    return [jsonable(m.body) for m in msgs]


def count(p: Probe, q: str) -> Any:
    ch = p.ch()
    try:
        r = declare_q(ch, q, passive=True)
        ch.close()
        return {"message_count": r.message_count, "consumer_count": r.consumer_count}
    except AMQPError as e:
        return err(e, p.conn)


def wait_until(pred: Callable[[], bool], limit: float = 3.0, step: float = 0.05) -> float:
    start = time.monotonic()
    while not pred() and time.monotonic() - start < limit:
        time.sleep(step)
    return round(time.monotonic() - start, 2)


# ---------------------------------------------------------------------------
# Scenarios: each returns a dict of named observations.

SCENARIOS: dict[str, Callable[[Probe], dict[str, Any]]] = {}


def scenario(name: str) -> Callable[[Callable[[Probe], dict[str, Any]]], Any]:
    def deco(fn: Callable[[Probe], dict[str, Any]]) -> Any:
        SCENARIOS[name] = fn
        return fn

    return deco


@scenario("passive_missing")
def s_passive_missing(p: Probe) -> dict[str, Any]:
    return {
        "queue": p.attempt(lambda: declare_q(p.ch(), p.q("missing"), passive=True)),
        "exchange": p.attempt(lambda: declare_x(p.ch(), p.x("missing"), passive=True)),
        "exchange_passive_wrong_type_existing": p.attempt(
            lambda: declare_x(p.ch(), "amq.direct", "fanout", passive=True)
        ),
        "queue_passive_existing_other_flags": p.attempt(
            lambda: (
                declare_q(p.ch(), p.q("pexist")),
                declare_q(
                    p.ch(),
                    PREFIX + "pexist",
                    passive=True,
                    durable=True,
                    exclusive=True,
                    arguments={"x-message-ttl": 5},
                ),
            )
        ),
    }


QBASE = {"x-message-ttl": 1000, "x-max-length": 10, "x-foo": "a"}
QVARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {
    "durable": ({"durable": True}, QBASE),
    "exclusive": ({"exclusive": True}, QBASE),
    "auto_delete": ({"auto_delete": True}, QBASE),
    "ttl_changed": ({}, {**QBASE, "x-message-ttl": 2000}),
    "ttl_removed": ({}, {k: v for k, v in QBASE.items() if k != "x-message-ttl"}),
    "ttl_as_string": ({}, {**QBASE, "x-message-ttl": "1000"}),
    "max_length_changed": ({}, {**QBASE, "x-max-length": 11}),
    "max_length_removed": ({}, {k: v for k, v in QBASE.items() if k != "x-max-length"}),
    "x_foo_changed": ({}, {**QBASE, "x-foo": "b"}),
    "x_foo_removed": ({}, {k: v for k, v in QBASE.items() if k != "x-foo"}),
    "x_expires_added": ({}, {**QBASE, "x-expires": 100000}),
    "dlx_added": ({}, {**QBASE, "x-dead-letter-exchange": "dlx"}),
    "max_priority_added": ({}, {**QBASE, "x-max-priority": 5}),
    "overflow_added": ({}, {**QBASE, "x-overflow": "reject-publish"}),
    "queue_mode_added": ({}, {**QBASE, "x-queue-mode": "lazy"}),
    "queue_type_classic_added": ({}, {**QBASE, "x-queue-type": "classic"}),
    "all_args_removed": ({}, None),
    "identical": ({}, QBASE),
}


@scenario("queue_redeclare")
def s_queue_redeclare(p: Probe) -> dict[str, Any]:
    out: dict[str, Any] = {
        "base": {"flags": "durable=False exclusive=False auto_delete=False", "arguments": QBASE}
    }
    for name, (flags, args) in QVARIANTS.items():
        q = p.q("rq-" + name)
        declare_q(p.ch(), q, arguments=QBASE)
        out[name] = p.attempt(lambda q=q, a=args, f=flags: declare_q(p.ch(), q, arguments=a, **f))
    # no-argument base, then an argument added
    for arg, val in [
        ("x-message-ttl", 5),
        ("x-max-length", 3),
        ("x-foo", "a"),
        ("x-expires", 100000),
        ("x-max-priority", 3),
        ("x-dead-letter-exchange", "d"),
        ("x-single-active-consumer", True),
        ("x-queue-type", "classic"),
    ]:
        q = p.q("rq0-" + arg)
        declare_q(p.ch(), q)
        out["noargs_then_" + arg] = p.attempt(
            lambda q=q, a={arg: val}: declare_q(p.ch(), q, arguments=a)
        )
    # durable queue redeclared non-durable, exclusive queue redeclared non-exclusive (same conn)
    q = p.q("rq-dur")
    declare_q(p.ch(), q, durable=True)
    out["durable_then_nondurable"] = p.attempt(lambda: declare_q(p.ch(), q))
    q = p.q("rq-excl")
    declare_q(p.ch(), q, exclusive=True)
    out["exclusive_then_nonexclusive_same_conn"] = p.attempt(lambda: declare_q(p.ch(), q))
    q = p.q("rq-ad")
    declare_q(p.ch(), q, auto_delete=True)
    out["autodelete_then_not"] = p.attempt(lambda: declare_q(p.ch(), q))
    return out


XBASE = {"alternate-exchange": "ae1", "x-foo": "a"}


@scenario("exchange_redeclare")
def s_exchange_redeclare(p: Probe) -> dict[str, Any]:
    out: dict[str, Any] = {
        "base": {
            "type": "direct",
            "flags": "durable=False auto_delete=False internal=False",
            "arguments": XBASE,
        }
    }
    variants: dict[str, tuple[str, dict[str, Any], dict[str, Any] | None]] = {
        "type": ("fanout", {}, XBASE),
        "durable": ("direct", {"durable": True}, XBASE),
        "auto_delete": ("direct", {"auto_delete": True}, XBASE),
        "internal": ("direct", {"internal": True}, XBASE),
        "ae_changed": ("direct", {}, {**XBASE, "alternate-exchange": "ae2"}),
        "ae_removed": ("direct", {}, {"x-foo": "a"}),
        "x_foo_changed": ("direct", {}, {**XBASE, "x-foo": "b"}),
        "args_removed": ("direct", {}, None),
        "identical": ("direct", {}, XBASE),
    }
    for name, (typ, flags, args) in variants.items():
        x = p.x("rx-" + name)
        declare_x(p.ch(), x, arguments=XBASE)
        out[name] = p.attempt(
            lambda x=x, t=typ, a=args, f=flags: declare_x(p.ch(), x, t, arguments=a, **f)
        )
    return out


@scenario("amq_prefix")
def s_amq_prefix(p: Probe) -> dict[str, Any]:
    p.names += [("queue", "amq.foo"), ("exchange", "amq.foo")]
    return {
        "exchange_declare_amq.foo": p.attempt(lambda: declare_x(p.ch(), "amq.foo")),
        "exchange_declare_passive_amq.foo": p.attempt(
            lambda: declare_x(p.ch(), "amq.foo", passive=True)
        ),
        "queue_declare_amq.foo": p.attempt(lambda: declare_q(p.ch(), "amq.foo")),
        "queue_declare_passive_amq.foo": p.attempt(
            lambda: declare_q(p.ch(), "amq.foo", passive=True)
        ),
        "queue_declare_AMQ.foo_uppercase": p.attempt(
            lambda: declare_q(p.ch(), "AMQ.foo-" + SUFFIX)
        ),
        "exchange_delete_amq.foo_missing": p.attempt(lambda: p.ch().exchange_delete("amq.foo")),
        "queue_delete_amq.foo_missing": p.attempt(lambda: p.ch().queue_delete("amq.foo")),
    }


@scenario("default_and_system_exchanges")
def s_default_exchange(p: Probe) -> dict[str, Any]:
    q = p.q("defx")
    declare_q(p.ch(), q)
    p.names.append(("queue", "AMQ.foo-" + SUFFIX))
    return {
        "queue_bind_default": p.attempt(lambda: p.ch().queue_bind(q, "", q)),
        "queue_unbind_default": p.attempt(lambda: p.ch().queue_unbind(q, "", q)),
        "exchange_delete_default": p.attempt(lambda: p.ch().exchange_delete("")),
        "exchange_delete_amq.direct": p.attempt(lambda: p.ch().exchange_delete("amq.direct")),
        "exchange_declare_default_passive": p.attempt(lambda: declare_x(p.ch(), "", passive=True)),
        "exchange_declare_default": p.attempt(lambda: declare_x(p.ch(), "", durable=True)),
        "exchange_declare_amq.direct_same": p.attempt(
            lambda: declare_x(p.ch(), "amq.direct", durable=True)
        ),
        "exchange_declare_amq.direct_nondurable": p.attempt(
            lambda: declare_x(p.ch(), "amq.direct")
        ),
        "exchange_declare_amq.direct_fanout": p.attempt(
            lambda: declare_x(p.ch(), "amq.direct", "fanout", durable=True)
        ),
        "exchange_bind_dest_default": p.attempt(
            lambda: p.ch().exchange_bind("", "amq.direct", "k")
        ),
        "exchange_bind_source_default": p.attempt(
            lambda: p.ch().exchange_bind("amq.fanout", "", "k")
        ),
        "exchange_declare_amq.rabbitmq.trace_passive": p.attempt(
            lambda: declare_x(p.ch(), "amq.rabbitmq.trace", "topic", passive=True)
        ),
        "publish_amq.rabbitmq.trace_then_sync": p.attempt(
            lambda: (lambda c: (pub(c, "x", exchange="amq.rabbitmq.trace"), sync(c)))(p.ch())
        ),
    }


@scenario("exclusive_other_connection")
def s_exclusive(p: Probe) -> dict[str, Any]:
    owner = p.connect()
    q = p.q("excl")
    declare_q(owner.channel(), q, exclusive=True)
    pub(owner.channel(), q)
    other = p.connect()

    def on_other(fn: Callable[[Any], Any]) -> dict[str, Any]:
        nonlocal other
        if not other.connected:
            other = p.connect()
        return p.attempt(lambda: fn(other.channel()), conn=other)

    out = {
        "declare_same_args": on_other(lambda c: declare_q(c, q, exclusive=True)),
        "declare_nonexclusive": on_other(lambda c: declare_q(c, q)),
        "declare_passive": on_other(lambda c: declare_q(c, q, passive=True)),
        "consume": on_other(lambda c: c.basic_consume(q, callback=lambda m: None)),
        "get": on_other(lambda c: c.basic_get(q)),
        "bind": on_other(lambda c: c.queue_bind(q, "amq.direct", "k")),
        "unbind": on_other(lambda c: c.queue_unbind(q, "amq.direct", "k")),
        "purge": on_other(lambda c: c.queue_purge(q)),
        "delete": on_other(lambda c: c.queue_delete(q)),
        "publish_to_it_then_sync": on_other(lambda c: (pub(c, q), sync(c))),
        "owner_count_after": count_on(owner, q),
    }
    owner.close()
    out["after_owner_closed_passive"] = count(p, q)
    other.close()
    return out


def count_on(conn: amqp.Connection, q: str) -> Any:
    r = declare_q(conn.channel(), q, passive=True)
    return {"message_count": r.message_count, "consumer_count": r.consumer_count}


@scenario("delete_conditions")
def s_delete_conditions(p: Probe) -> dict[str, Any]:
    out: dict[str, Any] = {}
    q = p.q("del-unused")
    ch = p.ch()
    declare_q(ch, q)
    ch.basic_consume(q, callback=lambda m: None)
    out["queue_delete_if_unused_with_consumer"] = p.attempt(
        lambda: p.ch().queue_delete(q, if_unused=True)
    )
    q2 = p.q("del-empty")
    ch = p.ch()
    declare_q(ch, q2)
    pub(ch, q2)
    out["queue_delete_if_empty_with_messages"] = p.attempt(
        lambda: p.ch().queue_delete(q2, if_empty=True)
    )
    q3 = p.q("del-empty-unacked")
    ch = p.ch()
    declare_q(ch, q3)
    pub(ch, q3)
    ch.basic_get(q3)
    out["queue_delete_if_empty_only_unacked"] = p.attempt(
        lambda: p.ch().queue_delete(q3, if_empty=True)
    )
    x = p.x("del-x")
    declare_x(p.ch(), x)
    p.ch().queue_bind(q2, x, "k")
    out["exchange_delete_if_unused_with_binding"] = p.attempt(
        lambda: p.ch().exchange_delete(x, if_unused=True)
    )
    x2 = p.x("del-x2")
    declare_x(p.ch(), x2)
    p.ch().exchange_bind(x2, x, "k")  # x2 is a destination only
    out["exchange_delete_if_unused_only_destination"] = p.attempt(
        lambda: p.ch().exchange_delete(x2, if_unused=True)
    )
    # counts: do unacked messages count?
    q4 = p.q("del-count")
    ch = p.ch()
    declare_q(ch, q4)
    for i in range(3):
        pub(ch, q4, f"m{i}")
    held = ch.basic_get(q4)
    out["purge_with_3_ready_1_of_them_got_unacked"] = p.attempt(lambda: p.ch().queue_purge(q4))
    ch.basic_reject(held.delivery_tag, requeue=True)
    out["count_after_requeue_of_unacked_after_purge"] = count(p, q4)
    for i in range(2):
        pub(ch, q4, f"n{i}")
    ch.basic_get(q4)
    out["delete_with_2_ready_plus_1_unacked"] = p.attempt(lambda: p.ch().queue_delete(q4))
    out["ack_after_queue_deleted"] = p.attempt(lambda: (ch.basic_ack(2), sync(ch)))
    return out


@scenario("missing_entities")
def s_missing(p: Probe) -> dict[str, Any]:
    q = p.q("exists")
    x = p.x("exists")
    declare_q(p.ch(), q)
    declare_x(p.ch(), x)
    mq, mx = PREFIX + "nope-q", PREFIX + "nope-x"
    return {
        "queue_delete_missing": p.attempt(lambda: p.ch().queue_delete(mq)),
        "queue_delete_missing_if_empty": p.attempt(lambda: p.ch().queue_delete(mq, if_empty=True)),
        "queue_purge_missing": p.attempt(lambda: p.ch().queue_purge(mq)),
        "exchange_delete_missing": p.attempt(lambda: p.ch().exchange_delete(mx)),
        "exchange_delete_missing_if_unused": p.attempt(
            lambda: p.ch().exchange_delete(mx, if_unused=True)
        ),
        "queue_unbind_no_such_binding": p.attempt(lambda: p.ch().queue_unbind(q, x, "nokey")),
        "queue_unbind_missing_queue": p.attempt(lambda: p.ch().queue_unbind(mq, x, "k")),
        "queue_unbind_missing_exchange": p.attempt(lambda: p.ch().queue_unbind(q, mx, "k")),
        "queue_unbind_both_missing": p.attempt(lambda: p.ch().queue_unbind(mq, mx, "k")),
        "queue_bind_missing_queue": p.attempt(lambda: p.ch().queue_bind(mq, x, "k")),
        "queue_bind_missing_exchange": p.attempt(lambda: p.ch().queue_bind(q, mx, "k")),
        "queue_bind_both_missing": p.attempt(lambda: p.ch().queue_bind(mq, mx, "k")),
        "exchange_bind_missing_source": p.attempt(lambda: p.ch().exchange_bind(x, mx, "k")),
        "exchange_bind_missing_destination": p.attempt(lambda: p.ch().exchange_bind(mx, x, "k")),
        "exchange_unbind_missing_source": p.attempt(lambda: p.ch().exchange_unbind(x, mx, "k")),
        "exchange_unbind_no_such_binding": p.attempt(
            lambda: p.ch().exchange_unbind(x, "amq.direct", "k")
        ),
        "queue_bind_twice": p.attempt(
            lambda: (p.ch().queue_bind(q, x, "k"), p.ch().queue_bind(q, x, "k"))
        ),
        "basic_get_missing_queue": p.attempt(lambda: p.ch().basic_get(mq)),
    }


def _confirm_log(ch: Any, log: list[Any]) -> None:
    ch.events["basic_ack"].add(lambda tag, multiple: log.append(["ack", tag, multiple]))
    ch.events["basic_nack"].add(lambda tag, multiple: log.append(["nack", tag, multiple]))
    ch.events["basic_return"].add(
        lambda exc, exchange, rk, msg: log.append(
            ["return", exc.reply_code, exc.reply_text, exchange, rk, jsonable(msg.body)]
        )
    )


@scenario("publish_errors")
def s_publish(p: Probe) -> dict[str, Any]:
    out: dict[str, Any] = {}
    mx = PREFIX + "nope-x"
    out["publish_missing_exchange"] = p.attempt(
        lambda: (lambda c: (pub(c, "k", exchange=mx), sync(c)))(p.ch())
    )
    ix = p.x("internal")
    declare_x(p.ch(), ix, internal=True)
    out["publish_internal_exchange"] = p.attempt(
        lambda: (lambda c: (pub(c, "k", exchange=ix), sync(c)))(p.ch())
    )
    q = p.q("imm")
    declare_q(p.ch(), q)
    out["publish_immediate"] = p.attempt(
        lambda: (lambda c: (pub(c, q, immediate=True), sync(c)))(p.ch())
    )
    out["publish_missing_exchange_in_confirm_mode"] = p.attempt(
        lambda: (lambda c: (c.confirm_select(), pub(c, "k", exchange=mx), sync(c)))(p.ch())
    )
    # mandatory + confirms
    ch = p.ch()
    log: list[Any] = []
    _confirm_log(ch, log)
    ch.confirm_select()
    pub(ch, "nowhere-" + SUFFIX, "unroutable-default", mandatory=True)
    pub(ch, "nowhere-" + SUFFIX, "unroutable-amq.direct", exchange="amq.direct", mandatory=True)
    pub(ch, q, "routable", mandatory=True)
    pub(ch, "nowhere-" + SUFFIX, "unroutable-not-mandatory")
    drain(p.conn)
    out["mandatory_confirm_event_order"] = log
    ch2 = p.ch()
    log2: list[Any] = []
    _confirm_log(ch2, log2)
    pub(ch2, "nowhere-" + SUFFIX, "unroutable-no-confirm", exchange="amq.topic", mandatory=True)
    drain(p.conn)
    out["mandatory_without_confirms"] = log2
    # alternate exchange catches the unroutable mandatory message: no return
    ae, x = p.x("ae"), p.x("with-ae")
    declare_x(p.ch(), ae, "fanout")
    declare_x(p.ch(), x, arguments={"alternate-exchange": ae})
    qa = p.q("ae-q")
    declare_q(p.ch(), qa)
    p.ch().queue_bind(qa, ae, "")
    ch3 = p.ch()
    log3: list[Any] = []
    _confirm_log(ch3, log3)
    ch3.confirm_select()
    pub(ch3, "zzz", "via-ae", exchange=x, mandatory=True)
    x2 = p.x("with-missing-ae")
    declare_x(p.ch(), x2, arguments={"alternate-exchange": PREFIX + "nope-ae"})
    pub(ch3, "zzz", "missing-ae", exchange=x2, mandatory=True)
    drain(p.conn)
    out["alternate_exchange_events"] = log3
    out["alternate_exchange_queue"] = [jsonable(m) for m in get_all(p.ch(), qa)]
    return out


@scenario("types")
def s_types(p: Probe) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["exchange_unknown_type"] = p.attempt(lambda: declare_x(p.ch(), p.x("badtype"), "foo"))
    out["exchange_unknown_type_passive_missing"] = p.attempt(
        lambda: declare_x(p.ch(), p.x("badtype2"), "foo", passive=True)
    )
    out["exchange_type_x-consistent-hash"] = p.attempt(
        lambda: declare_x(p.ch(), p.x("chash"), "x-consistent-hash")
    )
    cases: dict[str, dict[str, Any]] = {
        "qtype_foo": {"arguments": {"x-queue-type": "foo"}},
        "qtype_stream_nondurable": {"arguments": {"x-queue-type": "stream"}},
        "qtype_stream_durable": {"durable": True, "arguments": {"x-queue-type": "stream"}},
        "qtype_quorum_nondurable": {"arguments": {"x-queue-type": "quorum"}},
        "qtype_quorum_durable": {"durable": True, "arguments": {"x-queue-type": "quorum"}},
        "qtype_quorum_exclusive": {
            "durable": True,
            "exclusive": True,
            "arguments": {"x-queue-type": "quorum"},
        },
        "qtype_quorum_auto_delete": {
            "durable": True,
            "auto_delete": True,
            "arguments": {"x-queue-type": "quorum"},
        },
        "qtype_quorum_max_priority": {
            "durable": True,
            "arguments": {"x-queue-type": "quorum", "x-max-priority": 5},
        },
        "qtype_quorum_overflow_drop_head": {
            "durable": True,
            "arguments": {"x-queue-type": "quorum", "x-overflow": "drop-head"},
        },
        "qtype_quorum_overflow_reject_publish_dlx": {
            "durable": True,
            "arguments": {"x-queue-type": "quorum", "x-overflow": "reject-publish-dlx"},
        },
        "qtype_quorum_queue_mode_lazy": {
            "durable": True,
            "arguments": {"x-queue-type": "quorum", "x-queue-mode": "lazy"},
        },
        "qtype_quorum_message_ttl": {
            "durable": True,
            "arguments": {"x-queue-type": "quorum", "x-message-ttl": 1000},
        },
        "qtype_quorum_x_foo": {
            "durable": True,
            "arguments": {"x-queue-type": "quorum", "x-foo": 1},
        },
        "qtype_classic": {"arguments": {"x-queue-type": "classic"}},
        "qtype_quorum_server_named": {
            "durable": True,
            "arguments": {"x-queue-type": "quorum"},
            "name": "",
        },
        "qtype_quorum_exclusive_nondurable": {
            "exclusive": True,
            "arguments": {"x-queue-type": "quorum"},
        },
    }
    for name, kw in cases.items():
        qname = kw.pop("name", None)
        q = p.q(name) if qname is None else qname
        out[name] = p.attempt(lambda q=q, kw=kw: declare_q(p.ch(), q, **kw))
    q = PREFIX + "qtype_quorum_durable"
    out["quorum_redeclare_as_classic"] = p.attempt(
        lambda: declare_q(p.ch(), q, durable=True, arguments={"x-queue-type": "classic"})
    )
    out["quorum_redeclare_without_type"] = p.attempt(lambda: declare_q(p.ch(), q, durable=True))
    q = PREFIX + "qtype_classic"
    out["classic_redeclare_as_quorum"] = p.attempt(
        lambda: declare_q(p.ch(), q, durable=True, arguments={"x-queue-type": "quorum"})
    )
    out["classic_redeclare_as_quorum_nondurable"] = p.attempt(
        lambda: declare_q(p.ch(), q, arguments={"x-queue-type": "quorum"})
    )
    return out


@scenario("invalid_args")
def s_invalid_args(p: Probe) -> dict[str, Any]:
    cases: dict[str, Any] = {
        "ttl_-1": {"x-message-ttl": -1},
        "ttl_abc": {"x-message-ttl": "abc"},
        "ttl_float": {"x-message-ttl": 1.5},
        "ttl_0": {"x-message-ttl": 0},
        "ttl_huge": {"x-message-ttl": 2**40},
        "max_length_-1": {"x-max-length": -1},
        "max_length_abc": {"x-max-length": "abc"},
        "max_length_0": {"x-max-length": 0},
        "max_length_bytes_-1": {"x-max-length-bytes": -1},
        "overflow_foo": {"x-overflow": "foo"},
        "overflow_int": {"x-overflow": 1},
        "max_priority_256": {"x-max-priority": 256},
        "max_priority_255": {"x-max-priority": 255},
        "max_priority_-1": {"x-max-priority": -1},
        "max_priority_0": {"x-max-priority": 0},
        "max_priority_abc": {"x-max-priority": "abc"},
        "expires_0": {"x-expires": 0},
        "expires_-1": {"x-expires": -1},
        "expires_abc": {"x-expires": "abc"},
        "dlrk_without_dlx": {"x-dead-letter-routing-key": "rk"},
        "dlx_int": {"x-dead-letter-exchange": 5},
        "sac_yes": {"x-single-active-consumer": "yes"},
        "sac_1": {"x-single-active-consumer": 1},
        "queue_mode_foo": {"x-queue-mode": "foo"},
        "queue_type_int": {"x-queue-type": 1},
        "delivery_limit_classic": {"x-delivery-limit": 3},
        "two_errors_ttl_then_maxlen": {"x-message-ttl": -1, "x-max-length": -1},
        "two_errors_maxlen_then_ttl": {"x-max-length": -1, "x-message-ttl": -1},
    }
    out: dict[str, Any] = {}
    for name, args in cases.items():
        q = p.q("ia-" + name)
        out[name] = {
            "arguments": args,
            "reply": p.attempt(lambda q=q, a=args: declare_q(p.ch(), q, arguments=a)),
        }
    out["exchange_ae_int"] = p.attempt(
        lambda: declare_x(p.ch(), p.x("ae-int"), arguments={"alternate-exchange": 5})
    )
    return out


def _acks_case(p: Probe, n_msgs: int, n_get: int, ops: list[tuple[str, int, bool]]) -> Any:
    """Fresh queue with n_msgs, basic.get n_get without ack, then ops; then counts."""
    q = p.q(f"ack-{secrets.token_hex(2)}")
    ch = p.ch()
    declare_q(ch, q)
    for i in range(n_msgs):
        pub(ch, q, f"m{i}")
    tags = [ch.basic_get(q).delivery_tag for _ in range(n_get)]

    def run() -> Any:
        for op, tag, flag in ops:
            if op == "ack":
                ch.basic_ack(tag, multiple=flag)
            elif op == "nack":
                basic_nack(ch, tag, multiple=flag, requeue=True)
            else:
                ch.basic_reject(tag, requeue=flag)
        return sync(ch)

    r = p.attempt(run)
    return {"tags_held": tags, "ops": ops, "reply": r, "after": count(p, q)}


@scenario("acks")
def s_acks(p: Probe) -> dict[str, Any]:
    return {
        "ack_unknown_no_unacked": _acks_case(p, 0, 0, [("ack", 5, False)]),
        "ack_unknown_with_unacked": _acks_case(p, 2, 2, [("ack", 5, False)]),
        "double_ack": _acks_case(p, 1, 1, [("ack", 1, False), ("ack", 1, False)]),
        "ack_multiple_unknown_no_unacked": _acks_case(p, 0, 0, [("ack", 99, True)]),
        "ack_multiple_above_all_unacked": _acks_case(p, 3, 2, [("ack", 99, True)]),
        "ack_multiple_gap_tag": _acks_case(p, 3, 3, [("ack", 2, False), ("ack", 2, True)]),
        "nack_unknown": _acks_case(p, 0, 0, [("nack", 7, False)]),
        "nack_multiple_unknown_with_unacked": _acks_case(p, 2, 2, [("nack", 9, True)]),
        "reject_unknown": _acks_case(p, 0, 0, [("reject", 7, True)]),
        "ack_0_multiple_with_unacked": _acks_case(p, 3, 3, [("ack", 0, True)]),
        "ack_0_multiple_no_unacked": _acks_case(p, 0, 0, [("ack", 0, True)]),
        "ack_0_single_with_unacked": _acks_case(p, 2, 2, [("ack", 0, False)]),
        "ack_0_single_no_unacked": _acks_case(p, 0, 0, [("ack", 0, False)]),
        "nack_0_multiple_with_unacked": _acks_case(p, 2, 2, [("nack", 0, True)]),
        "reject_0_with_unacked": _acks_case(p, 2, 2, [("reject", 0, True)]),
        "ack_of_no_ack_get": _no_ack_get_then_ack(p),
    }


def _no_ack_get_then_ack(p: Probe) -> Any:
    q = p.q("ack-noack")
    ch = p.ch()
    declare_q(ch, q)
    pub(ch, q)
    m = ch.basic_get(q, no_ack=True)
    return p.attempt(lambda: (ch.basic_ack(m.delivery_tag), sync(ch)))


@scenario("consumers")
def s_consumers(p: Probe) -> dict[str, Any]:
    out: dict[str, Any] = {}
    q = p.q("cons")
    ch = p.ch()
    declare_q(ch, q)
    ch.basic_consume(q, consumer_tag="first", callback=lambda m: None)
    out["exclusive_consume_while_other_consumer"] = p.attempt(
        lambda: p.ch().basic_consume(q, exclusive=True, callback=lambda m: None)
    )
    q2 = p.q("cons-excl")
    ch2 = p.ch()
    declare_q(ch2, q2)
    ch2.basic_consume(q2, consumer_tag="ex", exclusive=True, callback=lambda m: None)
    out["consume_while_exclusive_consumer"] = p.attempt(
        lambda: p.ch().basic_consume(q2, callback=lambda m: None)
    )
    out["consume_same_channel_while_exclusive_consumer"] = p.attempt(
        lambda: ch2.basic_consume(q2, consumer_tag="ex2", callback=lambda m: None)
    )
    out["get_while_exclusive_consumer"] = p.attempt(lambda: p.ch().basic_get(q2))
    out["reuse_consumer_tag_same_channel_same_queue"] = p.attempt(
        lambda: ch.basic_consume(q, consumer_tag="first", callback=lambda m: None)
    )
    ch = p.ch()
    ch.basic_consume(q, consumer_tag="first", callback=lambda m: None)
    out["reuse_consumer_tag_other_channel"] = {
        "ok": True,
        "note": "tag 'first' reused on a second channel without error",
    }
    out["reuse_consumer_tag_same_channel_other_queue"] = p.attempt(
        lambda: ch.basic_consume(q2, consumer_tag="first", callback=lambda m: None)
    )
    out["consume_missing_queue"] = p.attempt(
        lambda: p.ch().basic_consume(PREFIX + "nope-q", callback=lambda m: None)
    )
    out["cancel_unknown_tag"] = p.attempt(lambda: p.ch().basic_cancel("no-such-tag"))
    out["consume_no_ack_and_exclusive_args"] = p.attempt(
        lambda: p.ch().basic_consume(
            q, no_ack=True, callback=lambda m: None, arguments={"x-priority": 5}
        )
    )
    out["consume_x_priority_string"] = p.attempt(
        lambda: p.ch().basic_consume(q, callback=lambda m: None, arguments={"x-priority": "hi"})
    )
    out["consumer_count"] = count(p, q)
    return out


@scenario("tx_confirm")
def s_tx(p: Probe) -> dict[str, Any]:
    def both(a: str, b: str) -> Any:
        ch = p.ch()
        getattr(ch, a)()
        return p.attempt(lambda: getattr(ch, b)())

    return {
        "tx_select_after_confirm_select": both("confirm_select", "tx_select"),
        "confirm_select_after_tx_select": both("tx_select", "confirm_select"),
        "tx_select_twice": both("tx_select", "tx_select"),
        "confirm_select_twice": both("confirm_select", "confirm_select"),
        "tx_commit_without_select": p.attempt(lambda: p.ch().tx_commit()),
        "tx_rollback_without_select": p.attempt(lambda: p.ch().tx_rollback()),
        "tx_rollback_of_ack_requeues": _tx_rollback_ack(p),
    }


def _tx_rollback_ack(p: Probe) -> Any:
    q = p.q("tx-ack")
    ch = p.ch()
    declare_q(ch, q)
    pub(ch, q)
    ch.tx_select()
    m = ch.basic_get(q)
    ch.basic_ack(m.delivery_tag)
    ch.tx_rollback()
    before = count(p, q)
    again = p.attempt(lambda: (ch.basic_ack(m.delivery_tag), ch.tx_commit()))
    return {
        "count_after_rollback": before,
        "ack_again_and_commit": again,
        "count_after_commit": count(p, q),
    }


@scenario("generated_names")
def s_names(p: Probe) -> dict[str, Any]:
    ch = p.ch()
    queues = [declare_q(ch, "", exclusive=True).queue for _ in range(5)]
    q = queues[0]
    tags = [ch.basic_consume(q, callback=lambda m: None) for _ in range(5)]
    c2 = p.ch()
    tags2 = [c2.basic_consume(q, callback=lambda m: None) for _ in range(2)]

    def shape(names: list[str], prefix: str) -> Any:
        rest = [n[len(prefix) :] for n in names]
        return {
            "lengths": sorted({len(n) for n in names}),
            "suffix_alphabet": "".join(sorted(set("".join(rest)))),
            "all_start_with_prefix": all(n.startswith(prefix) for n in names),
        }

    return {
        "queue_names": queues,
        "queue_shape": shape(queues, "amq.gen-"),
        "consumer_tags": tags + tags2,
        "ctag_shape": shape(tags + tags2, "amq.ctag-"),
        "queue_declare_empty_name_passive": p.attempt(lambda: declare_q(p.ch(), "", passive=True)),
        "queue_declare_empty_name_nonexclusive_durable": p.attempt(
            lambda: _tmp_named(p, durable=True)
        ),
        "basic_get_empty_queue_name_no_prior_declare": p.attempt(lambda: p.ch().basic_get("")),
        "basic_get_empty_queue_name_after_declare": p.attempt(
            lambda: (lambda c: (declare_q(c, "", exclusive=True), c.basic_get("")))(p.ch())
        ),
        "queue_bind_empty_name_after_declare": p.attempt(
            lambda: (
                lambda c: (declare_q(c, "", exclusive=True), c.queue_bind("", "amq.direct", ""))
            )(p.ch())
        ),
        "queue_purge_empty_name_no_prior_declare": p.attempt(lambda: p.ch().queue_purge("")),
    }


def _tmp_named(p: Probe, **kw: Any) -> Any:
    r = declare_q(p.ch(), "", **kw)
    p.names.append(("queue", r.queue))
    return r


def _count_deliveries(p: Probe, setup: Callable[[Any, list[Any]], None]) -> list[Any]:
    conn = p.connect()
    ch = conn.channel()
    got: list[Any] = []
    setup(ch, got)
    drain(conn, 0.3)
    conn.close()
    return got


@scenario("qos")
def s_qos(p: Probe) -> dict[str, Any]:
    out: dict[str, Any] = {
        "prefetch_size_1000": p.attempt(lambda: p.ch().basic_qos(1000, 0, False)),
        "prefetch_size_1000_global": p.attempt(lambda: p.ch().basic_qos(1000, 0, True)),
        "prefetch_count_65535": p.attempt(lambda: p.ch().basic_qos(0, 65535, False)),
    }
    qa, qb = p.q("qos-a"), p.q("qos-b")
    for q in (qa, qb):
        declare_q(p.ch(), q)

    def purge() -> None:
        ch = p.ch()
        for q in (qa, qb):
            ch.queue_purge(q)
        ch.close()

    def fill(ch: Any) -> None:
        for q in (qa, qb):
            for i in range(10):
                pub(ch, q, f"{q[-1]}{i}")

    def consume(ch: Any, got: list[Any], q: str, tag: str) -> None:
        ch.basic_consume(
            q, consumer_tag=tag, callback=lambda m: got.append(m.delivery_info["consumer_tag"])
        )

    def tally(got: list[Any]) -> dict[str, int]:
        return {t: got.count(t) for t in sorted(set(got))}

    def case(steps: Callable[[Any, list[Any]], None]) -> dict[str, int]:
        """Run the consume/qos steps on empty queues, then publish 10 messages to each."""
        purge()
        return tally(_count_deliveries(p, lambda ch, got: (steps(ch, got), fill(ch))))

    out["qos_2_after_consume_started"] = case(
        lambda ch, got: (consume(ch, got, qa, "A"), ch.basic_qos(0, 2, False))
    )
    out["qos_2_before_consume"] = case(
        lambda ch, got: (
            ch.basic_qos(0, 2, False),
            consume(ch, got, qa, "A"),
            consume(ch, got, qb, "B"),
        )
    )
    out["qos_2_between_two_consumers"] = case(
        lambda ch, got: (
            consume(ch, got, qa, "A"),
            ch.basic_qos(0, 2, False),
            consume(ch, got, qb, "B"),
        )
    )
    out["qos_3_global_two_consumers"] = case(
        lambda ch, got: (
            ch.basic_qos(0, 3, True),
            consume(ch, got, qa, "A"),
            consume(ch, got, qb, "B"),
        )
    )
    out["qos_2_per_consumer_and_3_global"] = case(
        lambda ch, got: (
            ch.basic_qos(0, 2, False),
            ch.basic_qos(0, 3, True),
            consume(ch, got, qa, "A"),
            consume(ch, got, qb, "B"),
        )
    )
    out["qos_3_global_then_2_per_consumer_A_then_1_B"] = case(
        lambda ch, got: (
            ch.basic_qos(0, 3, True),
            ch.basic_qos(0, 2, False),
            consume(ch, got, qa, "A"),
            ch.basic_qos(0, 1, False),
            consume(ch, got, qb, "B"),
        )
    )
    out["qos_global_set_after_consume"] = case(
        lambda ch, got: (consume(ch, got, qa, "A"), ch.basic_qos(0, 3, True))
    )

    def get_ignores_qos(ch: Any, got: list[Any]) -> None:
        fill(ch)
        ch.basic_qos(0, 1, False)
        ch.basic_qos(0, 1, True)
        for _ in range(3):
            m = ch.basic_get(qa)
            got.append("get" if m else "none")

    out["basic_get_ignores_prefetch_1"] = case(get_ignores_qos)
    return out


def _dlx_setup(
    p: Probe, tag: str, src_args: dict[str, Any], durable: bool = False
) -> tuple[str, str, str]:
    """A topic DLX bound with '#' to a capture queue; a source queue with src_args."""
    dlx, dlq, src = p.x(f"dlx-{tag}"), p.q(f"dlq-{tag}"), p.q(f"src-{tag}")
    ch = p.ch()
    declare_x(ch, dlx, "topic")
    declare_q(ch, dlq)
    ch.queue_bind(dlq, dlx, "#")
    declare_q(ch, src, durable=durable, arguments={"x-dead-letter-exchange": dlx, **src_args})
    return dlx, dlq, src


def _await_one(p: Probe, q: str, limit: float = 3.0) -> Any:
    ch = p.ch()
    box: list[Any] = []
    waited = wait_until(lambda: bool(box.append(ch.basic_get(q, no_ack=True)) or box[-1]), limit)
    return {"waited_s": waited, "message": jsonable(box[-1])}


@scenario("dead_lettering")
def s_dlx(p: Probe) -> dict[str, Any]:
    out: dict[str, Any] = {}
    props = {"headers": {"h": 1}, "message_id": "mid", "content_type": "text/plain"}
    # rejected
    _, dlq, src = _dlx_setup(p, "rej", {})
    ch = p.ch()
    p.ch().queue_bind(src, "amq.direct", "orig-rk")
    pub(ch, "orig-rk", "rejected", exchange="amq.direct", expiration="60000", **props)
    m = ch.basic_get(src)
    ch.basic_reject(m.delivery_tag, requeue=False)
    out["rejected_with_expiration_60000"] = _await_one(p, dlq)
    pub(ch, src, "nacked", **props)
    m = ch.basic_get(src)
    basic_nack(ch, m.delivery_tag, requeue=False)
    out["nacked"] = _await_one(p, dlq)
    # with x-dead-letter-routing-key
    _, dlq, src = _dlx_setup(p, "rk", {"x-dead-letter-routing-key": "new-rk"})
    pub(ch, src, "rk", **props)
    m = ch.basic_get(src)
    ch.basic_reject(m.delivery_tag, requeue=False)
    out["rejected_with_dlrk"] = _await_one(p, dlq)
    # CC / BCC headers
    _, dlq, src = _dlx_setup(p, "cc", {})
    cc_q, bcc_q = p.q("cc-target"), p.q("bcc-target")
    declare_q(ch, cc_q)
    declare_q(ch, bcc_q)
    pub(ch, src, "cc", headers={"CC": [cc_q], "BCC": [bcc_q]})
    m = ch.basic_get(src)
    out["cc_bcc_source_delivery_headers"] = jsonable(m)
    out["cc_target_got"] = [jsonable(x) for x in get_all(p.ch(), cc_q)]
    out["bcc_target_got"] = [jsonable(x) for x in get_all(p.ch(), bcc_q)]
    ch.basic_reject(m.delivery_tag, requeue=False)
    out["rejected_cc_bcc"] = _await_one(p, dlq)
    out["rejected_cc_bcc_more"] = [jsonable(x) for x in get_all(p.ch(), dlq)]
    # queue TTL
    _, dlq, src = _dlx_setup(p, "ttl", {"x-message-ttl": 50})
    pub(ch, src, "ttl", **props)
    out["queue_ttl_expired"] = _await_one(p, dlq)
    # per-message expiration
    _, dlq, src = _dlx_setup(p, "exp", {})
    pub(ch, src, "exp", expiration="50", **props)
    out["per_message_expiration_50"] = _await_one(p, dlq)
    # both: queue ttl 50 and message expiration 10000
    _, dlq, src = _dlx_setup(p, "exp2", {"x-message-ttl": 50})
    pub(ch, src, "exp2", expiration="10000", **props)
    out["queue_ttl_50_and_message_expiration_10000"] = _await_one(p, dlq)
    # max-length drop-head
    _, dlq, src = _dlx_setup(p, "maxlen", {"x-max-length": 1})
    pub(ch, src, "first", **props)
    pub(ch, src, "second", **props)
    out["maxlen_drop_head"] = _await_one(p, dlq)
    out["maxlen_drop_head_remaining_in_source"] = bodies(get_all(p.ch(), src))
    # two rounds between A and B through the default exchange
    a, b = p.q("ping"), p.q("pong")
    declare_q(ch, a, arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": b})
    declare_q(ch, b, arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": a})
    pub(ch, a, "rounds", **props)
    rounds = []
    for q in (a, b, a, b):
        m = _get_wait(ch, q)
        rounds.append({"got_from": q[len(PREFIX) :], "message": jsonable(m)})
        ch.basic_reject(m.delivery_tag, requeue=False)
    m = _get_wait(ch, a)
    rounds.append({"got_from": a[len(PREFIX) :], "message": jsonable(m)})
    ch.basic_ack(m.delivery_tag)
    out["rounds_reject_ping_pong"] = rounds
    # TTL cycle into own queue
    c = p.q("cycle")
    declare_q(ch, c, arguments={"x-message-ttl": 50, "x-dead-letter-exchange": ""})
    pub(ch, c, "cycle", **props)
    time.sleep(0.4)
    out["ttl_cycle_into_own_queue_after_400ms"] = count(p, c)
    c2 = p.q("cycle2")
    declare_q(ch, c2, arguments={"x-dead-letter-exchange": ""})
    pub(ch, c2, "cycle-exp", expiration="50")
    time.sleep(0.4)
    out["per_message_expiration_cycle_after_400ms"] = count(p, c2)
    # reject-cycle is not a cycle: rejected then expires back into own queue
    c3 = p.q("cycle3")
    declare_q(ch, c3, arguments={"x-message-ttl": 100, "x-dead-letter-exchange": ""})
    pub(ch, c3, "cycle-rej")
    m = ch.basic_get(c3)
    ch.basic_reject(m.delivery_tag, requeue=False)
    m = _get_wait(ch, c3)
    out["reject_into_own_queue_then_get"] = jsonable(m)
    ch.basic_ack(m.delivery_tag)
    # dlx to a missing exchange: message dropped silently
    src = p.q("dlx-missing")
    declare_q(ch, src, arguments={"x-dead-letter-exchange": PREFIX + "nope-x"})
    pub(ch, src, "lost")
    m = ch.basic_get(src)
    out["dlx_missing_exchange_reject"] = p.attempt(
        lambda: (ch.basic_reject(m.delivery_tag, requeue=False), sync(ch))
    )
    out["dlx_missing_exchange_count_after"] = count(p, src)
    return out


def _get_wait(ch: Any, q: str, limit: float = 3.0) -> Any:
    box: list[Any] = [None]
    wait_until(lambda: (box.__setitem__(0, ch.basic_get(q)) or box[0]) is not None, limit)
    return box[0]


@scenario("requeue_order")
def s_requeue(p: Probe) -> dict[str, Any]:
    out: dict[str, Any] = {}
    q = p.q("requeue")
    ch = p.ch()
    declare_q(ch, q)
    for i in range(1, 6):
        pub(ch, q, f"m{i}")
    got = [ch.basic_get(q) for _ in range(3)]
    basic_nack(ch, got[1].delivery_tag, requeue=True)
    ch.basic_reject(got[0].delivery_tag, requeue=True)
    rest = get_all(ch, q, no_ack=False)
    out["after_get_m1_m3_nack_m2_reject_m1"] = [
        {
            "body": jsonable(m.body),
            "redelivered": m.delivery_info["redelivered"],
            "delivery_tag": m.delivery_tag,
            "message_count": m.delivery_info.get("message_count"),
        }
        for m in rest
    ]
    ch.close()
    out["after_channel_close_all_requeued"] = [
        {"body": jsonable(m.body), "redelivered": m.delivery_info["redelivered"]}
        for m in get_all(p.ch(), q)
    ]
    # consumer channel closed with unacked messages
    ch = p.ch()
    for i in range(1, 6):
        pub(ch, q, f"c{i}")
    conn = p.connect()
    cc = conn.channel()
    got2: list[Any] = []
    cc.basic_qos(0, 3, False)
    cc.basic_consume(q, callback=got2.append)
    drain(conn, 0.2)
    cc.basic_ack(got2[1].delivery_tag)
    conn.close()
    out["consumer_got_c1_c3_acked_c2_then_connection_closed"] = {
        "consumer_got": bodies(got2),
        "then_queue": [
            {"body": jsonable(m.body), "redelivered": m.delivery_info["redelivered"]}
            for m in get_all(p.ch(), q)
        ],
    }
    # requeue multiple nack order
    for i in range(1, 5):
        pub(ch, q, f"n{i}")
    got3 = [ch.basic_get(q) for _ in range(3)]
    basic_nack(ch, got3[2].delivery_tag, multiple=True, requeue=True)
    out["nack_multiple_n1_n3_then_get"] = bodies(get_all(ch, q))
    return out


@scenario("counts")
def s_counts(p: Probe) -> dict[str, Any]:
    q = p.q("counts")
    ch = p.ch()
    declare_q(ch, q)
    for i in range(3):
        pub(ch, q, f"m{i}")
    g = ch.basic_get(q)
    out: dict[str, Any] = {"basic_get_of_3_message_count": g.delivery_info["message_count"]}
    out["declare_ok_with_2_ready_1_unacked_0_consumers"] = count(p, q)
    out["basic_get_ok_fields"] = jsonable(g)
    ch2 = p.ch()
    ch2.basic_qos(0, 1, False)
    ch2.basic_consume(q, callback=lambda m: None)
    drain(p.conn, 0.2)
    out["declare_ok_with_1_ready_2_unacked_1_consumer_prefetch_1"] = count(p, q)
    d = declare_q(p.ch(), q)
    out["non_passive_redeclare_ok"] = jsonable(d)
    out["purge_ok"] = jsonable(p.ch().queue_purge(q))
    out["basic_get_empty_returns"] = jsonable(p.ch().basic_get(q))
    return out


@scenario("overflow")
def s_overflow(p: Probe) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in ("reject-publish", "reject-publish-dlx", "drop-head"):
        _, dlq, src = _dlx_setup(p, "ov-" + mode, {"x-max-length": 2, "x-overflow": mode})
        ch = p.ch()
        log: list[Any] = []
        _confirm_log(ch, log)
        ch.confirm_select()
        for i in range(1, 4):
            pub(ch, src, f"m{i}")
        drain(p.conn, 0.3)
        out[mode] = {
            "confirm_events": log,
            "queue": bodies(get_all(p.ch(), src)),
            "dead_lettered": [jsonable(m) for m in get_all(p.ch(), dlq)],
        }
    # does reject-publish count unacked messages?
    q = p.q("ov-unacked")
    ch = p.ch()
    declare_q(ch, q, arguments={"x-max-length": 2, "x-overflow": "reject-publish"})
    pub(ch, q, "a")
    pub(ch, q, "b")
    ch.basic_get(q)
    ch.basic_get(q)
    log = []
    c2 = p.ch()
    _confirm_log(c2, log)
    c2.confirm_select()
    for b in ("c", "d", "e"):
        pub(c2, q, b)
    drain(p.conn, 0.3)
    out["reject_publish_with_2_unacked_publish_3"] = {"confirm_events": log, "count": count(p, q)}
    # max-length-bytes counts body bytes only?
    q = p.q("ov-bytes")
    declare_q(ch, q, arguments={"x-max-length-bytes": 10, "x-overflow": "reject-publish"})
    log = []
    c3 = p.ch()
    _confirm_log(c3, log)
    c3.confirm_select()
    pub(c3, q, "12345", headers={"big": "x" * 1000})
    pub(c3, q, "67890")
    pub(c3, q, "1")
    pub(c3, q, "")
    drain(p.conn, 0.3)
    out["max_length_bytes_10_bodies_5_5_1_0"] = {
        "confirm_events": log,
        "queue": bodies(get_all(p.ch(), q)),
    }
    q = p.q("ov-bytes-drop")
    declare_q(ch, q, arguments={"x-max-length-bytes": 10})
    for b in ("123456", "7890", "x"):
        pub(ch, q, b)
    out["max_length_bytes_10_drop_head_bodies_6_4_1"] = bodies(get_all(p.ch(), q))
    q = p.q("ov-zero")
    declare_q(ch, q, arguments={"x-max-length": 0})
    pub(ch, q, "z")
    out["max_length_0_publish_1"] = count(p, q)
    q = p.q("ov-zero-rp")
    declare_q(ch, q, arguments={"x-max-length": 0, "x-overflow": "reject-publish"})
    log = []
    c4 = p.ch()
    _confirm_log(c4, log)
    c4.confirm_select()
    pub(c4, q, "z")
    drain(p.conn, 0.3)
    out["max_length_0_reject_publish"] = {"confirm_events": log, "count": count(p, q)}
    return out


@scenario("quorum")
def s_quorum(p: Probe) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _, dlq, src = _dlx_setup(
        p, "qq", {"x-queue-type": "quorum", "x-delivery-limit": 2}, durable=True
    )
    ch = p.ch()
    pub(ch, src, "qm", headers={"h": 1})
    deliveries = []
    for _ in range(5):
        m = _get_wait(ch, src, 1.0)
        if m is None:
            deliveries.append(None)
            break
        deliveries.append(
            {
                "redelivered": m.delivery_info["redelivered"],
                "typed_headers": typed_headers(m.properties["__raw__"]),
            }
        )
        ch.basic_reject(m.delivery_tag, requeue=True)
    out["delivery_limit_2_reject_requeue_loop"] = deliveries
    out["dead_lettered_at_limit"] = _await_one(p, dlq, 2.0)
    # nack requeue counts too? and requeue position
    q = p.q("qq-order")
    declare_q(ch, q, durable=True, arguments={"x-queue-type": "quorum"})
    for i in range(1, 5):
        pub(ch, q, f"m{i}")
    time.sleep(0.1)
    g = [ch.basic_get(q) for _ in range(2)]
    ch.basic_reject(g[0].delivery_tag, requeue=True)
    out["quorum_get_m1_m2_reject_m1_then_order"] = [
        {
            "body": jsonable(m.body),
            "redelivered": m.delivery_info["redelivered"],
            "typed_headers": typed_headers(m.properties["__raw__"]),
        }
        for m in get_all(ch, q, no_ack=False)
    ]
    ch.close()
    ch = p.ch()
    out["quorum_after_channel_close_order"] = [
        {
            "body": jsonable(m.body),
            "redelivered": m.delivery_info["redelivered"],
            "typed_headers": typed_headers(m.properties["__raw__"]),
        }
        for m in get_all(ch, q)
    ]
    # basic.get message_count on quorum
    for i in range(3):
        pub(ch, q, f"k{i}")
    time.sleep(0.1)
    m = ch.basic_get(q, no_ack=True)
    out["quorum_basic_get_message_count_of_3"] = m.delivery_info["message_count"]
    out["quorum_declare_ok"] = count(p, q)
    # delivery limit with a consumer and a channel close (returns)
    q2 = p.q("qq-limit-close")
    declare_q(ch, q2, durable=True, arguments={"x-queue-type": "quorum", "x-delivery-limit": 1})
    pub(ch, q2, "closing")
    seen = []
    for _ in range(3):
        c = p.ch()
        m = _get_wait(c, q2, 1.0)
        seen.append(None if m is None else typed_headers(m.properties["__raw__"]))
        c.close()
        if m is None:
            break
    out["delivery_limit_1_channel_close_loop"] = seen
    return out


@scenario("single_active_consumer")
def s_sac(p: Probe) -> dict[str, Any]:
    q = p.q("sac")
    ch = p.ch()
    declare_q(ch, q, arguments={"x-single-active-consumer": True})
    conn = p.connect()
    got: list[str] = []
    ca, cb = conn.channel(), conn.channel()
    ca.basic_consume(
        q, consumer_tag="A", no_ack=True, callback=lambda m: got.append("A:" + jsonable(m.body))
    )
    cb.basic_consume(
        q, consumer_tag="B", no_ack=True, callback=lambda m: got.append("B:" + jsonable(m.body))
    )
    out: dict[str, Any] = {"declare_ok_with_2_sac_consumers": count(p, q)}
    for i in range(4):
        pub(ch, q, f"m{i}")
    drain(conn, 0.2)
    out["first_four"] = list(got)
    got.clear()
    ca.basic_cancel("A")
    for i in range(4, 6):
        pub(ch, q, f"m{i}")
    drain(conn, 0.2)
    out["after_A_cancels"] = list(got)
    got.clear()
    cb.close()
    out["get_with_no_consumer"] = jsonable(ch.basic_get(q, no_ack=True))
    # active consumer with unacked messages cancels: unacked go where?
    q2 = p.q("sac2")
    declare_q(ch, q2, arguments={"x-single-active-consumer": True})
    ca, cb = conn.channel(), conn.channel()
    ca.basic_qos(0, 1, False)
    ca.basic_consume(q2, consumer_tag="A", callback=lambda m: got.append("A:" + jsonable(m.body)))
    cb.basic_consume(q2, consumer_tag="B", callback=lambda m: got.append("B:" + jsonable(m.body)))
    for i in range(3):
        pub(ch, q2, f"u{i}")
    drain(conn, 0.2)
    out["prefetch1_A_holding"] = list(got)
    got.clear()
    ca.close()
    drain(conn, 0.2)
    out["after_A_channel_closed_with_unacked"] = list(got)
    out["basic_get_on_sac_queue_with_consumer"] = p.attempt(lambda: p.ch().basic_get(q2))
    out["exclusive_consume_on_sac_queue"] = p.attempt(
        lambda: p.ch().basic_consume(q2, exclusive=True, callback=lambda m: None)
    )
    conn.close()
    return out


@scenario("auto_delete_expires")
def s_auto_delete(p: Probe) -> dict[str, Any]:
    out: dict[str, Any] = {}
    q = p.q("ad")
    ch = p.ch()
    declare_q(ch, q, auto_delete=True)
    time.sleep(0.1)
    out["never_consumed_still_exists"] = count(p, q)
    ch.basic_consume(q, consumer_tag="c1", callback=lambda m: None)
    ch.basic_consume(q, consumer_tag="c2", callback=lambda m: None)
    ch.basic_cancel("c1")
    out["after_cancel_1_of_2"] = count(p, q)
    ch.basic_cancel("c2")
    out["after_cancel_last"] = count(p, q)
    q = p.q("ad-get")
    declare_q(ch, q, auto_delete=True)
    pub(ch, q)
    ch.basic_get(q, no_ack=True)
    out["basic_get_does_not_count_as_consumer"] = count(p, q)
    q = p.q("ad-close")
    c2 = p.ch()
    declare_q(c2, q, auto_delete=True)
    c2.basic_consume(q, callback=lambda m: None)
    c2.close()
    out["after_consumer_channel_closed"] = count(p, q)
    q = p.q("ad-unacked")
    c3 = p.ch()
    declare_q(c3, q, auto_delete=True)
    pub(c3, q, "held")
    c3.basic_consume(q, consumer_tag="h", callback=lambda m: None)
    drain(p.conn, 0.1)
    c3.basic_cancel("h")
    out["after_cancel_holding_unacked"] = count(p, q)
    out["ack_after_auto_delete"] = p.attempt(lambda: (c3.basic_ack(1), sync(c3)))
    # auto-delete exchange
    x = p.x("adx")
    declare_x(ch, x, auto_delete=True)
    time.sleep(0.1)
    out["exchange_never_bound_still_exists"] = p.attempt(lambda: declare_x(p.ch(), x, passive=True))
    q = p.q("adx-q")
    declare_q(ch, q)
    ch.queue_bind(q, x, "a")
    ch.queue_bind(q, x, "b")
    ch.queue_unbind(q, x, "a")
    out["exchange_after_unbind_1_of_2"] = p.attempt(lambda: declare_x(p.ch(), x, passive=True))
    ch.queue_unbind(q, x, "b")
    out["exchange_after_last_unbind"] = p.attempt(lambda: declare_x(p.ch(), x, passive=True))
    x2 = p.x("adx2")
    q2 = p.q("adx2-q")
    declare_x(ch, x2, auto_delete=True)
    declare_q(ch, q2)
    ch.queue_bind(q2, x2, "a")
    ch.queue_delete(q2)
    out["exchange_after_bound_queue_deleted"] = p.attempt(
        lambda: declare_x(p.ch(), x2, passive=True)
    )
    x3, x4 = p.x("adx3"), p.x("adx4")
    declare_x(ch, x3, auto_delete=True)
    declare_x(ch, x4)
    ch.exchange_bind(x4, x3, "k")  # x3 is the source
    ch.exchange_unbind(x4, x3, "k")
    out["exchange_source_after_e2e_unbind"] = p.attempt(lambda: declare_x(p.ch(), x3, passive=True))
    x5 = p.x("adx5")
    declare_x(ch, x5, auto_delete=True)
    ch.exchange_bind(x5, "amq.direct", "k")  # x5 is the destination only
    ch.exchange_unbind(x5, "amq.direct", "k")
    out["exchange_destination_after_e2e_unbind"] = p.attempt(
        lambda: declare_x(p.ch(), x5, passive=True)
    )
    # x-expires
    q = p.q("exp")
    declare_q(ch, q, arguments={"x-expires": 100})
    t = wait_until(lambda: "reply_code" in count(p, q), 1.0, 0.05)
    out["x_expires_100_polled_by_passive_declare_every_50ms_seconds_alive"] = t
    out["x_expires_100_polled_passive_result"] = count(p, q)
    q = p.q("exp-quiet")
    declare_q(ch, q, arguments={"x-expires": 100})
    time.sleep(0.4)
    out["x_expires_100_untouched_after_400ms"] = count(p, q)
    q = p.q("exp-get")
    declare_q(ch, q, arguments={"x-expires": 200})
    for _ in range(6):
        time.sleep(0.1)
        ch.basic_get(q)
    out["x_expires_200_basic_get_every_100ms_for_600ms"] = count(p, q)
    q = p.q("exp-used")
    declare_q(ch, q, arguments={"x-expires": 150})
    ch.basic_consume(q, consumer_tag="e", callback=lambda m: None)
    time.sleep(0.3)
    out["x_expires_150_with_consumer_after_300ms"] = count(p, q)
    ch.basic_cancel("e")
    return out


@scenario("connection")
def s_connection(p: Probe) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tune_from_server": dict(TUNE),
        "server_properties": jsonable(p.conn.server_properties),
    }
    conn = p.connect()
    out["channel_2047_open"] = p.attempt(lambda: conn.channel(2047).channel_id, conn)
    out["channel_2048_open"] = p.attempt(lambda: conn.channel(2048).channel_id, conn)
    conn = p.connect()
    out["channel_65535_open"] = p.attempt(lambda: conn.channel(65535).channel_id, conn)
    TUNE_OK_CHANNEL_MAX.append(3)
    try:
        conn = p.connect()
    finally:
        TUNE_OK_CHANNEL_MAX.clear()
    out["negotiated_channel_max_3_open_ids_1_2_3"] = p.attempt(
        lambda: [conn.channel(i).channel_id for i in (1, 2, 3)], conn
    )
    out["negotiated_channel_max_3_open_4th_as_id_7"] = p.attempt(
        lambda: conn.channel(7).channel_id, conn
    )
    conn = p.connect()
    ch = conn.channel(5)

    def reopen() -> Any:
        ch.send_method(amqp.spec.Channel.Open, "s", ("",), wait=amqp.spec.Channel.OpenOk)

    out["channel_open_twice"] = p.attempt(reopen, conn)
    try:
        import subprocess

        env = subprocess.run(
            ["rabbitmqctl", "environment"], capture_output=True, text=True, timeout=60
        ).stdout
        out["rabbitmqctl_environment"] = [
            ln.strip()
            for ln in env.splitlines()
            if any(
                k in ln
                for k in (
                    "consumer_timeout",
                    "channel_max",
                    "frame_max",
                    "heartbeat",
                    "max_message_size",
                    "default_consumer_prefetch",
                )
            )
        ]
    except Exception as e:
        out["rabbitmqctl_environment"] = repr(e)
    return out


@scenario("headers_exchange")
def s_headers(p: Probe) -> dict[str, Any]:
    x = p.x("hdr")
    ch = p.ch()
    declare_x(ch, x, "headers")
    bindings: dict[str, dict[str, Any]] = {
        "all_a1_b2": {"x-match": "all", "a": 1, "b": "2"},
        "any_a1_b2": {"x-match": "any", "a": 1, "b": "2"},
        "nomatch_a1_b2": {"a": 1, "b": "2"},
        "all_n_int1": {"x-match": "all", "n": 1},
        "all_n_str1": {"x-match": "all", "n": "1"},
        "all_n_float1": {"x-match": "all", "n": 1.0},
        "all_f_true": {"x-match": "all", "f": True},
        "all_v_void": {"x-match": "all", "v": None},
        "all_xk_only": {"x-match": "all", "x-k": "v"},
        "any_xk_only": {"x-match": "any", "x-k": "v"},
        "allx_xk": {"x-match": "all-with-x", "x-k": "v"},
        "anyx_xk_a1": {"x-match": "any-with-x", "x-k": "v", "a": 1},
        "all_empty": {"x-match": "all"},
        "any_empty": {"x-match": "any"},
        "no_args": {},
    }
    for name in bindings:
        q = p.q("h-" + name)
        declare_q(ch, q)
        ch.queue_bind(q, x, "", arguments=bindings[name])
    msgs: dict[str, Any] = {
        "h_a1_b2": {"a": 1, "b": "2"},
        "h_a1": {"a": 1},
        "h_a1_b3": {"a": 1, "b": "3"},
        "h_a_str1": {"a": "1"},
        "h_n_int1": {"n": 1},
        "h_n_str1": {"n": "1"},
        "h_n_big_2e40": {"n": 2**40},
        "h_n_float1": {"n": 1.0},
        "h_f_true": {"f": True},
        "h_f_int1": {"f": 1},
        "h_v_void": {"v": None},
        "h_xk": {"x-k": "v"},
        "h_xk_a1_b2": {"x-k": "v", "a": 1, "b": "2"},
        "h_empty": {},
        "no_headers": None,
    }
    for name, h in msgs.items():
        kw = {"headers": h} if h is not None else {}
        pub(ch, "", name, exchange=x, **kw)
    routed = {name: bodies(get_all(ch, p.q("h-" + name))) for name in bindings}
    out: dict[str, Any] = {"bindings": bindings, "messages": msgs, "routed": routed}
    for bad in ("foo", "ALL", ""):
        out[f"bind_x_match_{bad!r}"] = p.attempt(
            lambda a={"x-match": bad}: p.ch().queue_bind(p.q("h-all_a1_b2"), x, "", arguments=a)
        )
    out["bind_x_match_int"] = p.attempt(
        lambda: p.ch().queue_bind(p.q("h-all_a1_b2"), x, "", arguments={"x-match": 1})
    )
    out["bind_same_key_different_args_both_kept"] = _two_bindings(p, x)
    return out


def _two_bindings(p: Probe, x: str) -> Any:
    q = p.q("h-two")
    ch = p.ch()
    declare_q(ch, q)
    ch.queue_bind(q, x, "", arguments={"k": 1})
    ch.queue_bind(q, x, "", arguments={"k": 2})
    pub(ch, "", "k1", exchange=x, headers={"k": 1})
    pub(ch, "", "k2", exchange=x, headers={"k": 2})
    ch.queue_unbind(q, x, "", arguments={"k": 1})
    pub(ch, "", "k1-after-unbind", exchange=x, headers={"k": 1})
    pub(ch, "", "k2-after-unbind", exchange=x, headers={"k": 2})
    return bodies(get_all(ch, q))


@scenario("topic_exchange")
def s_topic(p: Probe) -> dict[str, Any]:
    x = p.x("topic")
    ch = p.ch()
    declare_x(ch, x, "topic")
    patterns = [
        "a.#",
        "#",
        "*",
        "a.*",
        "a..b",
        "#.#",
        "a.#.b",
        "*.*",
        "#.a",
        "a.*.#",
        "",
        "a.#.#.b",
        "#.*",
        "*.#",
        "a",
        "A",
    ]
    keys = ["a", "", "a.", ".a", "a.b", "a..b", "b", "a.b.c", "a.x.b", "a.x.y.b", "..", ".", "A"]
    for i, pat in enumerate(patterns):
        q = p.q(f"t{i}")
        declare_q(ch, q)
        ch.queue_bind(q, x, pat)
    for k in keys:
        pub(ch, k, "key=" + repr(k), exchange=x)
    routed = {repr(pat): bodies(get_all(ch, p.q(f"t{i}"))) for i, pat in enumerate(patterns)}
    return {"patterns": patterns, "keys": keys, "routed_by_pattern": routed}


@scenario("priority")
def s_priority(p: Probe) -> dict[str, Any]:
    q = p.q("prio")
    ch = p.ch()
    declare_q(ch, q, arguments={"x-max-priority": 10})
    for prio in (0, 5, 10, 20, None, 5, 0):
        kw = {"priority": prio} if prio is not None else {}
        pub(ch, q, f"p={prio}", **kw)
    first = ch.basic_get(q)
    out: dict[str, Any] = {"first": jsonable(first)}
    ch.basic_reject(first.delivery_tag, requeue=True)
    out["order_after_requeue_of_first"] = bodies(get_all(ch, q))
    for prio in (1, 2, 3):
        pub(ch, q, f"p={prio}", priority=prio)
    g = [ch.basic_get(q) for _ in range(2)]
    pub(ch, q, "p=1-late", priority=1)
    ch.basic_reject(g[0].delivery_tag, requeue=True)
    ch.basic_reject(g[1].delivery_tag, requeue=True)
    out["p1_p2_p3_get_p3_p2_publish_p1late_requeue_p3_p2"] = bodies(get_all(ch, q))
    q2 = p.q("prio-none")
    declare_q(ch, q2)
    for prio in (0, 9, 5):
        pub(ch, q2, f"p={prio}", priority=prio)
    out["non_priority_queue_order"] = bodies(get_all(ch, q2))
    return out


@scenario("recover")
def s_recover(p: Probe) -> dict[str, Any]:
    out: dict[str, Any] = {}
    q = p.q("recover")
    ch = p.ch()
    declare_q(ch, q)
    for i in range(3):
        pub(ch, q, f"m{i}")
    ch.basic_get(q)
    ch.basic_get(q)
    out["recover_true"] = p.attempt(lambda: recover(ch, True))
    out["after_recover_true_gets"] = [
        {
            "body": jsonable(m.body),
            "redelivered": m.delivery_info["redelivered"],
            "delivery_tag": m.delivery_tag,
        }
        for m in get_all(ch, q, no_ack=False)
    ]
    out["recover_false"] = p.attempt(lambda: recover(p.ch(), False))
    ch = p.ch()
    ch.basic_get(q)
    out["recover_async_true"] = p.attempt(lambda: (ch.basic_recover_async(requeue=True), sync(ch)))
    out["after_recover_async_count"] = count(p, q)
    out["recover_async_false"] = p.attempt(
        lambda: (lambda c: (c.basic_recover_async(requeue=False), sync(c)))(p.ch())
    )
    # recover with a consumer on the channel
    conn = p.connect()
    cc = conn.channel()
    got: list[Any] = []
    cc.basic_consume(q, callback=got.append)
    drain(conn, 0.2)
    first = [jsonable(m.body) for m in got]
    recover(cc, True)
    drain(conn, 0.2)
    out["consumer_recover_true"] = {
        "deliveries": [
            {
                "body": jsonable(m.body),
                "redelivered": m.delivery_info["redelivered"],
                "delivery_tag": m.delivery_tag,
            }
            for m in got
        ],
        "first_round": first,
    }
    conn.close()
    return out


@scenario("flow")
def s_flow(p: Probe) -> dict[str, Any]:
    return {
        "flow_true": p.attempt(lambda: p.ch().flow(True)),
        "flow_false": p.attempt(lambda: p.ch().flow(False)),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=None)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    p = Probe()
    results: dict[str, Any] = {
        "server_properties": jsonable(p.conn.server_properties),
        "server_version": jsonable(p.conn.server_properties.get("version")),
        "probe_prefix": PREFIX,
    }
    only = [s for s in args.only.split(",") if s]
    try:
        for name, fn in SCENARIOS.items():
            if only and name not in only:
                continue
            t0 = time.monotonic()
            try:
                results[name] = fn(p)
            except Exception as e:  # record and go on: the probe is an observer
                results[name] = {"probe_crashed": f"{type(e).__name__}: {e}"}
            print(f"{name}: {time.monotonic() - t0:.2f}s", file=sys.stderr)
    finally:
        p.cleanup()
    text = json.dumps(results, indent=1, sort_keys=False, default=repr)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
