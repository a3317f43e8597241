"""``FsspecStore.info`` and ``ls`` answered from fsspec's listings cache, against MinIO and Azurite.

The filesystem talks to the server through a pass-through ``FaultProxy``, which records every
request it forwards: "no request" below means the proxy saw none. Answers from the cache must also
build no store, so the filesystem's ``_construct_store`` is made to fail while they are checked
(without a store there is no request either). Writes and deletes through the filesystem must leave
no stale listing behind; writes by someone else are seen after ``refresh=True`` or
``invalidate_cache``, as with every fsspec filesystem that caches listings.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

pytest.importorskip("fsspec")

import obstore  # noqa: E402
from obstore.fsspec import FsspecStore  # noqa: E402
from tests.servers.fault_proxy import Drip, FaultProxy, Rule  # noqa: E402

from ._helpers import split_store_kwargs  # noqa: E402

#: fsspec protocol and the query string of a listing request, per server kind
PROTOCOL = {"minio": "s3", "azurite": "az"}
LIST_QUERY = {"minio": r"list-type=2", "azurite": r"comp=list"}


@dataclass
class Counted:
    """A filesystem on one server whose requests all pass through ``proxy``."""

    kind: str
    server: Any
    proxy: FaultProxy
    #: ``bucket/prefix``: the directory of this test's objects
    root: str
    kwargs: dict[str, Any]

    def fs(self, **options: Any) -> FsspecStore:
        return FsspecStore(PROTOCOL[self.kind], skip_instance_cache=True, **self.kwargs, **options)

    def requests(self) -> list[tuple[str, str]]:
        """``(method, target)`` of every request so far."""
        return [(seen.method, seen.target) for seen in self.proxy.seen]

    def direct_store(self) -> Any:
        """A store that talks to the server directly (a writer other than the filesystem)."""
        return self.server.store()


@pytest.fixture(params=["minio", "azurite"])
def counted(request: pytest.FixtureRequest, unique: str) -> Iterator[Counted]:
    kind = request.param
    server = request.getfixturevalue(kind)
    bucket, kwargs = split_store_kwargs(server)
    with FaultProxy(server.endpoint) as proxy:
        kwargs["endpoint"] = kwargs["endpoint"].replace(server.endpoint, proxy.url, 1)
        yield Counted(kind, server, proxy, f"{bucket}/{unique}", kwargs)


def _fill(fs: FsspecStore, root: str) -> None:
    fs.pipe({f"{root}/dir/a.txt": b"alpha", f"{root}/dir/sub/b.txt": b"bravo!"})


def _no_store(*args: Any) -> NoReturn:
    raise AssertionError("built or fetched a store: the cache should have answered")


def test_info_after_ls_makes_no_request(counted: Counted, monkeypatch: pytest.MonkeyPatch) -> None:
    fs = counted.fs()
    root = counted.root
    _fill(fs, root)
    listed = {entry["name"]: entry for entry in fs.ls(f"{root}/dir", detail=True)}
    assert sorted(listed) == [f"{root}/dir/a.txt", f"{root}/dir/sub"]
    before = counted.requests()
    with monkeypatch.context() as patch:
        patch.setattr(fs, "_construct_store", _no_store)
        info = fs.info(f"{root}/dir/a.txt")
        assert info == listed[f"{root}/dir/a.txt"]
        assert info["type"] == "file" and info["size"] == 5 and info["e_tag"]
        # a directory entry of the cached listing, with and without a trailing slash
        for path in (f"{root}/dir/sub", f"{root}/dir/sub/"):
            assert fs.info(path) == {"name": f"{root}/dir/sub", "size": 0, "type": "directory"}
        # the cached directory itself, with and without a trailing slash
        for path in (f"{root}/dir", f"{root}/dir/", f"{PROTOCOL[counted.kind]}://{root}/dir/"):
            assert fs.info(path) == {"name": f"{root}/dir", "size": 0, "type": "directory"}
        # a child the cached listing does not hold
        for path in (f"{root}/dir/missing.txt", f"{root}/dir/missing/"):
            with pytest.raises(FileNotFoundError):
                fs.info(path)
        assert fs.isfile(f"{root}/dir/a.txt") and fs.isdir(f"{root}/dir/sub")
        assert not fs.exists(f"{root}/dir/missing.txt")
        assert fs.ls(f"{root}/dir", detail=True) == list(listed.values())
    assert counted.requests() == before
    # the cached entry is what a HEAD says, in the listing's form: HTTP dates have whole
    # seconds, and Azure's listing gives the ETag without the quotes of the header
    headed = fs.info(f"{root}/dir/a.txt", refresh=True)
    assert [method for method, _ in counted.requests()[len(before) :]] == ["HEAD"]
    assert {k: headed[k] for k in ("name", "size", "type")} == {
        k: info[k] for k in ("name", "size", "type")
    }
    assert headed["e_tag"].strip('"') == info["e_tag"].strip('"')
    assert abs((headed["last_modified"] - info["last_modified"]).total_seconds()) < 1


def test_cache_miss_does_a_head(counted: Counted) -> None:
    root = counted.root
    _fill(counted.fs(), root)
    # The first missing object of a bucket in a process costs one listing more: the store checks
    # once whether the bucket itself exists. Spend it here: the counts below are the cache's.
    assert not counted.fs().exists(f"{root}/no-such-object")
    fs = counted.fs()  # nothing listed yet
    before = len(counted.requests())
    info = fs.info(f"{root}/dir/a.txt")
    assert info["type"] == "file" and info["size"] == 5
    made = counted.requests()[before:]
    assert len(made) == 1 and made[0][0] == "HEAD" and made[0][1].split("?")[0].endswith("a.txt")
    # a directory: no object (HEAD misses), then one listing finds it
    before = len(counted.requests())
    assert fs.info(f"{root}/dir/sub")["type"] == "directory"
    assert [method for method, _ in counted.requests()[before:]] == ["HEAD", "GET"]
    before = len(counted.requests())
    with pytest.raises(FileNotFoundError):
        fs.info(f"{root}/dir/missing.txt")
    assert [method for method, _ in counted.requests()[before:]] == ["HEAD", "GET"]
    # the listing of a sibling directory says nothing about this one
    fs.ls(f"{root}/dir/sub")
    before = len(counted.requests())
    assert fs.info(f"{root}/dir/a.txt")["size"] == 5
    assert [method for method, _ in counted.requests()[before:]] == ["HEAD"]


def test_writes_and_deletes_forget_listings(counted: Counted, tmp_path: Path) -> None:
    fs = counted.fs()
    root = counted.root
    _fill(fs, root)
    fs.ls(root)
    fs.ls(f"{root}/dir")
    fs.pipe_file(f"{root}/dir/new.txt", b"new")
    assert fs.info(f"{root}/dir/new.txt")["size"] == 3
    fs.ls(f"{root}/dir")
    fs.pipe_file(f"{root}/dir/new.txt", b"longer")
    assert fs.info(f"{root}/dir/new.txt")["size"] == 6
    # a new directory two levels down: the listings above it are stale too
    fs.ls(f"{root}/dir")
    fs.pipe_file(f"{root}/dir/deep/er/c.txt", b"c")
    assert fs.info(f"{root}/dir/deep")["type"] == "directory"
    fs.ls(f"{root}/dir")
    fs.rm_file(f"{root}/dir/a.txt")
    with pytest.raises(FileNotFoundError):
        fs.info(f"{root}/dir/a.txt")
    fs.ls(f"{root}/dir")
    with fs.open(f"{root}/dir/written.bin", "wb") as f:
        f.write(b"through a file")
    assert fs.info(f"{root}/dir/written.bin")["size"] == 14
    fs.ls(f"{root}/dir")
    fs.cp_file(f"{root}/dir/new.txt", f"{root}/dir/copy.txt")
    assert fs.info(f"{root}/dir/copy.txt")["size"] == 6
    local = tmp_path / "local.bin"
    local.write_bytes(b"12345678")
    fs.ls(f"{root}/dir")
    fs.put_file(str(local), f"{root}/dir/put.bin")
    assert fs.info(f"{root}/dir/put.bin")["size"] == 8
    fs.ls(f"{root}/dir")
    fs.ls(f"{root}/dir/sub")
    fs.rm(f"{root}/dir", recursive=True)
    assert not fs.exists(f"{root}/dir/sub/b.txt")
    assert not fs.exists(f"{root}/dir")
    assert not fs.exists(root)


def test_other_writers_are_seen_after_refresh(counted: Counted) -> None:
    fs = counted.fs()
    root = counted.root
    _fill(fs, root)
    fs.ls(f"{root}/dir")
    _, prefix = root.split("/", 1)
    obstore.put(counted.direct_store(), f"{prefix}/dir/other.txt", b"by someone else")
    with pytest.raises(FileNotFoundError):
        fs.info(f"{root}/dir/other.txt")  # the cached listing, as fsspec caches do
    assert fs.info(f"{root}/dir/other.txt", refresh=True)["size"] == 15
    assert f"{root}/dir/other.txt" in fs.ls(f"{root}/dir", refresh=True)
    obstore.delete(counted.direct_store(), f"{prefix}/dir/other.txt")
    fs.invalidate_cache(f"{root}/dir")
    assert not fs.exists(f"{root}/dir/other.txt")


def test_listings_cache_options(counted: Counted) -> None:
    root = counted.root
    off = counted.fs(use_listings_cache=False)  # a cache option, not store configuration
    _fill(off, root)
    off.ls(f"{root}/dir")
    before = len(counted.requests())
    assert off.info(f"{root}/dir/a.txt")["size"] == 5
    assert [method for method, _ in counted.requests()[before:]] == ["HEAD"]
    expiring = counted.fs(listings_expiry_time=0.5)
    expiring.ls(f"{root}/dir")
    before = len(counted.requests())
    expiring.info(f"{root}/dir/a.txt")
    assert len(counted.requests()) == before
    time.sleep(0.6)
    expiring.info(f"{root}/dir/a.txt")
    assert [method for method, _ in counted.requests()[before:]] == ["HEAD"]


async def test_listing_in_flight_during_a_write_is_not_cached(counted: Counted) -> None:
    fs = counted.fs(asynchronous=True)
    root = counted.root
    await fs._pipe_file(f"{root}/dir/a.txt", b"alpha")
    # the listing's response body trickles in over about a second; the write lands meanwhile
    counted.proxy.add(Rule(Drip(64, 0.1), method="GET", query=LIST_QUERY[counted.kind]))
    listing = asyncio.ensure_future(fs._ls(f"{root}/dir"))
    for _ in range(500):  # the proxy records requests on its own thread
        if any(method == "GET" for method, _ in counted.requests()):
            break
        await asyncio.sleep(0.01)
    else:
        pytest.fail("the listing request did not reach the proxy")
    await fs._pipe_file(f"{root}/dir/new.txt", b"new")
    assert not listing.done()
    assert await listing == [f"{root}/dir/a.txt"]  # the listing predates the write
    counted.proxy.clear()
    assert (await fs._info(f"{root}/dir/new.txt"))["size"] == 3
    assert f"{root}/dir" not in fs.dircache
