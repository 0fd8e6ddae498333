"""The one factory: a :class:`~fakebroker.Node` built from options and definitions.

``fakebroker.serve()``, the CLI and the pytest fixtures all build their
nodes here, so a vhost, a user, a definitions file or a fault plan means
the same thing everywhere.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ._definitions import DefinitionsError, apply_definitions, load_definitions
from ._node import Node
from .core import Broker, Clock, SystemClock, VirtualClock

__all__ = ["CLOCKS", "FaultPlan", "build_node", "load_plan", "read_definitions"]

LOG = logging.getLogger("fakebroker")

#: The clocks a node can be built on by name.
CLOCKS = ("virtual", "system")

#: A fault plan as options carry it: a rule, a rule's keyword dictionary, or a list of them.
FaultPlan = Any

Users = Mapping[str, str] | Iterable[tuple[str, str]]
Definitions = Mapping[str, Any] | str | os.PathLike[str]


def make_clock(clock: Clock | str | None) -> Clock:
    """A clock from its name ("virtual", "system"), or the clock given (None: system)."""
    if clock is None or clock == "system":
        return SystemClock()
    if clock == "virtual":
        return VirtualClock()
    if isinstance(clock, str):
        raise ValueError(f"clock= must be one of {CLOCKS}, not {clock!r}")
    return clock


def read_definitions(value: Definitions, *, base: Path | None = None) -> dict[str, Any]:
    """Definitions as a dictionary: given as one, or read from a JSON file (relative to base)."""
    if isinstance(value, Mapping):
        return dict(value)
    path = Path(value)
    if base is not None and not path.is_absolute():
        path = base / path
    return load_definitions(str(path))


def load_plan(node: Node, faults: FaultPlan) -> None:
    """Load ``faults`` (a rule, a rule dictionary, or a list of them) into the node's plan."""
    if faults is None:
        return
    plan = faults if isinstance(faults, (list, tuple)) else [faults]
    try:
        node.faults.load(plan)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"faults={faults!r}: {exc}") from exc


def build_node(
    *,
    name: str | None = None,
    clock: Clock | str | None = None,
    users: Users | None = None,
    vhosts: Iterable[str] = (),
    definitions: Definitions | None = None,
    faults: FaultPlan = None,
    **broker_options: Any,
) -> Node:
    """A node whose broker has "/", ``definitions`` imported, then ``vhosts`` and ``users``.

    As on a RabbitMQ node that imports definitions at boot, the definitions
    (a RabbitMQ export, as a path or a dictionary) come first; ``vhosts`` and
    ``users`` are added after them, a user named in both taking the password
    given here.  ``guest``/``guest`` exists only when neither ``users`` nor
    the definitions name a user (RabbitMQ's default user of a blank node);
    ``users=()`` means none at all.  Then the fault plan ``faults`` is loaded.

    ``broker_options`` go to :class:`~fakebroker.core.Broker` (``consumer_timeout=``,
    ``journal_maxlen=`` ...).  Raises :class:`DefinitionsError` for definitions the
    broker refuses and ValueError for a bad clock or plan.
    """
    broker = Broker(clock=make_clock(clock), users={}, vhosts=("/",), **broker_options)
    if definitions is not None:
        try:
            apply_definitions(broker, read_definitions(definitions))
        except (OSError, json.JSONDecodeError) as exc:
            raise DefinitionsError(str(exc)) from exc
    for vhost in vhosts:
        broker.add_vhost(vhost)
    if users is None:
        if not broker.user_names:
            broker.add_user("guest", "guest")
    else:
        for user, password in users.items() if isinstance(users, Mapping) else users:
            if broker.has_user(user):
                LOG.warning("user '%s' from the definitions gets the password given", user)
            broker.add_user(user, password)
    node = Node(broker=broker, name=name)
    load_plan(node, faults)
    return node
