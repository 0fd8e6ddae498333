"""Connections, channels and consumers of live AMQP clients; closing one through the API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import amqp
import pytest

from .conftest import Api, assert_shape

CONNECTION_SHAPE = {
    "name": str,
    "node": str,
    "user": str,
    "vhost": str,
    "peer_host": str,
    "peer_port": int,
    "host": str,
    "port": int,
    "protocol": str,
    "channels": int,
    "client_properties": dict,
    "connected_at": int,
    "state": str,
    "ssl": bool,
    "type": str,
}
CHANNEL_SHAPE = {
    "name": str,
    "number": int,
    "node": str,
    "user": str,
    "vhost": str,
    "connection_details": dict,
    "confirm": bool,
    "transactional": bool,
    "prefetch_count": int,
    "global_prefetch_count": int,
    "consumer_count": int,
    "messages_unacknowledged": int,
    "messages_unconfirmed": int,
    "messages_uncommitted": int,
    "acks_uncommitted": int,
    "state": str,
}
CONSUMER_SHAPE = {
    "consumer_tag": str,
    "queue": dict,
    "channel_details": dict,
    "ack_required": bool,
    "exclusive": bool,
    "prefetch_count": int,
    "arguments": dict,
    "active": bool,
    "activity_status": str,
}


@pytest.fixture
def client(api: Api) -> Iterator[amqp.Connection]:
    conn = amqp.Connection(
        host=f"127.0.0.1:{api.amqp_port}",
        virtual_host=api.vhost,
        userid="guest",
        password="guest",
        client_properties={"connection_name": "fb-http-test"},
    )
    conn.connect()
    try:
        yield conn
    finally:
        if conn.connected:
            conn.close()


def _mine(api: Api, path: str) -> list[dict[str, Any]]:
    return [c for c in api.get(path).json if c["vhost"] == api.vhost]


def _one(api: Api, path: str) -> dict[str, Any]:
    found = _mine(api, path)
    assert len(found) == 1, found
    return found[0]


def _only(items: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(items) == 1, items
    return items[0]


def test_connections_channels_consumers(api: Api, client: amqp.Connection) -> None:
    ch = client.channel()
    ch.queue_declare("jobs")
    ch.basic_qos(0, 5, False)
    ch.basic_consume("jobs", consumer_tag="worker-1", callback=lambda m: None)
    ch.basic_publish(amqp.Message("x"), exchange="", routing_key="jobs")
    client.drain_events(timeout=5)  # the delivery, held unacked

    def seen() -> tuple[dict[str, Any], dict[str, Any]]:
        conn = _one(api, "/api/connections")
        channel = _one(api, "/api/channels")
        assert channel.get("messages_unacknowledged") == 1, channel  # absent until stats come
        assert conn.get("channels") == 1, conn  # RabbitMQ updates each object's stats apart
        return conn, channel

    conn, channel = api.eventually(seen)
    assert_shape(conn, CONNECTION_SHAPE)
    assert (conn["user"], conn["protocol"]) == ("guest", "AMQP 0-9-1")
    assert conn["client_properties"]["connection_name"] == "fb-http-test"
    assert (
        conn["name"] == f"{conn['peer_host']}:{conn['peer_port']} -> {conn['host']}:{conn['port']}"
    )
    assert_shape(channel, CHANNEL_SHAPE)
    assert channel["name"] == f"{conn['name']} (1)"
    assert (channel["number"], channel["prefetch_count"], channel["consumer_count"]) == (1, 5, 1)
    assert channel["connection_details"]["name"] == conn["name"]
    one = api.get(f"/api/connections/{quote(conn['name'], safe='')}")
    assert one.status == 200 and one.json["name"] == conn["name"]

    def on_connection() -> None:
        on_conn = api.get(f"/api/connections/{quote(conn['name'], safe='')}/channels").json
        assert [c["name"] for c in on_conn] == [channel["name"]]

    api.eventually(on_connection)
    consumer = api.eventually(lambda: _only(api.get(f"/api/consumers/{api.v}").json))
    assert_shape(consumer, CONSUMER_SHAPE)
    assert consumer["consumer_tag"] == "worker-1"
    assert consumer["queue"] == {"name": "jobs", "vhost": api.vhost}
    assert (consumer["ack_required"], consumer["exclusive"], consumer["prefetch_count"]) == (
        True,
        False,
        5,
    )
    assert consumer["channel_details"]["connection_name"] == conn["name"]

    def in_queue() -> None:
        queue = api.get(f"/api/queues/{api.v}/jobs").json
        assert [c["consumer_tag"] for c in queue["consumer_details"]] == ["worker-1"]

    api.eventually(in_queue)


@pytest.mark.parametrize("reason", [None, "maintenance"])
def test_closing_a_connection(api: Api, client: amqp.Connection, reason: str | None) -> None:
    client.channel()
    conn = api.eventually(lambda: _one(api, "/api/connections"))
    headers = {"X-Reason": reason} if reason else None
    path = f"/api/connections/{quote(conn['name'], safe='')}"
    assert api.request("DELETE", path, headers=headers).status == 204
    with pytest.raises(amqp.exceptions.ConnectionForced) as raised:
        client.drain_events(timeout=10)
    assert raised.value.reply_code == 320
    text = reason or "Closed via management plugin"
    assert raised.value.reply_text == f"CONNECTION_FORCED - {text}"
    api.eventually(lambda: _expect_none(api))


def _expect_none(api: Api) -> None:
    assert _mine(api, "/api/connections") == []


def test_closing_an_unknown_connection(api: Api) -> None:
    r = api.delete(f"/api/connections/{quote('1.2.3.4:5 -> 6.7.8.9:10', safe='')}")
    assert (r.status, r.json) == (404, {"error": "Object Not Found", "reason": "Not Found"})
