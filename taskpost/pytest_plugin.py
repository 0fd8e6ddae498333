"""pytest plugin of taskpost (installed with it): ``taskpost_app`` and ``taskpost_worker``.

Both run on the ``broker_url`` fixture, which fakebroker's plugin provides:
the URL of the test's ``broker``, so ``--broker=inproc|tcp|amqp://...`` moves
them with every other fixture and ``broker`` inspects what they did.
taskpost itself knows only kombu URLs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._app import App
from ._worker import Worker
from .testing import app_context, worker_context

__all__ = ["taskpost_app", "taskpost_worker"]


@pytest.fixture
def taskpost_app(broker_url: str) -> Iterator[App]:
    """A :class:`taskpost.App` on the active backend, closed (queues deleted) after the test."""
    with app_context(broker_url=broker_url) as app:
        yield app


@pytest.fixture
def taskpost_worker(taskpost_app: App) -> Iterator[Worker]:
    """A taskpost worker running ``taskpost_app``'s queues in a thread during the test."""
    with worker_context(taskpost_app) as worker:
        yield worker
