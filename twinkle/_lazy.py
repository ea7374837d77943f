"""Module-level lazy attributes: heavy submodules load on first use, not on import."""

import importlib
from typing import Any, Callable, Dict


def lazy_getattr(package: str, table: Dict[str, str], namespace: Dict[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``table[name]`` on first access.

    Args:
        package: the module's ``__name__`` (for the error message).
        table: attribute name -> module that defines it.
        namespace: the module's ``globals()``; the value is cached there.
    """

    def __getattr__(name: str) -> Any:
        mod = table.get(name)
        if mod is None:
            raise AttributeError(f'module {package!r} has no attribute {name!r}')
        value = getattr(importlib.import_module(mod), name)
        namespace[name] = value
        return value

    return __getattr__
