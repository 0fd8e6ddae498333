"""The memory high watermark: the memory alarm raised and cleared by the bytes held."""

from __future__ import annotations

import pytest
from pamqp import commands as C

from fakebroker.core import Broker, VirtualClock
from tests.amqp._client import PROTOCOL_HEADER, RawClient, method_frame


def _broker(limit: int) -> tuple[Broker, VirtualClock]:
    clock = VirtualClock()
    return Broker(clock=clock, memory_high_watermark=limit), clock


def test_the_alarm_goes_up_at_the_next_look_and_down_when_drained() -> None:
    broker, clock = _broker(1000)
    channel = broker.connect().open_channel(1)
    channel.queue_declare("q")
    for _ in range(10):
        channel.basic_publish("", "q", b"x" * 100)
    assert broker.memory is not None and broker.memory.used() == 1000
    assert not broker.alarms  # RabbitMQ's monitor looks every 2.5 s, not at each publish
    clock.advance(2.5)
    assert broker.alarms == {"memory"}
    got = channel.basic_get("q")
    assert got is not None
    clock.advance(2.5)
    assert broker.alarms == {"memory"}  # delivered but unacknowledged still counts
    channel.basic_ack(got.delivery_tag)
    clock.advance(2.5)
    assert not broker.alarms


def test_an_alarm_raised_by_hand_is_not_cleared_by_the_watermark() -> None:
    broker, clock = _broker(1000)
    broker.raise_alarm("memory")
    clock.advance(10)
    assert broker.alarms == {"memory"}


def test_a_watermark_is_positive() -> None:
    with pytest.raises(ValueError, match="positive number of bytes"):
        Broker(memory_high_watermark=0)


def test_publishers_get_connection_blocked_and_unblocked() -> None:
    broker, clock = _broker(500)
    client = RawClient(broker=broker)
    client.send(PROTOCOL_HEADER)
    start_ok = C.Connection.StartOk(
        {"capabilities": {"connection.blocked": True}}, "PLAIN", "\0guest\0guest", "en_US"
    )
    client.send(method_frame(0, start_ok))
    client.send(
        method_frame(0, C.Connection.TuneOk(2047, 131072, 0)),
        method_frame(0, C.Connection.Open(virtual_host="/")),
        method_frame(1, C.Channel.Open()),
    )
    channel = broker.connect().open_channel(1)
    channel.queue_declare("big")
    channel.basic_publish("", "big", b"x" * 600)
    clock.advance(2.5)
    frames = client.send(method_frame(1, C.Basic.Publish(exchange="", routing_key="nowhere")))
    assert [f.reason for _, f in frames if isinstance(f, C.Connection.Blocked)] == ["low on memory"]
    broker.get_queue("big").purge()
    clock.advance(2.5)
    assert any(isinstance(f, C.Connection.Unblocked) for _, f in client.recv())
