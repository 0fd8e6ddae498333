from __future__ import annotations

from fakebroker.core import Broker, Channel, Connection
from fakebroker.core.events import Return

from .conftest import drain


def ready(broker: Broker, queue: str) -> list[bytes]:
    return [m.body for m in broker.messages(queue)]


def test_default_exchange_routes_by_queue_name(broker: Broker, ch: Channel) -> None:
    ch.queue_declare("q")
    ch.basic_publish("", "q", b"a")
    ch.basic_publish("", "other", b"b")
    assert ready(broker, "q") == [b"a"]


def test_fanout_copies_to_every_queue(broker: Broker, ch: Channel) -> None:
    ch.exchange_declare("f", "fanout")
    for q in ("q1", "q2"):
        ch.queue_declare(q)
        ch.queue_bind(q, "f")
    ch.basic_publish("f", "ignored", b"x")
    assert ready(broker, "q1") == [b"x"] and ready(broker, "q2") == [b"x"]


def test_one_copy_per_queue_with_duplicate_bindings(broker: Broker, ch: Channel) -> None:
    ch.exchange_declare("t", "topic")
    ch.queue_declare("q")
    ch.queue_bind("q", "t", "a.*")
    ch.queue_bind("q", "t", "#")
    ch.basic_publish("t", "a.b", b"x")
    assert ready(broker, "q") == [b"x"]


def test_topic_hash_matches_zero_words(broker: Broker, ch: Channel) -> None:
    ch.queue_declare("q")
    ch.queue_bind("q", "amq.topic", "a.#")
    for key in ("a", "a.b", "a.b.c", "b.a"):
        ch.basic_publish("amq.topic", key, key.encode())
    assert ready(broker, "q") == [b"a", b"a.b", b"a.b.c"]


def test_headers_exchange(broker: Broker, ch: Channel) -> None:
    ch.queue_declare("all")
    ch.queue_declare("any")
    ch.queue_bind("all", "amq.headers", "", {"x-match": "all", "a": 1, "b": "x"})
    ch.queue_bind("any", "amq.headers", "", {"x-match": "any", "a": 1, "b": "x"})
    ch.basic_publish("amq.headers", "", b"both", {"headers": {"a": 1, "b": "x"}})
    ch.basic_publish("amq.headers", "", b"one", {"headers": {"a": 1}})
    assert ready(broker, "all") == [b"both"]
    assert ready(broker, "any") == [b"both", b"one"]


def test_exchange_to_exchange_diamond_and_cycle(broker: Broker, ch: Channel) -> None:
    for x in ("top", "left", "right"):
        ch.exchange_declare(x, "fanout")
    ch.exchange_bind("left", "top")
    ch.exchange_bind("right", "top")
    ch.exchange_bind("top", "left")  # cycle
    ch.queue_declare("q")
    ch.queue_bind("q", "left")
    ch.queue_bind("q", "right")
    ch.basic_publish("top", "", b"x")
    assert ready(broker, "q") == [b"x"]


def test_alternate_exchange(broker: Broker, ch: Channel) -> None:
    ch.exchange_declare("ae", "fanout")
    ch.queue_declare("unrouted")
    ch.queue_bind("unrouted", "ae")
    ch.exchange_declare("main", "direct", arguments={"alternate-exchange": "ae"})
    ch.queue_declare("q")
    ch.queue_bind("q", "main", "k")
    ch.basic_publish("main", "k", b"routed")
    ch.basic_publish("main", "other", b"alt")
    assert ready(broker, "q") == [b"routed"]
    assert ready(broker, "unrouted") == [b"alt"]


def test_mandatory_unroutable_returned_before_confirm(conn: Connection, ch: Channel) -> None:
    ch.confirm_select()
    ch.basic_publish("amq.direct", "nowhere", b"x", mandatory=True)
    events = drain(conn)
    assert isinstance(events[0], Return)
    assert events[0].reply_code == 312 and events[0].reply_text == "NO_ROUTE"
    assert type(events[1]).__name__ == "ConfirmAck"


def test_internal_exchange_refuses_publish(ch: Channel) -> None:
    import pytest

    from fakebroker.core import AMQPChannelError

    ch.exchange_declare("int", "fanout", internal=True)
    with pytest.raises(AMQPChannelError) as info:
        ch.basic_publish("int", "", b"x")
    assert info.value.code == 403


def test_publish_to_missing_exchange_404(ch: Channel) -> None:
    import pytest

    from fakebroker.core import AMQPChannelError

    with pytest.raises(AMQPChannelError) as info:
        ch.basic_publish("missing", "", b"x")
    assert info.value.code == 404


def test_immediate_not_implemented(conn: Connection, ch: Channel) -> None:
    import pytest

    from fakebroker.core import AMQPConnectionError

    with pytest.raises(AMQPConnectionError) as info:
        ch.basic_publish("", "q", b"x", immediate=True)
    assert info.value.code == 540
    assert conn.closed


def test_auto_delete_exchange_goes_with_last_binding(broker: Broker, ch: Channel) -> None:
    ch.exchange_declare("ax", "direct", auto_delete=True)
    ch.queue_declare("q")
    ch.queue_bind("q", "ax", "k")
    ch.queue_unbind("q", "ax", "k")
    assert "ax" not in broker.vhost().exchanges


def test_bindings_listed(broker: Broker, ch: Channel) -> None:
    ch.queue_declare("q")
    ch.queue_bind("q", "amq.topic", "a.*")
    listed = [(b.source, b.destination, b.routing_key) for b in broker.list_bindings("/")]
    assert listed == [("", "q", "q"), ("amq.topic", "q", "a.*")]


def test_deleted_queue_loses_bindings(broker: Broker, ch: Channel) -> None:
    ch.queue_declare("q")
    ch.queue_bind("q", "amq.fanout")
    ch.queue_delete("q")
    ch.queue_declare("q")
    ch.basic_publish("amq.fanout", "", b"x")
    assert ready(broker, "q") == []
