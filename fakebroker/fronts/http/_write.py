"""The management API's endpoints that change the broker (PUT, POST, DELETE).

Declarations go through the core's channel API on a short-lived internal
connection (as the plugin's direct client does), so they get the checks a
client's would; a refusal is 400 ``bad_request`` with the AMQP reply text
after its ``NAME -`` prefix, as RabbitMQ answers (a missing object is 404
``not_found`` instead).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from typing import Any

from aiohttp import web

from ...core import DEFAULT_HASHING_ALGORITHM, AMQPError, stats
from ...core.events import Return
from . import _texts as T
from ._access import Permission
from ._app import (
    ApiError,
    ctx,
    exchange_name,
    internal_channel,
    json_response,
    level,
    read_json,
    user_of,
    vhost_of,
)

__all__ = ["add_routes"]

_CREATED = web.Response(status=201)


def _created(existed: bool) -> web.Response:
    return web.Response(status=204 if existed else 201)


def _refused(error: AMQPError) -> ApiError:
    if error.code == 404:
        return ApiError(404, "not_found", error.text)
    if error.code == 403:
        return ApiError(401, T.ACCESS_REFUSED)
    return ApiError(400, "bad_request", error.text)


def _flag(body: dict[str, Any], key: str, default: bool = False) -> bool:
    value = body.get(key, default)
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def _query_flag(request: web.Request, key: str) -> bool:
    return request.query.get(key, "false").lower() == "true"


# -- vhosts ---------------------------------------------------------------------------------


@level("administrator")
async def put_vhost(request: web.Request) -> web.Response:
    """PUT /api/vhosts/{vhost}: create (the creator gets every permission) or update."""
    body = await read_json(request)
    name = request.match_info["vhost"]
    with ctx(request).locked() as (broker, access):
        existed = broker.has_vhost(name)
        broker.add_vhost(name)
        meta = access.meta(name)
        if "description" in body:
            meta.description = str(body["description"])
        if "tags" in body:
            tags = body["tags"]
            meta.tags = [t for t in (tags.split(",") if isinstance(tags, str) else tags) if t]
        if "tracing" in body:
            meta.tracing = _flag(body, "tracing")
        if not existed:
            access.grant_creator(user_of(request), name)
    return _created(existed)


@level("administrator")
async def delete_vhost(request: web.Request) -> web.Response:
    """DELETE /api/vhosts/{vhost}: its connections are closed."""
    name = request.match_info["vhost"]
    with ctx(request).locked() as (broker, _access):
        if not broker.has_vhost(name):
            raise ApiError(404, T.NOT_FOUND)
        broker.delete_vhost(name)  # its permissions go with it
    return web.Response(status=204)


# -- queues ---------------------------------------------------------------------------------


async def put_queue(request: web.Request) -> web.Response:
    """PUT /api/queues/{vhost}/{name}: declare (201), or redeclare the same (204)."""
    body = await read_json(request)
    name = request.match_info["name"]
    with ctx(request).locked() as (broker, access):
        vh = vhost_of(request, broker, access, write=True)
        existed = name in vh.queues
        with internal_channel(broker, vh.name, user_of(request)) as ch:
            try:
                ch.queue_declare(
                    name,
                    durable=_flag(body, "durable"),
                    auto_delete=_flag(body, "auto_delete"),
                    arguments=dict(body.get("arguments") or {}),
                )
            except AMQPError as error:
                raise _refused(error) from None
    return _created(existed)


async def delete_queue(request: web.Request) -> web.Response:
    """DELETE /api/queues/{vhost}/{name} (``if-unused``, ``if-empty``)."""
    name = request.match_info["name"]
    with ctx(request).locked() as (broker, access):
        vh = vhost_of(request, broker, access, write=True)
        if name not in vh.queues:
            raise ApiError(404, T.NOT_FOUND)
        with internal_channel(broker, vh.name, user_of(request)) as ch:
            try:
                ch.queue_delete(
                    name,
                    if_unused=_query_flag(request, "if-unused"),
                    if_empty=_query_flag(request, "if-empty"),
                )
            except AMQPError as error:
                raise _refused(error) from None
    return web.Response(status=204)


async def purge_queue(request: web.Request) -> web.Response:
    """DELETE /api/queues/{vhost}/{name}/contents."""
    name = request.match_info["name"]
    with ctx(request).locked() as (broker, access):
        vh = vhost_of(request, broker, access, write=True)
        if name not in vh.queues:
            raise ApiError(404, T.NOT_FOUND)
        with internal_channel(broker, vh.name, user_of(request)) as ch:
            try:
                ch.queue_purge(name)
            except AMQPError as error:
                raise _refused(error) from None
    return web.Response(status=204)


_ACKMODES = {
    "ack_requeue_true": ("requeue", None),
    "reject_requeue_true": ("requeue", None),
    "ack_requeue_false": ("ack", None),
    "reject_requeue_false": ("reject", None),
}
# RabbitMQ's properties in the get answer, by pamqp's names.
_PROPERTY_NAMES = {"message_type": "type"}


def _message_view(get_ok: Any, encoding: str, truncate: int | None) -> dict[str, Any]:
    msg = get_ok.message
    body: bytes = msg.body
    shown = body if truncate is None else body[:truncate]
    payload_encoding = "base64"
    payload = base64.b64encode(shown).decode()
    if encoding == "auto":
        with contextlib.suppress(UnicodeDecodeError):
            payload, payload_encoding = shown.decode(), "string"
    props = {_PROPERTY_NAMES.get(k, k): stats.jsonable(v) for k, v in msg.properties.items()}
    return {
        "payload_bytes": len(body),
        "redelivered": get_ok.redelivered,
        "exchange": get_ok.exchange,
        "routing_key": get_ok.routing_key,
        "message_count": get_ok.message_count,
        "properties": props or [],  # RabbitMQ prints an empty proplist as []
        "payload": payload,
        "payload_encoding": payload_encoding,
    }


async def get_messages(request: web.Request) -> web.Response:
    """POST /api/queues/{vhost}/{name}/get: count, ackmode, encoding, truncate."""
    body = await read_json(request)
    missing = [k for k in ("ackmode", "encoding") if k not in body]
    if "count" not in body:
        missing.insert(0, "count")
    if missing:
        raise ApiError(400, "bad_request", T.key_missing(missing))
    mode = _ACKMODES.get(str(body["ackmode"]))
    encoding = str(body["encoding"])
    if mode is None or encoding not in ("auto", "base64"):
        return web.Response(status=500)  # RabbitMQ's handler crashes on these
    truncate = body.get("truncate")
    truncate = int(truncate) if truncate not in (None, "") else None
    name = request.match_info["name"]
    with ctx(request).locked() as (broker, access):
        vh = vhost_of(request, broker, access, write=True)
        if name not in vh.queues:
            raise ApiError(404, T.NOT_FOUND)
        result = []
        with internal_channel(broker, vh.name, user_of(request)) as ch:
            try:
                for _ in range(int(body["count"])):
                    got = ch.basic_get(name)
                    if got is None:
                        break
                    result.append(_message_view(got, encoding, truncate))
                    last = got.delivery_tag
                if result and mode[0] == "ack":
                    ch.basic_ack(last, multiple=True)
                elif result and mode[0] == "reject":
                    ch.basic_nack(last, multiple=True, requeue=False)
            except AMQPError as error:
                raise _refused(error) from None
    return json_response(result)


# -- exchanges ------------------------------------------------------------------------------


async def put_exchange(request: web.Request) -> web.Response:
    """PUT /api/exchanges/{vhost}/{name}."""
    body = await read_json(request)
    name = exchange_name(request.match_info["name"])
    with ctx(request).locked() as (broker, access):
        vh = vhost_of(request, broker, access, write=True)
        existed = name in vh.exchanges
        with internal_channel(broker, vh.name, user_of(request)) as ch:
            try:
                ch.exchange_declare(
                    name,
                    type=str(body.get("type", "direct")),
                    durable=_flag(body, "durable"),
                    auto_delete=_flag(body, "auto_delete"),
                    internal=_flag(body, "internal"),
                    arguments=dict(body.get("arguments") or {}),
                )
            except AMQPError as error:
                raise _refused(error) from None
    return _created(existed)


async def delete_exchange(request: web.Request) -> web.Response:
    """DELETE /api/exchanges/{vhost}/{name} (``if-unused``)."""
    name = exchange_name(request.match_info["name"])
    with ctx(request).locked() as (broker, access):
        vh = vhost_of(request, broker, access, write=True)
        if name not in vh.exchanges:
            raise ApiError(404, T.NOT_FOUND)
        with internal_channel(broker, vh.name, user_of(request)) as ch:
            try:
                ch.exchange_delete(name, if_unused=_query_flag(request, "if-unused"))
            except AMQPError as error:
                raise _refused(error) from None
    return web.Response(status=204)


_PUBLISH_PROPERTIES = {"type": "message_type"}


async def publish(request: web.Request) -> web.Response:
    """POST /api/exchanges/{vhost}/{name}/publish: ``{"routed": true|false}``."""
    body = await read_json(request)
    missing = [
        k for k in ("properties", "routing_key", "payload", "payload_encoding") if k not in body
    ]
    if missing:
        raise ApiError(400, "bad_request", T.key_missing(missing))
    payload = str(body["payload"])
    if body["payload_encoding"] == "base64":
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "bad_request", "not_base64") from None
    else:
        data = payload.encode()
    given: dict[str, Any] = dict(body["properties"] or {})
    props = {_PUBLISH_PROPERTIES.get(str(k), str(k)): v for k, v in given.items()}
    name = exchange_name(request.match_info["name"])
    with ctx(request).locked() as (broker, access):
        vh = vhost_of(request, broker, access, write=True)
        with internal_channel(broker, vh.name, user_of(request)) as ch:
            try:
                ch.basic_publish(name, str(body["routing_key"]), data, props, mandatory=True)
            except AMQPError as error:
                raise ApiError(400, "bad_request", f"{error.code} {error.reply_text}") from None
            routed = not any(isinstance(e, Return) for e in ch.conn.outbox)
    return json_response({"routed": routed})


# -- bindings -------------------------------------------------------------------------------


async def post_binding(request: web.Request) -> web.Response:
    """POST /api/bindings/{vhost}/e/{source}/q|e/{dest}: 201 with a Location."""
    body = await read_json(request)
    info = request.match_info
    source, dest = exchange_name(info["source"]), info["dest"]
    routing_key = str(body.get("routing_key", ""))
    arguments = dict(body.get("arguments") or {})
    with ctx(request).locked() as (broker, access):
        vh = vhost_of(request, broker, access, write=True)
        with internal_channel(broker, vh.name, user_of(request)) as ch:
            try:
                if info["kind"] == "q":
                    ch.queue_bind(dest, source, routing_key, arguments)
                else:
                    ch.exchange_bind(dest, source, routing_key, arguments)
            except AMQPError as error:
                raise _refused(error) from None
    key = stats.properties_key(routing_key, arguments)
    return web.Response(status=201, headers={"Location": key})


async def delete_binding(request: web.Request) -> web.Response:
    """DELETE /api/bindings/{vhost}/e/{source}/q|e/{dest}/{props}."""
    info = request.match_info
    source, dest = exchange_name(info["source"]), info["dest"]
    with ctx(request).locked() as (broker, access):
        vh = vhost_of(request, broker, access, write=True)
        found = [
            b
            for b in stats.bindings_of(vh)
            if b["source"] == source
            and b["destination"] == dest
            and b["destination_type"] == ("queue" if info["kind"] == "q" else "exchange")
            and b["properties_key"] == info["props"]
        ]
        if not found or not source:
            raise ApiError(404, T.NOT_FOUND)
        b = found[0]
        key, args = b["routing_key"], _original_args(vh, source, b)
        with internal_channel(broker, vh.name, user_of(request)) as ch:
            try:
                if info["kind"] == "q":
                    ch.queue_unbind(dest, source, key, args)
                else:
                    ch.exchange_unbind(dest, source, key, args)
            except AMQPError as error:
                raise _refused(error) from None
    return web.Response(status=204)


def _original_args(vh: Any, source: str, view: dict[str, Any]) -> dict[str, Any]:
    """The binding's own argument table (with its AMQP types) behind a JSON view."""
    for b in vh.exchanges[source].bindings.values():
        if (
            b.destination.name == view["destination"]
            and b.routing_key == view["routing_key"]
            and stats.properties_key(b.routing_key, b.arguments) == view["properties_key"]
        ):
            return dict(b.arguments)
    return {}


# -- connections ----------------------------------------------------------------------------


async def delete_connection(request: web.Request) -> web.Response:
    """DELETE /api/connections/{name}: connection.close 320 (``X-Reason`` sets the text)."""
    name = request.match_info["name"]
    reason = request.headers.get("X-Reason", T.CLOSED_VIA_API)
    user = user_of(request)
    with ctx(request).locked() as (broker, access):
        target = next((c for c in broker.connections if c.name == name and not c.closed), None)
        if target is None:
            raise ApiError(404, T.NOT_FOUND)
        if target.user != user and not access.is_admin(user):
            raise ApiError(401, T.NOT_ADMINISTRATOR)
        target.close_forced(reason)
    return web.Response(status=204)


# -- users and permissions ------------------------------------------------------------------


@level("administrator")
async def put_user(request: web.Request) -> web.Response:
    """PUT /api/users/{name}: ``password`` or ``password_hash``, and ``tags``."""
    body = await read_json(request)
    name = request.match_info["name"]
    if "tags" not in body:
        raise ApiError(400, "bad_request", T.key_missing(["tags"]))
    with ctx(request).locked() as (broker, access):
        existed = broker.has_user(name)
        if "password" in body:
            broker.add_user(name, str(body["password"]))
        elif body.get("password_hash"):
            algorithm = str(body.get("hashing_algorithm") or DEFAULT_HASHING_ALGORITHM)
            broker.add_user(
                name, password_hash=str(body["password_hash"]), hashing_algorithm=algorithm
            )
        elif not existed:
            raise ApiError(400, "bad_request", "password_or_password_hash_required")
        if not existed:
            access.new_user(name)
        access.set_tags(name, body["tags"])
    return _created(existed)


@level("administrator")
async def delete_user(request: web.Request) -> web.Response:
    """DELETE /api/users/{name}: its connections are not closed (as RabbitMQ 3.10)."""
    name = request.match_info["name"]
    with ctx(request).locked() as (broker, _access):
        if not broker.has_user(name):
            raise ApiError(404, T.NOT_FOUND)
        broker.delete_user(name)
    return web.Response(status=204)


class _Crash(Exception):
    """A body RabbitMQ's handler crashes on: answered 500."""


async def _permission_body(
    request: web.Request, keys: tuple[str, ...], regexes: tuple[str, ...], *, as_bytes: bool
) -> dict[str, Any]:
    """The body of PUT /api/permissions or /api/topic-permissions, checked as RabbitMQ does.

    In this order: the vhost and user exist (else 400 ``vhost_or_user_not_found``,
    whatever the body), the body is JSON, every key is there, then each regex
    compiles (400 ``invalid_regexp``); a regex that is not a string crashes
    RabbitMQ's handler (:class:`_Crash`, answered 500).
    """
    try:
        body, bad_body = await read_json(request), None
    except ApiError as err:
        body, bad_body = {}, err
    vhost_name, name = request.match_info["vhost"], request.match_info["user"]
    with ctx(request).locked() as (broker, _access):
        if vhost_name not in broker.vhosts or not broker.has_user(name):
            raise ApiError(400, T.VHOST_OR_USER_NOT_FOUND)
    if bad_body is not None:
        raise bad_body
    missing = [k for k in keys if k not in body]
    if missing:
        raise ApiError(400, "bad_request", T.key_missing(missing))
    for key in regexes:
        pattern = body[key]
        if not isinstance(pattern, str):
            raise _Crash
        try:
            re.compile(pattern)
        except re.error as error:
            reason = T.invalid_regexp(pattern, error, as_bytes=as_bytes)
            raise ApiError(400, "bad_request", reason) from None
    return body


_PERMISSION_KEYS = ("configure", "write", "read")


@level("administrator")
async def put_permission(request: web.Request) -> web.Response:
    """PUT /api/permissions/{vhost}/{user} (checked as :func:`_permission_body` says)."""
    try:
        body = await _permission_body(request, _PERMISSION_KEYS, _PERMISSION_KEYS, as_bytes=True)
    except _Crash:
        return web.Response(status=500)
    vhost_name, name = request.match_info["vhost"], request.match_info["user"]
    with ctx(request).locked() as (_broker, access):
        existed = access.has_explicit(name, vhost_name)
        access.set_permission(
            name, vhost_name, Permission(body["configure"], body["write"], body["read"])
        )
    return _created(existed)


@level("administrator")
async def delete_permission(request: web.Request) -> web.Response:
    """DELETE /api/permissions/{vhost}/{user}."""
    vhost_name, name = request.match_info["vhost"], request.match_info["user"]
    with ctx(request).locked() as (broker, access):
        if vhost_name not in broker.vhosts or not broker.has_user(name):
            raise ApiError(404, T.NOT_FOUND)
        if not access.delete_permission(broker, name, vhost_name):
            raise ApiError(404, T.NOT_FOUND)
    return web.Response(status=204)


@level("administrator")
async def put_topic_permission(request: web.Request) -> web.Response:
    """PUT /api/topic-permissions/{vhost}/{user}: 201 when the user had none on the vhost."""
    try:
        body = await _permission_body(
            request, ("exchange", "write", "read"), ("write", "read"), as_bytes=False
        )
    except _Crash:
        return web.Response(status=500)
    exchange = body["exchange"]
    if not isinstance(exchange, str):  # RabbitMQ keeps any JSON value; here its JSON text
        exchange = json.dumps(exchange)
    vhost_name, name = request.match_info["vhost"], request.match_info["user"]
    with ctx(request).locked() as (broker, access):
        existed = access.has_topic(name, vhost_name)
        broker.set_topic_permissions(
            name, vhost_name, exchange=exchange, write=body["write"], read=body["read"]
        )
    return _created(existed)


@level("administrator")
async def delete_topic_permission(request: web.Request) -> web.Response:
    """DELETE /api/topic-permissions/{vhost}/{user}: every one of the user's on the vhost.

    RabbitMQ 3.10.8 reads no exchange from the query string nor the body: the
    user's topic permissions on the vhost all go (404 when it had none).
    """
    vhost_name, name = request.match_info["vhost"], request.match_info["user"]
    with ctx(request).locked() as (broker, access):
        if not access.has_topic(name, vhost_name):
            raise ApiError(404, T.NOT_FOUND)
        broker.clear_topic_permissions(name, vhost_name)
    return web.Response(status=204)


# -- definitions ----------------------------------------------------------------------------


@level("administrator")
async def post_definitions(request: web.Request) -> web.Response:
    """POST /api/definitions (and /{vhost}): import as ``--definitions`` does (204)."""
    from ..._definitions import DefinitionsError, apply_definitions

    body = await read_json(request, definitions=True)
    with ctx(request).locked() as (broker, access):
        if "vhost" in request.match_info:
            vh = vhost_of(request, broker, access, write=True)
            body = {
                key: [dict(item, vhost=vh.name) for item in body.get(key) or []]
                for key in ("queues", "exchanges", "bindings")
            }
        new_users = [u for u in body.get("users") or [] if not broker.has_user(str(u["name"]))]
        try:
            apply_definitions(broker, body)
        except (DefinitionsError, KeyError, TypeError) as exc:
            raise ApiError(400, "bad_request", str(exc)) from None
        for item in new_users:
            access.new_user(str(item["name"]))
        for item in body.get("users") or []:
            access.set_tags(str(item["name"]), item.get("tags") or [])
        for item in body.get("permissions") or []:
            access.set_permission(
                str(item["user"]),
                str(item["vhost"]),
                Permission(
                    str(item.get("configure", "")),
                    str(item.get("write", "")),
                    str(item.get("read", "")),
                ),
            )
    return web.Response(status=204)


def add_routes(router: web.UrlDispatcher) -> None:
    """The endpoints that change the broker."""
    router.add_put("/api/vhosts/{vhost}", put_vhost)
    router.add_delete("/api/vhosts/{vhost}", delete_vhost)
    router.add_put("/api/queues/{vhost}/{name}", put_queue)
    router.add_delete("/api/queues/{vhost}/{name}", delete_queue)
    router.add_delete("/api/queues/{vhost}/{name}/contents", purge_queue)
    router.add_post("/api/queues/{vhost}/{name}/get", get_messages)
    router.add_put("/api/exchanges/{vhost}/{name}", put_exchange)
    router.add_delete("/api/exchanges/{vhost}/{name}", delete_exchange)
    router.add_post("/api/exchanges/{vhost}/{name}/publish", publish)
    router.add_post("/api/bindings/{vhost}/e/{source}/{kind:q|e}/{dest}", post_binding)
    router.add_delete("/api/bindings/{vhost}/e/{source}/{kind:q|e}/{dest}/{props}", delete_binding)
    router.add_delete("/api/connections/{name}", delete_connection)
    router.add_put("/api/users/{name}", put_user)
    router.add_delete("/api/users/{name}", delete_user)
    router.add_put("/api/permissions/{vhost}/{user}", put_permission)
    router.add_delete("/api/permissions/{vhost}/{user}", delete_permission)
    router.add_put("/api/topic-permissions/{vhost}/{user}", put_topic_permission)
    router.add_delete("/api/topic-permissions/{vhost}/{user}", delete_topic_permission)
    router.add_post("/api/definitions", post_definitions)
    router.add_post("/api/definitions/{vhost}", post_definitions)
