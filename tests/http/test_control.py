"""fakebroker's own endpoints (faults, clock, journal, events), checked against its OpenAPI.

These exist only on fakebroker, so they run on it alone.  Every answer is
validated against the schema /api/fakebroker/openapi.json gives for that
path, method and status.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import amqp
import jsonschema
import kombu
import pytest
from openapi_spec_validator import validate

import fakebroker
from fakebroker.core import VirtualClock

from .conftest import Api, Response

PREFIX = "/api/fakebroker"


@pytest.fixture
def node() -> Iterator[fakebroker.Node]:
    node = fakebroker.Node(clock=VirtualClock())
    try:
        yield node
    finally:
        node.close()


@pytest.fixture
def fake(node: fakebroker.Node) -> Api:
    amqp = node.serve(port=0)
    http = node.serve_http(port=0)
    return Api(kind="fake", base=http.url, amqp_port=amqp.port)


@pytest.fixture
def spec(fake: Api) -> dict[str, Any]:
    r = fake.get(f"{PREFIX}/openapi.json", auth=None)
    assert r.status == 200
    validate(r.json)  # a valid OpenAPI 3.1 document
    return dict(r.json)


def check(spec: dict[str, Any], method: str, path: str, r: Response) -> Any:
    """Validate ``r`` against the spec's schema for it; return its JSON."""
    operation = spec["paths"][path][method.lower()]
    answer = operation["responses"].get(str(r.status))
    assert answer is not None, f"{method} {path} answered {r.status}, not in the spec: {r}"
    content = answer.get("content", {}).get("application/json")
    if content is not None:
        resolver = {"$defs": {}, **content["schema"], "components": spec["components"]}
        jsonschema.validate(r.json, resolver)
    else:
        assert not r.raw, r
    return r.json


def test_the_description_covers_every_control_endpoint(spec: dict[str, Any]) -> None:
    assert set(spec["paths"]) == {
        f"{PREFIX}/faults",
        f"{PREFIX}/faults/{{id}}",
        f"{PREFIX}/clock",
        f"{PREFIX}/journal",
        f"{PREFIX}/events",
        f"{PREFIX}/openapi.json",
    }


def test_faults_add_list_fire_and_remove(fake: Api, spec: dict[str, Any]) -> None:
    path = f"{PREFIX}/faults"
    added = check(
        spec,
        "POST",
        path,
        fake.post(path, {"builder": "nack_confirms", "args": {"routing_key": "orders"}}),
    )
    assert (added["action"], added["point"], added["routing_key"], added["fired"]) == (
        "nack",
        "confirm_sending",
        "orders",
        0,
    )
    as_data = check(
        spec, "POST", path, fake.post(path, {"action": "drop", "point": "message_routed", "nth": 2})
    )
    assert as_data["nth"] == 2
    with kombu.Connection(fake.amqp_url("/"), transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        with pytest.raises(amqp.exceptions.MessageNacked):
            producer.publish({"id": 1}, routing_key="orders", retry=False)
    plan = check(spec, "GET", path, fake.get(path))
    by_id = {r["id"]: r for r in plan["rules"]}
    assert by_id[added["id"]]["fired"] == 1 and by_id[added["id"]]["exhausted"] is True
    assert by_id[as_data["id"]]["seen"] == 1
    check(spec, "DELETE", f"{path}/{{id}}", fake.delete(f"{path}/{added['id']}"))
    assert [r["id"] for r in fake.get(path).json["rules"]] == [as_data["id"]]
    missing = fake.delete(f"{path}/{added['id']}")
    assert check(spec, "DELETE", f"{path}/{{id}}", missing) == {
        "error": "Object Not Found",
        "reason": "Not Found",
    }
    check(spec, "DELETE", path, fake.delete(path))
    assert fake.get(path).json["rules"] == []


def test_fault_refusals(fake: Api, spec: dict[str, Any]) -> None:
    path = f"{PREFIX}/faults"
    for body in (
        {"builder": "no_such"},
        {"action": "nack", "point": "frame_sending"},
        {"builder": "stall", "args": {"bogus": 1}},
    ):
        r = fake.post(path, body)
        assert r.status == 400, body
        check(spec, "POST", path, r)


def test_an_at_once_fault(fake: Api, spec: dict[str, Any]) -> None:
    path = f"{PREFIX}/faults"
    with kombu.Connection(fake.amqp_url("/")) as conn:
        conn.connect()
        r = fake.post(path, {"builder": "drop_connections", "args": {}})
        assert check(spec, "POST", path, r) == {"builder": "drop_connections", "result": 1}


def test_clock_reads_and_advances(fake: Api, spec: dict[str, Any], node: fakebroker.Node) -> None:
    path = f"{PREFIX}/clock"
    before = check(spec, "GET", path, fake.get(path))
    assert before["virtual"] is True
    with kombu.Connection(fake.amqp_url("/")) as conn:
        channel = conn.channel()
        channel.queue_declare("ttl", arguments={"x-message-ttl": 60_000})
        conn.Producer(channel).publish({"n": 1}, routing_key="ttl")
    with node.locked() as broker:
        assert broker.get_queue("ttl").message_count == 1
    after = check(spec, "POST", path, fake.post(path, {"advance": 60}))
    assert after["now"] == before["now"] + 60 and after["timers_run"] >= 1
    with node.locked() as broker:
        assert broker.get_queue("ttl").message_count == 0
    bad = fake.post(path, {"advance": "soon"})
    assert bad.status == 400
    check(spec, "POST", path, bad)


def test_the_system_clock_cannot_advance(spec: dict[str, Any]) -> None:
    node = fakebroker.Node()
    try:
        api = Api(kind="fake", base=node.serve_http(port=0).url, amqp_port=0)
        r = api.post(f"{PREFIX}/clock", {"advance": 1})
        assert r.status == 409
        check(spec, "POST", f"{PREFIX}/clock", r)
        assert api.get(f"{PREFIX}/clock").json["virtual"] is False
    finally:
        node.close()


def test_journal_filters(fake: Api, spec: dict[str, Any]) -> None:
    path = f"{PREFIX}/journal"
    with kombu.Connection(fake.amqp_url("/")) as conn:
        channel = conn.channel()
        for name in ("a", "b"):
            channel.queue_declare(name)
        producer = conn.Producer(channel)
        producer.publish("to a", routing_key="a")
        producer.publish("to b", routing_key="b")
        producer.publish("lost", routing_key="nowhere")
    every = check(spec, "GET", path, fake.get(path))
    assert [e["kind"] for e in every["entries"]] == [
        "published",
        "routed",
        "published",
        "routed",
        "published",
        "unroutable",
    ]
    routed_b = check(spec, "GET", path, fake.get(f"{path}?kind=routed&queue=b"))["entries"]
    assert [(e["queue"], e["message"]["payload"]) for e in routed_b] == [("b", "to b")]
    by_key = fake.get(f"{path}?routing_key=nowhere").json["entries"]
    assert [e["kind"] for e in by_key] == ["published", "unroutable"]
    since = fake.get(f"{path}?since={every['entries'][3]['seq']}&limit=1").json["entries"]
    assert [e["kind"] for e in since] == ["unroutable"]
    bad = fake.get(f"{path}?kind=bogus")
    assert bad.status == 400
    check(spec, "GET", path, bad)


def test_events_stream_state_and_journal(fake: Api, node: fakebroker.Node) -> None:
    with node.locked() as broker:
        conn = broker.connect(name="test")
        conn.open_channel(1).queue_declare("watched")
    req = urllib.request.Request(
        fake.base + f"{PREFIX}/events?interval=0.05",
        headers={"Authorization": "Basic Z3Vlc3Q6Z3Vlc3Q="},
    )
    with urllib.request.urlopen(req, timeout=10) as stream:
        assert stream.headers["Content-Type"] == "text/event-stream"
        event, data = _next_event(stream)
        assert event == "state"
        assert "watched" in {q["name"] for q in data["queues"]}
        with node.locked() as broker:
            conn.channels[1].basic_publish("", "watched", b"hi", {})
        kinds: list[str] = []
        while "routed" not in kinds:
            event, data = _next_event(stream)
            if event == "journal":
                kinds += [e["kind"] for e in data]
            else:
                assert event == "state"


def _next_event(stream: Any) -> tuple[str, Any]:
    event = ""
    while True:
        line = stream.readline().decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: "):
            return event, json.loads(line[len("data: ") :])


def test_control_needs_an_administrator(fake: Api) -> None:
    user = fake.make_user("fb-mgmt", "management")
    r = fake.get(f"{PREFIX}/faults", auth=(user, "pw"))
    assert (r.status, r.json) == (
        401,
        {"error": "not_authorised", "reason": "Not administrator user"},
    )
    assert fake.get(f"{PREFIX}/journal", auth=None).status == 401
