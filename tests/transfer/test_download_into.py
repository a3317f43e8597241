"""The core's download into a local file (``_obstore._download_into_async``), which every
download of ``obstore.transfer`` goes through: bytes land exactly, in one GET or in pinned
ranged parts; a path target appears only complete, with the object's modification time; bad
targets and options raise naming what is wrong; cancellation and failures leave no file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import obstore
from obstore import _obstore
from obstore.exceptions import PreconditionError
from obstore.store import S3Store
from tests.servers.fault_proxy import Drip, FaultProxy, Rule, Stall

from .conftest import MIB, StoreFactory, sha

download_into: Any = _obstore._download_into_async  # type: ignore[attr-defined]
ByteCounter: Any = _obstore._ByteCounter  # type: ignore[attr-defined]

DATA = os.urandom(3 * MIB + 123)
PART = MIB


@pytest.fixture(params=["local", "s3-minio", "azurite", "gcs"])
def source(request: pytest.FixtureRequest, make_store: StoreFactory) -> Any:
    """A store of each kind holding ``DATA`` at ``obj.bin``."""
    store = make_store(request.param)
    obstore.put(store, "obj.bin", DATA)
    return store


def _targets(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "out" / "obj.bin", tmp_path / "out" / ".obj.bin.test.obstore-tmp"


def _names(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir()) if directory.exists() else []


def _settled_names(directory: Path) -> list[str]:
    """The names in ``directory`` once a temporary file still being removed is gone (a
    cancelled download removes it from the runtime's thread, just after the cancellation)."""
    deadline = time.monotonic() + 2
    while any(name.endswith(".obstore-tmp") for name in _names(directory)):
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    return _names(directory)


@pytest.mark.parametrize("part_size", [None, PART])
def test_download_to_a_path_is_byte_exact_with_the_object_mtime(
    source: Any, tmp_path: Path, part_size: int | None
) -> None:
    final, temp = _targets(tmp_path)
    counter = ByteCounter()

    async def main() -> Any:
        return await download_into(
            source, "obj.bin", str(final), temp=str(temp), part_size=part_size, counter=counter
        )

    meta, written = asyncio.run(main())
    assert written == len(DATA) and meta["size"] == len(DATA)
    assert sha(final.read_bytes()) == sha(DATA)
    assert _names(final.parent) == ["obj.bin"]  # the temporary file became the final one
    # the modification time is the object's, to the microsecond (what a later sync compares)
    expected = obstore.head(source, "obj.bin")["last_modified"].timestamp()
    assert abs(final.stat().st_mtime - expected) < 1e-6
    assert counter.take() == len(DATA)  # progress counts every byte, once
    assert counter.take() == 0


def test_download_into_a_descriptor_writes_at_the_offset(source: Any, tmp_path: Path) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(b"x" * 10)
    fd = os.open(path, os.O_WRONLY)

    async def main() -> Any:
        call = download_into(source, "obj.bin", fd, offset=10, options={"range": (100, 2000)})
        # the core writes through a duplicate: closing ours at once neither stops it nor
        # lets it write into whatever file reuses the number
        os.close(fd)
        reused = os.open(tmp_path / "other.bin", os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            return await call
        finally:
            os.close(reused)

    meta, written = asyncio.run(main())
    assert written == 1900 and meta["size"] == len(DATA)
    assert path.read_bytes() == b"x" * 10 + DATA[100:2000]
    assert (tmp_path / "other.bin").read_bytes() == b""


def test_a_range_past_the_end_writes_what_the_object_has(source: Any, tmp_path: Path) -> None:
    final, temp = _targets(tmp_path)
    options = {"range": (len(DATA) - 10, len(DATA) + 1000)}

    async def main() -> Any:
        return await download_into(source, "obj.bin", str(final), temp=str(temp), options=options)

    _, written = asyncio.run(main())
    assert written == 10 and final.read_bytes() == DATA[-10:]


def test_a_range_starting_past_the_end_raises_and_writes_nothing(
    source: Any, tmp_path: Path
) -> None:
    final, temp = _targets(tmp_path)
    options = {"range": (len(DATA) + 10, len(DATA) + 20)}

    async def main() -> Any:
        return await download_into(source, "obj.bin", str(final), temp=str(temp), options=options)

    with pytest.raises(Exception, match="obj.bin"):
        asyncio.run(main())
    assert _names(final.parent) == []


def test_a_missing_object_raises_not_found_and_creates_nothing(source: Any, tmp_path: Path) -> None:
    final, temp = _targets(tmp_path)

    async def main() -> Any:
        return await download_into(source, "missing.bin", str(final), temp=str(temp))

    with pytest.raises(FileNotFoundError, match="missing.bin"):
        asyncio.run(main())
    assert not final.parent.exists()  # not even the directory


def test_a_closed_descriptor_raises_naming_it(source: Any, tmp_path: Path) -> None:
    fd = os.open(tmp_path / "file.bin", os.O_WRONLY | os.O_CREAT, 0o644)
    os.close(fd)
    with pytest.raises(OSError, match=f"fd {fd} is not an open file descriptor"):
        download_into(source, "obj.bin", fd)


def test_a_read_only_descriptor_raises_naming_it(source: Any, tmp_path: Path) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(b"")
    fd = os.open(path, os.O_RDONLY)

    async def main() -> Any:
        return await download_into(source, "obj.bin", fd)

    try:
        with pytest.raises(OSError, match=f"fd {fd}"):
            asyncio.run(main())
    finally:
        os.close(fd)


def test_bad_arguments_raise_naming_them(source: Any, tmp_path: Path) -> None:
    final, temp = _targets(tmp_path)
    with pytest.raises(TypeError, match="target must be a file descriptor"):
        download_into(source, "obj.bin", 1.5)
    with pytest.raises(ValueError, match="temporary path beside"):
        download_into(source, "obj.bin", str(final))
    with pytest.raises(ValueError, match="must be another name in the directory"):
        download_into(source, "obj.bin", str(final), temp=str(tmp_path / "elsewhere.tmp"))
    with pytest.raises(ValueError, match="range"):
        download_into(
            source, "obj.bin", str(final), temp=str(temp), part_size=PART, options={"range": (0, 1)}
        )
    with pytest.raises(ValueError, match="part_size"):
        download_into(source, "obj.bin", str(final), temp=str(temp), part_size=0)
    with pytest.raises(ValueError, match="head"):
        download_into(source, "obj.bin", str(final), temp=str(temp), options={"head": True})
    assert _names(final.parent) == []


@contextlib.contextmanager
def _through_proxy(
    minio: Any, minio_store: Any, rule: Rule
) -> Iterator[tuple[S3Store, FaultProxy]]:
    """``DATA`` at ``obj.bin`` on MinIO, and a store reading it through a proxy that applies
    ``rule``."""
    obstore.put(minio_store, "obj.bin", DATA)
    with FaultProxy(minio.endpoint) as proxy:
        proxy.add(rule)
        kwargs = {**minio.store_kwargs, "endpoint": proxy.url}
        yield S3Store(**kwargs, prefix=minio_store.prefix), proxy


def test_parts_are_pinned_to_the_first_version_and_bounded(
    minio: Any, minio_store: Any, tmp_path: Path
) -> None:
    final, temp = _targets(tmp_path)
    # every part after the first stalls: the ones in flight are all that were sent
    stall = Rule(Stall(None), method="GET", skip=1)
    with _through_proxy(minio, minio_store, stall) as (store, proxy):
        e_tag = obstore.head(minio_store, "obj.bin")["e_tag"]

        async def main() -> None:
            call = asyncio.ensure_future(
                download_into(
                    store,
                    "obj.bin",
                    str(final),
                    temp=str(temp),
                    part_size=PART // 4,
                    max_concurrency=3,
                )
            )
            await asyncio.sleep(1)
            call.cancel()

        asyncio.run(main())
        gets = [seen for seen in proxy.seen if seen.method == "GET"]
    assert len(gets) == 1 + 3  # the first part, then at most 3 at once
    first = dict((k.lower(), v) for k, v in gets[0].headers)
    assert first["range"] == f"bytes=0-{PART // 4 - 1}"
    for seen in gets[1:]:
        headers = dict((k.lower(), v) for k, v in seen.headers)
        assert headers["if-match"] == e_tag
    assert _settled_names(final.parent) == []


def test_a_change_of_the_object_during_the_parts_fails_with_precondition(
    minio: Any, minio_store: Any, tmp_path: Path
) -> None:
    final, temp = _targets(tmp_path)
    # the first part comes slowly; the object is replaced meanwhile
    slow_first = Rule(Drip(64 * 1024, 0.02), method="GET", times=1)
    with _through_proxy(minio, minio_store, slow_first) as (store, _):

        async def main() -> Any:
            call = asyncio.ensure_future(
                download_into(
                    store, "obj.bin", str(final), temp=str(temp), part_size=PART, max_concurrency=1
                )
            )
            await asyncio.sleep(0.2)
            await obstore.put_async(minio_store, "obj.bin", os.urandom(len(DATA)))
            return await call

        with pytest.raises(PreconditionError):
            asyncio.run(main())
    assert _settled_names(final.parent) == []


def test_cancellation_stops_promptly_and_leaves_no_file(
    minio: Any, minio_store: Any, tmp_path: Path
) -> None:
    final, temp = _targets(tmp_path)
    slow = Rule(Drip(16 * 1024, 0.05), method="GET")  # about a minute per object
    with _through_proxy(minio, minio_store, slow) as (store, _):
        counter = ByteCounter()

        async def main() -> float:
            call = asyncio.ensure_future(
                download_into(store, "obj.bin", str(final), temp=str(temp), counter=counter)
            )
            for _ in range(500):  # until bytes are being written to the temporary file
                if counter.take():
                    break
                await asyncio.sleep(0.01)
            # nothing has a name while it downloads (an anonymous file where the filesystem
            # has them, else the temporary name)
            assert _names(final.parent) in ([], [temp.name])
            started = time.monotonic()
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            return time.monotonic() - started

        assert asyncio.run(main()) < 0.5
    assert _settled_names(final.parent) == []


def test_an_existing_destination_is_replaced_whole(source: Any, tmp_path: Path) -> None:
    final, temp = _targets(tmp_path)
    final.parent.mkdir()
    final.write_bytes(b"an older version")

    async def main() -> Any:
        return await download_into(source, "obj.bin", str(final), temp=str(temp))

    asyncio.run(main())
    assert sha(final.read_bytes()) == sha(DATA)
    assert _names(final.parent) == ["obj.bin"]


def test_a_temporary_name_in_use_is_never_overwritten(source: Any, tmp_path: Path) -> None:
    final, temp = _targets(tmp_path)
    final.parent.mkdir()
    final.write_bytes(b"an older version")  # replacing it goes through the temporary name
    temp.write_bytes(b"someone else's")

    async def main() -> Any:
        return await download_into(source, "obj.bin", str(final), temp=str(temp))

    with pytest.raises(FileExistsError, match=temp.name):
        asyncio.run(main())
    assert temp.read_bytes() == b"someone else's"
    assert final.read_bytes() == b"an older version"


def test_downloads_of_many_objects_at_once_all_land(source: Any, tmp_path: Path) -> None:
    keys = [f"many/{i}-{uuid.uuid4().hex[:6]}.bin" for i in range(20)]
    for i, key in enumerate(keys):
        obstore.put(source, key, DATA[i : i + 1000 + i])
    out = tmp_path / "many"

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(
                download_into(
                    source, key, str(out / Path(key).name), temp=str(out / f".{i}.obstore-tmp")
                )
                for i, key in enumerate(keys)
            )
        )

    results = asyncio.run(main())
    assert [written for _, written in results] == [1000 + i for i in range(20)]
    for i, key in enumerate(keys):
        assert (out / Path(key).name).read_bytes() == DATA[i : i + 1000 + i]
    assert len(_names(out)) == 20
