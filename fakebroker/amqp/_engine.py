"""The per-connection AMQP 0-9-1 engine: bytes in, core calls, bytes out (sans-I/O).

A client asking for AMQP 0-8 is answered in 0-8 (``_amqp08.py`` translates).

The connection's states, flags and transitions are in ``_state.py``; the
channels (``_channels.Channels``), the pending output (``_output.Output``)
and the connection's log lines (``_log.ConnectionLog``) are parts the
engine is composed of.  Fault points ask the plan through ``_faults.py``
and get decisions back; the engine applies connection-level ones
(:meth:`Engine.apply`).

Rules (RabbitMQ 3.10):
- an error before connection.open is answered with silence and a 3 s delay,
  except a refused login from a client with ``authentication_failure_close``
  (403 close frame) and an unknown vhost (530 close frame);
- afterwards a connection error sends connection.close and waits up to 30 s
  for close-ok; unknown methods and field types drop the socket at once;
- a client's connection.close gets close-ok, then its input is ignored and
  the socket reset after the heartbeat (at most 30 s) unless it closes first;
- a channel error sends channel.close; the channel then ignores everything
  but channel.close / close-ok;
- a channel the client closed is forgotten, its close-ok sent, once the
  input at hand is read (``Channels.settle`` at the end of each read);
- a method's synchronous reply is written before the core's outbox is drained;
- an unexpected exception becomes 541 INTERNAL_ERROR, never escapes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pamqp import base
from pamqp import commands as C

from fakebroker.core import AMQPConnectionError, AMQPError, Broker, Clock, Connection, Timer
from fakebroker.core.events import Blocked, ConnectionClosed
from fakebroker.core.faultpoints import Action, Decision, FaultHooks, Point

from . import _amqp08 as A08
from . import _faults as F
from . import _handshake as H
from ._channels import Channels, class_and_method
from ._codec import HEARTBEAT_FRAME, decode_method
from ._errors import (
    MalformedUtf8,
    ProtocolError,
    channel_error,
    command_invalid,
    octets,
    unexpected_frame,
)
from ._events import send_event
from ._heartbeat import Heartbeats
from ._log import ConnectionLog, LogSink, default_sink
from ._output import Output
from ._shaping import OutputShaping
from ._state import Machine, State, Transition
from ._wire import FRAME_HEARTBEAT, FRAME_METHOD, Frame, FrameReader

__all__ = ["Engine"]

INTERNAL_ERROR_TEXT = "INTERNAL_ERROR"
_PUBLISH_ID = (C.Basic.Publish.index).to_bytes(4, "big")


@dataclass(frozen=True, slots=True)
class Login:
    """Who logged in at start-ok, and what the client said about itself."""

    user: str = ""
    client_properties: dict[str, Any] = field(default_factory=dict)
    capabilities: frozenset[str] = frozenset()


class Engine:
    """One client connection, sans-I/O: see docs/architecture.md ("The engine API").

    The front uses what :class:`fakebroker.fronts.ProtocolEngine` declares;
    the other public members are for the engine's own parts.
    """

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
        log: LogSink | None = None,
    ) -> None:
        self.broker = broker
        self.clock: Clock = broker.clock
        self.peer, self.local = peer, local
        self.wakeup: Callable[[], None] | None = None
        self.connection: Connection | None = None
        #: The front asked to hold deliveries (see :meth:`pause_output`).
        self.output_paused = False
        self.machine = Machine()
        self.channels = Channels(engine=self)
        self.out = Output()
        self.log = ConnectionLog(sink=log if log is not None else default_sink(), name=self.name)
        self.channel_max = channel_max
        self.heartbeat = 0
        self.login = Login()
        #: The fault plan the engine asks at its fault points.
        self.faults: FaultHooks = broker.faults
        #: True when a fault asks the front to reset the transport (abort, not close).
        self.reset_requested = False
        self.bytes_in = 0
        #: Bytes handed to the front (what :meth:`data_to_send` returned).
        self.bytes_out = 0
        #: A bytes_sent fault cut the output: nothing more leaves.
        self.output_cut = False
        self.busy = False
        self._offer = (channel_max, frame_max, heartbeat)
        self._delays = (silent_close_delay, closing_timeout)
        self._reader = FrameReader(frame_max=H.FRAME_MIN_SIZE)
        self._heartbeats: Heartbeats | None = None
        #: latency, bandwidth and slicer state, made when such a rule first fires
        self._shaping: OutputShaping | None = None
        #: How frames are read when the client speaks another version (AMQP 0-8).
        self._inbound: Callable[[Frame], Frame] | None = None
        self._timer: Timer | None = self.clock.call_later(handshake_timeout, self._on_deadline)
        self.log.accepted()
        if F.ask(self, Point.CONNECTION_OPENING) is not None:
            self.drop()  # refused: reset before anything is read

    # -- the front's API --------------------------------------------------------------------

    @property
    def name(self) -> str:
        """RabbitMQ's connection name, ``"peer -> local"``."""
        return f"{self.peer} -> {self.local}"

    @property
    def state(self) -> State:
        """Where the connection is in its life (``_state.State``)."""
        return self.machine.state

    @property
    def closed(self) -> bool:
        """True once the connection is over: flush :meth:`data_to_send`, then close.

        Not while latency, bandwidth or a slicer still holds output: it leaves first.
        """
        shaping = self._shaping
        return self.machine.state is State.CLOSED and not (shaping and shaping.holding)

    @property
    def frame_max(self) -> int:
        """The negotiated frame_max (4096 before tune-ok)."""
        return self.out.frame_max

    def receive_data(self, data: bytes) -> None:
        """Bytes from the client; ``b""`` means it closed its side."""
        machine = self.machine
        if machine.state is State.CLOSED:
            return
        if not data:
            self._lost()
            return
        cut = F.at_bytes(self, data) if self.faults.armed(Point.BYTES_RECEIVED) else None
        rest = b""
        if cut is not None and cut.cut is not None:
            data, rest = data[: cut.cut], data[cut.cut :]
        self.bytes_in += len(data)
        if not machine.takes_bytes:
            return
        self.busy = True
        try:
            self._reader.feed(data)
            self._guarded(self._process)
        finally:
            self.busy = False
        self._guarded(self._drain)
        if cut is not None and self.apply(cut) and machine.stalled:
            self._reader.feed(rest)

    def data_to_send(self) -> bytes:
        """Every pending output byte (possibly ``b""``)."""
        if not self.busy:
            self._guarded(self._drain)
        if self.machine.stalled or self.output_cut:  # hot path: Machine.writes, read directly
            return b""
        out = self.out
        chunks, out.chunks = out.chunks, []
        fresh = bool(chunks)  # new frames (not only what latency held)
        decisions = F.at_frames_sending(self) if fresh else ()
        if decisions and self._shaping is None:
            self._shaping = OutputShaping(clock=self.clock, wake=self._wake_front)
        if self._shaping is not None:
            data = self._shaping.take(chunks, decisions, fresh)
        else:
            data = b"".join(chunks)
        if data and self.faults.armed(Point.BYTES_SENT):
            data = self._cut_output(data)
        self.bytes_out += len(data)
        return data

    def connection_lost(self) -> None:
        """The transport died: tear the core connection down."""
        self._lost()

    def close_forced(self, text: str) -> None:
        """Operator close: 320 CONNECTION_FORCED if open, else just drop."""
        if self.connection is not None and self.machine.running:
            self.connection.close_forced(text)
        else:
            self._finish()
        self.notify()

    def pause_output(self) -> None:
        """The front's write buffer is full: the core holds deliveries (credit flow)."""
        self.output_paused = True
        if self.connection is not None:
            self.connection.pause_deliveries()

    def resume_output(self) -> None:
        """The front's write buffer drained: deliveries resume."""
        self.output_paused = False
        if self.connection is not None:
            self.connection.resume_deliveries()
        self.notify()

    # -- for the engine's parts -----------------------------------------------------------

    @property
    def client_name(self) -> str:
        """The ``connection_name`` the client gave, or ``""``."""
        return str(self.login.client_properties.get("connection_name") or "")

    def capable(self, capability: str) -> bool:
        """Whether the client announced ``capability``."""
        return capability in self.login.capabilities

    def notify(self) -> None:
        """Tell the front that output is pending (outside :meth:`receive_data`)."""
        if (
            self.wakeup is not None
            and not self.busy
            and (self.out.chunks or self.machine.state is State.CLOSED)
        ):
            self.wakeup()

    def send_confirm(self, channel: int, delivery_tag: int, multiple: bool, ack: bool) -> None:
        """basic.ack or basic.nack for a publish, journaled as ``confirmed``."""
        if ack:
            self.out.send(channel, C.Basic.Ack(delivery_tag=delivery_tag, multiple=multiple))
        else:
            nack = C.Basic.Nack(delivery_tag=delivery_tag, multiple=multiple, requeue=False)
            self.out.send(channel, nack)
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

    def close_connection(self, error: AMQPError, *, reset: bool = False) -> None:
        """connection.close for ``error`` (core connection torn down); ``reset``: then drop."""
        self._send_connection_close(error)
        self._teardown_core()
        if reset:
            self.drop()  # the close frame leaves, then the transport is reset
        else:
            self._start_closing(self._delays[1])

    def resume(self) -> None:
        """Go on reading after an alarm cleared or a stall ended."""
        busy, self.busy = self.busy, True
        try:
            self._guarded(self._process)
        finally:
            self.busy = busy

    # -- fault decisions ------------------------------------------------------------------

    def apply(self, decision: Decision, frame: Frame | None = None) -> bool:
        """Carry out a connection-level decision; False if the point goes on as usual."""
        action = self._CONNECTION_ACTIONS.get(decision.action)
        if action is None:
            return False
        action(self, decision, frame)
        return True

    def drop(self) -> None:
        """Reset the transport: the front aborts it; the core connection goes as if lost."""
        self.reset_requested = True
        self._drop_held()
        self._finish()
        self.notify()

    def _stall(self, decision: Decision, frame: Frame | None) -> None:
        """Stop reading and writing (and heartbeats) for ``decision.delay`` s, or for good."""
        self.machine.stall(frame)
        if self._heartbeats is not None:
            self._heartbeats.cancel()
            self._heartbeats = None
        if decision.delay is not None:
            self.clock.call_later(decision.delay, self._unstall)

    def _unstall(self) -> None:
        if not self.machine.unstall():
            return
        if self.heartbeat:
            self._start_heartbeats(self.heartbeat)
        self.resume()
        self.notify()

    def _close_by_fault(self, decision: Decision, frame: Frame | None) -> None:
        """connection.close ``decision.code`` from the server (the core connection goes)."""
        conn = self.connection
        if conn is None or conn.closed:
            return
        conn.teardown()
        error = AMQPConnectionError(decision.code or 320, decision.text or "")
        conn.emit(ConnectionClosed(error))

    def _drop_by_fault(self, decision: Decision, frame: Frame | None) -> None:
        self.drop()

    #: Connection-level fault actions (the channel and event layers apply the others).
    _CONNECTION_ACTIONS: ClassVar[dict[Action, Callable[[Engine, Decision, Frame | None], None]]]
    _CONNECTION_ACTIONS = {
        Action.DROP: _drop_by_fault,
        Action.STALL: _stall,
        Action.CLOSE_CONNECTION: _close_by_fault,
    }

    def _cut_output(self, data: bytes) -> bytes:
        """bytes_sent: the part of ``data`` that leaves; after a cut the connection ends.

        As Toxiproxy's limit_data: exactly the rule's count of bytes reaches
        the client, then the transport closes (EOF, not a reset); the core
        connection goes as on a lost transport.
        """
        decision = F.at_bytes_sent(self, data)
        if decision is None or decision.action is not Action.DROP or decision.cut is None:
            return data
        self.output_cut = True
        self.out.chunks.clear()
        self._drop_held()
        self._finish()
        return data[: decision.cut]

    def _wake_front(self) -> None:
        """Output shaping has bytes due: the front should call :meth:`data_to_send`."""
        if self.wakeup is not None and not self.busy:
            self.wakeup()

    def _drop_held(self) -> None:
        """The transport is reset or gone: what shaping held never leaves."""
        if self._shaping is not None:
            self._shaping.drop()

    # -- plumbing ---------------------------------------------------------------------------

    def _guarded(self, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception:
            self.log.internal_error()
            self._internal_error()

    def _internal_error(self) -> None:
        if self.machine.winding_down:
            self._finish()
            return
        close = C.Connection.Close(
            reply_code=541, reply_text=INTERNAL_ERROR_TEXT, class_id=0, method_id=0
        )
        self.out.send(0, close)
        self._teardown_core()
        self._start_closing(self._delays[1])

    def _set_timer(self, delay: float | None, callback: Callable[[], None]) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None if delay is None else self.clock.call_later(delay, callback)

    def _teardown_core(self) -> None:
        conn = self.connection
        self.channels.clear()
        if conn is not None:
            conn.wakeup = None
            conn.close()

    def _finish(self) -> None:
        if not self.machine.end():
            return
        self._set_timer(None, self._finish)
        if self._heartbeats is not None:
            self._heartbeats.cancel()
        with contextlib.suppress(Exception):
            self._teardown_core()

    def _lost(self) -> None:
        """EOF or a dead transport: RabbitMQ warns when the client had said anything."""
        if not self.machine.closed and self.bytes_in and not self.machine.winding_down:
            self.log.lost()
        self._drop_held()
        self._finish()

    def _finish_later(self) -> None:
        self._finish()
        self.notify()

    def _closed_after_close(self) -> None:
        """The close handshake is over (close-ok either way)."""
        self.log.closing()
        self._finish()

    def _hold_after_close_ok(self) -> None:
        """RabbitMQ 3.10.8 leaves the client to close the socket after its close-ok:
        input is ignored, and the socket is reset after the heartbeat (at most 30 s)."""
        self.log.closing()
        self.machine.move(Transition.CLOSE_OK_SENT)  # heartbeats go on, as RabbitMQ's
        hold = self.heartbeat if 0 < self.heartbeat < self._delays[1] else self._delays[1]
        self._set_timer(hold, self.drop)

    def _die(self) -> None:
        """Pre-open failure: RabbitMQ waits 3 s, then drops the socket."""
        self.machine.move(Transition.FAILED_SILENTLY)
        self._set_timer(self._delays[0], self._finish_later)

    def _start_closing(self, timeout: float) -> None:
        self.machine.move(Transition.CLOSE_SENT)
        self._set_timer(timeout, self._finish_later)

    def _on_deadline(self) -> None:
        """Handshake timeout."""
        self._timer = None
        if self.machine.state in (State.HEADER, State.START, State.TUNE, State.OPEN):
            self._finish_later()

    # -- input ------------------------------------------------------------------------------

    def _process(self) -> None:
        self._read_frames()
        # RabbitMQ's reader forgets a channel the client closed between reads (_state.py)
        self.channels.settle()

    def _read_frames(self) -> None:
        machine = self.machine
        # hot loop: Machine.reads, read directly
        while not (machine.stalled or machine.input_broken) and machine.state not in _NOT_READING:
            if machine.state is State.HEADER:
                header = self._reader.take(8)
                if header is None:
                    return
                self._on_protocol_header(header)
                continue
            try:
                frame = self._next_frame()
            except ProtocolError as error:
                if self._reader.broken:
                    machine.break_input()
                self._fail(error)
                continue
            if frame is None or self._hold_publish(frame):
                return
            decision = F.at_frame(self, frame)
            if decision is None or not self.apply(decision, frame):
                self._on_frame(frame)
            self._drain()

    def _next_frame(self) -> Frame | None:
        machine = self.machine
        if machine.stall_held is None and machine.alarm_held is None:
            frame = self._reader.next_frame()
            if frame is not None and self._inbound is not None:
                return self._inbound(frame)  # AMQP 0-8's frames in 0-9-1's form
            return frame
        return machine.next_held()

    def _hold_publish(self, frame: Frame) -> bool:
        """A resource alarm: stop reading at a basic.publish (connection.blocked once)."""
        if not self.broker.alarms or self.machine.state is not State.RUNNING:
            return False
        if frame.type != FRAME_METHOD or frame.payload[:4] != _PUBLISH_ID:
            return False
        if self.machine.hold_for_alarm(frame):
            # RabbitMQ 3.10.8: "low on memory", "low on disk", "low on disk & memory"
            reason = "low on " + " & ".join(sorted(self.broker.alarms))
            send_event(self, Blocked(reason=reason))
        return True

    def _on_protocol_header(self, header: bytes) -> None:
        if header in A08.HEADERS:
            self.out.write(H.start_frame_0_8())
            self.out.dialect, self._inbound = A08.encode, A08.inbound
        elif header in H.ACCEPTED_HEADERS:
            self.out.write(H.start_frame())
        else:
            self.out.write(H.PROTOCOL_HEADER)
            self._finish()
            return
        self.machine.move(Transition.HEADER_OK)

    def _on_frame(self, frame: Frame) -> None:
        state = self.machine.state
        try:
            if state is State.RUNNING:
                if frame.channel:
                    self.channels.on_frame(frame)
                else:
                    self._on_connection_frame(frame)
            elif state is State.CLOSING:
                self._on_closing_frame(frame)
            elif state is State.HELD:
                self._on_held_frame(frame)
            else:  # the handshake (reading stops in the other states)
                self._on_handshake_frame(frame)
        except AMQPError as error:
            self._fail(error)

    def _fail(self, error: AMQPError) -> None:
        """Answer an error as RabbitMQ does in the current state."""
        machine = self.machine
        if machine.state is State.HELD:  # RabbitMQ ignores what it cannot read after close-ok
            return machine.break_input()
        if machine.winding_down:
            return self._finish()
        if isinstance(error, ProtocolError) and error.silent:
            return self._finish()
        if machine.in_handshake and not _answered_in_handshake(machine.state, error):
            return self._die()
        self._send_connection_close(error)
        self._teardown_core()
        # RabbitMQ drops the socket 3 s after its close when it can no longer read frames
        # (frame_too_large) or before start-ok; otherwise it waits 30 s for close-ok
        short = machine.state is State.START or machine.input_broken
        self._start_closing(self._delays[0] if short else self._delays[1])

    def _send_connection_close(self, error: AMQPError) -> None:
        close = C.Connection.Close(
            reply_code=error.code,
            reply_text=error.reply_text,
            class_id=error.class_id,
            method_id=error.method_id,
        )
        self.out.send(0, close)

    # -- handshake --------------------------------------------------------------------------

    def _on_handshake_frame(self, frame: Frame) -> None:
        if frame.type == FRAME_HEARTBEAT and frame.channel == 0:
            return
        if frame.type != FRAME_METHOD or frame.channel != 0:
            raise unexpected_frame(octets(frame.type, frame.payload))
        method = decode_method(frame.payload)
        state = self.machine.state
        if state is State.START and isinstance(method, C.Connection.StartOk):
            self._on_start_ok(method)
        elif state is State.TUNE and isinstance(method, C.Connection.TuneOk):
            self._on_tune_ok(method)
        elif state is State.OPEN and isinstance(method, C.Connection.Open):
            self._on_open(method)
        else:
            expected = _EXPECTED[state].name.lower()
            raise command_invalid(f"expected '{expected}'", **class_and_method(method))

    def _on_start_ok(self, method: C.Connection.StartOk) -> None:
        caps = H.client_capabilities(method.client_properties)
        login = H.credentials(method.mechanism, method.response)
        if login is None:
            raise ProtocolError(403, f"{method.mechanism} login refused: cannot read response")
        if not self.broker.authenticate(*login) or not self.broker.may_log_in_from(
            login[0], self.peer
        ):  # RabbitMQ: "user 'guest' can only connect via localhost", the same 403 on the wire
            self.log.login_refused(method.mechanism, login[0])
            raise _LoginRefused(method.mechanism, tell="authentication_failure_close" in caps)
        self.login = Login(login[0], dict(method.client_properties or {}), caps)
        if self.client_name:
            self.log.named(self.client_name)
        channel_max, frame_max, heartbeat = self._offer
        self.out.send(0, C.Connection.Tune(channel_max, frame_max, heartbeat))
        self.machine.move(Transition.START_OK)

    def _on_tune_ok(self, method: C.Connection.TuneOk) -> None:
        channel_max, frame_max, _ = self._offer
        if not H.tune_ok_acceptable(
            channel_max=method.channel_max,
            frame_max=method.frame_max,
            server_channel_max=channel_max,
            server_frame_max=frame_max,
        ):
            raise ProtocolError(530, "tune-ok values refused")
        self.channel_max, self.out.frame_max = method.channel_max, method.frame_max
        self._reader.frame_max = method.frame_max
        self.heartbeat = method.heartbeat
        if method.heartbeat:
            self._start_heartbeats(method.heartbeat)
        self.machine.move(Transition.TUNE_OK)

    def _on_open(self, method: C.Connection.Open) -> None:
        login = self.login
        try:
            conn = self.broker.connect(
                vhost=method.virtual_host,
                user=login.user,
                name=self.name,
                client_properties=login.client_properties,
                capabilities=login.capabilities,
            )
        except AMQPError as error:
            error.class_id, error.method_id = 10, 40
            self.log.open_refused(login.user, error)
            raise
        self.connection = conn
        conn.wakeup = self._on_core_wakeup
        if self.output_paused:
            conn.pause_deliveries()
        self.out.send(0, C.Connection.OpenOk())
        self.machine.move(Transition.OPEN_OK)
        self.log.authenticated(login.user, method.virtual_host)
        self._set_timer(None, self._finish)

    def _start_heartbeats(self, interval: int) -> None:
        self._heartbeats = Heartbeats(
            clock=self.clock,
            interval=float(interval),
            sent=lambda: self.out.written,
            received=lambda: self.bytes_in,
            send_heartbeat=self._send_heartbeat,
            on_timeout=self._finish_later,
        )

    def _send_heartbeat(self) -> None:
        if self.machine.state in (State.CLOSED, State.DYING):
            return
        self.out.write(HEARTBEAT_FRAME)
        self.notify()

    # -- running: channel 0 -----------------------------------------------------------------

    def _on_connection_frame(self, frame: Frame) -> None:
        if frame.type == FRAME_HEARTBEAT:
            return
        if frame.type != FRAME_METHOD:
            raise unexpected_frame(octets(frame.type, frame.payload))
        try:
            method = decode_method(frame.payload)
        except MalformedUtf8 as error:  # RabbitMQ: 501, with the method's ids on channel 0
            error.class_id, error.method_id = error.ids
            raise
        except ProtocolError as error:
            if error.silent:
                raise
            # RabbitMQ decodes channel 0's methods in its reader, where a
            # decoding failure is a crash: 541 INTERNAL_ERROR, not 501.
            self._internal_error()
            return
        if isinstance(method, C.Connection.Close):
            self._teardown_core()
            self.out.send(0, C.Connection.CloseOk())
            self._hold_after_close_ok()
        elif isinstance(method, C.Connection.UpdateSecret):
            self.out.send(0, C.Connection.UpdateSecretOk())
        else:
            raise channel_error(
                "unexpected method in connection state running", **class_and_method(method)
            )

    def _on_closing_frame(self, frame: Frame) -> None:
        if frame.channel != 0 or frame.type != FRAME_METHOD:
            return
        method = decode_method(frame.payload)
        if isinstance(method, C.Connection.Close):
            self.out.send(0, C.Connection.CloseOk())
            self._closed_after_close()
        elif isinstance(method, C.Connection.CloseOk):
            self._closed_after_close()

    def _on_held_frame(self, frame: Frame) -> None:
        """After the close-ok to a client's close: close gets close-ok again, close-ok ends it
        (once the input at hand is read), anything else is ignored."""
        if frame.channel != 0 or frame.type != FRAME_METHOD:
            return
        with contextlib.suppress(ProtocolError):
            method = decode_method(frame.payload)
            if isinstance(method, C.Connection.Close):
                self.out.send(0, C.Connection.CloseOk())
            elif isinstance(method, C.Connection.CloseOk):
                self._set_timer(0.0, self.drop)

    # -- output: the core's events ----------------------------------------------------------

    def _on_core_wakeup(self) -> None:
        if self.busy:
            return
        self._guarded(self._drain)
        self.notify()

    def _drain(self) -> None:
        conn = self.connection
        while conn is not None and conn.outbox and self.machine.state is State.RUNNING:
            send_event(self, conn.outbox.popleft())


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
    return state is State.OPEN  # after tune-ok RabbitMQ answers every error (probed)


#: The states in which the engine reads no frame (``Machine.reads``).
_NOT_READING = (State.CLOSED, State.DYING)

#: The method each handshake state waits for.
_EXPECTED: dict[State, type[base.Frame]] = {
    State.START: C.Connection.StartOk,
    State.TUNE: C.Connection.TuneOk,
    State.OPEN: C.Connection.Open,
}
