"""AMQP 0-8, as RabbitMQ 3.10.8 speaks it to a client that asks for it (sans-I/O).

Rules (each probed on RabbitMQ 3.10.8; see tests/amqp/test_amqp08.py):
- the protocol headers ``AMQP 1 1 8 0`` and ``AMQP 1 1 9 1`` start a 0-8
  connection: connection.start says version 8-0, and its server_properties
  carry an empty ``capabilities`` table;
- the frames are 0-9-1's, except these method ids and layouts:

  ============================  ===========  ============
  method                        0-8 id       0-9-1 id
  ============================  ===========  ============
  connection.close              10/60        10/50
  connection.close-ok           10/61        10/51
  channel.open-ok               no argument  a long string
  basic.consume                 no table     a table
  ============================  ===========  ============

- a method 0-9-1 has and 0-8 lacks (confirm.select, exchange.bind and
  unbind, basic.nack, connection.close as 10/50...) or any id neither knows
  drops the socket with no close frame, as RabbitMQ's 0-8 parser does;
- 0-8's own methods RabbitMQ does not implement (the file, stream, dtx,
  tunnel and test classes, channel.alert) get connection.close 503
  ``COMMAND_INVALID - unimplemented method`` with their ids; a client's
  connection.redirect (10/50) is 541;
- a 0-8 basic.consume with a table after its bits is 501 ``cannot decode``
  with the arguments as sent;
- connection.blocked and unblocked, which 0-8 cannot say, are not sent.

The engine translates each incoming 0-8 method frame to its 0-9-1 form
(:func:`inbound`) and each outgoing method to its 0-8 bytes (:func:`encode`),
so everything between speaks 0-9-1 only.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

from pamqp import base
from pamqp import commands as C

from ._codec import encode_method
from ._errors import ProtocolError, command_invalid, dropped, erlang_bytes, frame_error
from ._errors import internal_error as _internal_error
from ._wire import FRAME_METHOD, Frame

__all__ = ["HEADERS", "encode", "inbound", "start_frame"]

#: The protocol headers RabbitMQ answers with a 0-8 connection.start.
HEADERS = frozenset({b"AMQP\x01\x01\x08\x00", b"AMQP\x01\x01\x09\x01"})


def _ids(pairs: Iterable[tuple[int, int]]) -> frozenset[bytes]:
    return frozenset(struct.pack(">HH", c, m) for c, m in pairs)


def _class(class_id: int, *method_ids: int) -> list[tuple[int, int]]:
    return [(class_id, m) for m in method_ids]


#: Methods both versions have, with the same id and layout (either direction).
_SHARED = _ids(
    _class(10, 10, 11, 20, 21, 30, 31, 40, 41)  # start, secure, tune, open (and -ok)
    + _class(20, 10, 20, 21, 40, 41)  # channel open, flow(-ok), close(-ok)
    + _class(30, 10, 11)  # access.request(-ok)
    + _class(40, 10, 11, 20, 21)  # exchange declare, delete
    + _class(50, *range(10, 51, 10), *range(11, 52, 10))  # queue declare ... unbind
    + _class(60, 10, 11, 21, 30, 31, 40, 50, 60, 70, 71, 72, 80, 90, 100, 110, 111)  # basic
    + _class(90, 10, 11, 20, 21, 30, 31)  # tx
)
#: 0-8's own methods, which RabbitMQ decodes and then refuses as unimplemented.
_UNIMPLEMENTED = _ids(
    _class(20, 30)  # channel.alert
    + _class(70, *range(10, 101, 10), 11, 21, 31, 41)  # file
    + _class(80, 10, 11, 20, 21, 30, 31, 40, 50, 60)  # stream
    + _class(100, 10, 11, 20, 21)  # dtx
    + _class(110, 10)  # tunnel
    + _class(120, 10, 11, 20, 21, 30, 31, 40, 41)  # test
)
_RENAMED = {b"\x00\x0a\x00\x3c": b"\x00\x0a\x00\x32", b"\x00\x0a\x00\x3d": b"\x00\x0a\x00\x33"}
_REDIRECT = b"\x00\x0a\x00\x32"
_CONSUME = b"\x00\x3c\x00\x14"
_EMPTY_TABLE = b"\x00\x00\x00\x00"


def _consume(frame: Frame) -> Frame:
    """0-8's basic.consume (ticket, queue, consumer tag, bits) given 0-9-1's empty table."""
    args = frame.payload[4:]
    end = 2
    for _ in range(2):  # the queue and the consumer tag
        end = end + 1 + args[end] if end < len(args) else len(args) + 1
    if end + 1 != len(args):
        raise frame_error(f"cannot decode {erlang_bytes(args)}", class_id=60, method_id=20)
    return Frame(frame.type, frame.channel, frame.payload + _EMPTY_TABLE)


def inbound(frame: Frame) -> Frame:
    """A frame from a 0-8 client in 0-9-1's form; raises what RabbitMQ answers instead."""
    if frame.type != FRAME_METHOD:
        return frame
    ids = frame.payload[:4]
    if ids in _SHARED:
        return frame
    if ids == _CONSUME:
        return _consume(frame)
    renamed = _RENAMED.get(ids)
    if renamed is not None:
        return Frame(frame.type, frame.channel, renamed + frame.payload[4:])
    raise _refusal(ids)


def _refusal(ids: bytes) -> ProtocolError:
    class_id, method_id = struct.unpack(">HH", ids)
    if ids in _UNIMPLEMENTED:
        return command_invalid("unimplemented method", class_id=class_id, method_id=method_id)
    if ids == _REDIRECT:
        return _internal_error("connection.redirect from a client")
    return dropped(f"unknown AMQP 0-8 method {class_id}/{method_id}")


def encode(channel: int, method: base.Frame) -> bytes:
    """One method as a 0-8 frame (``b""`` for what 0-8 cannot say)."""
    if isinstance(method, C.Channel.OpenOk):
        return struct.pack(">BHIHHB", FRAME_METHOD, channel, 4, 20, 11, 0xCE)
    if isinstance(method, C.Connection.Blocked | C.Connection.Unblocked):
        return b""
    data = encode_method(channel, method)
    if isinstance(method, C.Connection.Close | C.Connection.CloseOk):
        method_id = 60 if isinstance(method, C.Connection.Close) else 61
        return data[:9] + struct.pack(">H", method_id) + data[11:]
    return data


def start_frame(server_properties: dict[str, Any], mechanisms: str, locales: str) -> bytes:
    """connection.start for a 0-8 client: version 8-0, no capabilities."""
    start = C.Connection.Start(
        version_major=8,
        version_minor=0,
        server_properties={**server_properties, "capabilities": {}},
        mechanisms=mechanisms,
        locales=locales,
    )
    return encode_method(0, start)
