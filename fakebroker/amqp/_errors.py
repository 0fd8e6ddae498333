"""Protocol errors of the engine and RabbitMQ's wording of them.

Rules:
- a :class:`ProtocolError` carries a reply code and the text after RabbitMQ's
  ``NAME - `` prefix, like the core's :class:`~fakebroker.core.errors.AMQPError`;
- ``silent`` errors end the connection with no close frame, as RabbitMQ does
  when its frame parser crashes (unknown method, unknown field-table type);
- binaries in texts are rendered as Erlang's ``~p`` prints them
  (:mod:`fakebroker.core.erlang`).
"""

from __future__ import annotations

from fakebroker.core.erlang import erlang_binary, wire_text
from fakebroker.core.errors import AMQPConnectionError, ReplyCode

__all__ = [
    "ProtocolError",
    "channel_error",
    "command_invalid",
    "dropped",
    "frame_error",
    "octets",
    "shown_binary",
    "unexpected_frame",
]


class ProtocolError(AMQPConnectionError):
    """A connection-level error detected by the engine itself."""

    def __init__(
        self,
        code: int,
        text: str,
        *,
        class_id: int = 0,
        method_id: int = 0,
        silent: bool = False,
    ) -> None:
        super().__init__(code, text, class_id=class_id, method_id=method_id)
        self.silent = silent


def octets(frame_type: int, payload: bytes) -> str:
    """RabbitMQ's description of a frame: ``type 3, all octets = <<...>>``."""
    if len(payload) > 16:
        return f"type {frame_type}, first 16 octets = {shown_binary(payload[:16])}"
    return f"type {frame_type}, all octets = {shown_binary(payload)}"


def shown_binary(data: bytes) -> str:
    """``data`` as RabbitMQ prints it in a reply text (``fakebroker.core.erlang``)."""
    return wire_text(erlang_binary(data))


def frame_error(text: str, *, class_id: int = 0, method_id: int = 0) -> ProtocolError:
    """501 FRAME_ERROR."""
    return ProtocolError(ReplyCode.FRAME_ERROR, text, class_id=class_id, method_id=method_id)


def unexpected_frame(text: str, *, class_id: int = 0, method_id: int = 0) -> ProtocolError:
    """505 UNEXPECTED_FRAME."""
    return ProtocolError(ReplyCode.UNEXPECTED_FRAME, text, class_id=class_id, method_id=method_id)


def channel_error(text: str, *, class_id: int = 0, method_id: int = 0) -> ProtocolError:
    """504 CHANNEL_ERROR."""
    return ProtocolError(ReplyCode.CHANNEL_ERROR, text, class_id=class_id, method_id=method_id)


def command_invalid(text: str, *, class_id: int = 0, method_id: int = 0) -> ProtocolError:
    """503 COMMAND_INVALID."""
    return ProtocolError(ReplyCode.COMMAND_INVALID, text, class_id=class_id, method_id=method_id)


def dropped(text: str) -> ProtocolError:
    """An error RabbitMQ answers by dropping the socket with no close frame."""
    return ProtocolError(ReplyCode.FRAME_ERROR, text, silent=True)
