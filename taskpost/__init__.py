"""taskpost: a small, typed, Celery-style task library on kombu.

It speaks Celery's task message protocol 2 and its ``rpc://`` result
format, so taskpost and Celery clients and workers interoperate.
"""

from __future__ import annotations

from . import exceptions, signals, states
from ._app import App
from ._config import Config
from ._result import AsyncResult
from ._task import Context, Task
from ._worker import Worker
from .exceptions import (
    ConfigurationError,
    MaxRetriesExceededError,
    Retry,
    TaskRevokedError,
    TimeoutError,
)
from .signals import Signal

__all__ = [
    "App",
    "AsyncResult",
    "Config",
    "ConfigurationError",
    "Context",
    "MaxRetriesExceededError",
    "Retry",
    "Signal",
    "Task",
    "TaskRevokedError",
    "TimeoutError",
    "Worker",
    "exceptions",
    "signals",
    "states",
]
