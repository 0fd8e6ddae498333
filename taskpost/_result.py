"""``AsyncResult``: the state and the return value of a sent task."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from . import states
from ._excinfo import exception_from_meta
from .exceptions import ConfigurationError

if TYPE_CHECKING:
    from ._app import App
    from ._backend import RpcBackend

__all__ = ["AsyncResult", "set_current_app"]

R = TypeVar("R")

_current: list[App] = []
_current_lock = threading.Lock()


def set_current_app(app: App) -> None:
    """Make ``app`` the one ``AsyncResult(id)`` uses when given no app."""
    with _current_lock:
        _current[:] = [app]


def _default_app() -> App:
    with _current_lock:
        if not _current:
            raise ConfigurationError("AsyncResult needs an app: no taskpost.App was created")
        return _current[0]


class AsyncResult(Generic[R]):
    """A handle on a task's outcome, received through the ``rpc://`` backend."""

    def __init__(self, id: str, *, app: App | None = None) -> None:
        self.id = id
        self.app = app if app is not None else _default_app()
        self._meta: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"<AsyncResult: {self.id}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AsyncResult) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def backend(self) -> RpcBackend:
        """The app's result backend (raises if ``result_backend`` is None)."""
        backend = self.app.backend
        if backend is None:
            raise ConfigurationError("No result backend is configured: set result_backend='rpc://'")
        return backend

    def _latest(self) -> dict[str, Any] | None:
        if self._meta is None or self._meta["status"] not in states.READY_STATES:
            meta = self.backend.peek(self.id)
            if meta is not None:
                self._meta = meta
        return self._meta

    def get(self, timeout: float | None = None, propagate: bool = True) -> R:
        """Wait for the result; re-raise the task's exception when ``propagate``.

        Raises :class:`taskpost.exceptions.TimeoutError` after ``timeout`` seconds.
        """
        if self._meta is None or self._meta["status"] not in states.READY_STATES:
            self._meta = self.backend.wait_for(self.id, timeout=timeout)
        meta = self._meta
        if meta["status"] in states.EXCEPTION_STATES:
            exc = exception_from_meta(meta["result"])
            if propagate:
                raise exc
            return cast(R, exc)
        return cast(R, meta["result"])

    @property
    def state(self) -> str:
        """``PENDING`` until a state change arrives, then the latest state."""
        meta = self._latest()
        return states.PENDING if meta is None else str(meta["status"])

    status = state

    def ready(self) -> bool:
        """Whether the task finished (succeeded, failed or was revoked)."""
        return self.state in states.READY_STATES

    def successful(self) -> bool:
        """Whether the task succeeded."""
        return self.state == states.SUCCESS

    def failed(self) -> bool:
        """Whether the task failed."""
        return self.state == states.FAILURE

    @property
    def result(self) -> Any:
        """The return value, or the exception for a failed/retried/revoked task."""
        meta = self._latest()
        if meta is None:
            return None
        if meta["status"] in states.EXCEPTION_STATES:
            return exception_from_meta(meta["result"])
        return meta["result"]

    @property
    def traceback(self) -> str | None:
        """The formatted traceback of a failed task."""
        meta = self._latest()
        return None if meta is None else meta.get("traceback")

    @property
    def date_done(self) -> str | None:
        """When the task finished (ISO 8601), if it did."""
        meta = self._latest()
        return None if meta is None else meta.get("date_done")

    def forget(self) -> None:
        """Drop the received result from memory."""
        self._meta = None
        self.backend.forget(self.id)
