"""The RESP codec: requests split anywhere, malformed ones refused with Redis's texts, replies typed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakebroker.fronts.redis import Error, ProtocolError, Push, RequestParser, Simple, encode
from fakebroker.fronts.redis._codec import MAX_INLINE


def _request(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def _all(parser: RequestParser) -> list[list[bytes]]:
    out = []
    while (command := parser.next_command()) is not None:
        out.append(command)
    return out


@given(st.lists(st.lists(st.binary(max_size=20), min_size=1, max_size=4), max_size=5), st.data())
def test_commands_split_at_any_byte_come_out_whole(
    commands: list[list[bytes]], data: st.DataObject
) -> None:
    stream = b"".join(_request(*c) for c in commands)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    parser = RequestParser()
    got: list[list[bytes]] = []
    last = 0
    for cut in [*cuts, len(stream)]:
        parser.feed(stream[last:cut])
        last = cut
        got.extend(_all(parser))
    assert got == commands
    assert parser.buffered == 0


def test_need_more_data_is_not_malformed() -> None:
    parser = RequestParser()
    for piece in (b"*", b"2\r", b"\n$3\r\nGE", b"T\r\n$1\r\nk", b"\r"):
        parser.feed(piece)
        assert parser.next_command() is None
    parser.feed(b"\n")
    assert parser.next_command() == [b"GET", b"k"]


def test_inline_commands_and_empty_lines() -> None:
    parser = RequestParser()
    parser.feed(b"\r\nPING\r\nset k 'a b'\nECHO \"x\"\r\n")
    assert _all(parser) == [[b"PING"], [b"set", b"k", b"a b"], [b"ECHO", b"x"]]


@pytest.mark.parametrize(
    ("stream", "text"),
    [
        (b"*1\r\n+PING\r\n", "Protocol error: expected '$', got '+'"),
        (b"*x\r\n", "Protocol error: invalid multibulk length"),
        (b"*1\r\n$-5\r\n", "Protocol error: invalid bulk length"),
        (b"*1\r\n$abc\r\n", "Protocol error: invalid bulk length"),
        (b"*99999999\r\n", "Protocol error: invalid multibulk length"),
        (b'SET k "unclosed\r\n', "Protocol error: unbalanced quotes in request"),
    ],
)
def test_malformed_requests(stream: bytes, text: str) -> None:
    parser = RequestParser()
    parser.feed(stream)
    with pytest.raises(ProtocolError) as err:
        parser.next_command()
    assert str(err.value) == text


def test_buffers_are_capped() -> None:
    parser = RequestParser()
    parser.feed(b"x" * (MAX_INLINE + 1))
    with pytest.raises(ProtocolError, match="too big inline request"):
        parser.next_command()
    parser = RequestParser()
    parser.feed(b"*1" + b"1" * (MAX_INLINE + 1))
    with pytest.raises(ProtocolError, match="too big multibulk count string"):
        parser.next_command()


@pytest.mark.parametrize(
    ("value", "resp2", "resp3"),
    [
        (Simple(b"OK"), b"+OK\r\n", b"+OK\r\n"),
        (Error("ERR bad\nthing"), b"-ERR bad thing\r\n", b"-ERR bad thing\r\n"),
        (b"hi", b"$2\r\nhi\r\n", b"$2\r\nhi\r\n"),
        (None, b"$-1\r\n", b"_\r\n"),
        (7, b":7\r\n", b":7\r\n"),
        (True, b":1\r\n", b"#t\r\n"),
        (1.5, b"$3\r\n1.5\r\n", b",1.5\r\n"),
        (2**70, b":%d\r\n" % 2**70, b"(%d\r\n" % 2**70),
        ([b"a", 1], b"*2\r\n$1\r\na\r\n:1\r\n", b"*2\r\n$1\r\na\r\n:1\r\n"),
        ({b"k": 1}, b"*2\r\n$1\r\nk\r\n:1\r\n", b"%1\r\n$1\r\nk\r\n:1\r\n"),
        ({b"m"}, b"*1\r\n$1\r\nm\r\n", b"~1\r\n$1\r\nm\r\n"),
        (
            Push([b"message", b"c", b"x"]),
            b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nx\r\n",
            b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nx\r\n",
        ),
    ],
)
def test_replies(value: object, resp2: bytes, resp3: bytes) -> None:
    assert encode(value, 2) == resp2
    assert encode(value, 3) == resp3
