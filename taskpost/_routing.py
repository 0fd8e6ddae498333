"""Queues declared from the configuration, and ``task_routes``."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ._config import Config
from ._kombu import Exchange, KombuQueue, Queue
from .exceptions import ConfigurationError

__all__ = ["Queues", "Router"]

RouteFn = Callable[..., Any]


class Queues:
    """The app's queues by name; a missing queue is created as Celery does.

    A queue created on the fly has an exchange and a routing key both named
    after the queue (``task_create_missing_queues``).
    """

    def __init__(self, *, conf: Config) -> None:
        self.conf = conf
        self.default_exchange = Exchange(conf.default_exchange, conf.task_default_exchange_type)
        self._queues: dict[str, KombuQueue] = {}
        for queue in _configured_queues(conf, self.default_exchange):
            self._queues[queue.name] = queue
        self.default = self.get(conf.task_default_queue)

    def get(self, name: str) -> KombuQueue:
        """The queue called ``name``, created if it is not configured."""
        queue = self._queues.get(name)
        if queue is None:
            if name == self.conf.task_default_queue:
                queue = Queue(name, self.default_exchange, self.conf.default_routing_key)
            else:
                queue = Queue(name, Exchange(name, "direct"), name)
            self._queues[name] = queue
        return queue

    def all(self) -> list[KombuQueue]:
        """Every queue known so far (configured, or created by routing)."""
        return list(self._queues.values())

    def configured(self) -> list[KombuQueue]:
        """The queues a worker consumes from by default."""
        if self.conf.task_queues:
            return [q for name, q in self._queues.items() if name in _configured_names(self.conf)]
        return [self.default]

    def exchanges(self) -> dict[str, Any]:
        """The exchanges of the known queues, by name."""
        return {q.exchange.name: q.exchange for q in self._queues.values() if q.exchange}


def _configured_names(conf: Config) -> set[str]:
    queues = conf.task_queues
    if isinstance(queues, Mapping):
        return set(queues)
    return {q.name for q in queues}


def _configured_queues(conf: Config, default_exchange: Any) -> list[KombuQueue]:
    queues = conf.task_queues
    if not queues:
        return []
    if isinstance(queues, Mapping):
        return [
            _queue_from_options(name, dict(opts), default_exchange) for name, opts in queues.items()
        ]
    if not all(isinstance(q, Queue) for q in queues):
        raise ConfigurationError("task_queues must be kombu.Queue objects or a mapping")
    return list(queues)


def _queue_from_options(name: str, opts: dict[str, Any], default: Any) -> KombuQueue:
    exchange = opts.pop("exchange", None)
    exchange_type = opts.pop("exchange_type", "direct")
    if isinstance(exchange, str):
        exchange = Exchange(exchange, exchange_type)
    routing_key = opts.pop("routing_key", name)
    return Queue(name, exchange if exchange is not None else default, routing_key, **opts)


class Router:
    """Finds where a task goes from explicit options, then ``task_routes``, then defaults.

    ``task_routes`` is a mapping of task name (or glob) to a queue name or an
    options dict, a callable ``(name, args, kwargs, options)`` returning one of
    those or ``None``, or a sequence of such mappings and callables.
    """

    def __init__(self, *, conf: Config, queues: Queues) -> None:
        self.queues = queues
        self.routes = _routes(conf.task_routes)

    def route(
        self, options: Mapping[str, Any], name: str, args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Destination options: ``queue`` (a kombu Queue), ``exchange``, ``routing_key``..."""
        explicit = {k: v for k, v in options.items() if v is not None}
        if "queue" not in explicit and "exchange" not in explicit:
            found = self._lookup(name, args, kwargs, explicit)
            explicit = {**found, **explicit}
        if "queue" not in explicit and "exchange" not in explicit:
            explicit["queue"] = self.queues.default
        return self._expand(explicit)

    def _lookup(
        self, name: str, args: Sequence[Any], kwargs: Mapping[str, Any], options: Mapping[str, Any]
    ) -> dict[str, Any]:
        for route in self.routes:
            found = route(name, args, kwargs, options)
            if found:
                return {"queue": found} if isinstance(found, str) else dict(found)
        return {}

    def _expand(self, options: dict[str, Any]) -> dict[str, Any]:
        queue = options.get("queue")
        if isinstance(queue, str):
            options["queue"] = queue = self.queues.get(queue)
        if isinstance(queue, Queue):
            options.setdefault("exchange", queue.exchange.name if queue.exchange else "")
            options.setdefault("routing_key", queue.routing_key)
        return options


def _routes(spec: Any) -> list[RouteFn]:
    if spec is None:
        return []
    if isinstance(spec, Mapping) or callable(spec):
        spec = [spec]
    routes: list[RouteFn] = []
    for item in spec:
        if isinstance(item, Mapping):
            routes.append(_MapRoute(item))
        elif callable(item):
            routes.append(item)
        else:
            raise ConfigurationError(f"task_routes entry {item!r} is not a mapping or callable")
    return routes


class _MapRoute:
    def __init__(self, table: Mapping[str, Any]) -> None:
        self.exact = {k: v for k, v in table.items() if not _is_glob(k)}
        self.globs = [(k, v) for k, v in table.items() if _is_glob(k)]

    def __call__(self, name: str, *_: object) -> Any:
        if name in self.exact:
            return self.exact[name]
        for pattern, value in self.globs:
            if fnmatch.fnmatchcase(name, pattern):
                return value
        return None


def _is_glob(key: str) -> bool:
    return any(ch in key for ch in "*?[")
