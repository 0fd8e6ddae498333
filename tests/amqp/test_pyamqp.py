"""py-amqp's Connection against the engine through an in-memory pipe."""

from __future__ import annotations

import amqp
import pytest

from fakebroker.core import Broker, VirtualClock

from ._pipe import PipeConnection


def _connect(broker: Broker, **kwargs: object) -> PipeConnection:
    conn = PipeConnection(broker, **kwargs)
    conn.connect()
    return conn


def test_publish_consume_ack_roundtrip() -> None:
    broker = Broker(clock=VirtualClock())
    conn = _connect(broker)
    ch = conn.channel()
    ch.queue_declare("q", auto_delete=False)
    ch.confirm_select()
    ch.basic_publish(
        amqp.Message(
            b"x" * 300_000, content_type="application/json", application_headers={"k": [1, "a"]}
        ),
        routing_key="q",
    )
    got: list[amqp.Message] = []
    ch.basic_consume("q", callback=got.append)
    conn.drain_events(timeout=0)
    assert got[0].body == b"x" * 300_000
    assert got[0].properties["content_type"] == "application/json"
    assert got[0].properties["application_headers"] == {"k": [1, "a"]}
    ch.basic_ack(got[0].delivery_tag)
    ch.close()
    conn.close()
    assert conn.engine.closed
    assert broker.list_queues()[0].messages == 0


def test_auth_failure_surfaces_as_access_refused() -> None:
    with pytest.raises(amqp.exceptions.AccessRefused) as info:
        _connect(Broker(clock=VirtualClock()), password="wrong")
    assert "Login was refused" in str(info.value)


def test_unknown_vhost_surfaces_as_not_allowed() -> None:
    with pytest.raises(amqp.exceptions.NotAllowed) as info:
        _connect(Broker(clock=VirtualClock()), virtual_host="nope")
    assert "vhost nope not found" in str(info.value)


def test_channel_error_then_channel_reuse() -> None:
    broker = Broker(clock=VirtualClock())
    conn = _connect(broker)
    ch = conn.channel()
    with pytest.raises(amqp.exceptions.NotFound):
        ch.queue_declare("missing", passive=True)
    ch2 = conn.channel()
    assert ch2.queue_declare("q2").queue == "q2"
    conn.close()


def test_small_frame_max_splits_content() -> None:
    broker = Broker(clock=VirtualClock())
    conn = _connect(broker, engine_options={"frame_max": 4096})
    assert conn.engine.frame_max == 4096
    ch = conn.channel()
    ch.queue_declare("q")
    ch.basic_publish(amqp.Message(bytes(range(256)) * 100), routing_key="q")
    msg = ch.basic_get("q", no_ack=True)
    assert msg.body == bytes(range(256)) * 100
    conn.close()
