"""TLS for the TCP front: a server context from RabbitMQ's ``ssl_options``.

RabbitMQ's names, and what they mean here:
- ``certfile`` / ``keyfile``: the server's certificate chain and key;
- ``cacertfile``: the CAs a client certificate must chain to;
- ``verify``: ``verify_peer`` asks clients for a certificate (checked when
  sent), ``verify_none`` does not;
- ``fail_if_no_peer_cert``: with ``verify_peer``, refuse clients that send none.
"""

from __future__ import annotations

import ssl

__all__ = ["tls_context"]


def tls_context(
    *,
    certfile: str,
    keyfile: str | None = None,
    cacertfile: str | None = None,
    verify_peer: bool = False,
    fail_if_no_peer_cert: bool = False,
) -> ssl.SSLContext:
    """A server-side TLS context (TLS 1.2 and later, as RabbitMQ 3.10 defaults to)."""
    if fail_if_no_peer_cert and not verify_peer:
        raise ValueError("fail_if_no_peer_cert needs verify_peer")
    if verify_peer and cacertfile is None:
        raise ValueError("verify_peer needs cacertfile (the CAs client certificates chain to)")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile, keyfile)
    if cacertfile is not None:
        context.load_verify_locations(cacertfile)
    if verify_peer:
        context.verify_mode = ssl.CERT_REQUIRED if fail_if_no_peer_cert else ssl.CERT_OPTIONAL
    else:
        context.verify_mode = ssl.CERT_NONE
    return context
