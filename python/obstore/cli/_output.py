"""What the command line prints: sizes for people, JSON lines for programs, one-line errors,
the report of a transfer, and the progress bar on stderr."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from obstore.progress import Progress, tqdm_progress

if TYPE_CHECKING:
    from obstore.transfer import Action, TransferReport

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")

#: Multipliers of the size units ``--part-size`` accepts (case-insensitive): ``K``/``KiB``
#: are powers of 1024, ``KB`` powers of 1000.
_SIZE_UNITS: dict[str, int] = {"": 1, "b": 1}
for _power, _letter in enumerate("kmgtp", start=1):
    _SIZE_UNITS[_letter] = _SIZE_UNITS[f"{_letter}ib"] = 1024**_power
    _SIZE_UNITS[f"{_letter}b"] = 1000**_power

_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")


def parse_size(text: str) -> int:
    """Bytes of a size such as ``64MiB``, ``100MB``, ``1.5G`` or ``1048576``; ``ValueError``
    naming the text otherwise."""
    match = _SIZE.fullmatch(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _SIZE_UNITS:
        raise ValueError(
            f"invalid size {text!r}: give bytes or a number with a unit, e.g. 64MiB, 100MB, 1G"
        )
    size = int(float(match.group(1)) * _SIZE_UNITS[unit])
    if size < 1:
        raise ValueError(f"invalid size {text!r}: must be at least 1 byte")
    return size


def human_size(size: float) -> str:
    """``1.5 MiB``: powers of 1024, one decimal from KiB up."""
    for unit in _UNITS:
        if abs(size) < 1024 or unit == _UNITS[-1]:
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def one_line(error: BaseException) -> str:
    """An error's message on one line (its class name when it has none)."""
    text = " ".join(str(error).split())
    return text or type(error).__name__


def describe(where: str, error: BaseException) -> str:
    """``where: message``, or the message alone when it names ``where`` already (the errors of
    obstore name their operation and URL)."""
    message = one_line(error)
    return message if where and where in message else f"{where}: {message}".lstrip(": ")


def error_line(message: str) -> None:
    print(f"obstore: error: {message}", file=sys.stderr, flush=True)


def json_line(value: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


def action_json(action: Action) -> dict[str, Any]:
    return {
        "action": action.kind,
        "src": action.src,
        "dst": action.dst,
        "size": action.size,
        "error": None if action.error is None else one_line(action.error),
    }


def action_text(action: Action) -> str:
    """One action for people: ``upload a.txt -> s3://b/a.txt`` or ``delete s3://b/x``."""
    if action.kind == "delete" or action.src is None:
        return f"{action.kind} {action.dst}"
    return f"{action.kind} {action.src} -> {action.dst}"


# The counts of the closing JSON line, in this order.
_REPORT_COUNTS = ("transferred", "skipped", "deleted", "failed", "bytes")


def report_json(report: TransferReport) -> dict[str, int]:
    return {name: getattr(report, name) for name in _REPORT_COUNTS}


def report_text(verb: str, report: TransferReport, seconds: float) -> str:
    """The one-line report of a transfer, e.g. ``sync: 3 transferred (1.2 MiB), 5 skipped, 0
    deleted, 0 failed in 0.4 s (3.0 MiB/s)``."""
    head = f"{verb} (dry run, nothing changed)" if report.dry_run else verb
    moved = seconds > 0 and report.bytes and not report.dry_run
    rate = f" ({human_size(report.bytes / seconds)}/s)" if moved else ""
    if verb == "rm":
        return f"{head}: {report.deleted} deleted, {report.failed} failed in {seconds:.1f} s"
    return (
        f"{head}: {report.transferred} transferred ({human_size(report.bytes)}), "
        f"{report.skipped} skipped, {report.deleted} deleted, {report.failed} failed "
        f"in {seconds:.1f} s{rate}"
    )


class StderrBar:
    """A progress bar of one line on a terminal: percentage, bytes, objects, rate, time left.

    Used when ``tqdm`` is not installed; drawn at most as often as ``progress`` is called
    (10 times per second) and ended with a newline on the final call.
    """

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.start = time.monotonic()
        self.closed = False

    def line(self, progress: Progress, width: int) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = progress.bytes_done / elapsed
        total = "?" if progress.objects_total is None else progress.objects_total
        objects = f"{progress.objects_done}/{total} objects"
        done = human_size(progress.bytes_done)
        parts = [self.label]
        if progress.bytes_total:
            fraction = min(progress.bytes_done / progress.bytes_total, 1.0)
            parts.append(f"{fraction:4.0%}")
            done = f"{done} / {human_size(progress.bytes_total)}"
            left = (progress.bytes_total - progress.bytes_done) / rate if rate > 0 else None
            eta = "" if left is None else f"ETA {int(left) // 60}:{int(left) % 60:02}"
        else:
            fraction, eta = None, ""
        parts += [done, objects, f"{human_size(rate)}/s"]
        if eta and not progress.done:
            parts.append(eta)
        text = "  ".join(parts)
        room = width - len(text) - 4
        if fraction is not None and room >= 10:
            filled = int(room * fraction)
            text = f"[{'#' * filled}{'.' * (room - filled)}] {text}"
        return text[: max(width - 1, 1)]

    def __call__(self, progress: Progress) -> None:
        if self.closed:
            return
        width = shutil.get_terminal_size((80, 24)).columns
        self.stream.write("\r" + self.line(progress, width).ljust(width - 1))
        if progress.done:
            self.stream.write("\n")
            self.closed = True
        self.stream.flush()


def progress_bar(label: str, stream: TextIO) -> Callable[[Progress], None]:
    """A ``progress`` callable drawing on ``stream``: tqdm's bar when tqdm is installed
    (``pip install "obstore[progress]"``), else ``StderrBar``."""
    if importlib.util.find_spec("tqdm") is not None:
        try:
            known = os.get_terminal_size(stream.fileno()).columns > 0
        except (OSError, ValueError):
            known = False
        # A terminal of unknown size (0 x 0, e.g. under script(1)) would get no tqdm bar at all.
        width: dict[str, Any] = {"dynamic_ncols": True} if known else {"ncols": 80, "nrows": 24}
        return tqdm_progress(file=stream, desc=label, **width)
    return StderrBar(stream, label)
