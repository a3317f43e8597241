"""The benchmark report: its A/A band, and bench/RESULTS.md as the report of its saved run."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def bench() -> Any:
    sys.path.insert(0, str(BENCH))
    try:
        yield importlib.import_module("run"), importlib.import_module("_report")
    finally:
        sys.path.remove(str(BENCH))


def test_the_aa_band_spans_every_ratio_between_two_repetitions(bench: Any) -> None:
    _, report = bench
    assert report.aa_band([10.0, 12.0, 8.0]) == (8.0 / 12.0, 12.0 / 8.0)
    assert report.aa_band([5.0, 5.0]) == (1.0, 1.0)
    # a repetition without a figure (a failed worker) is left out, not counted as zero
    assert report.aa_band([4.0, None, 0, 5.0]) == (4.0 / 5.0, 5.0 / 4.0)
    assert report.aa_band([4.0]) is None


def test_results_md_is_the_report_of_the_run_it_names(bench: Any) -> None:
    run, _ = bench
    header, _, body = (BENCH / "RESULTS.md").read_text().partition("\n")
    saved = header.removeprefix("<!-- written by bench/run.py; raw results in ")
    saved = saved.removesuffix(" -->")
    stem = BENCH.parent / saved.removesuffix(".json")
    assert header == run.results_header(str(stem))
    assert run.saved_report(f"{stem}.json") == body


def test_the_server_cpu_is_reported_in_the_unit_of_the_clients(bench: Any) -> None:
    _, report = bench
    res = {"server_cpu_s": 2.0, "cpu_s": 4.0, "cpu_ms_per_op": 0.04}
    assert report._server_cpu(res, "cpu_ms_per_op") == pytest.approx(0.02)
    assert report._server_cpu({"cpu_s": 4.0, "cpu_ms_per_op": 0.04}, "cpu_ms_per_op") is None
    assert report._server_cpu({**res, "cpu_s": 0.0}, "cpu_ms_per_op") is None


def test_the_host_window_counts_a_server_process_cpu_time(bench: Any) -> None:
    """`_Host` of the network worker: the CPU a named process spends inside the window (here
    this one, busy for a while), and the host's busy share as a fraction."""
    import os
    import time

    sys.path.insert(0, str(BENCH / "workers"))
    try:
        net = importlib.import_module("net")
    finally:
        sys.path.remove(str(BENCH / "workers"))
    host = net._Host({"server_pids": [os.getpid()]})
    c0 = time.process_time()
    while time.process_time() - c0 < 0.3:
        pass
    used = time.process_time() - c0
    got = host.end()
    assert got["server_cpu_s"] == pytest.approx(used, rel=0.2)
    assert 0.0 < got["host_busy"] <= 1.0
    assert net._Host({}).end()["server_cpu_s"] is None
