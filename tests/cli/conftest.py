"""Fixtures of the command line tests: ``obstore`` run in a subprocess, and a fresh prefix on
each selected server kind with the environment variables and ``--config`` settings that reach it.

The subprocess gets its settings the way users give them: MinIO and GCS through environment
variables (``AWS_*``, ``GOOGLE_SERVICE_ACCOUNT``), moto and Azurite through ``--config``, WebDAV
through ``--config allow_http=true``. Every store has explicit credentials and a 127.0.0.1
endpoint; the metadata endpoints of the credential chains stay pointed at a closed loopback port
(``tests/conftest.py`` sets them in the environment the subprocess inherits).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BACKENDS, STORE_KINDS, _server_store

#: Environment variables of the stores: the subprocess gets only the ones a test sets.
_STORE_ENV_PREFIXES = ("AWS_", "GOOGLE_", "AZURE_")
#: Keep the metadata endpoints pointed at the closed port (set by tests/conftest.py).
_KEPT = {
    "AWS_EC2_METADATA_DISABLED",
    "AWS_METADATA_ENDPOINT",
    "AZURE_MSI_ENDPOINT",
    "GCE_METADATA_HOST",
    "GCE_METADATA_IP",
}

#: Server kinds the command line runs against (memory lives in one process: not across runs).
SERVER_KINDS = ["s3-minio", "s3-moto", "azurite", "gcs", "webdav"]
CLI_KINDS = ["local", *(kind for kind in SERVER_KINDS if kind in STORE_KINDS)]


def base_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key in _KEPT or not key.startswith(_STORE_ENV_PREFIXES)
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[bytes]:
    """``python -m obstore ARGS`` with stdout and stderr piped."""
    return subprocess.run(
        [sys.executable, "-m", "obstore", *args],
        capture_output=True,
        env=base_env(env),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


@dataclass
class Remote:
    """A fresh prefix of one store kind as the command line reaches it."""

    kind: str
    url: str
    """The prefix's URL, ending in ``/``."""
    env: dict[str, str] = field(default_factory=dict)
    config: list[str] = field(default_factory=list)
    """``KEY=VALUE`` settings given with ``--config``."""
    signs: bool = False
    shown: str = ""
    """How the command prints the prefix: the URL, or for ``file://`` URLs the local path."""

    def __post_init__(self) -> None:
        self.shown = self.shown or self.url

    def show(self, rel: str) -> str:
        """How the command prints ``rel`` below the prefix."""
        return self.shown + rel

    def run(self, verb: str, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        """``obstore VERB --config ... ARGS`` with this remote's environment."""
        config = [part for setting in self.config for part in ("--config", setting)]
        return run_cli(verb, *config, *args, env=self.env, **kwargs)

    def __truediv__(self, rel: str) -> str:
        return self.url + rel


def _remote(kind: str, server: Any, prefix: str, *, via_config: bool = False) -> Remote:
    """How the command reaches ``prefix`` on ``server``; ``via_config``: S3 settings given
    with ``--config`` rather than environment variables."""
    kwargs = server.store_kwargs
    if kind == "s3-minio" and not via_config:
        return Remote(
            kind,
            f"s3://{server.bucket}/{prefix}/",
            env={
                "AWS_ENDPOINT_URL": server.endpoint,
                "AWS_ALLOW_HTTP": "true",
                "AWS_ACCESS_KEY_ID": kwargs["access_key_id"],
                "AWS_SECRET_ACCESS_KEY": kwargs["secret_access_key"],
                "AWS_REGION": "us-east-1",
            },
            signs=True,
        )
    if kind in ("s3-minio", "s3-moto"):
        return Remote(
            kind,
            f"s3://{server.bucket}/{prefix}/",
            config=[
                f"endpoint={server.endpoint}",
                "allow_http=true",
                f"access_key_id={kwargs['access_key_id']}",
                f"secret_access_key={kwargs['secret_access_key']}",
                "region=us-east-1",
            ],
            signs=True,
        )
    if kind == "azurite":
        return Remote(
            kind,
            f"az://{server.bucket}/{prefix}/",
            config=[
                f"account_name={kwargs['account_name']}",
                f"account_key={kwargs['account_key']}",
                f"endpoint={kwargs['endpoint']}",
                "allow_http=true",
            ],
            signs=True,
        )
    if kind == "gcs":
        return Remote(
            kind,
            f"gs://{server.bucket}/{prefix}/",
            env={"GOOGLE_SERVICE_ACCOUNT": kwargs["service_account"]},
            config=["allow_http=true"],
            signs=True,
        )
    assert kind == "webdav"
    return Remote(kind, f"{server.endpoint}/{prefix}/", config=["allow_http=true"])


def server_or_skip(request: pytest.FixtureRequest, kind: str) -> Any:
    if kind not in STORE_KINDS:
        pytest.skip(f"{kind} not selected: add it to OBSTORE_TEST_STORES")
    import tests.servers

    server_kind = BACKENDS[kind].server
    if not tests.servers.available(server_kind):
        pytest.skip(f"{server_kind} server not installed (scripts/install-test-servers.sh)")
    return request.getfixturevalue("servers").get(server_kind)


@pytest.fixture(params=CLI_KINDS)
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Remote:
    """A fresh prefix of each selected kind: a ``file://`` directory, or one on a server."""
    kind = request.param
    if kind == "local":
        bucket = tmp_path / "bucket"
        bucket.mkdir()
        return Remote(kind, bucket.as_uri() + "/", shown=f"{bucket}/")
    server = server_or_skip(request, kind)
    return _remote(kind, server, f"cli-{uuid.uuid4().hex}")


@pytest.fixture
def minio(request: pytest.FixtureRequest) -> Any:
    """The MinIO server (skips unless s3-minio is selected)."""
    return server_or_skip(request, "s3-minio")


def minio_prefix(server: Any) -> tuple[Remote, Any]:
    """A fresh prefix on MinIO, as the command reaches it through ``--config`` settings (which
    travel with the store to other processes), and as a store of this process."""
    prefix = f"cli-{uuid.uuid4().hex}"
    store = _server_store(BACKENDS["s3-minio"], server, prefix)
    return _remote("s3-minio", server, prefix, via_config=True), store


def lines(output: bytes) -> list[str]:
    return output.decode().splitlines()


def stderr_lines(result: subprocess.CompletedProcess[bytes]) -> list[str]:
    return lines(result.stderr)


def ok(result: subprocess.CompletedProcess[bytes]) -> subprocess.CompletedProcess[bytes]:
    """``result``, asserted to have succeeded (its stderr shown otherwise)."""
    assert result.returncode == 0, (result.args, result.stderr.decode())
    return result
