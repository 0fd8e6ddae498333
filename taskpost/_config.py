"""The app's configuration: known keys, defaults and validation."""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import inspect
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from .exceptions import ConfigurationError

__all__ = ["Config", "load_object", "settings_from_object"]

_DEFAULT_RETRY_POLICY: Mapping[str, float] = {
    "max_retries": 3,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """Settings of an :class:`~taskpost.App`, with Celery's names and defaults."""

    broker_url: str = "amqp://guest:guest@localhost:5672//"
    broker_pool_limit: int = 10
    broker_connection_retry: bool = True
    broker_connection_max_retries: int = 100
    broker_transport_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    task_serializer: str = "json"
    result_serializer: str = "json"
    accept_content: tuple[str, ...] = ("json",)
    task_compression: str | None = None
    task_default_queue: str = "celery"
    task_default_exchange: str | None = None
    task_default_exchange_type: str = "direct"
    task_default_routing_key: str | None = None
    task_default_priority: int | None = None
    task_queues: Any = None
    task_routes: Any = None
    task_acks_late: bool = False
    task_publish_retry: bool = True
    task_publish_retry_policy: Mapping[str, Any] = dataclasses.field(
        default_factory=lambda: dict(_DEFAULT_RETRY_POLICY)
    )
    result_backend: str | None = None
    result_expires: float | None = 86400.0

    def __post_init__(self) -> None:
        _validate(self)

    def replace(self, **changes: Any) -> Config:
        """Return a copy with ``changes`` applied (unknown keys are refused)."""
        check_keys(changes)
        if "accept_content" in changes:
            changes["accept_content"] = tuple(changes["accept_content"])
        return dataclasses.replace(self, **changes)

    @property
    def default_exchange(self) -> str:
        """The exchange of the default queue (the queue's name unless set)."""
        return self.task_default_exchange or self.task_default_queue

    @property
    def default_routing_key(self) -> str:
        """The routing key of the default queue (the queue's name unless set)."""
        return self.task_default_routing_key or self.task_default_queue


KNOWN_KEYS = frozenset(f.name for f in dataclasses.fields(Config))


def check_keys(keys: Mapping[str, Any]) -> None:
    """Refuse unknown setting names, suggesting the closest known one."""
    for key in keys:
        if key not in KNOWN_KEYS:
            close = difflib.get_close_matches(key, sorted(KNOWN_KEYS), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigurationError(f"Unknown taskpost setting {key!r}.{hint}")


def _accepts(accept: tuple[str, ...], serializer: str) -> bool:
    if serializer in accept:
        return True
    return serializer == "pickle" and "application/x-python-serialize" in accept


def _validate(conf: Config) -> None:
    if isinstance(conf.accept_content, str):
        raise ConfigurationError("accept_content must be a list of serializer names")
    for key in ("task_serializer", "result_serializer"):
        serializer = getattr(conf, key)
        if serializer == "pickle" and not _accepts(conf.accept_content, serializer):
            raise ConfigurationError(
                f"{key}='pickle' needs 'pickle' in accept_content (it is refused by default)"
            )
    if conf.result_backend not in (None, "rpc://", "rpc"):
        raise ConfigurationError(
            f"result_backend {conf.result_backend!r} is not supported: use 'rpc://' or None"
        )
    if conf.broker_pool_limit is not None and conf.broker_pool_limit < 1:
        raise ConfigurationError("broker_pool_limit must be at least 1")


def load_object(path: str) -> Any:
    """Import ``"pkg.module"`` or ``"pkg.module:attribute"`` (or ``pkg.module.attribute``)."""
    module_name, _, attr = path.partition(":")
    try:
        module: Any = importlib.import_module(module_name)
    except ModuleNotFoundError:
        if attr or "." not in module_name:
            raise
        module_name, _, attr = module_name.rpartition(".")
        module = importlib.import_module(module_name)
    obj = module
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


def settings_from_object(obj: object | str) -> dict[str, Any]:
    """The settings defined by a mapping, an object or a module (or its import path).

    Names starting with ``_`` or an upper-case letter, imported modules,
    classes and functions, and ``__future__`` features are not settings;
    every other name must be known.
    """
    if isinstance(obj, str):
        obj = load_object(obj)
    if isinstance(obj, Mapping):
        items = dict(obj)
    else:
        items = {name: getattr(obj, name) for name in dir(obj)}
        items = {k: v for k, v in items.items() if _is_setting(k, v)}
    check_keys(items)
    return items


def _is_setting(name: str, value: object) -> bool:
    if name.startswith("_") or not name[:1].islower():
        return False
    if type(value).__module__ == "__future__":
        return False
    return not (isinstance(value, ModuleType) or inspect.isclass(value) or inspect.isroutine(value))
