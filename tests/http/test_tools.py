"""Tools people point at RabbitMQ's management API, pointed at fakebroker's (and RabbitMQ's)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import amqp
import pytest

from fakebroker.testing._management import ManagementAPI

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
    management = ManagementAPI(url=api.base, user="guest", password="guest")
    assert management.check()["management_version"]
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


@pytest.fixture(scope="session")
def rabbitmqadmin(tmp_path_factory: pytest.TempPathFactory, real_available: bool) -> Path:
    """RabbitMQ's own CLI, as its management plugin serves it (/cli/rabbitmqadmin)."""
    if not real_available:
        pytest.skip("rabbitmqadmin comes from RabbitMQ's management plugin, which is unreachable")
    path = tmp_path_factory.mktemp("cli") / "rabbitmqadmin"
    with urllib.request.urlopen("http://127.0.0.1:15672/cli/rabbitmqadmin", timeout=10) as r:
        path.write_bytes(r.read())
    return path


def test_rabbitmqadmin_declares_lists_publishes_and_gets(api: Api, rabbitmqadmin: Path) -> None:
    host, port = api.base.split("//", 1)[1].split(":")

    def run(*args: str) -> str:
        done = subprocess.run(
            [
                sys.executable,
                str(rabbitmqadmin),
                "-H",
                host,
                "-P",
                port,
                "-V",
                api.vhost,
                "-f",
                "tsv",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    assert run("declare", "queue", "name=q1", "durable=false").strip() == "queue declared"
    assert run("declare", "exchange", "name=x1", "type=topic").strip() == "exchange declared"
    run("declare", "binding", "source=x1", "destination=q1", "routing_key=a.*")
    assert run("publish", "exchange=x1", "routing_key=a.b", "payload=hello").strip() == (
        "Message published"
    )
    assert run("list", "bindings", "source", "destination", "routing_key").splitlines() == [
        "source\tdestination\trouting_key",
        "\tq1\tq1",
        "x1\tq1\ta.*",
    ]

    def listed() -> None:
        assert run("list", "queues", "name", "messages").splitlines() == ["name\tmessages", "q1\t1"]

    api.eventually(listed)
    got = run("get", "queue=q1", "ackmode=ack_requeue_false").splitlines()
    assert got[1].split("\t")[:4] == ["a.b", "x1", "0", "hello"]
    assert run("delete", "queue", "name=q1").strip() == "queue deleted"
    assert "x1" in run("list", "exchanges", "name")
