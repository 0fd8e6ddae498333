"""The ``broker`` fixture: a fresh in-process broker per test, with inspection."""

from __future__ import annotations

import contextlib
import threading

import kombu
import pytest

import fakebroker
from fakebroker import VirtualClock
from fakebroker.testing._handle import BrokerHandle


def test_each_test_gets_its_own_registered_broker(broker: BrokerHandle) -> None:
    assert fakebroker.nodes()[broker.name or ""] is broker.node
    assert broker.url == f"fakebroker://{broker.name}//"
    assert isinstance(broker.clock, VirtualClock)
    assert broker.queues == {}
    assert set(broker.exchanges) >= {"", "amq.direct", "amq.topic"}


def test_the_broker_is_dropped_after_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import fakebroker
        NAMES = []

        def test_one(broker):
            NAMES.append(broker.name)
            with broker.connection() as conn:
                conn.SimpleQueue("q").put("x")

        def test_two(broker):
            assert broker.name not in NAMES
            assert NAMES[0] not in fakebroker.nodes()
            assert broker.queues == {}
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_published_filters_and_assertions(broker: BrokerHandle) -> None:
    with broker.connection() as conn:
        producer = conn.Producer()
        producer.publish({"id": 1}, routing_key="a", headers={"kind": "x"})
        producer.publish(
            b"raw", routing_key="b", content_type="text/plain", content_encoding="utf-8"
        )

    assert [m.routing_key for m in broker.published()] == ["a", "b"]
    assert len(broker.published(headers={"kind": "x"})) == 1
    assert len(broker.published(body=b"raw", content_type="text/plain")) == 1
    assert broker.published(body="raw")[0].routing_key == "b"
    assert broker.published(where=lambda m: m.body.startswith(b"{"))[0].routing_key == "a"
    broker.assert_published(count=2)
    broker.assert_published(routing_key="a", body={"id": 1})
    broker.assert_not_published(exchange="amq.topic")


def test_failed_assertions_show_what_was_published(broker: BrokerHandle) -> None:
    with broker.connection() as conn:
        conn.Producer().publish({"id": 1}, routing_key="orders.new")

    with pytest.raises(AssertionError) as missing:
        broker.assert_published(routing_key="orders.paid")
    assert "routing_key='orders.paid'" in str(missing.value)
    assert "routing_key='orders.new' body={\"id\": 1}" in str(missing.value)

    with pytest.raises(AssertionError) as present:
        broker.assert_not_published(routing_key="orders.new")
    assert "1 matched" in str(present.value)

    with pytest.raises(AssertionError, match="expected 2 message"):
        broker.assert_published(count=2)


def test_nothing_published_says_so(broker: BrokerHandle) -> None:
    with pytest.raises(AssertionError, match="Nothing was published"):
        broker.assert_published()


def test_run_until_idle_runs_consumer_callbacks(broker: BrokerHandle) -> None:
    got: list[str] = []
    queue = kombu.Queue("work")
    # py-amqp reads (and so runs callbacks) when it publishes: publish on another connection
    with (
        broker.connection() as conn,
        broker.connection() as publisher,
        conn.Consumer(queue, callbacks=[lambda body, m: (got.append(body), m.ack())]),
    ):
        for n in range(3):
            publisher.Producer().publish(f"job {n}", routing_key="work")
        assert got == []
        assert broker.run_until_idle() >= 3
        assert got == ["job 0", "job 1", "job 2"]
        assert broker.run_until_idle() == 0
    assert broker.queues["work"].messages == 0


def test_run_until_idle_waits_for_consumers_in_other_threads(broker: BrokerHandle) -> None:
    done = threading.Event()
    got: list[str] = []
    go = threading.Event()

    def worker() -> None:
        with kombu.Connection(broker.url) as conn:

            def on(body: str, message: kombu.Message) -> None:
                got.append(body)
                message.ack()

            with conn.Consumer(kombu.Queue("jobs"), callbacks=[on]):
                go.set()
                while not done.is_set():
                    with contextlib.suppress(TimeoutError):
                        conn.drain_events(timeout=0.05)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert go.wait(10)
        with broker.connection() as conn:
            for n in range(5):
                conn.Producer().publish(n, routing_key="jobs")
        broker.run_until_idle(timeout=10)
        assert got == [0, 1, 2, 3, 4]
    finally:
        done.set()
        thread.join(10)


def test_run_until_idle_times_out_on_a_consumer_that_never_acks(broker: BrokerHandle) -> None:
    held = threading.Event()
    release = threading.Event()

    def worker() -> None:
        with (
            kombu.Connection(broker.url) as conn,
            conn.Consumer(kombu.Queue("stuck"), callbacks=[lambda b, m: held.set()]),
        ):
            while not release.is_set():
                with contextlib.suppress(TimeoutError):
                    conn.drain_events(timeout=0.05)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        with broker.connection() as conn:
            conn.SimpleQueue("stuck").put("x")
        assert held.wait(10)
        with pytest.raises(TimeoutError, match="stuck: 0 ready, 1 unacked"):
            broker.run_until_idle(timeout=0.2)
    finally:
        release.set()
        thread.join(10)


def test_virtual_clock_expires_and_dead_letters(broker: BrokerHandle) -> None:
    with broker.connection() as conn:
        ttl = kombu.Queue(
            "slow",
            queue_arguments={
                "x-message-ttl": 60_000,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": "expired",
            },
        )
        conn.Producer().publish("late", routing_key="slow", declare=[ttl, kombu.Queue("expired")])
        broker.clock.advance(59)
        assert len(broker.messages("slow")) == 1
        broker.clock.advance(1)
    assert broker.messages("slow") == []
    [dead] = broker.dead_letters("slow", reason="expired")
    assert dead.body == b"late"
    assert [m.body for m in broker.messages("expired")] == [b"late"]
    assert broker.dead_letters("slow", reason="rejected") == []


def test_amqp_connection_and_bindings(broker: BrokerHandle) -> None:
    conn = broker.amqp_connection()
    channel = conn.channel()
    channel.exchange_declare("events", "topic")
    channel.queue_declare("audit")
    channel.queue_bind("audit", "events", "user.#")
    assert ("events", "audit", "user.#") in [
        (b.source, b.destination, b.routing_key) for b in broker.bindings
    ]
    assert broker.consumers == []


def test_serve_shares_the_in_process_broker_with_socket_clients(broker: BrokerHandle) -> None:
    import pika

    url = broker.serve()
    assert url.startswith("amqp://guest:guest@127.0.0.1:") and url.endswith("/%2F")
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        channel = conn.channel()
        channel.queue_declare("shared", durable=True)
        channel.basic_publish("", "shared", b"over tcp")
    with broker.connection() as kconn:
        assert kconn.SimpleQueue("shared").get(timeout=1).body == b"over tcp"
    assert broker.serve() == url


def test_advancing_past_missed_heartbeats_ends_the_connection(broker: BrokerHandle) -> None:
    quiet = broker.connection()
    beating = broker.connection(heartbeat=10)
    for conn in (quiet, beating):
        conn.SimpleQueue("q").put("a")
    broker.clock.advance(100)  # no frames from the clients for 100 virtual seconds
    quiet.SimpleQueue("q").put("b")
    with pytest.raises(OSError):  # the broker hung up, as RabbitMQ does (no close frame)
        beating.SimpleQueue("q").get(timeout=1)
    assert [m.body for m in broker.messages("q")] == [b"a", b"a", b"b"]
