"""S3 stores keep SigV4's derived signing keys, proven against MinIO, which checks every
signature: requests signed by the connector (``crates/obstore-stores/src/sigv4.rs``) and
presigned URLs signed with the store's crypto provider
(``crates/obstore-stores/src/stores/signing_keys.rs``). A key kept for one secret never signs for
another, and requests signed from many threads at once, the caches busy, are all accepted.

The HMACs themselves, and signatures equal to those of ``object_store``'s own, are unit-tested
in those files.
"""

from __future__ import annotations

import asyncio
import threading
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import obstore
from obstore.exceptions import PermissionDeniedError
from obstore.store import S3Store

from .conftest import BACKENDS, STORE_KINDS

pytestmark = pytest.mark.skipif("s3-minio" not in STORE_KINDS, reason="needs the MinIO server")


@pytest.fixture
def minio(servers: Any) -> Any:
    return servers.get(BACKENDS["s3-minio"].server)


class Rotating:
    """A credential provider handing out the secrets of ``secrets`` in turn, each expiring at
    once, so the store asks for a credential before every request."""

    def __init__(self, key_id: str, secrets: list[str]) -> None:
        self.key_id = key_id
        self.secrets = secrets
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self) -> dict[str, Any]:
        with self.lock:
            secret = self.secrets[self.calls % len(self.secrets)]
            self.calls += 1
        return {
            "access_key_id": self.key_id,
            "secret_access_key": secret,
            "token": None,
            "expires_at": datetime.now(UTC) + timedelta(seconds=1),
        }


def _store(minio: Any, provider: Any) -> S3Store:
    kwargs = {
        k: v
        for k, v in minio.store_kwargs.items()
        if k not in ("access_key_id", "secret_access_key")
    }
    return S3Store(credential_provider=provider, **kwargs)


def _rotating(minio: Any) -> tuple[S3Store, Rotating, str]:
    """A store whose provider hands out the right secret, a wrong one, the right one, ...; and
    the path of an object holding b"payload"."""
    good = minio.extra["secret_access_key"]
    path = f"signing-keys/{uuid.uuid4().hex}"
    minio.store().put(path, b"payload")
    provider = Rotating(minio.extra["access_key_id"], [good, good + "x", good])
    return _store(minio, provider), provider, path


def test_a_rotated_secret_is_signed_with_its_own_key_not_a_kept_one(minio: Any) -> None:
    store, provider, path = _rotating(minio)
    for _ in range(3):
        # The right secret is accepted; the wrong one, asked for between two right ones with
        # the same key id on the same day, is refused: its key is not the right secret's.
        assert obstore.get(store, path).bytes() == b"payload"
        with pytest.raises(PermissionDeniedError, match="signature"):
            obstore.get(store, path).bytes()
        assert obstore.get(store, path).bytes() == b"payload"
    assert provider.calls == 9


def test_requests_signed_from_many_threads_at_once_are_all_accepted(minio: Any) -> None:
    store = minio.store()
    prefix = f"signing-keys/{uuid.uuid4().hex}"
    data = {f"{prefix}/{i}": f"object {i}".encode() for i in range(32)}
    for path, body in data.items():
        store.put(path, body)

    def sync_reads(_: int) -> int:
        return sum(obstore.get(store, path).bytes() == body for path, body in data.items())

    async def async_reads() -> int:
        async def one(path: str, body: bytes) -> bool:
            return await (await obstore.get_async(store, path)).bytes_async() == body

        results = await asyncio.gather(*(one(p, b) for _ in range(4) for p, b in data.items()))
        return sum(results)

    with ThreadPoolExecutor(8) as pool:
        threads = [pool.submit(sync_reads, i) for i in range(8)]
        assert asyncio.run(async_reads()) == 4 * len(data)
        assert [t.result() for t in threads] == [len(data)] * 8


def test_a_presigned_url_of_a_rotated_secret_is_signed_with_its_own_key(minio: Any) -> None:
    store, provider, path = _rotating(minio)

    def fetch() -> int:
        url = obstore.sign(store, "GET", path, timedelta(minutes=5))
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                assert answer.read() == b"payload"
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    assert [fetch() for _ in range(6)] == [200, 403, 200] * 2
    assert provider.calls == 6
