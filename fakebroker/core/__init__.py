"""The sans-I/O model of a RabbitMQ broker.

Commands go in as method calls on :class:`Broker`, its connections and
channels; outcomes come back as return values, exceptions carrying
RabbitMQ's reply codes (:mod:`fakebroker.core.errors`) and events in each
connection's outbox (:mod:`fakebroker.core.events`).  Time comes from an
injected clock (:class:`VirtualClock` in tests).
"""

from __future__ import annotations

from . import events
from ._channel import Channel
from ._connection import Connection
from ._passwords import ALGORITHMS as HASHING_ALGORITHMS
from ._passwords import DEFAULT_ALGORITHM as DEFAULT_HASHING_ALGORITHM
from ._replies import SHUTDOWN_TEXT, forced_text
from ._users import Permission, TopicPermission, is_loopback
from .broker import DEFAULT_CONSUMER_TIMEOUT, BindingInfo, Broker, QueueInfo
from .clock import Clock, SystemClock, Timer, VirtualClock
from .errors import AMQPChannelError, AMQPConnectionError, AMQPError, ReplyCode, Scope
from .journal import Journal, JournalEntry
from .message import DeclareOk, GetOk, Message, Properties

__all__ = [
    "DEFAULT_CONSUMER_TIMEOUT",
    "DEFAULT_HASHING_ALGORITHM",
    "HASHING_ALGORITHMS",
    "SHUTDOWN_TEXT",
    "AMQPChannelError",
    "AMQPConnectionError",
    "AMQPError",
    "BindingInfo",
    "Broker",
    "Channel",
    "Clock",
    "Connection",
    "DeclareOk",
    "GetOk",
    "Journal",
    "JournalEntry",
    "Message",
    "Permission",
    "Properties",
    "QueueInfo",
    "ReplyCode",
    "Scope",
    "SystemClock",
    "Timer",
    "TopicPermission",
    "VirtualClock",
    "events",
    "forced_text",
    "is_loopback",
]
