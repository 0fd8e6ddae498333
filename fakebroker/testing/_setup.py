"""Building the brokers the pytest fixtures hand out, from ``@pytest.mark.broker`` options."""

from __future__ import annotations

import itertools
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._definitions import apply_definitions
from .._factory import CLOCKS, build_node, read_definitions
from .._node import Node, drop_node, set_node
from .._urls import amqp_url, fakebroker_url
from ._handle import BrokerHandle
from ._matching import suggest

if TYPE_CHECKING:
    from ..core import Broker
    from ..fronts import Server

__all__ = [
    "OPTIONS",
    "BrokerSpec",
    "ServerPool",
    "make_inproc",
    "make_served",
    "make_tcp",
    "parse_spec",
]

_names = itertools.count(1)

#: The keywords ``@pytest.mark.broker`` takes.
OPTIONS = ("definitions", "vhost", "users", "clock", "faults")


@dataclass(frozen=True)
class BrokerSpec:
    """What ``@pytest.mark.broker(...)`` asked for (``None``: the fixture's default)."""

    vhost: str | None = None
    users: dict[str, str] = field(default_factory=dict)
    definitions: dict[str, Any] | None = None
    clock: str | None = None
    faults: Any = None

    @property
    def user(self) -> tuple[str, str]:
        """The credentials the fixture's URL carries: guest, else the first user."""
        if not self.users or "guest" in self.users:
            return ("guest", self.users.get("guest", "guest"))
        return next(iter(self.users.items()))


def parse_spec(options: Mapping[str, Any], *, base: Path) -> BrokerSpec:
    """Check the marker's keywords; ``definitions`` paths are relative to ``base``."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        named = ", ".join(f"{name}={suggest(name, OPTIONS)}" for name in unknown)
        raise ValueError(
            f"unknown @pytest.mark.broker option(s) {named}; it takes {', '.join(OPTIONS)}"
        )
    clock = options.get("clock")
    if clock is not None and clock not in CLOCKS:
        raise ValueError(f"clock= must be one of {CLOCKS}, not {clock!r}{suggest(clock, CLOCKS)}")
    definitions = options.get("definitions")
    return BrokerSpec(
        vhost=options.get("vhost"),
        users=_users(options.get("users") or {}),
        definitions=read_definitions(definitions, base=base) if definitions is not None else None,
        clock=clock,
        faults=options.get("faults"),
    )


def _users(users: Mapping[str, str] | Iterable[str | tuple[str, str]]) -> dict[str, str]:
    if isinstance(users, Mapping):
        return {str(k): str(v) for k, v in users.items()}
    result = {}
    for user in users:
        name, _, password = user.partition(":") if isinstance(user, str) else (user[0], "", user[1])
        result[name] = password
    return result


def new_name(prefix: str = "pytest") -> str:
    """A name unique in this process (xdist workers are separate processes)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"{prefix}-{worker}-{next(_names)}"


def build(spec: BrokerSpec, *, default_clock: str, name: str | None = None) -> Node:
    """A new node with the spec's clock, users, vhost, definitions and fault plan."""
    vhosts = () if spec.vhost in (None, "/") else (str(spec.vhost),)
    return build_node(
        name=name,
        clock=spec.clock or default_clock,
        users=spec.users or None,
        vhosts=vhosts,
        definitions=spec.definitions,
        faults=spec.faults,
    )


def make_inproc(spec: BrokerSpec) -> BrokerHandle:
    """A fresh in-process broker under a unique registry name (dropped on close)."""
    name = new_name()
    node = set_node(name, build(spec, default_clock="virtual", name=name))
    vhost = spec.vhost or "/"
    user, password = spec.user
    handle = BrokerHandle(
        node=node,
        kind="inproc",
        url=fakebroker_url(name, vhost=vhost, user=user, password=password),
        vhost=vhost,
        user=spec.user,
        name=name,
    )
    handle.add_finalizer(lambda: drop_node(name))
    return handle


class ServerPool:
    """One shared TCP server per process (per xdist worker), started on first use."""

    def __init__(self) -> None:
        self._shared: Server | None = None

    def shared(self) -> Server:
        """The process's shared server: port 0, a system clock, guest/guest."""
        if self._shared is None:
            self._shared = build_node().serve(port=0)
        return self._shared

    def close(self) -> None:
        """Stop the shared server if it was started."""
        server, self._shared = self._shared, None
        if server is not None:
            server.close()


def make_served(spec: BrokerSpec, pool: ServerPool, *, label: str) -> BrokerHandle:
    """A fresh vhost on the shared server, or a server of its own when the spec needs one."""
    if spec.clock == "virtual" or spec.vhost == "/" or spec.faults is not None:
        return _dedicated(spec)
    server = pool.shared()
    vhost = spec.vhost or f"{new_name('test')}-{_slug(label)}-{uuid.uuid4().hex[:6]}"
    node = server.node
    with node.locked() as broker:
        saved_users = dict(broker.users)
        broker.add_vhost(vhost)
        broker.users.update(spec.users)
        if spec.definitions is not None:
            _apply_in_vhost(broker, spec.definitions, vhost)
    handle = _served_handle(server, spec, vhost, since=broker.journal.last_seq)

    def forget() -> None:
        with node.locked() as broker:
            broker.delete_vhost(vhost)
            broker.users.clear()
            broker.users.update(saved_users)

    handle.add_finalizer(forget)
    return handle


def make_tcp(spec: BrokerSpec) -> BrokerHandle:
    """A fresh fakebroker of the test's own on a TCP port (port 0), on a virtual clock.

    ``--broker=tcp`` hands it out as ``broker``, so the tests that move time
    with ``broker.clock.advance`` run over a socket too.
    """
    return _dedicated(spec, default_clock="virtual")


def _dedicated(spec: BrokerSpec, *, default_clock: str = "system") -> BrokerHandle:
    server = build(spec, default_clock=default_clock).serve(port=0)
    handle = _served_handle(server, spec, spec.vhost or "/")
    handle.add_finalizer(server.close)
    return handle


def _served_handle(server: Server, spec: BrokerSpec, vhost: str, since: int = 0) -> BrokerHandle:
    user, password = spec.user
    url = amqp_url(host=server.host, port=server.port, user=user, password=password, vhost=vhost)
    return BrokerHandle(
        node=server.node,
        kind="tcp",
        url=url,
        vhost=vhost,
        user=spec.user,
        since=since,
    )


def _apply_in_vhost(broker: Broker, definitions: Mapping[str, Any], vhost: str) -> None:
    """Apply definitions with the default vhost "/" moved to ``vhost``."""

    def move(item: Any) -> Any:
        if isinstance(item, dict) and item.get("vhost", "/") == "/":
            return {**item, "vhost": vhost}
        return item

    moved = dict(definitions)
    for key in ("exchanges", "queues", "bindings"):
        moved[key] = [move(item) for item in definitions.get(key) or []]
    apply_definitions(broker, moved)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:40].strip("-")
