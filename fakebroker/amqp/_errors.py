"""Protocol errors of the engine and RabbitMQ's wording of them.

Rules:
- a :class:`ProtocolError` carries a reply code and the text after RabbitMQ's
  ``NAME - `` prefix, like the core's :class:`~fakebroker.core.errors.AMQPError`;
- ``silent`` errors end the connection with no close frame, as RabbitMQ does
  when its frame parser crashes (unknown method, unknown field-table type);
- binaries in texts are rendered as Erlang renders them: ``~w`` (always a
  list of numbers) in ``cannot decode <<...>>``, ``~p`` (``<<"text">>`` when
  every byte is printable latin-1, bytes 160-255 included) in frame
  descriptions; those latin-1 bytes go on the wire as raw bytes, not UTF-8
  (kept in the text with ``surrogateescape``);
- a text longer than a short string is cut to 252 bytes and ``...``, as the
  core cuts its texts; RabbitMQ's 541 is ``INTERNAL_ERROR`` with no text after it.
"""

from __future__ import annotations

from fakebroker.core.errors import MAX_REPLY_TEXT, REPLY_NAMES, AMQPConnectionError, ReplyCode

__all__ = [
    "ProtocolError",
    "channel_error",
    "command_invalid",
    "dropped",
    "erlang_binary",
    "erlang_bytes",
    "frame_error",
    "internal_error",
    "malformed_utf8",
    "octets",
    "unexpected_frame",
]

_ESCAPES = {
    0x22: '\\"',
    0x5C: "\\\\",
    0x0A: "\\n",
    0x0D: "\\r",
    0x09: "\\t",
    0x0B: "\\v",
    0x08: "\\b",
    0x0C: "\\f",
    0x1B: "\\e",
}


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


def _printable(data: bytes) -> bool:
    return all(32 <= b < 127 or b >= 160 or b in _ESCAPES for b in data)


def erlang_binary(data: bytes) -> str:
    """A binary as ``~p`` prints it: ``<<"text">>`` when every byte is printable latin-1.

    Bytes 160-255 stay single bytes (``surrogateescape``), as RabbitMQ sends them.
    """
    if data and _printable(data):
        text = "".join(_ESCAPES.get(b) or (chr(b) if b < 128 else chr(0xDC00 + b)) for b in data)
        return f'<<"{text}">>'
    return erlang_bytes(data)


def erlang_bytes(data: bytes) -> str:
    """A binary as ``~w`` writes it: ``<<1,2,3>>``."""
    return "<<" + ",".join(map(str, data)) + ">>"


def octets(frame_type: int, payload: bytes) -> str:
    """RabbitMQ's description of a frame: ``type 3, all octets = <<...>>``."""
    if len(payload) > 16:
        return f"type {frame_type}, first 16 octets = {erlang_binary(payload[:16])}"
    return f"type {frame_type}, all octets = {erlang_binary(payload)}"


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
