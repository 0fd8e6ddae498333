"""RabbitMQ's health checks: aliveness test and resource alarms (RabbitMQ 3.10.8's answers).

- ``GET /api/aliveness-test/{vhost}``: declares the queue ``aliveness-test``,
  publishes ``test_message`` to it and gets it back: ``{"status": "ok"}``;
- ``GET /api/health/checks/alarms`` and ``.../local-alarms``: ``{"status":
  "ok"}``, or 503 with the alarms in force (``node.raise_alarm()``, a fault
  plan's ``raise_alarm``);
- ``GET /api/health/checks/virtual-hosts``: every vhost is up in fakebroker.
"""

from __future__ import annotations

from aiohttp import web

from ...core import AMQPError, stats
from ._app import ctx, internal_channel, json_response, user_of, vhost_of

__all__ = ["add_routes"]

_QUEUE = "aliveness-test"
#: RabbitMQ's names for the resources ``broker.alarms`` holds.
_RESOURCES = {"memory": "memory", "disk": "disk space"}
_ALARM_TEXT = {
    "alarms": "There are alarms in effect in the cluster",
    "local-alarms": "There are alarms in effect on the node",
}


def _failed(reason: str, **more: object) -> web.Response:
    return json_response({"status": "failed", "reason": reason, **more}, status=503)


async def aliveness(request: web.Request) -> web.Response:
    """GET /api/aliveness-test/{vhost}."""
    with ctx(request).locked() as (broker, access):
        vh = vhost_of(request, broker, access, write=False)
        with internal_channel(broker, vh.name, user_of(request)) as ch:
            try:
                ch.queue_declare(_QUEUE)
                ch.basic_publish("", _QUEUE, b"test_message", {})
                got = ch.basic_get(_QUEUE, no_ack=True)
            except AMQPError as error:
                return _failed(error.reply_text)
    if got is None:
        return _failed("aliveness-test queue is empty")
    return json_response({"status": "ok"})


async def alarms(request: web.Request) -> web.Response:
    """GET /api/health/checks/alarms and /local-alarms."""
    with ctx(request).locked() as (broker, _):
        raised = sorted(broker.alarms)
    if not raised:
        return json_response({"status": "ok"})
    found = [{"resource": _RESOURCES.get(r, r), "node": stats.NODE} for r in raised]
    return _failed(_ALARM_TEXT[request.match_info["which"]], alarms=found)


async def virtual_hosts(request: web.Request) -> web.Response:
    """GET /api/health/checks/virtual-hosts."""
    return json_response({"status": "ok"})


def add_routes(router: web.UrlDispatcher) -> None:
    """The health-check endpoints."""
    router.add_get("/api/aliveness-test/{vhost}", aliveness)
    router.add_get("/api/health/checks/{which:alarms|local-alarms}", alarms)
    router.add_get("/api/health/checks/virtual-hosts", virtual_hosts)
