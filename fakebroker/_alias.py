"""``fakebroker://`` in kombu, without importing kombu.

kombu resolves transport names only through ``kombu.transport.TRANSPORT_ALIASES``
(it reads no entry points for transports), so the alias must be there before
``kombu.Connection('fakebroker://')``.  ``import fakebroker`` must not load
kombu (the sans-I/O core is imported through the same package), so
:func:`register_when_kombu_loads` adds the alias now if ``kombu.transport``
is already imported, and otherwise as soon as it is: a finder on
``sys.meta_path`` wraps that one module's loader, then removes itself.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

__all__ = ["ALIAS", "TARGET", "register_kombu_alias", "register_when_kombu_loads"]

ALIAS = "fakebroker"
TARGET = "fakebroker.fronts.transport:Transport"
_WATCHED = "kombu.transport"


def register_kombu_alias() -> bool:
    """Add ``fakebroker`` to kombu's transport aliases now; False if kombu is not installed."""
    try:
        from kombu import transport
    except ImportError:  # pragma: no cover - kombu is a dependency
        return False
    _add(transport)
    return True


def _add(module: ModuleType) -> None:
    aliases: dict[str, str] = module.TRANSPORT_ALIASES
    aliases.setdefault(ALIAS, TARGET)


class _Loader(importlib.abc.Loader):
    """kombu.transport's own loader, then the alias."""

    def __init__(self, inner: importlib.abc.Loader) -> None:
        self.inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)
        _add(module)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds ``kombu.transport`` with the other finders and wraps its loader, once."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _WATCHED:
            return None
        _unhook(self)
        spec: Any = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        result: importlib.machinery.ModuleSpec | None = spec
        return result


def _unhook(finder: _Finder) -> None:
    if finder in sys.meta_path:
        sys.meta_path.remove(finder)


def register_when_kombu_loads() -> None:
    """The alias now if kombu's transports are imported, else as soon as they are."""
    module = sys.modules.get(_WATCHED)
    if module is not None:
        _add(module)
    elif not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
