"""Deterministic fault injection for AMQP clients, in-process and over TCP.

``broker.faults`` (a :class:`Faults`) holds a plan of :class:`Rule` objects;
every front's protocol engine applies them at named fault points
(:data:`POINTS`).  See docs/faults.md.
"""

from __future__ import annotations

from ._control import WHEN, Faults
from ._rules import ACTIONS, POINTS, Hit, Rule

__all__ = ["ACTIONS", "POINTS", "WHEN", "Faults", "Hit", "Rule"]
