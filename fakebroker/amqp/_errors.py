"""Protocol errors of the engine and RabbitMQ's wording of them.

Rules:
- a :class:`ProtocolError` carries a reply code and the text after RabbitMQ's
  ``NAME - `` prefix, like the core's :class:`~fakebroker.core.errors.AMQPError`;
- ``silent`` errors end the connection with no close frame, as RabbitMQ does
  when its frame parser crashes (unknown method, unknown field-table type);
- binaries in texts are rendered as Erlang renders them
  (:mod:`fakebroker.core.erlang`, the one implementation): ``~w`` (always a
  list of numbers) in ``cannot decode <<...>>``, ``~p`` (``<<"text">>`` when
  every byte is printable latin-1, bytes 160-255 included) in frame
  descriptions; those latin-1 bytes go on the wire as raw bytes, not UTF-8
  (kept in the text with ``surrogateescape``);
- a text longer than a short string is cut to 252 bytes and ``...``, as the
  core cuts its texts; RabbitMQ's 541 is ``INTERNAL_ERROR`` with no text after it.
"""

from __future__ import annotations

from fakebroker.core.erlang import erlang_binary, erlang_bytes, raw_text
from fakebroker.core.errors import MAX_REPLY_TEXT, REPLY_NAMES, AMQPConnectionError, ReplyCode

__all__ = [
    "ProtocolError",
    "channel_error",
    "command_invalid",
    "dropped",
    "erlang_bytes",
    "frame_error",
    "internal_error",
    "malformed_utf8",
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

    @property
    def reply_text(self) -> str:
        """As the core's, but raw bytes (``surrogateescape``) allowed, and 541 bare."""
        if self.code == ReplyCode.INTERNAL_ERROR:
            return "INTERNAL_ERROR"
        return super().reply_text if self.text.isascii() else self._cut()

    def _cut(self) -> str:
        raw = f"{REPLY_NAMES.get(self.code, 'UNKNOWN')} - {self.text}".encode(
            "utf-8", "surrogateescape"
        )
        if len(raw) > MAX_REPLY_TEXT:
            raw = raw[: MAX_REPLY_TEXT - 3] + b"..."
        return raw.decode("utf-8", "surrogateescape")


class MalformedUtf8(ProtocolError):
    """501 ``Malformed UTF-8 in shortstr``: ids 0, 0 on a channel; ``ids`` name the method.

    RabbitMQ reports it with the method's ids when the method came on channel 0.
    """

    def __init__(self, class_id: int, method_id: int) -> None:
        super().__init__(ReplyCode.FRAME_ERROR, "Malformed UTF-8 in shortstr")
        self.ids = (class_id, method_id)


def shown_binary(data: bytes) -> str:
    """``data`` as RabbitMQ's ``~p`` prints it into a reply text, raw bytes kept
    (:mod:`fakebroker.core.erlang`: bytes 160-255 go on the wire as they are)."""
    return raw_text(erlang_binary(data))


def octets(frame_type: int, payload: bytes) -> str:
    """RabbitMQ's description of a frame: ``type 3, all octets = <<...>>``."""
    if len(payload) > 16:
        return f"type {frame_type}, first 16 octets = {shown_binary(payload[:16])}"
    return f"type {frame_type}, all octets = {shown_binary(payload)}"


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


def internal_error(text: str) -> ProtocolError:
    """541 INTERNAL_ERROR (0, 0), RabbitMQ's answer when a channel process crashes on input.

    ``text`` says why, for logs; the reply text is ``INTERNAL_ERROR`` alone.
    """
    return ProtocolError(ReplyCode.INTERNAL_ERROR, text)


def malformed_utf8(class_id: int, method_id: int) -> MalformedUtf8:
    """501 ``Malformed UTF-8 in shortstr`` for a method's short string."""
    return MalformedUtf8(class_id, method_id)


def dropped(text: str) -> ProtocolError:
    """An error RabbitMQ answers by dropping the socket with no close frame."""
    return ProtocolError(ReplyCode.FRAME_ERROR, text, silent=True)
