"""Decoding of client frames' payloads and encoding of the server's frames.

Rules (RabbitMQ 3.10.8, probed: tests/amqp/test_malformed.py):
- methods are decoded with a plan per class (pamqp names the arguments and
  their types); every argument is bounds-checked and the whole payload must
  be consumed: a short or long argument block, or a table whose length runs
  past the payload, is 501 ``cannot decode <<...>>`` (the bytes as Erlang's
  ``~w`` writes them) with the method's ids;
- then every short string except basic.publish's must be UTF-8 (RabbitMQ's
  generated decoder asserts it; basic.publish's is hand-written and does
  not): 501 ``Malformed UTF-8 in shortstr`` with ids 0, 0;
- then the tables' contents are read: an unknown field type, a bad inner
  length, a NaN float crash RabbitMQ's reader: the socket is dropped with no
  close frame; an unknown method is dropped the same way;
- content properties are decoded as RabbitMQ's channel decodes them: any
  failure (truncated values or flags, bytes after the last property, the
  property-flags continuation bit, a bad table) is a channel crash, answered
  with connection.close 541 ``INTERNAL_ERROR`` (0, 0); short strings in
  properties and table keys are not checked for UTF-8;
- a short string that is not UTF-8 is decoded with ``surrogateescape`` and
  encoded back the same way, so names RabbitMQ takes as bytes round-trip;
- tables and content properties are encoded here (not by pamqp) so that
  values keep RabbitMQ's types (_tables);
- the access class (30) of AMQP 0-9-1, deprecated and left out by pamqp, is
  defined here: access.request (realm, then five bits) is decoded like any
  method, access.request-ok (a short ticket) encoded like any.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from pamqp import base, commands, decode, encode

from ._errors import dropped, erlang_bytes, frame_error, internal_error, malformed_utf8
from ._tables import FieldError, Timestamp, decode_table, encode_table, encode_timestamp, shortstr

__all__ = [
    "FRAME_END",
    "HEARTBEAT_FRAME",
    "PROPERTY_NAMES",
    "AccessRequest",
    "AccessRequestOk",
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
_U32 = struct.Struct(">L")
_U64 = struct.Struct(">Q")


# -- the access class (pamqp has none) ------------------------------------------------------


class AccessRequest(base.Frame):
    """access.request (30, 10): RabbitMQ 3.10 answers request-ok with ticket 1, whatever it asks."""

    #: the arguments in wire order, as pamqp's classes keep them
    __slots__: ClassVar[list[str]] = [  # noqa: RUF023
        "realm",
        "exclusive",
        "passive",
        "active",
        "write",
        "read",
    ]
    frame_id: ClassVar[int] = 10
    index: ClassVar[int] = 0x001E000A
    name: ClassVar[str] = "Access.Request"
    synchronous: ClassVar[bool] = True
    valid_responses: ClassVar[list[str]] = ["Access.RequestOk"]

    _realm = "shortstr"
    _exclusive = _passive = _active = _write = _read = "bit"

    def __init__(self, realm: str = "/data") -> None:
        self.realm = realm
        self.exclusive = self.passive = self.active = self.write = self.read = False


class AccessRequestOk(base.Frame):
    """access.request-ok (30, 11)."""

    __slots__: ClassVar[list[str]] = ["ticket"]
    frame_id: ClassVar[int] = 11
    index: ClassVar[int] = 0x001E000B
    name: ClassVar[str] = "Access.RequestOk"

    _ticket = "short"

    def __init__(self, ticket: int = 1) -> None:
        self.ticket = ticket


#: Methods by index: pamqp's, and the access class.
_METHODS: dict[int, type[base.Frame]] = {
    **commands.INDEX_MAPPING,
    AccessRequest.index: AccessRequest,
    AccessRequestOk.index: AccessRequestOk,
}


# -- decoding -------------------------------------------------------------------------------

_Reader = Callable[[bytes, int], tuple[int, Any]]


class _NotUtf8(str):
    """A short string that was not UTF-8 (its bytes kept with ``surrogateescape``)."""

    __slots__ = ()


class _RawTable:
    """A method's table argument, its bounds checked, its contents read later."""

    __slots__ = ("end", "start")

    def __init__(self, start: int, end: int) -> None:
        self.start, self.end = start, end


def _octet(data: bytes, offset: int) -> tuple[int, Any]:
    if offset >= len(data):
        raise ValueError("truncated octet")
    return offset + 1, data[offset]


def _fixed(fmt: struct.Struct) -> _Reader:
    def decode_fixed(data: bytes, offset: int) -> tuple[int, Any]:
        return offset + fmt.size, fmt.unpack_from(data, offset)[0]

    return decode_fixed


def _short_string(data: bytes, offset: int) -> tuple[int, Any]:
    end = offset + 1 + data[offset]
    if end > len(data):
        raise ValueError("truncated short string")
    raw = data[offset + 1 : end]
    try:
        return end, raw.decode("utf-8")
    except UnicodeDecodeError:
        return end, _NotUtf8(raw.decode("utf-8", "surrogateescape"))


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


def _raw_table(data: bytes, offset: int) -> tuple[int, Any]:
    start = offset + 4
    end = start + _U32.unpack_from(data, offset)[0]
    if end > len(data):
        raise ValueError("table length past the payload")
    return end, _RawTable(start, end)


def _timestamp(data: bytes, offset: int) -> tuple[int, Any]:
    return offset + 8, Timestamp(_U64.unpack_from(data, offset)[0])


def _by_pamqp(kind: str) -> _Reader:
    def decode_other(data: bytes, offset: int) -> tuple[int, Any]:
        consumed, value = decode.by_type(data[offset:], kind)
        return offset + consumed, value

    return decode_other


#: Field decoders by AMQP type: (data, offset) -> (offset after, value). The
#: numbers are read as pamqp reads them (short and long unsigned, longlong
#: signed); a method's tables are read after its structure (_RawTable).
_DECODERS: dict[str, _Reader] = {
    "octet": _octet,
    "short": _fixed(struct.Struct(">H")),
    "long": _fixed(_U32),
    "longlong": _fixed(struct.Struct(">q")),
    "shortstr": _short_string,
    "longstr": _long_string,
    "table": _raw_table,
    "timestamp": _timestamp,
}
_Plan = tuple[tuple[str, "_Reader | None"], ...]
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


#: The one method whose short strings RabbitMQ 3.10 does not check for UTF-8.
_UNCHECKED = commands.Basic.Publish


def _finish(method: base.Frame, args: bytes, utf8: bool) -> None:
    """After the structure: the UTF-8 check, then the tables' contents."""
    tables: list[tuple[str, _RawTable]] = []
    utf8 = utf8 and type(method) is not _UNCHECKED
    for name, _ in _plan(type(method)):
        value = getattr(method, name)
        if utf8 and type(value) is _NotUtf8:
            raise malformed_utf8(method.index >> 16, method.index & 0xFFFF)
        if type(value) is _RawTable:
            tables.append((name, value))
    for name, raw in tables:
        table: dict[str, Any] = {}
        try:
            if raw.end > raw.start:
                _, table = decode_table(args[: raw.end], raw.start - 4)
        except (FieldError, IndexError) as error:
            raise dropped(f"cannot parse a table in {method.name}: {error}") from error
        setattr(method, name, table)
    if type(method) is _UNCHECKED:  # its names as plain strings, bytes kept
        method.exchange, method.routing_key = str(method.exchange), str(method.routing_key)


def decode_method(payload: bytes, *, utf8: bool = True) -> base.Frame:
    """A method frame's payload (at least 4 bytes) as a pamqp method.

    ``utf8=False`` skips the UTF-8 check (to read a server's frames, whose
    texts may carry any bytes, as RabbitMQ's do).
    """
    class_id, method_id = struct.unpack_from(">HH", payload)
    cls = _METHODS.get((class_id << 16) | method_id)
    if cls is None:
        raise dropped(f"unknown method {class_id}/{method_id}")
    # every slot is set by _unmarshal: skip pamqp's __init__, which validates only its defaults
    method = object.__new__(cls)
    args = payload[4:]
    try:
        used = _unmarshal(method, args)
    except Exception:
        used = -1
    if used != len(args):
        raise frame_error(
            f"cannot decode {erlang_bytes(args)}", class_id=class_id, method_id=method_id
        )
    _finish(method, args, utf8)
    return method


def _read_flags(data: bytes) -> tuple[int, int]:
    """(offset after, flags): one 16-bit word; RabbitMQ 3.10 refuses the continuation bit."""
    if len(data) < 2:
        raise ValueError("truncated flags")
    flags = (data[0] << 8) | data[1]
    if flags & 1:
        raise ValueError("property flags continuation")
    return 2, flags


def _prop_table(data: bytes, offset: int) -> tuple[int, Any]:
    return decode_table(data, offset)


_PROP_DECODERS: dict[str, _Reader] = {
    "shortstr": _short_string,
    "octet": _octet,
    "timestamp": _timestamp,
    "table": _prop_table,
}
_PROP_PLAN = tuple(
    (name, _PROP_FLAGS[name], _PROP_DECODERS[_PROP_TYPES[name]]) for name in PROPERTY_NAMES
)


def decode_properties(data: bytes) -> dict[str, Any]:
    """Content properties (the part of a header frame after the body size) as a dict.

    Any failure is RabbitMQ's channel crashing on them: 541 INTERNAL_ERROR.
    """
    try:
        offset, flags = _read_flags(data)
        props: dict[str, Any] = {}
        for name, flag, decoder in _PROP_PLAN:
            if flags & flag:
                offset, value = decoder(data, offset)
                if offset > len(data):
                    raise ValueError("truncated")
                props[name] = str(value) if type(value) is _NotUtf8 else value
        if offset != len(data):
            raise ValueError("bytes after the properties")
    except (ValueError, IndexError, struct.error) as error:
        raise internal_error(f"cannot decode content properties: {error}") from error
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


def _longstr(value: str | bytes) -> bytes:
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)
    return _U32.pack(len(raw)) + raw


#: Server argument encoders of our own: names and texts that came as bytes go back as those
#: bytes (``surrogateescape``), tables keep their field types; the rest is pamqp's.
_ENCODERS: dict[str, Callable[[Any], bytes]] = {
    "shortstr": shortstr,
    "longstr": _longstr,
    "table": encode_table,
    "timestamp": encode_timestamp,
}


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
        encoder = _ENCODERS.get(kind)
        output.append(encoder(value) if encoder is not None else encode.by_type(value, kind))
    if in_bits:
        output.append(encode.octet(byte))
    return b"".join(output)


def encode_method(channel: int, method: base.Frame) -> bytes:
    """One method frame."""
    payload = _U32.pack(method.index) + _marshal(method)
    return _HEADER.pack(1, channel, len(payload)) + payload + b"\xce"


_METHOD_HEAD = struct.Struct(">BHIHH")


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
    tag, ex, key = (
        value.encode("utf-8", "surrogateescape") for value in (consumer_tag, exchange, routing_key)
    )
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


def _encode_property(kind: str, value: Any) -> bytes:
    if kind == "shortstr":
        return shortstr(value)
    if kind == "octet":
        return bytes([int(value) & 0xFF])
    if kind == "timestamp":
        return encode_timestamp(value)
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
