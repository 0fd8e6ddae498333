"""fakebroker.core.erlang: binaries as RabbitMQ's ~p prints them (probed against 3.10.8)."""

from __future__ import annotations

import pytest

from fakebroker.core.erlang import erlang_binary, wire_text


@pytest.mark.parametrize(
    ("data", "printed"),
    [
        (b"", "<<>>"),
        (b"abc", '<<"abc">>'),
        (b'a"b\\', '<<"a\\"b\\\\">>'),
        (b"\n\t", '<<"\\n\\t">>'),
        (b"\xa0\xe9ab", '<<"\xa0\xe9ab">>'),  # 160-255: printable latin-1, as RabbitMQ
        (b"\xff", '<<"\xff">>'),
        (b"ab\x80", "<<97,98,128>>"),  # 128-159 are not printable
        (b"\x7f", "<<127>>"),
        (b"\x00x", "<<0,120>>"),
    ],
)
def test_binaries_print_as_rabbitmq_prints_them(data: bytes, printed: str) -> None:
    assert erlang_binary(data) == printed


def test_the_wire_text_is_what_a_client_decodes_from_rabbitmqs_bytes() -> None:
    assert wire_text(erlang_binary("é".encode())) == '<<"é">>'
    assert wire_text(erlang_binary(b"caf\xe9")) == '<<"caf\ufffd">>'
    assert wire_text("plain") == "plain"
