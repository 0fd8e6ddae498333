"""A hypothesis state machine over the core, checking the message-accounting invariants.

- every routed copy of a message is, at every moment, in exactly one place:
  ready, unacked, or ended (acked, dead-lettered, expired, dropped, purged,
  deleted, delivered with no_ack) - never lost, never duplicated;
- FIFO per queue among messages never requeued;
- prefetch is never exceeded;
- redelivered is false exactly on a copy's first delivery.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from fakebroker.core import AMQPError, Broker, Channel, Connection, VirtualClock
from fakebroker.core.events import Deliver

QUEUES = {
    "plain": {},
    "ttl": {"x-message-ttl": 500, "x-dead-letter-exchange": "dlx"},
    "short": {"x-max-length": 2, "x-dead-letter-exchange": "dlx"},
    "prio": {"x-max-priority": 3},
    "dead": {},
}
ENDING = {"acked", "dead-lettered", "expired", "dropped", "purged", "deleted"}


class CoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = VirtualClock()
        self.broker = Broker(clock=self.clock)
        self.conns: list[Connection] = []
        self.channels: list[Channel] = []
        setup = self.broker.connect(name="setup").open_channel(1)
        setup.exchange_declare("dlx", "fanout")
        setup.exchange_declare("fan", "fanout")
        for name, args in QUEUES.items():
            setup.queue_declare(name, arguments=args)
            if name != "dead":
                setup.queue_bind(name, "fan")
        setup.queue_bind("dead", "dlx")
        for n in range(2):
            conn = self.broker.connect(name=f"c{n}")
            self.conns.append(conn)
            for number in (1, 2):
                self.channels.append(conn.open_channel(number))
        self.first_seen: set[tuple[int, str]] = set()
        self.first_seen_seqs: set[int] = set()
        self.last_fresh: dict[str, int] = {}

    # -- helpers ----------------------------------------------------------------------------

    def _live_channel(self, index: int) -> Channel:
        channel = self.channels[index % len(self.channels)]
        if channel.closed:
            conn = channel.conn
            if conn.closed:
                conn = self.broker.connect(name=f"re{index}")
                self.conns.append(conn)
            channel = conn.open_channel(
                channel.number if channel.number not in conn.channels else 9
            )
            self.channels[index % len(self.channels)] = channel
        return channel

    def _call(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return fn(*args, **kwargs)
        except AMQPError:
            return None

    # -- rules ------------------------------------------------------------------------------

    @rule(
        ch=st.integers(0, 3),
        dest=st.sampled_from(["plain", "ttl", "short", "prio", "fan", "missing"]),
        prio=st.integers(0, 4),
        expiration=st.sampled_from([None, "0", "300"]),
    )
    def publish(self, ch: int, dest: str, prio: int, expiration: str | None) -> None:
        channel = self._live_channel(ch)
        props: dict[str, object] = {"priority": prio}
        if expiration is not None:
            props["expiration"] = expiration
        exchange, key = ("fan", "") if dest == "fan" else ("", dest)
        channel.basic_publish(exchange, key, b"body", props)

    @rule(ch=st.integers(0, 3), queue=st.sampled_from(sorted(QUEUES)), no_ack=st.booleans())
    def get(self, ch: int, queue: str, no_ack: bool) -> None:
        self._call(self._live_channel(ch).basic_get, queue, no_ack=no_ack)

    @rule(
        ch=st.integers(0, 3),
        queue=st.sampled_from(sorted(QUEUES)),
        no_ack=st.booleans(),
        prefetch=st.integers(0, 3),
        global_=st.booleans(),
    )
    def consume(self, ch: int, queue: str, no_ack: bool, prefetch: int, global_: bool) -> None:
        channel = self._live_channel(ch)
        if channel.consumer_unacked == 0:  # a lowered limit does not revoke deliveries
            channel.basic_qos(prefetch_count=prefetch, global_=global_)
        self._call(channel.basic_consume, queue, no_ack=no_ack)

    @rule(ch=st.integers(0, 3), pick=st.integers(0, 10))
    def cancel(self, ch: int, pick: int) -> None:
        channel = self._live_channel(ch)
        if channel.consumers:
            tags = sorted(channel.consumers)
            channel.basic_cancel(tags[pick % len(tags)])

    @rule(
        ch=st.integers(0, 3),
        pick=st.integers(0, 10),
        how=st.sampled_from(
            ["ack", "ack-multi", "nack", "nack-requeue", "reject", "reject-requeue"]
        ),
        bogus=st.booleans(),
    )
    def settle(self, ch: int, pick: int, how: str, bogus: bool) -> None:
        channel = self._live_channel(ch)
        if not channel.unacked and not bogus:
            return
        tags = sorted(channel.unacked)
        tag = tags[pick % len(tags)] if tags and not bogus else 10_000 + pick
        if how == "ack":
            self._call(channel.basic_ack, tag)
        elif how == "ack-multi":
            self._call(channel.basic_ack, tag, multiple=True)
        elif how.startswith("nack"):
            self._call(channel.basic_nack, tag, requeue=how.endswith("requeue"))
        else:
            self._call(channel.basic_reject, tag, requeue=how.endswith("requeue"))

    @rule(ch=st.integers(0, 3))
    def close_channel(self, ch: int) -> None:
        self._live_channel(ch).close()

    @rule(n=st.integers(0, 1))
    def close_connection(self, n: int) -> None:
        self.conns[n % len(self.conns)].close()

    @rule(ch=st.integers(0, 3), queue=st.sampled_from(sorted(QUEUES)))
    def purge(self, ch: int, queue: str) -> None:
        self._call(self._live_channel(ch).queue_purge, queue)

    @rule(ch=st.integers(0, 3))
    def recover(self, ch: int) -> None:
        self._live_channel(ch).basic_recover(requeue=True)

    @rule(seconds=st.sampled_from([0.1, 0.3, 0.5, 1.0]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def drain_outboxes(self) -> None:
        for conn in self.conns:
            conn.outbox.clear()

    # -- invariants -------------------------------------------------------------------------

    def _live_copies(self) -> list[tuple[int, str]]:
        copies = []
        for queue in self.broker.vhost().queues.values():
            copies += [(e.msg.id, queue.name) for e in queue.entries()]
        for conn in list(self.broker.connections):
            for channel in conn.channels.values():
                copies += [(p.entry.msg.id, p.queue.name) for p in channel.unacked.values()]
                copies += [(p.entry.msg.id, p.queue.name) for _, p, _, _ in channel._tx_acks]
        return copies

    @invariant()
    def every_copy_in_exactly_one_place(self) -> None:
        journal = list(self.broker.journal)
        routed = sum(1 for e in journal if e.kind == "routed")
        ended = sum(
            1
            for e in journal
            if (e.kind in ENDING and e.details.get("enqueued", True))
            or (e.kind == "delivered" and e.details.get("no_ack"))
        )
        live = self._live_copies()
        duplicated = [copy for copy, n in Counter(live).items() if n > 1]
        assert duplicated == []
        assert routed == len(live) + ended

    @invariant()
    def prefetch_never_exceeded(self) -> None:
        for conn in self.broker.connections:
            for channel in conn.channels.values():
                if channel.global_prefetch:
                    assert channel.consumer_unacked <= channel.global_prefetch
                for consumer in channel.consumers.values():
                    if consumer.prefetch and not consumer.no_ack:
                        assert consumer.unacked <= consumer.prefetch

    @invariant()
    def redelivered_only_after_a_delivery_and_fifo(self) -> None:
        for entry in self.broker.journal.entries("delivered"):
            if entry.seq in self.first_seen_seqs:
                continue
            self.first_seen_seqs.add(entry.seq)
            assert entry.message is not None and entry.queue is not None
            copy = (entry.message.id, entry.queue)
            assert entry.details["redelivered"] == (copy in self.first_seen)
            self.first_seen.add(copy)
            if not entry.details["redelivered"] and entry.queue != "prio":
                last = self.last_fresh.get(entry.queue, 0)
                assert entry.message.id > last
                self.last_fresh[entry.queue] = entry.message.id

    def teardown(self) -> None:
        for conn in list(self.broker.connections):
            conn.close()


TestCore = CoreMachine.TestCase
TestCore.settings = settings(max_examples=80, stateful_step_count=30, deadline=None)


def test_deliveries_reach_outbox() -> None:
    broker = Broker(clock=VirtualClock())
    conn = broker.connect()
    ch = conn.open_channel(1)
    ch.queue_declare("q")
    ch.basic_consume("q", "t")
    ch.basic_publish("", "q", b"x")
    assert [type(e) for e in conn.outbox] == [Deliver]
