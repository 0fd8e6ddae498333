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
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from pamqp import base, commands, decode, encode

from ._errors import dropped, frame_error, shown_binary
from ._tables import NUMBER_FORMATS as _FIXED
from ._tables import decode_table

__all__ = [
    "FRAME_END",
    "HEARTBEAT_FRAME",
    "PROPERTY_NAMES",
    "content_frames",
    "decode_method",
    "decode_properties",
    "encode_deliver",
    "encode_method",
    "encode_properties",
    "encode_table",
    "unchecked",
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


def _octet(data: bytes, offset: int) -> tuple[int, Any]:
    if offset >= len(data):
        raise ValueError("truncated octet")
    return offset + 1, data[offset]


def _fixed(fmt: struct.Struct) -> Callable[[bytes, int], tuple[int, Any]]:
    def decode_fixed(data: bytes, offset: int) -> tuple[int, Any]:
        return offset + fmt.size, fmt.unpack_from(data, offset)[0]

    return decode_fixed


def _short_string(data: bytes, offset: int) -> tuple[int, Any]:
    end = offset + 1 + data[offset]
    if end > len(data):
        raise ValueError("truncated short string")
    return end, data[offset + 1 : end].decode("utf-8")


def _long_string(data: bytes, offset: int) -> tuple[int, Any]:
    start = offset + 4
    end = start + _U32.unpack_from(data, offset)[0]
    if end > len(data):
        raise ValueError("truncated long string")
    raw = data[start:end]
    try:
        return end, raw.decode("utf-8")
    except UnicodeDecodeError:  # pamqp's rule: a long string that is not UTF-8 stays bytes
        return end, raw


def _by_pamqp(kind: str) -> Callable[[bytes, int], tuple[int, Any]]:
    def decode_other(data: bytes, offset: int) -> tuple[int, Any]:
        consumed, value = decode.by_type(data[offset:], kind)
        return offset + consumed, value

    return decode_other


_U32 = struct.Struct(">L")
#: Field decoders by AMQP type: (data, offset) -> (offset after, value). The
#: numbers are read as pamqp reads them (short and long unsigned, longlong
#: signed); tables keep their field types (_tables); the rest is pamqp's.
_DECODERS: dict[str, Callable[[bytes, int], tuple[int, Any]]] = {
    "octet": _octet,
    "short": _fixed(struct.Struct(">H")),
    "long": _fixed(_U32),
    "longlong": _fixed(struct.Struct(">q")),
    "shortstr": _short_string,
    "longstr": _long_string,
    "table": decode_table,
    "timestamp": _by_pamqp("timestamp"),
}
_Plan = tuple[tuple[str, "Callable[[bytes, int], tuple[int, Any]] | None"], ...]
_PLANS: dict[type, _Plan] = {}


def _plan(cls: type[base.Frame]) -> _Plan:
    """``cls``'s arguments in wire order with their decoders (None for a bit), made once."""
    plan = _PLANS.get(cls)
    if plan is None:
        plan = tuple(
            (name, None if kind == "bit" else _DECODERS.get(kind) or _by_pamqp(kind))
            for name, kind in _kinds(cls)
        )
        _PLANS[cls] = plan
    return plan


def _kinds(cls: type[base.Frame]) -> tuple[tuple[str, str], ...]:
    """``cls``'s arguments in wire order with their AMQP types, looked up once."""
    kinds = _KINDS.get(cls)
    if kinds is None:
        kinds = _KINDS[cls] = tuple((name, cls.amqp_type(name)) for name in cls.__slots__)
    return kinds


_KINDS: dict[type, tuple[tuple[str, str], ...]] = {}


def _unmarshal(method: base.Frame, data: bytes) -> int:
    """Decode ``data`` into ``method``'s attributes; return the bytes consumed."""
    offset, bit, in_bits = 0, 0, False
    for name, decoder in _plan(type(method)):
        if decoder is None:
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
            offset, value = decoder(data, offset)
            if offset > len(data):
                raise ValueError("truncated")
        setattr(method, name, value)
    return offset + 1 if in_bits else offset


def _unknown_table_type(error: BaseException) -> bool:
    return isinstance(error, ValueError) and str(error).startswith("Unknown type")


def decode_method(payload: bytes) -> base.Frame:
    """A method frame's payload (at least 4 bytes) as a pamqp method."""
    class_id, method_id = struct.unpack_from(">HH", payload)
    cls = commands.INDEX_MAPPING.get((class_id << 16) | method_id)
    if cls is None:
        raise dropped(f"unknown method {class_id}/{method_id}")
    # every slot is set by _unmarshal: skip pamqp's __init__, which validates only its defaults
    method = cast(base.Frame, object.__new__(cls))
    args = payload[4:]
    try:
        used = _unmarshal(method, args)
    except Exception as error:
        if _unknown_table_type(error):
            raise dropped(f"unknown field type in {method.name}") from error
        used = -1
    if used != len(args):
        raise frame_error(
            f"cannot decode {shown_binary(args)}", class_id=class_id, method_id=method_id
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


_PROP_PLAN = tuple(
    (name, _PROP_FLAGS[name], _DECODERS[_PROP_TYPES[name]]) for name in PROPERTY_NAMES
)


def decode_properties(data: bytes) -> dict[str, Any]:
    """Content properties (the part of a header frame after the body size) as a dict."""
    try:
        offset, flags = _read_flags(data)
        props: dict[str, Any] = {}
        for name, flag, decoder in _PROP_PLAN:
            if flags & flag:
                offset, value = decoder(data, offset)
                if offset > len(data):
                    raise ValueError("truncated")
                props[name] = value
    except Exception as error:
        if _unknown_table_type(error):
            raise dropped("unknown field type in content properties") from error
        raise frame_error(
            f"cannot decode {shown_binary(data)}", class_id=60, method_id=40
        ) from error
    return props


# -- encoding -------------------------------------------------------------------------------


_F = TypeVar("_F", bound=base.Frame)


def unchecked(cls: type[_F], **fields: Any) -> _F:
    """A pamqp method with ``fields`` set, past pamqp's validation.

    pamqp's constructors and marshal refuse names longer than 127 characters
    or outside the spec's character set; RabbitMQ takes any name of up to 255
    bytes, and so must what the server sends back (declare-ok, get-ok, return).
    """
    method = cls()  # its defaults are valid
    for name, value in fields.items():
        setattr(method, name, value)
    return method


def _marshal(method: base.Frame) -> bytes:
    """pamqp's argument encoding (its field encoders, its bit packing), without its validation."""
    output: list[bytes] = []
    byte, bit, in_bits = 0, 0, False
    for name, kind in _kinds(type(method)):
        value = getattr(method, name, 0)
        if kind == "bit":
            if not in_bits:
                byte, bit, in_bits = 0, 0, True
            byte = encode.bit(value, byte, bit)
            bit += 1
            if bit == 8:
                output.append(encode.octet(byte))
                in_bits = False
            continue
        if in_bits:
            output.append(encode.octet(byte))
            in_bits = False
        output.append(encode.by_type(value, kind))
    if in_bits:
        output.append(encode.octet(byte))
    return b"".join(output)


def encode_method(channel: int, method: base.Frame) -> bytes:
    """One method frame."""
    payload = _U32.pack(method.index) + _marshal(method)
    return _HEADER.pack(1, channel, len(payload)) + payload + b"\xce"


_METHOD_HEAD = struct.Struct(">BHIHH")
_U64 = struct.Struct(">Q")


def encode_deliver(
    channel: int,
    consumer_tag: str,
    delivery_tag: int,
    redelivered: bool,
    exchange: str,
    routing_key: str,
) -> bytes:
    """A basic.deliver method frame, byte for byte what pamqp would write, made directly.

    basic.deliver is the server's most frequent method; building a pamqp
    object and marshalling it was a tenth of the engine's time per message
    (bench/ANALYSIS.md). Anything that does not fit a short string goes to pamqp.
    """
    tag, ex, key = consumer_tag.encode(), exchange.encode(), routing_key.encode()
    if len(tag) > 255 or len(ex) > 255 or len(key) > 255 or not 0 <= delivery_tag < 2**64:
        method = unchecked(
            commands.Basic.Deliver,
            consumer_tag=consumer_tag,
            delivery_tag=delivery_tag,
            redelivered=redelivered,
            exchange=exchange,
            routing_key=routing_key,
        )
        return encode_method(channel, method)
    args = b"".join(
        (
            bytes((len(tag),)),
            tag,
            _U64.pack(delivery_tag),
            b"\x01" if redelivered else b"\x00",
            bytes((len(ex),)),
            ex,
            bytes((len(key),)),
            key,
        )
    )
    return _METHOD_HEAD.pack(1, channel, len(args) + 4, 60, 60) + args + b"\xce"


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
