"""Content reassembly and splitting, channel close flows, core events, heartbeats."""

from __future__ import annotations

from typing import Any

import pytest
from pamqp import body as pbody
from pamqp import commands as C
from pamqp import header as pheader
from pamqp import heartbeat as pheartbeat

from fakebroker.amqp import Login
from fakebroker.core import events as E

from ._client import (
    RawClient,
    body_frame,
    channel_close,
    close,
    header_frame,
    heartbeat_frame,
    method_frame,
    only_close,
    summary,
)


def _consume(client: RawClient, queue: str = "q", no_ack: bool = True) -> None:
    client.call(1, C.Queue.Declare(queue=queue))
    frames = client.call(1, C.Basic.Consume(queue=queue, no_ack=no_ack, consumer_tag="ct"))
    assert summary(frames) == [(1, "Basic.ConsumeOk")]


def _bodies(frames: list[tuple[int, Any]]) -> list[bytes]:
    return [value.value for _, value in frames if isinstance(value, pbody.ContentBody)]


def test_publish_reassembled_from_many_body_frames() -> None:
    client = RawClient()
    client.open()
    client.call(1, C.Queue.Declare(queue="q"))
    data = bytes(range(256)) * 40
    props = C.Basic.Properties(content_type="text/plain", headers={"a": 1, "b": "x"})
    assert client.publish(1, data, routing_key="q", chunk=1000, props=props) == []
    [msg] = client.broker.messages("q")
    assert msg.body == data
    assert msg.properties["content_type"] == "text/plain"
    assert msg.properties["headers"] == {"a": 1, "b": "x"}


def test_empty_body_has_no_body_frame() -> None:
    client = RawClient()
    client.open()
    _consume(client)
    frames = client.send(method_frame(1, C.Basic.Publish(routing_key="q")), header_frame(1, 0))
    assert summary(frames) == [(1, "Basic.Deliver"), (1, "ContentHeader")]
    assert frames[1][1].body_size == 0


def test_deliveries_are_split_at_frame_max_minus_8() -> None:
    client = RawClient()
    client.open(tune=(2047, 4096, 0))
    _consume(client)
    data = b"x" * 10000
    frames = client.publish(1, data, routing_key="q", chunk=4000)
    sizes = [len(b) for b in _bodies(frames)]
    assert sizes == [4088, 4088, 1824]
    assert isinstance(frames[1][1], pheader.ContentHeader) and frames[1][1].body_size == 10000


def test_get_ok_with_content_and_get_empty() -> None:
    client = RawClient()
    client.open()
    client.call(1, C.Queue.Declare(queue="q"))
    client.publish(1, b"hello", routing_key="q")
    frames = client.call(1, C.Basic.Get(queue="q", no_ack=True))
    assert summary(frames) == [(1, "Basic.GetOk"), (1, "ContentHeader"), (1, "ContentBody")]
    assert frames[0][1].message_count == 0 and _bodies(frames) == [b"hello"]
    assert summary(client.call(1, C.Basic.Get(queue="q"))) == [(1, "Basic.GetEmpty")]


def test_consume_ok_precedes_first_delivery() -> None:
    client = RawClient()
    client.open()
    client.call(1, C.Queue.Declare(queue="q"))
    client.publish(1, b"m", routing_key="q")
    frames = client.call(1, C.Basic.Consume(queue="q", no_ack=True))
    assert summary(frames)[:2] == [(1, "Basic.ConsumeOk"), (1, "Basic.Deliver")]


def test_nowait_variants_send_nothing() -> None:
    client = RawClient()
    client.open()
    assert (
        client.call(1, C.Exchange.Declare(exchange="x", exchange_type="fanout", nowait=True)) == []
    )
    assert client.call(1, C.Queue.Declare(queue="q", nowait=True)) == []
    assert client.call(1, C.Queue.Bind(queue="q", exchange="x", nowait=True)) == []
    assert client.call(1, C.Confirm.Select(nowait=True)) == []
    assert client.call(1, C.Queue.Purge(queue="q", nowait=True)) == []
    assert client.call(1, C.Queue.Delete(queue="q", nowait=True)) == []
    assert client.call(1, C.Exchange.Delete(exchange="x", nowait=True)) == []


def test_every_synchronous_method_replies() -> None:
    client = RawClient()
    client.open()
    calls = [
        (C.Exchange.Declare(exchange="x", exchange_type="topic"), "Exchange.DeclareOk"),
        (C.Exchange.Declare(exchange="y", exchange_type="fanout"), "Exchange.DeclareOk"),
        (C.Exchange.Bind(destination="y", source="x", routing_key="#"), "Exchange.BindOk"),
        (C.Exchange.Unbind(destination="y", source="x", routing_key="#"), "Exchange.UnbindOk"),
        (C.Queue.Declare(queue="q"), "Queue.DeclareOk"),
        (C.Queue.Bind(queue="q", exchange="x", routing_key="a"), "Queue.BindOk"),
        (C.Queue.Unbind(queue="q", exchange="x", routing_key="a"), "Queue.UnbindOk"),
        (C.Queue.Purge(queue="q"), "Queue.PurgeOk"),
        (C.Basic.Qos(prefetch_count=5), "Basic.QosOk"),
        (C.Basic.Consume(queue="q", consumer_tag="t"), "Basic.ConsumeOk"),
        (C.Basic.Cancel(consumer_tag="t"), "Basic.CancelOk"),
        (C.Basic.Recover(requeue=True), "Basic.RecoverOk"),
        (C.Channel.Flow(active=True), "Channel.FlowOk"),
        (C.Queue.Delete(queue="q"), "Queue.DeleteOk"),
        (C.Exchange.Delete(exchange="y"), "Exchange.DeleteOk"),
        (C.Tx.Select(), "Tx.SelectOk"),
        (C.Tx.Commit(), "Tx.CommitOk"),
        (C.Tx.Rollback(), "Tx.RollbackOk"),
    ]
    for method, reply in calls:
        assert summary(client.call(1, method)) == [(1, reply)], method.name


def test_confirms_and_returns() -> None:
    client = RawClient()
    client.open()
    client.call(1, C.Confirm.Select())
    frames = client.send(
        method_frame(1, C.Basic.Publish(routing_key="nowhere", mandatory=True)),
        header_frame(1, 2),
        body_frame(1, b"hi"),
    )
    assert summary(frames) == [
        (1, "Basic.Return"),
        (1, "ContentHeader"),
        (1, "ContentBody"),
        (1, "Basic.Ack"),
    ]
    assert (frames[0][1].reply_code, frames[0][1].reply_text) == (312, "NO_ROUTE")
    assert frames[3][1].delivery_tag == 1


def test_channel_error_closes_channel_and_discards_until_close_ok() -> None:
    client = RawClient()
    client.open(channels=(1, 2))
    frames = client.call(1, C.Queue.Declare(queue="missing", passive=True))
    assert summary(frames) == [(1, "Channel.Close")]
    ch_close = frames[0][1]
    assert (ch_close.reply_code, ch_close.reply_text) == (
        404,
        "NOT_FOUND - no queue 'missing' in vhost '/'",
    )
    assert (ch_close.class_id, ch_close.method_id) == (50, 10)
    # everything but close / close-ok on channel 1 is discarded, content included
    discarded = client.send(
        method_frame(1, C.Basic.Qos()),
        method_frame(1, C.Basic.Publish(routing_key="x")),
        header_frame(1, 3),
        body_frame(1, b"abc"),
    )
    assert discarded == []
    # other channels work meanwhile
    assert summary(client.call(2, C.Basic.Qos())) == [(2, "Basic.QosOk")]
    assert client.call(1, C.Channel.CloseOk()) == []
    assert summary(client.call(1, C.Channel.Open())) == [(1, "Channel.OpenOk")]


def test_channel_open_before_close_ok_is_a_second_open() -> None:
    """RabbitMQ 3.10: the closing channel still counts as open: 504, the connection closes."""
    client = RawClient()
    client.open()
    client.call(1, C.Queue.Declare(queue="missing", passive=True))
    frames = client.call(1, C.Channel.Open())
    close = frames[-1][1]
    assert isinstance(close, C.Connection.Close)
    assert (close.reply_code, close.reply_text) == (
        504,
        "CHANNEL_ERROR - second 'channel.open' seen",
    )


def test_channel_close_crossing_server_close_gets_close_ok() -> None:
    """Answered with close-ok; the server's close still waits for the client's close-ok."""
    client = RawClient()
    client.open()
    client.call(1, C.Queue.Declare(queue="missing", passive=True))
    assert summary(client.call(1, channel_close())) == [(1, "Channel.CloseOk")]
    assert client.call(1, C.Channel.CloseOk()) == []
    assert summary(client.call(1, C.Channel.Open())) == [(1, "Channel.OpenOk")]


def test_client_channel_close_requeues_and_replies() -> None:
    client = RawClient()
    client.open()
    _consume(client, no_ack=False)
    client.publish(1, b"m", routing_key="q")
    assert summary(client.call(1, channel_close())) == [(1, "Channel.CloseOk")]
    assert [m.body for m in client.broker.messages("q")] == [b"m"]
    # the channel is gone: a method on it is 504
    assert only_close(client.call(1, C.Basic.Qos())).reply_code == 504


def test_client_connection_close() -> None:
    """RabbitMQ 3.10.8: close-ok, then the socket is the client's to close; input is
    ignored, and the socket is reset 30 s later (heartbeat 0) if the client has not."""
    client = RawClient()
    client.open()
    assert summary(client.call(0, close())) == [(0, "Connection.CloseOk")]
    assert client.broker.connections == []
    assert not client.engine.closed
    assert client.send(method_frame(1, C.Channel.Open())) == []
    client.clock.advance(29.9)
    assert not client.engine.closed
    client.clock.advance(0.1)
    assert client.engine.closed and client.engine.reset_requested


def test_after_close_ok_the_socket_is_held_for_the_heartbeat_at_most() -> None:
    client = RawClient()
    client.open(tune=(2047, 131072, 2))
    client.call(0, close())
    client.clock.advance(1.9)
    assert not client.engine.closed
    client.clock.advance(0.1)
    assert client.engine.closed and client.engine.reset_requested


def test_after_close_ok_the_clients_eof_ends_the_connection() -> None:
    client = RawClient()
    client.open()
    client.call(0, close())
    client.engine.receive_data(b"")
    assert client.engine.closed and not client.engine.reset_requested


def test_eof_and_connection_lost_tear_down() -> None:
    for how in ("eof", "lost"):
        client = RawClient()
        client.open()
        if how == "eof":
            client.engine.receive_data(b"")
        else:
            client.engine.connection_lost()
        assert client.engine.closed and client.broker.connections == []


def test_close_forced_sends_320() -> None:
    client = RawClient()
    client.open()
    client.engine.close_forced("shutdown")
    frame = only_close(client.recv())
    assert frame.reply_code == 320
    assert client.wakeups >= 1
    client.send(method_frame(0, C.Connection.CloseOk()))
    assert client.engine.closed


def test_delivery_from_another_connection_wakes_the_front() -> None:
    consumer = RawClient()
    consumer.open()
    _consume(consumer)
    publisher = RawClient(broker=consumer.broker)
    publisher.open()
    before = consumer.wakeups
    publisher.publish(1, b"hello", routing_key="q")
    assert consumer.wakeups == before + 1
    assert _bodies(consumer.recv()) == [b"hello"]


def _conn(client: RawClient) -> Any:
    return client.engine.connection


def test_events_need_capabilities() -> None:
    client = RawClient()
    client.open()
    conn = _conn(client)
    conn.emit(E.ConsumerCancelled(1, "ct"))
    frames = client.recv()
    assert summary(frames) == [(1, "Basic.Cancel")] and frames[0][1].consumer_tag == "ct"
    conn.emit(E.Blocked("low on memory"))
    conn.emit(E.Unblocked())
    assert client.recv() == []  # the test client did not announce connection.blocked


def test_channel_closed_event() -> None:
    client = RawClient()
    client.open()
    from fakebroker.core import AMQPChannelError

    _conn(client).emit(
        E.ChannelClosed(1, AMQPChannelError(406, "delivery acknowledgement timed out"))
    )
    frames = client.recv()
    assert summary(frames) == [(1, "Channel.Close")]
    assert frames[0][1].reply_text == "PRECONDITION_FAILED - delivery acknowledgement timed out"
    assert client.call(1, C.Basic.Qos()) == []


def test_internal_error_becomes_541(monkeypatch: pytest.MonkeyPatch) -> None:
    client = RawClient()
    client.open()
    chan = client.engine.channels.get(1)
    assert chan is not None
    core_channel = chan.core

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(core_channel, "basic_qos", boom)
    frame = only_close(client.call(1, C.Basic.Qos()))
    assert (frame.reply_code, frame.reply_text) == (541, "INTERNAL_ERROR")
    assert client.broker.connections == []
    client.send(method_frame(0, C.Connection.CloseOk()))
    assert client.engine.closed


def test_unencodable_event_becomes_541() -> None:
    client = RawClient()
    client.open()
    _conn(client).emit(E.Blocked(reason=object()))  # type: ignore[arg-type]
    client.engine.login = Login("guest", {}, frozenset({"connection.blocked"}))
    _conn(client).emit(E.Blocked(reason=object()))  # type: ignore[arg-type]
    assert only_close(client.recv()).reply_code == 541


# -- heartbeats ------------------------------------------------------------------------------


def _heartbeats(frames: list[tuple[int, Any]]) -> int:
    return sum(isinstance(v, pheartbeat.Heartbeat) for _, v in frames)


def test_heartbeat_sent_at_half_interval_when_idle() -> None:
    client = RawClient()
    client.open(tune=(2047, 131072, 2))
    times = []
    for _ in range(5):
        client.clock.advance(1.0)
        if _heartbeats(client.recv()):
            times.append(client.clock.now())
    start = client.clock.now() - 5
    assert [t - start for t in times] == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_heartbeat_skipped_when_something_was_sent() -> None:
    client = RawClient()
    client.open(tune=(2047, 131072, 2))
    client.clock.advance(1.0)
    assert _heartbeats(client.recv()) == 1  # the first check always sends
    client.clock.advance(0.5)
    client.call(1, C.Basic.Qos())  # qos-ok goes out at 1.5
    client.clock.advance(0.5)
    assert _heartbeats(client.recv()) == 0  # nothing at 2.0
    client.clock.advance(1.0)
    assert _heartbeats(client.recv()) == 1  # at 3.0


def test_silent_client_dropped_after_two_missed_checks() -> None:
    client = RawClient()
    client.open(tune=(2047, 131072, 2))
    client.clock.advance(5.9)
    assert not client.engine.closed
    client.clock.advance(0.1)
    assert client.engine.closed
    frames = client.recv()
    assert not any(isinstance(v, C.Connection.Close) for _, v in frames)
    assert client.broker.connections == []


def test_client_heartbeats_keep_the_connection() -> None:
    client = RawClient()
    client.open(tune=(2047, 131072, 2))
    client.clock.advance(2.5)
    client.send(heartbeat_frame())
    client.clock.advance(5.4)
    assert not client.engine.closed
    client.clock.advance(0.1)  # checks at 4 (activity), 6, 8 (silent twice)
    assert client.engine.closed


def test_no_heartbeats_when_zero() -> None:
    client = RawClient()
    client.open(tune=(2047, 131072, 0))
    client.clock.advance(1000)
    assert client.recv() == [] and not client.engine.closed
