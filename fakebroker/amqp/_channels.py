"""Channels of a running connection: opening, closing, and commands to the core.

Rules (RabbitMQ 3.10.8, texts verbatim; a channel's states and moves are
``_state.CHANNEL_TRANSITIONS``):
- a method on an unopened channel other than channel.open is 504
  ``expected 'channel.open'``; a second channel.open is 504 ``second
  'channel.open' seen``; channel_max limits how many channels are open at
  once (530), not the channel numbers;
- a heartbeat frame on a channel is 505;
- the client's channel.close closes the core channel at once; its close-ok
  goes out, and the number is free, once the input received so far is read
  (``Channels.settle``, the engine's end of a read); until then the frames
  that came with the close reach the closed channel;
- a closed channel (by the server's channel.close or the client's) still
  assembles its frames (their 505 / 501 errors stand) but discards the
  commands, their content properties never decoded, except: channel.open is
  504 ``second 'channel.open' seen``; channel.close is answered close-ok;
  close-ok forgets the channel at once (a close-ok owed is then never sent);
- a connection error or close forgets every channel, close-oks owed unsent;
- methods only a server sends, and connection methods on a channel, are 503
  ``unimplemented method``;
- a channel error from the core closes the channel; a connection error
  propagates to the engine;
- the channel-level fault decisions (close_channel, return) are carried out
  here; connection-level ones go to ``Engine.apply``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pamqp import base
from pamqp import commands as C

from fakebroker.core import AMQPChannelError, AMQPError, Channel
from fakebroker.core.faultpoints import Action, Decision, Point

from . import _faults as F
from ._codec import decode_method
from ._content import Assembler, Command
from ._dispatch import HANDLERS, Reply
from ._errors import ProtocolError, channel_error, command_invalid, octets, unexpected_frame
from ._state import ChannelEvent, ChannelState, move_channel
from ._wire import FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, Frame

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["Channels", "OpenChannel", "class_and_method"]


class OpenChannel:
    """The engine's side of one channel."""

    __slots__ = ("assembler", "closing", "core", "state")

    def __init__(self, core: Channel) -> None:
        self.core = core
        self.assembler = Assembler(limit=core.broker.max_message_size)
        self.state = ChannelState.OPEN
        #: True once either side sent channel.close (``state`` is not OPEN; read per frame).
        self.closing = False

    def move(self, event: ChannelEvent) -> None:
        """Apply ``event`` (``_state.CHANNEL_TRANSITIONS``); a closed channel ignores content."""
        self.state = move_channel(self.state, event)  # every move leaves OPEN for good
        self.closing = self.assembler.ignoring = True


def _ids(method: base.Frame) -> tuple[int, int]:
    return method.index >> 16, method.index & 0xFFFF


def class_and_method(method: base.Frame) -> dict[str, int]:
    """``class_id`` and ``method_id`` of ``method``, as error keywords."""
    class_id, method_id = _ids(method)
    return {"class_id": class_id, "method_id": method_id}


def _misplaced(method: base.Frame) -> ProtocolError:
    if isinstance(method, C.Channel.Open):
        return channel_error("second 'channel.open' seen", **class_and_method(method))
    return command_invalid("unimplemented method", **class_and_method(method))


class Channels:
    """The open channels of one connection; part of an :class:`~fakebroker.amqp.Engine`."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine
        self._open: dict[int, OpenChannel] = {}
        #: Channels the client closed, each owed its close-ok at the end of the read.
        self._owed: dict[int, OpenChannel] = {}
        #: Exchange and routing key of each confirm a confirm_sending rule may match.
        self._confirm_info: dict[tuple[int, int], tuple[str, str]] = {}

    # -- lookups --------------------------------------------------------------------------

    def get(self, number: int) -> OpenChannel | None:
        """The channel ``number`` if it is open (closing included)."""
        return self._open.get(number)

    def live(self, number: int) -> bool:
        """Whether channel ``number`` is open and not closing."""
        chan = self._open.get(number)
        return chan is not None and not chan.closing

    def unacked(self) -> int:
        """Unacknowledged deliveries over every channel."""
        return sum(len(c.core.unacked) for c in self._open.values())

    def clear(self) -> None:
        """Forget every channel (the core connection is going); close-oks owed stay unsent."""
        self._open.clear()
        self._owed.clear()

    def settle(self) -> None:
        """The input received so far is read: each channel the client closed goes, close-ok sent."""
        if not self._owed:
            return
        owed, self._owed = self._owed, {}
        for number, chan in owed.items():
            chan.move(ChannelEvent.INPUT_READ)
            del self._open[number]
            self._engine.out.send(number, C.Channel.CloseOk())

    def confirm_target(self, number: int, tag: int) -> tuple[str, str] | None:
        """Take the exchange and routing key recorded for confirm ``tag``, if any."""
        return self._confirm_info.pop((number, tag), None)

    # -- frames ---------------------------------------------------------------------------

    def on_frame(self, frame: Frame) -> None:
        """A frame on channel ``frame.channel`` of a running connection."""
        chan = self._open.get(frame.channel)
        if frame.type == FRAME_HEARTBEAT:
            raise unexpected_frame(octets(frame.type, frame.payload))
        if chan is None:
            return self._on_unopened(frame)
        command = chan.assembler.feed(frame)
        if chan.closing:
            if command is not None:
                self._on_closed_command(frame.channel, chan, command.method)
            return None
        if command is not None:
            self._on_command(frame.channel, chan, command)
        elif frame.type == FRAME_HEADER and self._engine.faults.armed(
            Point.CONTENT_HEADER_RECEIVED
        ):
            pending = chan.assembler.pending
            if pending is not None:
                decision = F.at_content_header(self._engine, frame.channel, pending.method)
                if decision is not None:
                    self._engine.apply(decision)

    def _on_unopened(self, frame: Frame) -> None:
        if frame.type != FRAME_METHOD:  # RabbitMQ's assembler speaks first (probed): 505
            raise unexpected_frame("expected method frame, got non method frame instead")
        method = decode_method(frame.payload)
        if not isinstance(method, C.Channel.Open):
            raise channel_error("expected 'channel.open'", **class_and_method(method))
        eng = self._engine
        channel_max = eng.channel_max
        if channel_max and len(self._open) >= channel_max:
            raise ProtocolError(
                530,
                f"number of channels opened ({len(self._open)}) has reached the "
                f"negotiated channel_max ({channel_max})",
            )
        conn = eng.connection
        assert conn is not None
        self._open[frame.channel] = OpenChannel(conn.open_channel(frame.channel))
        eng.out.send(frame.channel, C.Channel.OpenOk())

    def _on_closed_command(self, number: int, chan: OpenChannel, method: base.Frame) -> None:
        if isinstance(method, C.Channel.Open):  # RabbitMQ's reader still counts it as open
            raise _misplaced(method)
        if isinstance(method, C.Channel.Close):  # answered; the channel stays as it is
            self._engine.out.send(number, C.Channel.CloseOk())
        elif isinstance(method, C.Channel.CloseOk):
            chan.move(ChannelEvent.CLOSE_OK)
            del self._open[number]
            self._owed.pop(number, None)

    # -- commands -------------------------------------------------------------------------

    def _on_command(self, number: int, chan: OpenChannel, command: Command) -> None:
        method = command.method
        try:
            decision = F.at_command(self._engine, number, method)
            if decision is not None and self._apply_at_command(number, chan, command, decision):
                return
            reply = self._run(number, chan, command)
        except AMQPError as error:
            error.class_id, error.method_id = _ids(method)
            if not isinstance(error, AMQPChannelError):
                raise
            self.close(number, error)
            self._engine.log.channel_error(number, method.name.lower(), error)
            return
        if isinstance(method, C.Basic.Publish) and self._after_publish(number, chan, method):
            return
        self._send_reply(number, reply)

    def _apply_at_command(
        self, number: int, chan: OpenChannel, command: Command, decision: Decision
    ) -> bool:
        """Carry out a method_received fault; True when it took the command."""
        if decision.action is Action.CLOSE_CHANNEL:
            chan.core.teardown()
            raise AMQPChannelError(decision.code or 406, decision.text or "fault injected")
        if decision.action is Action.RETURN and isinstance(command.method, C.Basic.Publish):
            self._publish(chan, command, command.method, unroutable=True)
            return True
        if decision.action is Action.STALL:
            # handled now, but nothing leaves or is read until the stall ends
            self._engine.apply(decision)
            return False
        return self._engine.apply(decision)

    def _after_publish(self, number: int, chan: OpenChannel, method: C.Basic.Publish) -> bool:
        """message_routed; True when a fault ended the connection."""
        eng = self._engine
        if chan.core.confirm and eng.faults.armed(Point.CONFIRM_SENDING):
            self._confirm_info[number, chan.core.publish_seq] = (
                method.exchange,
                method.routing_key,
            )
        if not eng.faults.armed(Point.MESSAGE_ROUTED):
            return False
        decision = F.at_routed(eng, number, method)
        return decision is not None and eng.apply(decision)

    def _run(self, number: int, chan: OpenChannel, command: Command) -> Reply:
        method = command.method
        if isinstance(method, C.Channel.Close):
            chan.core.close()
            chan.move(ChannelEvent.CLIENT_CLOSE)
            self._owed[number] = chan  # close-ok at the end of the read (settle)
            return None
        if type(method) is C.Basic.Publish:
            self._publish(chan, command, method)
            return None
        handler = HANDLERS.get(type(method))
        if handler is None:
            raise _misplaced(method)
        return handler(chan.core, method)

    def _publish(
        self,
        chan: OpenChannel,
        command: Command,
        method: C.Basic.Publish,
        *,
        unroutable: bool = False,
    ) -> None:
        chan.core.basic_publish(
            method.exchange,
            method.routing_key,
            command.body or b"",
            command.properties or {},
            method.mandatory,
            method.immediate,
            wire=_header_for_wire(command),
            unroutable=unroutable,
            size=command.discarded,
        )

    def _send_reply(self, number: int, reply: Reply) -> None:
        if reply is None:
            return
        if isinstance(reply, tuple):
            self._engine.out.send_content(number, *reply)
        else:
            self._engine.out.send(number, reply)

    def close(self, number: int, error: AMQPError) -> None:
        """Send channel.close for ``error``; the channel ignores all but close / close-ok."""
        chan = self._open.get(number)
        if chan is None or chan.closing:
            return
        chan.move(ChannelEvent.SERVER_CLOSE)
        close = C.Channel.Close(
            reply_code=error.code,
            reply_text=error.reply_text,
            class_id=error.class_id,
            method_id=error.method_id,
        )
        self._engine.out.send(number, close)


def _header_for_wire(command: Command) -> bytes | None:
    """The client's content header, re-sendable as is (weight 0, as the server sends)."""
    header = command.header
    if header is None or header[2:4] != b"\x00\x00":
        return None
    return header
