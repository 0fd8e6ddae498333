"""pytest plugin: the ``broker`` fixture and its friends (installed with fakebroker).

Fixtures
    ``broker``         a fresh in-process broker per test, on a virtual clock
    ``broker_server``  a fresh vhost per test on a TCP fakebroker (one per xdist worker)
    ``broker_backend`` the backend ``--broker`` selects (one of the two, or a real RabbitMQ)
    ``broker_url``     ``broker_backend.url``
    ``broker_amqp_url`` an ``amqp://`` URL of the same broker, for pika and aio-pika
    ``fakebroker_celery_config``  a ``celery_config`` for ``celery.contrib.pytest``

taskpost's own plugin (:mod:`taskpost.pytest_plugin`) adds ``taskpost_app``
and ``taskpost_worker`` on ``broker_url``.

Option ``--broker=inproc|tcp|amqp://USER:PASS@HOST:PORT/VHOST`` and marker
``@pytest.mark.broker(definitions=, vhost=, users=, clock=, faults=)``: see
docs/pytest.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .._alias import register_kombu_alias
from .._urls import parse_amqp_url
from ._handle import BrokerHandle
from ._rabbit import Management, RabbitMQHandle
from ._redis import RedisBrokerHandle, RedisPool, is_redis_choice, make_redis_backend
from ._setup import BrokerSpec, ServerPool, make_inproc, make_served, parse_spec

__all__ = [
    "broker",
    "broker_amqp_url",
    "broker_backend",
    "broker_server",
    "broker_url",
    "fakebroker_celery_config",
]

BACKENDS = ("inproc", "tcp")
MARKER = (
    "broker(definitions=None, vhost=None, users=None, clock=None, faults=None): "
    "configure the fakebroker of the broker / broker_server fixtures for this test"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--broker``: which broker ``broker_url`` / ``broker_backend`` point at."""
    group = parser.getgroup("fakebroker")
    group.addoption(
        "--broker",
        dest="fakebroker_backend",
        default="inproc",
        metavar="inproc|tcp|amqp://...",
        help="backend of broker_url/broker_backend: in-process fakebroker (default), "
        "fakebroker over TCP, or a real RabbitMQ's amqp:// URL (isolated per test)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker and the ``fakebroker://`` kombu transport alias."""
    register_kombu_alias()
    config.addinivalue_line("markers", MARKER)
    backend = config.getoption("fakebroker_backend", "inproc")
    if is_redis_choice(str(backend)):  # the Redis flavour
        return
    if backend not in BACKENDS and not str(backend).startswith(("amqp://", "amqps://")):
        raise pytest.UsageError(
            "--broker must be inproc, tcp or an amqp:// URL "
            f"(or redis-inproc, redis-tcp, redis://HOST:PORT/DB), not {backend!r}"
        )


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


def _make(factory: Callable[[], BrokerHandle]) -> BrokerHandle:
    try:
        return factory()
    except (ValueError, OSError) as exc:
        pytest.fail(f"@pytest.mark.broker: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def _fakebroker_servers() -> Iterator[ServerPool]:
    """The shared TCP server of this process (xdist worker), started on first use."""
    pool = ServerPool()
    yield pool
    pool.close()


@pytest.fixture
def broker(request: pytest.FixtureRequest) -> Iterator[BrokerHandle]:
    """A fresh in-process fakebroker for this test (``broker.url`` is ``fakebroker://...``)."""
    spec = _spec(request)
    handle = _make(lambda: make_inproc(spec))
    yield handle
    handle.close()


@pytest.fixture
def broker_server(
    request: pytest.FixtureRequest, _fakebroker_servers: ServerPool
) -> Iterator[BrokerHandle]:
    """A fresh vhost on this worker's TCP fakebroker (``broker_server.url`` is ``amqp://...``)."""
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


@pytest.fixture(scope="session")
def _fakebroker_management(request: pytest.FixtureRequest) -> Management | None:
    """The real RabbitMQ's management API when ``--broker`` is an URL and it answers."""
    url = str(request.config.getoption("fakebroker_backend"))
    if url in BACKENDS:
        return None
    parts = parse_amqp_url(url)
    api = Management(host=parts["host"], user=parts["user"], password=parts["password"])
    return api if api.available() else None


@pytest.fixture
def broker_backend(
    request: pytest.FixtureRequest, _fakebroker_management: Management | None
) -> Iterator[BrokerHandle | RabbitMQHandle]:
    """The broker ``--broker`` selects, isolated for this test.

    ``.url``, ``.kind`` (``inproc``, ``tcp`` or ``amqp``), ``.unique(name)``
    for private queue and exchange names, ``.connection()`` and ``.wait_for()``
    work on all three.
    """
    choice = str(request.config.getoption("fakebroker_backend"))
    if choice == "inproc":
        yield request.getfixturevalue("broker")
        return
    if choice == "tcp":
        yield request.getfixturevalue("broker_server")
        return
    if is_redis_choice(choice):  # the Redis flavour (docs/redis.md)
        yield request.getfixturevalue("redis_broker")
        return
    handle = RabbitMQHandle(
        url=choice, management=_fakebroker_management, test_id=request.node.name
    )
    yield handle
    handle.close()


@pytest.fixture
def broker_url(broker_backend: BrokerHandle | RabbitMQHandle) -> str:
    """The URL of the broker ``--broker`` selects (``fakebroker://``, or ``amqp://``)."""
    return broker_backend.url


@pytest.fixture
def broker_amqp_url(broker_backend: BrokerHandle | RabbitMQHandle) -> str:
    """An ``amqp://`` URL of the same broker, for socket clients (pika, aio-pika).

    With ``--broker=inproc`` the test's in-process broker is served on a TCP
    port (port 0) for the test, so ``broker_backend`` still inspects it.
    """
    return broker_backend.amqp_url


@pytest.fixture
def fakebroker_celery_config(broker_backend: BrokerHandle | RabbitMQHandle) -> dict[str, Any]:
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
