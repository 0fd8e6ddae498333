"""The conformance harness: one :class:`Backend` per test, the same calls on every broker.

A scenario is an ordinary pytest test taking the ``b`` fixture (see conftest.py),
parametrized over ``inproc`` (fakebroker in-process), ``tcp`` (``fakebroker.serve``)
and ``rabbitmq`` (the real broker).  It drives py-amqp clients through ``b`` and
makes its assertions; everything it passes to :meth:`Backend.record` is the
scenario's *trace*.  Recording (``--record``) stores RabbitMQ's traces under
fixtures/conformance/traces/; the fakebroker backends then compare their own
traces with the recorded ones, so fidelity is checked without a RabbitMQ.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import os
import re
import secrets
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlparse

import amqp
import amqp.exceptions

BACKENDS = ("inproc", "tcp", "rabbitmq")
FAKE = ("inproc", "tcp")
DEFAULT_RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
RABBITMQ_VERSION = "3.10.8"

_GEN = re.compile(r"amq\.gen-[A-Za-z0-9_-]{22}")
_CTAG = re.compile(r"amq\.ctag-[A-Za-z0-9_-]{22}")


def rabbitmq_url(config_value: str | None) -> str:
    return config_value or os.environ.get("FAKEBROKER_RABBITMQ_URL") or DEFAULT_RABBITMQ_URL


def parse_url(url: str) -> dict[str, Any]:
    u = urlparse(url)
    vhost = unquote(u.path[1:]) if u.path not in ("", "/") else "/"
    return {
        "host": f"{u.hostname or '127.0.0.1'}:{u.port or 5672}",
        "userid": unquote(u.username or "guest"),
        "password": unquote(u.password or "guest"),
        "virtual_host": vhost,
    }


def reachable(url: str) -> bool:
    p = parse_url(url)
    host, port = p["host"].rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1.0).close()
    except OSError:
        return False
    return True


def plain(value: Any) -> Any:
    """A JSON-able copy of a py-amqp value (tables, arrays, datetimes, bytes)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, datetime.datetime):
        return "<datetime>"
    if isinstance(value, decimal.Decimal):
        return f"decimal:{value}"
    if isinstance(value, float):
        return value
    return value


def normalise(value: Any, token: str) -> Any:
    """Replace the test's unique token and random server-made names with stable text."""
    if isinstance(value, str):
        value = value.replace(token, "T")
        value = _GEN.sub("amq.gen-*", value)
        return _CTAG.sub("amq.ctag-*", value)
    if isinstance(value, dict):
        return {k: normalise(v, token) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, token) for v in value]
    return value


def error_of(exc: amqp.exceptions.AMQPError, conn: amqp.Connection | None) -> dict[str, Any]:
    closed = "connection" if conn is not None and not conn.connected else "channel"
    return {
        "code": exc.reply_code,
        "text": exc.reply_text,
        "method": list(exc.method_sig or (0, 0)),
        "closed": closed,
    }


class Backend:
    """What a scenario uses: connections, unique names, time, and the trace."""

    def __init__(self, kind: str, *, url: str | None = None) -> None:
        self.kind = kind
        self.fake = kind in FAKE
        self.token = f"cf{secrets.token_hex(4)}"
        self.trace: dict[str, Any] = {}
        self.events: list[tuple[Any, ...]] = []
        self.messages: list[amqp.Message] = []
        self._conns: list[amqp.Connection] = []
        self._names: list[str] = []
        self.broker: Any = None
        self.node: Any = None
        self._server: Any = None
        self.url = url or ""
        self.server_version = "?"
        if kind == "inproc":
            import fakebroker
            from fakebroker.core.clock import VirtualClock

            self.broker_name = f"conf-{uuid.uuid4().hex}"
            self.node = fakebroker.get_node(self.broker_name, clock=VirtualClock())
            self.broker = self.node.broker
            self.url = f"fakebroker://{self.broker_name}//"
        elif kind == "tcp":
            import fakebroker
            from fakebroker.core.clock import VirtualClock

            self._server = fakebroker.serve(port=0, clock=VirtualClock())
            self._server.start()
            self.node = self._server.node
            self.broker = self.node.broker
            self.url = f"amqp://guest:guest@127.0.0.1:{self._server.port}//"

    # --- names, trace ----------------------------------------------------

    def name(self, base: str = "q") -> str:
        """A name unique to this test run (shown as ``cf-T-base`` in traces)."""
        name = f"cf-{self.token}-{base}"
        self._names.append(name)
        return name

    def record(self, key: str, value: Any) -> Any:
        """Add ``value`` to the scenario's trace (compared with RabbitMQ's) and return it."""
        self.trace[key] = normalise(plain(value), self.token)
        return value

    def expect(self, key: str, actual: Any, expected: Any) -> None:
        """Record ``actual`` and assert it equals ``expected`` (both normalised)."""
        self.record(key, actual)
        got, want = self.trace[key], normalise(plain(expected), self.token)
        assert got == want, f"{key}: {got!r} != {want!r}"

    # --- connections -------------------------------------------------------

    def connect(self, **kwargs: Any) -> amqp.Connection:
        kwargs.setdefault("heartbeat", 0)
        if self.kind == "inproc":
            from fakebroker.fronts.transport import AMQPConnection

            conn = AMQPConnection(host=self.broker_name, **kwargs)
        else:
            params = parse_url(self.url)
            params.update(kwargs)
            conn = amqp.Connection(**params)
        conn.connect()
        self.server_version = str(conn.server_properties.get("version", "?"))
        self._conns.append(conn)
        return conn

    def channel(self, conn: amqp.Connection | None = None, *, confirm: bool = False) -> Any:
        """A new channel (on a new connection unless given) whose events go to ``self.events``."""
        conn = conn or self.connect()
        ch = conn.channel()
        self.hook(ch)
        if confirm:
            ch.confirm_select()
        return ch

    def hook(self, ch: Any) -> None:
        def on_return(exc: Any, exchange: str, routing_key: str, message: amqp.Message) -> None:
            self.events.append(
                ("return", exc.reply_code, exc.reply_text, exchange, routing_key, _body(message))
            )

        ch.events["basic_return"].add(on_return)
        ch.events["basic_ack"].add(lambda tag, multiple: self.events.append(("ack", tag, multiple)))
        ch.events["basic_nack"].add(
            lambda tag, multiple: self.events.append(("nack", tag, multiple))
        )

    def consume(self, ch: Any, queue: str, tag: str = "", **kwargs: Any) -> str:
        """basic.consume whose deliveries append ("deliver", tag, body, redelivered)."""

        def on_message(message: amqp.Message) -> None:
            info = message.delivery_info
            self.messages.append(message)
            self.events.append(
                ("deliver", info["consumer_tag"], _body(message), info["redelivered"])
            )

        def on_cancel(consumer_tag: str) -> None:
            self.events.append(("cancel", consumer_tag))

        return str(
            ch.basic_consume(
                queue, consumer_tag=tag, callback=on_message, on_cancel=on_cancel, **kwargs
            )
        )

    def deliveries(self, tag: str | None = None) -> list[str]:
        return [e[2] for e in self.events if e[0] == "deliver" and (tag is None or e[1] == tag)]

    def wait(self, cond: Callable[[], bool], *conns: amqp.Connection, timeout: float = 3.0) -> bool:
        """Read events on ``conns`` (default: all) until ``cond()``; False on timeout."""
        conns = conns or tuple(c for c in self._conns if c.connected)
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                return False
            idle = True
            for conn in conns:
                with contextlib.suppress(socket.timeout):
                    conn.drain_events(timeout=0 if self.kind == "inproc" else 0.02)
                    idle = False
            if idle and self.kind == "inproc" and not cond():
                return False  # nothing more can arrive in-process without the clock moving
        return True

    def settle(self, *conns: amqp.Connection) -> None:
        """Read every event that is coming (until quiet)."""
        conns = conns or tuple(c for c in self._conns if c.connected)
        quiet = {"inproc": 0.0, "tcp": 0.05, "rabbitmq": 0.15}[self.kind]
        last = time.monotonic()
        while True:
            got = False
            for conn in conns:
                try:
                    conn.drain_events(timeout=quiet or 0)
                    got = True
                except TimeoutError:
                    pass
            if got:
                last = time.monotonic()
            elif time.monotonic() - last >= quiet or self.kind == "inproc":
                return

    def error(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Call ``fn``; its AMQP error as {code, text, method, closed} ({"ok": result} if none)."""
        conn = kwargs.pop("_conn", None)
        if conn is None:
            owner = getattr(fn, "__self__", None)
            conn = getattr(owner, "connection", None)
            if conn is not None and not isinstance(conn, amqp.Connection):
                conn = None
            if conn is None and isinstance(owner, amqp.Connection):
                conn = owner
        try:
            result = fn(*args, **kwargs)
        except amqp.exceptions.AMQPError as exc:
            return error_of(exc, conn)
        return {"ok": plain(_result(result))}

    # --- time ----------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move time on: the broker's VirtualClock on fakebroker, a real sleep on RabbitMQ."""
        if self.broker is None:
            time.sleep(seconds)
            return
        if self.kind == "tcp":  # a round trip per connection: the server has read all before
            for conn in self._conns:
                if conn.connected:
                    conn.channel().close()
        self.node.advance(seconds)

    def eventually(self, fn: Callable[[], Any], timeout: float = 3.0) -> Any:
        """``fn()`` once on fakebroker; on RabbitMQ polled until truthy (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            value = fn()
            if value or self.fake or time.monotonic() > deadline:
                return value
            time.sleep(0.02)

    # --- teardown ----------------------------------------------------------

    def close(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(Exception):
                conn.close()
        if self.kind == "rabbitmq" and self._names:
            self._cleanup_rabbit()
        if self._server is not None:
            self._server.close()
        if self.kind == "inproc":
            import fakebroker

            fakebroker.drop_node(self.broker_name)

    def _cleanup_rabbit(self) -> None:
        with contextlib.suppress(Exception):
            conn = amqp.Connection(**parse_url(self.url))
            conn.connect()
            try:
                for name in self._names:
                    for kind in ("queue", "exchange"):
                        ch = conn.channel()
                        with contextlib.suppress(amqp.exceptions.AMQPError):
                            getattr(ch, f"{kind}_delete")(name)
                            ch.close()
            finally:
                conn.close()


def _body(message: amqp.Message) -> str:
    body = message.body
    return body.decode() if isinstance(body, bytes) else str(body)


def _result(result: Any) -> Any:
    if isinstance(result, amqp.Message):
        return {"body": _body(result), "redelivered": result.delivery_info["redelivered"]}
    if hasattr(result, "_asdict"):
        return list(result)
    if result is None or isinstance(result, (int, str, bool, list, tuple, dict)):
        return result
    return None  # promises and other client-side objects


def get(b: Backend, ch: Any, queue: str, *, no_ack: bool = True) -> tuple[str, bool, int] | None:
    """basic.get: (body, redelivered, message_count) or None."""
    m = ch.basic_get(queue, no_ack=no_ack)
    if m is None:
        return None
    b.messages.append(m)
    return (_body(m), m.delivery_info["redelivered"], m.delivery_info["message_count"])


def drain_bodies(ch: Any, queue: str) -> list[str]:
    """Every ready message of ``queue`` by basic.get (no_ack), bodies in order."""
    out = []
    while (m := ch.basic_get(queue, no_ack=True)) is not None:
        out.append(_body(m))
    return out


def counts(ch: Any, queue: str) -> tuple[int, int]:
    ok = ch.queue_declare(queue, passive=True)
    return (ok.message_count, ok.consumer_count)


def publish(ch: Any, exchange: str, routing_key: str, body: str, **props: Any) -> None:
    mandatory = props.pop("mandatory", False)
    ch.basic_publish(amqp.Message(body, **props), exchange, routing_key, mandatory=mandatory)


def xdeclare(
    ch: Any,
    name: str,
    type: str = "direct",
    *,
    passive: bool = False,
    durable: bool = False,
    auto_delete: bool = False,
    internal: bool = False,
    arguments: dict[str, Any] | None = None,
) -> None:
    """exchange.declare with every flag (py-amqp's own cannot send internal=True)."""
    from amqp import spec

    ch.send_method(
        spec.Exchange.Declare,
        "BssbbbbbF",
        (0, name, type, passive, durable, auto_delete, internal, False, arguments or {}),
        wait=spec.Exchange.DeclareOk,
    )


def E(code: int, text: str, method: tuple[int, int], closed: str = "channel") -> dict[str, Any]:
    """The expected error record of :meth:`Backend.error`."""
    return {"code": code, "text": text, "method": list(method), "closed": closed}


LOCKED = (
    "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '{q}' in vhost '/'. "
    "It could be originally declared on another connection or the exclusive property value "
    "does not match that of the original declaration."
)


def fill(b: Backend, ch: Any, queue: str, bodies: list[str], **props: Any) -> None:
    """Publish ``bodies`` to ``queue`` (default exchange) and wait until they are all there."""
    before = ch.queue_declare(queue, passive=True).message_count
    for body in bodies:
        publish(ch, "", queue, body, **props)
    b.eventually(
        lambda: ch.queue_declare(queue, passive=True).message_count >= before + len(bodies)
    )


def confirmed(events: list[tuple[Any, ...]]) -> dict[str, list[int]]:
    """Publisher confirms as the sets of acked and nacked tags (multiple=true expanded)."""
    acked: set[int] = set()
    nacked: set[int] = set()
    done: set[int] = set()
    top = max([e[1] for e in events if e[0] in ("ack", "nack")], default=0)
    for event in events:
        if event[0] not in ("ack", "nack"):
            continue
        tags = range(1, event[1] + 1) if event[2] else [event[1]]
        for tag in tags:
            if tag not in done and tag <= top:
                (acked if event[0] == "ack" else nacked).add(tag)
                done.add(tag)
    return {"acked": sorted(acked), "nacked": sorted(nacked)}


def nack(ch: Any, delivery_tag: int, *, multiple: bool = False, requeue: bool = True) -> None:
    """basic.nack (py-amqp has no method for it)."""
    from amqp import spec

    ch.send_method(spec.Basic.Nack, "Lbb", (delivery_tag, multiple, requeue))


def sync(ch: Any) -> None:
    """A harmless synchronous round trip (surfaces asynchronous channel errors)."""
    xdeclare(ch, "amq.direct", "direct", passive=True)
