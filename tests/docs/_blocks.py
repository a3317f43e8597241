"""The code blocks of a Markdown page that are meant to run.

A ```python block runs unless the line before its fence (blank lines aside) is an HTML comment
``<!-- no-run: REASON -->``. A ```sh block runs only when that line is ``<!-- run: shell -->``
(most shell blocks are install commands). A page lists the test servers its blocks need in a
comment ``<!-- examples: needs s3 gcs azure webdav -->``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FENCE_OPEN = re.compile(r"^(?P<indent>\s*)```(?P<language>python|py|sh|bash)\b.*$")
NO_RUN = re.compile(r"^\s*<!-- no-run: (?P<reason>.+?) -->\s*$")
RUN_SHELL = re.compile(r"^\s*<!-- run: shell -->\s*$")
NEEDS = re.compile(r"<!-- examples: needs (?P<kinds>[a-z0-9 ]+?) -->")


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the first line of code
    code: str
    no_run: str | None  # the reason it does not run, or None
    language: str = "python"  # or "shell"


def blocks(text: str) -> list[Block]:
    lines = text.splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        match = FENCE_OPEN.match(lines[i])
        if not match:
            i += 1
            continue
        indent = match.group("indent")
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        before = lines[j] if j >= 0 else ""
        end = i + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        code = "\n".join(line[len(indent) :] for line in lines[i + 1 : end]) + "\n"
        if match.group("language") in ("python", "py"):
            marker = NO_RUN.match(before)
            found.append(Block(i + 2, code, marker.group("reason") if marker else None))
        elif RUN_SHELL.match(before):
            found.append(Block(i + 2, code, None, "shell"))
        i = end + 1
    return found


def needs(text: str) -> list[str]:
    match = NEEDS.search(text)
    return match.group("kinds").split() if match else []


def page_blocks(path: Path) -> list[Block]:
    return blocks(path.read_text())
