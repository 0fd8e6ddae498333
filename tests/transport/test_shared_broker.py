"""One node shared by in-process clients and TCP clients of ``serve(node=...)``."""

from __future__ import annotations

import amqp
import kombu

import fakebroker
import fakebroker.fronts.transport as fbt
from fakebroker import serve

TIMEOUT = 5.0


def _tcp(url: str) -> kombu.Connection:
    return kombu.Connection(url, connect_timeout=TIMEOUT)


def test_tcp_publish_reaches_in_process_consumer() -> None:
    node = fakebroker.get_node("shared")
    with serve(node=node) as server, kombu.Connection("fakebroker://shared") as local:
        inbox = local.SimpleQueue("bridge")
        with _tcp(server.url) as remote:
            remote.SimpleQueue("bridge").put("over tcp")
        message = inbox.get(timeout=TIMEOUT)
        assert message.payload == "over tcp"
        message.ack()
        inbox.close()


def test_in_process_publish_wakes_a_tcp_consumer() -> None:
    node = fakebroker.get_node("shared")
    with serve(node=node) as server:
        remote = amqp.Connection(host=f"127.0.0.1:{server.port}", connect_timeout=TIMEOUT)
        remote.connect()
        try:
            channel = remote.channel()
            channel.queue_declare("to-tcp", exclusive=True)
            got: list[bytes] = []
            channel.basic_consume("to-tcp", callback=lambda m: got.append(m.body), no_ack=True)
            local = fbt.AMQPConnection(host="shared")
            local.connect()
            local.channel().basic_publish(amqp.Message(b"in process"), "", "to-tcp")
            remote.drain_events(timeout=TIMEOUT)
            local.close()
            assert got == [b"in process"]
        finally:
            remote.close()


def test_system_clock_timer_is_waited_for_within_the_timeout() -> None:
    with kombu.Connection("fakebroker://ttl") as conn:
        channel = conn.channel()
        channel.queue_declare("dead")
        channel.queue_declare(
            "soon",
            arguments={
                "x-message-ttl": 50,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": "dead",
            },
        )
        got: list[bytes] = []
        channel.basic_consume("dead", callback=lambda m: got.append(m.body), no_ack=True)
        channel.basic_publish(amqp.Message(b"expired"), "", "soon")
        conn.drain_events(timeout=TIMEOUT)
        assert got == [b"expired"]
