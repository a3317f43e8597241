"""Progress reports of long operations (``Progress``) and ready-made progress bars.

A ``progress=`` callable receives a ``Progress`` at most 10 times per second and once more,
with ``done=True``, when the work has ended (successfully or not). The adapters here turn those
calls into a terminal progress bar; each imports its library only when called:

    from obstore.progress import tqdm_progress
    from obstore.transfer import sync

    sync("data/", "s3://bucket/data/", progress=tqdm_progress())  # pip install "obstore[progress]"
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

__all__ = ["Progress", "ProgressCallback", "rich_progress", "tqdm_progress"]


@dataclass(slots=True)
class Progress:
    """Where a long operation stands, as given to a ``progress`` callable.

    The totals are ``None`` while they are not known yet: a transfer knows them once the
    listing of its source has ended, and keeps them ``None`` until then.
    """

    bytes_done: int = 0
    """Bytes moved so far."""
    bytes_total: int | None = None
    """Bytes to move in all, or ``None`` while unknown."""
    objects_done: int = 0
    """Objects finished so far (transferred, failed or deleted; skipped ones do not count)."""
    objects_total: int | None = None
    """Objects to transfer or delete in all, or ``None`` while unknown."""
    path: str | None = None
    """The object most recently worked on (a URL or a local path), if any."""
    done: bool = False
    """``True`` on the final call, made once when the work has ended."""


ProgressCallback: TypeAlias = Callable[[Progress], None]
"""What ``progress=`` accepts: a callable taking a ``Progress``."""


def _objects_text(progress: Progress) -> str:
    total = "?" if progress.objects_total is None else str(progress.objects_total)
    return f"{progress.objects_done}/{total} objects"


class _TqdmProgress:
    """A ``progress`` callable drawing one tqdm bar of bytes, with the object count beside it."""

    def __init__(self, tqdm_kwargs: dict[str, Any]) -> None:
        # Imported on use: tqdm is an optional dependency (and has no type information).
        tqdm = importlib.import_module("tqdm.auto").tqdm

        options: dict[str, Any] = {
            "unit": "B",
            "unit_scale": True,
            "unit_divisor": 1024,
            "total": None,
        }
        options.update(tqdm_kwargs)
        self.bar = tqdm(**options)

    def __call__(self, progress: Progress) -> None:
        bar = self.bar
        if progress.bytes_total is not None and bar.total != progress.bytes_total:
            bar.total = progress.bytes_total
        bar.update(progress.bytes_done - bar.n)
        bar.set_postfix_str(_objects_text(progress), refresh=False)
        if progress.done:
            bar.close()
        else:
            bar.refresh()

    def close(self) -> None:
        """Close the bar early (the final ``done`` call closes it anyway)."""
        self.bar.close()


def tqdm_progress(**tqdm_kwargs: Any) -> ProgressCallback:
    """A ``progress`` callable showing a tqdm bar of bytes and the count of objects.

    Keyword arguments go to ``tqdm.auto.tqdm`` (e.g. ``desc="upload"``, ``file=sys.stderr``,
    ``disable=not sys.stderr.isatty()``). The bar closes on the final call. Needs ``tqdm``
    (``pip install "obstore[progress]"``), imported only by this call.
    """
    return _TqdmProgress(tqdm_kwargs)


class _RichProgress:
    """A ``progress`` callable driving one task of a ``rich.progress.Progress`` display."""

    def __init__(self, description: str, rich_kwargs: dict[str, Any]) -> None:
        rp = importlib.import_module("rich.progress")  # imported on use: optional dependency

        columns = (
            rp.TextColumn("[progress.description]{task.description}"),
            rp.BarColumn(),
            rp.DownloadColumn(binary_units=True),
            rp.TransferSpeedColumn(),
            rp.TextColumn("{task.fields[objects]}"),
            rp.TimeRemainingColumn(),
        )
        self.display = rp.Progress(*columns, **rich_kwargs)
        self.task = self.display.add_task(description, total=None, objects="")
        self.display.start()

    def __call__(self, progress: Progress) -> None:
        self.display.update(
            self.task,
            completed=progress.bytes_done,
            total=progress.bytes_total,
            objects=_objects_text(progress),
        )
        if progress.done:
            self.display.stop()

    def close(self) -> None:
        """Stop the display early (the final ``done`` call stops it anyway)."""
        self.display.stop()


def rich_progress(description: str = "", **rich_kwargs: Any) -> ProgressCallback:
    """A ``progress`` callable showing a rich progress bar: bytes, rate, objects, time left.

    Keyword arguments go to ``rich.progress.Progress`` (e.g. ``transient=True``,
    ``console=...``). The display stops on the final call. Needs ``rich``
    (``pip install "obstore[rich]"``), imported only by this call.
    """
    return _RichProgress(description, rich_kwargs)
