"""The aiohttp application: authentication, RabbitMQ's error bodies, shared helpers.

Every handler acts on the broker only inside ``with node.locked() as
broker:``.  The middleware reads the request's body first and then runs
authentication and the handler under one acquisition of the node's lock
(handlers do not await the network), so a request waits for the lock once
while AMQP fronts are busy; an event stream (``@streams``) takes the lock
only for each snapshot.  Errors are raised as
:class:`ApiError` and answered as RabbitMQ does: a JSON body ``{"error":
..., "reason": ...}``; an unknown path is 404 ``Object Not Found``.

Who may do what (RabbitMQ 3.10.8; it answers 401 for each of these):
no credentials -> 401 with an empty body and ``WWW-Authenticate``; bad
ones -> ``not_authorized / Login failed``; a user without a management tag
-> ``Not management user``; an administrator-only endpoint ->
``Not administrator user``; a vhost without a permission -> ``User not
authorised to access virtual host``, whatever the tags (monitoring users
list every vhost and every connection, but see only the objects of vhosts
they have permissions on, as RabbitMQ 3.10.8).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import contextvars
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ...core import stats
from . import _texts as T
from ._access import Access, access_for

if TYPE_CHECKING:
    from ..._node import Node
    from ...core import Broker, Channel
    from ...core._vhost import Vhost

__all__ = ["ApiError", "Context", "Handler", "json_response", "make_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An answer other than success: status, error and reason (RabbitMQ's JSON body).

    The reason is a text, or a JSON list where RabbitMQ prints an Erlang term
    (``["invalid_regexp", ...]``).
    """

    def __init__(
        self,
        status: int,
        error: tuple[str, str] | str,
        reason: str | list[Any] | None = None,
    ):
        super().__init__(status, error, reason)
        if isinstance(error, tuple):
            error, reason = error
        self.status = status
        self.error = error
        self.reason: str | list[Any] = reason or ""


def json_response(data: Any, status: int = 200) -> web.Response:
    """A JSON answer as RabbitMQ writes it (compact)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return web.Response(text=text, status=status, content_type="application/json")


def error_response(err: ApiError) -> web.Response:
    """RabbitMQ's error body."""
    response = json_response({"error": err.error, "reason": err.reason}, status=err.status)
    if err.status == 401 and err.error == "not_authorized":
        response.headers["WWW-Authenticate"] = T.REALM
    return response


class Context:
    """What every handler shares: the node, its version, the sampler for rates."""

    def __init__(self, *, node: Node, version: str) -> None:
        self.node = node
        self.version = version
        self.sampler = stats.Sampler()
        self.listeners: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def locked(self) -> Iterator[tuple[Broker, Access]]:
        """The broker and its access model, under the node's lock."""
        with self.node.locked() as broker:
            yield broker, access_for(broker)

    @staticmethod
    def now() -> float:
        """Monotonic seconds, for rates."""
        return time.monotonic()


CONTEXT = web.AppKey("fakebroker", Context)


def ctx(request: web.Request) -> Context:
    """The application's :class:`Context`."""
    return request.app[CONTEXT]


#: The authenticated user of the request being handled (set by the middleware).
_USER: contextvars.ContextVar[str] = contextvars.ContextVar("fakebroker_http_user")


def user_of(request: web.Request) -> str:
    """The authenticated user's name."""
    return _USER.get()


def vhost_of(request: web.Request, broker: Broker, access: Access, *, write: bool) -> Vhost:
    """The path's vhost, checked: 404 if none, 401 if the user may not use it."""
    name = request.match_info["vhost"]
    vhost = broker.vhosts.get(name)
    if vhost is None:
        raise ApiError(404, T.VHOST_NOT_FOUND if write else T.NOT_FOUND)
    if not access.can_access(user_of(request), name):  # whatever the user's tags
        raise ApiError(401, T.VHOST_NOT_AUTHORISED)
    return vhost


def visible_vhosts(request: web.Request, broker: Broker, access: Access) -> list[Vhost]:
    """The vhosts whose objects the user sees in listings: those it has permissions on."""
    user = user_of(request)
    return [v for name, v in broker.vhosts.items() if access.can_access(user, name)]


async def read_json(request: web.Request, *, definitions: bool = False) -> dict[str, Any]:
    """The request body as a JSON object (an empty body is ``{}``)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ApiError(400, T.DEFINITIONS_NOT_JSON if definitions else T.NOT_JSON) from None
    if not isinstance(data, dict):
        raise ApiError(400, T.DEFINITIONS_NOT_JSON if definitions else T.NOT_JSON)
    return data


@contextlib.contextmanager
def internal_channel(broker: Broker, vhost: str, user: str) -> Iterator[Channel]:
    """A channel on a short-lived internal connection, as the plugin's direct client uses."""
    conn = broker.connect(vhost=vhost, user=user, name=f"management {user}")
    try:
        yield conn.open_channel(1)
    finally:
        conn.close()


def exchange_name(name: str) -> str:
    """``amq.default`` in a path means the default exchange ""."""
    return "" if name == "amq.default" else name


# -- authentication -------------------------------------------------------------------------

_LEVELS = ("management", "monitoring", "administrator")


def level(required: str) -> Callable[[Handler], Handler]:
    """Mark a handler as needing ``required``: management (the default), monitoring,
    administrator, or public (no authentication)."""

    def mark(handler: Handler) -> Handler:
        handler.fakebroker_level = required  # type: ignore[attr-defined]
        return handler

    return mark


def streams(handler: Handler) -> Handler:
    """Mark a handler that awaits the network (an event stream): it is not run under the lock."""
    handler.fakebroker_streams = True  # type: ignore[attr-defined]
    return handler


def _credentials(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _authorize(request: web.Request, handler: Handler) -> None:
    required = getattr(handler, "fakebroker_level", "management")
    if required == "public":
        return
    creds = _credentials(request)
    if creds is None:
        raise ApiError(401, "", "")
    user, password = creds
    with ctx(request).locked() as (broker, access):
        if not broker.authenticate(user, password):
            raise ApiError(401, T.LOGIN_FAILED)
        if not access.is_management(user):
            raise ApiError(401, T.NOT_MANAGEMENT)
        if required == "administrator" and not access.is_admin(user):
            raise ApiError(401, T.NOT_ADMINISTRATOR)
        if required == "monitoring" and not access.is_monitor(user):
            raise ApiError(401, T.NOT_MONITORING)
    _USER.set(user)


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        failed = request.match_info.http_exception
        if isinstance(failed, web.HTTPMethodNotAllowed):
            return web.Response(status=405)
        if failed is not None:  # no such path: RabbitMQ's 404, even before authentication
            raise ApiError(404, T.NOT_FOUND)
        target = request.match_info.handler
        if getattr(target, "fakebroker_streams", False):
            _authorize(request, target)
            return await handler(request)
        await request.read()  # the body is read before the lock is taken
        with ctx(request).node.lock:  # one hand-over of the lock for the whole request
            _authorize(request, target)
            return await handler(request)
    except ApiError as err:
        if err.status == 401 and not err.error:
            return web.Response(status=401, headers={"WWW-Authenticate": T.REALM})
        return error_response(err)


def make_app(*, node: Node, version: str) -> web.Application:
    """The management API, the fakebroker extensions and the dashboard, on ``node``."""
    from . import _control, _health, _read, _write

    app = web.Application(middlewares=[_middleware])
    app[CONTEXT] = Context(node=node, version=version)
    _read.add_routes(app.router)
    _write.add_routes(app.router)
    _control.add_routes(app.router)
    _health.add_routes(app.router)
    return app
