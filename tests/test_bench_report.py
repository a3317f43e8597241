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
