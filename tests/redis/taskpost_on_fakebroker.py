"""A pytest plugin for a taskpost-suite run: its "redis" broker is fakebroker's Redis front.

``python -m pytest tests/taskpost -k redis -p tests.redis.taskpost_on_fakebroker``
runs every taskpost scenario written for the real Redis against a node's
loopback Redis server instead (tests/redis/test_taskpost.py does).
"""

from __future__ import annotations

import pytest

from fakebroker import Node


def pytest_configure(config: pytest.Config) -> None:
    node = Node()
    config.stash[_NODE] = node
    from tests.taskpost import conftest

    conftest.BROKERS["redis"] = node.redis.url


def pytest_unconfigure(config: pytest.Config) -> None:
    node = config.stash.get(_NODE, None)
    if node is not None:
        node.close()


_NODE = pytest.StashKey[Node]()


def pytest_report_header(config: pytest.Config) -> str:
    from tests.taskpost import conftest

    return f"taskpost's redis broker: {conftest.BROKERS['redis']} (fakebroker's Redis front)"
