"""Decoding of client frames' payloads and encoding of the server's frames.

Rules:
- methods are decoded with pamqp's field decoders, but every argument is
  bounds-checked and the whole payload must be consumed: a short or long
  argument block is 501 ``cannot decode <<...>>``, as RabbitMQ says;
- an unknown method, or an unknown field-table type, is a parser crash in
  RabbitMQ: the socket is dropped with no close frame;
- tables and content properties are encoded here (not by pamqp) so that
  values keep RabbitMQ's types: ints as signed 32/64 bit, floats as doubles,
  bytes as long strings.
"""

from __future__ import annotations

import datetime
import decimal
import struct
from collections.abc import Mapping
from typing import Any

from pamqp import base, commands, decode
from pamqp import frame as pframe

from ._errors import dropped, erlang_binary, frame_error
from ._tables import NUMBER_FORMATS as _FIXED
from ._tables import decode_table

__all__ = [
    "FRAME_END",
    "HEARTBEAT_FRAME",
    "PROPERTY_NAMES",
    "content_frames",
    "decode_method",
    "decode_properties",
    "encode_method",
    "encode_properties",
    "encode_table",
]

FRAME_END = 0xCE
HEARTBEAT_FRAME = b"\x08\x00\x00\x00\x00\x00\x00\xce"

_PROPS = commands.Basic.Properties
#: Content property names in wire order, with their flag bit and type.
PROPERTY_NAMES: tuple[str, ...] = tuple(_PROPS.__slots__)
_PROP_TYPES = {name: _PROPS.amqp_type(name) for name in PROPERTY_NAMES}
_PROP_FLAGS = dict(_PROPS.flags)
_HEADER = struct.Struct(">BHI")


# -- decoding -------------------------------------------------------------------------------


def _unmarshal(method: base.Frame, data: bytes) -> int:
    """Decode ``data`` into ``method``'s attributes; return the bytes consumed."""
    offset, bit, in_bits = 0, 0, False
    for name in method.__slots__:
        kind = method.amqp_type(name)
        if kind == "bit":
            if in_bits and bit == 8:
                offset, bit = offset + 1, 0
            if not in_bits:
                in_bits, bit = True, 0
            if offset >= len(data):
                raise ValueError("truncated bit")
            value: Any = bool(data[offset] & (1 << bit))
            bit += 1
        else:
            if in_bits:
                offset, in_bits = offset + 1, False
            offset, value = _field(data, offset, kind)
            if offset > len(data):
                raise ValueError("truncated")
        setattr(method, name, value)
    return offset + 1 if in_bits else offset


def _field(data: bytes, offset: int, kind: str) -> tuple[int, Any]:
    """One argument or property of type ``kind`` at ``offset``: (the offset after it, value)."""
    if kind == "table":  # numbers keep their field types (see _tables)
        return decode_table(data, offset)
    consumed, value = decode.by_type(data[offset:], kind)
    return offset + consumed, value


def _unknown_table_type(error: BaseException) -> bool:
    return isinstance(error, ValueError) and str(error).startswith("Unknown type")


def decode_method(payload: bytes) -> base.Frame:
    """A method frame's payload (at least 4 bytes) as a pamqp method."""
    class_id, method_id = struct.unpack_from(">HH", payload)
    cls = commands.INDEX_MAPPING.get((class_id << 16) | method_id)
    if cls is None:
        raise dropped(f"unknown method {class_id}/{method_id}")
    method: base.Frame = cls()
    args = payload[4:]
    try:
        used = _unmarshal(method, args)
    except Exception as error:
        if _unknown_table_type(error):
            raise dropped(f"unknown field type in {method.name}") from error
        used = -1
    if used != len(args):
        raise frame_error(
            f"cannot decode {erlang_binary(args)}", class_id=class_id, method_id=method_id
        )
    return method


def _read_flags(data: bytes) -> tuple[int, int]:
    offset, flags, word = 0, 0, 0
    while True:
        if offset + 2 > len(data):
            raise ValueError("truncated flags")
        part = int.from_bytes(data[offset : offset + 2], "big")
        offset += 2
        flags |= (part & 0xFFFE) << (16 * word)
        if not part & 1:
            return offset, flags
        word += 1


def decode_properties(data: bytes) -> dict[str, Any]:
    """Content properties (the part of a header frame after the body size) as a dict."""
    try:
        offset, flags = _read_flags(data)
        props: dict[str, Any] = {}
        for name in PROPERTY_NAMES:
            if flags & _PROP_FLAGS[name]:
                offset, value = _field(data, offset, _PROP_TYPES[name])
                if offset > len(data):
                    raise ValueError("truncated")
                props[name] = value
    except Exception as error:
        if _unknown_table_type(error):
            raise dropped("unknown field type in content properties") from error
        raise frame_error(
            f"cannot decode {erlang_binary(data)}", class_id=60, method_id=40
        ) from error
    return props


# -- encoding -------------------------------------------------------------------------------


def encode_method(channel: int, method: base.Frame) -> bytes:
    """One method frame."""
    return pframe.marshal(method, channel)


def _shortstr(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else bytes(value)
    return bytes([len(raw)]) + raw[:255]


def _longstr(raw: bytes) -> bytes:
    return struct.pack(">I", len(raw)) + raw


def _timestamp(value: Any) -> bytes:
    if isinstance(value, datetime.datetime):
        value = int(value.timestamp())
    return struct.pack(">Q", int(value))


def _int_value(value: int) -> bytes:
    tag = getattr(type(value), "TAG", None)
    if isinstance(tag, bytes):  # received with this field type: re-sent with it
        return tag + _FIXED[tag].pack(value)
    if -(2**31) <= value < 2**31:
        return b"I" + struct.pack(">i", value)
    return b"l" + struct.pack(">q", value)


def _decimal_value(value: decimal.Decimal) -> bytes:
    exponent = value.as_tuple().exponent
    places = max(0, -int(exponent))
    raw = int(value.scaleb(places))
    return b"D" + struct.pack(">Bi", places, raw)


def encode_value(value: Any) -> bytes:
    """One field value with its type tag, typed as RabbitMQ would re-send it."""
    if isinstance(value, bool):
        return b"t" + bytes([value])
    if isinstance(value, int):
        return _int_value(value)
    if isinstance(value, float):
        tag = getattr(type(value), "TAG", b"d")
        return tag + _FIXED[tag].pack(value)
    if isinstance(value, str):
        return b"S" + _longstr(value.encode())
    if isinstance(value, bytes):
        return b"S" + _longstr(value)
    if isinstance(value, bytearray):
        return b"x" + _longstr(bytes(value))
    if isinstance(value, decimal.Decimal):
        return _decimal_value(value)
    if isinstance(value, datetime.datetime):
        return b"T" + _timestamp(value)
    if isinstance(value, Mapping):
        return b"F" + encode_table(value)
    if isinstance(value, (list, tuple)):
        return b"A" + _longstr(b"".join(encode_value(item) for item in value))
    if value is None:
        return b"V"
    raise TypeError(f"cannot encode {type(value).__name__} in a field table")


def encode_table(table: Mapping[str, Any] | None) -> bytes:
    """A field table with its length prefix."""
    if not table:
        return b"\x00\x00\x00\x00"
    parts = [_shortstr(key) + encode_value(value) for key, value in table.items()]
    return _longstr(b"".join(parts))


def _encode_property(kind: str, value: Any) -> bytes:
    if kind == "shortstr":
        return _shortstr(value)
    if kind == "octet":
        return bytes([int(value) & 0xFF])
    if kind == "timestamp":
        return _timestamp(value)
    return encode_table(value)


def encode_properties(props: Mapping[str, Any]) -> bytes:
    """Property flags and values (the part of a header frame after the body size)."""
    flags = 0
    parts = []
    for name in PROPERTY_NAMES:
        value = props.get(name)
        if value is None:
            continue
        flags |= _PROP_FLAGS[name]
        parts.append(_encode_property(_PROP_TYPES[name], value))
    return struct.pack(">H", flags) + b"".join(parts)


def header_payload(body_size: int, props: Mapping[str, Any]) -> bytes:
    """A content header frame's payload for class basic."""
    return struct.pack(">HHQ", 60, 0, body_size) + encode_properties(props)


def _frame(frame_type: int, channel: int, payload: bytes) -> bytes:
    return _HEADER.pack(frame_type, channel, len(payload)) + payload + b"\xce"


def content_frames(channel: int, header: bytes, body: bytes, frame_max: int) -> list[bytes]:
    """The header frame and the body frames (each at most ``frame_max - 8`` bytes of body)."""
    frames = [_frame(2, channel, header)]
    step = frame_max - 8 if frame_max else len(body) or 1
    for start in range(0, len(body), step):
        frames.append(_frame(3, channel, body[start : start + step]))
    return frames
