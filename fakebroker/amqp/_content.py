"""Per-channel reassembly of content-bearing commands (method + header + bodies).

Rules (RabbitMQ 3.10, texts verbatim):
- a content method (basic.publish, and the server-only deliver/get-ok/return)
  must be followed by a content header of class 60, then body frames adding up
  to exactly body_size; a header with body_size 0 completes the command; a
  body overshooting body_size never completes (the next frame is 505);
- a body declared larger than ``limit`` (the broker's max_message_size) is
  counted but not kept: RabbitMQ answers it only once complete (406, the
  core's check, given the declared size), so memory stays bounded even for a
  header declaring 2^62 bytes;
- the properties are decoded once the command is complete, as RabbitMQ's
  channel decodes them (a header with junk properties whose body has not
  all come yet is no error, probed); then a failure is 541 (_codec); a
  closed channel's (``ignoring``) are never decoded;
- any other frame order is 505 UNEXPECTED_FRAME, reported against the
  content method being assembled;
- transitions are the table ``_TRANSITIONS``: (state, frame type) -> handler.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pamqp import base

from ._codec import decode_method, decode_properties
from ._dispatch import CLIENT_CONTENT_METHODS
from ._errors import ProtocolError, unexpected_frame
from ._wire import FRAME_BODY, FRAME_HEADER, FRAME_METHOD, Frame

__all__ = ["Assembler", "Command"]


@dataclass(slots=True)
class Command:
    """A complete client command: a method, and its content if it has one."""

    method: base.Frame
    properties: dict[str, Any] | None = None
    body: bytes | None = None
    #: The content header frame's payload as the client sent it.
    header: bytes | None = None
    #: The declared body size when the body was discarded for exceeding the limit.
    discarded: int | None = None


class _State(enum.Enum):
    METHOD = "expect method"
    HEADER = "expect header"
    BODY = "expect body"


@dataclass(slots=True)
class Assembler:
    """Feed frames of one channel; get complete commands back."""

    state: _State = _State.METHOD
    pending: Command | None = None
    remaining: int = 0
    chunks: list[bytes] = field(default_factory=list)
    #: Bodies declared larger than this are counted, not kept.
    limit: int = 1 << 62
    discarding: bool = False
    #: The channel is closed: its commands are discarded, their properties not decoded.
    ignoring: bool = False

    def feed(self, frame: Frame) -> Command | None:
        """The command ``frame`` completes, or None; ProtocolError on a wrong frame."""
        handler = _TRANSITIONS.get((self.state, frame.type), _wrong_frame)
        return handler(self, frame)

    def ids(self) -> dict[str, int]:
        method = self.pending.method if self.pending else None
        if method is None:
            return {}
        index = method.index
        return {"class_id": index >> 16, "method_id": index & 0xFFFF}

    def complete(self) -> Command:
        command = self.pending
        assert command is not None
        command.body = b"".join(self.chunks)
        self.discarding = False
        if command.header is not None and not self.ignoring:
            command.properties = decode_properties(command.header[12:])
        self.state, self.pending, self.chunks = _State.METHOD, None, []
        return command


def _on_method(asm: Assembler, frame: Frame) -> Command | None:
    method = decode_method(frame.payload)
    if type(method) not in CLIENT_CONTENT_METHODS:
        return Command(method)
    asm.pending = Command(method)
    asm.state = _State.HEADER
    return None


def _on_header(asm: Assembler, frame: Frame) -> Command | None:
    class_id, weight, body_size = struct.unpack_from(">HHQ", frame.payload)
    if weight != 0:  # RabbitMQ 3.10.8: not a content header at all (probed)
        raise unexpected_frame(
            "expected content header for class 60, got non content header frame instead",
            **asm.ids(),
        )
    if class_id != 60:
        raise unexpected_frame(
            f"expected content header for class 60, got one for class {class_id} instead",
            **asm.ids(),
        )
    assert asm.pending is not None
    asm.pending.header = frame.payload
    asm.remaining = body_size
    if body_size > asm.limit:
        asm.discarding, asm.pending.discarded = True, body_size
    if body_size == 0:
        return asm.complete()
    asm.state = _State.BODY
    return None


def _on_body(asm: Assembler, frame: Frame) -> Command | None:
    if not asm.discarding:
        asm.chunks.append(frame.payload)
    asm.remaining -= len(frame.payload)
    # Overshooting body_size leaves RabbitMQ waiting for a body that never
    # completes; the next other frame is then 505.
    return asm.complete() if asm.remaining == 0 else None


def _not_body(asm: Assembler) -> ProtocolError:
    return unexpected_frame(
        "expected content body, got non content body frame instead", **asm.ids()
    )


def _wrong_frame(asm: Assembler, frame: Frame) -> Command | None:
    if asm.state is _State.METHOD:
        raise unexpected_frame("expected method frame, got non method frame instead")
    if asm.state is _State.HEADER:
        raise unexpected_frame(
            "expected content header for class 60, got non content header frame instead",
            **asm.ids(),
        )
    raise _not_body(asm)


_Handler = Callable[[Assembler, Frame], "Command | None"]
_TRANSITIONS: dict[tuple[_State, int], _Handler] = {
    (_State.METHOD, FRAME_METHOD): _on_method,
    (_State.HEADER, FRAME_HEADER): _on_header,
    (_State.BODY, FRAME_BODY): _on_body,
}
