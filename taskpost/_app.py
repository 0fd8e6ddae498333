"""``App``: configuration, task registry and sending."""

from __future__ import annotations

import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec, TypeVar, overload

from ._amqp import AMQP
from ._backend import RpcBackend
from ._config import Config, check_keys, settings_from_object
from ._kombu import KombuConnection, KombuProducer
from ._protocol import TimeSpec, build_task_message
from ._result import AsyncResult as _AsyncResult
from ._result import set_current_app
from ._task import Task, current_request

if TYPE_CHECKING:
    from ._worker import Worker

__all__ = ["App"]

P = ParamSpec("P")
R = TypeVar("R")

Clock = Callable[[], float]


class App:
    """A taskpost application: ``App(broker_url=..., **settings)``.

    Settings have Celery's names (see :class:`~taskpost._config.Config`);
    an unknown one raises :class:`~taskpost.exceptions.ConfigurationError`.
    ``clock`` returns the current time in seconds since the epoch; it is
    used for ``countdown`` and ``expires`` and by workers for ETAs.
    """

    def __init__(self, *, main: str | None = None, clock: Clock = time.time, **settings: Any):
        check_keys(settings)
        self.main = main
        self.clock = clock
        self.conf = Config().replace(**settings)
        self.tasks: dict[str, Task[Any, Any]] = {}
        self._lock = threading.Lock()
        self._amqp: AMQP | None = None
        self._backend: RpcBackend | None = None
        self._workers: weakref.WeakSet[Worker] = weakref.WeakSet()
        set_current_app(self)

    def __repr__(self) -> str:
        return f"<taskpost.App {self.main or ''} {self.conf.broker_url}>"

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def config_from_object(self, obj: object | str) -> None:
        """Update the settings from a mapping, an object, a module or an import path."""
        settings = settings_from_object(obj)
        self.close()
        self.conf = self.conf.replace(**settings)

    def now(self) -> float:
        """The app clock's current time (seconds since the epoch)."""
        return self.clock()

    @property
    def amqp(self) -> AMQP:
        """Queues, exchanges, routing, the producer pool and ``send_task_message``."""
        with self._lock:
            if self._amqp is None:
                self._amqp = AMQP(conf=self.conf)
            return self._amqp

    @property
    def producer_pool(self) -> Any:
        """kombu's producer pool (connections and producers are reused)."""
        return self.amqp.producer_pool

    @property
    def backend(self) -> RpcBackend | None:
        """The ``rpc://`` result backend, or ``None`` when results are disabled."""
        if self.conf.result_backend is None:
            return None
        with self._lock:
            if self._backend is None:
                self._backend = RpcBackend(conf=self.conf, connect=self.connection)
            return self._backend

    def connection(self) -> KombuConnection:
        """A new connection to the broker (the caller closes it)."""
        return self.amqp.connection()

    @overload
    def task(self, fn: Callable[P, R], /) -> Task[P, R]: ...
    @overload
    def task(
        self, fn: None = None, /, *, bind: Literal[False] = False, **options: Any
    ) -> Callable[[Callable[P, R]], Task[P, R]]: ...
    @overload
    def task(
        self, fn: None = None, /, *, bind: Literal[True], **options: Any
    ) -> Callable[[Callable[Concatenate[Any, P], R]], Task[P, R]]: ...
    def task(self, fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
        """Register a function as a task: ``@app.task`` or ``@app.task(name=..., bind=...)``.

        Options: ``name``, ``bind``, ``max_retries``, ``default_retry_delay``,
        ``autoretry_for``, ``retry_backoff``, ``retry_backoff_max``,
        ``acks_late``, ``ignore_result``, ``queue``, ``routing_key``.
        """

        def register(func: Callable[..., Any]) -> Task[Any, Any]:
            opts = dict(options)
            name = opts.pop("name", None) or f"{func.__module__}.{func.__qualname__}"
            task: Task[Any, Any] = Task(app=self, fn=func, name=name, **opts)
            self.tasks[name] = task
            return task

        return register(fn) if fn is not None else register

    def AsyncResult(self, id: str) -> _AsyncResult[Any]:
        """The result handle of task ``id``."""
        return _AsyncResult(id, app=self)

    def Worker(self, **options: Any) -> Worker:
        """An in-process worker: see :class:`taskpost.Worker`."""
        from ._worker import Worker

        worker = Worker(app=self, **options)
        self._workers.add(worker)
        return worker

    def send_task(
        self,
        name: str,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        *,
        task_id: str | None = None,
        countdown: float | None = None,
        eta: TimeSpec = None,
        expires: TimeSpec = None,
        queue: str | None = None,
        exchange: str | None = None,
        routing_key: str | None = None,
        priority: int | None = None,
        retries: int = 0,
        reply_to: str | None = None,
        root_id: str | None = None,
        parent_id: str | None = None,
        group_id: str | None = None,
        shadow: str | None = None,
        ignore_result: bool = False,
        time_limit: float | None = None,
        soft_time_limit: float | None = None,
        retry: bool | None = None,
        retry_policy: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        serializer: str | None = None,
        compression: str | None = None,
        producer: KombuProducer | None = None,
        **properties: Any,
    ) -> _AsyncResult[Any]:
        """Send task ``name`` (registered here or not) and return its result handle."""
        task_id = task_id or str(uuid.uuid4())
        args, kwargs = list(args or ()), dict(kwargs or {})
        route = self.amqp.router.route(
            {
                "queue": queue,
                "exchange": exchange,
                "routing_key": routing_key,
                "priority": priority,
            },
            name,
            args,
            kwargs,
        )
        parent = current_request()
        if parent is not None and parent.id != task_id:
            parent_id, root_id = parent_id or parent.id, root_id or parent.root_id
        backend = None if ignore_result else self.backend
        message = build_task_message(
            task_id=task_id,
            name=name,
            args=args,
            kwargs=kwargs,
            now=self.now(),
            countdown=countdown,
            eta=eta,
            expires=expires,
            retries=retries,
            reply_to=reply_to or (backend.oid if backend is not None else None),
            root_id=root_id,
            parent_id=parent_id,
            group_id=group_id,
            shadow=shadow,
            ignore_result=ignore_result,
            time_limit=time_limit,
            soft_time_limit=soft_time_limit,
        )
        priority = route.get("priority", self.conf.task_default_priority)
        options: dict[str, Any] = {
            "exchange": route.get("exchange"),
            "routing_key": route.get("routing_key"),
            "queue": route.get("queue"),
            "serializer": serializer,
            "compression": compression,
            "retry": retry,
            "retry_policy": retry_policy,
            "headers": headers,
            "priority": priority,
            **properties,
        }
        if producer is not None:
            self._publish(producer, backend, name, message, options)
        else:
            with self.producer_pool.acquire(block=True, timeout=30) as pooled:
                self._publish(pooled, backend, name, message, options)
        return _AsyncResult(task_id, app=self)

    def _publish(
        self,
        producer: KombuProducer,
        backend: RpcBackend | None,
        name: str,
        message: Any,
        options: dict[str, Any],
    ) -> None:
        if backend is not None:
            backend.on_task_call(producer)
        self.amqp.send_task_message(producer, name, message, **options)

    def close(self) -> None:
        """Close the pools, the result connection and workers' ``run_until_idle`` connections."""
        for worker in list(self._workers):
            worker.close()
        with self._lock:
            amqp, backend = self._amqp, self._backend
            self._amqp = self._backend = None
        if amqp is not None:
            amqp.close()
        if backend is not None:
            backend.close()
