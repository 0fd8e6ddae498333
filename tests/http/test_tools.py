"""Tools people point at RabbitMQ's management API, pointed at fakebroker's (and RabbitMQ's)."""

from __future__ import annotations

import asyncio
import uuid

import amqp

from fakebroker.testing._rabbit import Management

from .conftest import Api


def test_flower_broker_view_lists_queues(api: Api) -> None:
    from flower.utils.broker import RabbitMQ

    conn = amqp.Connection(
        host=f"127.0.0.1:{api.amqp_port}", virtual_host=api.vhost, userid="guest", password="guest"
    )
    conn.connect()
    try:
        ch = conn.channel()
        for name in ("celery", "emails"):
            ch.queue_declare(name)
        for _ in range(2):
            ch.basic_publish(amqp.Message("task"), exchange="", routing_key="celery")
    finally:
        conn.close()
    host, port = api.base.split("//", 1)[1].split(":")
    broker = RabbitMQ(
        f"amqp://guest:guest@127.0.0.1:{api.amqp_port}/{api.vhost}",
        f"http://guest:guest@{host}:{port}/api/",
    )

    def shown() -> dict[str, tuple[int, int, int, int]]:
        queues = asyncio.run(broker.queues(["celery", "emails", "absent"]))
        view = {
            q["name"]: tuple(
                q.get(k)
                for k in ("messages", "messages_ready", "messages_unacknowledged", "consumers")
            )
            for q in queues
        }
        assert view == {"celery": (2, 2, 0, 0), "emails": (0, 0, 0, 0)}, view
        return view

    api.eventually(shown)


def test_the_plugins_management_client(api: Api) -> None:
    """fakebroker.testing's own calls (--broker=amqp://...) work against either API."""
    host, port = api.base.split("//", 1)[1].split(":")
    management = Management(host=host, user="guest", password="guest", port=int(port))
    assert management.available()
    vhost = f"fb-http-plugin-{uuid.uuid4().hex[:6]}"
    api.vhosts.append(vhost)
    management.create_vhost(vhost)
    api.ok("PUT", f"/api/queues/{vhost}/made-here")
    assert [q["name"] for q in management.queues(vhost)] == ["made-here"]
    management.delete_vhost(vhost)
    assert api.get(f"/api/vhosts/{vhost}").status == 404


def test_listing_with_a_trailing_slash(api: Api) -> None:
    api.ok("PUT", f"/api/queues/{api.v}/slash")
    assert any(q["name"] == "slash" for q in api.get("/api/queues/").json)
    assert api.get("/api/queues//").status == 404
