"""The test harness without pytest: broker handles, inspection and waiting.

The pytest plugin (:mod:`fakebroker.testing.plugin`) hands these out as
fixtures; use them directly from unittest or scripts::

    import fakebroker
    from fakebroker.testing import Inspector

    inspector = Inspector(node=fakebroker.get_node(), vhost="/")
    inspector.assert_published(routing_key="orders.new")
"""

from __future__ import annotations

from .._urls import fakebroker_url
from ._handle import BrokerHandle
from ._idle import wait_for
from ._inspect import Inspector
from ._management import ManagementAPI, ManagementError
from ._rabbit import EmulatorOnly, RabbitMQHandle

__all__ = [
    "BrokerHandle",
    "EmulatorOnly",
    "Inspector",
    "ManagementAPI",
    "ManagementError",
    "RabbitMQHandle",
    "fakebroker_url",
    "wait_for",
]
