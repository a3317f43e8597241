"""mkdocs hook: the configuration tables of the backend pages, generated from the package.

A page writes ``<!-- config-table: S3Config -->`` and gets one row per key of that TypedDict in
``python/obstore/_config/`` (or ``TransferOptions`` in ``obstore.transfer``): the key, its
environment variables and its description, all read from the key's own docstring. The tables
therefore list exactly the keys the package declares, and cannot drift from them.
"""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    *sorted((ROOT / "python/obstore/_config").glob("*.py")),
    ROOT / "python/obstore/transfer/_api.py",
]
MARKER = re.compile(r"<!-- config-table: (\w+) -->")
# The docstrings name environment variables as "(env ``A``, ``B``)".
ENV_SPAN = re.compile(r"\(env ((?:``[A-Z0-9_]+``(?:,\s*)?)+)\)", re.S)
ENV_NAME = re.compile(r"``([A-Z0-9_]+)``")


def typed_dict_keys(name: str) -> list[tuple[str, str, list[str], str]]:
    """(key, annotation, environment variables, description) of each key of TypedDict `name`."""
    for source in SOURCES:
        tree = ast.parse(source.read_text(), filename=str(source))
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == name:
                return _keys(node, source)
    raise LookupError(f"no TypedDict {name!r} in {[str(s) for s in SOURCES]}")


def _keys(node: ast.ClassDef, source: Path) -> list[tuple[str, str, list[str], str]]:
    rows = []
    body = node.body
    for i, item in enumerate(body):
        if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
            continue
        doc = ""
        following = body[i + 1] if i + 1 < len(body) else None
        if (
            isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            doc = following.value.value
        if not doc:
            raise ValueError(f"{source}: {node.name}.{item.target.id} has no docstring")
        env: list[str] = []
        span = ENV_SPAN.search(doc)
        if span:
            env = ENV_NAME.findall(span.group(1))
            doc = doc[: span.start()] + doc[span.end() :]
        text = " ".join(doc.split()).replace(" .", ".").replace(" ,", ",").strip()
        rows.append((item.target.id, ast.unparse(item.annotation), env, text))
    return rows


def _cell(text: str) -> str:
    # reStructuredText literals become Markdown code; a pipe would end the cell.
    return text.replace("``", "`").replace("|", "&#124;")


def _code(text: str) -> str:
    # A code span cannot hold an escaped pipe in a table cell; HTML code can hold its entity.
    return "<code>" + html.escape(text).replace("|", "&#124;") + "</code>"


def render(name: str) -> str:
    lines = ["| key | environment | type | meaning |", "|---|---|---|---|"]
    for key, annotation, env, text in typed_dict_keys(name):
        env_cell = "<br>".join(f"`{e}`" for e in env) or "—"
        lines.append(f"| `{key}` | {env_cell} | {_code(annotation)} | {_cell(text)} |")
    return "\n".join(lines)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    return MARKER.sub(lambda m: render(m.group(1)), markdown)
