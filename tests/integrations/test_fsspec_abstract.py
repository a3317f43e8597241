"""fsspec's own abstract test-suite (``fsspec.tests.abstract``) against ``FsspecStore``.

Wired the way fsspec documents for implementers: one fixtures class per backend derived from
``AbstractFixtures`` (``fs``, ``fs_path``, ``supports_empty_directories``; ``fs_join``,
``local_fs``, ``local_path`` keep fsspec's defaults), combined with every ``Abstract*Tests``
class the installed fsspec ships. Backends: S3 (MinIO), Azure (Azurite), GCS (fake-gcs-server),
the local filesystem (``file``), plus the in-process ``memory`` protocol and a filesystem built
with ``FsspecStore.from_store`` over a store with a prefix.

Object stores have no empty directories, so ``supports_empty_directories`` is False everywhere
(``mkdir`` is a no-op; a directory exists while something is below it).
"""

from __future__ import annotations

import inspect
import uuid
from pathlib import Path
from typing import Any

import pytest

abstract = pytest.importorskip("fsspec.tests.abstract")

from obstore.fsspec import FsspecStore  # noqa: E402
from obstore.store import LocalStore, S3Store  # noqa: E402

from ._helpers import split_store_kwargs  # noqa: E402


class _ObjectStoreFixtures(abstract.AbstractFixtures):  # type: ignore[misc,name-defined]
    @pytest.fixture
    def supports_empty_directories(self) -> bool:
        return False


class _S3Fixtures(_ObjectStoreFixtures):
    @pytest.fixture
    def fs(self, minio: Any) -> FsspecStore:
        _, kwargs = split_store_kwargs(minio)
        return FsspecStore("s3", **kwargs)

    @pytest.fixture
    def fs_path(self, minio: Any) -> str:
        return f"{minio.bucket}/{uuid.uuid4().hex}"


class _AzureFixtures(_ObjectStoreFixtures):
    @pytest.fixture
    def fs(self, azurite: Any) -> FsspecStore:
        _, kwargs = split_store_kwargs(azurite)
        return FsspecStore("az", **kwargs)

    @pytest.fixture
    def fs_path(self, azurite: Any) -> str:
        return f"{azurite.bucket}/{uuid.uuid4().hex}"


class _GCSFixtures(_ObjectStoreFixtures):
    @pytest.fixture
    def fs(self, gcs: Any) -> FsspecStore:
        _, kwargs = split_store_kwargs(gcs)
        return FsspecStore("gs", **kwargs)

    @pytest.fixture
    def fs_path(self, gcs: Any) -> str:
        return f"{gcs.bucket}/{uuid.uuid4().hex}"


class _LocalFixtures(_ObjectStoreFixtures):
    @pytest.fixture
    def fs(self) -> FsspecStore:
        return FsspecStore("file")

    @pytest.fixture
    def fs_path(self, tmp_path: Path) -> str:
        remote = tmp_path / "remote"
        remote.mkdir()
        return str(remote)


class _MemoryFixtures(_ObjectStoreFixtures):
    @pytest.fixture
    def fs(self) -> FsspecStore:
        return FsspecStore("memory", skip_instance_cache=True)

    @pytest.fixture
    def fs_path(self) -> str:
        return f"/{uuid.uuid4().hex}"


class _FromStoreFixtures(_ObjectStoreFixtures):
    """``FsspecStore.from_store`` over a LocalStore whose prefix is a temporary directory."""

    @pytest.fixture
    def fs(self, tmp_path: Path) -> FsspecStore:
        root = tmp_path / "store-root"
        root.mkdir()
        return FsspecStore.from_store(LocalStore(root, automatic_cleanup=True))

    @pytest.fixture
    def fs_path(self) -> str:
        return uuid.uuid4().hex


class _S3FromStoreFixtures(_ObjectStoreFixtures):
    """``FsspecStore.from_store`` over an ``S3Store`` with a prefix (MinIO)."""

    @pytest.fixture
    def fs(self, minio: Any) -> FsspecStore:
        return FsspecStore.from_store(
            S3Store(prefix=f"fs-{uuid.uuid4().hex}", **minio.store_kwargs)
        )

    @pytest.fixture
    def fs_path(self) -> str:
        return "root"


BACKEND_FIXTURES: dict[str, type] = {
    "S3": _S3Fixtures,
    "Azure": _AzureFixtures,
    "GCS": _GCSFixtures,
    "Local": _LocalFixtures,
    "Memory": _MemoryFixtures,
    "FromLocalStore": _FromStoreFixtures,
    "FromS3Store": _S3FromStoreFixtures,
}

#: Every abstract test class this fsspec ships (copy, get, put, open, pipe, ...).
SUITES: dict[str, type] = {
    name.removeprefix("Abstract").removesuffix("Tests"): cls
    for name, cls in inspect.getmembers(abstract, inspect.isclass)
    if name.startswith("Abstract") and name.endswith("Tests")
}

for _backend, _fixtures in BACKEND_FIXTURES.items():
    for _suite, _tests in SUITES.items():
        _name = f"Test{_backend}{_suite}"
        globals()[_name] = type(_name, (_tests, _fixtures), {"__module__": __name__})
