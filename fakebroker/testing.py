"""The test harness without pytest: broker handles, inspection and waiting.

The pytest plugin (:mod:`fakebroker.pytest_plugin`) hands these out as
fixtures; use them directly from unittest or scripts::

    from fakebroker.testing import Inspector
    inspector = Inspector(broker=fakebroker.transport.get_broker(), vhost="/")
    inspector.assert_published(routing_key="orders.new")
"""

from __future__ import annotations

from ._testing_handle import BrokerHandle, fakebroker_url
from ._testing_idle import wait_for
from ._testing_inspect import Inspector
from ._testing_rabbit import RabbitMQHandle

__all__ = ["BrokerHandle", "Inspector", "RabbitMQHandle", "fakebroker_url", "wait_for"]
