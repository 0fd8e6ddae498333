"""Vhosts, queues, exchanges, bindings, get, publish and definitions, on both APIs."""

from __future__ import annotations

import uuid
from typing import Any

import amqp
import pytest

from .conftest import Api, assert_shape

NOT_FOUND = {"error": "Object Not Found", "reason": "Not Found"}
ACCESS_REFUSED = {"error": "not_authorised", "reason": "Access refused."}
QUEUE_SHAPE: dict[str, Any] = {
    "name": str,
    "vhost": str,
    "durable": bool,
    "auto_delete": bool,
    "exclusive": bool,
    "arguments": dict,
    "node": str,
    "type": str,
    "state": str,
    "consumers": int,
    "messages": int,
    "messages_ready": int,
    "messages_unacknowledged": int,
    "messages_details": dict,
    "messages_ready_details": dict,
    "messages_unacknowledged_details": dict,
    "message_bytes": int,
    "message_bytes_ready": int,
    "exclusive_consumer_tag": type(None),
    "head_message_timestamp": type(None),
    "policy": type(None),
}
EXCHANGE_SHAPE = {
    "name": str,
    "vhost": str,
    "type": str,
    "durable": bool,
    "auto_delete": bool,
    "internal": bool,
    "arguments": dict,
}
VHOST_SHAPE = {
    "name": str,
    "description": str,
    "tags": list,
    "metadata": dict,
    "tracing": bool,
    "cluster_state": dict,
    "default_queue_type": str,
}
BINDING_SHAPE = {
    "source": str,
    "vhost": str,
    "destination": str,
    "destination_type": str,
    "routing_key": str,
    "arguments": dict,
    "properties_key": str,
}


def _client(api: Api) -> amqp.Connection:
    conn = amqp.Connection(
        host=f"127.0.0.1:{api.amqp_port}", virtual_host=api.vhost, userid="guest", password="guest"
    )
    conn.connect()
    return conn


def _publish(api: Api, routing_key: str, payload: str, **properties: Any) -> Any:
    body = {
        "routing_key": routing_key,
        "payload": payload,
        "payload_encoding": "string",
        "properties": properties,
    }
    return api.post(f"/api/exchanges/{api.v}/amq.default/publish", body)


# -- overview and whoami --------------------------------------------------------------------


def test_overview(api: Api) -> None:
    r = api.get("/api/overview")
    assert r.status == 200
    assert r.headers["content-type"].startswith("application/json")
    assert_shape(
        r.json,
        {
            "management_version": str,
            "rabbitmq_version": str,
            "product_name": str,
            "product_version": str,
            "rates_mode": str,
            "node": str,
            "cluster_name": str,
            "exchange_types": list,
            "message_stats": dict,
            "queue_totals": dict,
            "object_totals": dict,
            "listeners": list,
            "statistics_db_event_queue": int,
        },
    )
    assert_shape(
        r.json["object_totals"],
        {"channels": int, "connections": int, "consumers": int, "exchanges": int, "queues": int},
    )
    assert r.json["management_version"] == "3.10.8"
    assert {t["name"] for t in r.json["exchange_types"]} >= {"direct", "fanout", "headers", "topic"}


def test_whoami(api: Api) -> None:
    r = api.get("/api/whoami")
    assert (r.status, r.json) == (200, {"name": "guest", "tags": ["administrator"]})


# -- vhosts ---------------------------------------------------------------------------------


def test_vhost_lifecycle_and_tracing(api: Api) -> None:
    name = api.make_vhost("fb-http-v")
    assert api.put(f"/api/vhosts/{name}").status == 204  # it exists
    r = api.get(f"/api/vhosts/{name}")
    assert r.status == 200
    assert_shape(r.json, VHOST_SHAPE)
    assert r.json["name"] == name and r.json["tracing"] is False
    assert api.put(f"/api/vhosts/{name}", {"tracing": True}).status == 204
    assert api.get(f"/api/vhosts/{name}").json["tracing"] is True
    assert name in {v["name"] for v in api.get("/api/vhosts").json}
    assert api.delete(f"/api/vhosts/{name}").status == 204
    gone = api.delete(f"/api/vhosts/{name}")
    assert (gone.status, gone.json) == (404, NOT_FOUND)
    assert api.get(f"/api/vhosts/{name}").status == 404


def test_unknown_path(api: Api) -> None:
    r = api.get("/api/nosuchthing")
    assert (r.status, r.json) == (404, NOT_FOUND)


# -- queues ---------------------------------------------------------------------------------


def test_queue_declare_redeclare_and_refusals(api: Api) -> None:
    assert api.put(f"/api/queues/{api.v}/q1", {"durable": True}).status == 201
    assert api.put(f"/api/queues/{api.v}/q1", {"durable": True}).status == 204
    r = api.put(f"/api/queues/{api.v}/q1", {"durable": False})
    assert r.status == 400
    assert r.json == {
        "error": "bad_request",
        "reason": f"inequivalent arg 'durable' for queue 'q1' in vhost '{api.vhost}': "
        "received 'false' but current is 'true'",
    }
    r = api.put("/api/queues/fb-http-no-such-vhost/q", {})
    assert (r.status, r.json) == (404, {"error": "not_found", "reason": "vhost_not_found"})
    r = api.put(f"/api/queues/{api.v}/amq.q", {})
    assert (r.status, r.json) == (401, ACCESS_REFUSED)
    r = api.request("PUT", f"/api/queues/{api.v}/q2", raw=b"not json")
    assert (r.status, r.json) == (400, {"error": "bad_request", "reason": "not_json"})


def test_queue_views_and_delete(api: Api) -> None:
    api.ok("PUT", f"/api/queues/{api.v}/q1", {"arguments": {"x-message-ttl": 60000}})

    def listed() -> dict[str, Any]:
        found = api.get(f"/api/queues/{api.v}").json
        assert len(found) == 1
        assert_shape(found[0], QUEUE_SHAPE)  # RabbitMQ fills the counts and the rest apart
        return found[0]

    q = api.eventually(listed)
    # RabbitMQ adds idle_since once the queue process has been idle a while; fakebroker always
    assert isinstance(q.get("idle_since", ""), str)
    if not api.real:
        assert q["idle_since"].endswith("+00:00")
    assert (q["name"], q["vhost"], q["type"], q["state"]) == ("q1", api.vhost, "classic", "running")
    assert q["arguments"] == {"x-message-ttl": 60000}
    assert (q["durable"], q["auto_delete"], q["exclusive"]) == (False, False, False)
    one = api.get(f"/api/queues/{api.v}/q1")
    assert one.status == 200
    assert_shape(
        one.json, {"name": str, "consumer_details": list, "incoming": list, "deliveries": list}
    )
    assert any(x["name"] == "q1" and x["vhost"] == api.vhost for x in api.get("/api/queues").json)
    missing = api.get(f"/api/queues/{api.v}/nosuch")
    assert (missing.status, missing.json) == (404, NOT_FOUND)
    assert api.delete(f"/api/queues/{api.v}/q1").status == 204
    again = api.delete(f"/api/queues/{api.v}/q1")
    assert (again.status, again.json) == (404, NOT_FOUND)


def test_queue_counts_follow_a_client(api: Api) -> None:
    api.ok("PUT", f"/api/queues/{api.v}/work")
    conn = _client(api)
    try:
        ch = conn.channel()
        for i in range(3):
            ch.basic_publish(amqp.Message(f"m{i}"), exchange="", routing_key="work")
        ch.basic_get("work", no_ack=False)  # held unacked

        def counted() -> dict[str, Any]:
            q = api.get(f"/api/queues/{api.v}/work").json
            assert (q.get("messages"), q.get("messages_ready")) == (3, 2), q
            assert q["messages_unacknowledged"] == 1
            stats = q.get("message_stats", {})
            assert (stats.get("publish"), stats.get("get"), stats.get("deliver_get")) == (3, 1, 1)
            return q

        q = api.eventually(counted)
        stats = q["message_stats"]
        assert_shape(stats, {"publish_details": dict, "deliver_get_details": dict})
        assert isinstance(stats["publish_details"]["rate"], float)
    finally:
        conn.close()


def test_purge(api: Api) -> None:
    api.ok("PUT", f"/api/queues/{api.v}/p")
    for i in range(2):
        assert _publish(api, "p", f"m{i}").json == {"routed": True}
    api.eventually(lambda: _expect(api, "p", messages=2))
    assert api.delete(f"/api/queues/{api.v}/p/contents").status == 204
    api.eventually(lambda: _expect(api, "p", messages=0))
    r = api.delete(f"/api/queues/{api.v}/nosuch/contents")
    assert (r.status, r.json) == (404, NOT_FOUND)


def _expect(api: Api, queue: str, **fields: Any) -> None:
    q = api.get(f"/api/queues/{api.v}/{queue}").json
    assert {k: q.get(k) for k in fields} == fields, q


def test_get_modes_encoding_truncate(api: Api) -> None:
    api.ok("PUT", f"/api/queues/{api.v}/g")
    _publish(api, "g", "hello")
    _publish(api, "g", "world", delivery_mode=2, headers={"a": 1}, type="t", priority=3)
    path = f"/api/queues/{api.v}/g/get"
    first = api.post(
        path, {"count": 1, "ackmode": "ack_requeue_true", "encoding": "auto", "truncate": 3}
    )
    assert first.status == 200
    assert first.json == [
        {
            "payload_bytes": 5,
            "redelivered": False,
            "exchange": "",
            "routing_key": "g",
            "message_count": 1,
            "properties": [],
            "payload": "hel",
            "payload_encoding": "string",
        }
    ]
    both = api.post(path, {"count": 5, "ackmode": "ack_requeue_false", "encoding": "base64"}).json
    assert [m["payload"] for m in both] == ["aGVsbG8=", "d29ybGQ="]
    assert [m["redelivered"] for m in both] == [True, False]
    assert [m["payload_encoding"] for m in both] == ["base64", "base64"]
    assert both[1]["properties"] == {
        "delivery_mode": 2,
        "headers": {"a": 1},
        "type": "t",
        "priority": 3,
    }
    assert (
        api.post(path, {"count": 1, "ackmode": "ack_requeue_false", "encoding": "auto"}).json == []
    )
    missing = api.post(path, {"count": 1})
    assert missing.status == 400
    assert missing.json == {
        "error": "bad_request",
        "reason": "[{key_missing,ackmode},{key_missing,encoding}]",
    }
    assert api.post(path, {"count": 1, "ackmode": "bogus", "encoding": "auto"}).status == 500


def test_get_reject_requeue_false_dead_letters(api: Api) -> None:
    api.ok("PUT", f"/api/queues/{api.v}/dead")
    api.ok(
        "PUT",
        f"/api/queues/{api.v}/src",
        {"arguments": {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dead"}},
    )
    _publish(api, "src", "x")
    got = api.post(
        f"/api/queues/{api.v}/src/get",
        {"count": 1, "ackmode": "reject_requeue_false", "encoding": "auto"},
    ).json
    assert [m["payload"] for m in got] == ["x"]
    moved = api.post(
        f"/api/queues/{api.v}/dead/get",
        {"count": 1, "ackmode": "ack_requeue_false", "encoding": "auto"},
    ).json
    assert [m["payload"] for m in moved] == ["x"]
    assert moved[0]["properties"]["headers"]["x-death"][0]["reason"] == "rejected"


# -- exchanges and publish ------------------------------------------------------------------


def test_exchanges(api: Api) -> None:
    assert api.put(f"/api/exchanges/{api.v}/x1", {"type": "topic"}).status == 201
    assert api.put(f"/api/exchanges/{api.v}/x1", {"type": "topic"}).status == 204
    r = api.put(f"/api/exchanges/{api.v}/x1", {"type": "direct"})
    assert r.status == 400
    assert r.json["reason"] == (
        f"inequivalent arg 'type' for exchange 'x1' in vhost '{api.vhost}': "
        "received 'direct' but current is 'topic'"
    )
    # a name no Erlang atom has yet: RabbitMQ says "invalid" for one that is an atom
    kind = f"bogus{uuid.uuid4().hex[:8]}"
    bogus = api.put(f"/api/exchanges/{api.v}/x2", {"type": kind})
    assert (bogus.status, bogus.json) == (
        400,
        {"error": "bad_request", "reason": f"unknown exchange type '{kind}'"},
    )
    listed = api.get(f"/api/exchanges/{api.v}").json
    for x in listed:
        assert_shape(x, EXCHANGE_SHAPE)
    names = {x["name"] for x in listed} - {"amq.rabbitmq.trace"}  # RabbitMQ's tracing exchange
    assert names == {"", "amq.direct", "amq.fanout", "amq.headers", "amq.match", "amq.topic", "x1"}
    one = api.get(f"/api/exchanges/{api.v}/x1").json
    assert_shape(one, {**EXCHANGE_SHAPE, "incoming": list, "outgoing": list})
    assert (one["type"], one["durable"]) == ("topic", False)
    assert api.get(f"/api/exchanges/{api.v}/amq.default").json["name"] == ""
    assert api.delete(f"/api/exchanges/{api.v}/amq.direct").json == ACCESS_REFUSED
    assert api.delete(f"/api/exchanges/{api.v}/nosuch").json == NOT_FOUND
    assert api.delete(f"/api/exchanges/{api.v}/x1").status == 204
    assert api.get(f"/api/exchanges/{api.v}/x1").status == 404


def test_publish_routed_and_refused(api: Api) -> None:
    api.ok("PUT", f"/api/exchanges/{api.v}/x", {"type": "direct"})
    api.ok("PUT", f"/api/queues/{api.v}/q")
    api.ok("POST", f"/api/bindings/{api.v}/e/x/q/q", {"routing_key": "k"})
    body = {"routing_key": "k", "payload": "aGk=", "payload_encoding": "base64", "properties": {}}
    assert api.post(f"/api/exchanges/{api.v}/x/publish", body).json == {"routed": True}
    body["routing_key"] = "other"
    assert api.post(f"/api/exchanges/{api.v}/x/publish", body).json == {"routed": False}
    r = api.post(f"/api/exchanges/{api.v}/x/publish", {"routing_key": "k"})
    assert r.status == 400
    assert r.json["reason"] == (
        "[{key_missing,properties},\n {key_missing,payload},\n {key_missing,payload_encoding}]"
    )
    r = api.post(f"/api/exchanges/{api.v}/nosuch/publish", dict(body, routing_key="k"))
    assert (r.status, r.json) == (
        400,
        {
            "error": "bad_request",
            "reason": f"404 NOT_FOUND - no exchange 'nosuch' in vhost '{api.vhost}'",
        },
    )
    got = api.post(
        f"/api/queues/{api.v}/q/get",
        {"count": 1, "ackmode": "ack_requeue_false", "encoding": "auto"},
    ).json
    assert [(m["payload"], m["exchange"]) for m in got] == [("hi", "x")]


# -- bindings -------------------------------------------------------------------------------


def test_bindings(api: Api) -> None:
    api.ok("PUT", f"/api/exchanges/{api.v}/x", {"type": "topic"})
    api.ok("PUT", f"/api/queues/{api.v}/q")
    r = api.post(f"/api/bindings/{api.v}/e/x/q/q", {"routing_key": "a.*"})
    assert r.status == 201
    api.ok("POST", f"/api/bindings/{api.v}/e/x/q/q", {"routing_key": "b", "arguments": {"k": 1}})
    api.ok("POST", f"/api/bindings/{api.v}/e/x/e/amq.direct", {"routing_key": "k2"})
    between = api.get(f"/api/bindings/{api.v}/e/x/q/q").json
    for b in between:
        assert_shape(b, BINDING_SHAPE)
    keys = {b["routing_key"]: b["properties_key"] for b in between}
    assert keys["a.*"] == "a.%2A"
    with_args = keys["b"]
    assert with_args.startswith("b~") and len(with_args) == len("b~") + 6
    assert api.get(f"/api/bindings/{api.v}/e/x/e/amq.direct").json == [
        {
            "source": "x",
            "vhost": api.vhost,
            "destination": "amq.direct",
            "destination_type": "exchange",
            "routing_key": "k2",
            "arguments": {},
            "properties_key": "k2",
        }
    ]
    every = api.get(f"/api/bindings/{api.v}").json
    assert every[0] == {
        "source": "",
        "vhost": api.vhost,
        "destination": "q",
        "destination_type": "queue",
        "routing_key": "q",
        "arguments": {},
        "properties_key": "q",
    }
    assert api.get(f"/api/queues/{api.v}/q/bindings").json[0]["source"] == ""
    assert {
        b["destination"] for b in api.get(f"/api/exchanges/{api.v}/x/bindings/source").json
    } == {
        "q",
        "amq.direct",
    }
    assert api.delete(f"/api/bindings/{api.v}/e/x/q/q/{with_args}").status == 204
    assert api.delete(f"/api/bindings/{api.v}/e/x/q/q/{with_args}").json == NOT_FOUND
    assert [b["routing_key"] for b in api.get(f"/api/bindings/{api.v}/e/x/q/q").json] == ["a.*"]
    r = api.post(f"/api/bindings/{api.v}/e/x/q/nosuch", {"routing_key": "a"})
    assert (r.status, r.json) == (
        404,
        {"error": "not_found", "reason": f"no queue 'nosuch' in vhost '{api.vhost}'"},
    )


# -- definitions ----------------------------------------------------------------------------


def test_definitions_export_and_import(api: Api) -> None:
    api.ok("PUT", f"/api/exchanges/{api.v}/dx", {"type": "fanout", "durable": True})
    api.ok("PUT", f"/api/queues/{api.v}/dq", {"durable": True})
    api.ok("POST", f"/api/bindings/{api.v}/e/dx/q/dq", {"routing_key": "r"})
    mine = api.get(f"/api/definitions/{api.v}").json
    assert set(mine) >= {
        "rabbit_version",
        "queues",
        "exchanges",
        "bindings",
        "policies",
        "parameters",
    }
    assert mine["queues"] == [
        {"name": "dq", "durable": True, "auto_delete": False, "arguments": {}}
    ]
    assert mine["exchanges"] == [
        {
            "name": "dx",
            "type": "fanout",
            "durable": True,
            "auto_delete": False,
            "internal": False,
            "arguments": {},
        }
    ]
    assert mine["bindings"] == [
        {
            "source": "dx",
            "destination": "dq",
            "destination_type": "queue",
            "routing_key": "r",
            "arguments": {},
        }
    ]
    every = api.get("/api/definitions").json
    assert set(every) >= {"users", "vhosts", "permissions", "queues", "exchanges", "bindings"}
    assert api.vhost in {v["name"] for v in every["vhosts"]}
    target = f"{api.vhost}-imported"
    api.vhosts.append(target)
    imported = {
        "vhosts": [{"name": target}],
        "queues": [
            {"name": "iq", "vhost": target, "durable": True, "auto_delete": False, "arguments": {}}
        ],
    }
    assert api.post("/api/definitions", imported).status == 204
    if api.real:  # RabbitMQ gives nobody permissions on an imported vhost
        api.ok(
            "PUT",
            f"/api/permissions/{target}/guest",
            {"configure": ".*", "write": ".*", "read": ".*"},
        )
    assert [q["name"] for q in api.get(f"/api/queues/{target}").json] == ["iq"]
    bad = api.request("POST", "/api/definitions", raw=b"xx")
    assert (bad.status, bad.json) == (
        400,
        {"error": "bad_request", "reason": "failed_to_parse_json"},
    )


@pytest.mark.parametrize("path", ["/api/queues/{v}", "/api/exchanges/{v}", "/api/bindings/{v}"])
def test_listing_a_missing_vhost(api: Api, path: str) -> None:
    r = api.get(path.format(v="fb-http-no-such-vhost"))
    assert (r.status, r.json) == (404, NOT_FOUND)
