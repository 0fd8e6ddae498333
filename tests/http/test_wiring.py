"""How the HTTP front is started: ``serve --http-port``, ``node.serve_http()``, ``broker.http_url``."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import fakebroker
from fakebroker.testing import BrokerHandle

ROOT = Path(__file__).resolve().parents[2]
AUTH = {"Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()}


def _get(url: str) -> Any:
    with urllib.request.urlopen(urllib.request.Request(url, headers=AUTH), timeout=10) as r:
        return json.loads(r.read())


def test_serve_prints_the_http_url_after_the_amqp_one() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakebroker", "serve", "--port", "0", "--http-port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        amqp_url = proc.stdout.readline().strip()
        http_url = proc.stdout.readline().strip()
        assert amqp_url.startswith("amqp://guest:guest@127.0.0.1:")
        assert http_url.startswith("http://127.0.0.1:") and http_url.endswith("/")
        overview = _get(http_url + "api/overview")
        amqp_port = int(amqp_url.rsplit(":", 1)[1].split("/")[0])
        assert overview["object_totals"]["queues"] == 0
        assert _get(http_url + "api/whoami") == {"name": "guest", "tags": ["administrator"]}
        assert amqp_port != int(http_url.rstrip("/").rsplit(":", 1)[1])
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()


def test_serve_refuses_a_taken_http_port() -> None:
    node = fakebroker.Node()
    try:
        taken = node.serve_http(port=0).port
        proc = subprocess.run(
            [sys.executable, "-m", "fakebroker", "serve", "--port", "0", "--http-port", str(taken)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=20,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert proc.returncode == 2
        assert f"port {taken} on 127.0.0.1 is already in use" in proc.stderr
    finally:
        node.close()


def test_node_serve_http_is_closed_with_the_node() -> None:
    node = fakebroker.Node()
    http = node.serve_http(port=0)
    assert http in node.listeners
    assert _get(http.url + "api/vhosts")[0]["name"] == "/"
    node.close()
    assert http not in node.listeners


def test_the_fixture_starts_http_on_demand(broker: BrokerHandle) -> None:
    with broker.connection() as conn:  # in-process kombu
        conn.SimpleQueue("orders").put({"id": 1})
    queues = _get(broker.http_url + "api/queues/%2F")
    assert [(q["name"], q["messages_ready"]) for q in queues] == [("orders", 1)]
    assert broker.http_url == broker.http_url  # one server per test


def test_import_fakebroker_does_not_import_aiohttp() -> None:
    code = "import sys, fakebroker; fakebroker.Node(); print('aiohttp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_the_docs_purge_example(broker: BrokerHandle) -> None:
    with broker.connection() as conn:
        conn.SimpleQueue("orders").put({"id": 1})
    request = urllib.request.Request(
        broker.http_url + "api/queues/%2F/orders/contents",
        method="DELETE",
        headers={"Authorization": "Basic Z3Vlc3Q6Z3Vlc3Q="},  # guest:guest
    )
    assert urllib.request.urlopen(request).status == 204
    assert broker.queues["orders"].messages_ready == 0
