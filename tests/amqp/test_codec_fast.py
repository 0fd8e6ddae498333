"""The engine's own codec paths give pamqp's answers, byte for byte and value for value."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pamqp import commands as C
from pamqp import frame as pframe
from pamqp.header import ContentHeader

from fakebroker.amqp._codec import (
    decode_method,
    decode_properties,
    encode_deliver,
    encode_method,
    unchecked,
)

_short = st.text(max_size=60)
#: Names pamqp's constructors (the reference here) accept; the engine takes any name, as
#: RabbitMQ does (test_declare_ok_carries_names_pamqp_would_refuse, test_odd_names_*).
_name = st.from_regex(r"[a-zA-Z0-9\-_.:]{0,60}", fullmatch=True)
_tag = st.integers(0, 2**63 - 1)


@given(
    channel=st.integers(1, 2047),
    consumer_tag=_short,
    delivery_tag=_tag,
    redelivered=st.booleans(),
    exchange=_name,
    routing_key=_short,
)
def test_encode_deliver_is_pamqps_frame(
    channel: int,
    consumer_tag: str,
    delivery_tag: int,
    redelivered: bool,
    exchange: str,
    routing_key: str,
) -> None:
    method = C.Basic.Deliver(
        consumer_tag=consumer_tag,
        delivery_tag=delivery_tag,
        redelivered=redelivered,
        exchange=exchange,
        routing_key=routing_key,
    )
    fast = encode_deliver(channel, consumer_tag, delivery_tag, redelivered, exchange, routing_key)
    assert fast == pframe.marshal(method, channel)


def test_encode_deliver_with_a_long_routing_key_goes_to_pamqp() -> None:
    # a CC header can carry a key longer than a short string; pamqp decides what happens
    key = "k" * 300
    try:
        expected: Any = pframe.marshal(C.Basic.Deliver(consumer_tag="c", routing_key=key), 1)
    except Exception as error:
        expected = type(error)
    try:
        got: Any = encode_deliver(1, "c", 0, False, "", key)
    except Exception as error:
        got = type(error)
    assert got == expected


def _payload(method: Any) -> bytes:
    return pframe.marshal(method, 1)[7:-1]


@given(
    queue=_name,
    consumer_tag=_short,
    no_local=st.booleans(),
    no_ack=st.booleans(),
    exclusive=st.booleans(),
    nowait=st.booleans(),
    arguments=st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
)
def test_decode_method_gives_pamqps_values(
    queue: str,
    consumer_tag: str,
    no_local: bool,
    no_ack: bool,
    exclusive: bool,
    nowait: bool,
    arguments: dict[str, str],
) -> None:
    sent = C.Basic.Consume(
        queue=queue,
        consumer_tag=consumer_tag,
        no_local=no_local,
        no_ack=no_ack,
        exclusive=exclusive,
        nowait=nowait,
        arguments=arguments,
    )
    got = decode_method(_payload(sent))
    assert isinstance(got, C.Basic.Consume)
    assert {k: getattr(got, k) for k in sent.__slots__} == {
        k: getattr(sent, k) for k in sent.__slots__
    }


@given(
    delivery_tag=st.integers(0, 2**63 - 1),
    multiple=st.booleans(),
    message_count=st.integers(0, 2**32 - 1),
)
def test_numbers_decode_as_pamqp_reads_them(
    delivery_tag: int, multiple: bool, message_count: int
) -> None:
    ack = decode_method(_payload(C.Basic.Ack(delivery_tag=delivery_tag, multiple=multiple)))
    assert (ack.delivery_tag, ack.multiple) == (delivery_tag, multiple)
    ok = decode_method(_payload(C.Queue.PurgeOk(message_count=message_count)))
    assert ok.message_count == message_count


@given(
    props=st.fixed_dictionaries(
        {},
        optional={
            "content_type": st.text(min_size=1, max_size=60),
            "delivery_mode": st.integers(1, 2),
            "priority": st.integers(0, 255),
            "correlation_id": st.text(min_size=1, max_size=60),
            "headers": st.dictionaries(
                st.text(max_size=8), st.text(max_size=8), min_size=1, max_size=3
            ),
            "expiration": st.sampled_from(["0", "1000"]),
        },
    )
)
def test_decode_properties_gives_what_was_sent(props: dict[str, Any]) -> None:
    # (pamqp leaves empty values out, so the strategies send none)
    header = pframe.marshal(ContentHeader(0, 5, C.Basic.Properties(**props)), 1)
    data = header[7 + 12 : -1]  # after class, weight and body size
    assert decode_properties(data) == props


def test_encode_method_is_pamqps_frame_for_every_method() -> None:
    encoded = 0
    for cls in C.INDEX_MAPPING.values():
        method = cls()
        try:
            expected = pframe.marshal(method, 3)
        except TypeError:  # a default of None that pamqp cannot encode: neither can the engine
            with pytest.raises(TypeError):
                encode_method(3, method)
            continue
        assert encode_method(3, method) == expected, cls.name
        encoded += 1
    assert encoded > 40


@given(
    queue=st.text(min_size=1, max_size=80).filter(lambda q: len(q.encode()) <= 255),
    count=st.integers(0, 2**32 - 1),
)
def test_declare_ok_carries_names_pamqp_would_refuse(queue: str, count: int) -> None:
    # RabbitMQ takes any name of up to 255 bytes; pamqp's validation stops at 127 and [\w.:-]
    frame = encode_method(
        1, unchecked(C.Queue.DeclareOk, queue=queue, message_count=count, consumer_count=0)
    )
    got = decode_method(frame[7:-1])
    assert (got.queue, got.message_count, got.consumer_count) == (queue, count, 0)
