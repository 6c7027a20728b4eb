"""The chat's message catalogues: a package per language (``ko``, ``en``), a module per flow.

Each module holds one plain dict, ``TEXTS``, of key → text, its keys named ``flow.screen.element``
(``producer.assign.ask``: the producer's screen that assigns a courier, its question). ``catalogue``
merges every module of a language with ``merge``, which refuses a key that two modules both hold,
naming the key and both modules: merged by dict spread, the later module would silently win.
How a text is looked up and filled in (particles, amounts, times of day) is ``bots.texts``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping


class DuplicateKey(ValueError):
    """Two catalogue modules of one language hold the same key."""

    def __init__(self, key: str, first: str, second: str) -> None:
        super().__init__(f"the text key {key!r} is in both {first} and {second}")
        self.key, self.first, self.second = key, first, second


def merge(modules: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """One catalogue from ``modules`` (module name → its texts); ``DuplicateKey`` if a key is in two."""
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    for module, texts in modules.items():
        for key, text in texts.items():
            if key in owner:
                raise DuplicateKey(key, owner[key], module)
            merged[key], owner[key] = text, module
    return merged


def modules(lang: str) -> dict[str, dict[str, str]]:
    """Every catalogue module of ``lang`` (full module name → its ``TEXTS``), in name order."""
    package = importlib.import_module(f"{__name__}.{lang}")
    names = sorted(info.name for info in pkgutil.iter_modules(package.__path__))
    return {f"{package.__name__}.{name}": importlib.import_module(f"{package.__name__}.{name}").TEXTS for name in names}


def catalogue(lang: str) -> dict[str, str]:
    """All of ``lang``'s texts, key → text."""
    return merge(modules(lang))
