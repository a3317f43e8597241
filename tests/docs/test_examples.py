"""Every ```python block of docs/ and README.md runs, in order, one page per fresh interpreter.

Blocks of a page share one namespace and run in an empty temporary directory. Cloud examples
reach the real test servers through the environment a user would set (``AWS_ENDPOINT_URL``,
``AZURE_STORAGE_ENDPOINT``, ``GOOGLE_SERVICE_ACCOUNT``, ...), with the bucket names the pages use.
A block not meant to run says so with ``<!-- no-run: REASON -->`` (README.md, which carries no
markers, is classified in ``README_NO_RUN`` below); those are counted, never skipped silently.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.docs._blocks import Block, blocks, needs

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# Pages with at least one ```python block (the reference and performance pages have none).
PAGES = [p for p in sorted(DOCS.rglob("*.md")) + [ROOT / "README.md"] if blocks(p.read_text())]

# README.md blocks that do not run, by a line each contains -> why.
README_NO_RUN = {
    "Boto3CredentialProvider": "needs real cloud accounts (boto3 session, google.auth.default(), "
    "Azure identity, NASA Earthdata, Planetary Computer)",
}
# The README's fsspec examples use an S3 bucket named my-bucket; pandas reads t.parquet there.
README_NEEDS = ["s3"]

# Page server names -> (OBSTORE_TEST_STORES kind, tests.servers kind, bucket).
SERVERS = {
    "s3": ("s3-minio", "minio", "my-bucket"),
    "gcs": ("gcs", "gcs", "my-bucket"),
    "azure": ("azurite", "azurite", "my-container"),
    "webdav": ("webdav", "webdav", ""),
}

# Runs in the child: each block compiled under its page and line, so a traceback points there.
# The namespace is the real __main__ module's, so functions defined by a block pickle (process
# pools look them up there). Shell blocks run under bash -e, `obstore` being this interpreter's.
DRIVER = r"""
import json as _json, subprocess as _subprocess, sys as _sys, traceback as _traceback
_SHELL = 'set -euo pipefail\nobstore() { "%s" -m obstore "$@"; }\n' % _sys.executable
_MAIN = _sys.modules["__main__"].__dict__
for _name, _line, _language, _code in _json.load(_sys.stdin):
    try:
        if _language == "shell":
            _sys.stdout.flush()
            _subprocess.run(["bash", "-c", _SHELL + _code], check=True)
        else:
            exec(compile("\n" * (_line - 1) + _code, _name, "exec"), _MAIN)
    except BaseException:
        _traceback.print_exc()
        print(f"FAILED: the block at {_name}:{_line}", file=_sys.stderr)
        _sys.exit(1)
"""


def _selected() -> set[str]:
    return set(os.environ.get("OBSTORE_TEST_STORES", "memory,local").split(","))


def _page_blocks(page: Path) -> tuple[list[Block], list[str]]:
    text = page.read_text()
    found = blocks(text)
    if page.name == "README.md" and page.parent == ROOT:
        found = [
            Block(
                b.line,
                b.code,
                next((why for key, why in README_NO_RUN.items() if key in b.code), None),
                b.language,
            )
            for b in found
        ]
        return found, README_NEEDS
    return found, needs(text)


def _page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.fixture(scope="module")
def doc_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The servers the selected pages need, started on first use, with the pages' buckets."""
    started: dict[str, Any] = {}
    workdir = tmp_path_factory.mktemp("doc-servers")

    def get(name: str) -> Any:
        if name not in started:
            import tests.servers

            _, kind, bucket = SERVERS[name]
            started[name] = tests.servers.start(kind, workdir / name, bucket=bucket)
        return started[name]

    yield {"get": get}
    for server in started.values():
        server.stop()


def _server_env(name: str, server: Any) -> dict[str, str]:
    kw = server.store_kwargs
    if name == "s3":
        return {
            "AWS_ENDPOINT_URL": server.endpoint,
            "AWS_ACCESS_KEY_ID": kw["access_key_id"],
            "AWS_SECRET_ACCESS_KEY": kw["secret_access_key"],
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true",
        }
    if name == "azure":
        return {
            "AZURE_STORAGE_ACCOUNT_NAME": kw["account_name"],
            "AZURE_STORAGE_ACCOUNT_KEY": kw["account_key"],
            "AZURE_STORAGE_ENDPOINT": kw["endpoint"],
            "AZURE_ALLOW_HTTP": "true",
        }
    if name == "gcs":
        return {"GOOGLE_SERVICE_ACCOUNT": kw["service_account"], "GOOGLE_ALLOW_HTTP": "true"}
    return {"WEBDAV_URL": server.endpoint + "/"}


def _seed_readme(server: Any) -> None:
    """The README's pandas line reads s3://my-bucket/t.parquet, which no README block writes."""
    import io

    import pandas as pd  # type: ignore[import-untyped]

    buffer = io.BytesIO()
    pd.DataFrame({"a": [1, 2, 3]}).to_parquet(buffer)
    server.store().put("t.parquet", buffer.getvalue())


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_page_examples_run(
    page: Path, doc_servers: dict[str, Any], tmp_path: Path, record_property: Any
) -> None:
    found, servers = _page_blocks(page)
    to_run = [b for b in found if b.no_run is None]
    not_run = [b for b in found if b.no_run is not None]
    record_property("blocks_run", len(to_run))
    record_property("blocks_not_run", len(not_run))
    if not to_run:
        pytest.skip(f"{_page_id(page)}: every block is marked no-run ({len(not_run)})")
    missing = [n for n in servers if SERVERS[n][0] not in _selected()]
    if missing:
        pytest.skip(
            f"{_page_id(page)} needs the {', '.join(missing)} test server(s): "
            f"add {', '.join(SERVERS[n][0] for n in missing)} to OBSTORE_TEST_STORES"
        )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "python"), str(ROOT)])
    for name in servers:
        server = doc_servers["get"](name)
        env.update(_server_env(name, server))
        if page.name == "README.md" and name == "s3":
            _seed_readme(server)
    payload = json.dumps([[_page_id(page), b.line, b.language, b.code] for b in to_run])
    done = subprocess.run(
        [sys.executable, "-c", DRIVER],
        input=payload,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        pytest.fail(
            f"{_page_id(page)}: a documented example fails\n{done.stdout}\n{done.stderr}",
            pytrace=False,
        )


def test_every_example_is_run_or_marked_with_a_reason() -> None:
    """No block is left out without a reason, and most blocks of the docs do run."""
    run = marked = 0
    for page in PAGES:
        found, _ = _page_blocks(page)
        for block in found:
            if block.no_run is None:
                run += 1
            else:
                assert len(block.no_run.strip()) >= 10, (
                    f"{_page_id(page)}:{block.line}: a no-run marker needs a real reason"
                )
                marked += 1
    print(f"documented examples: {run} run, {marked} marked no-run")
    assert run > 2 * marked, f"only {run} of {run + marked} examples run"


def test_the_block_extractor_reads_fences_markers_and_needs() -> None:
    text = (
        "<!-- examples: needs s3 gcs -->\n"
        "```python\nx = 1\n```\n\n"
        "<!-- no-run: talks to real AWS -->\n\n"
        "```python\ny = 2\n```\n"
        "```sh\nls\n```\n"
        "    ```python\n    z = 3\n    ```\n"
        "<!-- run: shell -->\n```sh\nobstore ls .\n```\n"
    )
    found = blocks(text)
    assert [(b.line, b.code, b.no_run, b.language) for b in found] == [
        (3, "x = 1\n", None, "python"),
        (9, "y = 2\n", "talks to real AWS", "python"),
        (15, "z = 3\n", None, "python"),
        (19, "obstore ls .\n", None, "shell"),
    ]
    assert needs(text) == ["s3", "gcs"]
