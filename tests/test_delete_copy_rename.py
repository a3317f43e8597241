"""delete, copy and rename: single and many paths, missing objects, and overwrite=False refusing
an existing destination where the store supports it."""

from __future__ import annotations

from typing import Any

import pytest

from obstore.exceptions import AlreadyExistsError, NotSupportedError

from .conftest import Api, Backend


def _paths(store: Any) -> list[str]:
    return sorted(meta["path"] for meta in store.list().collect())


# --------------------------------------------------------------------------------------------------
# delete


def test_delete_one(store: Any, api: Api) -> None:
    store.put("a", b"1")
    store.put("b", b"2")
    assert api.delete(store, "a") is None
    with pytest.raises(FileNotFoundError):
        store.head("a")
    assert _paths(store) == ["b"]


@pytest.mark.parametrize("container", [list, tuple])
def test_delete_many(store: Any, api: Api, container: type) -> None:
    paths = [f"dir/{i:03}" for i in range(25)]
    for path in paths:
        store.put(path, b"x")
    store.put("keep", b"k")
    assert api.delete(store, container(paths)) is None
    assert _paths(store) == ["keep"]


def test_delete_empty_sequence(store: Any, api: Api) -> None:
    store.put("keep", b"k")
    api.delete(store, [])
    assert _paths(store) == ["keep"]


def test_delete_missing(store: Any, backend: Backend, api: Api) -> None:
    if backend.delete_missing_raises:
        with pytest.raises(FileNotFoundError):
            api.delete(store, "missing")
        with pytest.raises(FileNotFoundError):
            api.delete(store, ["missing"])
    else:
        api.delete(store, "missing")
        api.delete(store, ["missing", "also-missing"])


def test_delete_then_recreate(store: Any) -> None:
    store.put("dir/a", b"1")
    store.delete("dir/a")
    store.put("dir/a", b"2")
    assert bytes(store.get("dir/a").bytes()) == b"2"


@pytest.mark.parametrize("paths", [5, None, [1, 2], b"a", {"a": 1}], ids=repr)
def test_delete_wrong_type(store: Any, paths: Any) -> None:
    with pytest.raises(TypeError, match="Expected string path or sequence of string paths."):
        store.delete(paths)


# --------------------------------------------------------------------------------------------------
# copy


def test_copy(store: Any, api: Api, payload: bytes) -> None:
    store.put("src", payload)
    assert api.copy(store, "src", "dir/dst") is None
    assert bytes(store.get("dir/dst").bytes()) == payload
    assert bytes(store.get("src").bytes()) == payload


def test_copy_large(store: Any, big_data: bytes) -> None:
    store.put("src", big_data, use_multipart=False)
    store.copy("src", "dst")
    assert bytes(store.get("dst").bytes()) == big_data


def test_copy_overwrites_by_default(store: Any, api: Api) -> None:
    store.put("src", b"new")
    store.put("dst", b"old")
    api.copy(store, "src", "dst")
    assert bytes(store.get("dst").bytes()) == b"new"
    store.put("src", b"newer")
    api.copy(store, "src", "dst", overwrite=True)
    assert bytes(store.get("dst").bytes()) == b"newer"


def test_copy_overwrite_false(store: Any, backend: Backend, api: Api) -> None:
    store.put("src", b"new")
    if not backend.copy_if_not_exists:
        with pytest.raises((NotImplementedError, NotSupportedError)):
            api.copy(store, "src", "dst", overwrite=False)
        return
    api.copy(store, "src", "dst", overwrite=False)
    assert bytes(store.get("dst").bytes()) == b"new"
    store.put("src", b"newer")
    with pytest.raises(AlreadyExistsError):
        api.copy(store, "src", "dst", overwrite=False)
    assert bytes(store.get("dst").bytes()) == b"new"


def test_copy_missing_source(store: Any, api: Api) -> None:
    with pytest.raises(FileNotFoundError):
        api.copy(store, "missing", "dst")
    with pytest.raises(FileNotFoundError):
        store.head("dst")


# --------------------------------------------------------------------------------------------------
# rename


def test_rename(store: Any, api: Api, payload: bytes) -> None:
    store.put("src", payload)
    assert api.rename(store, "src", "dir/dst") is None
    assert bytes(store.get("dir/dst").bytes()) == payload
    with pytest.raises(FileNotFoundError):
        store.head("src")
    assert _paths(store) == ["dir/dst"]


def test_rename_overwrites_by_default(store: Any, api: Api) -> None:
    store.put("src", b"new")
    store.put("dst", b"old")
    api.rename(store, "src", "dst")
    assert bytes(store.get("dst").bytes()) == b"new"
    assert _paths(store) == ["dst"]
    store.put("src", b"newer")
    api.rename(store, "src", "dst", overwrite=True)
    assert bytes(store.get("dst").bytes()) == b"newer"


def test_rename_overwrite_false(store: Any, backend: Backend, api: Api) -> None:
    store.put("src", b"new")
    if not backend.copy_if_not_exists:
        with pytest.raises((NotImplementedError, NotSupportedError)):
            api.rename(store, "src", "dst", overwrite=False)
        return
    api.rename(store, "src", "dst", overwrite=False)
    assert _paths(store) == ["dst"]
    store.put("src", b"newer")
    with pytest.raises(AlreadyExistsError):
        api.rename(store, "src", "dst", overwrite=False)
    assert bytes(store.get("dst").bytes()) == b"new"
    assert bytes(store.get("src").bytes()) == b"newer"


def test_rename_missing_source(store: Any, api: Api) -> None:
    with pytest.raises(FileNotFoundError):
        api.rename(store, "missing", "dst")
