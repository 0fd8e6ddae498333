"""fakebroker's own endpoints: faults, the clock, the journal, live events, the dashboard.

- ``/api/fakebroker/faults``: GET the plan (each rule with ``seen`` and
  ``fired``), POST a rule (``{"builder": "nack_confirms", "args": {...}}``
  calls that builder of ``node.faults``; any other object is a
  :class:`~fakebroker.faults.Rule`'s fields), DELETE one (``/{id}``) or all;
- ``/api/fakebroker/clock``: GET the broker's time; POST ``{"advance": s}``
  moves a virtual clock (409 on the system clock);
- ``/api/fakebroker/journal``: recent entries, filtered by ``kind``,
  ``queue``, ``exchange``, ``routing_key``, after ``since`` (a seq), at
  most ``limit`` (100);
- ``/api/fakebroker/events``: server-sent events: ``state`` (the snapshot the
  dashboard draws) whenever it changed and ``journal`` (new entries), checked
  every ``interval`` seconds;
- ``/api/fakebroker/openapi.json``: the OpenAPI description of these;
- ``/``: the dashboard (one static page).

Every one of them needs an administrator, as they change or expose everything.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.resources
import json
from typing import Any

from aiohttp import web

from ...core import VirtualClock, stats
from ...core.journal import KINDS
from ...core.message import Message
from ._app import ApiError, ctx, json_response, level, read_json, streams

__all__ = ["add_routes", "entry_view", "rule_view", "snapshot"]

#: The builders of ``node.faults`` POST /api/fakebroker/faults may call.
BUILDERS = (
    "drop_connection",
    "refuse_connections",
    "close_connection",
    "stall",
    "latency",
    "bandwidth",
    "slicer",
    "nack_confirms",
    "delay_confirms",
    "withhold_confirms",
    "return_unroutable",
    "cancel_consumer",
    "duplicate_delivery",
    "close_channel",
)
#: Builders that act at once instead of adding a rule.
AT_ONCE = ("drop_connections", "restart", "raise_alarm", "clear_alarm")


def rule_view(rule: Any) -> dict[str, Any]:
    """A rule's fields (those set) with its id, ``seen`` and ``fired``."""
    view: dict[str, Any] = {"id": id(rule)}
    for f in dataclasses.fields(rule):
        value = getattr(rule, f.name)
        if value is not None or f.name in ("times",):
            view[f.name] = value
    view["exhausted"] = bool(getattr(rule, "exhausted", False))
    return view


def _message_view(msg: Message) -> dict[str, Any]:
    body = msg.body
    try:
        text, encoding = body[:200].decode(), "string"
    except UnicodeDecodeError:
        import base64

        text, encoding = base64.b64encode(body[:200]).decode(), "base64"
    return {
        "id": msg.id,
        "exchange": msg.exchange,
        "routing_key": msg.routing_key,
        "properties": stats.jsonable(msg.properties),
        "payload": text,
        "payload_encoding": encoding,
        "payload_bytes": len(body),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, Message):
        return _message_view(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return rule_view(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return stats.jsonable(value) if isinstance(value, (bytes, dict, list, tuple)) else repr(value)


def entry_view(entry: Any) -> dict[str, Any]:
    """One journal entry as JSON."""
    return {
        "seq": entry.seq,
        "time": entry.time,
        "kind": entry.kind,
        "vhost": entry.vhost,
        "exchange": entry.exchange,
        "routing_key": entry.routing_key,
        "queue": entry.queue,
        "message": _message_view(entry.message) if entry.message is not None else None,
        "details": {k: _plain(v) for k, v in entry.details.items()},
    }


# -- faults ---------------------------------------------------------------------------------


@level("administrator")
async def get_faults(request: web.Request) -> web.Response:
    """GET /api/fakebroker/faults."""
    node = ctx(request).node
    with node.locked():
        rules = [rule_view(r) for r in node.faults.rules]
    return json_response({"rules": rules, "seed": node.faults.seed})


@level("administrator")
async def post_fault(request: web.Request) -> web.Response:
    """POST /api/fakebroker/faults: 201 with the rule, or 200 with what an at-once fault did."""
    body = await read_json(request)
    faults = ctx(request).node.faults
    try:
        if "builder" in body:
            name = str(body["builder"])
            args = dict(body.get("args") or {})
            if name in AT_ONCE:
                result = getattr(faults, name)(**args)
                return json_response({"builder": name, "result": result})
            if name not in BUILDERS:
                raise ApiError(400, "bad_request", f"unknown fault builder '{name}'")
            rule = getattr(faults, name)(**args)
        else:
            rule = faults.load([body])[0]
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "bad_request", str(exc)) from None
    with ctx(request).node.locked():
        return json_response(rule_view(rule), status=201)


@level("administrator")
async def delete_faults(request: web.Request) -> web.Response:
    """DELETE /api/fakebroker/faults (all) or /{id} (one)."""
    faults = ctx(request).node.faults
    wanted = request.match_info.get("id")
    if wanted is None:
        faults.clear()
        return web.Response(status=204)
    for rule in faults.rules:
        if str(id(rule)) == wanted:
            faults.remove(rule)
            return web.Response(status=204)
    raise ApiError(404, "Object Not Found", "Not Found")


# -- clock ----------------------------------------------------------------------------------


def _clock_view(node: Any) -> dict[str, Any]:
    clock = node.clock
    return {
        "now": clock.now(),
        "virtual": isinstance(clock, VirtualClock),
        "next_deadline": clock.next_deadline(),
    }


@level("administrator")
async def get_clock(request: web.Request) -> web.Response:
    """GET /api/fakebroker/clock."""
    node = ctx(request).node
    with node.locked():
        return json_response(_clock_view(node))


@level("administrator")
async def post_clock(request: web.Request) -> web.Response:
    """POST /api/fakebroker/clock ``{"advance": seconds}``: run every timer due."""
    body = await read_json(request)
    node = ctx(request).node
    try:
        seconds = float(body["advance"])
    except (KeyError, TypeError, ValueError):
        raise ApiError(400, "bad_request", 'expected {"advance": seconds}') from None
    if seconds < 0:
        raise ApiError(400, "bad_request", "cannot advance by a negative time")
    try:
        ran = node.advance(seconds)
    except TypeError as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    with node.locked():
        view = _clock_view(node)
    view["timers_run"] = ran
    return json_response(view)


# -- journal --------------------------------------------------------------------------------


def journal_entries(broker: Any, query: Any) -> list[dict[str, Any]]:
    """The journal's entries matching the query's filters, the newest ``limit``."""
    kind = query.get("kind")
    if kind is not None and kind not in KINDS:
        raise ApiError(400, "bad_request", f"unknown kind '{kind}'; one of {sorted(KINDS)}")
    try:
        since = int(query.get("since", 0))
        limit = max(0, min(int(query.get("limit", 100)), 10_000))
    except ValueError:
        raise ApiError(400, "bad_request", "since and limit are integers") from None
    fields = ("queue", "exchange", "routing_key", "vhost")
    match = {k: query[k] for k in fields if k in query}
    found = [
        e
        for e in broker.journal
        if e.seq > since
        and (kind is None or e.kind == kind)
        and all(getattr(e, k) == v for k, v in match.items())
    ]
    return [entry_view(e) for e in found[-limit:]] if limit else []


@level("administrator")
async def get_journal(request: web.Request) -> web.Response:
    """GET /api/fakebroker/journal."""
    with ctx(request).locked() as (broker, _):
        entries = journal_entries(broker, request.query)
        return json_response(
            {
                "last_seq": broker.journal.last_seq,
                "enabled": broker.journal.enabled,
                "entries": entries,
            }
        )


# -- live events and the dashboard ----------------------------------------------------------


def snapshot(broker: Any, sampler: stats.Sampler, now: float) -> dict[str, Any]:
    """What the dashboard draws: queues, exchanges with bindings, connections, channels."""
    queues: list[dict[str, Any]] = []
    exchanges: list[dict[str, Any]] = []
    bindings: list[dict[str, Any]] = []
    for vh in broker.vhosts.values():
        for q in vh.queues.values():
            view = stats.queue_view(q, sampler=sampler, now=now)
            queues.append(
                {
                    k: view.get(k)
                    for k in (
                        "vhost",
                        "name",
                        "messages_ready",
                        "messages_unacknowledged",
                        "consumers",
                        "durable",
                        "type",
                        "messages_ready_details",
                        "messages_unacknowledged_details",
                        "message_stats",
                    )
                }
            )
        exchanges.extend(stats.exchange_view(x, vh) for x in vh.exchanges.values())
        bindings.extend(b for b in stats.bindings_of(vh) if b["source"])
    conns = [c for c in broker.connections if not c.closed]
    return {
        "queues": queues,
        "exchanges": exchanges,
        "bindings": bindings,
        "connections": [stats.connection_view(c) for c in conns],
        "channels": [stats.channel_view(ch) for c in conns for ch in c.channels.values()],
        "faults": [rule_view(r) for r in broker.faults.rules],
        "clock": {"now": broker.clock.now(), "virtual": isinstance(broker.clock, VirtualClock)},
    }


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@streams
@level("administrator")
async def events(request: web.Request) -> web.StreamResponse:
    """GET /api/fakebroker/events: a server-sent event stream (``interval`` seconds, 0.5)."""
    c = ctx(request)
    try:
        interval = max(0.05, float(request.query.get("interval", 0.5)))
    except ValueError:
        raise ApiError(400, "bad_request", "interval is a number of seconds") from None
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    last_seq, last_state = 0, ""
    with c.locked() as (broker, _):
        last_seq = max(0, broker.journal.last_seq - 50)
    while True:
        with c.locked() as (broker, _):
            state = snapshot(broker, c.sampler, c.now())
            entries = journal_entries(broker, {"since": last_seq, "limit": 200})
            last_seq = broker.journal.last_seq
        text = json.dumps(state, sort_keys=True)
        try:
            if text != last_state:
                await response.write(_sse("state", state))
                last_state = text
            if entries:
                await response.write(_sse("journal", entries))
            await asyncio.sleep(interval)
        except ConnectionResetError:  # the client went away
            break
    return response


def _static(name: str) -> str:
    folder = importlib.resources.files(__package__).joinpath("static")
    return folder.joinpath(name).read_text("utf-8")


@level("administrator")
async def dashboard(request: web.Request) -> web.Response:
    """GET /: the dashboard."""
    return web.Response(text=_static("dashboard.html"), content_type="text/html")


@level("public")
async def openapi(request: web.Request) -> web.Response:
    """GET /api/fakebroker/openapi.json."""
    from ._openapi import SPEC

    return json_response(SPEC)


def add_routes(router: web.UrlDispatcher) -> None:
    """fakebroker's endpoints and the dashboard."""
    router.add_get("/", dashboard)
    router.add_get("/api/fakebroker/faults", get_faults)
    router.add_post("/api/fakebroker/faults", post_fault)
    router.add_delete("/api/fakebroker/faults", delete_faults)
    router.add_delete("/api/fakebroker/faults/{id}", delete_faults)
    router.add_get("/api/fakebroker/clock", get_clock)
    router.add_post("/api/fakebroker/clock", post_clock)
    router.add_get("/api/fakebroker/journal", get_journal)
    router.add_get("/api/fakebroker/events", events)
    router.add_get("/api/fakebroker/openapi.json", openapi)
