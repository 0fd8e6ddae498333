"""The management API's read-only endpoints (GET), in RabbitMQ 3.10.8's shapes."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ...core import DEFAULT_HASHING_ALGORITHM, stats
from ...core._passwords import hash_password
from . import _texts as T
from ._app import (
    ApiError,
    ctx,
    exchange_name,
    json_response,
    level,
    user_of,
    vhost_of,
    visible_vhosts,
)
from ._listing import listing

__all__ = ["add_routes", "definitions_of"]


async def overview(request: web.Request) -> web.Response:
    """GET /api/overview."""
    c = ctx(request)
    with c.locked() as (broker, access):
        view = stats.overview(
            broker,
            visible_vhosts(request, broker, access),
            version=c.version,
            listeners=c.listeners + _amqp_listeners(c.node),
            sampler=c.sampler,
            now=c.now(),
        )
    return json_response(view)


def _amqp_listeners(node: Any) -> list[dict[str, Any]]:
    found = []
    for server in node.listeners:
        scheme, port = getattr(server, "scheme", None), getattr(server, "port", None)
        if scheme in ("amqp", "amqps") and isinstance(port, int):
            protocol = "amqp" if scheme == "amqp" else "amqp/ssl"
            host = getattr(server, "host", "127.0.0.1")
            found.append(
                {"node": stats.NODE, "protocol": protocol, "ip_address": host, "port": port}
            )
    return found


async def whoami(request: web.Request) -> web.Response:
    """GET /api/whoami."""
    user = user_of(request)
    with ctx(request).locked() as (_, access):
        return json_response({"name": user, "tags": access.tags_of(user)})


async def vhosts(request: web.Request) -> web.Response:
    """GET /api/vhosts (monitoring users see every vhost, others theirs)."""
    c = ctx(request)
    now = c.now()
    with c.locked() as (broker, access):
        user = user_of(request)
        result = []
        for name, vhost in broker.vhosts.items():
            if access.is_monitor(user) or access.can_access(user, name):
                meta = access.meta(name)
                result.append(
                    stats.vhost_view(
                        vhost,
                        tracing=meta.tracing,
                        description=meta.description,
                        tags=meta.tags,
                        sampler=c.sampler,
                        now=now,
                    )
                )
    return json_response(listing(request.query, result))


async def vhost(request: web.Request) -> web.Response:
    """GET /api/vhosts/{vhost}."""
    c = ctx(request)
    with c.locked() as (broker, access):
        vh = vhost_of(request, broker, access, write=False)
        meta = access.meta(vh.name)
        view = stats.vhost_view(
            vh,
            tracing=meta.tracing,
            description=meta.description,
            tags=meta.tags,
            sampler=c.sampler,
            now=c.now(),
        )
    return json_response(view)


def _scope(request: web.Request, broker: Any, access: Any) -> list[Any]:
    if "vhost" in request.match_info:
        return [vhost_of(request, broker, access, write=False)]
    return visible_vhosts(request, broker, access)


async def queues(request: web.Request) -> web.Response:
    """GET /api/queues and /api/queues/{vhost}."""
    c = ctx(request)
    now = c.now()
    with c.locked() as (broker, access):
        result = [
            stats.queue_view(q, sampler=c.sampler, now=now)
            for vh in _scope(request, broker, access)
            for q in vh.queues.values()
        ]
    result.sort(key=lambda q: (q["vhost"], q["name"]))
    return json_response(listing(request.query, result))


async def queue(request: web.Request) -> web.Response:
    """GET /api/queues/{vhost}/{name}."""
    c = ctx(request)
    with c.locked() as (broker, access):
        vh = vhost_of(request, broker, access, write=False)
        q = vh.queues.get(request.match_info["name"])
        if q is None:
            raise ApiError(404, T.NOT_FOUND)
        view = stats.queue_view(q, sampler=c.sampler, now=c.now(), detail=True)
    return json_response(view)


async def queue_bindings(request: web.Request) -> web.Response:
    """GET /api/queues/{vhost}/{name}/bindings."""
    name = request.match_info["name"]
    with ctx(request).locked() as (broker, access):
        vh = vhost_of(request, broker, access, write=False)
        if name not in vh.queues:
            raise ApiError(404, T.NOT_FOUND)
        result = [
            b
            for b in stats.bindings_of(vh)
            if b["destination"] == name and b["destination_type"] == "queue"
        ]
    return json_response(result)


async def exchanges(request: web.Request) -> web.Response:
    """GET /api/exchanges and /api/exchanges/{vhost}."""
    with ctx(request).locked() as (broker, access):
        result = [
            stats.exchange_view(x, vh)
            for vh in _scope(request, broker, access)
            for x in vh.exchanges.values()
        ]
    result.sort(key=lambda x: (x["vhost"], x["name"]))
    return json_response(listing(request.query, result))


async def exchange(request: web.Request) -> web.Response:
    """GET /api/exchanges/{vhost}/{name}."""
    with ctx(request).locked() as (broker, access):
        vh = vhost_of(request, broker, access, write=False)
        x = vh.exchanges.get(exchange_name(request.match_info["name"]))
        if x is None:
            raise ApiError(404, T.NOT_FOUND)
        return json_response(stats.exchange_view(x, vh, detail=True))


async def exchange_bindings(request: web.Request) -> web.Response:
    """GET /api/exchanges/{vhost}/{name}/bindings/source|destination."""
    name = exchange_name(request.match_info["name"])
    side = request.match_info["side"]
    with ctx(request).locked() as (broker, access):
        vh = vhost_of(request, broker, access, write=False)
        if name not in vh.exchanges:
            raise ApiError(404, T.NOT_FOUND)
        every = stats.bindings_of(vh)
    if side == "source":
        result = [b for b in every if b["source"] == name]
    else:
        result = [
            b for b in every if b["destination"] == name and b["destination_type"] == "exchange"
        ]
    return json_response(result)


async def bindings(request: web.Request) -> web.Response:
    """GET /api/bindings, /api/bindings/{vhost}, and between two objects."""
    info = request.match_info
    with ctx(request).locked() as (broker, access):
        scope = _scope(request, broker, access)
        if "source" in info:
            vh = scope[0]
            source, dest = exchange_name(info["source"]), info["dest"]
            kind = "queue" if info["kind"] == "q" else "exchange"
            if source not in vh.exchanges or (
                dest not in (vh.queues if kind == "queue" else vh.exchanges)
            ):
                raise ApiError(404, T.NOT_FOUND)
        result = [b for vh in scope for b in stats.bindings_of(vh)]
    if "source" in info:
        result = [
            b
            for b in result
            if b["source"] == source and b["destination"] == dest and b["destination_type"] == kind
        ]
        if "props" in info:
            found = [b for b in result if b["properties_key"] == info["props"]]
            if not found:
                raise ApiError(404, T.NOT_FOUND)
            return json_response(found[0])
    return json_response(listing(request.query, result))


async def connections(request: web.Request) -> web.Response:
    """GET /api/connections (a management user sees only their own)."""
    user = user_of(request)
    with ctx(request).locked() as (broker, access):
        monitor = access.is_monitor(user)
        result = [
            stats.connection_view(conn)
            for conn in broker.connections
            if not conn.closed and (monitor or conn.user == user)
        ]
    return json_response(listing(request.query, result))


async def connection(request: web.Request) -> web.Response:
    """GET /api/connections/{name}."""
    name = request.match_info["name"]
    user = user_of(request)
    with ctx(request).locked() as (broker, access):
        for conn in broker.connections:
            if conn.name == name and (access.is_monitor(user) or conn.user == user):
                return json_response(stats.connection_view(conn))
    raise ApiError(404, T.NOT_FOUND)


async def channels(request: web.Request) -> web.Response:
    """GET /api/channels and /api/connections/{name}/channels."""
    user = user_of(request)
    only = request.match_info.get("name")
    with ctx(request).locked() as (broker, access):
        monitor = access.is_monitor(user)
        result = [
            stats.channel_view(ch)
            for conn in broker.connections
            if not conn.closed
            and (monitor or conn.user == user)
            and (only is None or conn.name == only)
            for ch in conn.channels.values()
        ]
    return json_response(listing(request.query, result))


async def consumers(request: web.Request) -> web.Response:
    """GET /api/consumers and /api/consumers/{vhost}."""
    with ctx(request).locked() as (broker, access):
        result = [c for vh in _scope(request, broker, access) for c in stats.consumer_views(vh)]
    return json_response(listing(request.query, result))


def user_view(broker: Any, access: Any, name: str) -> dict[str, Any]:
    """One user as GET /api/users shows it (a plain password is shown hashed)."""
    stored = broker.password_hash_of(name)
    if stored is not None:
        password_hash, algorithm = stored
    else:
        algorithm = DEFAULT_HASHING_ALGORITHM
        password_hash = hash_password(broker.users[name], algorithm)
    return {
        "name": name,
        "password_hash": password_hash,
        "hashing_algorithm": algorithm,
        "tags": access.tags_of(name),
        "limits": {},
    }


@level("administrator")
async def users(request: web.Request) -> web.Response:
    """GET /api/users."""
    with ctx(request).locked() as (broker, access):
        result = [user_view(broker, access, n) for n in broker.user_names]
    return json_response(listing(request.query, result))


@level("administrator")
async def user(request: web.Request) -> web.Response:
    """GET /api/users/{name}."""
    name = request.match_info["name"]
    with ctx(request).locked() as (broker, access):
        if not broker.has_user(name):
            raise ApiError(404, T.NOT_FOUND)
        return json_response(user_view(broker, access, name))


@level("administrator")
async def permissions(request: web.Request) -> web.Response:
    """GET /api/permissions."""
    with ctx(request).locked() as (broker, access):
        result = access.permissions(broker)
    return json_response(listing(request.query, result))


@level("administrator")
async def permission(request: web.Request) -> web.Response:
    """GET /api/permissions/{vhost}/{user}."""
    from ._access import permission_view

    vhost_name, name = request.match_info["vhost"], request.match_info["user"]
    with ctx(request).locked() as (broker, access):
        perm = access.permission(name, vhost_name)
        if vhost_name not in broker.vhosts or not broker.has_user(name) or perm is None:
            raise ApiError(404, T.NOT_FOUND)
        return json_response(permission_view(name, vhost_name, perm))


# Topic permission lists are sorted and cut to columns, but never paginated (RabbitMQ 3.10.8).
_UNPAGED = ("page", "page_size", "name", "use_regex")


def _topic_listing(request: web.Request, items: list[dict[str, Any]]) -> web.Response:
    query = {k: v for k, v in request.query.items() if k not in _UNPAGED}
    return json_response(listing(query, items))


@level("administrator")
async def topic_permissions(request: web.Request) -> web.Response:
    """GET /api/topic-permissions: sorted by vhost, then user."""
    with ctx(request).locked() as (_broker, access):
        return _topic_listing(request, access.topic_permissions())


@level("administrator")
async def user_topic_permissions(request: web.Request) -> web.Response:
    """GET /api/users/{name}/topic-permissions (``[]`` when it has none)."""
    name = request.match_info["name"]
    with ctx(request).locked() as (broker, access):
        if not broker.has_user(name):
            raise ApiError(404, T.NOT_FOUND)
        return _topic_listing(request, access.topic_permissions(user=name))


@level("administrator")
async def vhost_topic_permissions(request: web.Request) -> web.Response:
    """GET /api/vhosts/{vhost}/topic-permissions (RabbitMQ puts ``vhost`` first here)."""
    name = request.match_info["vhost"]
    with ctx(request).locked() as (broker, access):
        if name not in broker.vhosts:
            raise ApiError(404, T.NOT_FOUND)
        found = access.topic_permissions(vhost=name)
    items = [{"vhost": t["vhost"], **{k: v for k, v in t.items() if k != "vhost"}} for t in found]
    return _topic_listing(request, items)


@level("administrator")
async def topic_permission(request: web.Request) -> web.Response:
    """GET /api/topic-permissions/{vhost}/{user}: every one of theirs there, else 404."""
    vhost_name, name = request.match_info["vhost"], request.match_info["user"]
    with ctx(request).locked() as (_broker, access):
        found = access.topic_permissions(user=name, vhost=vhost_name)
    if not found:  # an unknown vhost or user has none either
        raise ApiError(404, T.NOT_FOUND)
    return _topic_listing(request, found)


_PREDECLARED = ("", "amq.direct", "amq.fanout", "amq.topic", "amq.headers", "amq.match")


def definitions_of(broker: Any, access: Any, version: str, only: str | None) -> dict[str, Any]:
    """The definitions export (``--definitions`` and POST /api/definitions read it back)."""
    names = [only] if only is not None else list(broker.vhosts)
    queues, exchanges, bindings_ = [], [], []
    for name in names:
        vh = broker.vhosts[name]
        for q in vh.queues.values():
            if not q.exclusive:
                queues.append(
                    {
                        "name": q.name,
                        "vhost": name,
                        "durable": q.durable,
                        "auto_delete": q.auto_delete,
                        "arguments": stats.jsonable(q.arguments),
                    }
                )
        for x in vh.exchanges.values():
            if x.name not in _PREDECLARED:
                exchanges.append(
                    {
                        "name": x.name,
                        "vhost": name,
                        "type": x.type,
                        "durable": x.durable,
                        "auto_delete": x.auto_delete,
                        "internal": x.internal,
                        "arguments": stats.jsonable(x.arguments),
                    }
                )
        for b in stats.bindings_of(vh):
            if b["source"] and not _exclusive_destination(vh, b):
                b = {k: v for k, v in b.items() if k != "properties_key"}
                bindings_.append(b)
    if only is not None:
        for item in (*queues, *exchanges, *bindings_):
            item.pop("vhost", None)
        return {
            "rabbit_version": "3.10.8",
            "parameters": [],
            "policies": [],
            "queues": queues,
            "exchanges": exchanges,
            "bindings": bindings_,
        }
    return {
        "rabbit_version": "3.10.8",
        "rabbitmq_version": "3.10.8",
        "product_name": "fakebroker",
        "product_version": version,
        "users": [user_view(broker, access, n) for n in broker.user_names],
        "vhosts": [{"name": n} for n in names],
        "permissions": access.permissions(broker),
        "topic_permissions": access.topic_permissions(),
        "parameters": [],
        "global_parameters": [],
        "policies": [],
        "queues": queues,
        "exchanges": exchanges,
        "bindings": bindings_,
    }


def _exclusive_destination(vh: Any, binding: dict[str, Any]) -> bool:
    if binding["destination_type"] != "queue":
        return False
    q = vh.queues.get(binding["destination"])
    return q is not None and q.exclusive


@level("administrator")
async def definitions(request: web.Request) -> web.Response:
    """GET /api/definitions and /api/definitions/{vhost}."""
    c = ctx(request)
    with c.locked() as (broker, access):
        only = None
        if "vhost" in request.match_info:
            only = vhost_of(request, broker, access, write=False).name
        return json_response(definitions_of(broker, access, c.version, only))


def add_routes(router: web.UrlDispatcher) -> None:
    """The GET endpoints."""
    get = router.add_get
    get("/api/overview", overview)
    get("/api/whoami", whoami)
    get("/api/vhosts", vhosts)
    get("/api/vhosts/{vhost}", vhost)
    get("/api/queues", queues)
    get("/api/queues/{vhost}", queues)
    get("/api/queues/{vhost}/{name}", queue)
    get("/api/queues/{vhost}/{name}/bindings", queue_bindings)
    get("/api/exchanges", exchanges)
    get("/api/exchanges/{vhost}", exchanges)
    get("/api/exchanges/{vhost}/{name}", exchange)
    get("/api/exchanges/{vhost}/{name}/bindings/{side:source|destination}", exchange_bindings)
    get("/api/bindings", bindings)
    get("/api/bindings/{vhost}", bindings)
    get("/api/bindings/{vhost}/e/{source}/{kind:q|e}/{dest}", bindings)
    get("/api/bindings/{vhost}/e/{source}/{kind:q|e}/{dest}/{props}", bindings)
    get("/api/connections", connections)
    get("/api/connections/{name}", connection)
    get("/api/connections/{name}/channels", channels)
    get("/api/channels", channels)
    get("/api/consumers", consumers)
    get("/api/consumers/{vhost}", consumers)
    get("/api/users", users)
    get("/api/users/{name}", user)
    get("/api/permissions", permissions)
    get("/api/permissions/{vhost}/{user}", permission)
    get("/api/topic-permissions", topic_permissions)
    get("/api/topic-permissions/{vhost}/{user}", topic_permission)
    get("/api/users/{name}/topic-permissions", user_topic_permissions)
    get("/api/vhosts/{vhost}/topic-permissions", vhost_topic_permissions)
    get("/api/definitions", definitions)
    get("/api/definitions/{vhost}", definitions)
    for path, handler in _LISTS.items():  # Cowboy answers these with a trailing slash too
        get(path + "/", handler)


_LISTS = {
    "/api/vhosts": vhosts,
    "/api/queues": queues,
    "/api/exchanges": exchanges,
    "/api/bindings": bindings,
    "/api/connections": connections,
    "/api/channels": channels,
    "/api/consumers": consumers,
    "/api/users": users,
    "/api/permissions": permissions,
    "/api/topic-permissions": topic_permissions,
}
