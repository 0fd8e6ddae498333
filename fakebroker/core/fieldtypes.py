"""Numbers that remember the field type a client sent them as.

A field table (queue arguments, binding arguments, message headers) carries a
type tag with every value. RabbitMQ keeps it: its error texts name it
(``received the value '5' of type 'short'``), it re-sends headers with it,
and nested tables compare with it. The protocol engine decodes tagged
integers and floats into these subclasses; they behave as ``int`` and
``float`` everywhere else. A plain ``int`` (from Python code) counts as
``signedint`` or ``long`` by its size, a plain ``float`` as ``double``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "Byte",
    "Float",
    "Long",
    "Short",
    "SignedInt",
    "UnsignedByte",
    "UnsignedInt",
    "UnsignedShort",
    "field_type",
]


def _number(cls: str, base: type[int] | type[float], name: str, tag: bytes, what: str) -> type[Any]:
    """A subclass of ``base`` that names its field type (``AMQP_TYPE``) and tag (``TAG``)."""
    doc = f"Field type ``{tag.decode()}``: RabbitMQ's ``{name}`` ({what})."
    attrs = {"__slots__": (), "__doc__": doc, "__module__": __name__, "AMQP_TYPE": name, "TAG": tag}
    return type(cls, (base,), attrs)


Byte = _number("Byte", int, "byte", b"b", "signed 8 bit")
UnsignedByte = _number("UnsignedByte", int, "unsignedbyte", b"B", "unsigned 8 bit")
Short = _number("Short", int, "short", b"s", "signed 16 bit")
UnsignedShort = _number("UnsignedShort", int, "unsignedshort", b"u", "unsigned 16 bit")
SignedInt = _number("SignedInt", int, "signedint", b"I", "signed 32 bit")
UnsignedInt = _number("UnsignedInt", int, "unsignedint", b"i", "unsigned 32 bit")
Long = _number("Long", int, "long", b"l", "signed 64 bit")
Float = _number("Float", float, "float", b"f", "32-bit float")


def field_type(value: object) -> str | None:
    """The field type ``value`` was received as, or None for a plain Python value."""
    name = getattr(type(value), "AMQP_TYPE", None)
    return name if isinstance(name, str) else None
