"""RESP2/RESP3 on the wire, sans-I/O: requests in, replies out.

Rules:
- :class:`RequestParser` takes bytes with :meth:`~RequestParser.feed` and
  hands out complete commands (lists of bytes) with
  :meth:`~RequestParser.next_command`; ``None`` means "not enough data
  yet", never "malformed".  A malformed request raises
  :class:`ProtocolError` carrying Redis's own error text; the connection
  is then closed, as Redis does.
- Requests are RESP arrays of bulk strings (what every client sends) or
  inline commands (``PING\\r\\n``, what telnet sends), split on blanks.
- Buffers are capped as Redis caps them: an inline line or an unfinished
  array header at 64 KiB, a bulk string at 512 MiB, an array at 1024*1024
  elements; beyond a cap the request is malformed.
- :func:`encode` writes one reply for the protocol the connection speaks
  (2 or 3).  Reply values: ``bytes``/``str`` are bulk strings,
  :class:`Simple` a simple string, :class:`Error` an error, ``int`` an
  integer, ``None`` the null (``$-1`` in RESP2, ``_`` in RESP3), ``list``
  and ``tuple`` arrays, ``dict`` maps, ``set`` sets, ``float`` doubles,
  ``bool`` booleans, :class:`Push` out-of-band pushes (RESP3; an array in
  RESP2), :class:`Set` an ordered set reply, :data:`NULL_ARRAY` the null
  array (``*-1`` in RESP2: EXEC after a WATCH failed, a blocking pop's
  timeout).  The types RESP2 lacks are written as RESP2 writes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_BULK",
    "MAX_INLINE",
    "MAX_MULTIBULK",
    "NULL_ARRAY",
    "Error",
    "ProtocolError",
    "Push",
    "RequestParser",
    "Set",
    "Simple",
    "encode",
]

#: Longest inline command or array/bulk header line (Redis's PROTO_INLINE_MAX_SIZE).
MAX_INLINE = 64 * 1024
#: Largest bulk string in a request (Redis's proto-max-bulk-len default).
MAX_BULK = 512 * 1024 * 1024
#: Most elements in a request array.
MAX_MULTIBULK = 1024 * 1024


class ProtocolError(Exception):
    """A malformed request; ``str(exc)`` is the error Redis replies before closing."""


@dataclass(frozen=True, slots=True)
class Simple:
    """A simple string reply (``+OK``)."""

    value: bytes


@dataclass(frozen=True, slots=True)
class Error:
    """An error reply; ``text`` includes its code (``ERR ...``, ``WRONGTYPE ...``)."""

    text: str


@dataclass(frozen=True, slots=True)
class Push:
    """An out-of-band message (pub/sub): ``>`` in RESP3, an array in RESP2."""

    items: list[Any]


@dataclass(frozen=True, slots=True)
class Set:
    """A set reply (``~`` in RESP3, an array in RESP2), in the order given."""

    items: list[Any]


class _NullArray:
    """The null array: ``*-1`` in RESP2, ``_`` in RESP3."""

    def __repr__(self) -> str:
        return "NULL_ARRAY"


NULL_ARRAY = _NullArray()


class RequestParser:
    """Turns a client's byte stream into commands (lists of bytes)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0
        # The array being read: how many elements it has, and those read so far.
        self._count: int | None = None
        self._fields: list[bytes] = []
        self._bulk: int | None = None

    @property
    def buffered(self) -> int:
        """Bytes received and not yet parsed into a command."""
        return len(self._buf) - self._pos

    def feed(self, data: bytes) -> None:
        """Add bytes from the client."""
        if self._pos and self._pos > len(self._buf) // 2:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def next_command(self) -> list[bytes] | None:
        """The next complete command, or None until more data arrives (ProtocolError if bad)."""
        while True:
            if self._count is None:
                if self._pos >= len(self._buf):
                    return None
                if self._buf[self._pos] != ord("*"):
                    inline = self._inline()
                    if inline is None:
                        return None
                    if inline:
                        return inline
                    continue  # an empty line: Redis ignores it
                header = self._line(b"*")
                if header is None:
                    return None
                count = _number(header, "multibulk length")
                if count > MAX_MULTIBULK:
                    raise ProtocolError("Protocol error: invalid multibulk length")
                if count <= 0:
                    continue  # *0 and *-1 are no command at all
                self._count, self._fields = count, []
            command = self._elements()
            if command is not None or self._count is not None:
                return command

    def _elements(self) -> list[bytes] | None:
        assert self._count is not None
        while len(self._fields) < self._count:
            if self._bulk is None:
                if self._pos >= len(self._buf):
                    return None
                if self._buf[self._pos] != ord("$"):
                    found = chr(self._buf[self._pos])
                    raise ProtocolError(f"Protocol error: expected '$', got '{found}'")
                header = self._line(b"$")
                if header is None:
                    return None
                size = _number(header, "bulk length")
                if size < 0 or size > MAX_BULK:
                    raise ProtocolError("Protocol error: invalid bulk length")
                self._bulk = size
            end = self._pos + self._bulk
            if len(self._buf) < end + 2:
                return None
            self._fields.append(bytes(self._buf[self._pos : end]))
            self._pos = end + 2
            self._bulk = None
        fields, self._count, self._fields = self._fields, None, []
        return fields

    def _line(self, kind: bytes) -> bytes | None:
        """A header line (after ``kind``), or None if its CRLF has not arrived."""
        end = self._buf.find(b"\r\n", self._pos)
        if end < 0:
            if len(self._buf) - self._pos > MAX_INLINE:
                what = "multibulk" if kind == b"*" else "bulk"
                raise ProtocolError(f"Protocol error: too big {what} count string")
            return None
        line = bytes(self._buf[self._pos + 1 : end])
        self._pos = end + 2
        return line

    def _inline(self) -> list[bytes] | None:
        end = self._buf.find(b"\n", self._pos)
        if end < 0:
            if len(self._buf) - self._pos > MAX_INLINE:
                raise ProtocolError("Protocol error: too big inline request")
            return None
        line = bytes(self._buf[self._pos : end]).rstrip(b"\r")
        self._pos = end + 1
        return _split_inline(line)


def _number(text: bytes, what: str) -> int:
    try:
        if not text or text != text.strip():
            raise ValueError(text)
        return int(text)
    except ValueError:
        raise ProtocolError(f"Protocol error: invalid {what}") from None


def _split_inline(line: bytes) -> list[bytes]:
    """Split an inline command on blanks, honouring quotes as redis-cli writes them."""
    if b'"' not in line and b"'" not in line:
        return line.split()
    words: list[bytes] = []
    word = bytearray()
    quote: int | None = None
    in_word = False
    for byte in line:
        if quote is not None:
            if byte == quote:
                quote = None
            else:
                word.append(byte)
        elif byte in (0x22, 0x27):
            quote, in_word = byte, True
        elif byte in b" \t":
            if in_word:
                words.append(bytes(word))
                word, in_word = bytearray(), False
        else:
            word.append(byte)
            in_word = True
    if quote is not None:
        raise ProtocolError("Protocol error: unbalanced quotes in request")
    if in_word:
        words.append(bytes(word))
    return words


def encode(value: Any, protocol: int = 2) -> bytes:
    """One reply as RESP ``protocol`` (2 or 3)."""
    out = bytearray()
    _write(out, value, protocol == 3)
    return bytes(out)


def _write(out: bytearray, value: Any, resp3: bool) -> None:
    if value is None:
        out += b"_\r\n" if resp3 else b"$-1\r\n"
    elif value is NULL_ARRAY:
        out += b"_\r\n" if resp3 else b"*-1\r\n"
    elif isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        out += b"$%d\r\n%s\r\n" % (len(data), data)
    elif isinstance(value, str):
        _write(out, value.encode(), resp3)
    elif isinstance(value, Simple):
        out += b"+%s\r\n" % _one_line(value.value)
    elif isinstance(value, Error):
        out += b"-%s\r\n" % _one_line(value.text.encode())
    elif isinstance(value, bool):
        if resp3:
            out += b"#t\r\n" if value else b"#f\r\n"
        else:
            out += b":1\r\n" if value else b":0\r\n"
    elif isinstance(value, int):
        if resp3 and not -(2**63) <= value < 2**63:
            out += b"(%d\r\n" % value
        else:
            out += b":%d\r\n" % value
    elif isinstance(value, float):
        text = _double(value)
        if resp3:
            out += b",%s\r\n" % text
        else:
            out += b"$%d\r\n%s\r\n" % (len(text), text)
    elif isinstance(value, Set):
        out += (b"~%d\r\n" if resp3 else b"*%d\r\n") % len(value.items)
        for item in value.items:
            _write(out, item, resp3)
    elif isinstance(value, Push):
        out += (b">%d\r\n" if resp3 else b"*%d\r\n") % len(value.items)
        for item in value.items:
            _write(out, item, resp3)
    elif isinstance(value, dict):
        out += (b"%%%d\r\n" % len(value)) if resp3 else (b"*%d\r\n" % (2 * len(value)))
        for key, item in value.items():
            _write(out, key, resp3)
            _write(out, item, resp3)
    elif isinstance(value, set | frozenset):
        out += (b"~%d\r\n" if resp3 else b"*%d\r\n") % len(value)
        for item in value:
            _write(out, item, resp3)
    elif isinstance(value, list | tuple):
        out += b"*%d\r\n" % len(value)
        for item in value:
            _write(out, item, resp3)
    else:
        raise TypeError(f"cannot encode a reply of type {type(value).__name__}")


def _one_line(data: bytes) -> bytes:
    """Simple strings and errors cannot hold CR or LF: Redis replaces them with spaces."""
    return data.replace(b"\r", b" ").replace(b"\n", b" ")


def _double(value: float) -> bytes:
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    if math.isnan(value):
        return b"nan"
    if value == int(value) and abs(value) < 2**53:
        return b"%d" % int(value)
    return repr(value).encode()
