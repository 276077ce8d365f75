"""Names of a package imported on first use (PEP 562), so that the package imports without its heavy parts."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any


def lazy_exports(
    package: str, namespace: MutableMapping[str, Any], lazy: Mapping[str, str], exported: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Make a package's ``__getattr__`` and ``__dir__`` for names imported from its submodules on first use.

    Args:
        package: the package's ``__name__``.
        namespace: the package's ``globals()``; a name, once imported, is kept there.
        lazy: each lazy name, mapped to the submodule (relative to the package) that defines it.
        exported: the package's ``__all__``, listed by ``dir()`` before first use.

    Returns:
        The package's ``__getattr__`` and ``__dir__``.

    """
    names = sorted(set(exported))

    def getattr_(name: str) -> Any:
        if name not in lazy:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{lazy[name]}"), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(names))

    return getattr_, dir_
