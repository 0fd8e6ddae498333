"""Field tables and arrays, decoded and encoded as RabbitMQ 3.10 reads and writes them.

Rules (RabbitMQ 3.10.8, probed):
- a table is a 4-byte length, then (short string key, tagged value) pairs;
  an array is a 4-byte length, then tagged values; every value must end
  within its table or array;
- the tags RabbitMQ reads are ``t b B s u I i l L f d D S x T F A V`` (``L``
  is a signed 64-bit ``long``, as ``l``); any other tag, and a float or double
  that is NaN or infinite (Erlang's binary match refuses them), raise
  :class:`FieldError`;
- keys are not checked for UTF-8 (a key that is not UTF-8 comes back with
  ``surrogateescape`` and is re-sent as the same bytes); duplicate keys are
  not an error (the last one wins here);
- integers and 32-bit floats come back as :mod:`fakebroker.core.fieldtypes`
  subclasses naming their tag (``Short(5)`` for ``s``), timestamps as
  :class:`Timestamp` (RabbitMQ keeps the integer, up to 2^64-1), so the core
  can name the type in its error texts and re-encoding keeps it;
- decoding and encoding are iterative: tables nest as deep as a frame allows
  (RabbitMQ takes them; Python's recursion limit would not).
"""

from __future__ import annotations

import datetime
import decimal
import math
import struct
from collections.abc import Callable, Mapping
from typing import Any

from fakebroker.core import fieldtypes as T

__all__ = [
    "NUMBER_FORMATS",
    "FieldError",
    "Timestamp",
    "decode_table",
    "encode_table",
    "encode_value",
    "shortstr",
]


class FieldError(ValueError):
    """A field table or array RabbitMQ's parser would refuse."""


class Timestamp(int):
    """Field type ``T``: RabbitMQ's ``timestamp`` (seconds, unsigned 64 bit), kept as an integer."""

    __slots__ = ()
    AMQP_TYPE = "timestamp"
    TAG = b"T"


#: Fixed-size number field values by tag (decoding here, re-encoding by tag).
NUMBER_FORMATS: dict[bytes, struct.Struct] = {
    tag: struct.Struct(fmt)
    for tag, fmt in (
        (b"b", ">b"), (b"B", ">B"), (b"s", ">h"), (b"u", ">H"), (b"I", ">i"),
        (b"i", ">I"), (b"l", ">q"), (b"L", ">q"), (b"f", ">f"), (b"d", ">d"),
        (b"T", ">Q"),
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
    b"L": T.Long,
    b"f": T.Float,
    b"d": float,
    b"T": Timestamp,
}
#: tag byte -> (format, constructor, is a float)
_NUMBERS = {
    tag[0]: (NUMBER_FORMATS[tag], kind, tag in (b"f", b"d")) for tag, kind in _KINDS.items()
}
_LENGTH = struct.Struct(">I")
_DECIMAL = struct.Struct(">BI")
_F, _A, _S, _X, _D, _T, _V = b"FASxDtV"


def _span(data: bytes, offset: int, limit: int) -> tuple[int, int]:
    """Where the length-prefixed block at ``offset`` starts and ends (within ``limit``)."""
    if offset + 4 > limit:
        raise FieldError("truncated length")
    end = offset + 4 + _LENGTH.unpack_from(data, offset)[0]
    if end > limit:
        raise FieldError("length exceeds the data")
    return offset + 4, end


def _long_string(raw: bytes) -> str | bytes:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:  # pamqp's rule: a long string that is not UTF-8 stays bytes
        return raw


def _scalar(data: bytes, tag: int, offset: int, limit: int) -> tuple[int, Any]:
    """A value that is not a table or array, its tag already read: (offset after, value)."""
    number = _NUMBERS.get(tag)
    if number is not None:
        fmt, kind, is_float = number
        end = offset + fmt.size
        if end > limit:
            raise FieldError("truncated number")
        value = fmt.unpack_from(data, offset)[0]
        if is_float and not math.isfinite(value):
            raise FieldError("a NaN or infinite float")
        return end, kind(value)
    if tag in (_S, _X):
        start, end = _span(data, offset, limit)
        raw = data[start:end]
        return end, (_long_string(raw) if tag == _S else bytearray(raw))
    if tag == _T:
        if offset >= limit:
            raise FieldError("truncated boolean")
        return offset + 1, data[offset] != 0
    if tag == _D:
        if offset + 5 > limit:
            raise FieldError("truncated decimal")
        places, raw = _DECIMAL.unpack_from(data, offset)
        return offset + 5, decimal.Decimal(raw).scaleb(-places)
    if tag == _V:
        return offset, None
    raise FieldError(f"unknown field type {tag}")


def decode_table(data: bytes, offset: int = 0) -> tuple[int, dict[str, Any]]:
    """The table at ``offset``: (the offset after it, the table). Raises :class:`FieldError`."""
    start, end = _span(data, offset, len(data))
    root: dict[str, Any] = {}
    _fill(data, start, root, end)
    return end, root


def _fill(data: bytes, position: int, root: dict[str, Any] | list[Any], root_end: int) -> None:
    """Decode tables and arrays nested in ``root`` with an explicit stack, not recursion."""
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(root, root_end)]
    while stack:
        container, end = stack[-1]
        if position >= end:
            stack.pop()
            continue
        key = ""
        if isinstance(container, dict):
            key_end = position + 1 + data[position]
            if key_end >= end:
                raise FieldError("truncated key")
            key = data[position + 1 : key_end].decode("utf-8", "surrogateescape")
            position = key_end
        tag = data[position]
        value: Any
        if tag in (_F, _A):
            position, child_end = _span(data, position + 1, end)
            value = {} if tag == _F else []
            stack.append((value, child_end))
        else:
            position, value = _scalar(data, tag, position + 1, end)
        if isinstance(container, dict):
            container[key] = value
        else:
            container.append(value)


# -- encoding -------------------------------------------------------------------------------------


def shortstr(value: str | bytes) -> bytes:
    """A short string; a name that came as bytes goes back as those bytes.

    Raises TypeError past 255 bytes, as pamqp does.
    """
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)
    if len(raw) > 255:
        raise TypeError(f"a short string of {len(raw)} bytes")
    return bytes((len(raw),)) + raw


def _longstr(raw: bytes) -> bytes:
    return _LENGTH.pack(len(raw)) + raw


def _timestamp(value: Any) -> int:
    if isinstance(value, datetime.datetime):
        return int(value.timestamp())
    return int(value)


def _int_value(value: int) -> bytes:
    tag = getattr(type(value), "TAG", None)
    if isinstance(tag, bytes):  # received with this field type: re-sent with it
        return (b"l" if tag == b"L" else tag) + NUMBER_FORMATS[tag].pack(value)
    if -(2**31) <= value < 2**31:
        return b"I" + struct.pack(">i", value)
    return b"l" + struct.pack(">q", value)


def _decimal_value(value: decimal.Decimal) -> bytes:
    exponent = value.as_tuple().exponent
    places = max(0, -int(exponent))
    raw = int(value.scaleb(places))
    return b"D" + struct.pack(">BI" if 0 <= raw < 2**32 else ">Bi", places, raw)


def _scalar_value(value: Any) -> bytes:
    if isinstance(value, bool):
        return b"t" + bytes([value])
    if isinstance(value, int):
        return _int_value(value)
    if isinstance(value, float):
        tag = getattr(type(value), "TAG", b"d")
        return tag + NUMBER_FORMATS[tag].pack(value)
    if isinstance(value, str):
        return b"S" + _longstr(value.encode("utf-8", "surrogateescape"))
    if isinstance(value, bytes):
        return b"S" + _longstr(value)
    if isinstance(value, bytearray):
        return b"x" + _longstr(bytes(value))
    if isinstance(value, decimal.Decimal):
        return _decimal_value(value)
    if isinstance(value, datetime.datetime):
        return b"T" + struct.pack(">Q", _timestamp(value))
    if value is None:
        return b"V"
    raise TypeError(f"cannot encode {type(value).__name__} in a field table")


_Frame = tuple[Any, list[bytes], bytes]


def _children(value: Any) -> tuple[bytes, Any] | None:
    """(tag, iterator of (key prefix, item)) for a table or array, None for a scalar."""
    if isinstance(value, Mapping):
        return b"F", ((shortstr(key), item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return b"A", ((b"", item) for item in value)
    return None


def encode_value(value: Any) -> bytes:
    """One field value with its type tag, typed as RabbitMQ would re-send it (iteratively)."""
    root: list[bytes] = []
    stack: list[_Frame] = [(iter(((b"", value),)), root, b"")]
    while stack:
        items, parts, tag = stack[-1]
        item = next(items, None)
        if item is None:
            stack.pop()
            if stack:
                stack[-1][1].append(tag + _longstr(b"".join(parts)))
            continue
        prefix, child = item
        if prefix:
            parts.append(prefix)
        nested = _children(child)
        if nested is None:
            parts.append(_scalar_value(child))
        else:
            stack.append((nested[1], [], nested[0]))
    return b"".join(root)


def encode_table(table: Mapping[str, Any] | None) -> bytes:
    """A field table with its length prefix."""
    if not table:
        return b"\x00\x00\x00\x00"
    return encode_value(table)[1:]


def encode_timestamp(value: Any) -> bytes:
    """A timestamp property (a :class:`Timestamp`, an int or a datetime) as 8 bytes."""
    return struct.pack(">Q", _timestamp(value))
