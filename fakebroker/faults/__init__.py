"""Deterministic fault injection for AMQP clients, in-process and over TCP.

``node.faults`` (a :class:`Faults`, installed as ``broker.faults``) holds a
plan of :class:`Rule` objects; every front's protocol engine applies them at
named fault points (:class:`Point`, described in :data:`POINTS`).  The
interface the engines call is :class:`fakebroker.core.faultpoints.FaultHooks`.
See docs/faults.md.
"""

from __future__ import annotations

from ..core.faultpoints import Action, Decision, Hit, Point
from ._control import WHEN, Faults
from ._rules import ACTIONS, POINTS, Rule

__all__ = ["ACTIONS", "POINTS", "WHEN", "Action", "Decision", "Faults", "Hit", "Point", "Rule"]
