"""The HTTP front: RabbitMQ's management API, fakebroker's control endpoints, a dashboard.

Served with aiohttp on the node's broker, as the AMQP fronts are:

- :class:`HTTPServer` on the caller's asyncio loop (``fakebroker serve
  --http-port N``), :class:`ThreadedHTTPServer` on a background thread
  (``node.serve_http()``, the ``broker.http_url`` fixture attribute);
- :func:`make_app`: the aiohttp application itself.

Importing this package imports aiohttp; ``import fakebroker`` does not.
See docs/http.md.
"""

from __future__ import annotations

from ._app import make_app
from ._server import HTTPServer, ThreadedHTTPServer

__all__ = ["HTTPServer", "ThreadedHTTPServer", "make_app"]
