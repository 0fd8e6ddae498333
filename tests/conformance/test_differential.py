"""Differential machine: random operation sequences on fakebroker and RabbitMQ side by side.

Each hypothesis example runs the same steps (declare, bind, unbind, publish, get, consume,
cancel, ack, nack, reject, purge, delete, channel close; exclusive and auto-delete queues,
and a second connection B that consumes, gets, acks and closes) on an in-process fakebroker
and on the real RabbitMQ, with py-amqp, and compares every observable result:
reply codes and texts, bodies and their order, counts, redelivered flags, and at the end
what each consumer received.  Bounded (30 examples x 20 steps; ``FAKEBROKER_DIFF_EXAMPLES=N``
runs N, to look for new divergences); skipped without RabbitMQ.
Divergences it found are kept as named scenarios in the other modules.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from typing import Any

import amqp
import amqp.exceptions
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ._harness import Backend, nack, parse_url, rabbitmq_url, reachable, sync, xdeclare

QUEUES = 2
EXCHANGES = (("x0", "direct"), ("x1", "fanout"), ("x2", "topic"))
KEYS = ("a", "b", "a.b", "#", "*")

step = st.one_of(
    st.tuples(st.just("declare_q"), st.integers(0, QUEUES - 1)),
    st.tuples(st.just("declare_x"), st.integers(0, len(EXCHANGES) - 1)),
    st.tuples(
        st.just("bind"),
        st.integers(0, QUEUES - 1),
        st.integers(0, len(EXCHANGES) - 1),
        st.sampled_from(KEYS),
    ),
    st.tuples(
        st.just("unbind"),
        st.integers(0, QUEUES - 1),
        st.integers(0, len(EXCHANGES) - 1),
        st.sampled_from(KEYS),
    ),
    st.tuples(
        st.just("publish"),
        st.integers(-1, len(EXCHANGES) - 1),
        st.sampled_from((*KEYS, "q0", "q1")),
    ),
    st.tuples(st.just("get"), st.integers(0, QUEUES - 1), st.booleans()),
    st.tuples(st.just("consume"), st.integers(0, QUEUES - 1)),
    st.tuples(st.just("cancel"), st.integers(0, QUEUES - 1)),
    st.tuples(st.just("ack"), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("nack"), st.integers(0, 5), st.booleans(), st.booleans()),
    st.tuples(st.just("reject"), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("purge"), st.integers(0, QUEUES - 1)),
    st.tuples(st.just("delete_q"), st.integers(0, QUEUES - 1)),
    st.tuples(st.just("close_channel")),
    # a second connection, B: exclusive and auto-delete queues, its consumers and unacked
    # messages, and closing it (exclusive queues go, unacked messages come back redelivered)
    st.tuples(
        st.just("declare_q_flags"),
        st.integers(0, QUEUES - 1),
        st.booleans(),
        st.booleans(),
        st.sampled_from(("A", "B")),
    ),
    st.tuples(st.just("b_consume"), st.integers(0, QUEUES - 1), st.booleans()),
    st.tuples(st.just("b_cancel"), st.integers(0, QUEUES - 1)),
    st.tuples(st.just("b_get"), st.integers(0, QUEUES - 1)),
    st.tuples(st.just("b_ack"), st.integers(0, 5)),
    st.tuples(st.just("b_close")),
)


class Side:
    """One broker's py-amqp connection and what it has seen."""

    def __init__(self, connect: Callable[[], amqp.Connection], token: str) -> None:
        self.connect = connect
        self.conn = connect()
        self.token = token
        self.ch: Any = self.conn.channel()
        self.unacked: list[int] = []
        self.seen: dict[str, list[tuple[Any, ...]]] = {}
        self.index = 0
        self.b_conn: amqp.Connection | None = None
        self.b_ch: Any = None
        self.b_unacked: list[int] = []

    def q(self, i: int) -> str:
        return f"{self.token}-q{i}"

    def x(self, i: int) -> str:
        return f"{self.token}-{EXCHANGES[i][0]}"

    def reopen(self) -> None:
        """A fresh channel; a fresh connection after a connection error (e.g. 530)."""
        if not self.conn.connected:
            self.conn = self.connect()
        self.ch = self.conn.channel()
        self.unacked.clear()

    def b(self) -> Any:
        """Connection B's channel, opened (with its connection) on first use."""
        if self.b_conn is None or not self.b_conn.connected:
            self.b_conn = self.connect()
            self.b_ch = None
        if self.b_ch is None:
            self.b_ch = self.b_conn.channel()
            self.b_unacked.clear()
        return self.b_ch

    def run(self, op: tuple[Any, ...], index: int) -> Any:
        self.index = index
        on_b = op[0].startswith("b_") or op[-1] == "B"
        try:
            result = self._run(op)
            sync(self.b() if on_b and op[0] != "b_close" else self.ch)
            return result
        except amqp.exceptions.AMQPError as exc:
            text = str(exc.reply_text).replace(self.token, "T")
            if on_b:
                self.b_ch = None  # the next B step opens a new channel (or connection)
            else:
                self.reopen()
            return ("error", exc.reply_code, text)

    def _run(self, op: tuple[Any, ...]) -> Any:
        kind, *args = op
        ch = self.ch
        if kind == "declare_q":
            ok = ch.queue_declare(self.q(args[0]), auto_delete=False)
            return ("declared", ok.message_count, ok.consumer_count)
        if kind == "declare_x":
            xdeclare(ch, self.x(args[0]), EXCHANGES[args[0]][1])
            return "ok"
        if kind in ("bind", "unbind"):
            getattr(ch, f"queue_{kind}")(self.q(args[0]), self.x(args[1]), args[2])
            return "ok"
        if kind == "publish":
            exchange = "" if args[0] < 0 else self.x(args[0])
            key = self.q(int(args[1][1])) if args[1] in ("q0", "q1") else args[1]
            ch.basic_publish(amqp.Message(f"m{self.index}"), exchange, key)
            return "ok"
        if kind == "get":
            m = ch.basic_get(self.q(args[0]), no_ack=args[1])
            if m is None:
                return None
            if not args[1]:
                self.unacked.append(m.delivery_tag)
            return (m.body, m.delivery_info["redelivered"], m.delivery_info["message_count"])
        if kind == "consume":
            return self._consume(ch, args[0], f"c{args[0]}", None)
        if kind == "cancel":
            ch.basic_cancel(f"c{args[0]}")
            return "ok"
        if kind in ("ack", "nack", "reject"):
            if not self.unacked:
                return "nothing"
            tag = self.unacked[args[0] % len(self.unacked)]
            multiple = kind != "reject" and args[1]
            done = [t for t in self.unacked if t <= tag] if multiple else [tag]
            if kind == "ack":
                ch.basic_ack(tag, multiple=multiple)
            elif kind == "nack":
                nack(ch, tag, multiple=multiple, requeue=args[2])
            else:
                ch.basic_reject(tag, requeue=args[1])
            self.unacked = [t for t in self.unacked if t not in done]
            return "ok"
        if kind == "purge":
            return ("purged", ch.queue_purge(self.q(args[0])))
        if kind == "delete_q":
            return ("deleted", ch.queue_delete(self.q(args[0])))
        if kind == "close_channel":
            ch.close()
            self.reopen()
            return "ok"
        if kind == "declare_q_flags" or kind.startswith("b_"):
            return self._run_b(kind, args)
        raise AssertionError(kind)

    def recount(self, op: tuple[Any, ...], want: Any, have: Any) -> Any:
        """RabbitMQ's declare-ok again, once its queue has taken in the publishes sent before.

        RabbitMQ's queue process answers the declare's ``stat`` call before the
        deliveries in its mailbox (gen_server2 priorities): on a loaded server
        declare-ok may count fewer messages. Only that difference is asked
        again (passive declares, a bounded number).
        """
        declared = op[0] in ("declare_q", "declare_q_flags")
        if not (declared and isinstance(want, tuple) and isinstance(have, tuple)):
            return have
        if want[0] != "declared" or have[0] != "declared" or want[2] != have[2]:
            return have
        if have[1] >= want[1]:
            return have
        ch = self.b() if op[-1] == "B" else self.ch
        for _ in range(50):
            ok = ch.queue_declare(self.q(op[1]), passive=True)
            if ok.message_count == want[1]:
                return ("declared", ok.message_count, ok.consumer_count)
        return have

    def _run_b(self, kind: str, args: list[Any]) -> Any:
        """Steps with exclusive / auto-delete queues and on connection B."""
        if kind == "declare_q_flags":
            queue, exclusive, auto_delete, who = args
            ch = self.b() if who == "B" else self.ch
            ok = ch.queue_declare(self.q(queue), exclusive=exclusive, auto_delete=auto_delete)
            return ("declared", ok.message_count, ok.consumer_count)
        if kind == "b_close":
            if self.b_conn is not None and self.b_conn.connected:
                self.b_conn.close()
            self.b_conn = self.b_ch = None
            return "ok"
        ch = self.b()
        if kind == "b_consume":
            queue, no_ack = args
            return self._consume(ch, queue, f"b{queue}", None if no_ack else self.b_unacked)
        if kind == "b_cancel":
            ch.basic_cancel(f"b{args[0]}")
            return "ok"
        if kind == "b_get":
            m = ch.basic_get(self.q(args[0]), no_ack=False)
            if m is None:
                return None
            self.b_unacked.append(m.delivery_tag)
            return (m.body, m.delivery_info["redelivered"], m.delivery_info["message_count"])
        if kind == "b_ack":
            if not self.b_unacked:
                return "nothing"
            delivery_tag = self.b_unacked.pop(args[0] % len(self.b_unacked))
            ch.basic_ack(delivery_tag)
            return "ok"
        raise AssertionError(kind)

    def _consume(self, ch: Any, queue: int, tag: str, unacked: list[int] | None) -> str:
        """basic.consume recording deliveries under ``tag`` (acks needed if ``unacked``)."""

        def on_message(m: amqp.Message) -> None:
            self.seen.setdefault(tag, []).append((m.body, m.delivery_info["redelivered"]))
            if unacked is not None:
                unacked.append(m.delivery_tag)

        ch.basic_consume(
            self.q(queue),
            consumer_tag=tag,
            no_ack=unacked is None,
            callback=on_message,
            on_cancel=self.on_cancel,
        )
        return "ok"

    def on_cancel(self, tag: str) -> None:
        """A server-sent basic.cancel (its queue deleted): compared with the deliveries."""
        self.seen.setdefault(tag, []).append(("cancelled", False))

    def drain(self, quiet: float) -> None:
        """Read what is still coming; a channel closed meanwhile is recorded, not raised."""
        for conn in (self.conn, self.b_conn):
            while conn is not None and conn.connected:
                try:
                    conn.drain_events(timeout=quiet)
                except (TimeoutError, OSError):
                    break
                except amqp.exceptions.AMQPError as exc:
                    text = str(exc.reply_text).replace(self.token, "T")
                    self.seen.setdefault("closed", []).append((exc.reply_code, text))

    def cleanup(self) -> None:
        with contextlib.suppress(Exception):
            ch = self.conn.channel() if self.conn.connected else None
            for i in range(QUEUES):
                if ch is not None:
                    ch.queue_delete(self.q(i))
            for i in range(len(EXCHANGES)):
                if ch is not None:
                    ch.exchange_delete(self.x(i))
        for conn in (self.conn, self.b_conn):
            with contextlib.suppress(Exception):
                if conn is not None:
                    conn.close()


@pytest.fixture(scope="module")
def rabbit_url(request: pytest.FixtureRequest) -> str:
    try:
        option = request.config.getoption("--rabbitmq-url")
    except ValueError:
        option = None
    url = rabbitmq_url(option)
    if not reachable(url):
        pytest.skip(f"RabbitMQ is not reachable at {url}: no differential run")
    return url


@settings(
    max_examples=int(os.environ.get("FAKEBROKER_DIFF_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(steps=st.lists(step, min_size=1, max_size=20))
def test_differential(rabbit_url: str, steps: list[tuple[Any, ...]]) -> None:
    """the same random operations give the same observable results on both brokers."""
    fake = Backend("inproc")
    token = f"df{secrets.token_hex(4)}"

    def rabbit() -> amqp.Connection:
        conn = amqp.Connection(**parse_url(rabbit_url))
        conn.connect()
        return conn

    sides = [Side(fake.connect, token), Side(rabbit, token)]
    try:
        for index, op in enumerate(steps):
            results = [side.run(op, index) for side in sides]
            if results[0] != results[1]:
                results[1] = sides[1].recount(op, results[0], results[1])
            assert results[0] == results[1], (index, op, results)
        sides[0].drain(0)
        sides[1].drain(0.15)
        assert sides[0].seen == sides[1].seen
    finally:
        for side in sides:
            side.cleanup()
        fake.close()
