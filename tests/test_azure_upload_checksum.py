"""Azure uploads signed with an account key carry a ``Content-MD5`` the server checks.

The SharedKey signature covers ``Content-MD5``; the store adds the header after ``object_store``
signs and signs the request again with its key. Proven on Azurite through a proxy that records
the requests and flips one byte of a request body:

* with ``checksum_algorithm="md5"``, a put, a multipart put and a buffered writer send the MD5 of
  every body (Put Blob, each Put Block, the Put Block List), the server accepts the signatures,
  and the bytes round-trip;
* a byte flipped on the way is refused (``400 Md5Mismatch``) and raises
  ``ChecksumMismatchError`` naming the path; nothing is stored, an object already there stays;
* without the setting (a custom endpoint), or with a credential provider's key, nothing is added.
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import obstore
import obstore.store
from obstore.exceptions import ChecksumMismatchError
from obstore.store import AzureCredential
from tests.servers.fault_proxy import Flip, Rule, Seen

from .conftest import STORE_KINDS
from .test_checksums import Proxied, behind_proxy

KiB = 1024
MiB = 1024 * KiB
DATA = random.Random(41).randbytes(256 * KiB)
BIG = random.Random(43).randbytes(11 * MiB)
PART = 5 * MiB

pytestmark = pytest.mark.skipif("azurite" not in STORE_KINDS, reason="azurite not selected")


def md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()  # noqa: S324


def content_md5(seen: Seen) -> str | None:
    return next((v for k, v in seen.headers if k.lower() == "content-md5"), None)


def puts(azurite: Proxied) -> list[Seen]:
    return [seen for seen in azurite.proxy.seen if seen.method == "PUT"]


def through_proxy(azurite: Proxied) -> dict[str, Any]:
    """The server's store settings with the endpoint on the proxy and no checksum setting
    (``Proxied.store`` sets ``checksum_algorithm="md5"`` unless told otherwise)."""
    kwargs = dict(azurite.server.store_kwargs)
    kwargs["endpoint"] = kwargs["endpoint"].replace(azurite.server.endpoint, azurite.proxy.url)
    kwargs["retry_config"] = {"max_retries": 0}
    return kwargs


@pytest.fixture
def azurite(servers: Any, tmp_path: Path) -> Iterator[Proxied]:
    """Azurite behind a fault proxy, with a fresh prefix."""
    with behind_proxy(servers, "azurite", tmp_path) as proxied:
        yield proxied


def test_a_put_sends_the_md5_of_its_bytes_and_the_blob_keeps_it(azurite: Proxied) -> None:
    store = azurite.store(checksum_algorithm="md5")
    obstore.put(store, "obj", DATA)
    [sent] = puts(azurite)
    assert content_md5(sent) == md5(DATA)
    assert obstore.head(store, "obj")["checksums"] == {"md5": md5(DATA)}
    result = obstore.get(store, "obj")
    assert result.meta["checksums"] == {"md5": md5(DATA)}
    assert bytes(result.bytes()) == DATA


@pytest.mark.parametrize("upload", ["put", "writer"])
def test_a_multipart_upload_sends_the_md5_of_every_block_and_round_trips(
    azurite: Proxied, upload: str
) -> None:
    store = azurite.store(checksum_algorithm="md5")
    if upload == "put":
        obstore.put(store, "obj", BIG, use_multipart=True, chunk_size=PART)
    else:
        with obstore.open_writer(store, "obj", buffer_size=PART) as writer:
            for start in range(0, len(BIG), 1 * MiB):
                writer.write(BIG[start : start + 1 * MiB])
    assert bytes(obstore.get(store, "obj").bytes()) == BIG
    blocks = [seen for seen in puts(azurite) if "comp=block&" in seen.target]
    assert len(blocks) >= 2
    # Each block's MD5 is that of a run of the data starting at a part boundary.
    sent = {content_md5(seen) for seen in blocks}
    expected = {
        md5(BIG[start : start + size])
        for start in range(0, len(BIG), PART)
        for size in (PART, len(BIG) - start)
    }
    assert None not in sent and sent <= expected
    [block_list] = [seen for seen in puts(azurite) if "comp=blocklist" in seen.target]
    assert content_md5(block_list) is not None


def test_a_put_corrupted_in_transit_is_refused_and_stores_nothing(azurite: Proxied) -> None:
    store = azurite.store(checksum_algorithm="md5")
    direct = azurite.store(through_proxy=False)
    kept = random.Random(47).randbytes(len(DATA))
    obstore.put(store, "kept", kept)
    rule = azurite.proxy.add(Rule(Flip(at=1234, request=True), method="PUT"))
    for name in ("new", "kept"):
        with pytest.raises(
            ChecksumMismatchError, match=rf"put az://\S+/{name}: checksum mismatch"
        ) as e:
            obstore.put(store, name, DATA)
        assert (e.value.status, e.value.code) == (400, "Md5Mismatch")
    assert rule.applied == 2
    with pytest.raises(FileNotFoundError):
        obstore.head(direct, "new")
    # A refused overwrite leaves the blob that was there.
    assert bytes(obstore.get(direct, "kept").bytes()) == kept


def test_a_multipart_upload_with_a_corrupted_block_is_refused_and_stores_nothing(
    azurite: Proxied,
) -> None:
    store = azurite.store(checksum_algorithm="md5")
    rule = azurite.proxy.add(Rule(Flip(at=77, request=True), method="PUT", query="comp=block&"))
    with pytest.raises(ChecksumMismatchError, match=r"put az://\S+/obj: checksum mismatch"):
        obstore.put(store, "obj", BIG, use_multipart=True, chunk_size=PART)
    assert rule.applied >= 1
    with pytest.raises(FileNotFoundError):
        obstore.head(azurite.store(through_proxy=False), "obj")


def test_the_emulator_key_signs_the_checksum_too(
    azurite: Proxied, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``use_emulator=True`` with no key: the store signs with the emulator's well-known key."""
    monkeypatch.setenv("AZURITE_BLOB_STORAGE_URL", azurite.proxy.url)
    store = obstore.store.AzureStore(
        azurite.server.store_kwargs["container_name"],
        prefix=azurite.prefix,
        use_emulator=True,
        checksum_algorithm="md5",
        retry_config={"max_retries": 0},
    )
    obstore.put(store, "obj", DATA)
    assert content_md5(puts(azurite)[0]) == md5(DATA)
    azurite.proxy.add(Rule(Flip(at=9, request=True), method="PUT"))
    with pytest.raises(ChecksumMismatchError, match=r"put az://\S+/other: checksum mismatch"):
        obstore.put(store, "other", DATA)
    assert bytes(obstore.get(store, "obj").bytes()) == DATA


@pytest.mark.parametrize("setting", [{}, {"checksum_algorithm": "none"}])
def test_without_the_setting_an_upload_to_a_custom_endpoint_carries_no_md5(
    azurite: Proxied, setting: dict[str, Any]
) -> None:
    store = obstore.store.AzureStore(prefix=azurite.prefix, **through_proxy(azurite), **setting)
    obstore.put(store, "obj", DATA)
    obstore.put(store, "big", BIG, use_multipart=True, chunk_size=PART)
    assert [content_md5(seen) for seen in puts(azurite)] == [None] * len(puts(azurite))
    assert bytes(obstore.get(store, "obj").bytes()) == DATA
    assert bytes(obstore.get(store, "big").bytes()) == BIG


def test_an_upload_signed_with_a_credential_providers_key_is_sent_unchanged(
    azurite: Proxied,
) -> None:
    """A provider's key may change from one call to the next: its requests are not signed
    again, and go out without the header rather than with a signature that does not match."""
    kwargs = through_proxy(azurite)
    key = kwargs.pop("account_key")

    def provider() -> AzureCredential:
        return {"access_key": key, "expires_at": None}

    store = obstore.store.AzureStore(
        prefix=azurite.prefix,
        **kwargs,
        checksum_algorithm="md5",
        credential_provider=provider,
    )
    obstore.put(store, "obj", DATA)
    [sent] = puts(azurite)
    assert content_md5(sent) is None
    assert bytes(obstore.get(store, "obj").bytes()) == DATA
