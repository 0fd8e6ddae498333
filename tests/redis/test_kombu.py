"""kombu's redis transport on fakebroker's Redis front and on the real Redis: the same answers."""

from __future__ import annotations

import contextlib
import queue
import threading

import pytest
from kombu import Consumer, Exchange, Queue

from fakebroker.testing._redis import RedisBrokerHandle


def _pass_time(redis: RedisBrokerHandle, seconds: float) -> None:
    """Let ``seconds`` pass: on the virtual clock at once, elsewhere for real."""
    if redis.kind == "redis-inproc":
        redis.advance(seconds)
    else:
        threading.Event().wait(seconds)


def test_publish_then_get(redis: RedisBrokerHandle) -> None:
    with redis.connection() as conn:
        q = conn.SimpleQueue("orders")
        q.put({"id": 1})
        q.put({"id": 2})
        assert redis.queues["orders"].messages == 2
        assert [m.body for m in redis.messages("orders")] == [b'{"id": 1}', b'{"id": 2}']
        first = q.get(timeout=2)
        assert first.payload == {"id": 1}
        assert len(redis.unacked) == 1
        first.ack()
        second = q.get(timeout=2)
        assert second.payload == {"id": 2}
        second.ack()
        q.close()
    assert redis.queues["orders"].messages == 0
    assert redis.bindings[0].queue == "orders"


def test_consume_and_ack(redis: RedisBrokerHandle) -> None:
    got: list[object] = []
    with redis.connection() as conn:
        exchange = Exchange("shop", type="direct")
        q = Queue("paid", exchange, routing_key="paid")
        producer = conn.Producer()
        producer.publish({"n": 1}, exchange=exchange, routing_key="paid", declare=[q])
        producer.publish({"n": 2}, exchange=exchange, routing_key="paid")

        def on_message(body: object, message: object) -> None:
            got.append(body)
            message.ack()  # type: ignore[attr-defined]

        with Consumer(conn, [q], callbacks=[on_message]):
            while len(got) < 2:
                conn.drain_events(timeout=2)
    assert got == [{"n": 1}, {"n": 2}]
    assert redis.unacked == {}
    assert [(b.exchange, b.routing_key, b.queue) for b in redis.bindings] == [
        ("shop", "paid", "paid")
    ]


def test_reject_drops_and_requeue_goes_behind_waiting_messages(redis: RedisBrokerHandle) -> None:
    with redis.connection() as conn:
        q = conn.SimpleQueue("jobs")
        for n in (1, 2):
            q.put({"n": n})
        m = q.get(timeout=2)
        m.reject()
        assert redis.unacked == {}
        assert redis.queues["jobs"].messages == 1
        m = q.get(timeout=2)
        assert m.payload == {"n": 2}
        q.put({"n": 3})
        m.requeue()  # LPUSH: the far end of the list kombu RPOPs from
        assert [msg.payload for msg in [q.get(timeout=2)]] == [{"n": 3}]
        again = q.get(timeout=2)
        assert again.payload == {"n": 2}
        assert again.delivery_info["redelivered"] is True
        again.ack()
        q.close()


def test_unacked_message_comes_back_after_the_visibility_timeout(redis: RedisBrokerHandle) -> None:
    timeout = 3600 if redis.kind == "redis-inproc" else 0.2
    options = {"visibility_timeout": timeout}
    worker = redis.connection(transport_options=options)  # takes a message, then dies
    worker.SimpleQueue("orders").put({"id": 7})
    taken = worker.SimpleQueue("orders").get(timeout=2)
    assert taken.payload == {"id": 7}
    with redis.connection(transport_options=options) as conn:
        conn.default_channel.qos.restore_visible()
        assert redis.queues["orders"].messages == 0  # not yet: still invisible
        _pass_time(redis, timeout + 0.05)
        conn.default_channel.qos.restore_visible(interval=1)
        again = conn.SimpleQueue("orders").get(timeout=2)
        assert again.payload == {"id": 7}
        assert again.delivery_info["redelivered"] is True
        again.ack()
    assert redis.unacked == {}


def test_priority_steps(redis: RedisBrokerHandle) -> None:
    with redis.connection() as conn:
        q = Queue("tasks", routing_key="tasks", max_priority=9)
        producer = conn.Producer()
        for priority in (0, 1, 4, 9, 6):
            producer.publish({"p": priority}, routing_key="tasks", priority=priority, declare=[q])
        assert redis.queues["tasks"].steps == {0: 2, 3: 1, 6: 1, 9: 1}
        simple = conn.SimpleQueue(q)
        order = [simple.get(timeout=2) for _ in range(5)]
        for m in order:
            m.ack()
        simple.close()
    assert [m.payload["p"] for m in order] == [0, 1, 4, 6, 9]


def test_fanout_reaches_every_listener_and_is_lost_when_nobody_listens(
    redis: RedisBrokerHandle,
) -> None:
    exchange = Exchange("news", type="fanout")
    got: dict[str, list[int]] = {"a": [], "b": []}
    with redis.connection() as pub:
        producer = pub.Producer()
        producer.publish({"n": 0}, exchange=exchange, declare=[exchange])  # nobody listening
        listeners = [redis.connection() for _ in "ab"]
        consumers = []
        for key, conn in zip("ab", listeners, strict=True):

            def on_message(body: dict[str, int], message: object, key: str = key) -> None:
                got[key].append(body["n"])
                message.ack()  # type: ignore[attr-defined]

            consumer = Consumer(conn, [Queue(f"news-{key}", exchange)], callbacks=[on_message])
            consumer.consume()
            consumers.append(consumer)
        # kombu subscribes on a listener's first poll: publish until both hear one
        for n in range(1, 100):
            producer.publish({"n": n}, exchange=exchange)
            for conn in listeners:
                with contextlib.suppress(TimeoutError):
                    conn.drain_events(timeout=0.05)
            if got["a"] and got["b"]:
                break
        for consumer in consumers:
            consumer.cancel()
    assert got["a"] and got["b"]
    assert 0 not in got["a"] + got["b"]  # published while nobody listened: lost, as on Redis
    assert got["a"] == sorted(set(got["a"])) and got["b"] == sorted(set(got["b"]))


def test_global_keyprefix_prefixes_every_key(redis: RedisBrokerHandle) -> None:
    prefix = redis.prefix + "app1:"
    with redis.connection(transport_options={"global_keyprefix": prefix}) as conn:
        q = conn.SimpleQueue("mail")
        q.put({"to": "x"})
        client = redis.client()
        keys = sorted(k.decode() for k in client.keys(prefix.replace("*", r"\*") + "*"))
        assert keys == [
            f"{prefix}_kombu.binding.mail",
            f"{prefix}_kombu.binding_permanent.mail",
            f"{prefix}mail",
        ]
        m = q.get(timeout=2)
        assert m.payload == {"to": "x"}
        assert client.hlen(f"{prefix}unacked") == 1
        m.ack()
        q.close()


def test_queue_expiry(redis: RedisBrokerHandle) -> None:
    ttl_ms = 60_000 if redis.kind == "redis-inproc" else 150
    with redis.connection() as conn:
        q = Queue("temp", routing_key="temp", expires=ttl_ms / 1000)
        conn.Producer().publish({"x": 1}, routing_key="temp", declare=[q])
        client = redis.client()
        assert 0 < client.pttl(redis.prefix + "temp") <= ttl_ms
        _pass_time(redis, ttl_ms / 1000 + 0.05)
        assert client.exists(redis.prefix + "temp") == 0
        simple = conn.SimpleQueue(q)
        with pytest.raises(queue.Empty):
            simple.get(block=False)
        simple.close()
