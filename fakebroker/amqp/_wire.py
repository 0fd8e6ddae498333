"""Splitting the client's byte stream into frames.

Rules (RabbitMQ 3.10's frame reader):
- "need more data" is never an error: a partial header or payload waits;
- a frame whose payload is larger than ``frame_max`` is refused as soon as its
  7-byte header arrives (501, ``{frame_too_large,Size,FrameMax-8}``); before
  tune-ok ``frame_max`` is 4096;
- the octet after the payload must be 0xCE (501 ``invalid_frame_end_marker``);
- only types 1, 2, 3 and 8 exist; a method payload needs 4 bytes, a header
  payload 12 and a heartbeat none, else 501 ``unknown_frame``;
- after an oversized frame the stream is lost (``broken``); other bad frames
  are skipped whole;
- the buffer never holds more than one partial frame beyond what was fed.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._errors import frame_error, octets

__all__ = ["FRAME_BODY", "FRAME_HEADER", "FRAME_HEARTBEAT", "FRAME_METHOD", "Frame", "FrameReader"]

FRAME_METHOD = 1
FRAME_HEADER = 2
FRAME_BODY = 3
FRAME_HEARTBEAT = 8

#: The least payload each frame type needs.
_MIN_PAYLOAD = {FRAME_METHOD: 4, FRAME_HEADER: 12, FRAME_BODY: 0, FRAME_HEARTBEAT: 0}


@dataclass(frozen=True, slots=True)
class Frame:
    """One complete frame: its type, channel and payload."""

    type: int
    channel: int
    payload: bytes


def _check_payload(frame_type: int, payload: bytes) -> None:
    minimum = _MIN_PAYLOAD.get(frame_type)
    if minimum is None or len(payload) < minimum:
        raise frame_error(f"{octets(frame_type, payload)}: unknown_frame")
    if frame_type == FRAME_HEARTBEAT and payload:
        raise frame_error(f"{octets(frame_type, payload)}: unknown_frame")


class FrameReader:
    """An incremental frame parser: :meth:`feed` bytes, then take frames from :meth:`next_frame`."""

    def __init__(self, *, frame_max: int = 4096) -> None:
        self._buf = bytearray()
        self._pos = 0
        self.frame_max = frame_max
        #: True once the stream lost its frame boundaries (an oversized frame).
        self.broken = False

    def feed(self, data: bytes) -> None:
        """Append bytes from the peer."""
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def take(self, count: int) -> bytes | None:
        """The next ``count`` raw bytes (the protocol header), or None if not all are here."""
        if len(self._buf) - self._pos < count:
            return None
        data = bytes(self._buf[self._pos : self._pos + count])
        self._pos += count
        return data

    @property
    def buffered(self) -> int:
        """How many bytes wait to be parsed."""
        return len(self._buf) - self._pos

    def next_frame(self) -> Frame | None:
        """The next complete frame; None when more data is needed.

        Raises :class:`ProtocolError` on a malformed frame.
        """
        buf, pos = self._buf, self._pos
        if len(buf) - pos < 7:
            return None
        frame_type = buf[pos]
        channel = int.from_bytes(buf[pos + 1 : pos + 3], "big")
        size = int.from_bytes(buf[pos + 3 : pos + 7], "big")
        if self.frame_max and size > self.frame_max:
            self.broken = True
            raise frame_error(
                f"{octets(frame_type, b'')}: {{frame_too_large,{size},{self.frame_max - 8}}}"
            )
        end = pos + 7 + size
        if len(buf) <= end:
            return None
        payload = bytes(buf[pos + 7 : end])
        self._pos = end + 1
        if buf[end] != 0xCE:
            raise frame_error(
                f"{octets(frame_type, payload)}: {{invalid_frame_end_marker,{buf[end]}}}"
            )
        _check_payload(frame_type, payload)
        return Frame(frame_type, channel, payload)
