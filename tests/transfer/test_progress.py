"""Progress: at most 10 calls per second (by time, never per chunk), totals once the listing has
ended, one final call with done=True; the tqdm and rich adapters."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from typing import Any

import pytest

import obstore
from obstore.progress import Progress, rich_progress, tqdm_progress
from obstore.store import MemoryStore
from obstore.transfer import copy, delete_prefix, sync
from obstore.transfer._engine import Throttle
from obstore.transfer._plan import Totals

from .conftest import MIB, TREE, write_tree


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[float, Progress]] = []

    def __call__(self, progress: Progress) -> None:
        self.calls.append((time.monotonic(), progress))


def test_throttle_calls_at_most_ten_times_per_second() -> None:
    recorder = Recorder()
    totals = Totals()
    throttle = Throttle(recorder, totals)
    start = time.monotonic()
    updates = 0
    while time.monotonic() - start < 0.35:
        throttle.add_bytes(1, "p")
        updates += 1
    totals.listed = True
    throttle.final()
    throttle.final()  # only once
    assert updates > 1000
    assert 3 <= len(recorder.calls) <= 6
    times = [t for t, _ in recorder.calls[:-1]]
    # (recorded just after each call: allow a few microseconds of jitter)
    assert all(b - a >= Throttle.INTERVAL - 0.002 for a, b in zip(times, times[1:], strict=False))
    final = recorder.calls[-1][1]
    assert final.done and final.bytes_done == updates and final.bytes_total == 0
    assert [p.done for _, p in recorder.calls].count(True) == 1


def test_progress_of_a_transfer(remote: Any, tmp_path: Path) -> None:
    files = {**TREE, **{f"many/{i:03}.bin": os.urandom(3000) for i in range(150)}}
    files["big.bin"] = os.urandom(24 * MIB)
    source = write_tree(tmp_path / "src", files)
    recorder = Recorder()
    report = copy(source, (remote, "p/"), progress=recorder, part_size=5 * MIB)
    total = sum(len(data) for data in files.values())
    assert report.bytes == total
    updates = [p for _, p in recorder.calls]
    assert updates[-1] == Progress(
        bytes_done=total,
        bytes_total=total,
        objects_done=len(files),
        objects_total=len(files),
        path=updates[-1].path,
        done=True,
    )
    assert [p.done for p in updates].count(True) == 1
    times = [t for t, _ in recorder.calls[:-1]]
    assert all(b - a >= 0.098 for a, b in zip(times, times[1:], strict=False))
    # totals are None until the listing has ended, then stay; counts never go back
    known = [p.objects_total is not None for p in updates]
    assert known == sorted(known)
    assert all(p.bytes_total in (None, total) for p in updates)
    done = [p.bytes_done for p in updates]
    assert done == sorted(done)


def test_final_call_also_on_failure_and_for_deletes(tmp_path: Path) -> None:
    recorder = Recorder()
    copy(tmp_path / "missing", (MemoryStore(), "x"), progress=recorder)
    assert recorder.calls[-1][1].done and recorder.calls[-1][1].objects_done == 0
    store = MemoryStore()
    for i in range(30):
        obstore.put(store, f"d/{i}", b"x")
    recorder = Recorder()
    delete_prefix(store, "d", progress=recorder)
    final = recorder.calls[-1][1]
    assert final.done and final.objects_done == final.objects_total == 30


def test_tqdm_adapter(tmp_path: Path) -> None:
    pytest.importorskip("tqdm")
    out = io.StringIO()
    source = write_tree(tmp_path / "src", TREE)
    sync(source, (MemoryStore(), "p/"), progress=tqdm_progress(file=out, desc="up"))
    text = out.getvalue()
    assert "up" in text and f"{len(TREE)}/{len(TREE)} objects" in text


def test_rich_adapter(tmp_path: Path) -> None:
    console_module = pytest.importorskip("rich.console")
    out = io.StringIO()
    console = console_module.Console(file=out, force_terminal=False, width=120)
    source = write_tree(tmp_path / "src", TREE)
    sync(source, (MemoryStore(), "p/"), progress=rich_progress("up", console=console))
    assert f"{len(TREE)}/{len(TREE)} objects" in out.getvalue()


def test_transfers_start_before_the_listing_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Throttle, "INTERVAL", 0.0)  # every update reaches the callback
    source = MemoryStore()
    for i in range(2500):
        obstore.put(source, f"s/{i:05}", b"x")
    recorder = Recorder()
    report = copy((source, "s/"), (MemoryStore(), "d/"), max_concurrency=8, progress=recorder)
    assert report.transferred == 2500
    early = [p for _, p in recorder.calls if p.objects_done > 0 and p.objects_total is None]
    assert early, "no object finished before the listing ended"
