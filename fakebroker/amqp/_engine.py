"""The per-connection AMQP 0-9-1 engine: bytes in, core calls, bytes out (sans-I/O).

Connection states and what each accepts (``_HANDSHAKE`` is the table for the
first three):

    HEADER   8 bytes of protocol header         -> START (or header back + CLOSED)
    START    connection.start-ok on channel 0    -> TUNE
    TUNE     connection.tune-ok                  -> OPEN
    OPEN     connection.open                     -> RUNNING
    RUNNING  everything                          -> CLOSING / CLOSED
    CLOSING  server sent connection.close: only close / close-ok count -> CLOSED
    DYING    pre-open failure: input ignored, socket dropped after 3 s -> CLOSED

Rules (RabbitMQ 3.10):
- an error before connection.open is answered with silence and a 3 s delay,
  except a refused login from a client with ``authentication_failure_close``
  (403 close frame) and an unknown vhost (530 close frame);
- afterwards a connection error sends connection.close and waits up to 30 s
  for close-ok; unknown methods and field types drop the socket at once;
- a channel error sends channel.close; the channel then ignores everything
  but channel.close / close-ok;
- a method's synchronous reply is written before the core's outbox is drained;
- an unexpected exception becomes 541 INTERNAL_ERROR, never escapes.
"""

from __future__ import annotations

import contextlib
import enum
import logging
from collections.abc import Callable
from typing import Any

from pamqp import base
from pamqp import commands as C

from fakebroker.core import AMQPError, Broker, Connection, Message, Timer
from fakebroker.core.events import Blocked

from . import _faults as F
from . import _handshake as H
from ._channels import ChannelsMixin, _Chan, _kw
from ._codec import HEARTBEAT_FRAME, content_frames, decode_method, encode_method, header_payload
from ._errors import ProtocolError, channel_error, command_invalid, octets, unexpected_frame
from ._events import send_event
from ._faults import Shaper
from ._heartbeat import Heartbeats
from ._wire import FRAME_HEARTBEAT, FRAME_METHOD, Frame, FrameReader

__all__ = ["Engine"]

INTERNAL_ERROR_TEXT = "INTERNAL_ERROR"
#: fakebroker's own failures (a bug: the client gets 541 INTERNAL_ERROR) are logged here.
LOG = logging.getLogger("fakebroker.amqp")
_PUBLISH_ID = (C.Basic.Publish.index).to_bytes(4, "big")


class State(enum.Enum):
    """Where a connection is in its life."""

    HEADER = "header"
    START = "start"
    TUNE = "tune"
    OPEN = "open"
    RUNNING = "running"
    CLOSING = "closing"
    DYING = "dying"
    CLOSED = "closed"


class Engine(ChannelsMixin):
    """One client connection, sans-I/O: see docs/architecture.md ("The engine API")."""

    def __init__(
        self,
        *,
        broker: Broker,
        peer: str = "127.0.0.1:0",
        local: str = "127.0.0.1:5672",
        heartbeat: int = 60,
        frame_max: int = 131072,
        channel_max: int = 2047,
        handshake_timeout: float = 10.0,
        silent_close_delay: float = 3.0,
        closing_timeout: float = 30.0,
    ) -> None:
        self.broker = broker
        self.peer, self.local = peer, local
        self.wakeup: Callable[[], None] | None = None
        self.connection: Connection | None = None
        self.state = State.HEADER
        self.frame_max = H.FRAME_MIN_SIZE
        self.channel_max = channel_max
        self.heartbeat = 0
        self._offer = (channel_max, frame_max, heartbeat)
        self._delays = (silent_close_delay, closing_timeout)
        self._reader = FrameReader(frame_max=H.FRAME_MIN_SIZE)
        self._out: list[bytes] = []
        self._bytes_in = self._bytes_out = 0
        self._channels: dict[int, _Chan] = {}
        self._busy = False
        self._stalled = False
        self._login: tuple[str, dict[str, Any], frozenset[str]] = ("", {}, frozenset())
        self._heartbeats: Heartbeats | None = None
        self._timer: Timer | None = broker.clock.call_later(handshake_timeout, self._on_deadline)
        # fault injection (_faults.py) and resource alarms
        self._faults = broker.faults
        #: True when a fault asks the front to reset the transport (abort, not close).
        self.reset_requested = False
        self._frozen = False
        self._held: Frame | None = None
        self._blocked_sent = False
        self._shaper: Shaper | None = None
        self._confirm_info: dict[tuple[int, int], tuple[str, str]] = {}
        F.on_open(self)

    # -- the front's API --------------------------------------------------------------------

    @property
    def name(self) -> str:
        """RabbitMQ's connection name, ``"peer -> local"``."""
        return f"{self.peer} -> {self.local}"

    @property
    def closed(self) -> bool:
        """True once the connection is over: flush :meth:`data_to_send`, then close."""
        return self.state is State.CLOSED

    def receive_data(self, data: bytes) -> None:
        """Bytes from the client; ``b""`` means it closed its side."""
        if self.state is State.CLOSED:
            return
        if not data:
            self._finish()
            return
        data, rest, cut = F.cut_input(self, data)
        self._bytes_in += len(data)
        if self.state is State.DYING or self._stalled:
            return
        self._busy = True
        try:
            self._reader.feed(data)
            self._guarded(self._process)
        finally:
            self._busy = False
        self._guarded(self._drain)
        if cut is not None and F.apply(self, cut) and self._frozen:
            self._reader.feed(rest)

    def data_to_send(self) -> bytes:
        """Every pending output byte (possibly ``b""``)."""
        if not self._busy:
            self._guarded(self._drain)
        if self._frozen:
            return b""
        chunks = F.shape(self, self._out)
        self._out = []
        return b"".join(chunks)

    def connection_lost(self) -> None:
        """The transport died: tear the core connection down."""
        self._finish()

    def close_forced(self, text: str) -> None:
        """Operator close: 320 CONNECTION_FORCED if open, else just drop."""
        if self.connection is not None and self.state is State.RUNNING:
            self.connection.close_forced(text)
        else:
            self._finish()
        self._notify()

    # -- plumbing ---------------------------------------------------------------------------

    def _guarded(self, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception:
            LOG.exception("internal error on connection %s", self.name)
            self._internal_error()

    def _internal_error(self) -> None:
        if self.state in (State.CLOSED, State.DYING, State.CLOSING):
            self._finish()
            return
        close = C.Connection.Close(
            reply_code=541, reply_text=INTERNAL_ERROR_TEXT, class_id=0, method_id=0
        )
        self._send(0, close)
        self._teardown_core()
        self._start_closing(self._delays[1])

    def _notify(self) -> None:
        if self.wakeup is not None and not self._busy and (self._out or self.closed):
            self.wakeup()

    def _write(self, data: bytes) -> None:
        self._out.append(data)
        self._bytes_out += len(data)

    def _send(self, channel: int, method: base.Frame) -> None:
        self._write(encode_method(channel, method))

    def _send_content(self, channel: int, method: base.Frame | bytes, message: Message) -> None:
        """A content-bearing method (a pamqp method or its encoded frame), header and body."""
        if not isinstance(message.wire, bytes):
            message.wire = header_payload(len(message.body), message.properties)
        self._write(method if isinstance(method, bytes) else encode_method(channel, method))
        for frame in content_frames(channel, message.wire, message.body, self.frame_max):
            self._write(frame)

    def _send_confirm(self, channel: int, delivery_tag: int, multiple: bool, ack: bool) -> None:
        """basic.ack or basic.nack for a publish, journaled as ``confirmed``."""
        if ack:
            self._send(channel, C.Basic.Ack(delivery_tag=delivery_tag, multiple=multiple))
        else:
            nack = C.Basic.Nack(delivery_tag=delivery_tag, multiple=multiple, requeue=False)
            self._send(channel, nack)
        conn = self.connection
        if conn is not None:
            self.broker.journal.record(
                "confirmed",
                conn.vhost.name,
                channel=channel,
                delivery_tag=delivery_tag,
                multiple=multiple,
                ack=ack,
            )

    def _set_timer(self, delay: float | None, callback: Callable[[], None]) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None if delay is None else self.broker.clock.call_later(delay, callback)

    def _teardown_core(self) -> None:
        conn = self.connection
        self._channels.clear()
        if conn is not None:
            conn.wakeup = None
            conn.close()

    def _finish(self) -> None:
        if self.state is State.CLOSED:
            return
        self.state = State.CLOSED
        self._set_timer(None, self._finish)
        if self._heartbeats is not None:
            self._heartbeats.cancel()
        with contextlib.suppress(Exception):
            self._teardown_core()

    def _finish_later(self) -> None:
        self._finish()
        self._notify()

    def _die(self) -> None:
        """Pre-open failure: RabbitMQ waits 3 s, then drops the socket."""
        self.state = State.DYING
        self._set_timer(self._delays[0], self._finish_later)

    def _start_closing(self, timeout: float) -> None:
        self.state = State.CLOSING
        self._set_timer(timeout, self._finish_later)

    def _on_deadline(self) -> None:
        """Handshake timeout."""
        self._timer = None
        if self.state in (State.HEADER, State.START, State.TUNE, State.OPEN):
            self._finish_later()

    # -- input ------------------------------------------------------------------------------

    def _process(self) -> None:
        while self.state not in (State.CLOSED, State.DYING) and not (self._stalled or self._frozen):
            if self.state is State.HEADER:
                header = self._reader.take(8)
                if header is None:
                    return
                self._on_protocol_header(header)
                continue
            try:
                frame = self._next_frame()
            except ProtocolError as error:
                self._stalled = self._reader.broken
                self._fail(error)
                continue
            if frame is None or self._hold_publish(frame):
                return
            if not F.on_frame(self, frame):
                self._on_frame(frame)
            self._drain()

    def _next_frame(self) -> Frame | None:
        frame, self._held = self._held, None
        return frame if frame is not None else self._reader.next_frame()

    def _hold_publish(self, frame: Frame) -> bool:
        """A resource alarm: stop reading at a basic.publish (connection.blocked once)."""
        if not self.broker.alarms or self.state is not State.RUNNING:
            return False
        if frame.type != FRAME_METHOD or frame.payload[:4] != _PUBLISH_ID:
            return False
        self._held = frame
        if not self._blocked_sent:
            self._blocked_sent = True
            # RabbitMQ 3.10.8: "low on memory", "low on disk", "low on disk & memory"
            reason = "low on " + " & ".join(sorted(self.broker.alarms))
            send_event(self, Blocked(reason=reason))
        return True

    def _resume(self) -> None:
        """Go on reading after an alarm cleared or a stall ended."""
        busy, self._busy = self._busy, True
        try:
            self._guarded(self._process)
        finally:
            self._busy = busy

    def _on_protocol_header(self, header: bytes) -> None:
        if header not in H.ACCEPTED_HEADERS:
            self._write(H.PROTOCOL_HEADER)
            self._finish()
            return
        self._write(H.start_frame())
        self.state = State.START

    def _on_frame(self, frame: Frame) -> None:
        try:
            if self.state in _HANDSHAKE:
                self._on_handshake_frame(frame)
            elif self.state is State.CLOSING:
                self._on_closing_frame(frame)
            elif frame.channel == 0:
                self._on_connection_frame(frame)
            else:
                self._on_channel_frame(frame)
        except AMQPError as error:
            self._fail(error)

    def _fail(self, error: AMQPError) -> None:
        """Answer an error as RabbitMQ does in the current state."""
        if self.state in (State.CLOSING, State.DYING, State.CLOSED):
            return self._finish()
        if isinstance(error, ProtocolError) and error.silent:
            return self._finish()
        if self.state in _HANDSHAKE and not _answered_in_handshake(self.state, error):
            return self._die()
        self._send_connection_close(error)
        self._teardown_core()
        timeout = self._delays[0] if self.state is State.START else self._delays[1]
        self._start_closing(timeout)

    def _send_connection_close(self, error: AMQPError) -> None:
        close = C.Connection.Close(
            reply_code=error.code,
            reply_text=error.reply_text,
            class_id=error.class_id,
            method_id=error.method_id,
        )
        self._send(0, close)

    # -- handshake --------------------------------------------------------------------------

    def _on_handshake_frame(self, frame: Frame) -> None:
        if frame.type == FRAME_HEARTBEAT and frame.channel == 0:
            return
        if frame.type != FRAME_METHOD or frame.channel != 0:
            raise unexpected_frame(octets(frame.type, frame.payload))
        method = decode_method(frame.payload)
        expected, handler = _HANDSHAKE[self.state]
        if not isinstance(method, expected):
            raise command_invalid(f"expected '{expected.name.lower()}'", **_kw(method))
        handler(self, method)

    def _on_start_ok(self, method: Any) -> None:
        caps = H.client_capabilities(method.client_properties)
        login = H.credentials(method.mechanism, method.response)
        if login is None:
            raise ProtocolError(403, f"{method.mechanism} login refused: cannot read response")
        if not self.broker.authenticate(*login):
            raise _LoginRefused(method.mechanism, tell="authentication_failure_close" in caps)
        self._login = (login[0], dict(method.client_properties or {}), caps)
        channel_max, frame_max, heartbeat = self._offer
        self._send(0, C.Connection.Tune(channel_max, frame_max, heartbeat))
        self.state = State.TUNE

    def _on_tune_ok(self, method: Any) -> None:
        channel_max, frame_max, _ = self._offer
        if not H.tune_ok_acceptable(
            channel_max=method.channel_max,
            frame_max=method.frame_max,
            server_channel_max=channel_max,
            server_frame_max=frame_max,
        ):
            raise ProtocolError(530, "tune-ok values refused")
        self.channel_max, self.frame_max = method.channel_max, method.frame_max
        self._reader.frame_max = method.frame_max
        self.heartbeat = method.heartbeat
        if method.heartbeat:
            self._start_heartbeats(method.heartbeat)
        self.state = State.OPEN

    def _on_open(self, method: Any) -> None:
        user, props, caps = self._login
        try:
            conn = self.broker.connect(
                vhost=method.virtual_host,
                user=user,
                name=self.name,
                client_properties=props,
                capabilities=caps,
            )
        except AMQPError as error:
            error.class_id, error.method_id = 10, 40
            raise
        self.connection = conn
        conn.wakeup = self._on_core_wakeup
        self._send(0, C.Connection.OpenOk())
        self.state = State.RUNNING
        self._set_timer(None, self._finish)

    def _start_heartbeats(self, interval: int) -> None:
        self._heartbeats = Heartbeats(
            clock=self.broker.clock,
            interval=float(interval),
            sent=lambda: self._bytes_out,
            received=lambda: self._bytes_in,
            send_heartbeat=self._send_heartbeat,
            on_timeout=self._finish_later,
        )

    def _send_heartbeat(self) -> None:
        if self.state in (State.CLOSED, State.DYING):
            return
        self._write(HEARTBEAT_FRAME)
        self._notify()

    # -- running: channel 0 -----------------------------------------------------------------

    def _on_connection_frame(self, frame: Frame) -> None:
        if frame.type == FRAME_HEARTBEAT:
            return
        if frame.type != FRAME_METHOD:
            raise unexpected_frame(octets(frame.type, frame.payload))
        try:
            method = decode_method(frame.payload)
        except ProtocolError as error:
            if error.silent:
                raise
            # RabbitMQ decodes channel 0's methods in its reader, where a
            # decoding failure is a crash: 541 INTERNAL_ERROR, not 501.
            self._internal_error()
            return
        if isinstance(method, C.Connection.Close):
            self._teardown_core()
            self._send(0, C.Connection.CloseOk())
            self._finish()
        elif isinstance(method, C.Connection.UpdateSecret):
            self._send(0, C.Connection.UpdateSecretOk())
        else:
            raise channel_error("unexpected method in connection state running", **_kw(method))

    def _on_closing_frame(self, frame: Frame) -> None:
        if frame.channel != 0 or frame.type != FRAME_METHOD:
            return
        method = decode_method(frame.payload)
        if isinstance(method, C.Connection.Close):
            self._send(0, C.Connection.CloseOk())
            self._finish()
        elif isinstance(method, C.Connection.CloseOk):
            self._finish()

    # -- output: the core's events ----------------------------------------------------------

    def _on_core_wakeup(self) -> None:
        if self._busy:
            return
        self._guarded(self._drain)
        self._notify()

    def _drain(self) -> None:
        conn = self.connection
        while conn is not None and conn.outbox and self.state is State.RUNNING:
            send_event(self, conn.outbox.popleft())

    def _live(self, number: int) -> bool:
        chan = self._channels.get(number)
        return chan is not None and not chan.closing

    def _capable(self, capability: str) -> bool:
        return capability in self._login[2]


class _LoginRefused(ProtocolError):
    """403 at start-ok; ``tell`` if the client has authentication_failure_close."""

    def __init__(self, mechanism: str, *, tell: bool) -> None:
        super().__init__(
            403,
            f"Login was refused using authentication mechanism {mechanism}. "
            "For details see the broker logfile.",
        )
        self.tell = tell


def _answered_in_handshake(state: State, error: AMQPError) -> bool:
    """Whether RabbitMQ sends a close frame for this pre-open error."""
    if state is State.START:
        return isinstance(error, _LoginRefused) and error.tell
    return state is State.OPEN and error.code == 530


_HANDSHAKE: dict[State, tuple[type[base.Frame], Callable[[Engine, Any], None]]] = {
    State.START: (C.Connection.StartOk, Engine._on_start_ok),
    State.TUNE: (C.Connection.TuneOk, Engine._on_tune_ok),
    State.OPEN: (C.Connection.Open, Engine._on_open),
}
