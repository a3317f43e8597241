"""The README's example of ``obstore.transfer`` runs as written and prints what it says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tqdm")
    text = README.read_text()
    section = text[text.index("### Many objects: `obstore.transfer`") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        exec(compile(code.group(1), str(README), "exec"), {})
    # each print is followed by what it prints, maybe with ": an explanation"
    comments = re.findall(r"print\(.*\)  # (.*)$", code.group(1), re.M)
    printed = out.getvalue().splitlines()
    assert len(printed) == len(comments)
    for line, comment in zip(printed, comments, strict=True):
        assert comment == line or comment.startswith(line + ":"), (line, comment)
    assert (tmp_path / "restored" / "sub" / "a.txt").read_text() == "hello"
