"""mkdocs hook: the command-line reference, from the `obstore` command's own `--help`.

``<!-- cli-help -->`` becomes the top-level help and one section per command, captured at build
time from ``obstore.cli.main``, so the page shows exactly what the installed command says.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from typing import Any

MARKER = "<!-- cli-help -->"
WIDTH = "100"  # argparse wraps to $COLUMNS: a fixed width keeps builds identical


def help_text(argv: list[str]) -> str:
    from obstore.cli import main

    out = io.StringIO()
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        with contextlib.redirect_stdout(out):
            status = main([*argv, "--help"])
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    if status != 0:
        raise RuntimeError(f"obstore {' '.join(argv)} --help exited with {status}")
    return out.getvalue().rstrip()


def commands(top: str) -> list[tuple[str, str]]:
    """(name, summary) of each command listed under COMMAND in the top-level help."""
    found = re.findall(r"^    (\w+)\s{2,}(.+)$", top, flags=re.M)
    if not found:
        raise ValueError("obstore --help lists no command")
    return found


def render() -> str:
    top = help_text([])
    parts = ["```text", top, "```"]
    for name, summary in commands(top):
        parts += [f"### `obstore {name}`", "", summary[0].upper() + summary[1:] + ".", ""]
        parts += ["```text", help_text([name]), "```", ""]
    return "\n".join(parts)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, render())
    return markdown
