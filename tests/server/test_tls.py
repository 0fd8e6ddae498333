"""TLS: ``amqps://`` with a self-signed CA the test makes, for kombu, pika and aio-pika."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import kombu
import pika
import pytest

import fakebroker
from fakebroker import Server

trustme = pytest.importorskip("trustme")

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 10.0


@dataclass
class Certs:
    ca: Path
    server_cert: Path
    server_key: Path
    client: Path  # certificate and key in one PEM file

    def client_context(self, *, with_certificate: bool = False) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca))
        if with_certificate:
            context.load_cert_chain(str(self.client))
        return context

    def kombu_ssl(self, *, with_certificate: bool = False) -> dict[str, object]:
        """kombu's ``ssl=`` takes a dict of wrap options (py-amqp ignores an SSLContext)."""
        options: dict[str, object] = {
            "ca_certs": str(self.ca),
            "cert_reqs": ssl.CERT_REQUIRED,
            "server_hostname": "127.0.0.1",
        }
        if with_certificate:
            options["certfile"] = options["keyfile"] = str(self.client)
        return options


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    where = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("client@example.test")
    paths = Certs(where / "ca.pem", where / "server.pem", where / "server.key", where / "c.pem")
    ca.cert_pem.write_to_path(str(paths.ca))
    server.cert_chain_pems[0].write_to_path(str(paths.server_cert))
    server.private_key_pem.write_to_path(str(paths.server_key))
    client.private_key_and_cert_chain_pem.write_to_path(str(paths.client))
    return paths


def _server(certs: Certs, **options: bool) -> Server:
    context = fakebroker.tls_context(
        certfile=str(certs.server_cert),
        keyfile=str(certs.server_key),
        cacertfile=str(certs.ca) if options else None,
        **options,
    )
    return fakebroker.serve(port=0, ssl=context)


@pytest.fixture
def served(certs: Certs) -> Iterator[Server]:
    with _server(certs) as server:
        yield server


def test_kombu_over_amqps(served: Server, certs: Certs) -> None:
    assert served.url.startswith("amqps://guest:guest@127.0.0.1:")
    with kombu.Connection(served.url, ssl=certs.kombu_ssl()) as conn:
        queue = conn.SimpleQueue("tls")
        queue.put({"secret": True})
        assert queue.get(timeout=TIMEOUT).payload == {"secret": True}
        queue.close()


def test_pika_over_amqps(served: Server, certs: Certs) -> None:
    params = pika.URLParameters(served.url)
    params.ssl_options = pika.SSLOptions(certs.client_context(), "127.0.0.1")
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        channel.queue_declare("tls-pika")
        channel.basic_publish("", "tls-pika", b"hello")
        _method, _props, body = channel.basic_get("tls-pika", auto_ack=True)
        assert body == b"hello"
    finally:
        connection.close()


def test_aio_pika_over_amqps(served: Server, certs: Certs) -> None:
    aio_pika = pytest.importorskip("aio_pika")

    async def round_trip() -> bytes:
        connection = await aio_pika.connect(served.url, ssl_context=certs.client_context())
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue("tls-aio", auto_delete=True)
            await channel.default_exchange.publish(aio_pika.Message(b"async"), "tls-aio")
            message = await queue.get(timeout=TIMEOUT)
            await message.ack()
            return bytes(message.body)

    assert asyncio.run(round_trip()) == b"async"


def test_a_client_certificate_is_required_when_asked(certs: Certs) -> None:
    with _server(certs, verify_peer=True, fail_if_no_peer_cert=True) as server:
        bare = kombu.Connection(server.url, ssl=certs.kombu_ssl(), connect_timeout=5)
        with bare, pytest.raises((ssl.SSLError, OSError, *bare.connection_errors)):
            bare.connect()
        client = certs.kombu_ssl(with_certificate=True)
        with kombu.Connection(server.url, ssl=client) as conn:
            conn.SimpleQueue("tls-mutual").put("with a certificate")


def test_a_client_that_does_not_trust_the_ca_is_refused(served: Server) -> None:
    c = kombu.Connection(served.url, ssl={"cert_reqs": ssl.CERT_REQUIRED}, connect_timeout=5)
    with c, pytest.raises((ssl.SSLError, OSError, *c.connection_errors)):
        c.connect()


def test_serve_prints_the_amqps_url(certs: Certs) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fakebroker",
            "serve",
            "--port",
            "0",
            "--tls-port",
            "0",
            "--tls-cert",
            str(certs.server_cert),
            "--tls-key",
            str(certs.server_key),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        plain, secure = proc.stdout.readline().strip(), proc.stdout.readline().strip()
        assert plain.startswith("amqp://guest:guest@127.0.0.1:")
        assert secure.startswith("amqps://guest:guest@127.0.0.1:")
        with kombu.Connection(secure, ssl=certs.kombu_ssl()) as conn:
            conn.SimpleQueue("cli-tls").put("x")
    finally:
        proc.terminate()
        proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0


def test_tls_options_without_a_port_are_refused(certs: Certs) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "fakebroker", "serve", "--port", "0", "--tls-cert", "x.pem"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 2
    assert "need --tls-port" in proc.stderr
