"""``broker_server``, ``--broker``, ``broker_url`` and ``@pytest.mark.broker``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakebroker import SystemClock, VirtualClock
from fakebroker.testing._handle import BrokerHandle


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=120)


def test_broker_server_gives_each_test_a_fresh_vhost(broker_server: BrokerHandle) -> None:
    assert broker_server.kind == "tcp"
    assert broker_server.url.startswith("amqp://guest:guest@127.0.0.1:")
    assert broker_server.vhost != "/"
    assert isinstance(broker_server.clock, SystemClock)
    with broker_server.connection() as conn:
        conn.SimpleQueue("inbox").put({"n": 1})
    broker_server.wait_for(lambda: broker_server.queues["inbox"].messages_ready == 1, timeout=5)
    broker_server.assert_published(routing_key="inbox", body={"n": 1})


def test_vhosts_are_removed_and_the_server_is_shared(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        SEEN = []

        def test_one(broker_server):
            SEEN.append((broker_server.broker, broker_server.vhost))
            with broker_server.connection() as conn:
                conn.SimpleQueue("q").put("x")

        def test_two(broker_server):
            broker, vhost = SEEN[0]
            assert broker is broker_server.broker
            assert vhost != broker_server.vhost
            assert not broker.has_vhost(vhost)
            assert broker_server.queues == {}
        """
    )
    _run(pytester).assert_outcomes(passed=2)


def test_wait_for_returns_the_value_or_times_out(broker_server: BrokerHandle) -> None:
    assert broker_server.wait_for(lambda: [1], timeout=1) == [1]
    with pytest.raises(TimeoutError, match="last value 0"):
        broker_server.wait_for(lambda: 0, timeout=0.05)


def test_the_broker_option_switches_broker_url(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys

        def test_url(broker_url, broker_backend):
            print("URL", broker_backend.kind, broker_url)
            with broker_backend.connection() as conn:
                conn.SimpleQueue(broker_backend.unique("q")).put("x")
        """
    )
    inproc = _run(pytester, "-s")
    inproc.assert_outcomes(passed=1)
    inproc.stdout.fnmatch_lines(["*URL inproc fakebroker://pytest-*//"])
    tcp = _run(pytester, "-s", "--broker=tcp")
    tcp.assert_outcomes(passed=1)
    tcp.stdout.fnmatch_lines(["*URL tcp amqp://guest:guest@127.0.0.1:*/%2F"])


def test_a_bad_broker_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = _run(pytester, "--broker=redis://localhost")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--broker must be inproc, tcp or an amqp:// URL*"])


@pytest.mark.broker(vhost="shop", users={"app": "pw"}, clock="system")
def test_marker_vhost_users_and_clock(broker: BrokerHandle) -> None:
    assert broker.url == f"fakebroker://app:pw@{broker.name}/shop"
    assert isinstance(broker.clock, SystemClock)
    with broker.connection() as conn:
        conn.SimpleQueue("q").put("x")
    assert list(broker.queues) == ["q"]
    assert broker.broker.list_queues("/") == []
    assert not broker.broker.authenticate("guest", "guest")


@pytest.mark.broker(definitions="fixtures/shop.json")
def test_marker_definitions_in_process(broker: BrokerHandle) -> None:
    assert broker.queues["orders"].durable
    assert ("shop", "orders", "order.*") in [
        (b.source, b.destination, b.routing_key) for b in broker.bindings
    ]


@pytest.mark.broker(definitions="fixtures/shop.json")
def test_marker_definitions_on_the_shared_server(broker_server: BrokerHandle) -> None:
    assert broker_server.vhost != "/"
    assert broker_server.exchanges["shop"]["type"] == "topic"
    with broker_server.connection() as conn:
        conn.Producer().publish("o", exchange="shop", routing_key="order.new")
    broker_server.wait_for(lambda: broker_server.queues["orders"].messages_ready == 1, timeout=5)


@pytest.mark.broker(clock="virtual")
def test_marker_virtual_clock_gives_broker_server_its_own_server(
    broker_server: BrokerHandle,
) -> None:
    assert isinstance(broker_server.clock, VirtualClock)
    assert broker_server.vhost == "/"
    assert broker_server.url.endswith("/%2F")


def test_marker_errors_are_usage_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.broker(colour="red")
        def test_bad(broker):
            pass
        """
    )
    result = _run(pytester)
    result.stdout.fnmatch_lines(
        ["*@pytest.mark.broker: unknown @pytest.mark.broker option(s)*colour*"]
    )
    assert result.ret != 0


def test_faults_marker_loads_a_plan(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        PLAN = [{"action": "drop", "point": "message_routed", "nth": 2}]

        @pytest.mark.broker(faults=PLAN)
        def test_second_publish_drops_the_connection(broker):
            [rule] = broker.faults.rules
            assert (rule.action, rule.point, rule.nth) == ("drop", "message_routed", 2)
            with broker.connection() as conn:
                queue = conn.SimpleQueue("orders")
                queue.put("one")
                with pytest.raises(conn.recoverable_connection_errors):
                    queue.put("two")
                    queue.put("three")
            assert rule.fired == 1

        @pytest.mark.broker(faults={"action": "explode", "point": "nowhere"})
        def test_bad_plan(broker):
            pass
        """
    )
    result = _run(pytester)
    result.stdout.fnmatch_lines(["*unknown fault action 'explode'*"])
    result.assert_outcomes(passed=1, errors=1)


def test_parallel_workers_and_reverse_order(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_many="""
        import pytest

        @pytest.mark.parametrize("n", range(8))
        def test_server(broker_server, n):
            with broker_server.connection() as conn:
                conn.SimpleQueue("q").put(n)
            broker_server.wait_for(lambda: broker_server.queues["q"].messages_ready == 1, timeout=5)
            assert broker_server.published(routing_key="q", body=n)

        @pytest.mark.parametrize("n", range(8))
        def test_inproc(broker, n):
            with broker.connection() as conn:
                conn.SimpleQueue("q").put(n)
            assert [m.body for m in broker.messages("q")] == [str(n).encode()]
        """
    )
    _run(pytester, "-n", "2").assert_outcomes(passed=16)
    ids = [f"test_many.py::test_{kind}[{n}]" for kind in ("inproc", "server") for n in range(8)]
    _run(pytester, *reversed(ids)).assert_outcomes(passed=16)


def test_fixture_definitions_file_is_valid() -> None:
    data = json.loads((Path(__file__).parent / "fixtures" / "shop.json").read_text())
    assert {q["name"] for q in data["queues"]} == {"orders"}
