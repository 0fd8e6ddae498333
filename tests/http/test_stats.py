"""fakebroker.core.stats: the sans-I/O views behind the HTTP front."""

from __future__ import annotations

import datetime
import decimal
import gc

from fakebroker.core import Broker, VirtualClock, stats


def _broker() -> Broker:
    return Broker(clock=VirtualClock(start=1_700_000_000.0))


def test_rates_over_a_window_with_a_minimum_spacing() -> None:
    sampler = stats.Sampler(window=5.0, spacing=1.0)
    assert sampler.rate(("k",), 0, now=100.0) == 0.0
    assert sampler.rate(("k",), 50, now=100.2) == 0.0  # too soon to divide
    assert sampler.rate(("k",), 100, now=101.0) == 100.0
    assert sampler.rate(("k",), 300, now=102.0) == 150.0  # (300 - 0) / 2 s
    assert sampler.rate(("k",), 300, now=110.0) == 0.0  # the old samples left the window


def test_a_deleted_queues_history_goes_with_it() -> None:
    broker = _broker()
    sampler = stats.Sampler()
    ch = broker.connect().open_channel(1)
    ch.queue_declare("q")
    stats.queue_view(broker.get_queue("q"), sampler=sampler, now=1.0)
    assert len(sampler) == 1
    ch.queue_delete("q")
    gc.collect()
    assert len(sampler) == 0


def test_idle_since_is_when_the_signature_last_changed() -> None:
    sampler = stats.Sampler()
    assert sampler.idle_since(("q",), (0,), 10.0) == 10.0
    assert sampler.idle_since(("q",), (0,), 20.0) == 10.0
    assert sampler.idle_since(("q",), (1,), 30.0) == 30.0


def test_counters_of_a_deleted_queue_stay_in_its_vhost() -> None:
    broker = _broker()
    ch = broker.connect().open_channel(1)
    ch.queue_declare("q")
    ch.confirm_select()
    ch.basic_publish("", "q", b"a", {})
    ch.basic_publish("", "nowhere", b"b", {}, mandatory=True)
    got = ch.basic_get("q")
    assert got is not None
    ch.basic_ack(got.delivery_tag)
    assert ch.basic_get("q") is None
    vhost = broker.vhost("/")
    before = stats.vhost_stats(vhost)
    assert dict(before) == {
        "publish": 2,
        "confirm": 2,
        "return_unroutable": 1,
        "get": 1,
        "get_empty": 1,
        "ack": 1,
    }
    ch.queue_delete("q")
    assert stats.vhost_stats(vhost) == before
    view = stats.vhost_view(vhost)["message_stats"]
    assert (view["deliver_get"], view["publish_details"]) == (1, {"rate": 0.0})


def test_queue_view_counts_and_message_stats() -> None:
    broker = _broker()
    ch = broker.connect().open_channel(1)
    ch.queue_declare("q", arguments={"x-max-priority": 5})
    queue = broker.get_queue("q")
    assert "message_stats" not in stats.queue_view(queue)
    for body in (b"1", b"22"):
        ch.basic_publish("", "q", body, {})
    ch.basic_get("q")
    view = stats.queue_view(queue, detail=True)
    assert (view["messages"], view["messages_ready"], view["messages_unacknowledged"]) == (2, 1, 1)
    assert view["message_bytes_ready"] == 2
    assert view["message_stats"]["publish"] == 2 and view["message_stats"]["get"] == 1
    assert view["idle_since"] == "2023-11-14T22:13:20.000+00:00"
    assert view["consumer_details"] == [] and view["arguments"] == {"x-max-priority": 5}


def test_properties_key_quotes_like_rabbitmq() -> None:
    assert stats.properties_key("a.*", {}) == "a.%2A"
    assert stats.properties_key("a b~c", {}) == "a+b%7Ec"
    keyed = stats.properties_key("k", {"x": 1})
    assert keyed.startswith("k~") and len(keyed) == 8
    assert keyed == stats.properties_key("k", {"x": 1}) != stats.properties_key("k", {"x": 2})


def test_amqp_values_become_json() -> None:
    when = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    value = {"b": b"bytes", "l": b"\xff", "d": decimal.Decimal("1.5"), "t": when, "a": [b"x"]}
    assert stats.jsonable(value) == {
        "b": "bytes",
        "l": "\xff",
        "d": 1.5,
        "t": 1704067200,
        "a": ["x"],
    }
