"""Exceptions in result messages, in Celery's JSON form."""

from __future__ import annotations

import builtins
import json
import sys
from typing import Any

from . import exceptions

__all__ = ["exception_from_meta", "exception_to_meta"]

# Celery exception names taskpost has its own class for.
_ALIASES: dict[str, type[BaseException]] = {
    "TaskRevokedError": exceptions.TaskRevokedError,
    "MaxRetriesExceededError": exceptions.MaxRetriesExceededError,
    "NotRegistered": exceptions.NotRegistered,
    "TimeoutError": exceptions.TimeoutError,
}
_ALIAS_MODULES = frozenset({"celery.exceptions", "taskpost.exceptions"})


def _json_safe(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def exception_to_meta(exc: BaseException, *, serializer: str) -> Any:
    """The form of ``exc`` in a result: the object itself for pickle, else a dict."""
    if serializer == "pickle":
        return exc
    cls = type(exc)
    return {
        "exc_type": getattr(cls, "__qualname__", cls.__name__),
        "exc_message": [_json_safe(arg) for arg in exc.args],
        "exc_module": cls.__module__,
    }


def exception_from_meta(data: Any) -> BaseException:
    """Rebuild an exception from a result; unknown types get a stand-in class.

    Only modules already imported are searched: a result never makes the
    client import code.
    """
    if isinstance(data, BaseException):
        return data
    if not isinstance(data, dict) or "exc_type" not in data:
        return exceptions.TaskError(data)
    exc_type, module = str(data["exc_type"]), data.get("exc_module")
    message = data.get("exc_message", ())
    args = tuple(message) if isinstance(message, (list, tuple)) else (message,)
    cls = _find_class(exc_type, module)
    try:
        return cls(*args)
    except Exception:
        return _stand_in(exc_type, module)(*args)


def _find_class(name: str, module: str | None) -> type[BaseException]:
    if module in _ALIAS_MODULES and name in _ALIASES:
        return _ALIASES[name]
    owner: Any = builtins if module in (None, "builtins") else sys.modules.get(module or "")
    obj: Any = owner
    for part in name.split("."):
        obj = getattr(obj, part, None)
    if isinstance(obj, type) and issubclass(obj, BaseException):
        return obj
    return _stand_in(name, module)


def _stand_in(name: str, module: str | None) -> type[BaseException]:
    cls = type(name.rpartition(".")[2], (Exception,), {})
    cls.__module__ = module or __name__
    cls.__qualname__ = name
    return cls
