"""kombu and py-amqp over ``fakebroker://`` (no socket), some also against RabbitMQ."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import amqp
import kombu
import pytest
from kombu import Consumer, Exchange, Producer, Queue
from kombu.simple import SimpleQueue

import fakebroker
import fakebroker.fronts.transport as fbt
from fakebroker.core import Broker, VirtualClock

TIMEOUT = 5.0


def test_producer_consumer_drain_events(url: str, qname: str) -> None:
    exchange = Exchange(f"{qname}-x", type="direct", auto_delete=True)
    queue = Queue(qname, exchange, routing_key="k", auto_delete=True)
    got: list[object] = []
    with kombu.Connection(url, connect_timeout=TIMEOUT) as conn:

        def on_message(body: object, message: kombu.Message) -> None:
            got.append(body)
            message.ack()

        with Consumer(conn, [queue], callbacks=[on_message]):
            Producer(conn).publish(
                {"hello": "world"}, exchange=exchange, routing_key="k", declare=[queue]
            )
            conn.drain_events(timeout=TIMEOUT)
    assert got == [{"hello": "world"}]


def test_simple_queue_put_get_ack(url: str, qname: str) -> None:
    with kombu.Connection(url) as conn:
        queue: SimpleQueue = conn.SimpleQueue(qname, queue_opts={"auto_delete": True})
        queue.put("one")
        queue.put("two")
        first = queue.get(timeout=TIMEOUT)
        second = queue.get(timeout=TIMEOUT)
        assert (first.payload, second.payload) == ("one", "two")
        first.ack()
        second.ack()
        with pytest.raises(queue.Empty):
            queue.get(block=False)
        queue.close()


def test_ensure_connection(url: str) -> None:
    with kombu.Connection(url) as conn:
        conn.ensure_connection(max_retries=1)
        assert conn.connected
        assert conn.transport.driver_type == "amqp"


def test_drain_events_with_nothing_times_out_at_once() -> None:
    with kombu.Connection("fakebroker://") as conn:
        conn.SimpleQueue("idle").close()
        with Consumer(conn, [Queue("idle")], callbacks=[]):
            started = time.monotonic()
            with pytest.raises(socket.timeout):
                conn.drain_events(timeout=30)
            assert time.monotonic() - started < 1.0


def test_url_host_names_the_broker_and_path_the_vhost() -> None:
    fakebroker.get_node("shop").broker.add_vhost("orders")
    with kombu.Connection("fakebroker://shop/orders") as conn:
        conn.SimpleQueue("q").put("x")
    assert [m.body for m in fakebroker.get_node("shop").broker.messages("q", vhost="orders")] != []
    assert fakebroker.get_node().broker.list_queues() == []


def test_named_brokers_are_isolated() -> None:
    with kombu.Connection("fakebroker://a") as conn:
        conn.SimpleQueue("only-in-a").put("x")
    with kombu.Connection("fakebroker://b") as conn:
        channel = conn.channel()
        with pytest.raises(conn.channel_errors) as info:
            channel.queue_declare("only-in-a", passive=True)
        assert info.value.reply_code == 404
    assert "a" in fakebroker.nodes() and "b" in fakebroker.nodes()


def test_unknown_vhost_is_refused() -> None:
    with pytest.raises(amqp.exceptions.NotAllowed):
        kombu.Connection("fakebroker:///nowhere").connect()


def test_drop_broker_forces_clients_closed() -> None:
    conn = fbt.AMQPConnection(host="gone")
    conn.connect()
    conn.channel()
    fakebroker.drop_node("gone")
    with pytest.raises(amqp.exceptions.ConnectionForced):
        conn.drain_events(timeout=1)
    conn.collect()


def test_py_amqp_directly_over_the_pipe() -> None:
    conn = fbt.AMQPConnection(host="direct")
    conn.connect()
    try:
        ch = conn.channel()
        ch.queue_declare("q", exclusive=True)
        ch.basic_publish(amqp.Message(b"raw", priority=3), "", "q")
        message = ch.basic_get("q")
        assert message is not None and message.body == b"raw"
        assert message.properties["priority"] == 3
        ch.basic_ack(message.delivery_tag)
    finally:
        conn.close()
    assert fakebroker.get_node("direct").broker.connections == []


def test_consumer_thread_and_publisher_thread(url: str, qname: str) -> None:
    count = 20
    ready, done = threading.Event(), threading.Event()
    received: list[int] = []
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            with kombu.Connection(url) as conn:
                queue = Queue(qname, auto_delete=True)

                def on_message(body: int, message: kombu.Message) -> None:
                    received.append(body)
                    message.ack()

                with Consumer(conn, [queue], callbacks=[on_message]):
                    ready.set()
                    deadline = time.monotonic() + TIMEOUT
                    while len(received) < count and time.monotonic() < deadline:
                        with contextlib.suppress(TimeoutError):
                            conn.drain_events(timeout=1)
        except BaseException as exc:
            errors.append(exc)
        finally:
            ready.set()
            done.set()

    with kombu.Connection(url) as conn:
        Queue(qname, auto_delete=True)(conn.default_channel).declare()
        consumer = threading.Thread(target=consume)
        consumer.start()
        assert ready.wait(TIMEOUT)
        producer = Producer(conn)
        for i in range(count):
            producer.publish(i, routing_key=qname)
        assert done.wait(TIMEOUT * 2)
        consumer.join(TIMEOUT)
    assert errors == []
    assert received == list(range(count))


def test_autojumping_virtual_clock_runs_timers_when_nothing_to_read() -> None:
    clock = VirtualClock(autojump=True)
    fakebroker.set_node("vc", fakebroker.Node(broker=Broker(clock=clock)))
    started = clock.now()
    with kombu.Connection("fakebroker://vc") as conn:
        channel = conn.channel()
        channel.queue_declare("dead", auto_delete=False)
        channel.queue_declare(
            "waiting",
            arguments={
                "x-message-ttl": 60_000,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": "dead",
            },
        )
        got: list[object] = []
        with Consumer(
            conn, [Queue("dead", no_declare=True)], callbacks=[lambda b, m: got.append(b)]
        ):
            Producer(conn).publish("late", routing_key="waiting")
            wall = time.monotonic()
            conn.drain_events(timeout=120)
            assert time.monotonic() - wall < 1.0
    assert got == ["late"]
    assert clock.now() - started == pytest.approx(60.0)


def test_empty_or_local_host_means_the_default_broker() -> None:
    for url in ("fakebroker://", "fakebroker://localhost", "fakebroker://127.0.0.1:5672//"):
        with kombu.Connection(url) as conn:
            conn.SimpleQueue("here").put(url)
    assert [m.body for m in fakebroker.get_node().broker.messages("here")] != []
    assert len(fakebroker.get_node().broker.messages("here")) == 3
    assert list(fakebroker.nodes()) == ["default"]


def test_kombu_sees_rabbitmqs_qos_semantics(url: str) -> None:
    """kombu (and so Celery's basic.qos global flag) treats fakebroker:// as it treats RabbitMQ."""
    with kombu.Connection(url) as conn:
        conn.connect()
        assert conn.qos_semantics_matches_spec is False
