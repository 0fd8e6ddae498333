"""Real client libraries against ``fakebroker.serve()`` (and the same against RabbitMQ)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from urllib.parse import urlsplit

import amqp
import kombu
import pika
import pytest

from fakebroker import Server

TIMEOUT = 5.0


def _amqp_connection(url: str) -> amqp.Connection:
    parts = urlsplit(url)
    conn = amqp.Connection(
        host=f"{parts.hostname}:{parts.port}",
        userid="guest",
        password="guest",
        virtual_host="/",
        connect_timeout=TIMEOUT,
    )
    conn.connect()
    return conn


def test_py_amqp_publish_consume_ack(broker_url: str, qname: str) -> None:
    conn = _amqp_connection(broker_url)
    try:
        ch = conn.channel()
        ch.queue_declare(qname, auto_delete=True)
        received: list[amqp.Message] = []
        ch.basic_consume(qname, callback=received.append)
        ch.basic_publish(amqp.Message(b"hello", content_type="text/plain"), "", qname)
        conn.drain_events(timeout=TIMEOUT)
        assert [m.body for m in received] == [b"hello"]
        assert received[0].properties["content_type"] == "text/plain"
        assert received[0].delivery_info["routing_key"] == qname
        ch.basic_ack(received[0].delivery_tag)
        _name, messages, consumers = ch.queue_declare(qname, passive=True)
        assert (messages, consumers) == (0, 1)
    finally:
        conn.close()


def test_py_amqp_basic_get_and_reject_requeue(broker_url: str, qname: str) -> None:
    conn = _amqp_connection(broker_url)
    try:
        ch = conn.channel()
        ch.queue_declare(qname, auto_delete=False, exclusive=True)
        ch.basic_publish(amqp.Message(b"one"), "", qname)
        first = ch.basic_get(qname)
        assert first is not None and first.body == b"one"
        assert not first.delivery_info["redelivered"]
        ch.basic_reject(first.delivery_tag, requeue=True)
        again = ch.basic_get(qname)
        assert again is not None and again.body == b"one"
        assert again.delivery_info["redelivered"]
        ch.basic_ack(again.delivery_tag)
        assert ch.basic_get(qname) is None
    finally:
        conn.close()


def test_kombu_simple_queue(broker_url: str, qname: str) -> None:
    with kombu.Connection(broker_url, connect_timeout=TIMEOUT) as conn:
        queue = conn.SimpleQueue(qname, queue_opts={"auto_delete": True})
        queue.put({"n": 1})
        message = queue.get(timeout=TIMEOUT)
        assert message.payload == {"n": 1}
        message.ack()
        queue.close()


def _pika_parameters(url: str) -> pika.ConnectionParameters:
    parts = urlsplit(url)
    return pika.ConnectionParameters(
        host=parts.hostname,
        port=parts.port,
        virtual_host="/",
        credentials=pika.PlainCredentials("guest", "guest"),
        blocked_connection_timeout=TIMEOUT,
        socket_timeout=TIMEOUT,
    )


def test_pika_blocking_publish_consume_ack(broker_url: str, qname: str) -> None:
    conn = pika.BlockingConnection(_pika_parameters(broker_url))
    try:
        ch = conn.channel()
        ch.queue_declare(qname, auto_delete=True)
        ch.basic_publish("", qname, b"from pika", pika.BasicProperties(message_id="m1"))
        got: list[tuple[bytes, str | None]] = []

        def on_message(
            channel: object, method: object, properties: pika.BasicProperties, body: bytes
        ) -> None:
            got.append((body, properties.message_id))
            ch.basic_ack(method.delivery_tag)  # type: ignore[attr-defined]

        ch.basic_consume(qname, on_message)
        conn.process_data_events(time_limit=0)
        for _ in range(50):
            if got:
                break
            conn.process_data_events(time_limit=0.1)
        assert got == [(b"from pika", "m1")]
        assert ch.queue_declare(qname, passive=True).method.message_count == 0
    finally:
        conn.close()


def test_two_clients_at_once(broker_url: str, qname: str) -> None:
    consumer, producer = _amqp_connection(broker_url), _amqp_connection(broker_url)
    try:
        cch = consumer.channel()
        cch.queue_declare(qname, auto_delete=True)
        bodies: list[bytes] = []
        cch.basic_consume(qname, callback=lambda m: bodies.append(m.body), no_ack=True)
        pch = producer.channel()
        for i in range(3):
            pch.basic_publish(amqp.Message(b"m%d" % i), "", qname)
        while len(bodies) < 3:
            consumer.drain_events(timeout=TIMEOUT)
        assert bodies == [b"m0", b"m1", b"m2"]
    finally:
        producer.close()
        consumer.close()


def test_garbage_client_does_not_disturb_another(broker_url: str, qname: str) -> None:
    good = _amqp_connection(broker_url)
    parts = urlsplit(broker_url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT) as bad:
            bad.sendall(b"GET / HT")  # a bad protocol header, 8 bytes as RabbitMQ reads
            assert _recv_exactly(bad, 8) == b"AMQP\x00\x00\x09\x01"
            with contextlib.suppress(ConnectionResetError):  # RabbitMQ resets, we close
                assert bad.recv(4096) == b""
        ch = good.channel()
        ch.queue_declare(qname, auto_delete=True, exclusive=True)
        ch.basic_publish(amqp.Message(b"still fine"), "", qname)
        message = ch.basic_get(qname, no_ack=True)
        assert message is not None and message.body == b"still fine"
    finally:
        good.close()


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, data
        data += chunk
    return data


def test_shutdown_sends_320_to_clients(fake_server: Server) -> None:
    conn = _amqp_connection(fake_server.url)
    ch = conn.channel()
    ch.queue_declare("", exclusive=True)
    closer = threading.Thread(target=fake_server.close)
    closer.start()
    with pytest.raises(amqp.exceptions.ConnectionForced) as info:
        conn.drain_events(timeout=TIMEOUT)
    closer.join(TIMEOUT)
    assert not closer.is_alive()
    assert info.value.reply_code == 320
    assert info.value.reply_text == (
        "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"
    )
    conn.collect()


def test_served_broker_is_shared_with_python(fake_server: Server, qname: str) -> None:
    conn = _amqp_connection(fake_server.url)
    try:
        ch = conn.channel()
        ch.queue_declare(qname)
        ch.basic_publish(amqp.Message(b"x"), "", qname)
        ch.basic_publish(amqp.Message(b"y"), "", qname)
        ch.queue_declare(qname, passive=True)  # a round trip: both publishes are in
        assert [m.body for m in fake_server.broker.messages(qname)] == [b"x", b"y"]
    finally:
        conn.close()


def test_aio_pika_publish_consume_ack(broker_url: str, qname: str) -> None:
    aio_pika = pytest.importorskip("aio_pika")

    async def scenario() -> list[bytes]:
        connection = await aio_pika.connect(broker_url, timeout=TIMEOUT)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(qname, auto_delete=True)
            await channel.default_exchange.publish(aio_pika.Message(b"async"), routing_key=qname)
            bodies: list[bytes] = []
            async with queue.iterator(timeout=TIMEOUT) as messages:
                async for message in messages:
                    async with message.process():
                        bodies.append(message.body)
                    break
            return bodies

    assert asyncio.run(asyncio.wait_for(scenario(), TIMEOUT * 2)) == [b"async"]
