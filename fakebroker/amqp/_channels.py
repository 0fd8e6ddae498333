"""Channels of a running connection: opening, closing, and commands to the core.

Rules (RabbitMQ 3.10, texts verbatim):
- a method on an unopened channel other than channel.open is 504
  ``expected 'channel.open'``; a second channel.open is 504 ``second
  'channel.open' seen``; channel_max limits how many channels are open at
  once (530), not the channel numbers;
- a heartbeat frame on a channel is 505;
- after the server sent channel.close, everything on that channel but
  channel.close / close-ok is discarded until close-ok arrives;
- methods only a server sends, and connection methods on a channel, are 503
  ``unimplemented method``;
- a channel error from the core closes the channel; a connection error
  propagates to the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pamqp import base
from pamqp import commands as C

from fakebroker.core import AMQPChannelError, AMQPError, Channel, Connection, Message

from . import _faults as F
from ._codec import decode_method
from ._content import Assembler, Command
from ._dispatch import HANDLERS, Reply
from ._errors import ProtocolError, channel_error, command_invalid, octets, unexpected_frame
from ._wire import FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, Frame

__all__ = ["ChannelsMixin"]


class _Chan:
    """The engine's side of one channel."""

    __slots__ = ("assembler", "closing", "core")

    def __init__(self, core: Channel) -> None:
        self.core = core
        self.assembler = Assembler()
        self.closing = False


def _ids(method: base.Frame) -> tuple[int, int]:
    return method.index >> 16, method.index & 0xFFFF


def _kw(method: base.Frame) -> dict[str, int]:
    class_id, method_id = _ids(method)
    return {"class_id": class_id, "method_id": method_id}


def _misplaced(method: base.Frame) -> ProtocolError:
    if isinstance(method, C.Channel.Open):
        return channel_error("second 'channel.open' seen", **_kw(method))
    return command_invalid("unimplemented method", **_kw(method))


class ChannelsMixin:
    """The channel half of :class:`~fakebroker.amqp.Engine`."""

    connection: Connection | None
    channel_max: int
    _channels: dict[int, _Chan]

    if TYPE_CHECKING:  # provided by the Engine this mixin is part of

        def _send(self, channel: int, method: base.Frame) -> None: ...

        def _send_content(
            self, channel: int, method: base.Frame | bytes, message: Message
        ) -> None: ...

    def _on_channel_frame(self, frame: Frame) -> None:
        chan = self._channels.get(frame.channel)
        if frame.type == FRAME_HEARTBEAT:
            raise unexpected_frame(octets(frame.type, frame.payload))
        if chan is None:
            return self._on_unopened(frame)
        if chan.closing:
            return self._on_closing_channel(frame.channel, frame)
        command = chan.assembler.feed(frame)
        if command is not None:
            self._on_command(frame.channel, chan, command)
        elif frame.type == FRAME_HEADER:
            F.on_content_header(self, frame.channel, chan.assembler.pending)  # type: ignore[arg-type]

    def _on_unopened(self, frame: Frame) -> None:
        if frame.type != FRAME_METHOD:
            raise channel_error("expected 'channel.open'")
        method = decode_method(frame.payload)
        if not isinstance(method, C.Channel.Open):
            raise channel_error("expected 'channel.open'", **_kw(method))
        if self.channel_max and len(self._channels) >= self.channel_max:
            raise ProtocolError(
                530,
                f"number of channels opened ({len(self._channels)}) has reached the "
                f"negotiated channel_max ({self.channel_max})",
            )
        assert self.connection is not None
        self._channels[frame.channel] = _Chan(self.connection.open_channel(frame.channel))
        self._send(frame.channel, C.Channel.OpenOk())

    def _on_closing_channel(self, number: int, frame: Frame) -> None:
        if frame.type != FRAME_METHOD:
            return
        method = decode_method(frame.payload)
        if isinstance(method, C.Channel.Open):  # RabbitMQ's reader still counts it as open
            raise _misplaced(method)
        if isinstance(method, C.Channel.Close):
            # Answered, but the channel stays closing until the client's
            # close-ok for the server's close arrives (RabbitMQ 3.10).
            self._send(number, C.Channel.CloseOk())
        elif isinstance(method, C.Channel.CloseOk):
            del self._channels[number]

    def _on_command(self, number: int, chan: _Chan, command: Command) -> None:
        method = command.method
        try:
            if F.on_command(self, number, chan, command):  # type: ignore[arg-type]
                return
            reply = self._run(number, chan, command)
        except AMQPError as error:
            error.class_id, error.method_id = _ids(method)
            if not isinstance(error, AMQPChannelError):
                raise
            self._close_channel(number, error)
            return
        if not F.after_command(self, number, chan, command):  # type: ignore[arg-type]
            self._send_reply(number, reply)

    def _run(self, number: int, chan: _Chan, command: Command) -> Reply:
        method = command.method
        if isinstance(method, C.Channel.Close):
            chan.core.close()
            del self._channels[number]
            return C.Channel.CloseOk()
        if type(method) is C.Basic.Publish:
            chan.core.basic_publish(
                method.exchange,
                method.routing_key,
                command.body or b"",
                command.properties or {},
                method.mandatory,
                method.immediate,
                wire=_header_for_wire(command),
            )
            return None
        handler = HANDLERS.get(type(method))
        if handler is None:
            raise _misplaced(method)
        return handler(chan.core, method)

    def _send_reply(self, number: int, reply: Reply) -> None:
        if reply is None:
            return
        if isinstance(reply, tuple):
            self._send_content(number, *reply)
        else:
            self._send(number, reply)

    def _close_channel(self, number: int, error: AMQPError) -> None:
        chan = self._channels.get(number)
        if chan is None or chan.closing:
            return
        chan.closing = True
        close = C.Channel.Close(
            reply_code=error.code,
            reply_text=error.reply_text,
            class_id=error.class_id,
            method_id=error.method_id,
        )
        self._send(number, close)


def _header_for_wire(command: Command) -> bytes | None:
    """The client's content header, re-sendable as is (weight 0, as the server sends)."""
    header = command.header
    if header is None or header[2:4] != b"\x00\x00":
        return None
    return header
