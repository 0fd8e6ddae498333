"""Exchanges and bindings.

Rules:
- a binding is identified by (source, destination, routing key, arguments);
  binding twice is a no-op, unbinding what is not bound succeeds;
- an auto-delete exchange goes when its last binding as a source goes;
- routing walks exchange-to-exchange bindings breadth-first with a visited
  set, so a queue gets at most one copy whatever cycles or diamonds exist;
- an exchange whose own bindings match nothing hands the message to its
  ``alternate-exchange`` (as RabbitMQ's ``process_alternate``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._routing import Matcher, freeze, matcher_for

if TYPE_CHECKING:
    from ._queue import Queue

Destination = "Queue | Exchange"


class Binding:
    """One binding from an exchange to a queue or another exchange."""

    __slots__ = ("arguments", "destination", "key", "routing_key", "source")

    def __init__(
        self,
        source: Exchange,
        destination: Queue | Exchange,
        routing_key: str,
        arguments: dict[str, Any],
    ) -> None:
        self.source = source
        self.destination = destination
        self.routing_key = routing_key
        self.arguments = arguments
        self.key = (id(destination), routing_key, freeze(arguments))

    @property
    def destination_type(self) -> str:
        """'queue' or 'exchange'."""
        return "exchange" if isinstance(self.destination, Exchange) else "queue"


class Exchange:
    """One exchange of a vhost."""

    def __init__(
        self,
        *,
        name: str,
        type: str,
        durable: bool,
        auto_delete: bool,
        internal: bool,
        arguments: dict[str, Any],
    ) -> None:
        matcher = matcher_for(type)
        if matcher is None:
            raise ValueError(f"unknown exchange type {type!r}")
        self.name = name
        self.type = type
        self.durable = durable
        self.auto_delete = auto_delete
        self.internal = internal
        self.arguments = arguments
        self.matcher: Matcher[Any] = matcher
        self.bindings: dict[Any, Binding] = {}
        self.incoming: set[Binding] = set()
        self.deleted = False
        alternate = arguments.get("alternate-exchange")
        if isinstance(alternate, bytes):
            alternate = alternate.decode()
        self.alternate: str | None = alternate if isinstance(alternate, str) else None
        self.has_exchange_bindings = False

    def add_binding(self, binding: Binding) -> bool:
        """Add; False if an identical binding exists."""
        if binding.key in self.bindings:
            return False
        self.bindings[binding.key] = binding
        self.matcher.add(binding.destination, binding.routing_key, binding.arguments)
        if isinstance(binding.destination, Exchange):
            self.has_exchange_bindings = True
        return True

    def remove_binding(self, binding: Binding) -> None:
        """Remove a binding this exchange holds."""
        if self.bindings.pop(binding.key, None) is None:
            return
        self.matcher.remove(binding.destination, binding.routing_key, binding.arguments)
        if self.has_exchange_bindings:
            self.has_exchange_bindings = any(
                isinstance(b.destination, Exchange) for b in self.bindings.values()
            )

    def find_binding(
        self, destination: Queue | Exchange, routing_key: str, arguments: Mapping[str, Any]
    ) -> Binding | None:
        """The binding with these attributes, if any."""
        return self.bindings.get((id(destination), routing_key, freeze(dict(arguments))))

    def route(self, routing_key: str, headers: Mapping[str, Any] | None) -> list[Any]:
        """Direct destinations of this exchange for a message."""
        return self.matcher.route(routing_key, headers)
