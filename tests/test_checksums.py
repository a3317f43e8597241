"""End-to-end checksums, proven against the servers through a proxy that flips one byte.

* A download read whole (``bytes()``, a stream read to its end, ``get_parallel``) whose bytes
  differ from the checksum the server announced raises ``ChecksumMismatchError``;
  ``verify_checksum=False`` hands the bytes over unverified; ranged reads are not verified.
* ``head`` and ``GetResult.meta`` report the checksums the server stores, and they are the
  checksums of the bytes (computed here independently).
* An upload corrupted on its way is refused by the server and raises ``ChecksumMismatchError``,
  where the server can tell (S3: the signed payload hash and ``x-amz-checksum-*``, crc32c's
  included, see ``test_s3_crc32c.py``; GCS:
  ``x-goog-hash`` on every upload request with a body, a multipart upload's parts included;
  Azure: ``Content-MD5`` on every block, signed again with the account key, see
  ``test_azure_upload_checksum.py``), and nothing is stored.
* Bad checksum settings raise ``ValueError`` naming the setting and the value.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import random
import re
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import obstore
import obstore.store
from obstore.exceptions import BaseError, ChecksumMismatchError
from tests.servers import _http
from tests.servers.fault_proxy import FaultProxy, Flip, Rule

from .conftest import BACKENDS, STORE_KINDS

KiB = 1024
MiB = 1024 * KiB
DATA = random.Random(29).randbytes(256 * KiB)
#: moto is left out: it stores no checksum of a single-part upload, announces a 4-byte
#: "crc64nvme" for a multipart one, and checks neither the payload hash nor the checksums sent.
KINDS = [kind for kind in ("s3-minio", "azurite", "gcs") if kind in STORE_KINDS]


# --------------------------------------------------------------------------------------------------
# Independent checksums (bitwise, small inputs only)


def _crc_table(poly: int) -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C = _crc_table(0x82F63B78)
_CRC64NVME = _crc_table(0x9A6C9329AC4BC9B5)


def _crc(data: bytes, table: list[int], width: int) -> str:
    mask = (1 << width) - 1
    crc = mask
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return base64.b64encode((crc ^ mask).to_bytes(width // 8, "big")).decode()


def expected_checksums(data: bytes) -> dict[str, str]:
    return {
        "crc32c": _crc(data, _CRC32C, 32),
        "crc64nvme": _crc(data, _CRC64NVME, 64),
        "md5": base64.b64encode(hashlib.md5(data).digest()).decode(),  # noqa: S324
        "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
    }


def test_independent_checksums_match_the_standard_check_values() -> None:
    assert base64.b64decode(_crc(b"123456789", _CRC32C, 32)).hex() == "e3069283"
    assert base64.b64decode(_crc(b"123456789", _CRC64NVME, 64)).hex() == "ae8b14860a799888"


def test_checksum_mismatch_error_is_a_base_error() -> None:
    assert issubclass(ChecksumMismatchError, BaseError)


# --------------------------------------------------------------------------------------------------
# Settings


CREDENTIALS: dict[str, dict[str, Any]] = {
    "S3Store": {
        "bucket": "b",
        "region": "us-east-1",
        "access_key_id": "k",
        "secret_access_key": "s",
    },
    "GCSStore": {"bucket": "b", "bearer_token": "t"},  # placeholder token, nothing is sent
    "AzureStore": {"container_name": "c", "account_name": "a", "account_key": "a2V5"},
}


@pytest.mark.parametrize(
    ("cls", "algorithm"),
    [("S3Store", "md5"), ("GCSStore", "sha256"), ("AzureStore", "crc32c")],
)
def test_an_upload_checksum_the_service_cannot_take_raises_value_error(
    cls: str, algorithm: str
) -> None:
    store_class = getattr(obstore.store, cls)
    with pytest.raises(ValueError, match=rf"checksum_algorithm.*{algorithm}"):
        store_class(**CREDENTIALS[cls], checksum_algorithm=algorithm)


@pytest.mark.parametrize("cls", ["S3Store", "GCSStore", "AzureStore"])
def test_a_verify_checksum_setting_that_is_not_a_bool_raises_value_error(cls: str) -> None:
    store_class = getattr(obstore.store, cls)
    with pytest.raises(ValueError, match=r"verify_checksum.*maybe"):
        store_class(**CREDENTIALS[cls], verify_checksum="maybe")


@pytest.mark.parametrize("cls", ["S3Store", "GCSStore", "AzureStore"])
def test_checksum_settings_are_accepted_and_shown(cls: str) -> None:
    algorithm = {"S3Store": "sha256", "GCSStore": "md5", "AzureStore": "md5"}[cls]
    store_class = getattr(obstore.store, cls)
    store = store_class(**CREDENTIALS[cls], checksum_algorithm=algorithm, verify_checksum=False)
    assert store.config["checksum_algorithm"] == algorithm
    assert store.config["verify_checksum"] == "false"


def test_an_upload_checksum_can_be_turned_off_on_s3() -> None:
    store = obstore.store.S3Store(**CREDENTIALS["S3Store"], checksum_algorithm="none")
    assert store.config["checksum_algorithm"] == "none"


# --------------------------------------------------------------------------------------------------
# Against the servers, through the fault proxy


@dataclass
class Proxied:
    """One server kind, a fault proxy in front of it and a fresh prefix on it."""

    kind: str
    server: Any
    proxy: FaultProxy
    prefix: str
    tmp: Path

    def store(self, *, through_proxy: bool = True, **settings: Any) -> Any:
        """A store on the prefix, through the proxy unless told otherwise; explicit credentials."""
        kwargs = dict(self.server.store_kwargs)
        url = self.proxy.url if through_proxy else self.server.endpoint
        if self.kind == "gcs":
            # The GCS endpoint lives in the service account document.
            document = json.loads(Path(kwargs["service_account"]).read_text())
            document["gcs_base_url"] = url
            account = self.tmp / f"service-account-{uuid.uuid4().hex}.json"
            account.write_text(json.dumps(document))
            kwargs["service_account"] = str(account)
        else:
            kwargs["endpoint"] = kwargs["endpoint"].replace(self.server.endpoint, url, 1)
        kwargs["client_options"] = {**kwargs.get("client_options", {}), "allow_http": True}
        kwargs["retry_config"] = {"max_retries": 0}
        # The servers are custom endpoints: upload checksums are off unless configured.
        if self.kind.startswith("s3-"):
            settings.setdefault("checksum_algorithm", "crc64nvme")
        elif self.kind == "azurite":
            settings.setdefault("checksum_algorithm", "md5")
        cls = getattr(obstore.store, BACKENDS[self.kind].store_class)
        return cls(prefix=self.prefix, **kwargs, **settings)

    def object_path(self, name: str) -> str:
        """A regular expression matching the URL path of object ``name``, its punctuation plain
        or percent-encoded (GCS encodes the object name whole)."""
        text = f"{self.prefix}/{name}"
        return (
            "".join(c if c.isalnum() else f"(?:{re.escape(c)}|%{ord(c):02X})" for c in text) + "$"
        )


@contextlib.contextmanager
def behind_proxy(servers: Any, kind: str, tmp_path: Path) -> Iterator[Proxied]:
    """The server of ``kind`` behind a fresh fault proxy, with a fresh prefix; the test is
    skipped unless the kind is selected."""
    if kind not in STORE_KINDS:
        pytest.skip(f"{kind} not selected")
    server = servers.get(BACKENDS[kind].server)
    with FaultProxy(server.endpoint) as proxy:
        yield Proxied(kind, server, proxy, f"checksums-{uuid.uuid4().hex}", tmp_path)


@pytest.fixture(params=KINDS)
def proxied(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Proxied]:
    with behind_proxy(request.getfixturevalue("servers"), request.param, tmp_path) as proxied:
        yield proxied


pytestmark_servers = pytest.mark.skipif(not KINDS, reason="no checksum-capable server selected")


@pytestmark_servers
def test_head_and_get_report_the_checksums_of_the_stored_bytes(proxied: Proxied) -> None:
    store = proxied.store()
    obstore.put(store, "obj", DATA)
    expected = expected_checksums(DATA)
    checksums = obstore.head(store, "obj")["checksums"]
    assert checksums, f"{proxied.kind} announced no checksum"
    assert checksums == {name: expected[name] for name in checksums}
    result = obstore.get(store, "obj")
    assert result.meta["checksums"] == checksums
    assert result.bytes() == DATA


@pytestmark_servers
def test_azure_listings_report_each_blobs_stored_md5_and_other_listings_none(
    proxied: Proxied,
) -> None:
    """Azure's listing answer carries each blob's stored MD5: ``list`` and
    ``list_with_delimiter`` report it as ``head`` does (none for a blob stored from blocks,
    which has no MD5). S3's and GCS's listings name no checksum value: no ``checksums`` key."""
    store = proxied.store(through_proxy=False)
    small = DATA[:1000]
    obstore.put(store, "a.txt", DATA)
    obstore.put(store, "dir/b & c+d.txt", small)
    obstore.put(store, "blocks", DATA * 24, use_multipart=True, chunk_size=5 * MiB)
    listed = {meta["path"]: meta for chunk in obstore.list(store) for meta in chunk}
    assert set(listed) == {"a.txt", "dir/b & c+d.txt", "blocks"}
    delimited = obstore.list_with_delimiter(store, "dir")["objects"]
    assert [meta["path"] for meta in delimited] == ["dir/b & c+d.txt"]
    if proxied.kind != "azurite":
        assert all("checksums" not in meta for meta in [*listed.values(), *delimited])
        return

    def md5(data: bytes) -> str:
        return expected_checksums(data)["md5"]

    assert listed["a.txt"]["checksums"] == {"md5": md5(DATA)}
    assert listed["dir/b & c+d.txt"]["checksums"] == {"md5": md5(small)}
    assert delimited[0]["checksums"] == {"md5": md5(small)}
    for path, meta in listed.items():
        assert meta["checksums"] == obstore.head(store, path)["checksums"], path

    # A listing below a prefix given to the call, asynchronously too.
    async def list_async() -> list[Any]:
        return [m async for chunk in obstore.list(store, "dir") for m in chunk]

    assert [m["checksums"] for m in asyncio.run(list_async())] == [{"md5": md5(small)}]
    # Arrow listings keep their columns.
    batch = obstore.list(store, return_arrow=True).collect()
    assert "checksums" not in batch.schema.names


@pytestmark_servers
@pytest.mark.parametrize("read", ["bytes", "stream", "get_parallel", "bytes_async"])
def test_a_download_corrupted_in_transit_raises_checksum_mismatch(
    proxied: Proxied, read: str
) -> None:
    store = proxied.store()
    obstore.put(store, "obj", DATA)
    # Within the first part of get_parallel (whose first GET is of the whole object).
    rule = proxied.proxy.add(Rule(Flip(at=1000), method="GET", path=proxied.object_path("obj")))
    with pytest.raises(ChecksumMismatchError, match=r"checksum mismatch.*obj"):
        if read == "bytes":
            obstore.get(store, "obj").bytes()
        elif read == "stream":
            b"".join(bytes(chunk) for chunk in obstore.get(store, "obj").stream(16 * KiB))
        elif read == "get_parallel":
            obstore.get_parallel(store, "obj", chunk_size=64 * KiB, max_concurrency=4)
        else:
            import asyncio

            async def read_async() -> bytes:
                result = await obstore.get_async(store, "obj")
                return bytes(await result.bytes_async())

            asyncio.run(read_async())
    assert rule.applied >= 1


@pytestmark_servers
def test_verify_checksum_false_hands_over_the_bytes_unverified(proxied: Proxied) -> None:
    store = proxied.store()
    obstore.put(store, "obj", DATA)
    proxied.proxy.add(Rule(Flip(at=5), method="GET", path=proxied.object_path("obj")))
    got = bytes(obstore.get(store, "obj", verify_checksum=False).bytes())
    assert got != DATA
    assert got[:5] == DATA[:5] and got[6:] == DATA[6:]


@pytestmark_servers
def test_a_store_with_verify_checksum_false_does_not_verify(proxied: Proxied) -> None:
    store = proxied.store(verify_checksum=False)
    obstore.put(store, "obj", DATA)
    proxied.proxy.add(Rule(Flip(at=5), method="GET", path=proxied.object_path("obj")))
    assert bytes(obstore.get(store, "obj").bytes()) != DATA


@pytestmark_servers
def test_a_ranged_read_is_not_verified(proxied: Proxied) -> None:
    store = proxied.store()
    obstore.put(store, "obj", DATA)
    proxied.proxy.add(Rule(Flip(at=0), method="GET", path=proxied.object_path("obj")))
    got = bytes(obstore.get_range(store, "obj", start=10, end=20))
    assert got[0] == DATA[10] ^ 0xFF and got[1:] == DATA[11:20]


@pytestmark_servers
def test_an_intact_download_passes_verification(proxied: Proxied) -> None:
    store = proxied.store()
    obstore.put(store, "obj", DATA)
    assert bytes(obstore.get(store, "obj").bytes()) == DATA
    chunks = obstore.get(store, "obj").stream(16 * KiB)
    assert b"".join(bytes(c) for c in chunks) == DATA
    assert bytes(obstore.get_parallel(store, "obj", chunk_size=64 * KiB)) == DATA


@pytestmark_servers
def test_an_upload_corrupted_in_transit_is_refused_and_nothing_is_stored(
    proxied: Proxied,
) -> None:
    store = proxied.store()
    rule = proxied.proxy.add(Rule(Flip(at=1234, request=True), method="PUT"))
    with pytest.raises(ChecksumMismatchError, match=r"put \S+/obj: checksum mismatch"):
        obstore.put(store, "obj", DATA)
    assert rule.applied == 1
    with pytest.raises(FileNotFoundError):
        obstore.head(proxied.store(through_proxy=False), "obj")


S3_KINDS = [kind for kind in KINDS if kind.startswith("s3-")]


@pytest.mark.skipif(not S3_KINDS, reason="no S3 server selected")
@pytest.mark.parametrize("algorithm", ["crc64nvme", "sha256", "crc32c", "none"])
def test_an_s3_upload_corrupted_in_transit_is_refused(
    servers: Any, tmp_path: Path, algorithm: str
) -> None:
    for kind in S3_KINDS:
        with behind_proxy(servers, kind, tmp_path) as proxied:
            proxy = proxied.proxy
            store = proxied.store(checksum_algorithm=algorithm)
            proxy.add(Rule(Flip(at=1234, request=True), method="PUT"))
            with pytest.raises(ChecksumMismatchError):
                obstore.put(store, "obj", DATA)
            with pytest.raises(FileNotFoundError):
                obstore.head(proxied.store(through_proxy=False), "obj")


@pytest.mark.skipif(not S3_KINDS, reason="no S3 server selected")
def test_an_s3_multipart_upload_with_a_corrupted_part_is_refused(
    servers: Any, tmp_path: Path
) -> None:
    data = random.Random(31).randbytes(11 * MiB)
    for kind in S3_KINDS:
        with behind_proxy(servers, kind, tmp_path) as proxied:
            proxy = proxied.proxy
            store = proxied.store()
            obstore.put(store, "whole", data, use_multipart=True, chunk_size=5 * MiB)
            assert bytes(obstore.get(store, "whole").bytes()) == data
            proxy.add(Rule(Flip(at=77, request=True), method="PUT", query="partNumber=2"))
            with pytest.raises(ChecksumMismatchError):
                obstore.put(store, "obj", data, use_multipart=True, chunk_size=5 * MiB)


@pytest.fixture
def gcs(servers: Any, tmp_path: Path) -> Iterator[Proxied]:
    """The GCS server behind a fault proxy, with a fresh prefix."""
    with behind_proxy(servers, "gcs", tmp_path) as proxied:
        yield proxied


def gcs_adapter_stats(gcs: Proxied) -> dict[str, int]:
    status, _, body = _http.request("GET", gcs.server.extra["stats_url"])
    assert status == 200
    stats: dict[str, int] = json.loads(body)
    return stats


def test_a_gcs_upload_carries_the_crc32c_of_its_bytes(gcs: Proxied) -> None:
    obstore.put(gcs.store(checksum_algorithm="crc32c"), "obj", DATA)
    obstore.put(gcs.store(checksum_algorithm="md5"), "obj-md5", DATA)
    obstore.put(gcs.store(), "obj-default", DATA)
    sent = {
        urllib.parse.unquote(seen.target.split("?")[0]).rsplit("/", 1)[-1]: dict(seen.headers).get(
            "x-goog-hash"
        )
        for seen in gcs.proxy.seen
        if seen.method == "PUT"
    }
    expected = expected_checksums(DATA)
    assert sent["obj"] == f"crc32c={expected['crc32c']}"
    assert sent["obj-md5"] == f"md5={expected['md5']}"
    # The service account names a custom endpoint the store cannot see: the cloud default holds.
    assert sent["obj-default"] == f"crc32c={expected['crc32c']}"


@pytest.mark.parametrize("algorithm", ["crc32c", "md5"])
def test_a_gcs_upload_corrupted_in_transit_is_refused_and_nothing_is_stored(
    gcs: Proxied, algorithm: str
) -> None:
    store = gcs.store(checksum_algorithm=algorithm)
    direct = gcs.store(through_proxy=False)
    kept = random.Random(37).randbytes(len(DATA))
    obstore.put(store, "kept", kept)
    gcs.proxy.add(Rule(Flip(at=1234, request=True), method="PUT"))
    for name in ("new", "kept"):
        with pytest.raises(
            ChecksumMismatchError, match=rf"put gs://\S+/{name}: checksum mismatch"
        ) as e:
            obstore.put(store, name, DATA)
        assert (e.value.status, e.value.code) == (400, "BadDigest")
        assert f"x-goog-hash {algorithm}=" in str(e.value)
    with pytest.raises(FileNotFoundError):
        obstore.head(direct, "new")
    # A refused overwrite leaves the object that was there.
    assert bytes(obstore.get(direct, "kept").bytes()) == kept


def test_a_gcs_multipart_upload_with_a_corrupted_part_is_refused_and_nothing_is_stored(
    gcs: Proxied,
) -> None:
    data = random.Random(31).randbytes(11 * MiB)
    store = gcs.store(checksum_algorithm="crc32c")
    # Every part carries its crc32c: an intact multipart upload passes the server's check.
    before = gcs_adapter_stats(gcs)
    obstore.put(store, "whole", data, use_multipart=True, chunk_size=5 * MiB)
    assert bytes(obstore.get(store, "whole").bytes()) == data
    after = gcs_adapter_stats(gcs)
    assert after["multipart_completed"] == before["multipart_completed"] + 1
    assert after.get("bad_digests", 0) == before.get("bad_digests", 0)

    gcs.proxy.add(Rule(Flip(at=77, request=True), method="PUT", query="partNumber=2"))
    with pytest.raises(ChecksumMismatchError, match=r"put gs://\S+/obj: checksum mismatch"):
        obstore.put(store, "obj", data, use_multipart=True, chunk_size=5 * MiB)
    with pytest.raises(FileNotFoundError):
        obstore.head(gcs.store(through_proxy=False), "obj")
    refused = gcs_adapter_stats(gcs)
    assert refused.get("bad_digests", 0) == after.get("bad_digests", 0) + 1
    assert refused["multipart_completed"] == after["multipart_completed"]


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


BODY = b"The quick brown fox jumps over the lazy dog"
BODY_CRC32C = expected_checksums(BODY)["crc32c"]
BODY_MD5 = expected_checksums(BODY)["md5"]
WRONG_MD5 = _b64(hashlib.md5(b"another body").digest())  # noqa: S324


@pytest.mark.parametrize(
    ("headers", "status", "code", "named"),
    [
        ({"x-goog-hash": f"crc32c={BODY_CRC32C},md5={BODY_MD5}"}, 200, None, None),
        ({"x-goog-hash": f"crc32c={BODY_CRC32C}", "Content-MD5": BODY_MD5}, 200, None, None),
        ({"x-goog-hash": "crc32c=AAAAAA=="}, 400, "BadDigest", "crc32c=AAAAAA=="),
        ({"x-goog-hash": f"crc32c={BODY_CRC32C},md5={WRONG_MD5}"}, 400, "BadDigest", WRONG_MD5),
        ({"Content-MD5": WRONG_MD5}, 400, "BadDigest", WRONG_MD5),
        ({"x-goog-hash": "crc32c=not base64"}, 400, "InvalidDigest", "not base64"),
        ({"x-goog-hash": f"crc32c={BODY_MD5}"}, 400, "InvalidDigest", BODY_MD5),
        ({"x-goog-hash": "sha256=AAAA"}, 400, "InvalidDigest", "sha256=AAAA"),
    ],
)
def test_the_gcs_test_server_checks_upload_digests_as_gcs_does(
    gcs: Proxied, headers: dict[str, str], status: int, code: str | None, named: str | None
) -> None:
    """The GCS test server answers an upload whose digest does not match its bytes with
    ``400 BadDigest`` and one whose digest is malformed with ``400 InvalidDigest``, naming the
    value, and stores nothing; matching digests store the object."""
    url = f"{gcs.server.endpoint}/{gcs.server.bucket}/{gcs.prefix}/obj"
    got, _, answer = _http.request("PUT", url, body=BODY, headers=headers)
    assert got == status, answer
    stored, _, body = _http.request("GET", url)
    if code is None:
        assert (stored, body) == (200, BODY)
    else:
        assert f"<Code>{code}</Code>".encode() in answer
        assert named is not None and named.encode() in answer
        assert stored == 404
