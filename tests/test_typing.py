# mypy: warn-unused-ignores
"""What type checkers see of the store classes, ``from_url`` and the store methods.

``mypy tests`` checks each ``assert_type`` here and that each ``# type: ignore[...]`` still
marks an error (``warn-unused-ignores``: a mistyped keyword that type-checks fails it);
pytest runs the same calls against a local directory, so the types describe what the calls
really return. No store here sends a request: the cloud stores are only constructed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, assert_type

import pytest
from arro3.core import RecordBatch, Table  # noqa: F401 (RecordBatch: in quoted types)

from obstore import Bytes, ListResult, ObjectMeta, PutResult, _store
from obstore.exceptions import UnknownConfigurationKeyError
from obstore.store import (
    AzureConfig,
    AzureStore,
    GCSConfig,
    GCSStore,
    HTTPStore,
    LocalStore,
    ObjectStore,
    S3Config,
    S3CredentialProvider,
    S3Store,
    from_url,
)

if TYPE_CHECKING:
    # Not importable at runtime (the compiled core does not export these classes), so the
    # types naming them are quoted, which ruff does not read.
    from obstore import GetResult, ListStream  # noqa: F401


def test_store_classes_keep_their_class_and_config_type(tmp_path: Path) -> None:
    s3 = S3Store("b", prefix="p", region="eu-west-1", skip_signature=True)
    assert_type(s3, S3Store)
    assert_type(s3.config, S3Config)
    assert_type(s3.credential_provider, S3CredentialProvider | None)
    assert_type(s3.prefix, str | None)
    assert s3.config == {"bucket": "b", "region": "eu-west-1", "skip_signature": "true"}
    gcs = GCSStore.from_url("gs://b/p", skip_signature=True)
    assert_type(gcs, GCSStore)
    assert_type(gcs.config, GCSConfig)
    azure = AzureStore.from_url("az://c", account_name="a", skip_signature=True)
    assert_type(azure, AzureStore)
    assert_type(azure.config, AzureConfig)
    http = HTTPStore("http://127.0.0.1:1/x", client_options={"allow_http": True})
    assert_type(http.url, str)
    local = LocalStore.from_url(tmp_path.as_uri(), mkdir=True, automatic_cleanup=True)
    assert_type(local, LocalStore)
    assert_type(local.prefix, Path | None)
    assert_type(_store.S3Store.from_url("s3://b", skip_signature=True), _store.S3Store)


def test_from_url_returns_a_store_of_the_module(tmp_path: Path) -> None:
    store = from_url(tmp_path.as_uri(), mkdir=True)
    assert_type(store, ObjectStore)
    assert type(store) is LocalStore
    s3 = from_url("s3://b", region="eu-west-1", skip_signature=True)
    assert type(s3) is S3Store


def test_misspelled_or_mistyped_keywords_are_type_errors() -> None:
    with pytest.raises(UnknownConfigurationKeyError, match="regoin"):
        S3Store("b", regoin="eu-west-1")  # type: ignore[call-arg]
    with pytest.raises(UnknownConfigurationKeyError, match="regoin"):
        S3Store.from_url("s3://b", regoin="eu-west-1")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        LocalStore(mkdir="yes")  # type: ignore[arg-type]
    with pytest.raises(UnknownConfigurationKeyError, match="regoin"):
        from_url("s3://b", regoin="eu-west-1")  # type: ignore[call-overload]


def test_store_methods_return_what_the_functions_return(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    assert_type(store.put("a/b", b"xy"), PutResult)
    assert_type(store.get("a/b"), "GetResult")
    assert_type(store.get_range("a/b", start=0, length=1), Bytes)
    assert_type(store.get_ranges("a/b", starts=[0], lengths=[1]), list[Bytes])
    assert_type(store.head("a/b"), ObjectMeta)
    assert_type(store.list(), "ListStream[Sequence[ObjectMeta]]")
    assert_type(store.list("a", return_arrow=True), "ListStream[RecordBatch]")
    assert_type(store.list_async("a", chunk_size=10), "ListStream[Sequence[ObjectMeta]]")
    listing = store.list_with_delimiter("a")
    assert_type(listing, ListResult[Sequence[ObjectMeta]])
    assert [meta["path"] for meta in listing["objects"]] == ["a/b"]
    assert_type(store.list_with_delimiter(return_arrow=True), ListResult[Table])
    assert_type(store.delete("a/b"), None)
    with pytest.raises(TypeError):
        store.get("a/b", bogus=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        store.list(offst="a")  # type: ignore[call-overload]


async def test_async_store_methods_return_what_the_functions_return(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    assert_type(await store.put_async("a", b"xy"), PutResult)
    result = await store.get_async("a")
    assert_type(result, "GetResult")
    assert await result.bytes_async() == b"xy"
    assert_type(await store.head_async("a"), ObjectMeta)
    listing = await store.list_with_delimiter_async()
    assert_type(listing, ListResult[Sequence[ObjectMeta]])
    assert_type(await store.list_with_delimiter_async(return_arrow=True), ListResult[Table])
    assert_type(await store.get_parallel_async("a"), Bytes)
