"""``broker.faults.drop_connections``: reset matching connections now, on both fronts."""

from __future__ import annotations

import threading

import amqp
import pytest

from ._front import CONNECTION_LOST, Front, open_front


def _reset_error(error: BaseException) -> bool:
    """Whether ``error`` is, or was caused by, a connection reset."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ConnectionResetError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def test_drop_connections_resets_the_matching_connection_now(front: Front) -> None:
    victim = front.connect(client_properties={"connection_name": "worker-1"})
    bystander = front.connect(client_properties={"connection_name": "web-1"})
    ch = victim.channel()
    ch.queue_declare("q", auto_delete=False)
    ch.basic_publish_confirm(amqp.Message(b"job"), routing_key="q")
    held = ch.basic_get("q")  # unacked when the connection goes
    assert held is not None

    assert front.broker.faults.drop_connections(connection="worker-*") == 1

    with front.locked():  # torn down at once, in the broker: the delivery is back
        (queue,) = front.broker.list_queues()
        assert (queue.messages_ready, queue.messages_unacknowledged) == (1, 0)
        names = [c.client_properties["connection_name"] for c in front.broker.connections]
        assert names == ["web-1"]
    with pytest.raises(CONNECTION_LOST) as info:
        ch.queue_declare("q", passive=True)
    assert _reset_error(info.value)
    entries = front.faults()
    assert [(e["action"], e["connection"]) for e in entries] == [("drop", victim_name(entries))]
    assert bystander.channel().queue_declare("q", passive=True).message_count == 1
    bystander.collect()
    victim.collect()


def victim_name(entries: list[dict[str, object]]) -> object:
    """The connection name the single journal entry names (a "peer -> local" name)."""
    (entry,) = entries
    name = entry["connection"]
    assert isinstance(name, str) and " -> " in name
    return name


def test_drop_connections_matches_user_and_vhost_and_counts() -> None:
    for kind in ("inproc", "tcp"):
        with open_front(kind, users={"guest": "guest", "ops": "ops"}, vhosts=("/", "v2")) as front:
            conns = [
                front.connect(),
                front.connect(userid="ops", password="ops"),
                front.connect(virtual_host="v2"),
                front.connect(userid="ops", password="ops", virtual_host="v2"),
            ]
            faults = front.broker.faults
            assert faults.drop_connections(connection="nobody") == 0
            assert faults.drop_connections(user="ops", vhost="v2") == 1
            assert faults.drop_connections(vhost="v2") == 1
            assert faults.drop_connections(user="o*") == 1
            assert faults.drop_connections() == 1  # no pattern: every connection
            assert faults.drop_connections() == 0
            with front.locked():
                assert front.broker.connections == []
            assert [e["user"] for e in front.faults()] == ["ops", "guest", "ops", "guest"]
            for conn in conns:
                with pytest.raises(CONNECTION_LOST):
                    conn.channel().queue_declare("", exclusive=True)
                conn.collect()


def test_drop_connections_wakes_a_reader_blocked_in_another_thread(front: Front) -> None:
    conn = front.connect(read_timeout=30)
    ch = conn.channel()
    ch.queue_declare("q", auto_delete=False)
    ch.basic_consume("q", callback=lambda message: None)
    outcome: list[BaseException] = []
    reading = threading.Event()

    def consume() -> None:
        reading.set()
        try:
            conn.drain_events(timeout=30)
        except BaseException as error:
            outcome.append(error)

    reader = threading.Thread(target=consume)
    reader.start()
    assert reading.wait(5)
    front.wait_until(lambda: bool(front.broker.list_consumers()))
    assert front.broker.faults.drop_connections() == 1
    reader.join(5)
    assert not reader.is_alive()  # woken at once, long before its 30 s timeout
    (error,) = outcome
    assert isinstance(error, CONNECTION_LOST) and _reset_error(error)
    conn.collect()
