"""The README's ``make demo`` runs examples/command_line.py: it syncs a directory into a
``file://`` bucket and back through the command line and finds the copy identical."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import base_env

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "command_line.py"


def test_make_demo_runs_the_command_line_example() -> None:
    makefile = (ROOT / "Makefile").read_text()
    demo_recipe = makefile[makefile.index("\ndemo:") :].split("\n\n")[0]
    assert "examples/command_line.py" in demo_recipe

    result = subprocess.run(
        [sys.executable, str(DEMO)], capture_output=True, env=base_env(), timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode().splitlines()
    assert out[0].startswith("$ obstore sync data/ file://")
    assert out[-1] == "restored/ holds the same 8 files as data/: True"
    # the reports, one per transfer, on stderr (no progress bar: stderr is a pipe here)
    reports = result.stderr.decode().splitlines()
    assert reports[0].startswith("sync: 9 transferred (48.0 MiB), 0 skipped")
    assert reports[2].startswith("sync: 1 transferred (36 B), 7 skipped, 1 deleted, 0 failed")
