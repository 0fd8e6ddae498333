"""How RabbitMQ's Erlang prints terms into reply texts (sans-I/O).

Rules (probed against RabbitMQ 3.10.8):
- a binary prints as ``~p`` prints it: ``<<"text">>`` when every byte is
  printable latin-1 (32-126, 160-255, and the escaped ``\\b \\t \\n \\v \\f
  \\r \\e " \\``), else ``<<1,2,3>>``; the empty binary is ``<<>>``;
- the printable form carries the raw bytes: ``<<"é">>`` for the UTF-8 bytes
  of "é", and bytes 160-255 that are not UTF-8 (``caf\\xe9``) go on the wire
  as they are, which a client cannot decode as UTF-8 (:func:`wire_text`
  gives what a lenient client reads).
"""

from __future__ import annotations

__all__ = ["erlang_binary", "erlang_bytes", "raw_text", "wire_text"]

_ESCAPES = {34: '\\"', 92: "\\\\", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f"}
_ESCAPES.update({13: "\\r", 27: "\\e"})


def _printable(byte: int) -> bool:
    """Erlang's printable latin-1 test for one byte."""
    return 32 <= byte <= 126 or byte >= 160 or byte in _ESCAPES


def erlang_binary(data: bytes) -> str:
    """A binary as ``~p`` prints it: ``<<"text">>`` or ``<<1,2>>`` (bytes as latin-1 chars)."""
    if not data:
        return "<<>>"
    if all(_printable(b) for b in data):
        text = "".join(_ESCAPES.get(b) or chr(b) for b in data)
        return f'<<"{text}">>'
    return erlang_bytes(data)


def erlang_bytes(data: bytes) -> str:
    """A binary as ``~w`` writes it: always numbers, ``<<1,2,3>>``."""
    return "<<" + ",".join(map(str, data)) + ">>"


def raw_text(text: str) -> str:
    """A text of latin-1 chars standing for raw bytes, as a str whose UTF-8 encoding with
    ``surrogateescape`` gives those bytes back (how the protocol engine sends them)."""
    if text.isascii():
        return text
    return text.encode("latin-1").decode("utf-8", "surrogateescape")


def wire_text(text: str) -> str:
    """A text built from latin-1 chars standing for raw bytes, as a client decodes those bytes.

    UTF-8 sequences become their characters (as RabbitMQ's bytes decode);
    bytes that are not UTF-8 become U+FFFD, as a lenient decoder shows them.
    """
    if text.isascii():
        return text
    return text.encode("latin-1", "replace").decode("utf-8", "replace")
