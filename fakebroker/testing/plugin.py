"""pytest plugin: the ``broker`` fixture and its friends (installed with fakebroker).

Fixtures
    ``broker``         a fresh broker per test on the backend ``--broker`` selects
                       (in-process by default, on a virtual clock)
    ``broker_server``  a fresh vhost per test on a TCP fakebroker (one per xdist worker);
                       with ``--broker=amqp://...``, ``broker``
    ``broker_backend`` ``broker`` (its old name); with ``--broker=redis-...``, ``redis_broker``
    ``redis_broker``   this test's Redis flavour (docs/redis.md)
    ``broker_url``     ``broker.url``
    ``broker_amqp_url`` an ``amqp://`` URL of the same broker, for pika and aio-pika
    ``fakebroker_celery_config``  a ``celery_config`` for ``celery.contrib.pytest``

taskpost's own plugin (:mod:`taskpost.pytest_plugin`) adds ``taskpost_app``
and ``taskpost_worker`` on ``broker_url``.

Options ``--broker=inproc|tcp|amqp://USER:PASS@HOST:PORT/`` (or a Redis choice:
``redis-inproc|redis-tcp|redis://HOST:PORT/DB``) and
``--broker-management=http://...``; markers
``@pytest.mark.broker(definitions=, vhost=, users=, clock=, faults=)``,
``@pytest.mark.fake_only(reason=)`` and ``@pytest.mark.real_only(reason=)``:
see docs/pytest.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .._alias import register_kombu_alias
from ._backends import Backend, EmulatorOnlySpec, parse_backend, start_session
from ._handle import BrokerHandle
from ._management import ManagementAPI, ManagementError
from ._rabbit import RabbitMQHandle
from ._redis import RedisBrokerHandle, RedisPool, make_redis_backend
from ._setup import BrokerSpec, ServerPool, make_served, parse_spec

__all__ = [
    "broker",
    "broker_amqp_url",
    "broker_backend",
    "broker_server",
    "broker_url",
    "fakebroker_celery_config",
    "redis_broker",
]

#: What the ``broker`` fixture hands out.
AnyBroker = BrokerHandle | RabbitMQHandle

MARKERS = (
    "broker(definitions=None, vhost=None, users=None, clock=None, faults=None): "
    "configure the fakebroker of the broker / broker_server fixtures for this test",
    "fake_only(reason=None): the test needs fakebroker (virtual time, faults, the journal); "
    "skipped with --broker=amqp://...",
    "real_only(reason=None): the test needs a real RabbitMQ; skipped unless --broker=amqp://...",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--broker`` (which broker every fixture gets) and ``--broker-management``."""
    group = parser.getgroup("fakebroker")
    group.addoption(
        "--broker",
        dest="fakebroker_backend",
        default="inproc",
        metavar="inproc|tcp|amqp://...|redis-inproc|redis-tcp|redis://...",
        help="the broker every fixture gets: in-process fakebroker (default), "
        "fakebroker over TCP, or a real RabbitMQ's amqp:// URL (a fresh vhost per test); "
        "the redis choices move redis_broker and broker_url to the Redis flavour",
    )
    group.addoption(
        "--broker-management",
        dest="fakebroker_management",
        default=None,
        metavar="http://USER:PASS@HOST:PORT",
        help="the management API of --broker=amqp://... (default: its host, port 15672, "
        "its credentials)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers and the ``fakebroker://`` kombu transport alias; check ``--broker``."""
    register_kombu_alias()
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    try:
        _backend_of(config)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def _backend_of(config: pytest.Config) -> Backend:
    choice = str(config.getoption("fakebroker_backend", "inproc"))
    management = config.getoption("fakebroker_management", None)
    return parse_backend(choice, None if management is None else str(management))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``fake_only`` tests on a real RabbitMQ and ``real_only`` ones on fakebroker."""
    backend = _backend_of(config)
    for item in items:
        unwanted = "fake_only" if backend.real else "real_only"
        marker = item.get_closest_marker(unwanted)
        if marker is None:
            continue
        reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else None)
        where = (
            f"a real RabbitMQ ({backend.url})" if backend.real else f"fakebroker ({backend.kind})"
        )
        default = "needs fakebroker" if backend.real else "needs a real RabbitMQ"
        item.add_marker(pytest.mark.skip(reason=f"{unwanted}: {reason or default}; on {where}"))


def _spec(request: pytest.FixtureRequest) -> BrokerSpec:
    marker = request.node.get_closest_marker("broker")
    if marker is None:
        return BrokerSpec()
    if marker.args:
        pytest.fail("@pytest.mark.broker takes keyword arguments only", pytrace=False)
    base = Path(str(request.node.path)).parent
    try:
        return parse_spec(marker.kwargs, base=base)
    except (ValueError, OSError) as exc:
        pytest.fail(f"@pytest.mark.broker: {exc}", pytrace=False)


def _make(factory: Callable[[], Any]) -> Any:
    try:
        return factory()
    except EmulatorOnlySpec as exc:
        pytest.skip(f"{exc}: mark the test @pytest.mark.fake_only")
    except ManagementError as exc:
        pytest.fail(str(exc), pytrace=False)
    except (ValueError, OSError) as exc:
        pytest.fail(f"@pytest.mark.broker: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def _fakebroker_servers() -> Iterator[ServerPool]:
    """The shared TCP server of this process (xdist worker), started on first use."""
    pool = ServerPool()
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def _fakebroker_session(request: pytest.FixtureRequest) -> ManagementAPI | ManagementError | None:
    """The backend's session state: on RabbitMQ its management API (stale vhosts swept)."""
    return start_session(_backend_of(request.config))


@pytest.fixture
def broker(
    request: pytest.FixtureRequest,
    _fakebroker_session: ManagementAPI | ManagementError | None,
) -> Iterator[AnyBroker]:
    """A fresh broker for this test on the backend ``--broker`` selects.

    In-process by default (``broker.url`` is ``fakebroker://...``), over TCP
    with ``--broker=tcp``, a fresh vhost of a real RabbitMQ with
    ``--broker=amqp://...``; the same inspection API on all three.
    """
    backend = _backend_of(request.config)
    if isinstance(_fakebroker_session, ManagementError):
        pytest.fail(str(_fakebroker_session), pytrace=False)
    spec = _spec(request)
    handle = _make(lambda: backend.open(spec, api=_fakebroker_session, test_id=request.node.name))
    yield handle
    handle.close()


@pytest.fixture
def broker_server(
    request: pytest.FixtureRequest, _fakebroker_servers: ServerPool
) -> Iterator[AnyBroker]:
    """A fresh vhost on this worker's TCP fakebroker (``broker_server.url`` is ``amqp://...``).

    With ``--broker=amqp://...`` it is ``broker``: the real RabbitMQ.
    """
    if _backend_of(request.config).real:
        yield request.getfixturevalue("broker")
        return
    spec = _spec(request)
    handle = _make(lambda: make_served(spec, _fakebroker_servers, label=request.node.name))
    yield handle
    handle.close()


@pytest.fixture(scope="session")
def _fakebroker_redis_pool() -> Iterator[RedisPool]:
    """The shared Redis front of this process (``--broker=redis-tcp``), started on first use."""
    pool = RedisPool()
    yield pool
    pool.close()


@pytest.fixture
def redis_broker(
    request: pytest.FixtureRequest, _fakebroker_redis_pool: RedisPool
) -> Iterator[RedisBrokerHandle]:
    """This test's Redis (docs/redis.md): a fresh in-process fakebroker on a virtual clock,
    or what ``--broker=redis-tcp|redis://HOST:PORT/DB`` selects; ``.url`` is ``redis://``."""
    choice = str(request.config.getoption("fakebroker_backend"))
    handle = make_redis_backend(choice, _fakebroker_redis_pool, test_id=request.node.name)
    yield handle
    handle.close()


@pytest.fixture
def broker_backend(request: pytest.FixtureRequest) -> AnyBroker | RedisBrokerHandle:
    """The broker ``--broker`` selects: ``broker`` itself (kept for suites that use the name),
    or ``redis_broker`` with a Redis choice.

    ``.url``, ``.kind`` (``inproc``, ``tcp`` or ``amqp``), ``.unique(name)``,
    ``.connection()``, ``.wait_for()`` and the inspection API work on all three.
    """
    if _backend_of(request.config).kind == "redis":
        handle: AnyBroker | RedisBrokerHandle = request.getfixturevalue("redis_broker")
    else:
        handle = request.getfixturevalue("broker")
    return handle


@pytest.fixture
def broker_url(broker_backend: AnyBroker | RedisBrokerHandle) -> str:
    """``broker.url``: the URL of the broker ``--broker`` selects (``fakebroker://``, ``amqp://``)."""
    return broker_backend.url


@pytest.fixture
def broker_amqp_url(broker_backend: AnyBroker) -> str:
    """An ``amqp://`` URL of the same broker, for socket clients (pika, aio-pika).

    With ``--broker=inproc`` the test's in-process broker is served on a TCP
    port (port 0) for the test, so ``broker_backend`` still inspects it.
    """
    return broker_backend.amqp_url


@pytest.fixture
def fakebroker_celery_config(broker_backend: AnyBroker | RedisBrokerHandle) -> dict[str, Any]:
    """Celery settings for ``celery.contrib.pytest``'s ``celery_config``.

    The broker is ``broker_url``, results travel back over it (``rpc://``),
    the default queue is private to the test, and heartbeats are off (on a
    virtual clock, ``advance()`` past two intervals would end the connection).
    """
    return {
        "broker_url": broker_backend.url,
        "result_backend": "rpc://",
        "task_default_queue": broker_backend.unique("celery"),
        "broker_connection_retry_on_startup": False,
        "broker_heartbeat": 0,
    }
