"""The rule model and the plan, without any client (pure)."""

from __future__ import annotations

import pytest

from fakebroker.core import Broker
from fakebroker.faults import Hit, Rule


def _fires(rule: Rule, n: int, seed: int = 0) -> list[int]:
    import random

    rng = random.Random(seed)
    hit = Hit(point=rule.point, method="basic.publish", routing_key="orders.eu")
    return [i for i in range(1, n + 1) if rule.matches(hit) and rule.decide(rng)]


@pytest.mark.parametrize(
    ("counts", "fired"),
    [
        ({}, [1]),
        ({"nth": 3}, [3]),
        ({"nth": 3, "times": 2}, [3, 4]),
        ({"every": 3, "times": None}, [3, 6, 9]),
        ({"after": 7, "times": None}, [8, 9, 10]),
        ({"every": 2, "times": 2}, [2, 4]),
    ],
)
def test_counts(counts: dict[str, int | None], fired: list[int]) -> None:
    rule = Rule(action="drop", point="method_received", **counts)  # type: ignore[arg-type]
    assert _fires(rule, 10) == fired


def test_probability_is_seeded() -> None:
    def run(seed: int) -> list[int]:
        rule = Rule(action="drop", point="method_received", probability=0.3, times=None)
        return _fires(rule, 50, seed)

    assert run(7) == run(7) and run(7) != run(8)
    assert 5 < len(run(7)) < 25


def test_filters_are_patterns() -> None:
    rule = Rule(action="drop", point="method_received", method="basic.*", routing_key="orders.*")
    assert rule.matches(
        Hit(point="method_received", method="basic.publish", routing_key="orders.eu")
    )
    assert not rule.matches(Hit(point="method_received", method="queue.declare"))
    assert not rule.matches(
        Hit(point="message_routed", method="basic.publish", routing_key="orders.eu")
    )
    named = Rule(action="drop", point="method_received", connection="worker-*")
    assert named.matches(Hit(point="method_received", connection_name="worker-1"))
    assert not named.matches(Hit(point="method_received", connection="1.2.3.4:5 -> x"))


@pytest.mark.parametrize(
    "fields",
    [
        {"action": "explode", "point": "method_received"},
        {"action": "nack", "point": "method_received"},
        {"action": "drop", "point": "method_received", "nth": 0},
        {"action": "drop", "point": "method_received", "probability": 2.0},
    ],
)
def test_bad_rules_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Rule(**fields)  # type: ignore[arg-type]


def test_the_plan_api() -> None:
    broker = Broker()
    faults = broker.faults
    assert faults is broker.faults and faults.rules == ()
    keep = faults.nack_confirms(every=2)
    assert keep.times is None  # repeating counts repeat by default
    with faults.active({"action": "drop", "point": "message_routed", "nth": 2}) as plan:
        plan.withhold_confirms()
        assert len(faults.rules) == 3 and faults.armed("message_routed")
    assert faults.rules == (keep,) and not faults.armed("message_routed")
    faults.clear()
    assert faults.rules == () and not faults.armed("confirm_sending")
    with pytest.raises(ValueError, match="when="):
        faults.drop_connection(when="sometime")


def test_firings_are_journaled() -> None:
    broker = Broker()
    rule = broker.faults.drop_connection(on="basic.publish", when="after_route")
    hit = Hit(
        point="message_routed", method="basic.publish", exchange="x", routing_key="k", channel=1
    )
    assert broker.faults.fire(hit) == [rule]
    assert broker.faults.fire(hit) == []  # fired once
    (entry,) = broker.journal.entries("fault")
    assert (entry.exchange, entry.routing_key) == ("x", "k")
    assert entry.details["action"] == "drop" and entry.details["point"] == "message_routed"
    assert not broker.faults.armed("message_routed")
