"""The engine's pending output: encoded frames in order, and what was sent (sans-I/O)."""

from __future__ import annotations

from collections.abc import Callable

from pamqp import base

from fakebroker.core import Message

from ._codec import content_frames, encode_method, header_payload
from ._handshake import FRAME_MIN_SIZE

__all__ = ["Output"]


class Output:
    """Frames waiting for the front, and the count of bytes written so far."""

    __slots__ = ("chunks", "dialect", "frame_max", "written")

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.written = 0
        #: The negotiated frame_max (content bodies are split to fit).
        self.frame_max = FRAME_MIN_SIZE
        #: How methods are encoded when the client speaks another version (AMQP 0-8).
        self.dialect: Callable[[int, base.Frame], bytes] | None = None

    def __bool__(self) -> bool:
        return bool(self.chunks)

    def write(self, data: bytes) -> None:
        """Queue encoded bytes."""
        self.chunks.append(data)
        self.written += len(data)

    def send(self, channel: int, method: base.Frame) -> None:
        """Queue one method frame."""
        if self.dialect is not None:
            self.write(self.dialect(channel, method))
            return
        self.write(encode_method(channel, method))

    def send_content(self, channel: int, method: base.Frame | bytes, message: Message) -> None:
        """A content-bearing method (a pamqp method or its encoded frame), header and body."""
        if not isinstance(message.wire, bytes):
            message.wire = header_payload(len(message.body), message.properties)
        self.write(method if isinstance(method, bytes) else encode_method(channel, method))
        for frame in content_frames(channel, message.wire, message.body, self.frame_max):
            self.write(frame)

    def take(self) -> list[bytes]:
        """Every queued chunk, in order; the queue is empty afterwards."""
        chunks, self.chunks = self.chunks, []
        return chunks
