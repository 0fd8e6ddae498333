"""fakebroker's own endpoints (faults, clock, journal, events), checked against its OpenAPI.

These exist only on fakebroker, so they run on it alone.  Every answer is
validated against the schema /api/fakebroker/openapi.json gives for that
path, method and status.
"""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterator
from typing import Any

import amqp
import jsonschema
import kombu
import pytest
from openapi_spec_validator import validate
from pamqp import commands as C

import fakebroker
from fakebroker.core import VirtualClock
from fakebroker.testing import wait_for
from tests.amqp._client import PROTOCOL_HEADER, close, method_frame, start_ok

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


# -- byte cuts over HTTP ----------------------------------------------------------------------

#: A raw client's whole session, written at once: the handshake, a channel, connection.close.
_SESSION = b"".join(
    [
        PROTOCOL_HEADER,
        start_ok(),
        method_frame(0, C.Connection.TuneOk(channel_max=2047, frame_max=131072)),
        method_frame(0, C.Connection.Open(virtual_host="/")),
        method_frame(1, C.Channel.Open()),
        method_frame(0, close()),
    ]
)


def _session(port: int) -> tuple[bytes, str]:
    """Send :data:`_SESSION`, read until the stream ends or close-ok arrives (then the
    broker, as RabbitMQ, leaves the socket to the client): (bytes read, "eof" or "reset")."""
    got = bytearray()
    close_ok = b"\x01\x00\x00\x00\x00\x00\x04\x00\x0a\x00\x33\xce"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            sock.sendall(_SESSION)
            while not got.endswith(close_ok) and (chunk := sock.recv(65536)):
                got += chunk
        except ConnectionResetError:
            return bytes(got), "reset"
    return bytes(got), "eof"


def _gone(node: fakebroker.Node) -> None:
    wait_for(lambda: not node.broker.connections, 5, node=node)


@pytest.mark.parametrize("shape", ["builder", "rule"])
def test_a_bytes_sent_cut_added_over_http_cuts_at_exactly_n(
    fake: Api, spec: dict[str, Any], node: fakebroker.Node, shape: str
) -> None:
    path = f"{PREFIX}/faults"
    full, ending = _session(fake.amqp_port)
    assert ending == "eof" and len(full) > 300  # start, tune, open-ok, channel.open-ok, close-ok
    body: dict[str, Any] = (
        {"builder": "drop_connection", "args": {"after_bytes_sent": 300}}
        if shape == "builder"
        else {"action": "drop", "point": "bytes_sent", "bytes": 300}
    )
    added = check(spec, "POST", path, fake.post(path, body))
    assert (added["action"], added["point"], added["bytes"], added["times"]) == (
        "drop",
        "bytes_sent",
        300,
        1,
    )
    assert _session(fake.amqp_port) == (full[:300], "eof")  # exactly 300 bytes, then EOF
    _gone(node)
    (rule,) = check(spec, "GET", path, fake.get(path))["rules"]
    assert (rule["id"], rule["fired"], rule["exhausted"]) == (added["id"], 1, True)
    assert _session(fake.amqp_port) == (full, "eof")  # times=1: the next one passes
    entries = fake.get(f"{PREFIX}/journal?kind=fault").json["entries"]
    assert [(e["details"]["action"], e["details"]["point"]) for e in entries] == [
        ("drop", "bytes_sent")
    ]


@pytest.mark.parametrize("keyword", ["after_bytes_received", "after_bytes"])
def test_a_bytes_received_cut_added_over_http_reads_exactly_n(
    fake: Api, spec: dict[str, Any], node: fakebroker.Node, keyword: str
) -> None:
    path = f"{PREFIX}/faults"
    full, _ = _session(fake.amqp_port)
    # the engine reads the header, start-ok and 3 bytes of tune-ok, then resets: the
    # client got connection.start and connection.tune, nothing after them
    count = len(PROTOCOL_HEADER) + len(start_ok()) + 3
    added = check(
        spec,
        "POST",
        path,
        fake.post(path, {"builder": "drop_connection", "args": {keyword: count}}),
    )
    assert (added["point"], added["bytes"]) == ("bytes_received", count)
    start_and_tune = _frames_end(full, 2)
    assert _session(fake.amqp_port) == (full[:start_and_tune], "reset")
    _gone(node)
    assert fake.get(path).json["rules"][0]["fired"] == 1
    with node.locked() as broker:
        assert broker.connections == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"builder": "drop_connection", "args": {"after_bytes_sent": 0}}, "bytes must be"),
        ({"builder": "drop_connection", "args": {"after_bytes_received": -5}}, "bytes must be"),
        ({"builder": "drop_connection", "args": {"after_bytes_sent": 1.5}}, "integer"),
        ({"builder": "drop_connection", "args": {"after_bytes_sent": "64"}}, "integer"),
        ({"builder": "drop_connection", "args": {"after_bytes_sent": True}}, "integer"),
        (
            {"builder": "drop_connection", "args": {"after_bytes_sent": 9, "after_bytes": 9}},
            "takes one of",
        ),
        (
            {"builder": "drop_connection", "args": {"after_bytes_sent": 9, "queue": "q"}},
            "matches on the connection only",
        ),
        ({"action": "drop", "point": "bytes_sent"}, "needs bytes=N"),
        ({"action": "drop", "point": "bytes_received", "bytes": 64, "channel": 1}, "only"),
        ({"action": "drop", "point": "method_received", "bytes": 64}, "bytes=N counts"),
    ],
)
def test_an_invalid_byte_cut_is_refused_with_400(
    fake: Api, spec: dict[str, Any], body: dict[str, Any], reason: str
) -> None:
    path = f"{PREFIX}/faults"
    r = fake.post(path, body)
    assert r.status == 400, r
    answer = check(spec, "POST", path, r)
    assert answer["error"] == "bad_request" and reason in answer["reason"], answer
    assert fake.get(path).json["rules"] == []  # nothing was added
    assert _session(fake.amqp_port)[1] == "eof"  # and connections still work


def _frames_end(data: bytes, count: int) -> int:
    """Where the ``count``-th frame of ``data`` ends."""
    pos = 0
    for _ in range(count):
        pos += 7 + int.from_bytes(data[pos + 3 : pos + 7], "big") + 1
    return pos


def test_a_slicer_added_over_http_slices_the_output(
    fake: Api, spec: dict[str, Any], node: fakebroker.Node
) -> None:
    path = f"{PREFIX}/faults"
    full, _ = _session(fake.amqp_port)
    added = check(spec, "POST", path, fake.post(path, {"builder": "slicer", "args": {"size": 7}}))
    assert (added["action"], added["point"], added["size"], added["times"]) == (
        "slice",
        "frame_sending",
        7,
        None,
    )
    assert _session(fake.amqp_port) == (full, "eof")  # the same bytes, in 7-byte slices
    assert fake.get(path).json["rules"][0]["fired"] >= 1
    for args in ({"size": 0}, {"size": "7"}, {}, {"size": 7, "delay": -1}):
        r = fake.post(path, {"builder": "slicer", "args": args})
        assert r.status == 400, (args, r)
        check(spec, "POST", path, r)
    assert len(fake.get(path).json["rules"]) == 1
