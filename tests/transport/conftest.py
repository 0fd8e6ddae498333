"""Fixtures: a clean in-process broker registry, and the real RabbitMQ when reachable."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest

import fakebroker
from tests._cleanup import delete_prefixed

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    fakebroker.reset_nodes()
    yield
    fakebroker.reset_nodes()


def rabbitmq_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1.0):
            return True
    except OSError:
        return False


@pytest.fixture(params=["fakebroker", "rabbitmq"])
def url(request: pytest.FixtureRequest) -> str:
    """``fakebroker://`` (in-process), then the real RabbitMQ's amqp:// URL."""
    if request.param == "rabbitmq":
        if not rabbitmq_reachable():
            pytest.skip("RabbitMQ is not reachable on 127.0.0.1:5672")
        return RABBITMQ_URL
    return "fakebroker://"


@pytest.fixture
def qname() -> Iterator[str]:
    """A queue name no other test (or engineer sharing the RabbitMQ) uses."""
    name = f"fb-test-{uuid.uuid4().hex[:12]}"
    yield name
    if rabbitmq_reachable():  # kombu's SimpleQueue also made an exchange of that name
        delete_prefixed(name)
