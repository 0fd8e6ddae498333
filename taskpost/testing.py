"""Helpers for testing taskpost apps (the ``taskpost_app``/``taskpost_worker`` fixtures).

They know kombu only: any broker URL kombu can open works, e.g.
``amqp://``, ``redis://``, ``memory://``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ._app import App
from ._worker import Worker

__all__ = ["app_context", "make_app", "settings_for", "unique_name", "worker_context"]

logger = logging.getLogger(__name__)


def unique_name(prefix: str = "taskpost-test") -> str:
    """A queue name no other test (or xdist process) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def settings_for(broker_url: str) -> dict[str, Any]:
    """Settings that make tests deterministic on ``broker_url``.

    AMQP publishes wait for the broker's confirm (so a message is queued
    when ``delay()`` returns); ``memory://`` polls every 10 ms.
    """
    scheme = broker_url.partition("://")[0]
    options: dict[str, Any] = {}
    if scheme in ("amqp", "pyamqp", "amqps"):
        options["confirm_publish"] = True
    elif scheme == "memory":
        options["polling_interval"] = 0.01
    return {
        "result_backend": "rpc://",
        "task_default_queue": unique_name(),
        "broker_transport_options": options,
    }


def make_app(*, broker_url: str, **settings: Any) -> App:
    """An app on ``broker_url`` with a unique default queue and ``rpc://`` results."""
    merged = {**settings_for(broker_url), **settings}
    return App(broker_url=broker_url, **merged)


def _delete_queues(app: App) -> None:
    """Delete the app's queues and the exchanges made for them (nothing left on a broker)."""
    queues = app.amqp.queues.all()
    with app.connection() as conn:
        channel = conn.channel()
        for q in queues:
            targets: list[Any] = [q]
            exchange = q.exchange
            if exchange is not None and exchange.name.startswith(("taskpost-test-", q.name)):
                targets.append(exchange)
            for target in targets:
                try:
                    target(channel).delete()
                except Exception:
                    logger.debug("could not delete %s", target.name, exc_info=True)
                    channel = conn.channel()


@contextmanager
def app_context(*, broker_url: str, **settings: Any) -> Iterator[App]:
    """:func:`make_app`, closed and with its queues deleted on exit."""
    app = make_app(broker_url=broker_url, **settings)
    try:
        yield app
    finally:
        try:
            _delete_queues(app)
        finally:
            app.close()


@contextmanager
def worker_context(app: App, **options: Any) -> Iterator[Worker]:
    """A worker running in a background thread for the duration of the block.

    ``options`` are :class:`~taskpost.Worker`'s (``queues``, ``concurrency``...).
    """
    worker = app.Worker(**options)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        worker.close()
