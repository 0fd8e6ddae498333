"""Running one task request and reporting its states."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import states
from ._protocol import Request, isoformat
from ._task import Context, Task
from .exceptions import NotRegistered, Retry

if TYPE_CHECKING:
    from ._app import App

__all__ = ["Executor"]

logger = logging.getLogger("taskpost.worker")

# Revocations are reported as Celery's exception, which taskpost maps to its own.
_REVOKED_EXPIRED = {
    "exc_type": "TaskRevokedError",
    "exc_message": ["expired"],
    "exc_module": "celery.exceptions",
}


class Executor:
    """Runs requests for a worker and publishes their states to ``reply_to``."""

    def __init__(
        self,
        *,
        app: App,
        hostname: str,
        clock: Callable[[], float],
        should_report: Callable[[], bool],
    ) -> None:
        self.app = app
        self.hostname = hostname
        self.clock = clock
        self.should_report = should_report

    def task_for(self, request: Request) -> Task[Any, Any] | None:
        """The registered task of ``request``, or ``None``."""
        return self.app.tasks.get(request.name)

    def is_expired(self, request: Request) -> bool:
        """Whether ``request`` passed its ``expires`` time."""
        return request.expires is not None and request.expires <= self.clock()

    def revoke_expired(self, request: Request) -> None:
        """Report ``request`` as revoked because it expired."""
        logger.info(
            "Task %s[%s] revoked: expired at %s",
            request.name,
            request.id,
            isoformat(request.expires),
        )
        self._report(request, states.REVOKED, dict(_REVOKED_EXPIRED), None)

    def execute(self, request: Request) -> str:
        """Run ``request`` now; returns its final state in this run."""
        task = self.task_for(request)
        if task is None:
            logger.error("Received unregistered task %s[%s]", request.name, request.id)
            exc = NotRegistered(request.name)
            self._report(request, states.FAILURE, exc, None)
            return states.FAILURE
        if self.is_expired(request):
            self.revoke_expired(request)
            return states.REVOKED
        return self._run(task, request)

    def _run(self, task: Task[Any, Any], request: Request) -> str:
        logger.info("Task %s[%s] started", request.name, request.id)
        started = time.monotonic()
        context = Context.from_request(request, hostname=self.hostname)
        try:
            with task.running(context):
                try:
                    retval = task(*request.args, **request.kwargs)
                except task.autoretry_for as exc:
                    task.retry(exc=exc, countdown=task.backoff(request.retries))
        except Retry as retry:
            return self._on_retry(task, request, retry)
        except Exception as exc:
            return self._on_failure(task, request, exc, traceback.format_exc())
        runtime = time.monotonic() - started
        logger.info("Task %s[%s] succeeded in %.4fs: %r", request.name, request.id, runtime, retval)
        if not (task.ignore_result or request.ignore_result):
            self._report(request, states.SUCCESS, retval, None)
        return states.SUCCESS

    def _on_retry(self, task: Task[Any, Any], request: Request, retry: Retry) -> str:
        logger.info("Task %s[%s] retry: %s", request.name, request.id, retry)
        if not (task.ignore_result or request.ignore_result):
            self._report(request, states.RETRY, retry.exc or retry, None)
        return states.RETRY

    def _on_failure(self, task: Task[Any, Any], request: Request, exc: Exception, tb: str) -> str:
        logger.error("Task %s[%s] raised unexpected: %r", request.name, request.id, exc)
        logger.debug("%s", tb)
        self._report(request, states.FAILURE, exc, tb)
        return states.FAILURE

    def _report(self, request: Request, state: str, result: Any, tb: str | None) -> None:
        backend = self.app.backend
        if backend is None or not request.reply_to or not self.should_report():
            return
        try:
            backend.store_result(
                producers=self.app.producer_pool,
                task_id=request.id,
                reply_to=request.reply_to,
                state=state,
                result=result,
                traceback=tb,
                now=self.clock(),
            )
        except Exception:
            logger.exception("Could not send the %s state of task %s", state, request.id)
