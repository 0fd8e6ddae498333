"""Channel closing as RabbitMQ 3.10.8 does it: flows over several reads, fakebroker and RabbitMQ.

Each flow opens channel 1, then sends its steps one at a time, each step
one packet (one read on the server); every step's answer is what the server
sent back, summarised as ``probe_malformed`` summarises (sentinel frames
left out). Both servers must give RabbitMQ's probed answers below; the
RabbitMQ side skips when it is not reachable.

What the answers show (``_state.CHANNEL_TRANSITIONS``):

- the client's channel.close closes the channel, but the frames that came
  in the same packet still reach the closed channel: a second close gets
  close-ok, close-ok forgets the channel (no close-ok is ever sent for the
  first close), channel.open is 504, anything else is discarded after the
  reader's checks (501 decoding, 505 framing; content properties never
  decoded);
- once that packet is read, close-ok goes out and the number is free: the
  next packet's close, close-ok or declare on it is 504 ``expected
  'channel.open'``, its channel.open opens it again;
- a channel the server closed behaves the same until the client's close-ok,
  whichever packet that comes in;
- access.request gets access.request-ok, ticket 1, whatever it asks.
"""

from __future__ import annotations

from typing import Any

import pytest
from pamqp import commands as C

from fakebroker.core import Broker, VirtualClock

from . import probe_malformed as P
from ._client import PROTOCOL_HEADER, RawClient, method_frame, start_ok
from ._rabbit import on_both, reachable

Frames = list[tuple[Any, ...]]

#: Step sentinels: channel.open on channel SENTINEL + the step's index, answered last.
SENTINEL = 100
NO_TOKEN = "\0"  # summarise masks a token; none here

CLOSE = method_frame(1, C.Channel.Close(200, "a", 0, 0))
CLOSE_OK = method_frame(1, C.Channel.CloseOk())
OPEN = method_frame(1, C.Channel.Open())
QOS = method_frame(1, C.Basic.Qos(prefetch_count=5))
FLOW = method_frame(1, C.Channel.Flow(active=True))
MISSING = P.method(1, 50, 10, b"\x00\x00" + P.shortstr(b"nowhere") + b"\x01\0\0\0\0")  # passive
PUBLISH = P.publish(1, b"", b"nowhere") + P.header(1, 1, b"\x00\x00") + P.body(1, b"m")
JUNK_PUBLISH = P.publish(1, b"", b"nowhere") + P.header(1, 1, b"\x00\x00junk") + P.body(1, b"m")
HEADER = P.header(1, 0, b"\x00\x00")
BAD_DECLARE = P.declare(1, b"T.qa", b"\x00\x00\x00\x32\x01kSab")  # table length past the end


def access(channel: int = 1, realm: bytes = b"/data", rest: bytes = b"\x00") -> bytes:
    """access.request: realm, then the five bits (exclusive, passive, active, write, read)."""
    return P.method(channel, 30, 10, P.shortstr(realm) + rest)


def conn_close(code: int, text: str, ids: tuple[int, int]) -> tuple[Any, ...]:
    return (0, "Connection.Close", code, text, *ids)


def expected_open(ids: tuple[int, int]) -> tuple[Any, ...]:
    return conn_close(504, "CHANNEL_ERROR - expected 'channel.open'", ids)


SECOND_OPEN = conn_close(504, "CHANNEL_ERROR - second 'channel.open' seen", (20, 10))
NOT_METHOD = conn_close(
    505, "UNEXPECTED_FRAME - expected method frame, got non method frame instead", (0, 0)
)
NOT_UTF8 = conn_close(501, "FRAME_ERROR - Malformed UTF-8 in shortstr", (0, 0))
CLOSE_OK_1, OPEN_OK_1 = (1, "Channel.CloseOk"), (1, "Channel.OpenOk")
REQUEST_OK = (1, "Access.RequestOk", b"\x00\x01")
CLOSED_404 = (1, "Channel.Close", 404, "NOT_FOUND - no queue 'nowhere' in vhost '/'", 50, 10)
CANNOT_DECODE = conn_close(
    501,
    "FRAME_ERROR - cannot decode <<0,0,4,84,46,113,97,0,0,0,0,50,1,107,83,97,98>>",
    (50, 10),
)

#: name -> (steps, each step's answer, how the connection ends): RabbitMQ 3.10.8's, probed.
FLOWS: dict[str, tuple[list[bytes], list[Frames], str]] = {
    # -- the client closes: the usual flows keep working
    "close-then-reopen": (
        [CLOSE, OPEN, QOS],
        [[CLOSE_OK_1], [OPEN_OK_1], [(1, "Basic.QosOk")]],
        "open",
    ),
    "close-close-ok-open-pipelined": ([CLOSE + CLOSE_OK + OPEN], [[OPEN_OK_1]], "open"),
    "close-close-ok-then-open": ([CLOSE + CLOSE_OK, OPEN], [[], [OPEN_OK_1]], "open"),
    "close-close-ok-then-declare": (
        [CLOSE + CLOSE_OK, MISSING],
        [[], [expected_open((50, 10))]],
        "held",
    ),
    # -- the next packet finds the number free
    "close-then-close-ok": ([CLOSE, CLOSE_OK], [[CLOSE_OK_1], [expected_open((20, 41))]], "held"),
    "close-then-close": ([CLOSE, CLOSE], [[CLOSE_OK_1], [expected_open((20, 40))]], "held"),
    "close-then-declare": ([CLOSE, MISSING], [[CLOSE_OK_1], [expected_open((50, 10))]], "held"),
    "close-then-access": ([CLOSE, access()], [[CLOSE_OK_1], [expected_open((30, 10))]], "held"),
    # -- the same packet reaches the closed channel
    "close-close-close-ok": ([CLOSE + CLOSE + CLOSE_OK], [[CLOSE_OK_1]], "open"),
    "close-close-ok-close-ok": ([CLOSE + CLOSE_OK + CLOSE_OK], [[expected_open((20, 41))]], "held"),
    "close-flow": ([CLOSE + FLOW], [[CLOSE_OK_1]], "open"),
    "close-access": ([CLOSE + access()], [[CLOSE_OK_1]], "open"),
    "close-junk-properties": ([CLOSE + JUNK_PUBLISH], [[CLOSE_OK_1]], "open"),
    "close-connection-method": (
        [CLOSE + method_frame(1, C.Connection.Blocked(reason="x"))],
        [[CLOSE_OK_1]],
        "open",
    ),
    "close-open-open": ([CLOSE + OPEN + OPEN], [[SECOND_OPEN]], "held"),
    "close-reopen-close-open": (
        [CLOSE + CLOSE_OK + OPEN + CLOSE + OPEN],
        [[OPEN_OK_1, SECOND_OPEN]],
        "held",
    ),
    "close-body": ([CLOSE + P.body(1, b"m")], [[NOT_METHOD]], "held"),
    "close-heartbeat": (
        [CLOSE + P.frame(8, 1, b"")],
        [[conn_close(505, "UNEXPECTED_FRAME - type 8, all octets = <<>>", (0, 0))]],
        "held",
    ),
    "close-header-weight-1": (
        [CLOSE + P.publish(1, b"", b"nowhere") + P.header(1, 1, b"\x00\x00", weight=1)],
        [[conn_close(505, "UNEXPECTED_FRAME - expected content header for class 60, "
                     "got non content header frame instead", (60, 40))]],
        "held",
    ),
    "close-half-publish-then-body": (
        [CLOSE + P.publish(1, b"", b"nowhere") + P.header(1, 1, b"\x00\x00"), P.body(1, b"m")],
        [[CLOSE_OK_1], [NOT_METHOD]],
        "held",
    ),
    "close-declare-not-utf8": ([CLOSE + P.declare(1, b"\xff\xfeq")], [[NOT_UTF8]], "held"),
    "close-unknown-method": ([CLOSE + P.method(1, 50, 99, b"")], [[]], "eof"),
    "close-connection-close": (
        [CLOSE + method_frame(0, C.Connection.Close(200, "bye", 0, 0))],
        [[(0, "Connection.CloseOk")]],
        "closed",
    ),
    # -- the server closes (404): the same until the client's close-ok
    "404-declare-then-header": ([MISSING, MISSING + HEADER], [[CLOSED_404], [NOT_METHOD]], "held"),
    "404-publish": ([MISSING, PUBLISH], [[CLOSED_404], []], "open"),
    "404-junk-properties": ([MISSING, JUNK_PUBLISH], [[CLOSED_404], []], "open"),
    "404-header-class-50": (
        [MISSING, P.publish(1, b"", b"x") + P.header(1, 0, b"\x00\x00", class_id=50)],
        [[CLOSED_404], [conn_close(505, "UNEXPECTED_FRAME - expected content header for "
                                   "class 60, got one for class 50 instead", (60, 40))]],
        "held",
    ),
    "404-bad-method": ([MISSING, BAD_DECLARE], [[CLOSED_404], [CANNOT_DECODE]], "held"),
    "404-open": ([MISSING, OPEN], [[CLOSED_404], [SECOND_OPEN]], "held"),
    "404-access-ok": ([MISSING, P.method(1, 30, 11, b"\x00\x01")], [[CLOSED_404], []], "open"),
    "404-close-close-ok-open": (
        [MISSING, CLOSE, CLOSE_OK, OPEN],
        [[CLOSED_404], [CLOSE_OK_1], [], [OPEN_OK_1]],
        "open",
    ),
    "404-close-ok-open": ([MISSING, CLOSE_OK + OPEN], [[CLOSED_404], [OPEN_OK_1]], "open"),
    "404-close-ok-then-open": (
        [MISSING, CLOSE_OK, OPEN],
        [[CLOSED_404], [], [OPEN_OK_1]],
        "open",
    ),
    "404-close-ok-twice": (
        [MISSING, CLOSE_OK + CLOSE_OK],
        [[CLOSED_404], [expected_open((20, 41))]],
        "held",
    ),
    # -- access.request (deprecated; pamqp does not define the class)
    "access": ([access()], [[REQUEST_OK]], "open"),
    "access-twice": ([access() + access()], [[REQUEST_OK, REQUEST_OK]], "open"),
    "access-every-bit": ([access(rest=b"\x1f")], [[REQUEST_OK]], "open"),
    "access-no-bits": (
        [access(rest=b"")],
        [[conn_close(501, "FRAME_ERROR - cannot decode <<5,47,100,97,116,97>>", (30, 10))]],
        "held",
    ),
    "access-trailing": (
        [access(rest=b"\x00\x00")],
        [[conn_close(501, "FRAME_ERROR - cannot decode <<5,47,100,97,116,97,0,0>>", (30, 10))]],
        "held",
    ),
    "access-realm-not-utf8": ([access(realm=b"\xff\xfe")], [[NOT_UTF8]], "held"),
    "access-on-channel-0": (
        [access(channel=0)],
        [[conn_close(504, "CHANNEL_ERROR - unexpected method in connection state running",
                     (30, 10))]],
        "held",
    ),
    "access-unopened-channel": ([access(channel=5)], [[expected_open((30, 10))]], "held"),
    "access-request-ok-from-client": (
        [P.method(1, 30, 11, b"\x00\x01")],
        [[conn_close(503, "COMMAND_INVALID - unimplemented method", (30, 11))]],
        "held",
    ),
}  # fmt: skip


def _sentinel(step: int) -> bytes:
    return method_frame(SENTINEL + step, C.Channel.Open())


def _split(frames: Frames, step: int) -> tuple[Frames, bool]:
    """(the frames but the sentinels, whether this step's sentinel was answered)."""
    answered = (SENTINEL + step, "Channel.OpenOk") in [f[:2] for f in frames]
    return [f for f in frames if not (isinstance(f[0], int) and f[0] >= SENTINEL)], answered


def _end(answers: list[Frames], answered: bool, eof: bool) -> str:
    """How the connection ended (RabbitMQ may answer a sentinel sent after a close).

    ``closed``: connection.close-ok came (the socket's end after it is no
    part of these answers); ``eof``; ``held``: a connection.close came, the
    socket still open; ``open``: the last sentinel answered.
    """
    names = {f[1] for frames in answers for f in frames}
    if "Connection.CloseOk" in names:
        return "closed"
    if eof:
        return "eof"
    return "open" if answered and "Connection.Close" not in names else "held"


def fake_flow(steps: list[bytes]) -> tuple[list[Frames], str]:
    """The steps sent to a fresh fakebroker engine, one receive_data each."""
    client = RawClient(Broker(clock=VirtualClock()))
    client.open()
    answers, answered = [], False
    for index, step in enumerate(steps):
        client.engine.receive_data(step + _sentinel(index))
        frames, answered = _split(P.summarise(client.engine.data_to_send(), NO_TOKEN), index)
        answers.append(frames)
        if client.engine.closed:
            break
    return answers, _end(answers, answered, client.engine.closed)


def rabbit_flow(steps: list[bytes], expected: list[Frames]) -> tuple[list[Frames], str]:
    """The steps sent to RabbitMQ, each in one packet; each answer read to its sentinel.

    An answer is complete once the step's sentinel is answered and as many
    frames as expected came (or a connection.close, or EOF); then the socket
    is read for ``P.QUIET`` seconds more, for frames that should not come.
    """
    conn = P._Socket()
    try:
        conn.step(PROTOCOL_HEADER)
        conn.step(start_ok())
        conn.sock.sendall(method_frame(0, C.Connection.TuneOk(*P.TUNE)))
        conn.step(method_frame(0, C.Connection.Open(virtual_host="/")))
        conn.step(method_frame(1, C.Channel.Open()))
        answers, answered = [], False
        for index, step in enumerate(steps):
            conn.data = b""
            conn.sock.sendall(step + _sentinel(index))
            want = len(expected[index]) if index < len(expected) else 0

            def done(data: bytes, index: int = index, want: int = want) -> bool:
                try:
                    frames, seen = _split(P.summarise(data, NO_TOKEN), index)
                except Exception:  # a frame still partial
                    return False
                closing = any(f[1] in ("Connection.Close", "Connection.CloseOk") for f in frames)
                return closing or (seen and len(frames) >= want)

            conn.read(done, 5.0)
            if not conn.eof:
                conn.read(lambda d: False, P.QUIET)
            frames, answered = _split(P.summarise(conn.data, NO_TOKEN), index)
            answers.append(frames)
            if conn.eof:
                break
        return answers, _end(answers, answered, conn.eof)
    finally:
        conn.sock.close()


@pytest.mark.parametrize(
    ("name", "backend"),
    on_both(FLOWS),
)
def test_channel_closing_flow_gets_rabbitmqs_answers(name: str, backend: str) -> None:
    steps, expected, end = FLOWS[name]
    got = fake_flow(steps) if backend == "fakebroker" else rabbit_flow(steps, expected)
    assert got == (expected, end)


def test_a_close_ok_owed_goes_out_after_the_other_channels_answers() -> None:
    """fakebroker's order within one read: the owed close-ok leaves when the read is done.

    (RabbitMQ sends it after a round trip between its reader and the
    channel, so frames on other channels may come before or after it.)
    """
    client = RawClient()
    client.open(channels=(1, 2))
    frames = client.send(CLOSE + method_frame(2, C.Basic.Qos()))
    assert [(ch, f.name) for ch, f in frames] == [(2, "Basic.QosOk"), (1, "Channel.CloseOk")]


def test_a_split_read_frees_the_channel_between_the_parts() -> None:
    """Half a frame after the close: the read ends there, so the rest finds the number free."""
    client = RawClient()
    client.open()
    client.engine.receive_data(CLOSE + OPEN[:5])
    assert [f.name for _, f in client.recv()] == ["Channel.CloseOk"]
    assert [f.name for _, f in client.send(OPEN[5:])] == ["Channel.OpenOk"]


_AMQP_0_8 = P.Case(
    "amqp-0-8-access-and-closes",
    "raw",
    lambda t: (
        b"AMQP\x01\x01\x08\x00"
        + start_ok()
        + method_frame(0, C.Connection.TuneOk(*P.TUNE))
        + method_frame(0, C.Connection.Open(virtual_host="/"))
        + OPEN
        + access(rest=b"\x1f")
        + CLOSE
        + CLOSE
    ),
    wait=2.0,
)


@pytest.mark.parametrize(
    "backend",
    [
        "fakebroker",
        pytest.param(
            "rabbitmq",
            marks=pytest.mark.skipif(not reachable(), reason="RabbitMQ is not reachable"),
        ),
    ],
)
def test_amqp_0_8_access_request_and_pipelined_closes(backend: str) -> None:
    """The same answers on AMQP 0-8, whose access class and channel.close are 0-9-1's."""
    answer = (P.fake_answer if backend == "fakebroker" else P.rabbit_answer)(_AMQP_0_8, "t")
    assert answer.frames[3:] == [(1, "Channel.OpenOk", b""), REQUEST_OK, CLOSE_OK_1, CLOSE_OK_1]
    assert answer.frames[0] == (0, "Connection.Start", 8, 0)
