"""Fixtures of the taskpost suite: every test runs on each broker that is up."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from functools import cache
from urllib.parse import urlsplit

import pytest

from taskpost import App
from taskpost.testing import app_context

BROKERS = {
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//",
    "redis": "redis://127.0.0.1:6379/0",
    "memory": "memory://",
    "fakebroker": "fakebroker://",
    "fakebroker-tcp": "",  # `fakebroker serve` on a free port, started once per session
}


@cache
def _tcp_reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=1.0):
            return True
    except OSError:
        return False


@cache
def _fakebroker_problem() -> str | None:
    try:
        from kombu import Connection

        import fakebroker  # noqa: F401 - registers the transport

        with Connection("fakebroker://", connect_timeout=5) as conn:
            conn.connect()
            conn.default_channel.queue_declare("taskpost-probe", auto_delete=True)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def broker_skip_reason(name: str) -> str | None:
    """Why the suite cannot run on broker ``name`` here, or ``None``."""
    url = BROKERS[name]
    if name in ("rabbitmq", "redis") and not _tcp_reachable(url):
        return f"{name} is not reachable at {url}"
    if name == "fakebroker":
        problem = _fakebroker_problem()
        if problem:
            return f"kombu.Connection('fakebroker://') does not work yet ({problem})"
    return None


@pytest.fixture(params=list(BROKERS))
def broker_name(request: pytest.FixtureRequest) -> str:
    """The name of the broker the test runs on."""
    name: str = request.param
    reason = broker_skip_reason(name)
    if reason:
        pytest.skip(reason)
    return name


@pytest.fixture(scope="session")
def served_fakebroker_url() -> Iterator[str]:
    """A fakebroker served over TCP for the session (what `fakebroker serve` runs)."""
    import fakebroker

    with fakebroker.serve(port=0) as server:
        yield server.url


@pytest.fixture
def broker_url(broker_name: str, request: pytest.FixtureRequest) -> str:
    """The kombu URL of the broker the test runs on."""
    if broker_name == "fakebroker-tcp":
        url: str = request.getfixturevalue("served_fakebroker_url")
        return url
    return BROKERS[broker_name]


class VirtualClock:
    """A clock for ETAs: ``clock()`` is now; ``advance(s)`` moves it on."""

    def __init__(self, *, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> VirtualClock:
    """A virtual clock shared by the app and its workers."""
    return VirtualClock()


@pytest.fixture
def app(broker_url: str, clock: VirtualClock) -> Iterator[App]:
    """An app with a unique default queue and ``rpc://`` results, on a virtual clock."""
    with app_context(broker_url=broker_url) as app:
        app.clock = clock
        yield app


def skip_without_redelivery(broker_name: str) -> None:
    """Skip on brokers that drop (instead of requeue) unacked messages on close."""
    if broker_name == "memory":
        pytest.skip(
            "kombu's memory:// transport drops unacked messages on close (do_restore=False)"
        )
