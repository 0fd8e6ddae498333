"""The sans-I/O AMQP 0-9-1 protocol engine: one :class:`Engine` per client connection.

A front feeds the client's bytes to :meth:`Engine.receive_data`, sends what
:meth:`Engine.data_to_send` returns, and closes the transport once
:attr:`Engine.closed` is true.  See docs/architecture.md.
"""

from __future__ import annotations

from ._engine import Engine, Login
from ._errors import ProtocolError
from ._log import LogSink
from ._state import State

__all__ = ["Engine", "LogSink", "Login", "ProtocolError", "State"]
