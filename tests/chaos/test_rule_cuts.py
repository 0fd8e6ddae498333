"""Cuts by fakebroker's own fault rules: aio-pika's robust connection consumes through them.

tests/chaos/test_byte_cuts.py cuts through a TCP proxy (the same run for
fakebroker and RabbitMQ); here no proxy stands between: the k-th connection
the TCP front accepts gets the k-th cut of the plan as a
``drop_connection(after_bytes_received=N)`` / ``(after_bytes_sent=N)`` rule
bound to that connection's name, N = 64 x 2^(k//2), received and sent in
turn, the handshake included, up to 64 KiB; later connections pass. A sent
cut lets exactly N bytes reach the client, then EOF; a received cut reads
exactly N bytes, then resets. 100 messages of 12 kB wait in a queue; a
robust aio-pika consumer (manual acks, prefetch 10) must end with every one
of them, and the cuts must have fired in order, one per connection, every connection
but the last one cut (the received cuts past what a consumer sends, a few
kB of acks, never fire).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from fakebroker import Node, Server
from fakebroker.core import Broker
from fakebroker.faults import Rule
from fakebroker.fronts import ProtocolEngine
from fakebroker.fronts._protocol import amqp_engine_factory

from .test_byte_cuts import MESSAGES, _fill, consume
from .test_byte_cuts import Outcome as ProxyOutcome

pytest.importorskip("aio_pika")


@dataclass(frozen=True)
class RuleCut:
    """Cut one connection after ``after`` bytes, ``"received"`` from or ``"sent"`` to the client."""

    after: int
    direction: str


def doubling_rule_cuts(start: int = 64, stop: int = 65536) -> list[RuleCut]:
    """64, 128, ... up to ``stop``, each received then sent (the proxy's upstream, downstream)."""
    cuts = []
    size = start
    while size <= stop:
        cuts += [RuleCut(size, "received"), RuleCut(size, "sent")]
        size *= 2
    return cuts


@dataclass
class CuttingFactory:
    """An engine factory for the TCP front: the k-th accepted connection gets ``cuts[k]``.

    The rule is added to the node's plan (lock held, before the engine exists)
    and matches that connection's name only, so a cut never lands on the
    reconnect: the reconnect is a new connection and gets the next cut.
    """

    node: Node
    cuts: list[RuleCut]
    rules: list[Rule] = field(default_factory=list)
    accepted: int = 0

    def __post_init__(self) -> None:
        self._make = amqp_engine_factory()

    def __call__(self, *, broker: Broker, peer: str, local: str) -> ProtocolEngine:
        index, self.accepted = self.accepted, self.accepted + 1
        if index < len(self.cuts):
            cut = self.cuts[index]
            faults, name = self.node.faults, f"{peer} -> {local}"
            if cut.direction == "received":
                rule = faults.drop_connection(connection=name, after_bytes_received=cut.after)
            else:
                rule = faults.drop_connection(connection=name, after_bytes_sent=cut.after)
            self.rules.append(rule)
        return self._make(broker=broker, peer=peer, local=local)

    @property
    def fired(self) -> int:
        """How many of the plan's cuts fired."""
        return sum(rule.fired for rule in self.rules)


@dataclass
class Outcome(ProxyOutcome):
    """The proxy run's outcome, and how the plan's cuts fell on the connections."""

    connections: int = 0
    #: Per connection the plan cut: did its cut fire (in the order they connected)?
    fired: list[bool] = field(default_factory=list)


@contextlib.contextmanager
def cutting_server(cuts: list[RuleCut]) -> Iterator[tuple[Server, CuttingFactory]]:
    """fakebroker served over TCP, its connections cut by ``cuts`` (rules, no proxy)."""
    node = Node()
    factory = CuttingFactory(node, cuts)
    server = Server(node=node, port=0, engine_factory=factory)
    try:
        with server:
            yield server, factory
    finally:
        node.close()


def run_rule_cuts(cuts: list[RuleCut] | None = None) -> Outcome:
    """One trial: fill a queue (uncut), consume it through ``cuts``; what happened."""
    cuts = doubling_rule_cuts() if cuts is None else cuts
    queue = f"chaos-rules-{uuid.uuid4().hex[:8]}"
    outcome = Outcome()
    with cutting_server([]) as (server, factory):
        sent = _fill(("127.0.0.1", server.port), queue)
        factory.cuts, factory.accepted = cuts, 0  # the consumer's connections are cut
        asyncio.run(consume(server.url, queue, outcome))
        outcome.cuts = factory.fired
        outcome.fired = [rule.fired == 1 for rule in factory.rules]
        outcome.connections = factory.accepted
    assert outcome.received <= sent, "a message nobody published"
    return outcome


def test_doubling_cuts_go_received_then_sent_from_64() -> None:
    cuts = doubling_rule_cuts(64, 256)
    assert [(c.after, c.direction) for c in cuts] == [
        (64, "received"),
        (64, "sent"),
        (128, "received"),
        (128, "sent"),
        (256, "received"),
        (256, "sent"),
    ]
    assert len(doubling_rule_cuts()) == 22  # 64 B .. 64 KiB


def test_robust_consumer_recovers_through_rule_cuts() -> None:
    outcome = run_rule_cuts()
    assert outcome.recovered, f"{len(outcome.received)}/{MESSAGES} after {outcome}"
    # the cuts fired in the plan's order, each on its own connection: every
    # connection but the last was cut (the last one consumed the rest: its
    # received cut, or a later one, was more than the client sent)
    assert outcome.cuts >= 10, outcome
    assert outcome.fired[: outcome.cuts] == [True] * outcome.cuts, outcome
    assert not any(outcome.fired[outcome.cuts :]), outcome
    assert outcome.connections == outcome.cuts + 1, outcome
    assert outcome.deliveries >= MESSAGES
