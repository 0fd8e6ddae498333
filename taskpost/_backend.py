"""The ``rpc://`` result backend: results travel back through the broker.

Each app has one reply queue. A worker publishes the result of a task to
the default exchange with the request's ``reply_to`` as routing key and the
task id as ``correlation_id``; the body is Celery's result meta
``{task_id, status, result, traceback, children, date_done}``.
"""

from __future__ import annotations

import builtins
import logging
import threading
import time
import uuid
from typing import Any

from . import states
from ._config import Config
from ._excinfo import exception_to_meta
from ._kombu import (
    Consumer,
    Exchange,
    KombuConnection,
    KombuMessage,
    KombuProducer,
    KombuQueue,
    Queue,
    maybe_declare,
)
from ._protocol import isoformat
from .exceptions import TimeoutError

__all__ = ["RpcBackend"]

logger = logging.getLogger(__name__)

_POLICY = {"max_retries": 20, "interval_start": 0, "interval_step": 1, "interval_max": 1}


class RpcBackend:
    """Sends results (in workers) and receives them (in clients) over the broker."""

    def __init__(self, *, conf: Config, connect: Any) -> None:
        self.conf = conf
        self._connect = connect
        self.oid = str(uuid.uuid4())
        self.exchange = Exchange("", type="direct")
        self._cond = threading.Condition()
        self._metas: dict[str, dict[str, Any]] = {}
        self._draining = False
        self._connection: KombuConnection | None = None

    @property
    def accept(self) -> list[str]:
        """Content types results are accepted in."""
        return sorted({*self.conf.accept_content, self.conf.result_serializer})

    def binding(self) -> KombuQueue:
        """The reply queue (durable, auto-deleted, expiring like Celery's)."""
        return Queue(
            self.oid,
            self.exchange,
            self.oid,
            durable=True,
            auto_delete=True,
            expires=self.conf.result_expires,
        )

    def on_task_call(self, producer: KombuProducer) -> None:
        """Declare the reply queue (once per connection) before a task is sent."""
        maybe_declare(self.binding()(producer.channel), retry=True)

    def store_result(
        self,
        *,
        producers: Any,
        task_id: str,
        reply_to: str | None,
        state: str,
        result: Any,
        traceback: str | None = None,
        now: float,
    ) -> None:
        """Publish a state change of ``task_id`` to ``reply_to``."""
        if not reply_to:
            return
        meta = self.meta(task_id=task_id, state=state, result=result, traceback=traceback, now=now)
        with producers.acquire(block=True, timeout=30) as producer:
            producer.publish(
                meta,
                exchange=self.exchange,
                routing_key=reply_to,
                correlation_id=task_id,
                serializer=self.conf.result_serializer,
                retry=True,
                retry_policy=_POLICY,
                delivery_mode=1,
            )

    def meta(
        self, *, task_id: str, state: str, result: Any, traceback: str | None, now: float
    ) -> dict[str, Any]:
        """Celery's result meta for a state change."""
        if isinstance(result, BaseException):
            result = exception_to_meta(result, serializer=self.conf.result_serializer)
        return {
            "status": state,
            "result": result,
            "traceback": traceback,
            "children": [],
            "date_done": isoformat(now) if state in states.READY_STATES else None,
            "task_id": task_id,
        }

    # -- client side ------------------------------------------------------

    def peek(self, task_id: str, *, timeout: float = 0.0) -> dict[str, Any] | None:
        """The latest meta received for ``task_id``, waiting up to ``timeout`` for news."""
        self._drain_once(timeout)
        with self._cond:
            return self._metas.get(task_id)

    def wait_for(self, task_id: str, *, timeout: float | None) -> dict[str, Any]:
        """Wait until ``task_id`` is ready; raises ``TimeoutError`` after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._cond:
                meta = self._metas.get(task_id)
                if meta is not None and meta["status"] in states.READY_STATES:
                    return meta
            remaining = 1.0 if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"The operation timed out waiting for task {task_id}")
            self._drain_once(min(remaining, 1.0))

    def _drain_once(self, timeout: float) -> None:
        with self._cond:
            if self._draining:
                self._cond.wait(timeout)
                return
            self._draining = True
        try:
            conn = self._consuming_connection()
            try:
                conn.drain_events(timeout=timeout)
            except builtins.TimeoutError:
                pass
            except conn.connection_errors:
                logger.warning("result consumer lost its connection; reconnecting", exc_info=True)
                self._reset()
        finally:
            with self._cond:
                self._draining = False
                self._cond.notify_all()

    def _consuming_connection(self) -> KombuConnection:
        if self._connection is None:
            conn = self._connect()
            channel = conn.default_channel
            queue = self.binding()(channel)
            queue.declare()
            consumer = Consumer(
                channel, [queue], callbacks=[self._on_message], no_ack=True, accept=self.accept
            )
            consumer.consume()
            self._connection = conn
        return self._connection

    def _on_message(self, meta: Any, message: KombuMessage) -> None:
        task_id = message.properties.get("correlation_id") or meta.get("task_id")
        with self._cond:
            self._metas[task_id] = meta
            self._cond.notify_all()

    def forget(self, task_id: str) -> None:
        """Drop what was received for ``task_id``."""
        with self._cond:
            self._metas.pop(task_id, None)

    def _reset(self) -> None:
        conn, self._connection = self._connection, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                logger.debug("error closing the result connection", exc_info=True)

    def close(self) -> None:
        """Close the result connection (the reply queue auto-deletes)."""
        with self._cond:
            self._reset()
