"""The per-call upload checksum (``checksum=`` of ``put``, ``open_writer`` and the transfer
functions), proven against the servers through the fault proxy.

* An algorithm given for one call is sent with that call's upload requests, a multipart
  upload's parts included, whatever the store's ``checksum_algorithm``; ``None`` sends none;
  ``"default"`` (the default) is the store's setting.
* The server checks it: a byte flipped on the way up raises ``ChecksumMismatchError`` and
  stores nothing, and it goes through unnoticed when the call sends no checksum.
* An unknown value, a value that is not a ``str``, and an algorithm the store cannot send raise
  before any request, naming the value; the in-process stores accept every choice.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import obstore
import obstore.store
import obstore.transfer
from obstore import ChecksumAlgorithm
from obstore.exceptions import ChecksumMismatchError
from tests.servers.fault_proxy import Flip, Rule

from .conftest import STORE_KINDS
from .test_checksums import (
    CREDENTIALS,
    Proxied,
    behind_proxy,
    expected_checksums,
    gcs_adapter_stats,
)

KiB = 1024
MiB = 1024 * KiB
DATA = random.Random(41).randbytes(64 * KiB)
BIG = random.Random(43).randbytes(11 * MiB)
ALGORITHMS = ["crc32c", "crc64nvme", "sha256", "md5"]


def _put(store: Any, path: str, data: bytes, **kwargs: Any) -> None:
    obstore.put(store, path, data, **kwargs)


def _put_async(store: Any, path: str, data: bytes, **kwargs: Any) -> None:
    async def put() -> None:
        await obstore.put_async(store, path, data, **kwargs)

    asyncio.run(put())


def _write(store: Any, path: str, data: bytes, **kwargs: Any) -> None:
    with obstore.open_writer(store, path, **kwargs) as writer:
        writer.write(data)


def _write_async(store: Any, path: str, data: bytes, **kwargs: Any) -> None:
    async def write() -> None:
        async with obstore.open_writer_async(store, path, **kwargs) as writer:
            await writer.write(data)

    asyncio.run(write())


UPLOADS = {
    "put": _put,
    "put_async": _put_async,
    "open_writer": _write,
    "open_writer_async": _write_async,
}


# --------------------------------------------------------------------------------------------------
# Values


@pytest.mark.parametrize("upload", UPLOADS)
def test_an_unknown_checksum_raises_value_error_naming_it(upload: str) -> None:
    store = obstore.store.MemoryStore()
    with pytest.raises(ValueError, match=r'checksum="crc33" is not a checksum algorithm'):
        UPLOADS[upload](store, "obj", DATA, checksum="crc33")
    with pytest.raises(FileNotFoundError):
        obstore.head(store, "obj")


@pytest.mark.parametrize("upload", UPLOADS)
def test_a_checksum_that_is_not_a_str_raises_type_error(upload: str) -> None:
    with pytest.raises(TypeError, match="checksum"):
        UPLOADS[upload](obstore.store.MemoryStore(), "obj", DATA, checksum=32)


@pytest.mark.parametrize(
    ("cls", "algorithm", "takes"),
    [
        ("S3Store", "md5", '"crc32c", "crc64nvme", "sha256"'),
        ("GCSStore", "sha256", '"crc32c", "md5"'),
        ("GCSStore", "crc64nvme", '"crc32c", "md5"'),
        ("AzureStore", "sha256", '"md5"'),
        ("AzureStore", "crc32c", '"md5"'),
    ],
)
@pytest.mark.parametrize("upload", UPLOADS)
def test_an_algorithm_the_store_cannot_send_raises_value_error_naming_it_and_the_choices(
    cls: str, algorithm: str, takes: str, upload: str
) -> None:
    # Raised before any request: the store points nowhere it could reach.
    store = getattr(obstore.store, cls)(**CREDENTIALS[cls])
    with pytest.raises(ValueError, match=rf'checksum="{algorithm}" .* by {cls}: it takes {takes}'):
        UPLOADS[upload](store, "obj", DATA, checksum=algorithm)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_an_http_store_refuses_an_upload_checksum(algorithm: ChecksumAlgorithm) -> None:
    store = obstore.store.HTTPStore.from_url(
        "http://127.0.0.1:9/dav", client_options={"allow_http": True}
    )
    with pytest.raises(ValueError, match=rf'checksum="{algorithm}" .* by HTTPStore'):
        obstore.put(store, "obj", DATA, checksum=algorithm)


@pytest.mark.parametrize("checksum", [*ALGORITHMS, None, "default", "SHA256"])
@pytest.mark.parametrize("upload", UPLOADS)
def test_the_in_process_stores_accept_every_checksum_and_keep_the_bytes(
    tmp_path: Path, checksum: str | None, upload: str
) -> None:
    for store in (obstore.store.MemoryStore(), obstore.store.LocalStore(tmp_path)):
        UPLOADS[upload](store, "obj", DATA, checksum=checksum)
        assert bytes(obstore.get(store, "obj").bytes()) == DATA


def test_the_store_methods_take_checksum() -> None:
    store = obstore.store.MemoryStore()
    store.put("obj", DATA, checksum="crc32c")
    asyncio.run(store.put_async("w", DATA, checksum=None))
    assert bytes(store.get("obj").bytes()) == bytes(store.get("w").bytes()) == DATA
    unknown: Any = "crc33"
    with pytest.raises(ValueError, match="crc33"):
        store.put("obj", DATA, checksum=unknown)


@pytest.mark.parametrize(
    ("checksum", "error", "named"),
    [("crc33", ValueError, 'checksum="crc33"'), (7, TypeError, "checksum must be a str")],
)
def test_the_transfer_functions_refuse_a_bad_checksum_before_any_transfer(
    tmp_path: Path, checksum: Any, error: type[Exception], named: str
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f").write_bytes(DATA)
    store = obstore.store.MemoryStore()
    with pytest.raises(error, match=named):
        obstore.transfer.copy(str(tmp_path / "src") + "/", (store, "dst/"), checksum=checksum)
    assert not obstore.list(store).collect()


@pytest.mark.parametrize("checksum", ["md5", None, "default"])
def test_the_transfer_functions_copy_to_an_in_process_store_with_any_checksum(
    tmp_path: Path, checksum: Any
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f").write_bytes(DATA)
    store = obstore.store.MemoryStore()
    report = obstore.transfer.copy(f"{tmp_path / 'src'}/", (store, "dst/"), checksum=checksum)
    assert report.transferred == 1 and not report.failed
    assert bytes(obstore.get(store, "dst/f").bytes()) == DATA


# --------------------------------------------------------------------------------------------------
# Against the servers


S3_KINDS = [kind for kind in ("s3-minio",) if kind in STORE_KINDS]
needs_minio = pytest.mark.skipif(not S3_KINDS, reason="s3-minio not selected")


@pytest.fixture
def minio(servers: Any, tmp_path: Path) -> Iterator[Proxied]:
    """MinIO behind a fault proxy, with a fresh prefix."""
    with behind_proxy(servers, "s3-minio", tmp_path) as proxied:
        yield proxied


@pytest.fixture
def gcs(servers: Any, tmp_path: Path) -> Iterator[Proxied]:
    """The GCS server behind a fault proxy, with a fresh prefix."""
    with behind_proxy(servers, "gcs", tmp_path) as proxied:
        yield proxied


@pytest.fixture
def azurite(servers: Any, tmp_path: Path) -> Iterator[Proxied]:
    """Azurite behind a fault proxy, with a fresh prefix."""
    with behind_proxy(servers, "azurite", tmp_path) as proxied:
        yield proxied


def _sent(proxied: Proxied, header: str, *, query: str = "", since: int = 0) -> list[str | None]:
    """The value of ``header`` on each upload request with a body that reached the proxy (PUT),
    in order, from request number ``since`` on; ``query`` keeps only requests whose target
    contains it."""
    values = []
    for seen in proxied.proxy.seen[since:]:
        if seen.method == "PUT" and query in seen.target:
            values.append({k.lower(): v for k, v in seen.headers}.get(header))
    return values


@needs_minio
@pytest.mark.parametrize("algorithm", ["sha256", "crc64nvme", "crc32c"])
@pytest.mark.parametrize("upload", UPLOADS)
def test_a_per_call_checksum_is_stored_by_minio_on_a_store_without_one(
    minio: Proxied, algorithm: str, upload: str
) -> None:
    store = minio.store(checksum_algorithm="none")
    UPLOADS[upload](store, "obj", DATA, checksum=algorithm)
    assert _sent(minio, f"x-amz-checksum-{algorithm}") == [expected_checksums(DATA)[algorithm]]
    assert obstore.head(store, "obj")["checksums"][algorithm] == expected_checksums(DATA)[algorithm]
    assert bytes(obstore.get(store, "obj").bytes()) == DATA
    # The store's own setting still holds for the calls that do not ask.
    mark = len(minio.proxy.seen)
    obstore.put(store, "plain", DATA)
    assert _sent(minio, f"x-amz-checksum-{algorithm}", since=mark) == [None]


@needs_minio
def test_checksum_none_sends_no_checksum_from_a_store_that_has_one(minio: Proxied) -> None:
    store = minio.store(checksum_algorithm="crc64nvme")
    obstore.put(store, "off", DATA, checksum=None)
    obstore.put(store, "default", DATA)
    obstore.put(store, "explicit", DATA, checksum="crc64nvme")
    crc = expected_checksums(DATA)["crc64nvme"]
    assert _sent(minio, "x-amz-checksum-crc64nvme") == [None, crc, crc]
    assert bytes(obstore.get(store, "off").bytes()) == DATA


@needs_minio
@pytest.mark.parametrize("algorithm", ["sha256", "crc64nvme", "crc32c"])
def test_a_byte_flipped_on_the_way_to_minio_is_refused_only_with_a_checksum(
    minio: Proxied, algorithm: ChecksumAlgorithm
) -> None:
    # An unsigned payload: the signature covers no hash of the body, so only the checksum
    # header can tell.
    store = minio.store(checksum_algorithm="none", unsigned_payload=True)
    direct = minio.store(through_proxy=False)
    minio.proxy.add(Rule(Flip(at=1234, request=True), method="PUT"))
    with pytest.raises(ChecksumMismatchError, match=r"put s3://\S+/checked"):
        obstore.put(store, "checked", DATA, checksum=algorithm)
    with pytest.raises(FileNotFoundError):
        obstore.head(direct, "checked")
    obstore.put(store, "unchecked", DATA, checksum=None)
    stored = bytes(obstore.get(direct, "unchecked", verify_checksum=False).bytes())
    assert stored != DATA and stored[:1234] == DATA[:1234]


@needs_minio
@pytest.mark.parametrize("algorithm", ["sha256", "crc32c"])
@pytest.mark.parametrize("upload", ["put", "open_writer", "open_writer_async"])
def test_every_part_of_a_minio_multipart_upload_carries_the_per_call_checksum(
    minio: Proxied, upload: str, algorithm: ChecksumAlgorithm
) -> None:
    store = minio.store(checksum_algorithm="none", unsigned_payload=True)
    size = {"buffer_size": 5 * MiB} if upload.startswith("open") else {"chunk_size": 5 * MiB}
    UPLOADS[upload](store, "whole", BIG, checksum=algorithm, **size)
    sent = _sent(minio, f"x-amz-checksum-{algorithm}", query="partNumber=")
    assert len(sent) == 3 and all(sent), sent
    assert bytes(obstore.get(store, "whole").bytes()) == BIG

    minio.proxy.add(Rule(Flip(at=77, request=True), method="PUT", query="partNumber=2"))
    with pytest.raises(ChecksumMismatchError, match=r"put s3://\S+/obj"):
        UPLOADS[upload](store, "obj", BIG, checksum=algorithm, **size)
    with pytest.raises(FileNotFoundError):
        obstore.head(minio.store(through_proxy=False), "obj")


@needs_minio
@pytest.mark.parametrize("algorithm", ["crc64nvme", "crc32c"])
def test_the_transfer_functions_send_the_checksum_with_their_uploads(
    minio: Proxied, tmp_path: Path, algorithm: ChecksumAlgorithm
) -> None:
    source = tmp_path / "tree"
    (source / "sub").mkdir(parents=True)
    (source / "a.bin").write_bytes(DATA)
    (source / "sub" / "b.bin").write_bytes(DATA[::-1])
    store = minio.store(checksum_algorithm="none", unsigned_payload=True)
    report = obstore.transfer.copy(f"{source}/", (store, "copied/"), checksum=algorithm)
    assert report.transferred == 2 and not report.failed
    sent = _sent(minio, f"x-amz-checksum-{algorithm}")
    assert sorted(str(s) for s in sent) == sorted(
        expected_checksums(data)[algorithm] for data in (DATA, DATA[::-1])
    )

    minio.proxy.add(Rule(Flip(at=100, request=True), method="PUT"))
    with pytest.raises(ChecksumMismatchError):
        obstore.transfer.copy(f"{source}/", (store, "again/"), checksum=algorithm, fail_fast=True)
    with pytest.raises(FileNotFoundError):
        obstore.head(minio.store(through_proxy=False), "again/a.bin")


@pytest.mark.parametrize("algorithm", ["crc32c", "md5"])
def test_a_per_call_gcs_checksum_is_checked_by_the_server(
    gcs: Proxied, algorithm: ChecksumAlgorithm
) -> None:
    store = gcs.store(checksum_algorithm="none")
    direct = gcs.store(through_proxy=False)
    obstore.put(store, "obj", DATA, checksum=algorithm)
    obstore.put(store, "plain", DATA)
    assert _sent(gcs, "x-goog-hash") == [f"{algorithm}={expected_checksums(DATA)[algorithm]}", None]
    assert bytes(obstore.get(direct, "obj").bytes()) == DATA

    gcs.proxy.add(Rule(Flip(at=1234, request=True), method="PUT"))
    with pytest.raises(ChecksumMismatchError, match=r"put gs://\S+/flipped: checksum mismatch"):
        obstore.put(store, "flipped", DATA, checksum=algorithm)
    with pytest.raises(FileNotFoundError):
        obstore.head(direct, "flipped")
    # Without a checksum the flipped byte is stored unnoticed.
    obstore.put(store, "unchecked", DATA)
    stored = bytes(obstore.get(direct, "unchecked", verify_checksum=False).bytes())
    assert stored != DATA and stored[:1234] == DATA[:1234]


def test_a_per_call_checksum_none_turns_off_the_gcs_stores_own(gcs: Proxied) -> None:
    store = gcs.store(checksum_algorithm="crc32c")
    obstore.put(store, "off", DATA, checksum=None)
    obstore.put(store, "on", DATA)
    assert _sent(gcs, "x-goog-hash") == [None, f"crc32c={expected_checksums(DATA)['crc32c']}"]


@pytest.mark.parametrize("upload", ["put", "open_writer_async"])
def test_every_part_of_a_gcs_multipart_upload_carries_the_per_call_checksum(
    gcs: Proxied, upload: str
) -> None:
    store = gcs.store(checksum_algorithm="none")
    size = {"buffer_size": 5 * MiB} if upload.startswith("open") else {"chunk_size": 5 * MiB}
    before = gcs_adapter_stats(gcs)
    UPLOADS[upload](store, "whole", BIG, checksum="crc32c", **size)
    sent = _sent(gcs, "x-goog-hash", query="partNumber=")
    assert len(sent) == 3 and all(s and s.startswith("crc32c=") for s in sent), sent
    assert bytes(obstore.get(store, "whole").bytes()) == BIG

    gcs.proxy.add(Rule(Flip(at=77, request=True), method="PUT", query="partNumber=2"))
    with pytest.raises(ChecksumMismatchError, match=r"put gs://\S+/obj: checksum mismatch"):
        UPLOADS[upload](store, "obj", BIG, checksum="crc32c", **size)
    with pytest.raises(FileNotFoundError):
        obstore.head(gcs.store(through_proxy=False), "obj")
    after = gcs_adapter_stats(gcs)
    assert after.get("bad_digests", 0) == before.get("bad_digests", 0) + 1


def test_a_per_call_md5_on_an_azure_store_keeps_the_bytes_and_sends_only_true_digests(
    azurite: Proxied,
) -> None:
    """A SharedKey-signed request can carry ``Content-MD5`` only if it is signed with it: what is
    sent, if anything, is the MD5 of the body; ``None`` sends none."""
    store = azurite.store(checksum_algorithm="none")
    obstore.put(store, "obj", DATA, checksum="md5")
    assert _sent(azurite, "content-md5") in ([None], [expected_checksums(DATA)["md5"]])
    assert bytes(obstore.get(store, "obj").bytes()) == DATA
    mark = len(azurite.proxy.seen)
    obstore.put(azurite.store(checksum_algorithm="md5"), "off", DATA, checksum=None)
    assert _sent(azurite, "content-md5", since=mark) == [None]
