"""Fixtures of the integration tests: real servers, selected like the conformance suite.

A test that needs a server runs only when its store kind is in ``OBSTORE_TEST_STORES`` (see
``tests/conftest.py``; ``make test`` selects all of them) and the server is installed; otherwise
it is skipped with the reason. Servers are the session-wide ones of ``tests/conftest.py``, so the
conformance suite and these tests share one process per kind.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import STORE_KINDS

#: tests.servers kind -> the OBSTORE_TEST_STORES name that selects it
SELECTED_BY = {"minio": "s3-minio", "moto": "s3-moto", "azurite": "azurite", "gcs": "gcs"}


def server_or_skip(request: pytest.FixtureRequest, kind: str) -> Any:
    """The running server of ``kind`` (started once per session), or skip the test."""
    selector = SELECTED_BY[kind]
    if selector not in STORE_KINDS:
        pytest.skip(f"{kind} server not selected: add {selector} to OBSTORE_TEST_STORES")
    import tests.servers

    if not tests.servers.available(kind):
        pytest.skip(f"{kind} server not installed (scripts/install-test-servers.sh {kind})")
    return request.getfixturevalue("servers").get(kind)


@pytest.fixture(scope="session")
def minio(request: pytest.FixtureRequest) -> Any:
    return server_or_skip(request, "minio")


@pytest.fixture(scope="session")
def moto(request: pytest.FixtureRequest) -> Any:
    return server_or_skip(request, "moto")


@pytest.fixture(scope="session")
def azurite(request: pytest.FixtureRequest) -> Any:
    return server_or_skip(request, "azurite")


@pytest.fixture(scope="session")
def gcs(request: pytest.FixtureRequest) -> Any:
    return server_or_skip(request, "gcs")


@pytest.fixture
def unique() -> str:
    """A fresh prefix, so tests on a shared server never see each other's objects."""
    return f"it-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def registered() -> Iterator[None]:
    """``register()`` for the test, then fsspec's registry as it was."""
    pytest.importorskip("fsspec")
    from fsspec.registry import _registry  # type: ignore[import-untyped]

    from obstore.fsspec import register

    protocols = ["s3", "s3a", "gs", "az", "abfs"]
    before = {p: _registry.get(p) for p in protocols}
    register(protocols)
    yield
    for p, cls in before.items():
        if cls is None:
            _registry.pop(p, None)
        else:
            _registry[p] = cls
