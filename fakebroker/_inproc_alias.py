"""Register ``fakebroker://`` with kombu, cheaply (imports only ``kombu.transport``)."""

from __future__ import annotations

__all__ = ["ALIAS", "TARGET", "register_kombu_alias"]

ALIAS = "fakebroker"
TARGET = "fakebroker.transport:Transport"


def register_kombu_alias() -> bool:
    """Add ``fakebroker`` to kombu's transport aliases; False if kombu is not installed.

    kombu resolves transport names only through ``TRANSPORT_ALIASES`` (it
    does not read the ``kombu.transports`` entry points), so this must run
    before ``kombu.Connection('fakebroker://')``: ``import fakebroker`` does it.
    """
    try:
        from kombu import transport
    except ImportError:  # pragma: no cover - kombu is a dependency
        return False
    transport.TRANSPORT_ALIASES.setdefault(ALIAS, TARGET)
    return True
