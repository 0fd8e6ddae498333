"""``Task``: a registered function that can be sent to workers."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, NoReturn, ParamSpec, TypeVar

from ._protocol import Request, TimeSpec
from .exceptions import MaxRetriesExceededError, Retry

if TYPE_CHECKING:
    from ._app import App
    from ._result import AsyncResult

__all__ = ["Context", "Task", "current_request"]

P = ParamSpec("P")
R = TypeVar("R")

_local = threading.local()


@dataclasses.dataclass(frozen=True, kw_only=True)
class Context:
    """What a running task knows about its request (``task.request``)."""

    id: str | None = None
    retries: int = 0
    args: list[Any] = dataclasses.field(default_factory=list)
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    eta: float | None = None
    expires: float | None = None
    reply_to: str | None = None
    correlation_id: str | None = None
    root_id: str | None = None
    parent_id: str | None = None
    group: str | None = None
    ignore_result: bool = False
    hostname: str | None = None
    delivery_info: dict[str, Any] = dataclasses.field(default_factory=dict)
    headers: dict[str, Any] = dataclasses.field(default_factory=dict)
    called_directly: bool = True

    @classmethod
    def from_request(cls, request: Request, *, hostname: str) -> Context:
        """The context of a request a worker is running."""
        return cls(
            id=request.id,
            retries=request.retries,
            args=request.args,
            kwargs=request.kwargs,
            eta=request.eta,
            expires=request.expires,
            reply_to=request.reply_to,
            correlation_id=request.correlation_id,
            root_id=request.root_id,
            parent_id=request.parent_id,
            group=request.group,
            ignore_result=request.ignore_result,
            hostname=hostname,
            delivery_info=request.delivery_info,
            headers=request.headers,
            called_directly=False,
        )


_DIRECT = Context()


def _stack() -> list[tuple[Task[Any, Any], Context]]:
    stack: list[tuple[Task[Any, Any], Context]] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = []
        _local.stack = stack
    return stack


def current_request() -> Context | None:
    """The request of the task running in this thread, if any."""
    stack = _stack()
    return stack[-1][1] if stack else None


class Task(Generic[P, R]):
    """A task: call it to run it here, ``delay``/``apply_async`` to send it."""

    def __init__(
        self,
        *,
        app: App,
        fn: Callable[..., R],
        name: str,
        bind: bool = False,
        max_retries: int | None = 3,
        default_retry_delay: float = 180.0,
        autoretry_for: tuple[type[BaseException], ...] = (),
        retry_backoff: bool | float = False,
        retry_backoff_max: float = 600.0,
        acks_late: bool | None = None,
        ignore_result: bool = False,
        queue: str | None = None,
        routing_key: str | None = None,
    ) -> None:
        self.app = app
        self.fn = fn
        self.name = name
        self.bind = bind
        self.max_retries = max_retries
        self.default_retry_delay = default_retry_delay
        self.autoretry_for = tuple(autoretry_for)
        self.retry_backoff = retry_backoff
        self.retry_backoff_max = retry_backoff_max
        self.acks_late = acks_late
        self.ignore_result = ignore_result
        self.queue = queue
        self.routing_key = routing_key
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    def __repr__(self) -> str:
        return f"<@task: {self.name}>"

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the task in this process, now."""
        if self.bind:
            return self.fn(self, *args, **kwargs)
        return self.fn(*args, **kwargs)

    @property
    def request(self) -> Context:
        """The request being run by this thread (a direct call has an empty one)."""
        stack = _stack()
        for index in range(len(stack) - 1, -1, -1):
            task, context = stack[index]
            if task is self:
                return context
        return _DIRECT

    @property
    def effective_acks_late(self) -> bool:
        """``acks_late`` of the task, else the app's ``task_acks_late``."""
        return self.app.conf.task_acks_late if self.acks_late is None else self.acks_late

    @contextmanager
    def running(self, context: Context) -> Iterator[None]:
        """Make ``context`` this task's request in this thread (used by workers)."""
        stack = _stack()
        stack.append((self, context))
        try:
            yield
        finally:
            stack.pop()

    def delay(self, *args: P.args, **kwargs: P.kwargs) -> AsyncResult[R]:
        """Send the task with these arguments; shortcut of :meth:`apply_async`."""
        return self.apply_async(args, kwargs)

    def apply_async(
        self,
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
        retry: bool | None = None,
        retry_policy: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> AsyncResult[R]:
        """Send the task; see :meth:`taskpost.App.send_task` for the options."""
        if queue is None and exchange is None:
            queue, routing_key = self.queue, routing_key or self.routing_key
        return self.app.send_task(
            self.name,
            args,
            kwargs,
            task_id=task_id,
            countdown=countdown,
            eta=eta,
            expires=expires,
            queue=queue,
            exchange=exchange,
            routing_key=routing_key,
            priority=priority,
            retry=retry,
            retry_policy=retry_policy,
            headers=headers,
            ignore_result=options.pop("ignore_result", self.ignore_result),
            **options,
        )

    def backoff(self, retries: int) -> float:
        """Countdown of an automatic retry: exponential with ``retry_backoff``."""
        if not self.retry_backoff:
            return self.default_retry_delay
        factor = 1.0 if self.retry_backoff is True else float(self.retry_backoff)
        return float(min(self.retry_backoff_max, factor * (2**retries)))

    def retry(
        self,
        *,
        exc: BaseException | None = None,
        countdown: float | None = None,
        eta: TimeSpec = None,
        max_retries: int | None = None,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
    ) -> NoReturn:
        """Send this request again later and raise :class:`~taskpost.exceptions.Retry`.

        After ``max_retries`` retries, raises ``exc`` if given, else
        :class:`~taskpost.exceptions.MaxRetriesExceededError`.
        """
        req = self.request
        if req.called_directly:
            raise exc if exc is not None else RuntimeError("retry() outside of a worker")
        limit = self.max_retries if max_retries is None else max_retries
        if limit is not None and req.retries >= limit:
            if exc is not None:
                raise exc
            raise MaxRetriesExceededError(
                f"Can't retry {self.name}[{req.id}] args:{req.args} kwargs:{req.kwargs}"
            )
        if eta is None and countdown is None:
            countdown = self.default_retry_delay
        self.app.send_task(
            self.name,
            req.args if args is None else args,
            req.kwargs if kwargs is None else kwargs,
            task_id=req.id,
            retries=req.retries + 1,
            countdown=countdown,
            eta=eta,
            expires=req.expires,
            reply_to=req.reply_to,
            root_id=req.root_id,
            parent_id=req.parent_id,
            group_id=req.group,
            exchange=req.delivery_info.get("exchange") or "",
            routing_key=req.delivery_info.get("routing_key"),
            ignore_result=req.ignore_result,
        )
        raise Retry(exc=exc, when=countdown)
