"""MemoryStore and LocalStore (construction, equality, pickling, files on disk), `from_url`
returning the right class, and the raw `obstore._store` classes working with the module functions.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import obstore
import obstore._store as raw
from obstore.exceptions import BaseError, GenericError, PermissionDeniedError
from obstore.store import LocalStore, MemoryStore, ObjectStoreMethods, from_url

from .conftest import run

# --------------------------------------------------------------------------------------------------
# MemoryStore


def test_memory_store_takes_no_arguments() -> None:
    with pytest.raises(TypeError):
        MemoryStore(1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        MemoryStore(prefix="x")  # type: ignore[call-arg]


def test_memory_store_identity_equality() -> None:
    first = MemoryStore()
    second = MemoryStore()
    assert first == first
    assert first != second
    assert not (first == second)
    assert first != 5


def test_memory_store_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(MemoryStore())


def test_memory_store_unpicklable() -> None:
    with pytest.raises(TypeError, match="cannot pickle 'MemoryStore' object"):
        pickle.dumps(MemoryStore())


def test_memory_stores_are_independent() -> None:
    first = MemoryStore()
    second = MemoryStore()
    first.put("a", b"1")
    with pytest.raises(FileNotFoundError):
        second.head("a")


def test_memory_store_etags_are_quoted_counters() -> None:
    store = MemoryStore()
    first = store.put("a", b"1")["e_tag"]
    second = store.put("b", b"2")["e_tag"]
    assert first == '"0"'
    assert second == '"1"'


# --------------------------------------------------------------------------------------------------
# LocalStore


def test_local_store_prefix_and_repr(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    assert isinstance(store.prefix, Path)
    assert store.prefix == tmp_path
    assert repr(store) == f'LocalStore("{tmp_path}")'
    assert LocalStore(str(tmp_path)).prefix == tmp_path


def test_local_store_without_prefix() -> None:
    store = LocalStore()
    assert store.prefix is None
    assert repr(store) == "LocalStore"


def test_local_store_writes_files_under_prefix(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put("dir/sub/file.bin", b"content")
    assert (tmp_path / "dir" / "sub" / "file.bin").read_bytes() == b"content"
    (tmp_path / "dir" / "made-outside").write_bytes(b"outside")
    assert bytes(store.get("dir/made-outside").bytes()) == b"outside"


def test_local_store_missing_root(tmp_path: Path) -> None:
    with pytest.raises(GenericError):
        LocalStore(tmp_path / "missing" / "deeper")


def test_local_store_mkdir(tmp_path: Path) -> None:
    root = tmp_path / "new" / "deeper"
    store = LocalStore(root, mkdir=True)
    assert root.is_dir()
    store.put("x", b"1")
    assert (root / "x").read_bytes() == b"1"


def test_local_store_automatic_cleanup(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, automatic_cleanup=True)
    store.put("a/b/c/file", b"x")
    store.delete("a/b/c/file")
    assert not (tmp_path / "a").exists()
    assert tmp_path.exists()

    keeping = LocalStore(tmp_path)
    keeping.put("a/b/c/file", b"x")
    keeping.delete("a/b/c/file")
    assert (tmp_path / "a" / "b" / "c").is_dir()


def test_local_store_equality(tmp_path: Path) -> None:
    assert LocalStore(tmp_path) == LocalStore(tmp_path)
    assert LocalStore(tmp_path) == LocalStore(str(tmp_path))
    assert LocalStore(tmp_path) != LocalStore(tmp_path, automatic_cleanup=True)
    assert LocalStore(tmp_path) != LocalStore(tmp_path, mkdir=True)
    assert LocalStore(tmp_path) != LocalStore(tmp_path / "..")
    assert LocalStore(tmp_path) != MemoryStore()
    assert LocalStore(tmp_path) != 5
    with pytest.raises(TypeError):
        hash(LocalStore(tmp_path))


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"automatic_cleanup": True}, {"mkdir": True}, {"automatic_cleanup": True, "mkdir": True}],
)
def test_local_store_pickle_round_trip(tmp_path: Path, kwargs: dict[str, bool]) -> None:
    store = LocalStore(tmp_path, **kwargs)
    store.put("a", b"data")
    restored = pickle.loads(pickle.dumps(store))
    assert type(restored) is LocalStore
    assert restored == store
    assert restored.prefix == tmp_path
    assert bytes(restored.get("a").bytes()) == b"data"
    args, named = store.__getnewargs_ex__()
    assert args == (tmp_path,)
    assert named == {
        "automatic_cleanup": kwargs.get("automatic_cleanup", False),
        "mkdir": kwargs.get("mkdir", False),
        "allow_symlinks_outside": True,
    }


def test_local_store_from_url(tmp_path: Path) -> None:
    store = LocalStore.from_url(f"file://{tmp_path}")
    assert type(store) is LocalStore
    assert store.prefix == tmp_path
    made = LocalStore.from_url(f"file://{tmp_path}/made", mkdir=True)
    assert made.prefix == tmp_path / "made"
    assert (tmp_path / "made").is_dir()
    with pytest.raises(ValueError, match="Not a `file://` URL"):
        LocalStore.from_url("s3://bucket/path")


def test_local_store_is_frozen(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with pytest.raises(AttributeError):
        store.prefix = tmp_path / "x"  # type: ignore[misc]


def test_local_store_etag_format(tmp_path: Path) -> None:
    e_tag = LocalStore(tmp_path).put("a", b"x")["e_tag"]
    assert isinstance(e_tag, str)
    assert e_tag.count("-") == 2


def test_local_store_attributes_not_implemented(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with pytest.raises(NotImplementedError):
        store.put("a", b"x", attributes={"Content-Type": "text/plain"})
    store.put("a", b"x")
    with pytest.raises(NotImplementedError):
        store.put("a", b"y", mode={"e_tag": store.head("a")["e_tag"]})
    assert bytes(store.get("a").bytes()) == b"x"


@pytest.mark.parametrize("url_path", ["/x//", "//x", "/x//y/"])
def test_local_store_from_url_with_empty_segment_raises_library_error(
    tmp_path: Path, url_path: str
) -> None:
    url = f"file://{tmp_path}{url_path}"
    with pytest.raises(BaseError, match="empty segment") as info:
        LocalStore.from_url(url)
    assert url in str(info.value)
    with pytest.raises(BaseError):
        from_url(url)


# --------------------------------------------------------------------------------------------------
# LocalStore and symbolic links


@pytest.fixture
def linked_root(tmp_path: Path) -> tuple[Path, Path]:
    """A store root holding links that leave it (to a directory, a file, a missing file) and links
    that stay inside it; and the outside directory."""
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"outside data")
    (root / "inside.txt").write_bytes(b"inside data")
    (root / "sub").mkdir()
    os.symlink(outside, root / "dirlink")
    os.symlink(outside / "secret.txt", root / "filelink")
    os.symlink(outside / "new.txt", root / "dangling")
    os.symlink(root / "inside.txt", root / "sub" / "innerlink")
    os.symlink("../inside.txt", root / "sub" / "relative")
    os.symlink("../dirlink/secret.txt", root / "sub" / "chained")
    return root, outside


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_local_store_follows_links_outside_the_root_by_default(
    linked_root: tuple[Path, Path],
) -> None:
    root, outside = linked_root
    store = LocalStore(root)
    assert bytes(store.get("dirlink/secret.txt").bytes()) == b"outside data"
    assert bytes(store.get("filelink").bytes()) == b"outside data"
    store.put("dirlink/written.txt", b"x")
    assert (outside / "written.txt").read_bytes() == b"x"
    assert "dirlink/secret.txt" in {meta["path"] for meta in store.list().collect()}


#: Each operation, called through a path that resolves outside the root.
REFUSED: dict[str, Callable[[Any, str], Any]] = {
    "get": lambda s, p: s.get(p),
    "get_range": lambda s, p: s.get_range(p, start=0, length=1),
    "get_ranges": lambda s, p: s.get_ranges(p, starts=[0], lengths=[1]),
    "head": lambda s, p: s.head(p),
    "open_reader": lambda s, p: obstore.open_reader(s, p).read(),
    "put": lambda s, p: s.put(p, b"new"),
    "put_multipart": lambda s, p: s.put(p, iter([b"a", b"b"])),
    "delete": lambda s, p: s.delete(p),
    "delete_many": lambda s, p: s.delete([p]),
    "copy_from": lambda s, p: s.copy(p, "copied"),
    "copy_to": lambda s, p: s.copy("inside.txt", p),
    "rename_from": lambda s, p: s.rename(p, "renamed"),
    "rename_to": lambda s, p: s.rename("inside.txt", p),
    "list": lambda s, p: s.list(p).collect(),
    "list_with_delimiter": lambda s, p: s.list_with_delimiter(p),
}

OUTSIDE_PATHS = ["dirlink/secret.txt", "filelink", "dangling", "sub/chained", "dirlink/new.txt"]


@pytest.mark.parametrize("op", sorted(REFUSED))
@pytest.mark.parametrize("path", OUTSIDE_PATHS)
def test_local_store_refuses_paths_leaving_the_root(
    linked_root: tuple[Path, Path], op: str, path: str
) -> None:
    root, outside = linked_root
    if op.startswith("list"):
        path = "dirlink"
    before_outside = _snapshot(outside)
    store = LocalStore(root, allow_symlinks_outside=False)
    with pytest.raises(PermissionDeniedError) as info:
        REFUSED[op](store, path)
    message = str(info.value)
    assert path in message
    assert "outside" in message
    assert "\n" not in message
    assert _snapshot(outside) == before_outside
    assert (root / "inside.txt").read_bytes() == b"inside data"
    assert not (root / "copied").exists()
    assert not (root / "renamed").exists()


def test_local_store_confined_still_follows_links_inside_the_root(
    linked_root: tuple[Path, Path],
) -> None:
    root, _ = linked_root
    store = LocalStore(root, allow_symlinks_outside=False)
    assert bytes(store.get("sub/innerlink").bytes()) == b"inside data"
    assert bytes(store.get("sub/relative").bytes()) == b"inside data"
    store.put("sub/new.bin", b"new")
    assert (root / "sub" / "new.bin").read_bytes() == b"new"
    store.copy("sub/new.bin", "sub/copy.bin")
    store.rename("sub/copy.bin", "sub/moved.bin")
    store.delete("sub/moved.bin")
    assert store.head("sub/new.bin")["size"] == 3


def test_local_store_confined_listing_skips_entries_outside_the_root(
    linked_root: tuple[Path, Path],
) -> None:
    root, _ = linked_root
    store = LocalStore(root, allow_symlinks_outside=False)
    listed = {meta["path"] for meta in store.list().collect()}
    assert listed == {"inside.txt", "sub/innerlink", "sub/relative"}
    top = store.list_with_delimiter()
    assert top["common_prefixes"] == ["sub"]
    assert [meta["path"] for meta in top["objects"]] == ["inside.txt"]


def test_local_store_symlink_option_survives_pickling_and_equality(
    linked_root: tuple[Path, Path],
) -> None:
    root, _ = linked_root
    confined = LocalStore(root, allow_symlinks_outside=False)
    assert confined != LocalStore(root)
    assert confined == LocalStore(root, allow_symlinks_outside=False)
    assert repr(confined) == f'LocalStore("{root}", allow_symlinks_outside=False)'
    args, named = confined.__getnewargs_ex__()
    assert named["allow_symlinks_outside"] is False
    restored = pickle.loads(pickle.dumps(confined))
    assert restored == confined
    with pytest.raises(PermissionDeniedError):
        restored.get("filelink")


def test_local_store_symlink_option_through_from_url(linked_root: tuple[Path, Path]) -> None:
    root, _ = linked_root
    for store in (
        LocalStore.from_url(root.as_uri(), allow_symlinks_outside=False),
        from_url(root.as_uri(), allow_symlinks_outside=False),
        raw.from_url(root.as_uri(), allow_symlinks_outside=False),
    ):
        assert store == LocalStore(root, allow_symlinks_outside=False)
        with pytest.raises(PermissionDeniedError):
            store.head("filelink") if isinstance(store, LocalStore) else obstore.head(
                store, "filelink"
            )


# --------------------------------------------------------------------------------------------------
# from_url


def test_from_url_file_returns_subclass(tmp_path: Path) -> None:
    store = from_url(f"file://{tmp_path}")
    assert isinstance(store, LocalStore)
    assert type(store) is LocalStore
    assert isinstance(store, ObjectStoreMethods)
    assert store.prefix == tmp_path
    made = from_url(f"file://{tmp_path}/sub", mkdir=True)
    assert isinstance(made, LocalStore)
    assert made.prefix == tmp_path / "sub"
    assert (tmp_path / "sub").is_dir()


def test_from_url_memory_returns_subclass() -> None:
    store = from_url("memory:///")
    assert type(store) is MemoryStore
    store.put("a", b"1")
    assert bytes(store.get("a").bytes()) == b"1"


def test_from_url_memory_rejects_configuration() -> None:
    with pytest.raises(BaseError, match="MemoryStore does not accept any configuration"):
        from_url("memory:///", config={"key": "value"})  # type: ignore[call-overload]
    with pytest.raises(BaseError, match="MemoryStore does not accept any configuration"):
        from_url("memory:///", some_key="value")  # type: ignore[call-overload]


def test_from_url_local_rejects_credential_provider(tmp_path: Path) -> None:
    with pytest.raises(BaseError, match="LocalStore does not accept a credential provider"):
        from_url(f"file://{tmp_path}", credential_provider=lambda: None)  # type: ignore[call-overload]


def test_raw_from_url_returns_raw_classes(tmp_path: Path) -> None:
    assert type(raw.from_url("memory:///")) is raw.MemoryStore
    local = raw.from_url(f"file://{tmp_path}")
    assert type(local) is raw.LocalStore
    assert not isinstance(local, ObjectStoreMethods)


def test_from_url_unrecognised() -> None:
    with pytest.raises(GenericError):
        from_url("ftp://host/path")


# --------------------------------------------------------------------------------------------------
# Raw classes with the functional API


@pytest.fixture(params=["memory", "local"])
def raw_store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "memory":
        return raw.MemoryStore()
    return raw.LocalStore(tmp_path)


def test_raw_store_has_no_methods(raw_store: Any) -> None:
    assert not isinstance(raw_store, ObjectStoreMethods)
    for name in ["get", "put", "head", "list", "delete", "copy", "rename", "get_async"]:
        assert not hasattr(raw_store, name)


def test_raw_store_with_functions(raw_store: Any) -> None:
    obstore.put(raw_store, "dir/a", b"hello")
    assert bytes(obstore.get(raw_store, "dir/a").bytes()) == b"hello"
    assert obstore.get_range(raw_store, "dir/a", start=1, end=3) == b"el"
    assert obstore.get_ranges(raw_store, "dir/a", starts=[0], lengths=[2]) == [b"he"]
    assert obstore.head(raw_store, "dir/a")["size"] == 5
    obstore.copy(raw_store, "dir/a", "dir/b")
    obstore.rename(raw_store, "dir/b", "dir/c")
    assert sorted(m["path"] for m in obstore.list(raw_store).collect()) == ["dir/a", "dir/c"]
    assert obstore.list_with_delimiter(raw_store)["common_prefixes"] == ["dir"]
    obstore.delete(raw_store, ["dir/a", "dir/c"])
    assert obstore.list(raw_store).collect() == []


def test_raw_store_with_async_functions(raw_store: Any) -> None:
    async def main() -> None:
        await obstore.put_async(raw_store, "a", b"hello")
        result = await obstore.get_async(raw_store, "a")
        assert await result.bytes_async() == b"hello"
        assert (await obstore.head_async(raw_store, "a"))["size"] == 5
        await obstore.delete_async(raw_store, "a")

    run(main)


def test_isinstance_object_store_methods(tmp_path: Path) -> None:
    assert isinstance(MemoryStore(), ObjectStoreMethods)
    assert isinstance(LocalStore(tmp_path), ObjectStoreMethods)
    assert isinstance(MemoryStore(), raw.MemoryStore)
    assert isinstance(LocalStore(tmp_path), raw.LocalStore)
    assert not isinstance(raw.MemoryStore(), ObjectStoreMethods)


def test_store_classes_are_subclassable(tmp_path: Path) -> None:
    class MyLocal(LocalStore):
        pass

    store = MyLocal(tmp_path)
    store.put("a", b"1")
    assert bytes(obstore.get(store, "a").bytes()) == b"1"
    assert isinstance(store, ObjectStoreMethods)


def test_methods_delegate_with_same_results(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put("a", b"abc")
    assert store.head("a") == obstore.head(store, "a")
    assert store.list().collect() == obstore.list(store).collect()
    assert os.listdir(tmp_path) == ["a"]
