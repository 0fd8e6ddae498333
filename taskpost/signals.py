"""A tiny typed signal, and the signals taskpost sends."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Signal", "after_publish", "before_publish", "task_sent"]

logger = logging.getLogger(__name__)

Receiver = Callable[..., object]


class Signal:
    """A list of receivers called with ``sender`` and keyword arguments.

    A receiver that raises is logged and does not stop the others.
    """

    def __init__(self, *, name: str, providing_args: tuple[str, ...] = ()) -> None:
        self.name = name
        self.providing_args = providing_args
        self._receivers: list[Receiver] = []
        self._lock = threading.Lock()

    def connect(self, receiver: Receiver) -> Receiver:
        """Add ``receiver`` (usable as a decorator); returns it."""
        with self._lock:
            if receiver not in self._receivers:
                self._receivers = [*self._receivers, receiver]
        return receiver

    def disconnect(self, receiver: Receiver) -> None:
        """Remove ``receiver``; a receiver not connected is ignored."""
        with self._lock:
            self._receivers = [r for r in self._receivers if r != receiver]

    @property
    def receivers(self) -> tuple[Receiver, ...]:
        """The connected receivers, in connection order."""
        return tuple(self._receivers)

    def send(self, sender: object, **kwargs: Any) -> list[tuple[Receiver, object]]:
        """Call every receiver; returns ``(receiver, return value or exception)`` pairs."""
        responses: list[tuple[Receiver, object]] = []
        for receiver in self._receivers:
            try:
                responses.append((receiver, receiver(sender=sender, **kwargs)))
            except Exception as exc:
                logger.exception("Signal %s: receiver %r raised", self.name, receiver)
                responses.append((receiver, exc))
        return responses

    def __repr__(self) -> str:
        return f"<Signal {self.name}: {len(self._receivers)} receivers>"


before_publish = Signal(
    name="before_publish",
    providing_args=(
        "body",
        "exchange",
        "routing_key",
        "headers",
        "properties",
        "declare",
        "retry_policy",
    ),
)
after_publish = Signal(
    name="after_publish", providing_args=("body", "exchange", "routing_key", "headers")
)
task_sent = Signal(
    name="task_sent",
    providing_args=("task_id", "task", "args", "kwargs", "eta", "expires", "queue"),
)
