"""RabbitMQ's connection log lines, through ``logging`` (caplog in-process, the CLI's stderr).

The expected lines are RabbitMQ 3.10.8's, as its log shows them for the same
client actions (probed: /var/log/rabbitmq/rabbit@localhost.log).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import amqp
import pytest

import fakebroker
from fakebroker import Server

ROOT = Path(__file__).resolve().parents[2]
PID = r"<0\.\d+\.0>"


@pytest.fixture
def server() -> Iterator[Server]:
    with fakebroker.serve(port=0) as served:
        yield served


def _connect(server: Server, **options: object) -> amqp.Connection:
    conn = amqp.Connection(host=f"127.0.0.1:{server.port}", connect_timeout=5, **options)
    conn.connect()
    return conn


def _name(conn: amqp.Connection) -> str:
    sock = conn.transport.sock
    peer, local = sock.getsockname(), sock.getpeername()
    return f"{peer[0]}:{peer[1]} -> {local[0]}:{local[1]}"


def _lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """(level, message) of the fakebroker logger's records, pids as PID."""
    return [
        (r.levelname.lower(), re.sub(PID, "PID", r.getMessage()))
        for r in caplog.records
        if r.name == "fakebroker"
    ]


class _Counted(logging.Handler):
    """Wakes a waiter each time the server's thread logs a line."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self.changed:
            self.changed.notify_all()


def _wait_logged(caplog: pytest.LogCaptureFixture, count: int) -> None:
    """The server logs on its own thread: wait (bounded) until ``count`` lines are in."""
    counted = _Counted()
    logger = logging.getLogger()  # after caplog's handler there: the line is in when woken
    logger.addHandler(counted)
    try:
        with counted.changed:
            counted.changed.wait_for(lambda: len(_lines(caplog)) >= count, timeout=5)
    finally:
        logger.removeHandler(counted)


def test_a_session_logs_accepted_authenticated_channel_error_and_closing(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="fakebroker")
    conn = _connect(server, client_properties={"connection_name": "orders-api"})
    name = _name(conn)
    ch = conn.channel()
    with pytest.raises(amqp.exceptions.NotFound):
        ch.queue_declare("x", passive=True)
    conn.close()
    _wait_logged(caplog, 5)
    named = f"{name} - orders-api"
    assert _lines(caplog) == [
        ("info", f"accepting AMQP connection PID ({name})"),
        ("info", f"connection PID ({name}) has a client-provided name: orders-api"),
        (
            "info",
            f"connection PID ({named}): user 'guest' authenticated and granted access to vhost '/'",
        ),
        (
            "error",
            f"Channel error on connection PID ({named}, vhost: '/', user: 'guest'), "
            "channel 1:\noperation queue.declare caused a channel exception not_found: "
            "no queue 'x' in vhost '/'",
        ),
        ("info", f"closing AMQP connection PID ({named}, vhost: '/', user: 'guest')"),
    ]
    pids = {re.search(PID, r.getMessage()).group(0) for r in caplog.records}  # type: ignore[union-attr]
    assert len(pids) == 1  # one connection, one process
    assert {getattr(r, "erlang_pid", None) for r in caplog.records} == pids


def test_a_refused_login_is_an_error_in_state_starting(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="fakebroker")
    with pytest.raises(amqp.exceptions.AccessRefused):
        _connect(server, password="wrong")
    _wait_logged(caplog, 2)
    lines = _lines(caplog)
    assert lines[1][0] == "error"
    assert re.fullmatch(
        r"Error on AMQP connection PID \(127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+, state: starting\):"
        r"\n(AMQ)?PLAIN login refused: user 'guest' - invalid credentials",
        lines[1][1],
    ), lines


def test_an_unknown_vhost_is_an_error_in_state_opening(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="fakebroker")
    with pytest.raises(amqp.exceptions.NotAllowed):
        _connect(server, virtual_host="nope")
    _wait_logged(caplog, 3)
    lines = _lines(caplog)
    assert re.fullmatch(
        r"Error on AMQP connection PID \(\S+ -> \S+, user: 'guest', state: opening\):"
        r"\nvhost nope not found",
        lines[1][1],
    ), lines
    assert re.fullmatch(
        r"closing AMQP connection PID \(\S+ -> \S+, vhost: 'none', user: 'guest'\)", lines[2][1]
    ), lines


def test_a_client_that_vanishes_is_a_warning(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="fakebroker")
    conn = _connect(server)
    name = _name(conn)
    conn.transport.sock.close()  # no connection.close
    _wait_logged(caplog, 3)
    assert _lines(caplog)[-1] == (
        "warning",
        f"closing AMQP connection PID ({name}, vhost: '/', user: 'guest'):\n"
        "client unexpectedly closed TCP connection",
    )


def test_in_process_connections_log_too(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="fakebroker")
    fakebroker.reset_nodes("logging")
    import kombu

    with kombu.Connection("fakebroker://logging") as conn:
        conn.connect()
    fakebroker.reset_nodes("logging")
    messages = [m for _, m in _lines(caplog)]
    assert messages[0].startswith("accepting AMQP connection PID (127.0.0.1:")
    assert "user 'guest' authenticated and granted access to vhost '/'" in messages[1]
    assert messages[2].startswith("closing AMQP connection PID (")


def test_nothing_is_logged_below_the_level(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="fakebroker")
    _connect(server).close()
    assert _lines(caplog) == []


def _serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "fakebroker", "serve", "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _session(url: str) -> str:
    """Connect, hit a channel error, close; the connection's name."""
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    conn = amqp.Connection(host=f"127.0.0.1:{port}", connect_timeout=5)
    conn.connect()
    name = _name(conn)
    with pytest.raises(amqp.exceptions.NotFound):
        conn.channel().queue_declare("x", passive=True)
    conn.close()
    return name


_STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\+00:00"


def _expected(name: str) -> list[str]:
    where = f"{re.escape(name)}, vhost: '/', user: 'guest'"
    return [
        rf"{_STAMP} \[info\] (?P<pid>{PID}) accepting AMQP connection (?P=pid) \({re.escape(name)}\)",
        rf"{_STAMP} \[info\] (?P<pid>{PID}) connection (?P=pid) \({re.escape(name)}\): "
        r"user 'guest' authenticated and granted access to vhost '/'",
        rf"{_STAMP} \[error\] (?P<pid>{PID}) Channel error on connection (?P=pid) \({where}\), "
        r"channel 1:",
        rf"{_STAMP} \[error\] {PID} operation queue\.declare caused a channel exception "
        r"not_found: no queue 'x' in vhost '/'",
        rf"{_STAMP} \[info\] (?P<pid>{PID}) closing AMQP connection (?P=pid) \({where}\)",
    ]


def _check(lines: list[str], name: str) -> None:
    start = next(i for i, line in enumerate(lines) if name in line)
    block = lines[start : start + 5]
    for line, pattern in zip(block, _expected(name), strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)


def test_the_cli_writes_rabbitmqs_lines_to_stderr() -> None:
    proc = _serve()
    try:
        assert proc.stdout is not None
        name = _session(proc.stdout.readline().strip())
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    _check(err.splitlines(), name)


def test_the_cli_writes_them_to_the_log_file_at_the_level_asked(tmp_path: Path) -> None:
    log = tmp_path / "broker.log"
    proc = _serve("--log-file", str(log))
    try:
        assert proc.stdout is not None
        name = _session(proc.stdout.readline().strip())
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "AMQP connection" not in err
    _check(log.read_text().splitlines(), name)
    quiet = tmp_path / "quiet.log"
    proc = _serve("--log-file", str(quiet), "--log-level", "error")
    try:
        assert proc.stdout is not None
        _session(proc.stdout.readline().strip())
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    text = quiet.read_text()
    assert "Channel error on connection" in text and "[info]" not in text


def test_the_broker_logfile_the_403_text_points_to_exists(tmp_path: Path) -> None:
    """The 403 text says "For details see the broker logfile": the log says why."""
    log = tmp_path / "broker.log"
    proc = _serve("--log-file", str(log))
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().strip().rsplit(":", 1)[1].split("/")[0])
        with pytest.raises(amqp.exceptions.AccessRefused, match="broker logfile"):
            amqp.Connection(host=f"127.0.0.1:{port}", password="nope", connect_timeout=5).connect()
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert "PLAIN login refused: user 'guest' - invalid credentials" in log.read_text()  # AMQPLAIN


def test_a_name_that_is_not_utf8_is_logged_with_escapes(caplog: pytest.LogCaptureFixture) -> None:
    """The 404 carries the name's raw bytes; the log line shows them as \\xNN, encodable."""
    from tests.amqp import probe_malformed as P

    caplog.set_level(logging.INFO, logger="fakebroker")
    P.fake_answer(P.CASES["publish-exchange-not-utf8"])
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and errors[-1].endswith("no exchange '\\xff\\xfek' in vhost '/'")
    errors[-1].encode()
