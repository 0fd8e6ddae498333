"""``broker.faults``: the fault plan of one broker, and the API to write it.

Every builder adds one :class:`~fakebroker.faults.Rule` and returns it; the
engines of every front (in-process and TCP) consult the plan at their fault
points.  Each firing is written to the broker's journal as a ``fault`` entry.

    broker.faults.drop_connection(on="basic.publish", nth=3, when="after_route")
    with broker.faults.active():
        broker.faults.nack_confirms(routing_key="orders.*", every=2)
        ...                                   # rules added here go on exit
    broker.faults.clear()

Match keywords every builder takes: ``connection`` (a pattern over the
connection's name or its client-given ``connection_name``), ``channel``,
``exchange``, ``queue``, ``routing_key``, the counts ``nth`` / ``every`` /
``after`` / ``probability`` and ``times`` (default 1, or unlimited with
``every``, ``after`` or ``probability``).
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..core import forced_text
from ..core.faultpoints import Action, Decision, Hit, Point
from ._rules import Rule, _like

if TYPE_CHECKING:
    from ..core import Broker, Connection

__all__ = ["Faults"]

#: ``when=`` of drop_connection / close_connection / stall -> the fault point.
WHEN: dict[str, Point] = {
    "before": Point.METHOD_RECEIVED,
    "frame": Point.FRAME_RECEIVED,
    "after_route": Point.MESSAGE_ROUTED,
    "mid_publish": Point.CONTENT_HEADER_RECEIVED,
    "deliver": Point.DELIVERY_SENDING,
}
_PUBLISH_POINTS = (Point.MESSAGE_ROUTED, Point.CONTENT_HEADER_RECEIVED)


class Faults:
    """The fault plan of one broker: rules, a seeded RNG, and the builders.

    It implements the engines' :class:`~fakebroker.core.faultpoints.FaultHooks`;
    a :class:`~fakebroker.Node` installs one as ``broker.faults``.  ``lock`` is
    the lock every change to the plan (and every at-once fault) holds: the
    node's; without one the plan makes its own.
    """

    def __init__(
        self, *, broker: Broker, lock: threading.RLock | None = None, seed: int = 0
    ) -> None:
        self.broker = broker
        self.lock = lock if lock is not None else threading.RLock()
        self._rules: list[Rule] = []
        self._points: frozenset[Point | str] = frozenset()
        self.seed = seed
        self.rng = random.Random(seed)

    def install(self) -> Faults:
        """Make this plan the one the broker's engines consult (``broker.faults``)."""
        self.broker.faults = self
        return self

    # -- the plan ---------------------------------------------------------------------------

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules in force, in the order they are tried."""
        return tuple(self._rules)

    def add(self, rule: Rule) -> Rule:
        """Put ``rule`` in force."""
        with self.lock:
            self._rules.append(rule)
            self._reindex()
        return rule

    def load(self, plan: Iterable[Rule | Mapping[str, Any]]) -> list[Rule]:
        """Add a fresh copy of every rule of ``plan`` (rules, or ``Rule`` keyword dictionaries).

        The copies are returned: a plan kept at module level and loaded by
        several tests starts from zero counts each time.
        """
        return [self.add(r.fresh() if isinstance(r, Rule) else Rule(**dict(r))) for r in plan]

    def remove(self, rule: Rule) -> None:
        """Take ``rule`` out of force (a no-op if it is not)."""
        with self.lock:
            if rule in self._rules:
                self._rules.remove(rule)
                self._reindex()

    def clear(self) -> None:
        """Remove every rule."""
        with self.lock:
            self._rules.clear()
            self._reindex()

    def reseed(self, seed: int) -> None:
        """Restart the RNG behind ``probability=`` with ``seed``."""
        self.seed = seed
        self.rng = random.Random(seed)

    @contextlib.contextmanager
    def active(self, *rules: Rule | Mapping[str, Any]) -> Iterator[Faults]:
        """Rules in force for a ``with`` block: ``rules``, and any added inside it."""
        before = set(self._rules)
        self.load(rules)
        try:
            yield self
        finally:
            for rule in [r for r in self._rules if r not in before]:
                self.remove(rule)

    def _reindex(self) -> None:
        live = {Point(r.point) for r in self._rules if not r.exhausted}
        # members and their values: engines ask with a Point, people with a string
        self._points = frozenset(live | {p.value for p in live})

    # -- what the engines call (FaultHooks; the node's lock held) ---------------------------

    def armed(self, point: Point | str) -> bool:
        """Whether any live rule waits at ``point`` (cheap: engines ask at every point)."""
        return bool(self._points) and point in self._points

    def fire(self, hit: Hit) -> Decision | None:
        """The first rule (in plan order) that fires on ``hit``, as a decision; or None.

        Only that rule counts the firing (``fired``) and is journaled; the
        rules after it are not asked (their ``seen`` stays).
        """
        for rule in list(self._rules):
            if rule.matches(hit) and rule.decide(self.rng):
                return self._fired(rule, hit)
        return None

    def fire_all(self, hit: Hit) -> tuple[Decision, ...]:
        """Every rule that fires on ``hit`` (frame_sending: latency and bandwidth combine)."""
        fired = [r for r in list(self._rules) if r.matches(hit) and r.decide(self.rng)]
        return tuple(self._fired(rule, hit) for rule in fired)

    def _fired(self, rule: Rule, hit: Hit) -> Decision:
        self.broker.journal.record(
            "fault",
            hit.vhost,
            exchange=hit.exchange,
            routing_key=hit.routing_key,
            queue=hit.queue,
            action=str(rule.action),
            point=str(hit.point),
            connection=hit.connection,
            channel=hit.channel,
            method=hit.method,
            rule=rule,
        )
        if rule.exhausted:
            self._reindex()
        return rule.decision(hit)

    # -- connection faults ------------------------------------------------------------------

    def drop_connection(
        self,
        *,
        on: str | None = None,
        when: str = "before",
        holding: int | None = None,
        after_bytes: int | None = None,
        after_bytes_received: int | None = None,
        after_bytes_sent: int | None = None,
        **match: Any,
    ) -> Rule:
        """Reset the transport (TCP: abort; in-process: ConnectionResetError).

        ``when``: ``"before"`` the method ``on`` is handled, ``"after_route"``
        (a publish routed, its confirm not sent), ``"mid_publish"`` (content
        header received, body not), ``"frame"`` (any frame), ``"deliver"``
        (right after a delivery goes out); ``holding=N``: once the connection
        holds N unacked deliveries.

        Byte counts, per connection, the handshake included (Toxiproxy's
        ``limit_data``): ``after_bytes_received=N`` (or ``after_bytes=N``):
        the engine reads exactly N bytes from the client, then resets;
        ``after_bytes_sent=N``: exactly N bytes of the broker's output reach
        the client, then the transport closes (the client reads EOF, mid-frame
        when N falls inside one).  They match on ``connection`` only.
        """
        counts = {
            Point.BYTES_RECEIVED: [n for n in (after_bytes, after_bytes_received) if n is not None],
            Point.BYTES_SENT: [after_bytes_sent] if after_bytes_sent is not None else [],
        }
        given = [(point, n) for point, ns in counts.items() for n in ns]
        if len(given) > 1:
            raise ValueError(
                "drop_connection takes one of after_bytes, after_bytes_received, after_bytes_sent"
            )
        if given:
            point, count = given[0]
            return self._add(Action.DROP, point, on, bytes=count, holding=holding, **match)
        if holding is not None:
            return self._add(Action.DROP, Point.DELIVERY_SENDING, on, holding=holding, **match)
        point = _point(when)
        if on is None and point in _PUBLISH_POINTS:
            on = "basic.publish"
        return self._add(Action.DROP, point, on, **match)

    def refuse_connections(self, n: int | None = 1, **match: Any) -> Rule:
        """Refuse the next ``n`` connections (None: every one the counts pick).

        TCP: the socket is reset at accept; in-process: ConnectionRefusedError.
        """
        return self._add(Action.REFUSE, Point.CONNECTION_OPENING, None, times=n, **match)

    def close_connection(
        self,
        *,
        on: str | None = None,
        when: str = "before",
        code: int = 320,
        text: str | None = None,
        **match: Any,
    ) -> Rule:
        """connection.close from the server (default 320 CONNECTION_FORCED)."""
        text = text or forced_text("fault injected")
        return self._add(Action.CLOSE_CONNECTION, _point(when), on, code=code, text=text, **match)

    def stall(
        self,
        *,
        on: str | None = None,
        when: str = "frame",
        duration: float | None = None,
        **match: Any,
    ) -> Rule:
        """Stop reading and writing (heartbeats stop too), for ``duration`` s or for good."""
        return self._add(Action.STALL, _point(when), on, delay=duration, **match)

    def latency(self, delay: float, **match: Any) -> Rule:
        """Hold every frame the broker sends ``delay`` seconds (broker clock)."""
        match.setdefault("times", None)
        return self._add(Action.LATENCY, Point.FRAME_SENDING, None, delay=delay, **match)

    def bandwidth(self, rate: float, **match: Any) -> Rule:
        """Send at most ``rate`` bytes per second (broker clock)."""
        match.setdefault("times", None)
        return self._add(Action.BANDWIDTH, Point.FRAME_SENDING, None, rate=rate, **match)

    def slicer(self, size: int, *, delay: float | None = None, **match: Any) -> Rule:
        """Send the broker's output in slices of at most ``size`` bytes (Toxiproxy's slicer).

        Each slice leaves on its own: a TCP front writes it separately, the
        in-process pipe hands it over by itself, so a client reads frames in
        pieces (``size=1``: a byte at a time).  ``delay``: seconds (broker
        clock) between two slices.  The bytes and their order are unchanged;
        byte counts (``after_bytes_sent``) apply to the slices as they leave.
        """
        match.setdefault("times", None)
        return self._add(Action.SLICE, Point.FRAME_SENDING, None, size=size, delay=delay, **match)

    # -- publish faults ---------------------------------------------------------------------

    def nack_confirms(self, **match: Any) -> Rule:
        """Send basic.nack instead of basic.ack (the message stays routed)."""
        return self._add(Action.NACK, Point.CONFIRM_SENDING, None, **match)

    def delay_confirms(self, delay: float, **match: Any) -> Rule:
        """Send confirms ``delay`` seconds late (broker clock)."""
        return self._add(Action.DELAY, Point.CONFIRM_SENDING, None, delay=delay, **match)

    def withhold_confirms(self, **match: Any) -> Rule:
        """Never send the confirm (the message stays routed)."""
        return self._add(Action.WITHHOLD, Point.CONFIRM_SENDING, None, **match)

    def return_unroutable(self, **match: Any) -> Rule:
        """Treat a publish as unroutable: not enqueued, basic.return 312 if mandatory."""
        return self._add(Action.RETURN, Point.METHOD_RECEIVED, "basic.publish", **match)

    # -- consume faults ---------------------------------------------------------------------

    def cancel_consumer(self, **match: Any) -> Rule:
        """basic.cancel from the server right after a delivery to the consumer goes out."""
        return self._add(Action.CANCEL, Point.DELIVERY_SENDING, None, **match)

    def duplicate_delivery(self, **match: Any) -> Rule:
        """Deliver a message a second time (it is enqueued again after going out)."""
        return self._add(Action.DUPLICATE, Point.DELIVERY_SENDING, None, **match)

    # -- channel faults ---------------------------------------------------------------------

    def close_channel(
        self, *, on: str, code: int = 406, text: str | None = None, **match: Any
    ) -> Rule:
        """channel.close ``code`` instead of handling the method ``on``."""
        text = text or f"fault injected on '{on}'"
        return self._add(
            Action.CLOSE_CHANNEL, Point.METHOD_RECEIVED, on, code=code, text=text, **match
        )

    # -- faults at once ---------------------------------------------------------------------

    def drop_connections(
        self,
        *,
        connection: str | None = None,
        user: str | None = None,
        vhost: str | None = None,
    ) -> int:
        """Drop the matching client connections now, as a TCP reset would; how many.

        ``connection`` is an ``fnmatch`` pattern over the connection's name
        (``"peer -> local"``) or its client-given ``connection_name``; ``user``
        and ``vhost`` are patterns too; no pattern matches every open
        connection.  Each one is torn down at once (its unacked deliveries
        requeued) and its transport reset: over TCP the socket is aborted,
        in-process the client's next read or write raises
        ``ConnectionResetError``.  Safe from any thread; each drop is
        journaled as a ``fault`` entry (``action="drop"``).
        """
        with self.lock:
            dropped = [
                conn
                for conn in list(self.broker.connections)
                if _connection_matches(conn, connection, user, vhost)
            ]
            for conn in dropped:
                self.broker.journal.record(
                    "fault",
                    conn.vhost.name,
                    action="drop",
                    point=None,
                    connection=conn.name,
                    user=conn.user,
                )
                conn.reset()
        return len(dropped)

    def restart(self) -> None:
        """Restart the broker now (see ``Broker.restart``)."""
        with self.lock:
            self.broker.restart()

    def raise_alarm(self, resource: str = "memory") -> None:
        """Raise a resource alarm: publishing connections block (see ``Broker.raise_alarm``)."""
        with self.lock:
            self.broker.raise_alarm(resource)

    def clear_alarm(self, resource: str | None = None) -> None:
        """Clear one alarm (all when None); blocked connections resume."""
        with self.lock:
            self.broker.clear_alarm(resource)

    # -- plumbing ---------------------------------------------------------------------------

    def _add(self, action: Action, point: Point, on: str | None, **fields: Any) -> Rule:
        if "times" not in fields and any(fields.get(k) is not None for k in _REPEATING):
            fields["times"] = None
        return self.add(Rule(action=action, point=point, method=on, **fields))


_REPEATING = ("every", "after", "probability")


def _connection_matches(
    conn: Connection, connection: str | None, user: str | None, vhost: str | None
) -> bool:
    if connection is not None:
        given = str(conn.client_properties.get("connection_name") or "")
        if not (_like(conn.name, connection) or _like(given, connection)):
            return False
    if user is not None and not _like(conn.user, user):
        return False
    return vhost is None or _like(conn.vhost.name, vhost)


def _point(when: str) -> Point:
    try:
        return WHEN[when]
    except KeyError:
        raise ValueError(f"when= must be one of {sorted(WHEN)}, not {when!r}") from None
