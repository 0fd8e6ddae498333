"""Waiting for broker state needs no polling: every front notifies ``node.changed``.

A waiter blocks on the condition with no timeout of its own; a client's
publish (in-process, or over TCP) must wake it. If a front forgot to
notify, the waiter would sleep until the join's bound and the test fails.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import amqp
import pytest

import fakebroker
import fakebroker.fronts.transport as fbt
from fakebroker import Node
from fakebroker.testing import wait_for

BOUND = 10.0  # a failure bound, never reached when the front notifies


def _published(node: Node) -> int:
    return sum(q.messages_ready for q in node.broker.list_queues())


def _wakes_on_publish(node: Node, connect: Callable[[], amqp.Connection]) -> None:
    conn = connect()
    try:
        channel = conn.channel()
        channel.queue_declare("changes")
        changed = node.changed
        woke = threading.Event()
        waiting = threading.Event()

        def waiter() -> None:
            with changed:
                before = _published(node)
                waiting.set()
                while _published(node) == before:
                    changed.wait()  # no timeout: only a notification wakes it
            woke.set()

        thread = threading.Thread(target=waiter, daemon=True)
        thread.start()
        assert waiting.wait(BOUND)
        channel.basic_publish(amqp.Message(b"x"), routing_key="changes")
        assert woke.wait(BOUND), "the front did not notify the broker's change"
        thread.join(BOUND)
    finally:
        conn.close()


def test_in_process_input_notifies() -> None:
    node = fakebroker.get_node("changes-inproc")
    try:
        _wakes_on_publish(node, lambda: _connected(fbt.AMQPConnection(host="changes-inproc")))
    finally:
        fakebroker.drop_node("changes-inproc")


def test_tcp_input_notifies() -> None:
    with fakebroker.serve(port=0) as server:
        host = f"127.0.0.1:{server.port}"
        _wakes_on_publish(server.node, lambda: _connected(amqp.Connection(host=host)))


def _connected(conn: amqp.Connection) -> amqp.Connection:
    conn.connect()
    return conn


@pytest.mark.parametrize("front", ["inproc", "tcp"])
def test_wait_for_with_a_broker_returns_what_the_predicate_found(front: str) -> None:
    with fakebroker.serve(port=0) as server:
        node = server.node
        if front == "inproc":
            fakebroker.set_node("changes-shared", node)
            conn = _connected(fbt.AMQPConnection(host="changes-shared"))
        else:
            conn = _connected(amqp.Connection(host=f"127.0.0.1:{server.port}"))
        try:
            channel = conn.channel()
            channel.queue_declare("w")
            channel.basic_publish(amqp.Message(b"x"), routing_key="w")
            assert wait_for(lambda: _published(node), BOUND, node=node) == 1
        finally:
            conn.close()
            fakebroker.drop_node("changes-shared")
