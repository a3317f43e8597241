"""Fixtures of the transfer tests: stores of the selected kinds, local trees, and helpers that
read a whole tree (local or in a store) as ``{relative path: sha256}`` for byte-exact checks.

Store kinds follow ``OBSTORE_TEST_STORES`` like the conformance suite (``tests/conftest.py``):
the directional tests run on memory, local and MinIO when selected; a test that needs another
server is skipped unless its kind is selected.
"""

from __future__ import annotations

import hashlib
import os
import random
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import obstore
from obstore.store import LocalStore, MemoryStore
from tests.conftest import BACKENDS, STORE_KINDS, _server_store

#: The kinds every direction is tested against (those of them that are selected).
TRANSFER_KINDS = [kind for kind in ("memory", "local", "s3-minio") if kind in STORE_KINDS]

MIB = 1024 * 1024


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


#: A small tree: nested directories, an empty file, a name with a space, sizes around 1 MiB.
TREE: dict[str, bytes] = {
    "top.txt": b"hello transfer\n",
    "empty.bin": b"",
    "a/one.bin": random.Random(1).randbytes(1000),
    "a/b/two.bin": random.Random(2).randbytes(MIB + 17),
    "a/b/with space.txt": b"spaces are fine",
    "c/three.dat": random.Random(3).randbytes(70_000),
}


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root.joinpath(*rel.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def local_tree(root: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file below ``root``."""
    found = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            found[path.relative_to(root).as_posix()] = sha(path.read_bytes())
    return found


def store_tree(store: Any, prefix: str = "") -> dict[str, str]:
    """``{path relative to prefix: sha256}`` of every object below ``prefix``."""
    prefix = prefix.strip("/")
    found = {}
    for chunk in obstore.list(store, prefix or None):
        for meta in chunk:
            rel = meta["path"][len(prefix) + 1 :] if prefix else meta["path"]
            found[rel] = sha(bytes(obstore.get(store, meta["path"]).bytes()))
    return found


def hashes(files: dict[str, bytes]) -> dict[str, str]:
    return {rel: sha(data) for rel, data in files.items()}


@contextmanager
def dask_cluster() -> Iterator[Any]:
    """A Dask client of a local cluster of two single-threaded worker processes on 127.0.0.1."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster, timeout=60) as client,
    ):
        client.wait_for_workers(2, timeout=60)
        yield client


def server_or_skip(request: pytest.FixtureRequest, kind: str) -> Any:
    """The running server of the store kind ``kind`` (e.g. "s3-minio"), or skip the test."""
    if kind not in STORE_KINDS:
        pytest.skip(f"{kind} not selected: add it to OBSTORE_TEST_STORES")
    import tests.servers

    server_kind = BACKENDS[kind].server
    if not tests.servers.available(server_kind):
        pytest.skip(f"{server_kind} server not installed (scripts/install-test-servers.sh)")
    return request.getfixturevalue("servers").get(server_kind)


StoreFactory = Callable[[str], Any]


@pytest.fixture
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """``make_store(kind)``: a fresh, empty store of that kind (skips unselected kinds)."""

    def make(kind: str) -> Any:
        if kind == "memory":
            return MemoryStore()
        if kind == "local":
            root = tmp_path / f"store-{uuid.uuid4().hex[:8]}"
            root.mkdir()
            return LocalStore(root)
        server = server_or_skip(request, kind)
        return _server_store(BACKENDS[kind], server, f"transfer-{uuid.uuid4().hex}")

    return make


@pytest.fixture(params=TRANSFER_KINDS)
def remote(request: pytest.FixtureRequest, make_store: StoreFactory) -> Any:
    """A fresh store of each kind every direction is tested against."""
    return make_store(request.param)


@pytest.fixture
def minio(request: pytest.FixtureRequest) -> Any:
    """The MinIO server (skips unless s3-minio is selected)."""
    return server_or_skip(request, "s3-minio")


@pytest.fixture
def minio_store(minio: Any) -> Any:
    """A fresh prefix on MinIO."""
    return _server_store(BACKENDS["s3-minio"], minio, f"transfer-{uuid.uuid4().hex}")


def multipart_uploads(server: Any, prefix: str) -> list[dict[str, Any]]:
    """Multipart uploads open below ``prefix`` on the MinIO ``server`` (boto3)."""
    import boto3  # type: ignore[import-untyped]

    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=server.store_kwargs["access_key_id"],
        aws_secret_access_key=server.store_kwargs["secret_access_key"],
        region_name="us-east-1",
    )
    answer = client.list_multipart_uploads(Bucket=server.bucket, Prefix=prefix)
    return list(answer.get("Uploads", []))
