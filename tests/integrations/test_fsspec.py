"""``obstore.fsspec`` beyond fsspec's abstract suite: the module's names, keys as paths, bucket
and scheme handling, the bounded store cache, buffered files, ``register`` and pickling.

In-process stores only (memory and local), so these always run.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import pytest

fsspec = pytest.importorskip("fsspec")

import obstore  # noqa: E402
from obstore.fsspec import (  # noqa: E402
    SUPPORTED_PROTOCOLS,
    BufferedFile,
    FsspecStore,
    register,
)
from obstore.store import LocalStore, MemoryStore  # noqa: E402


@pytest.fixture
def mem() -> FsspecStore:
    return FsspecStore.from_store(MemoryStore())


def test_module_surface() -> None:
    import obstore.fsspec as module

    assert module.__all__ == ["BufferedFile", "FsspecStore", "register"]
    assert module.SUPPORTED_PROTOCOLS == {
        "abfs", "abfss", "adl", "az", "azure", "file", "gcs", "gs",
        "http", "https", "memory", "s3", "s3a",
    }  # fmt: skip
    assert FsspecStore.cachable is True
    assert issubclass(FsspecStore, fsspec.asyn.AsyncFileSystem)
    assert issubclass(BufferedFile, fsspec.spec.AbstractBufferedFile)


def test_unknown_protocol_warns() -> None:
    with pytest.warns(UserWarning, match="Unknown protocol: ftp; requests may fail."):
        FsspecStore("ftp", skip_instance_cache=True)


def test_from_store_paths_are_keys(mem: FsspecStore) -> None:
    store: Any = mem._fixed_store
    mem.pipe_file("a/b/c.txt", b"abc")
    assert bytes(obstore.get(store, "a/b/c.txt").bytes()) == b"abc"
    assert mem.ls("a") == ["a/b"]
    assert mem.ls("a/b", detail=True)[0]["size"] == 3
    assert mem.find("") == ["a/b/c.txt"]
    assert mem.info("a") == {"name": "a", "size": 0, "type": "directory"}
    assert mem.isfile("/a/b/c.txt") and mem.isdir("a/b")
    # a second filesystem over another store is another filesystem (no instance-cache mix-up)
    other = FsspecStore.from_store(MemoryStore())
    assert other is not mem and not other.exists("a/b/c.txt")


def test_store_prefix_applies(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    fs = FsspecStore.from_store(LocalStore(tmp_path / "root"))
    fs.pipe_file("x/y", b"1")
    assert (tmp_path / "root" / "x" / "y").read_bytes() == b"1"


def test_cat_variants(mem: FsspecStore) -> None:
    mem.pipe({"d/one": b"0123456789", "d/two": b"abcdef"})
    assert mem.cat_file("d/one") == b"0123456789"
    assert mem.cat_file("d/one", start=2, end=5) == b"234"
    assert mem.cat_file("d/one", start=7) == b"789"
    assert mem.cat_file("d/one", start=-3) == b"789"
    assert mem.cat_file("d/one", start=1, end=-7) == b"12"
    assert mem.cat_file("d/one", start=8, end=100) == b"89"
    assert mem.cat_file("d/one", start=20, end=30) == b""
    assert mem.cat("d/one") == b"0123456789"
    assert mem.cat("d", recursive=True) == {"d/one": b"0123456789", "d/two": b"abcdef"}
    assert mem.cat(["d/one", "d/two"]) == {"d/one": b"0123456789", "d/two": b"abcdef"}
    with pytest.raises(FileNotFoundError):
        mem.cat_file("d/missing")
    ranges = mem.cat_ranges(["d/one", "d/two", "d/one", "d/missing"], [0, 1, 5, 0], [2, 3, 5, 1])
    assert ranges[:3] == [b"01", b"bc", b""]
    assert isinstance(ranges[3], FileNotFoundError)
    assert mem.cat_ranges(["d/one", "d/two"], 1, 3) == [b"12", b"bc"]
    with pytest.raises(ValueError):
        mem.cat_ranges(["d/one"], [0, 1], [1, 2])


def test_pipe_create_and_cp_rm(mem: FsspecStore) -> None:
    mem.pipe_file("f", b"1")
    with pytest.raises(FileExistsError):
        mem.pipe_file("f", b"2", mode="create")
    mem.cp_file("f", "g")
    assert mem.cat_file("g") == b"1"
    mem.mv("g", "h/i")
    assert not mem.exists("g") and mem.cat_file("h/i") == b"1"
    mem.rm("h", recursive=True)
    assert not mem.exists("h")
    assert mem.modified("f").tzinfo is not None


def test_buckets_and_schemes() -> None:
    fs = FsspecStore("s3", region="us-east-1", skip_signature=True, skip_instance_cache=True)
    assert fs._split_path("s3://bucket/a/b") == ("bucket", "a/b")
    assert fs._split_path("bucket/a/b/") == ("bucket", "a/b")
    assert fs._split_path("bucket") == ("bucket", "")
    with pytest.raises(ValueError):
        fs._split_path("gs://bucket/a")
    with pytest.raises(ValueError):
        fs.cp_file("b1/x", "b2/x")
    assert fs._construct_store("b1") is fs._construct_store("b1")
    local = FsspecStore("file")
    assert local._split_path("file:///tmp/x/") == ("", "tmp/x")
    assert local._local_store is local


def test_store_cache_is_bounded() -> None:
    fs = FsspecStore(
        "s3", region="us-east-1", skip_signature=True, max_cache_size=2, skip_instance_cache=True
    )
    first = fs._construct_store("b1")
    fs._construct_store("b2")
    fs._construct_store("b3")
    assert fs._construct_store("b1") is not first


def test_buffered_file_read(mem: FsspecStore) -> None:
    data = b"line one\nline two\nline three\n" * 100
    mem.pipe_file("t.txt", data)
    with mem.open("t.txt", "rb") as f:
        assert isinstance(f, BufferedFile) and f.mode == "rb"
        assert f.readline() == b"line one\n"
        assert f.tell() == f.loc == 9
        f.seek(-6, 2)
        assert f.read() == b"three\n"
        f.seek(0)
        assert f.read(4) == b"line"
        assert len(f.readlines()) == 300
        f.flush()  # no-op in read mode
        with pytest.raises(io.UnsupportedOperation, match="File not in write mode"):
            f.write(b"x")
        with pytest.raises(ValueError):
            f.loc = 5
    assert f.closed
    f.close()  # idempotent
    with pytest.raises(ValueError, match="I/O operation on closed file."):
        f.read()
    with mem.open("t.txt", "r") as text:
        assert text.readline() == "line one\n"


def test_buffered_file_write(mem: FsspecStore) -> None:
    with mem.open("w.bin", "wb") as f:
        assert f.write(b"abc") == 3
        f.write(bytearray(b"def"))
        f.write(memoryview(b"ghi"))
        assert f.tell() == 9
        with pytest.raises(io.UnsupportedOperation, match="Seek only available in read mode."):
            f.seek(0)
        with pytest.raises(io.UnsupportedOperation, match="File not in read mode"):
            f.read()
        f.flush(force=True)
        with pytest.raises(ValueError):
            f.write(b"more")
    assert mem.cat_file("w.bin") == b"abcdefghi"
    with pytest.raises(ValueError, match="Flush on closed file"):
        f.flush()
    with pytest.raises(ValueError, match="Only 'rb' and 'wb' modes supported, got: ab"):
        mem.open("w.bin", "ab")


def test_write_aborted_by_exception(mem: FsspecStore) -> None:
    with pytest.raises(RuntimeError), mem.open("aborted", "wb") as f:
        f.write(b"partial")
        raise RuntimeError("boom")
    assert not mem.exists("aborted")


def test_exclusive_open(mem: FsspecStore) -> None:
    with mem.open("x", "xb") as f:
        f.write(b"first")
    with pytest.raises(FileExistsError):
        mem.open("x", "xb")
    assert mem.cat_file("x") == b"first"


def test_register_and_pickle(tmp_path: Path, registered: None) -> None:
    register(["gs"])  # an iterable works too; the fixture restores fsspec's registry
    assert fsspec.get_filesystem_class("gs").__name__ == "FsspecStore_gs"
    fs = fsspec.filesystem("s3", region="us-east-1", skip_signature=True)
    assert type(fs).__name__ == "FsspecStore_s3" and fs.protocol == "s3"
    again = pickle.loads(pickle.dumps(fs))
    assert type(again).__name__ == "FsspecStore_s3" and again.protocol == "s3"
    local = FsspecStore.from_store(LocalStore(tmp_path))
    local.pipe_file("p", b"pickled")
    clone: Any = pickle.loads(pickle.dumps(local))
    assert clone.cat_file("p") == b"pickled"
    with pytest.raises(TypeError):
        pickle.dumps(FsspecStore.from_store(MemoryStore()))


async def test_async_filesystem() -> None:
    fs = FsspecStore.from_store(MemoryStore(), asynchronous=True)
    await fs._pipe_file("a/b", b"async")
    assert await fs._cat_file("a/b") == b"async"
    assert await fs._ls("a") == ["a/b"]
    assert (await fs._info("a/b"))["size"] == 5
    assert await fs._find("") == ["a/b"]
    await fs._rm("a", recursive=True)
    assert not await fs._exists("a/b")


def test_supported_protocols_construct() -> None:
    for proto in sorted(SUPPORTED_PROTOCOLS - {"file", "memory", "http", "https"}):
        fs = FsspecStore(proto, skip_instance_cache=True)
        assert fs.protocol == proto


@pytest.mark.parametrize("kind", ["from_store", "memory"])
def test_info_from_cached_root_listing(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # the root's listing is cached under the root's name ("" for a store, "/" for memory://)
    if kind == "memory":
        fs = FsspecStore("memory", skip_instance_cache=True)
        top = "/"
    else:
        fs = FsspecStore.from_store(MemoryStore())
        top = ""
    fs.pipe({f"{top}f.txt": b"file", f"{top}d/g.txt": b"nested"})
    assert fs.ls(top) == [f"{top}d", f"{top}f.txt"]

    def no_store(*args: Any) -> Any:
        raise AssertionError("the cached listing should have answered")

    with monkeypatch.context() as patch:
        patch.setattr(fs, "_construct_store", no_store)
        assert fs.info(f"{top}f.txt")["size"] == 4
        assert fs.info(f"{top}d/")["type"] == "directory"
        with pytest.raises(FileNotFoundError):
            fs.info(f"{top}missing")
    fs.pipe_file(f"{top}missing", b"now here")
    assert fs.info(f"{top}missing")["size"] == 8
    fs.ls(top)
    fs.rm(f"{top}d", recursive=True)
    assert not fs.exists(f"{top}d/g.txt") and not fs.exists(f"{top}d")
