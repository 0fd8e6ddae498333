"""``fakebroker serve`` as a subprocess (``python -m fakebroker``)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import amqp
import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 10.0
URL = re.compile(r"^amqp://([^:]+):([^@]+)@127\.0\.0\.1:(\d+)/%2F$")


class Served:
    """A running ``fakebroker serve`` process and the URL it printed."""

    def __init__(self, *args: str) -> None:
        self.signalled = False
        self.stderr = ""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fakebroker", "serve", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.url = _readline(self.proc, TIMEOUT)

    @property
    def port(self) -> int:
        port = urlsplit(self.url).port
        assert port is not None
        return port

    def send(self, signum: int) -> None:
        self.signalled = True
        self.proc.send_signal(signum)

    def stop(self, signum: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None and not self.signalled:
            self.send(signum)
        try:
            return self.proc.wait(TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(TIMEOUT)
            assert self.proc.stdout is not None and self.proc.stderr is not None
            if not self.proc.stderr.closed:
                self.stderr = self.proc.stderr.read()
            self.proc.stdout.close()
            self.proc.stderr.close()


def _readline(proc: subprocess.Popen[str], timeout: float) -> str:
    """The first stdout line, or fail (with stderr) if none comes in time."""
    assert proc.stdout is not None
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if reader.is_alive() or not line or not line[0]:
        proc.kill()
        _out, err = proc.communicate(timeout=timeout)
        pytest.fail(f"no URL printed; stderr: {err}")
    return line[0].strip()


@pytest.fixture
def served() -> Iterator[Served]:
    server = Served("--port", "0")
    yield server
    server.stop()


def _connect(
    port: int, *, vhost: str = "/", user: str = "guest", password: str = "guest"
) -> amqp.Connection:
    conn = amqp.Connection(
        host=f"127.0.0.1:{port}",
        userid=user,
        password=password,
        virtual_host=vhost,
        connect_timeout=TIMEOUT,
    )
    conn.connect()
    return conn


def test_serve_prints_url_and_accepts_connections(served: Served) -> None:
    match = URL.match(served.url)
    assert match is not None, served.url
    assert match.group(1, 2) == ("guest", "guest")
    assert served.port != 5672
    # how soon it is ready is a benchmark (bench/run.py, section 6), not a timed test
    conn = _connect(served.port)
    assert conn.connected
    conn.close()


def test_sigterm_closes_clients_with_320_and_exits_0(served: Served) -> None:
    conn = _connect(served.port)
    conn.channel()
    served.send(signal.SIGTERM)
    with pytest.raises(amqp.exceptions.ConnectionForced) as info:
        conn.drain_events(timeout=TIMEOUT)
    assert info.value.reply_code == 320
    assert "reason 'shutdown'" in info.value.reply_text
    conn.collect()
    assert served.stop() == 0


def test_sigint_exits_0(served: Served) -> None:
    assert served.stop(signal.SIGINT) == 0


def test_port_taken_exits_2_with_one_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "fakebroker", "serve", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(port) in lines[0] and "--port" in lines[0]


def test_vhosts_and_users() -> None:
    server = Served("--port", "0", "--vhost", "orders", "--user", "alice:s3cret")
    try:
        assert server.url.startswith("amqp://alice:s3cret@")
        conn = _connect(server.port, vhost="orders", user="alice", password="s3cret")
        conn.close()
        with pytest.raises(amqp.exceptions.AccessRefused):
            _connect(server.port, user="guest", password="guest")
    finally:
        assert server.stop() == 0


def test_definitions_file(tmp_path: Path) -> None:
    definitions = {
        "vhosts": [{"name": "/"}, {"name": "shop"}],
        "users": [{"name": "bob", "password": "pw", "tags": ["administrator"]}],
        "permissions": [
            {"user": "bob", "vhost": "shop", "configure": ".*", "write": ".*", "read": ".*"}
        ],
        "exchanges": [
            {
                "name": "orders",
                "vhost": "shop",
                "type": "topic",
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
        ],
        "queues": [
            {
                "name": "eu",
                "vhost": "shop",
                "durable": True,
                "auto_delete": False,
                "arguments": {"x-max-length": 10},
            }
        ],
        "bindings": [
            {
                "source": "orders",
                "vhost": "shop",
                "destination": "eu",
                "destination_type": "queue",
                "routing_key": "eu.#",
                "arguments": {},
            }
        ],
    }
    path = tmp_path / "definitions.json"
    path.write_text(json.dumps(definitions))
    server = Served("--port", "0", "--definitions", str(path))
    try:
        conn = _connect(server.port, vhost="shop", user="bob", password="pw")
        ch = conn.channel()
        ch.basic_publish(amqp.Message(b"order"), "orders", "eu.fr")
        message = ch.basic_get("eu", no_ack=True)
        assert message is not None and message.body == b"order"
        conn.close()
    finally:
        assert server.stop() == 0


def test_bad_definitions_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    proc = subprocess.run(
        [sys.executable, "-m", "fakebroker", "serve", "--port", "0", "--definitions", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 2
    assert "broken.json" in proc.stderr


EXAMPLE = ROOT / "fixtures" / "definitions" / "example.json"


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fakebroker", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_the_readme_line_prints_a_url_whose_user_and_vhost_work() -> None:
    """Definitions first, then --vhost and --user (the --user's password wins)."""
    server = Served(
        "--port", "0", "--vhost", "test", "--user", "app:secret", "--definitions", str(EXAMPLE)
    )
    try:
        parts = urlsplit(server.url)
        assert (parts.username, parts.password, parts.path) == ("app", "secret", "/test")
        _connect(server.port, vhost="test", user="app", password="secret").close()
        _connect(server.port, vhost="orders", user="app", password="secret").close()
        with pytest.raises(amqp.exceptions.AccessRefused):  # the definitions' password lost
            _connect(server.port, user="app", password="app-secret")
        # guest is in the definitions (RabbitMQ's hash of "guest"), so guest logs in
        _connect(server.port, user="guest", password="guest").close()
    finally:
        assert server.stop() == 0


def test_without_users_guest_exists_only_when_the_definitions_name_none(tmp_path: Path) -> None:
    path = tmp_path / "topology.json"
    path.write_text(json.dumps({"vhosts": [{"name": "/"}], "queues": []}))
    server = Served("--port", "0", "--definitions", str(path))
    try:
        assert server.url.startswith("amqp://guest:guest@")
        _connect(server.port).close()
    finally:
        assert server.stop() == 0


def test_version() -> None:
    from fakebroker import __version__

    proc = _run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"fakebroker {__version__}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--port", "70000"), "a port is 0-65535"),
        (("--port", "-1"), "a port is 0-65535"),
        (("--port", "http"), "not a port number"),
        (("--vhost", ""), "a vhost name cannot be empty"),
        (("--user", "nopassword"), "expected NAME:PASSWORD"),
    ],
)
def test_bad_arguments_are_one_line_errors(args: tuple[str, ...], message: str) -> None:
    proc = _run_cli("serve", *args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_serve_help_shows_the_defaults_and_the_precedence() -> None:
    proc = _run_cli("serve", "--help")
    assert proc.returncode == 0
    assert "(default: 5672)" in proc.stdout and "(default: 127.0.0.1)" in proc.stdout
    assert "(default: info)" in proc.stdout
    assert "definitions file is imported first" in proc.stdout


def test_the_default_port_taken_by_a_rabbitmq_is_one_clear_line() -> None:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=1.0).close()
    except OSError:
        pytest.skip("nothing listens on 5672 here (and this test must not take it)")
    proc = _run_cli("serve")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "port 5672" in lines[0] and "--port 0" in lines[0]


def test_limits_on_the_command_line() -> None:
    """--max-message-size refuses larger bodies; --journal-size 0 runs without a journal."""
    server = Served("--port", "0", "--max-message-size", "100", "--journal-size", "0")
    try:
        conn = _connect(server.port)
        ch = conn.channel()
        ch.queue_declare("limits")
        ch.basic_publish(amqp.Message(b"x" * 100), "", "limits")
        ch.basic_publish(amqp.Message(b"x" * 101), "", "limits")
        with pytest.raises(amqp.exceptions.PreconditionFailed, match="larger than configured max"):
            ch.basic_qos(0, 1, False)
        ch = conn.channel()
        assert ch.queue_declare("limits", passive=True).message_count == 1
        conn.close()
    finally:
        assert server.stop() == 0


def test_negative_limits_are_refused() -> None:
    proc = _run_cli("serve", "--port", "0", "--journal-size", "-1")
    assert proc.returncode == 2
    assert "cannot be negative: -1" in proc.stderr


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1000", 1000), ("2kB", 2000), ("2KiB", 2048), ("3MiB", 3 * 1024**2), ("1GB", 10**9)],
)
def test_memory_watermark_amounts_read_as_rabbitmq_reads_them(value: str, expected: int) -> None:
    from fakebroker.cli import _watermark

    assert _watermark(value) == expected


def test_a_relative_watermark_is_a_fraction_of_ram() -> None:
    from fakebroker.cli import _physical_memory, _watermark

    assert _watermark("0.4") == int(_physical_memory() * 0.4)
    for bad in ("1.5", "0.0", "lots", "0", "12XB"):
        with pytest.raises(argparse.ArgumentTypeError):
            _watermark(bad)


def test_serve_blocks_publishers_at_the_watermark() -> None:
    server = Served("--port", "0", "--memory-high-watermark", "1000")
    try:
        conn = _connect(server.port)
        ch = conn.channel()
        ch.queue_declare("wm")
        ch.basic_publish(amqp.Message(b"x" * 1000), "", "wm")
        deadline = time.monotonic() + TIMEOUT
        blocked: list[str] = []
        conn.on_blocked = blocked.append
        while not blocked and time.monotonic() < deadline:  # the monitor looks every 2.5 s
            ch.basic_publish(amqp.Message(b"y"), "", "nowhere")
            with contextlib.suppress(socket.timeout):
                conn.drain_events(timeout=0.5)
        assert blocked  # py-amqp does not pass the reason on ("low on memory" on the wire)
        conn.collect()
    finally:
        assert server.stop() == 0


def test_guest_beyond_loopback_is_warned_about() -> None:
    server = Served("--host", "0.0.0.0", "--port", "0", "--loopback-users", "")
    try:
        assert server.url.startswith("amqp://guest:guest@127.0.0.1:")  # a URL one can dial
    finally:
        assert server.stop() == 0
    assert "user 'guest' (password 'guest') may log in from other machines" in server.stderr
