"""Fixtures: a fakebroker served on a free port, and the real RabbitMQ when reachable."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest

from fakebroker import Server, serve
from tests._cleanup import delete_prefixed

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


def rabbitmq_reachable() -> bool:
    """Whether a RabbitMQ answers on 127.0.0.1:5672."""
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1.0):
            return True
    except OSError:
        return False


@pytest.fixture
def fake_server() -> Iterator[Server]:
    with serve(port=0) as server:
        yield server


@pytest.fixture(params=["fakebroker", "rabbitmq"])
def broker_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a fakebroker served on TCP, then of the real RabbitMQ."""
    if request.param == "rabbitmq":
        if not rabbitmq_reachable():
            pytest.skip("RabbitMQ is not reachable on 127.0.0.1:5672")
        yield RABBITMQ_URL
        return
    with serve(port=0) as server:
        yield server.url


@pytest.fixture
def qname() -> Iterator[str]:
    """A queue name no other test (or engineer sharing the RabbitMQ) uses."""
    name = f"fb-test-{uuid.uuid4().hex[:12]}"
    yield name
    if rabbitmq_reachable():  # kombu's SimpleQueue also made an exchange of that name
        delete_prefixed(name)
