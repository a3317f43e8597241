"""S3 ``crc32c`` upload checksums, proven against MinIO through the fault proxy.

``object_store`` sends and signs only ``sha256`` and ``crc64nvme``; ``crc32c`` is added by the
store's connector, which then signs the request again with the store's own credential:

* a single-part upload carries ``x-amz-checksum-crc32c`` and the object is stored with it;
* a multipart upload declares ``CRC32C`` when it is created, each part carries its checksum and
  the completion lists them: the object gets S3's composite checksum (the CRC32C of the parts'
  CRC32Cs, ``-<parts>``), which is not a checksum of its bytes, so a download of it is not
  verified (and not reported as a mismatch);
* the payload-signing mode is kept (a signed payload stays signed, ``UNSIGNED-PAYLOAD`` stays
  unsigned), whatever the credential's source;
* a byte flipped on the way up is refused (``ChecksumMismatchError``) and nothing is stored.

moto takes the requests but checks no checksum and stores none that can be checked: the uploads
round-trip there, nothing more.
"""

from __future__ import annotations

import asyncio
import base64
import random
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import obstore
import obstore.exceptions
import obstore.store
from obstore.exceptions import ChecksumMismatchError
from obstore.store import S3Credential
from tests.servers.fault_proxy import Flip, Rule

from .test_checksum_per_call import _sent
from .test_checksums import Proxied, behind_proxy, expected_checksums

KiB = 1024
MiB = 1024 * KiB
DATA = random.Random(47).randbytes(64 * KiB)
BIG = random.Random(53).randbytes(11 * MiB)
PART = 5 * MiB

payload_modes = pytest.mark.parametrize(
    "unsigned", [False, True], ids=["signed-payload", "unsigned-payload"]
)


@pytest.fixture
def minio(servers: Any, tmp_path: Path) -> Iterator[Proxied]:
    """MinIO behind a fault proxy, with a fresh prefix."""
    with behind_proxy(servers, "s3-minio", tmp_path) as proxied:
        yield proxied


def crc32c(data: bytes) -> str:
    return expected_checksums(data)["crc32c"]


def composite_crc32c(data: bytes, part_size: int) -> str:
    """S3's checksum of a multipart object: the CRC32C of its parts' CRC32Cs, ``-<parts>``."""
    parts = [data[i : i + part_size] for i in range(0, len(data), part_size)]
    digests = b"".join(base64.b64decode(crc32c(part)) for part in parts)
    return f"{crc32c(digests)}-{len(parts)}"


def stored_checksum(proxied: Proxied, name: str) -> tuple[str | None, str | None]:
    """The CRC32C MinIO keeps for object ``name`` and its type, asked of MinIO itself."""
    head = proxied.server.s3_client().head_object(
        Bucket=proxied.server.bucket, Key=f"{proxied.prefix}/{name}", ChecksumMode="ENABLED"
    )
    return head.get("ChecksumCRC32C"), head.get("ChecksumType")


def header_of(proxied: Proxied, method: str, query: str, header: str) -> list[str | None]:
    """``header`` of each request of ``method`` whose target contains ``query``."""
    return [
        {k.lower(): v for k, v in seen.headers}.get(header)
        for seen in proxied.proxy.seen
        if seen.method == method and query in seen.target
    ]


def part_checksums(proxied: Proxied) -> dict[int, str | None]:
    """The ``x-amz-checksum-crc32c`` of each part sent (the parts go up concurrently)."""
    found = {}
    for seen in proxied.proxy.seen:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(seen.target).query)
        if seen.method == "PUT" and "partNumber" in query:
            headers = {k.lower(): v for k, v in seen.headers}
            found[int(query["partNumber"][0])] = headers.get("x-amz-checksum-crc32c")
    return found


def put(store: Any, path: str, data: bytes, **kwargs: Any) -> None:
    obstore.put(store, path, data, **kwargs)


def write(store: Any, path: str, data: bytes, **kwargs: Any) -> None:
    with obstore.open_writer(store, path, buffer_size=PART, **kwargs) as writer:
        writer.write(data)


def write_async(store: Any, path: str, data: bytes, **kwargs: Any) -> None:
    async def run() -> None:
        async with obstore.open_writer_async(store, path, buffer_size=PART, **kwargs) as writer:
            await writer.write(data)

    asyncio.run(run())


def put_multipart(store: Any, path: str, data: bytes, **kwargs: Any) -> None:
    obstore.put(store, path, data, use_multipart=True, chunk_size=PART, **kwargs)


MULTIPART = {"put": put_multipart, "open_writer": write, "open_writer_async": write_async}


@payload_modes
def test_a_crc32c_store_stores_each_object_with_its_crc32c(minio: Proxied, unsigned: bool) -> None:
    store = minio.store(checksum_algorithm="crc32c", unsigned_payload=unsigned)
    assert store.config["checksum_algorithm"] == "crc32c"
    obstore.put(store, "obj", DATA)
    obstore.put(store, "empty", b"")
    assert _sent(minio, "x-amz-checksum-crc32c") == [crc32c(DATA), crc32c(b"")]
    payload = header_of(minio, "PUT", "", "x-amz-content-sha256")
    assert all((p == "UNSIGNED-PAYLOAD") == unsigned for p in payload), payload
    assert stored_checksum(minio, "obj") == (crc32c(DATA), "FULL_OBJECT")
    assert obstore.head(store, "obj")["checksums"] == {"crc32c": crc32c(DATA)}
    assert obstore.head(store, "empty")["checksums"] == {"crc32c": "AAAAAA=="}
    # Downloads are verified against it.
    assert bytes(obstore.get(store, "obj").bytes()) == DATA
    minio.proxy.add(Rule(Flip(at=100), method="GET", path=minio.object_path("obj")))
    with pytest.raises(ChecksumMismatchError, match=r"crc32c"):
        obstore.get(store, "obj").bytes()


@payload_modes
@pytest.mark.parametrize("upload", MULTIPART)
def test_each_part_of_a_multipart_upload_carries_its_crc32c_and_the_completion_lists_them(
    minio: Proxied, unsigned: bool, upload: str
) -> None:
    store = minio.store(checksum_algorithm="crc32c", unsigned_payload=unsigned)
    MULTIPART[upload](store, "big", BIG)
    assert header_of(minio, "POST", "uploads", "x-amz-checksum-algorithm") == ["CRC32C"]
    parts = [BIG[i : i + PART] for i in range(0, len(BIG), PART)]
    assert part_checksums(minio) == {n: crc32c(p) for n, p in enumerate(parts, 1)}
    # MinIO accepted the completion only with every part's checksum, and composed them.
    assert stored_checksum(minio, "big") == (composite_crc32c(BIG, PART), "COMPOSITE")
    # A composite checksum is not a checksum of the bytes: not announced, not verified.
    assert obstore.head(store, "big")["checksums"] == {}
    assert bytes(obstore.get(store, "big").bytes()) == BIG
    # So a byte flipped on the way down is not detected (what a ranged read gets too).
    minio.proxy.add(Rule(Flip(at=100), method="GET", path=minio.object_path("big")))
    got = bytes(obstore.get(store, "big").bytes())
    assert got[100] == BIG[100] ^ 0xFF


@payload_modes
@pytest.mark.parametrize("upload", ["single", *MULTIPART])
def test_a_byte_flipped_on_the_way_up_is_refused_and_nothing_is_stored(
    minio: Proxied, unsigned: bool, upload: str
) -> None:
    store = minio.store(checksum_algorithm="crc32c", unsigned_payload=unsigned)
    if upload == "single":
        minio.proxy.add(Rule(Flip(at=1234, request=True), method="PUT"))
        with pytest.raises(ChecksumMismatchError, match=r"put s3://\S+/obj"):
            obstore.put(store, "obj", DATA)
    else:
        minio.proxy.add(Rule(Flip(at=77, request=True), method="PUT", query="partNumber=2"))
        with pytest.raises(ChecksumMismatchError, match=r"put s3://\S+/obj"):
            MULTIPART[upload](store, "obj", BIG)
    with pytest.raises(FileNotFoundError):
        obstore.head(minio.store(through_proxy=False), "obj")


def test_a_store_with_a_credential_provider_signs_its_crc32c_uploads(minio: Proxied) -> None:
    kwargs = dict(minio.server.store_kwargs)
    key_id, secret = kwargs.pop("access_key_id"), kwargs.pop("secret_access_key")
    calls = []

    def provider() -> S3Credential:
        # Within the refresh threshold: fetched again for every signature. The connector signs
        # once, after it has added the checksum header.
        calls.append(1)
        expires = datetime.now(UTC) + timedelta(minutes=1)
        return {"access_key_id": key_id, "secret_access_key": secret, "expires_at": expires}

    kwargs["endpoint"] = minio.proxy.url
    store = obstore.store.S3Store(
        **{**kwargs, "client_options": {**kwargs["client_options"], "allow_http": True}},
        prefix=minio.prefix,
        credential_provider=provider,
        checksum_algorithm="crc32c",
    )
    obstore.put(store, "obj", DATA)
    assert len(calls) == 1
    put_multipart(store, "big", BIG)
    assert stored_checksum(minio, "obj") == (crc32c(DATA), "FULL_OBJECT")
    assert stored_checksum(minio, "big") == (composite_crc32c(BIG, PART), "COMPOSITE")


@pytest.mark.parametrize("algorithm", ["crc32c", "crc64nvme"])
def test_copies_on_a_store_with_an_upload_checksum(minio: Proxied, algorithm: str) -> None:
    store = minio.store(checksum_algorithm=algorithm)
    obstore.put(store, "src", DATA)
    obstore.copy(store, "src", "copied")
    assert bytes(obstore.get(store, "copied").bytes()) == DATA
    # copy_if_not_exists="multipart" copies into a multipart upload created with the checksum,
    # whose part MinIO copies without computing one: it refuses to complete it, for crc32c as
    # for object_store's own crc64nvme (S3 computes the copied part's checksum and returns it,
    # which the completion then lists).
    with pytest.raises(obstore.exceptions.GenericError, match="checksum missing"):
        obstore.copy(store, "src", "dst", overwrite=False)
    with pytest.raises(FileNotFoundError):
        obstore.head(store, "dst")


def test_a_per_call_crc32c_on_a_store_with_another_checksum(minio: Proxied) -> None:
    store = minio.store(checksum_algorithm="sha256")
    obstore.put(store, "obj", DATA, checksum="crc32c")
    obstore.put(store, "sha", DATA)
    assert _sent(minio, "x-amz-checksum-crc32c") == [crc32c(DATA), None]
    assert _sent(minio, "x-amz-checksum-sha256") == [None, expected_checksums(DATA)["sha256"]]
    assert obstore.head(store, "obj")["checksums"] == {"crc32c": crc32c(DATA)}


def test_the_environment_setting_chooses_crc32c(
    minio: Proxied, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_CHECKSUM_ALGORITHM", "CRC32C")
    store = _store_without_setting(minio)
    obstore.put(store, "obj", DATA)
    assert stored_checksum(minio, "obj") == (crc32c(DATA), "FULL_OBJECT")


def _store_without_setting(proxied: Proxied) -> Any:
    kwargs = dict(proxied.server.store_kwargs)
    kwargs["endpoint"] = proxied.proxy.url
    kwargs["client_options"] = {**kwargs["client_options"], "allow_http": True}
    return obstore.store.S3Store(**kwargs, prefix=proxied.prefix)


@pytest.mark.parametrize("upload", ["put", "multipart"])
def test_crc32c_uploads_round_trip_on_moto(servers: Any, tmp_path: Path, upload: str) -> None:
    with behind_proxy(servers, "s3-moto", tmp_path) as moto:
        store = moto.store(checksum_algorithm="crc32c")
        data = BIG if upload == "multipart" else DATA
        (put_multipart if upload == "multipart" else put)(store, "obj", data)
        assert bytes(obstore.get(store, "obj").bytes()) == data
        assert all(_sent(moto, "x-amz-checksum-crc32c"))
