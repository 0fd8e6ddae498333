"""The rule model and the plan, without any client (pure)."""

from __future__ import annotations

import pytest

from fakebroker import Node
from fakebroker.core import Broker
from fakebroker.core.faultpoints import NO_FAULTS
from fakebroker.faults import Action, Decision, Faults, Hit, Point, Rule


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
    node = Node()
    faults = node.faults
    assert faults is node.broker.faults and faults.rules == ()
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
    node = Node()
    broker = node.broker
    rule = node.faults.drop_connection(on="basic.publish", when="after_route")
    hit = Hit(
        point=Point.MESSAGE_ROUTED,
        method="basic.publish",
        exchange="x",
        routing_key="k",
        channel=1,
    )
    assert node.faults.fire(hit) == Decision(action=Action.DROP)
    assert rule.fired == 1
    assert node.faults.fire(hit) is None  # fired once
    (entry,) = broker.journal.entries("fault")
    assert (entry.exchange, entry.routing_key) == ("x", "k")
    assert entry.details["action"] == "drop" and entry.details["point"] == "message_routed"
    assert not broker.faults.armed("message_routed")


# -- the plan and the core's seam ------------------------------------------------------------


def test_a_broker_without_a_node_has_the_empty_plan_and_a_node_installs_one() -> None:
    broker = Broker()
    assert broker.faults is NO_FAULTS and not broker.faults.armed(Point.METHOD_RECEIVED)
    node = Node(broker=broker)
    assert isinstance(broker.faults, Faults) and broker.faults is node.faults
    assert node.faults.lock is node.lock
    rule = node.faults.stall()
    again = Node(broker=broker)  # hosted again: the plan stays, on the new node's lock
    assert again.faults.rules == (rule,) and again.faults.lock is again.lock


def test_the_first_armed_rule_wins_and_only_it_counts() -> None:
    node = Node()
    nack = node.faults.nack_confirms()
    withhold = node.faults.withhold_confirms()
    hit = Hit(point=Point.CONFIRM_SENDING, method="basic.ack", channel=1)
    assert node.faults.fire(hit) == Decision(action=Action.NACK)
    assert (nack.fired, withhold.fired, withhold.seen) == (1, 0, 0)
    assert [e.details["action"] for e in node.broker.journal.entries("fault")] == ["nack"]
    assert node.faults.fire(hit) == Decision(action=Action.WITHHOLD)  # nack is spent
    assert (nack.fired, withhold.fired) == (1, 1)


def test_a_rule_that_does_not_fire_yet_lets_the_next_one_win() -> None:
    node = Node()
    later = node.faults.nack_confirms(nth=2)
    now = node.faults.withhold_confirms()
    hit = Hit(point=Point.CONFIRM_SENDING, method="basic.ack")
    assert node.faults.fire(hit) == Decision(action=Action.WITHHOLD)
    assert (later.seen, later.fired, now.fired) == (1, 0, 1)
    assert node.faults.fire(hit) == Decision(action=Action.NACK)


def test_shaping_rules_combine_at_frame_sending() -> None:
    node = Node()
    node.faults.latency(1.0)
    node.faults.bandwidth(100.0)
    decisions = node.faults.fire_all(Hit(point=Point.FRAME_SENDING))
    assert [d.action for d in decisions] == [Action.LATENCY, Action.BANDWIDTH]
    assert [e.details["action"] for e in node.broker.journal.entries("fault")] == [
        "latency",
        "bandwidth",
    ]


#: A plan kept at module level, as a test suite keeps one.
PLAN = [Rule(action="drop", point="method_received", method="queue.declare")]


@pytest.mark.parametrize("test", ["first", "second"])
def test_a_module_level_plan_is_fresh_for_every_test_that_loads_it(test: str) -> None:
    node = Node()
    (loaded,) = node.faults.load(PLAN)
    assert loaded is not PLAN[0] and loaded.fired == 0
    hit = Hit(point=Point.METHOD_RECEIVED, method="queue.declare")
    assert node.faults.fire(hit) == Decision(action=Action.DROP)
    assert loaded.fired == 1 and PLAN[0].fired == 0 and PLAN[0].seen == 0


def test_a_wrong_point_or_action_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown fault point 'nowhere'") as caught:
        Rule(action="drop", point="nowhere")
    for point in Point:
        assert point.value in str(caught.value)
    with pytest.raises(ValueError, match="unknown fault action 'explode'") as caught:
        Rule(action="explode", point="method_received")
    assert "close_connection" in str(caught.value) and "duplicate" in str(caught.value)
    with pytest.raises(ValueError, match=r"cannot happen at 'frame_sending'.*valid points"):
        Rule(action="nack", point="frame_sending")
    with pytest.raises(ValueError, match="bytes=N"):
        Rule(action="drop", point="bytes_received")


def test_points_and_actions_are_enums_equal_to_their_names() -> None:
    rule = Rule(action="nack", point="confirm_sending")
    assert rule.action is Action.NACK and rule.point is Point.CONFIRM_SENDING
    assert rule.point == "confirm_sending" and str(rule.point) == "confirm_sending"
    node = Node()
    node.faults.add(rule)
    assert node.faults.armed("confirm_sending") and node.faults.armed(Point.CONFIRM_SENDING)


def test_byte_rules_count_their_own_direction() -> None:
    sent = Rule(action="drop", point="bytes_sent", bytes=100)
    # a chunk of 50 after 60 sent crosses 100: cut after 40 of it
    hit = Hit(point=Point.BYTES_SENT, sent=60, received=500, size=50)
    assert sent.matches(hit) and sent.decision(hit).cut == 40
    assert not sent.matches(Hit(point=Point.BYTES_SENT, sent=0, received=60, size=50))
    received = Rule(action="drop", point="bytes_received", bytes=100)
    assert not received.matches(hit)  # another point
    assert received.matches(Hit(point=Point.BYTES_RECEIVED, received=99, sent=0, size=1))


def test_byte_rules_need_a_count_and_take_no_method_filters() -> None:
    with pytest.raises(ValueError, match="a bytes_sent rule needs bytes=N"):
        Rule(action="drop", point="bytes_sent")
    with pytest.raises(ValueError, match="connection only, not on method"):
        Rule(action="drop", point="bytes_sent", bytes=8, method="basic.publish")
    with pytest.raises(ValueError, match="counts bytes_received or bytes_sent"):
        Rule(action="drop", point="method_received", bytes=8)
    with pytest.raises(ValueError, match="cannot happen at 'bytes_sent'"):
        Rule(action="stall", point="bytes_sent", bytes=8)
    faults = Node().faults
    with pytest.raises(ValueError, match="one of after_bytes"):
        faults.drop_connection(after_bytes=8, after_bytes_sent=8)
    with pytest.raises(ValueError, match="not on method"):
        faults.drop_connection(on="basic.publish", after_bytes=8)
    rules = [
        faults.drop_connection(after_bytes=8),
        faults.drop_connection(after_bytes_received=8),
        faults.drop_connection(after_bytes_sent=8, connection="worker-*", times=None),
    ]
    assert [(r.point, r.bytes) for r in rules] == [
        ("bytes_received", 8),
        ("bytes_received", 8),
        ("bytes_sent", 8),
    ]
    assert rules[2].times is None
