"""How the Redis flavour is reached: the CLI, node.redis, the fixture and --broker."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
import redis as redis_py

from fakebroker import Node

from .conftest import REAL_REDIS, real_redis_problem


def test_import_fakebroker_does_not_import_fakeredis() -> None:
    code = "import sys, fakebroker, fakebroker.testing; print('fakeredis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_serve_redis_port_prints_the_url_and_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakebroker", "serve", "--port", "0", "--redis-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        amqp_url = proc.stdout.readline().strip()
        redis_url = proc.stdout.readline().strip()
        assert amqp_url.startswith("amqp://")
        assert redis_url.startswith("redis://127.0.0.1:") and redis_url.endswith("/0")
        client = redis_py.Redis.from_url(redis_url)
        assert client.set("k", "v") and client.get("k") == b"v"
        client.close()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_a_nodes_redis_is_started_on_demand_and_closed_with_it() -> None:
    node = Node()
    url = node.redis.url
    assert node.redis.url == url  # the same server
    client = redis_py.Redis.from_url(url)
    client.lpush("q", "x")
    assert node.redis.value("q") == [b"x"]
    assert [c.name for c in node.redis.commands("LPUSH")] == ["LPUSH"]
    node.close()
    with pytest.raises(redis_py.ConnectionError):
        redis_py.Redis.from_url(url, retry=None).ping()


PLUGIN_TEST = """
def test_flavour(redis_broker, broker_url):
    assert broker_url == redis_broker.url
    assert redis_broker.kind == {kind!r}
    with redis_broker.connection() as conn:
        q = conn.SimpleQueue("hello")
        q.put({{"hi": 1}})
        m = q.get(timeout=2)
        assert m.payload == {{"hi": 1}}
        m.ack()
        q.close()
    assert redis_broker.queues["hello"].messages == 0
"""


@pytest.mark.parametrize(
    ("option", "kind"),
    [
        (None, "redis-inproc"),
        ("redis-inproc", "redis-inproc"),
        ("redis-tcp", "redis-tcp"),
        (REAL_REDIS, "redis"),
    ],
)
def test_the_broker_option_selects_the_redis(
    pytester: pytest.Pytester, option: str | None, kind: str
) -> None:
    if kind == "redis" and real_redis_problem():
        pytest.skip(str(real_redis_problem()))
    pytester.makepyfile(test_it=PLUGIN_TEST.format(kind=kind))
    args = ["-p", "no:cacheprovider"]
    if option is not None:
        args.append(f"--broker={option}")
    else:  # redis_broker without --broker: in-process; broker_url is then AMQP's
        pytester.makepyfile(
            test_it=PLUGIN_TEST.format(kind=kind).replace(
                "assert broker_url == redis_broker.url",
                "assert broker_url.startswith('fakebroker://')",
            )
        )
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=1)
