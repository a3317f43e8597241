"""What a transfer did: one ``Action`` per object handled, and the ``TransferReport`` totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

# A union of one-value Literals: a real Union at runtime, as mypy.stubtest expects of an alias.
ActionKind: TypeAlias = (
    Literal["upload"] | Literal["download"] | Literal["copy"] | Literal["delete"] | Literal["skip"]
)
"""``upload``: local file to object; ``download``: object to local file; ``copy``: object to
object or file to file; ``delete``: removal at the destination (or of a ``delete_prefix``);
``skip``: ``sync`` found the destination up to date."""


@dataclass
class Action:
    """One thing done, or with ``dry_run`` one thing that would be done."""

    kind: ActionKind
    src: str | None
    """Where from: a URL or a local path (``None`` for a delete)."""
    dst: str | None
    """Where to: a URL or a local path (the object removed, for a delete)."""
    size: int | None
    """Size in bytes of the object, if known."""
    error: BaseException | None = None
    """Why the action failed, or ``None`` when it succeeded."""


@dataclass
class TransferReport:
    """Totals of a transfer; ``errors`` name each failure. True when nothing failed."""

    transferred: int = 0
    """Objects copied, uploaded or downloaded."""
    skipped: int = 0
    """Objects ``sync`` left alone because the destination was up to date."""
    deleted: int = 0
    """Objects removed (``sync(delete=True)``, ``delete_prefix``)."""
    failed: int = 0
    """Objects whose transfer or deletion failed (and failed listings)."""
    bytes: int = 0
    """Bytes of the objects transferred."""
    errors: list[tuple[str, BaseException]] = field(default_factory=list)
    """``(path, exception)`` for each failure, the path as a URL or local path."""
    dry_run: bool = False
    """Whether this reports what would have been done (nothing was changed)."""

    def __bool__(self) -> bool:
        """True when nothing failed."""
        return self.failed == 0

    def merge(self, other: TransferReport) -> TransferReport:
        """A new report adding up this one and ``other`` (e.g. the batches of an executor)."""
        return TransferReport(
            transferred=self.transferred + other.transferred,
            skipped=self.skipped + other.skipped,
            deleted=self.deleted + other.deleted,
            failed=self.failed + other.failed,
            bytes=self.bytes + other.bytes,
            errors=[*self.errors, *other.errors],
            dry_run=self.dry_run or other.dry_run,
        )

    def add(self, action: Action) -> None:
        """Count one finished action."""
        if action.error is not None:
            self.failed += 1
            self.errors.append((action.src or action.dst or "", action.error))
        elif action.kind == "skip":
            self.skipped += 1
        elif action.kind == "delete":
            self.deleted += 1
        else:
            self.transferred += 1
            self.bytes += action.size or 0
