"""``--broker=amqp://...``: every fixture on a real RabbitMQ, a fresh vhost per test, inspected.

Needs RabbitMQ on 127.0.0.1:5672 with its management plugin on 15672 (guest/guest);
skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from fakebroker.testing._management import ManagementAPI, ManagementError, management_url_for
from fakebroker.testing._rabbit import VHOST_PREFIX, _host_tag, sweep

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
MANAGEMENT = "http://guest:guest@127.0.0.1:15672"


def _api() -> ManagementAPI:
    api = ManagementAPI(url=MANAGEMENT)
    try:
        api.check()
    except ManagementError as error:
        pytest.skip(f"RabbitMQ's management API is not reachable: {error}")
    return api


@pytest.fixture
def api() -> ManagementAPI:
    return _api()


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", *args)


def test_the_management_url_comes_from_the_amqp_url() -> None:
    assert management_url_for("amqp://app:secret@rabbit.local:5673/shop") == (
        "http://app:secret@rabbit.local:15672"
    )
    assert management_url_for("amqp://127.0.0.1//") == "http://127.0.0.1:15672"


def test_the_client_creates_grants_lists_and_deletes_a_vhost(api: ManagementAPI) -> None:
    name = f"fakebroker-client-test-{os.getpid()}"
    api.create_vhost(name, tracing=True)
    try:
        api.grant(name, "guest")
        (vhost,) = [v for v in api.vhosts() if v["name"] == name]
        assert vhost["tracing"] is True
        api.declare_queue(name, "q", durable=False)
        api.declare_exchange(name, "x", type="fanout", durable=False)
        api.bind(name, "x", "q")
        assert [q["name"] for q in api.queues(name)] == ["q"]
        assert {"source": "x", "destination": "q"}.items() <= api.bindings(name)[-1].items()
    finally:
        api.delete_vhost(name)
    assert name not in {v["name"] for v in api.vhosts()}
    api.delete_vhost(name)  # twice is no error


def test_the_sweep_deletes_vhosts_of_dead_processes_only(api: ManagementAPI) -> None:
    dead = subprocess.run(["true"], check=True)  # a pid that has exited
    assert dead.returncode == 0
    stale = f"{VHOST_PREFIX}{_host_tag()}-999999999-stale"
    live = f"{VHOST_PREFIX}{_host_tag()}-{os.getpid()}-live"
    for name in (stale, live):
        api.create_vhost(name)
    try:
        assert stale in sweep(api)
        names = {v["name"] for v in api.vhosts()}
        assert stale not in names
        assert live in names
    finally:
        api.delete_vhost(stale)
        api.delete_vhost(live)


def test_every_fixture_gets_a_fresh_vhost_deleted_after_the_test(
    pytester: pytest.Pytester, api: ManagementAPI
) -> None:
    pytester.makepyfile(
        """
        import pytest

        SEEN = []

        def test_one(broker, broker_url, broker_backend, broker_server, broker_amqp_url):
            assert broker.kind == "amqp"
            assert broker is broker_backend is broker_server
            assert broker_url == broker.url == broker_amqp_url
            assert broker.vhost.startswith("fakebroker-test-")
            SEEN.append(broker.vhost)
            with broker.connection() as conn:
                conn.SimpleQueue("jobs").put({"n": 1})
            assert broker.queues["jobs"].messages_ready == 1

        def test_two(broker, taskpost_app, fakebroker_celery_config):
            assert broker.vhost != SEEN[0]
            assert taskpost_app.conf.broker_url == broker.url
            assert fakebroker_celery_config["broker_url"] == broker.url
            assert broker.queues == {}
            print("VHOSTS", SEEN[0], broker.vhost)
        """
    )
    result = _run(pytester, "-s", f"--broker={RABBITMQ_URL}")
    result.assert_outcomes(passed=2)
    first, second = re.search(r"VHOSTS (\S+) (\S+)", result.stdout.str()).groups()  # type: ignore[union-attr]
    assert not {first, second} & {v["name"] for v in api.vhosts()}


def test_inspection_reads_the_real_broker(pytester: pytest.Pytester, api: ManagementAPI) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_inspect(broker):
            with broker.connection() as conn:
                channel = conn.default_channel
                channel.exchange_declare("events", "topic")
                channel.queue_declare("audit")
                channel.queue_bind("audit", "events", "user.*")
                conn.Producer().publish({"user": "ada"}, exchange="events", routing_key="user.new")
            assert broker.exchanges["events"]["type"] == "topic"
            assert any(b.source == "events" and b.routing_key == "user.*" for b in broker.bindings)
            assert broker.queues["audit"].messages_ready == 1
            (message,) = broker.messages("audit")
            assert message.body == b'{"user": "ada"}'
            assert message.properties["content_type"] == "application/json"
            broker.assert_published(exchange="events", routing_key="user.new", body={"user": "ada"})
            broker.assert_not_published(routing_key="user.gone")
            with pytest.raises(KeyError, match="did you mean 'audit'"):
                broker.messages("audi")
            with broker.connection() as conn:
                again = conn.default_channel.basic_get("audit")
                assert again.delivery_info["redelivered"]  # the management get requeued it
        """
    )
    _run(pytester, f"--broker={RABBITMQ_URL}").assert_outcomes(passed=1)


FAILING = """
def test_missing(broker):
    with broker.connection() as conn:
        conn.SimpleQueue("orders").put({"id": 1, "total": 10})
    broker.assert_published(routing_key="orders", body={"id": 1, "total": 12})
"""


def _failure(result: pytest.RunResult) -> list[str]:
    lines = [line for line in result.stdout.lines if line.startswith("E ")]
    return [re.sub(r"vhost '[^']*'", "vhost V", line) for line in lines]


def test_failure_texts_are_the_same_on_fakebroker_and_rabbitmq(
    pytester: pytest.Pytester, api: ManagementAPI
) -> None:
    pytester.makepyfile(FAILING)
    fake = _failure(_run(pytester))
    real = _failure(_run(pytester, f"--broker={RABBITMQ_URL}"))
    assert any("Nearest:" in line for line in fake)
    assert fake == real


def test_emulator_only_parts_say_how_to_mark_the_test(
    pytester: pytest.Pytester, api: ManagementAPI
) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_clock(broker):
            broker.clock.advance(60)

        def test_faults(broker):
            broker.faults.drop_connection(on="basic.publish")

        @pytest.mark.fake_only(reason="moves virtual time")
        def test_marked(broker):
            broker.clock.advance(60)

        @pytest.mark.broker(faults=[{"action": "drop", "point": "message_routed"}])
        def test_fault_plan(broker):
            pass

        @pytest.mark.real_only
        def test_real(broker):
            assert broker.kind == "amqp"
        """
    )
    real = _run(pytester, "-rs", f"--broker={RABBITMQ_URL}")
    real.assert_outcomes(failed=2, skipped=2, passed=1)
    real.stdout.fnmatch_lines(
        [
            "*broker.clock.advance(60) needs fakebroker's virtual clock; this test runs on a real "
            "RabbitMQ*mark it @pytest.mark.fake_only(reason=...)*",
            "*broker.faults (fault injection) is fakebroker's alone*",
            "*fake_only: moves virtual time; on a real RabbitMQ (amqp://*",
            "*@pytest.mark.broker(faults=...) needs fakebroker*mark the test @pytest.mark.fake_only*",
        ]
    )
    fake = _run(pytester, "-rs")
    fake.assert_outcomes(passed=4, skipped=1)
    fake.stdout.fnmatch_lines(["*real_only: needs a real RabbitMQ; on fakebroker (inproc)*"])


def test_a_missing_management_plugin_says_what_to_enable(pytester: pytest.Pytester) -> None:
    _api()
    pytester.makepyfile("def test_it(broker):\n    pass\n")
    result = _run(pytester, f"--broker={RABBITMQ_URL}", "--broker-management=http://127.0.0.1:9")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*management API does not answer at http://127.0.0.1:9*rabbitmq-plugins enable "
         "rabbitmq_management*--broker-management=*"]
    )  # fmt: skip


def test_definitions_are_declared_in_the_tests_vhost(
    pytester: pytest.Pytester, api: ManagementAPI
) -> None:
    pytester.makepyfile(
        """
        import pytest

        DEFS = {
            "exchanges": [{"name": "shop", "vhost": "/", "type": "direct", "durable": True}],
            "queues": [{"name": "orders", "vhost": "/", "durable": True}],
            "bindings": [{"source": "shop", "vhost": "/", "destination": "orders",
                          "destination_type": "queue", "routing_key": "new"}],
        }

        @pytest.mark.broker(definitions=DEFS)
        def test_topology(broker):
            with broker.connection() as conn:
                conn.Producer().publish("x", exchange="shop", routing_key="new")
            assert broker.queues["orders"].messages_ready == 1
        """
    )
    _run(pytester, f"--broker={RABBITMQ_URL}").assert_outcomes(passed=1)
    _run(pytester).assert_outcomes(passed=1)
