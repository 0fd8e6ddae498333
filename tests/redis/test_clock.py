"""The Redis front on the node's clock: expiries and kombu's visibility timeout, no sleeping."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fakebroker.testing._redis import RedisBrokerHandle

DOC = Path(__file__).resolve().parents[2] / "docs" / "redis.md"


def test_expiries_follow_the_virtual_clock(redis_broker: RedisBrokerHandle) -> None:
    client = redis_broker.client()
    client.set("lock", "me", nx=True, px=300_000)
    client.execute_command("SETEX", "result", 60, "done")  # what Celery 5 sends
    client.set("queue", "x")
    client.pexpire("queue", 5_000)
    assert client.pttl("lock") == 300_000  # no real time passes on the virtual clock
    redis_broker.clock.advance(5.001)  # type: ignore[attr-defined]  # Redis: gone once past it
    assert client.exists("queue") == 0
    assert client.ttl("result") == 55
    redis_broker.clock.advance(55)  # type: ignore[attr-defined]
    assert client.get("result") is None
    assert client.set("lock", "other", nx=True, px=1) is None  # still held
    redis_broker.clock.advance(240)  # type: ignore[attr-defined]
    assert client.set("lock", "other", nx=True, px=1)  # kombu's unacked_mutex expired


def test_kombu_scores_unacked_on_the_virtual_clock(redis_broker: RedisBrokerHandle) -> None:
    now = redis_broker.clock.now()
    with redis_broker.connection() as conn:
        q = conn.SimpleQueue("orders")
        q.put({"id": 1})
        m = q.get(timeout=1)
        [(_tag, score)] = redis_broker.client().zrange("unacked_index", 0, -1, withscores=True)
        assert score == now
        m.ack()
        q.close()


def test_without_the_hour_passing_nothing_comes_back(redis_broker: RedisBrokerHandle) -> None:
    worker = redis_broker.connection()
    worker.SimpleQueue("orders").put({"id": 7})
    worker.SimpleQueue("orders").get(timeout=1)
    redis_broker.clock.advance(3599)  # type: ignore[attr-defined]
    with redis_broker.connection() as conn:
        conn.default_channel.qos.restore_visible()
    assert redis_broker.queues["orders"].messages == 0
    assert len(redis_broker.unacked) == 1


def test_the_docs_visibility_timeout_test_runs(pytester: pytest.Pytester) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert blocks, "docs/redis.md has no python block"
    pytester.makepyfile(test_doc=blocks[0])
    result = pytester.runpytest("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1)
