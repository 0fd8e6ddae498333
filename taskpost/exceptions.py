"""Exceptions raised by taskpost."""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "MaxRetriesExceededError",
    "NotRegistered",
    "Retry",
    "TaskError",
    "TaskRevokedError",
    "TimeoutError",
]


class TaskError(Exception):
    """Base class of taskpost's errors."""


class ConfigurationError(TaskError, ValueError):
    """The app's configuration is invalid (an unknown key, a bad value)."""


class NotRegistered(TaskError, KeyError):
    """A worker received a task whose name no registered task has."""


class TimeoutError(TaskError):
    """``AsyncResult.get`` gave up waiting for the result."""


class TaskRevokedError(TaskError):
    """The task was revoked (for instance it expired before it ran)."""


class MaxRetriesExceededError(TaskError):
    """``Task.retry`` was called after the task used all its retries."""


class Retry(TaskError):
    """Raised by ``Task.retry`` to tell the worker that the task was retried.

    Attributes:
        exc: the exception that caused the retry, if any.
        when: the countdown in seconds before the retry runs.
    """

    def __init__(self, *, exc: BaseException | None = None, when: float | None = None) -> None:
        self.exc = exc
        self.when = when
        super().__init__(f"Retry in {when}s: {exc!r}" if exc is not None else f"Retry in {when}s")
