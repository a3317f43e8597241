"""pandas and pyarrow reading and writing Parquet and CSV through obstore's fsspec layer.

Two routes, both against MinIO: fsspec URLs (``s3://bucket/...``) resolved to ``FsspecStore``
by ``obstore.fsspec.register()``, and ``pyarrow.fs.PyFileSystem(FSSpecHandler(FsspecStore))``.
"""

from __future__ import annotations

from typing import Any

import pytest

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
fsspec = pytest.importorskip("fsspec")
pq = pytest.importorskip("pyarrow.parquet")
pacsv = pytest.importorskip("pyarrow.csv")
pads = pytest.importorskip("pyarrow.dataset")

import obstore  # noqa: E402
from obstore.fsspec import FsspecStore  # noqa: E402
from obstore.store import S3Store  # noqa: E402

from ._helpers import split_store_kwargs  # noqa: E402


def _frame() -> Any:
    return pd.DataFrame(
        {
            "id": list(range(500)),
            "name": [f"row-{i}" for i in range(500)],
            "value": [i * 0.25 for i in range(500)],
            "flag": [i % 3 == 0 for i in range(500)],
        }
    )


def test_register_resolves_to_fsspecstore(registered: None, minio: Any) -> None:
    _, options = split_store_kwargs(minio)
    fs = fsspec.filesystem("s3", **options)
    assert isinstance(fs, FsspecStore)
    assert type(fs).__name__ == "FsspecStore_s3"
    opened = fsspec.open(f"s3://{minio.bucket}/x", **options)
    assert isinstance(opened.fs, FsspecStore)


def test_pandas_parquet_and_csv_via_urls(registered: None, minio: Any, unique: str) -> None:
    _, options = split_store_kwargs(minio)
    base = f"s3://{minio.bucket}/{unique}"
    df = _frame()

    df.to_parquet(f"{base}/frame.parquet", storage_options=options)
    back = pd.read_parquet(f"{base}/frame.parquet", storage_options=options)
    pd.testing.assert_frame_equal(back, df)

    df.to_csv(f"{base}/frame.csv", index=False, storage_options=options)
    back_csv = pd.read_csv(f"{base}/frame.csv", storage_options=options)
    pd.testing.assert_frame_equal(back_csv, df)

    # the objects are really there, byte for byte what fsspec reports
    store = S3Store(prefix=unique, **minio.store_kwargs)
    names = {m["path"] for chunk in obstore.list(store) for m in chunk}
    assert names == {"frame.parquet", "frame.csv"}
    raw_csv = bytes(obstore.get(store, "frame.csv").bytes())
    assert raw_csv == df.to_csv(index=False).encode()
    with fsspec.open(f"{base}/frame.csv", "rt", **options) as f:
        assert f.readline().strip() == "id,name,value,flag"

    # partial reads: pyarrow reads only column chunks it needs
    cols = pd.read_parquet(f"{base}/frame.parquet", columns=["value"], storage_options=options)
    pd.testing.assert_frame_equal(cols, df[["value"]])


def test_pyarrow_pyfilesystem_fsspec_handler(minio: Any, unique: str) -> None:
    from pyarrow.fs import (  # type: ignore[import-untyped]
        FileSelector,
        FileType,
        FSSpecHandler,
        PyFileSystem,
    )

    _, options = split_store_kwargs(minio)
    pafs = PyFileSystem(FSSpecHandler(FsspecStore("s3", **options)))
    base = f"{minio.bucket}/{unique}"
    table = pa.Table.from_pandas(_frame(), preserve_index=False)

    pq.write_table(table, f"{base}/t.parquet", filesystem=pafs, row_group_size=100)
    assert pq.read_table(f"{base}/t.parquet", filesystem=pafs).equals(table)
    meta = pq.ParquetFile(f"{base}/t.parquet", filesystem=pafs).metadata
    assert meta.num_row_groups == 5 and meta.num_rows == 500

    with pafs.open_output_stream(f"{base}/csv/t.csv") as out:
        pacsv.write_csv(table, out)
    with pafs.open_input_file(f"{base}/csv/t.csv") as f:
        assert pacsv.read_csv(f).to_pydict() == table.to_pydict()

    # a partitioned dataset: directories exist implicitly under the keys
    pads.write_dataset(
        table.append_column("part", pa.array([i % 4 for i in range(500)])),
        f"{base}/ds",
        format="parquet",
        partitioning=["part"],
        filesystem=pafs,
    )
    infos = pafs.get_file_info(FileSelector(f"{base}/ds", recursive=True))
    files = sorted(i.path for i in infos if i.type == FileType.File)
    dirs = sorted(i.path for i in infos if i.type == FileType.Directory)
    assert len(files) == 4 and dirs == [f"{base}/ds/{p}" for p in range(4)]
    ds = pads.dataset(f"{base}/ds", format="parquet", partitioning=["part"], filesystem=pafs)
    assert ds.to_table().num_rows == 500
    assert (
        pafs.get_file_info(f"{base}/t.parquet").size
        == pafs.open_input_file(f"{base}/t.parquet").size()
    )

    # pandas over the same pyarrow filesystem
    df = pd.read_parquet(f"{base}/t.parquet", filesystem=pafs)
    pd.testing.assert_frame_equal(df, _frame())

    pafs.delete_dir_contents(f"{base}/ds")
    left = pafs.get_file_info(FileSelector(base, recursive=True))
    assert not [i for i in left if "/ds/" in i.path]


def test_pandas_csv_buffered_file_text_mode(minio: Any, unique: str) -> None:
    _, options = split_store_kwargs(minio)
    fs = FsspecStore("s3", **options)
    path = f"{minio.bucket}/{unique}/text.csv"
    with fs.open(path, "w") as f:
        _frame().to_csv(f, index=False)
    with fs.open(path, "rb") as f:
        df = pd.read_csv(f)
    pd.testing.assert_frame_equal(df, _frame())
