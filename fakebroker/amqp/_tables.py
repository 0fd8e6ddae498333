"""Field tables decoded with their numbers' field types kept.

Rules:
- a table is a 4-byte length, then (short string key, tagged value) pairs;
  an array is a 4-byte length, then tagged values (RabbitMQ's errata types);
- integers and 32-bit floats come back as :mod:`fakebroker.core.fieldtypes`
  subclasses naming their tag (``Short(5)`` for ``s``), so the core can name
  the type in its error texts and compare nested tables as RabbitMQ does;
  everything else is decoded by pamqp;
- an unknown tag raises ``ValueError("Unknown type ...")`` (a parser crash in
  RabbitMQ: the caller drops the connection); a length past the data raises
  ValueError.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from pamqp import decode

from fakebroker.core import fieldtypes as T

__all__ = ["NUMBER_FORMATS", "decode_table"]

#: Fixed-size number field values by tag (decoding here, re-encoding in _codec).
NUMBER_FORMATS: dict[bytes, struct.Struct] = {
    tag: struct.Struct(fmt)
    for tag, fmt in (
        (b"b", ">b"), (b"B", ">B"), (b"s", ">h"), (b"u", ">H"), (b"I", ">i"),
        (b"i", ">I"), (b"l", ">q"), (b"f", ">f"), (b"d", ">d"),
    )
}  # fmt: skip
_KINDS: dict[bytes, Callable[[Any], Any]] = {
    b"b": T.Byte,
    b"B": T.UnsignedByte,
    b"s": T.Short,
    b"u": T.UnsignedShort,
    b"I": T.SignedInt,
    b"i": T.UnsignedInt,
    b"l": T.Long,
    b"f": T.Float,
}
_NUMBERS = {tag: (NUMBER_FORMATS[tag], kind) for tag, kind in _KINDS.items()}
_LENGTH = struct.Struct(">I")


def _value(data: bytes, offset: int) -> tuple[int, Any]:
    """One tagged value at ``offset``: (the offset after it, the value)."""
    tag = data[offset : offset + 1]
    number = _NUMBERS.get(tag)
    if number is not None:
        fmt, kind = number
        end = offset + 1 + fmt.size
        if end > len(data):
            raise ValueError("truncated field value")
        return end, kind(fmt.unpack_from(data, offset + 1)[0])
    if tag == b"F":
        return decode_table(data, offset + 1)
    if tag == b"A":
        return _decode_array(data, offset + 1)
    if not tag:
        raise ValueError("truncated field value")
    consumed, value = decode.embedded_value(data[offset:])
    return offset + consumed, value


def _span(data: bytes, offset: int, what: str) -> tuple[int, int]:
    """Where a length-prefixed table or array at ``offset`` starts and ends."""
    if offset + 4 > len(data):
        raise ValueError(f"truncated field {what}")
    (length,) = _LENGTH.unpack_from(data, offset)
    if offset + 4 + length > len(data):
        raise ValueError(f"Field {what} length exceeds available data")
    return offset + 4, offset + 4 + length


def decode_table(data: bytes, offset: int = 0) -> tuple[int, dict[str, Any]]:
    """The table at ``offset``: (the offset after it, the table)."""
    position, end = _span(data, offset, "table")
    table: dict[str, Any] = {}
    while position < end:
        size = data[position]
        key = data[position + 1 : position + 1 + size].decode("utf-8")
        position, table[key] = _value(data, position + 1 + size)
    if position != end:
        raise ValueError("field table overruns its length")
    return end, table


def _decode_array(data: bytes, offset: int) -> tuple[int, list[Any]]:
    position, end = _span(data, offset, "array")
    items: list[Any] = []
    while position < end:
        position, item = _value(data, position)
        items.append(item)
    if position != end:
        raise ValueError("field array overruns its length")
    return end, items
