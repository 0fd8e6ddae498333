"""RabbitMQ's health checks: aliveness test and resource alarms."""

from __future__ import annotations

import fakebroker

from .conftest import Api

OK = {"status": "ok"}


def test_aliveness_test(api: Api) -> None:
    r = api.get(f"/api/aliveness-test/{api.v}")
    assert (r.status, r.json) == (200, OK)
    assert api.get(f"/api/queues/{api.v}/aliveness-test").json["name"] == "aliveness-test"
    missing = api.get("/api/aliveness-test/fb-http-no-such-vhost")
    assert (missing.status, missing.json) == (
        404,
        {"error": "Object Not Found", "reason": "Not Found"},
    )


def test_health_checks_without_alarms(api: Api) -> None:
    for check in ("alarms", "local-alarms", "virtual-hosts"):
        r = api.get(f"/api/health/checks/{check}")
        assert (r.status, r.json) == (200, OK), check
    assert api.get("/api/health/checks/alarms", auth=None).status == 401


def test_a_raised_alarm_fails_the_checks(fake_node: fakebroker.Node) -> None:
    api = Api(kind="fake", base=fake_node.serve_http(port=0).url, amqp_port=0)
    fake_node.raise_alarm("disk")
    fake_node.raise_alarm("memory")
    r = api.get("/api/health/checks/alarms")
    assert (r.status, r.json) == (
        503,
        {
            "status": "failed",
            "reason": "There are alarms in effect in the cluster",
            "alarms": [
                {"resource": "disk space", "node": "fakebroker@localhost"},
                {"resource": "memory", "node": "fakebroker@localhost"},
            ],
        },
    )
    assert api.get("/api/health/checks/local-alarms").json["reason"] == (
        "There are alarms in effect on the node"
    )
    fake_node.clear_alarm()
    assert api.get("/api/health/checks/alarms").json == OK
