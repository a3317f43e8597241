"""``Filter``: the include/exclude patterns of ``obstore.transfer`` and of the command line's
``ls``, ``du`` and ``rm``. A module of its own so that a command that only lists (``obstore
ls``) does not import the transfer engine and ``asyncio``: 40 ms of its start.
"""

from __future__ import annotations

import copy
import fnmatch
import re
from collections.abc import Sequence

__all__ = ["Filter"]


class Filter:
    """Include/exclude glob patterns on the path relative to the source (``fnmatch``; ``*``
    and ``**`` alike match across ``/``). A path passes when it matches an include pattern
    (or there are none) and no exclude pattern."""

    def __init__(self, include: Sequence[str] | None, exclude: Sequence[str] | None) -> None:
        for name, patterns in (("include", include), ("exclude", exclude)):
            if isinstance(patterns, str):
                raise TypeError(f"{name} must be a list of patterns, not one string")
        self.include = [re.compile(fnmatch.translate(p)) for p in include or ()]
        self.exclude = [re.compile(fnmatch.translate(p)) for p in exclude or ()]
        self.subtrees: list[str] = []

    def without_subtree(self, rel: str | None) -> Filter:
        """This filter, also refusing everything below ``rel`` (when not ``None``)."""
        if rel is None:
            return self
        other = copy.copy(self)
        other.subtrees = [*self.subtrees, rel]
        return other

    def __call__(self, rel: str) -> bool:
        if self.include and not any(p.match(rel) for p in self.include):
            return False
        if any(rel.startswith(subtree + "/") for subtree in self.subtrees):
            return False
        return not any(p.match(rel) for p in self.exclude)
