"""A Jepsen-style queue check: random faults from a seed; no confirmed message may be lost.

Set FAKEBROKER_CHAOS_SEED to replay one schedule; the seed is printed on every run.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

import amqp
import pytest

from tests.faults._front import CONNECTION_LOST, Front

SEEDS = (
    [int(os.environ["FAKEBROKER_CHAOS_SEED"])]
    if "FAKEBROKER_CHAOS_SEED" in os.environ
    else [1, 2, 3]
)
MESSAGES = 80


@dataclass
class History:
    attempts: Counter[int] = field(default_factory=Counter)
    confirmed: set[int] = field(default_factory=set)
    consumed: Counter[int] = field(default_factory=Counter)
    redelivered: set[int] = field(default_factory=set)


def _plan(front: Front, seed: int) -> None:
    faults = front.broker.faults
    faults.reseed(seed)
    faults.drop_connection(on="basic.publish", when="after_route", probability=0.05)
    faults.drop_connection(when="mid_publish", probability=0.05)
    faults.nack_confirms(probability=0.05)
    faults.duplicate_delivery(queue="jepsen", probability=0.05)
    faults.drop_connection(when="deliver", queue="jepsen", probability=0.05)
    faults.refuse_connections(None, probability=0.3)


def _connect(front: Front) -> amqp.Connection:
    for _ in range(20):
        try:
            return front.connect()
        except CONNECTION_LOST:
            continue
    raise AssertionError("could not connect")


def _publish_all(front: Front, history: History) -> None:
    conn = _connect(front)
    ch = conn.channel()
    ch.queue_declare("jepsen", durable=True, auto_delete=False)
    for n in range(MESSAGES):
        while n not in history.confirmed:  # retry until confirmed: at-least-once
            history.attempts[n] += 1
            try:
                ch.basic_publish_confirm(
                    amqp.Message(str(n), delivery_mode=2), routing_key="jepsen"
                )
                history.confirmed.add(n)
            except amqp.exceptions.MessageNacked:
                continue
            except CONNECTION_LOST:
                conn.collect()
                conn = _connect(front)
                ch = conn.channel()
    conn.collect()


def _consume_all(front: Front, history: History) -> None:
    """Consume (prefetch 10, acks) until the queue is empty, reconnecting after faults."""
    while True:
        conn = _connect(front)
        try:
            ch = conn.channel()
            ch.basic_qos(0, 10, False)

            def on_message(msg: amqp.Message) -> None:
                n = int(msg.body)
                history.consumed[n] += 1
                if msg.delivery_info["redelivered"]:
                    history.redelivered.add(n)
                msg.channel.basic_ack(msg.delivery_tag)

            ch.basic_consume("jepsen", callback=on_message)
            while not _drained(front, conn):
                pass
            conn.collect()
            return
        except CONNECTION_LOST:
            conn.collect()


def _drained(front: Front, conn: amqp.Connection) -> bool:
    try:
        conn.drain_events(timeout=0.2)
        return False
    except TimeoutError:
        with front.locked():
            queue = front.broker.get_queue("jepsen")
            return queue.message_count == 0 and queue.unacked == 0


@pytest.mark.parametrize("seed", SEEDS)
def test_no_confirmed_message_is_lost(front: Front, seed: int) -> None:
    print(f"chaos seed={seed} front={front.kind} (replay: FAKEBROKER_CHAOS_SEED={seed})")
    _plan(front, seed)
    history = History()
    _publish_all(front, history)
    _consume_all(front, history)
    fired = Counter(e.details["action"] for e in front.broker.journal.entries("fault"))
    lost = history.confirmed - set(history.consumed)
    unexpected = set(history.consumed) - set(history.attempts)
    # extra copies must come from a republish, a redelivery, or an injected duplicate
    unexplained = sum(
        count - 1
        for n, count in history.consumed.items()
        if count > 1 and history.attempts[n] == 1 and n not in history.redelivered
    )
    report = (
        f"seed={seed}: lost={sorted(lost)} unexpected={sorted(unexpected)} "
        f"unexplained duplicates={unexplained} faults={dict(fired)}"
    )
    print(report)
    assert (lost, unexpected) == (set(), set()), report
    assert unexplained <= fired["duplicate"], report
    assert len(history.confirmed) == MESSAGES
    assert sum(fired.values()) > 0, report  # the schedule did break things


def test_the_checker_sees_a_lost_message(front: Front) -> None:
    """Able to fail: a broker that confirms without enqueueing is caught."""
    front.broker.faults.reseed(1)
    front.broker.faults.return_unroutable(routing_key="jepsen", probability=0.1)
    history = History()
    _publish_all(front, history)
    _consume_all(front, history)
    lost = history.confirmed - set(history.consumed)
    assert lost and len(lost) == front.broker.faults.rules[0].fired
