"""The public names of `obstore`, `obstore.store` and the compiled module, their signatures and
async kinds, and the exception hierarchy (which builtin exception each error also is)."""

from __future__ import annotations

import importlib
import inspect
import sys

import pytest

import obstore
import obstore.exceptions
import obstore.store

from .conftest import reference_bug

FUNCTIONS = [
    "copy",
    "copy_async",
    "delete",
    "delete_async",
    "get",
    "get_async",
    # ours: not in obstore 0.12 (a parallel download; see README "Beyond obstore 0.12")
    "get_parallel",
    "get_parallel_async",
    "get_range",
    "get_range_async",
    "get_ranges",
    "get_ranges_async",
    "head",
    "head_async",
    "list",
    "list_with_delimiter",
    "list_with_delimiter_async",
    "open_reader",
    "open_reader_async",
    "open_writer",
    "open_writer_async",
    "parse_scheme",
    "put",
    "put_async",
    "rename",
    "rename_async",
    "sign",
    "sign_async",
]

RUNTIME_NAMES = [
    *FUNCTIONS,
    "Bytes",
    "__version__",
    "_object_store_version",
    "_object_store_source",
    "_store",
    "store",
    "exceptions",
]

# Type names that obstore 0.12 had in its stubs only; we define them at runtime as well.
TYPE_NAMES = [
    "HTTP_METHOD",
    "Attribute",
    "Attributes",
    "GetOptions",
    "ListChunkType",
    "ListResult",
    "ObjectMeta",
    "OffsetRange",
    "PutMode",
    "PutResult",
    "SignCapableStore",
    "SuffixRange",
    "UpdateVersion",
]

# Classes of returned objects: not constructible, so not exported.
RETURNED_CLASS_NAMES = [
    "AsyncReadableFile",
    "AsyncWritableFile",
    "BytesStream",
    "GetResult",
    "ListStream",
    "ReadableFile",
    "WritableFile",
]

STORE_CLASSES = ["AzureStore", "GCSStore", "HTTPStore", "LocalStore", "MemoryStore", "S3Store"]

EXCEPTIONS = [
    "BaseError",
    "GenericError",
    "NotFoundError",
    "InvalidPathError",
    "JoinError",
    "NotSupportedError",
    "AlreadyExistsError",
    "PreconditionError",
    "NotModifiedError",
    "PermissionDeniedError",
    "UnauthenticatedError",
    "UnknownConfigurationKeyError",
    "ChecksumMismatchError",
]


@pytest.mark.parametrize("name", RUNTIME_NAMES)
def test_obstore_runtime_names(name: str) -> None:
    assert hasattr(obstore, name)
    exec(f"from obstore import {name}", {})


@pytest.mark.parametrize("name", RETURNED_CLASS_NAMES)
def test_obstore_returned_classes_not_exported(name: str) -> None:
    with pytest.raises(ImportError):
        exec(f"from obstore import {name}", {})


@reference_bug  # 0.12.1 defined these in its stubs only
@pytest.mark.parametrize("name", TYPE_NAMES)
def test_obstore_type_names_importable_at_runtime(name: str) -> None:
    # obstore 0.12 had these in its stubs only (importing them raised ImportError); we define
    # them at runtime too so annotations and `from obstore import ObjectMeta` just work.
    exec(f"from obstore import {name}", {})


def test_no_list_async_function() -> None:
    assert not hasattr(obstore, "list_async")


def test_obstore_all() -> None:
    assert obstore.__all__[:2] == ["exceptions", "store"]
    assert set(obstore.__all__) == set(RUNTIME_NAMES)
    namespace: dict[str, object] = {}
    exec("from obstore import *", namespace)
    for name in FUNCTIONS + ["Bytes", "exceptions", "store"]:
        assert name in namespace


def test_compiled_module_all() -> None:
    compiled = importlib.import_module("obstore._obstore")
    compiled_all = getattr(compiled, "__all__")  # noqa: B009 - not in the stub
    assert set(compiled_all) == set(RUNTIME_NAMES) - {"store"}
    for name in compiled_all:
        assert getattr(compiled, name) is getattr(obstore, name)


def test_versions() -> None:
    assert obstore.__version__ == "0.12.1"
    assert isinstance(obstore._object_store_version, str)
    assert obstore._object_store_version.count(".") == 2
    assert obstore._object_store_source.startswith("registry+")


def test_submodules_registered() -> None:
    for name in ["obstore._store", "obstore.exceptions", "obstore.store"]:
        assert name in sys.modules
    assert obstore._store is sys.modules["obstore._store"]
    assert obstore.exceptions is sys.modules["obstore.exceptions"]
    assert obstore.store is sys.modules["obstore.store"]


def test_raw_store_module() -> None:
    raw = obstore._store
    assert set(getattr(raw, "__all__")) == {"from_url", *STORE_CLASSES}  # noqa: B009
    for name in STORE_CLASSES:
        cls = getattr(raw, name)
        for method in ["get", "put", "list", "head", "delete", "copy", "rename"]:
            assert not hasattr(cls, method), (name, method)


def test_store_module() -> None:
    for name in [*STORE_CLASSES, "from_url"]:
        assert name in obstore.store.__all__
        assert hasattr(obstore.store, name)
    for name in STORE_CLASSES:
        cls = getattr(obstore.store, name)
        assert cls.__mro__[1] is obstore.store.ObjectStoreMethods
        assert issubclass(cls, getattr(obstore._store, name))
    union_members = set(obstore.store.ObjectStore.__args__)
    assert union_members == {getattr(obstore.store, name) for name in STORE_CLASSES}


def test_returned_class_modules() -> None:
    assert obstore.Bytes.__module__ == "obstore"
    store = obstore.store.MemoryStore()
    store.put("a", b"x")
    result = store.get("a")
    assert type(result).__name__ == "GetResult"
    assert type(result).__module__ == "builtins"
    stream = result.stream()
    assert type(stream).__name__ == "BytesStream"
    assert type(stream).__module__ == "builtins"
    listing = store.list()
    assert type(listing).__name__ == "ListStream"
    assert type(listing).__module__ == "builtins"


def test_async_function_kinds() -> None:
    # Module functions return futures (not coroutine functions); methods are real coroutines.
    assert not inspect.iscoroutinefunction(obstore.get_async)
    for name in [
        "get_async",
        "put_async",
        "head_async",
        "delete_async",
        "copy_async",
        "rename_async",
    ]:
        assert inspect.iscoroutinefunction(getattr(obstore.store.ObjectStoreMethods, name))
    assert not inspect.iscoroutinefunction(obstore.store.ObjectStoreMethods.list_async)


def test_method_signatures() -> None:
    methods = obstore.store.ObjectStoreMethods
    assert list(inspect.signature(methods.get).parameters) == [
        "self",
        "path",
        "options",
        "verify_checksum",
        "progress",
    ]
    parameters = inspect.signature(methods.put).parameters
    assert list(parameters) == [
        "self",
        "path",
        "file",
        "attributes",
        "tags",
        "mode",
        "use_multipart",
        "chunk_size",
        "max_concurrency",
        "progress",
        "checksum",
    ]
    assert parameters["chunk_size"].default == 5 * 1024 * 1024
    assert parameters["max_concurrency"].default == 12
    assert parameters["checksum"].default == "default"
    assert inspect.signature(methods.list).parameters["chunk_size"].default == 50
    assert inspect.signature(methods.get_ranges).parameters["coalesce"].default == 1024 * 1024
    assert not hasattr(methods, "sign")
    assert not hasattr(methods, "open_reader")


def test_configuration_types_load_when_first_used() -> None:
    # `import obstore` leaves the 15 configuration classes unmade (3.6 ms of the import);
    # `obstore.store` makes them on first access, and `import *` still gives them.
    import subprocess

    probe = (
        "import sys, obstore, obstore.store\n"
        "assert 'obstore._config' not in sys.modules\n"
        "from obstore.store import *\n"
        "assert S3Config is sys.modules['obstore._config'].S3Config\n"
        "assert 'RetryConfig' in dir(obstore.store)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    with pytest.raises(AttributeError, match="has no attribute 'S3Konfig'"):
        obstore.store.S3Konfig  # noqa: B018


# --------------------------------------------------------------------------------------------------
# Exceptions


def test_exceptions_all() -> None:
    assert set(getattr(obstore.exceptions, "__all__")) == set(EXCEPTIONS)  # noqa: B009


@pytest.mark.parametrize("name", EXCEPTIONS)
def test_exception_hierarchy(name: str) -> None:
    cls = getattr(obstore.exceptions, name)
    assert cls.__module__ == "obstore.exceptions"
    assert issubclass(cls, Exception)
    if name == "BaseError":
        assert cls.__bases__ == (Exception,)
    elif name == "NotFoundError":
        # A missing bucket: caught by `except FileNotFoundError` like a missing object.
        assert cls.__bases__ == (obstore.exceptions.BaseError, FileNotFoundError)
    else:
        assert cls.__bases__ == (obstore.exceptions.BaseError,)
    error = cls("message")
    assert str(error) == "message"


def test_not_found_is_builtin() -> None:
    # A missing object raises the builtin FileNotFoundError; NotFoundError is a missing bucket.
    store = obstore.store.MemoryStore()
    with pytest.raises(FileNotFoundError) as info:
        store.head("missing")
    assert not isinstance(info.value, obstore.exceptions.NotFoundError)
