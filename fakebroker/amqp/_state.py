"""The connection's state machine: every state, flag and transition (sans-I/O).

h11's rule: everything that affects the connection's state lives in this
file.  The engine and its parts ask a :class:`Machine` what they may do and
report what happened through its methods; nothing else assigns a state or a
flag.

States (``TRANSITIONS`` is the whole table; any other move is a bug):

    HEADER   8 bytes of protocol header            --header_ok-->  START
    START    connection.start-ok on channel 0      --start_ok-->   TUNE
    TUNE     connection.tune-ok                    --tune_ok-->    OPEN
    OPEN     connection.open                       --open_ok-->    RUNNING
    RUNNING  everything
    CLOSING  the server sent connection.close: only close / close-ok count
    HELD     close-ok sent to the client's connection.close: only close
             (close-ok again) and close-ok (reset) count, unreadable bytes are
             ignored; reset after the heartbeat, at most 30 s
    DYING    a pre-open failure: input ignored, socket dropped after 3 s
    CLOSED   over: the front flushes the output and closes the transport

    START, TUNE, OPEN           --failed_silently--> DYING
    RUNNING                     --close_ok_sent-->   HELD
    HEADER ... RUNNING          --close_sent-->      CLOSING
    every state but CLOSED      --ended-->           CLOSED

Channels (``CHANNEL_TRANSITIONS``; ``_channels.py`` moves each through it):

    OPEN           commands go to the core
    SERVER_CLOSED  the server sent channel.close; waits for the client's close-ok
    CLIENT_CLOSED  the client sent channel.close; its close-ok is owed
    GONE           forgotten: the number is free for a new channel.open

    OPEN           --server_close-->  SERVER_CLOSED  channel.close sent
    OPEN           --client_close-->  CLIENT_CLOSED  the core channel closed
    either closed  --close_ok-->      GONE           (the owed close-ok is never sent)
    CLIENT_CLOSED  --input_read-->    GONE           close-ok sent

``input_read`` is RabbitMQ's reader finishing what it had received: it
forgets a channel the client closed (and the channel sends close-ok) only
between two reads of the socket, so frames that came with the close still
reach the closed channel (RabbitMQ 3.10.8, probed: tests/amqp/test_channel_closing.py).
A closed channel's other commands are the channel layer's (``_channels.py``).

Flags (each with one meaning):

- ``input_broken``: the frame parser met bytes it cannot frame; nothing more
  is read (the close already went out);
- ``stalled``: a ``stall`` fault: nothing is read or written (heartbeats
  stop) until :meth:`Machine.unstall`;
- ``stall_held``: the frame a stall took at ``frame_received``, handled when
  the stall ends;
- ``alarm_held``: the basic.publish frame a resource alarm held; reading
  resumes with it when the alarm clears;
- ``blocked_sent``: connection.blocked went out (so connection.unblocked
  goes out when the alarm clears).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ._wire import Frame

__all__ = [
    "CHANNEL_TRANSITIONS",
    "HANDSHAKE_STATES",
    "TRANSITIONS",
    "ChannelEvent",
    "ChannelState",
    "Machine",
    "State",
    "Transition",
    "move_channel",
]


class State(enum.Enum):
    """Where a connection is in its life."""

    HEADER = "header"
    START = "start"
    TUNE = "tune"
    OPEN = "open"
    RUNNING = "running"
    CLOSING = "closing"
    HELD = "held"
    DYING = "dying"
    CLOSED = "closed"


class Transition(enum.Enum):
    """What moves a connection from one state to the next."""

    HEADER_OK = "header_ok"
    START_OK = "start_ok"
    TUNE_OK = "tune_ok"
    OPEN_OK = "open_ok"
    FAILED_SILENTLY = "failed_silently"
    CLOSE_SENT = "close_sent"
    CLOSE_OK_SENT = "close_ok_sent"
    ENDED = "ended"


#: The states before connection.open-ok (RabbitMQ: "starting", "tuning", "opening").
HANDSHAKE_STATES = frozenset({State.START, State.TUNE, State.OPEN})

_LIVE = (State.HEADER, State.START, State.TUNE, State.OPEN, State.RUNNING)

#: (state, transition) -> the next state.
TRANSITIONS: dict[tuple[State, Transition], State] = {
    (State.HEADER, Transition.HEADER_OK): State.START,
    (State.START, Transition.START_OK): State.TUNE,
    (State.TUNE, Transition.TUNE_OK): State.OPEN,
    (State.OPEN, Transition.OPEN_OK): State.RUNNING,
    **{(s, Transition.FAILED_SILENTLY): State.DYING for s in HANDSHAKE_STATES},
    **{(s, Transition.CLOSE_SENT): State.CLOSING for s in _LIVE},
    (State.RUNNING, Transition.CLOSE_OK_SENT): State.HELD,
    **{(s, Transition.ENDED): State.CLOSED for s in State if s is not State.CLOSED},
}


class BadTransition(RuntimeError):
    """A move the table does not allow: a bug in the engine."""


class ChannelState(enum.Enum):
    """Where one channel is in its life."""

    OPEN = "open"
    SERVER_CLOSED = "server_closed"
    CLIENT_CLOSED = "client_closed"
    GONE = "gone"


class ChannelEvent(enum.Enum):
    """What moves a channel from one state to the next."""

    SERVER_CLOSE = "server_close"
    CLIENT_CLOSE = "client_close"
    CLOSE_OK = "close_ok"
    INPUT_READ = "input_read"


_CLOSED = (ChannelState.SERVER_CLOSED, ChannelState.CLIENT_CLOSED)

#: (channel state, event) -> the next state.
CHANNEL_TRANSITIONS: dict[tuple[ChannelState, ChannelEvent], ChannelState] = {
    (ChannelState.OPEN, ChannelEvent.SERVER_CLOSE): ChannelState.SERVER_CLOSED,
    (ChannelState.OPEN, ChannelEvent.CLIENT_CLOSE): ChannelState.CLIENT_CLOSED,
    **{(s, ChannelEvent.CLOSE_OK): ChannelState.GONE for s in _CLOSED},
    (ChannelState.CLIENT_CLOSED, ChannelEvent.INPUT_READ): ChannelState.GONE,
}


def move_channel(state: ChannelState, event: ChannelEvent) -> ChannelState:
    """The channel state ``event`` leads to from ``state``; BadTransition if none."""
    try:
        return CHANNEL_TRANSITIONS[state, event]
    except KeyError:
        raise BadTransition(f"channel {event.value} in state {state.value}") from None


@dataclass(slots=True)
class Machine:
    """One connection's state and flags (see the module's rules)."""

    state: State = State.HEADER
    input_broken: bool = False
    stalled: bool = False
    stall_held: Frame | None = None
    alarm_held: Frame | None = None
    blocked_sent: bool = False

    # -- states ---------------------------------------------------------------------------

    def move(self, transition: Transition) -> State:
        """Apply ``transition``; the new state."""
        try:
            self.state = TRANSITIONS[self.state, transition]
        except KeyError:
            raise BadTransition(f"{transition.value} in state {self.state.value}") from None
        return self.state

    def end(self) -> bool:
        """Move to CLOSED; False if the connection was over already."""
        if self.state is State.CLOSED:
            return False
        self.move(Transition.ENDED)
        return True

    @property
    def closed(self) -> bool:
        """True once the connection is over."""
        return self.state is State.CLOSED

    @property
    def running(self) -> bool:
        """True between connection.open-ok and the first close."""
        return self.state is State.RUNNING

    @property
    def in_handshake(self) -> bool:
        """True in START, TUNE and OPEN."""
        return self.state in HANDSHAKE_STATES

    @property
    def winding_down(self) -> bool:
        """True in CLOSING, HELD, DYING and CLOSED: no more close frames for errors."""
        return self.state in (State.CLOSING, State.HELD, State.DYING, State.CLOSED)

    # -- input ----------------------------------------------------------------------------

    @property
    def takes_bytes(self) -> bool:
        """Whether received bytes go to the frame reader."""
        return self.state is not State.DYING and not self.input_broken

    @property
    def reads(self) -> bool:
        """Whether the engine handles the next frame now."""
        return (
            self.state is not State.CLOSED
            and self.state is not State.DYING
            and not self.input_broken
            and not self.stalled
        )

    def break_input(self) -> None:
        """The frame parser failed: read nothing more."""
        self.input_broken = True

    def next_held(self) -> Frame | None:
        """Take the frame a stall or an alarm held (a stall's first), if any."""
        frame = self.stall_held
        if frame is not None:
            self.stall_held = None
            return frame
        frame, self.alarm_held = self.alarm_held, None
        return frame

    # -- stalls (a fault) -----------------------------------------------------------------

    def stall(self, frame: Frame | None = None) -> None:
        """Stop reading and writing; ``frame`` is handled when the stall ends."""
        self.stalled = True
        if frame is not None:
            self.stall_held = frame

    def unstall(self) -> bool:
        """End a stall; False if there was none (or the connection is over)."""
        if self.state is State.CLOSED or not self.stalled:
            return False
        self.stalled = False
        return True

    @property
    def writes(self) -> bool:
        """Whether output may leave now."""
        return not self.stalled

    # -- resource alarms ------------------------------------------------------------------

    def hold_for_alarm(self, frame: Frame) -> bool:
        """Hold a basic.publish while an alarm is in force; True if blocked must be sent."""
        self.alarm_held = frame
        if self.blocked_sent:
            return False
        self.blocked_sent = True
        return True

    def note_blocked(self) -> None:
        """connection.blocked went out."""
        self.blocked_sent = True

    def unblock(self) -> bool:
        """The alarms cleared; True if connection.blocked had been sent."""
        sent, self.blocked_sent = self.blocked_sent, False
        return sent

    @property
    def alarm_holds(self) -> bool:
        """Whether a publish waits for an alarm to clear."""
        return self.alarm_held is not None
