"""The compiled module documents itself with the stubs' text: ``help(obstore.get)`` and
``__doc__`` at run time show the docstrings of ``python/obstore/*.pyi``, which reach the Rust
items through the generated ``pydoc!`` macro (scripts/gen_pydoc.py, ``make pydoc``)."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import importlib.util
import inspect
import io
import os
import textwrap
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import obstore
import obstore.store
from obstore import _obstore
from obstore.store import MemoryStore

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_pydoc", ROOT / "scripts" / "gen_pydoc.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()
DOCS: dict[str, str] = GEN.collect()

# Classes of the stubs that are one class at run time: the compiled reader and writer serve
# both APIs, so their members are documented under the sync class (the async stub's text is
# used where the sync class has no such member, as for ``__aenter__``).
ASYNC_TWINS = {"AsyncReadableFile": "ReadableFile", "AsyncWritableFile": "WritableFile"}
# Methods that are ordinary methods at run time (not type slots), so they carry our docstring.
DOCUMENTED_DUNDERS = {"__getnewargs_ex__", "__enter__", "__exit__", "__aenter__", "__aexit__"}


def _result_classes() -> dict[str, type]:
    """The compiled classes that only operations create, by name."""
    store = MemoryStore()
    obstore.put(store, "a", b"line\n")
    result = obstore.get(store, "a")
    reader = obstore.open_reader(store, "a")
    writer = obstore.open_writer(store, "b")
    writer.close()
    classes: dict[str, type] = {
        "GetResult": type(result),
        "BytesStream": type(result.stream()),
        "ListStream": type(obstore.list(store)),
        "ReadableFile": type(reader),
        "WritableFile": type(writer),
    }

    async def async_classes() -> tuple[type, type]:
        reader = await obstore.open_reader_async(store, "a")
        writer = obstore.open_writer_async(store, "c")
        await writer.abort()
        return type(reader), type(writer)

    async_reader, async_writer = asyncio.run(async_classes())
    # The twins' keys are compared against the sync class, which holds only if it is the same.
    assert async_reader is classes["ReadableFile"], "AsyncReadableFile needs pydoc! keys of its own"
    assert async_writer is classes["WritableFile"], "AsyncWritableFile needs pydoc! keys of its own"
    return classes


def _runtime_names() -> dict[str, Any]:
    """Every object of the compiled module the stubs document, by its key's first part."""
    names: dict[str, Any] = {}
    for module in (_obstore, obstore._store, obstore.exceptions):
        names.update(vars(module))
    names.update(_result_classes())
    return names


RUNTIME = _runtime_names()


def _runtime(key: str) -> tuple[Any, str] | None:
    """The run-time object of a stub key and the key whose text it must show, or None where
    the object shows CPython's text (a type slot, the constructor) or does not exist."""
    owner, _, member = key.partition(".")
    twin = ASYNC_TWINS.get(owner)
    if twin is not None:
        if not member or f"{twin}.{member}" in DOCS:
            return None
        owner = twin
    obj = RUNTIME.get(owner)
    if obj is None:
        return None
    if member:
        if member == "__new__":
            return None
        try:
            obj = inspect.getattr_static(obj, member)
        except AttributeError:
            return None
        if type(obj).__name__ == "wrapper_descriptor":
            return None
    return obj, key


def _cases() -> list[Any]:
    cases = []
    for key in DOCS:
        found = _runtime(key)
        if found is not None:
            cases.append(pytest.param(found[0], found[1], id=key))
    return cases


CASES = _cases()


def test_committed_pydoc_rs_is_what_the_stubs_generate() -> None:
    committed = GEN.OUTPUT.read_text(encoding="utf-8")
    if committed != GEN.render():
        pytest.fail(
            "crates/obstore-stores/src/pydoc.rs does not match the stubs' docstrings: "
            "run `make pydoc` and rebuild"
        )


def test_the_comparison_covers_the_compiled_module() -> None:
    keys = {case.id for case in CASES}
    for expected in ("get", "put_async", "Bytes", "Bytes.removeprefix", "GetResult.bytes",
                     "S3Store", "S3Store.from_url", "S3Store.prefix", "HTTPStore.url",
                     "ReadableFile.read", "AsyncWritableFile.__aenter__", "ChecksumMismatchError",
                     "from_url"):  # fmt: skip
        assert expected in keys, f"{expected} is not compared with its run-time docstring"


@pytest.mark.parametrize(("obj", "key"), CASES)
def test_runtime_docstring_is_the_stub_docstring(obj: Any, key: str) -> None:
    assert obj.__doc__ is not None, f"{key} has no docstring at run time"
    assert inspect.cleandoc(obj.__doc__) == DOCS[key]


@pytest.mark.parametrize("name", ["S3Store", "GCSStore", "AzureStore", "HTTPStore", "LocalStore"])
def test_store_classes_of_obstore_store_inherit_the_documented_members(name: str) -> None:
    cls = getattr(obstore.store, name)
    compared = 0
    for key, doc in DOCS.items():
        owner, _, member = key.partition(".")
        if owner == name and member and not member.startswith("__"):
            assert inspect.getdoc(getattr(cls, member)) == doc, f"obstore.store.{key}"
            compared += 1
    assert compared >= 2


def _public_members(cls: type) -> list[str]:
    return [
        name
        for name, value in vars(cls).items()
        if (not name.startswith("_") or name in DOCUMENTED_DUNDERS)
        # Methods and properties; plain class attributes (`BaseError.url = None`) carry none.
        and (inspect.isroutine(value) or inspect.isdatadescriptor(value))
        and type(value).__name__ != "wrapper_descriptor"
    ]


def _public_compiled_items() -> list[str]:
    items = []
    for module in (_obstore, obstore._store, obstore.exceptions):
        for name in getattr(module, "__all__", []):
            value = getattr(module, name)
            if name.startswith("_") or isinstance(value, ModuleType | str):
                continue
            items.append(name)
            if isinstance(value, type) and value.__module__.startswith("obstore"):
                items += [f"{name}.{member}" for member in _public_members(value)]
    for name, cls in _result_classes().items():
        items += [name] + [f"{name}.{member}" for member in _public_members(cls)]
    return sorted(set(items))


def test_every_public_compiled_item_has_a_stub_docstring() -> None:
    twins = {sync: twin for twin, sync in ASYNC_TWINS.items()}
    missing = []
    for item in _public_compiled_items():
        owner, _, member = item.partition(".")
        if item not in DOCS and f"{twins.get(owner)}.{member}" not in DOCS:
            missing.append(item)
    assert not missing, f"no docstring in the stubs for {missing}"


@pytest.mark.parametrize(
    ("module", "name"),
    [
        pytest.param(module, name, id=f"{module.__name__}.{name}")
        for module in (obstore, obstore.store)
        for name in sorted(set(module.__all__))
        if not isinstance(getattr(module, name), ModuleType | str)
    ],
)
def test_every_public_name_has_a_runtime_docstring(module: ModuleType, name: str) -> None:
    assert inspect.getdoc(getattr(module, name)), f"{module.__name__}.{name} has no docstring"


def test_help_of_get_shows_the_parameters_reference() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        help(obstore.get)
    text = out.getvalue()
    assert "get(store, path, *, options=None, verify_checksum=True, progress=None)" in text
    assert "verify_checksum=False" in text
    assert "ChecksumMismatchError" in text
    assert "``progress``: a callable taking an ``obstore.progress.Progress``" in text


def _examples() -> list[Any]:
    """The ``Example:`` blocks of the stub docstrings (the indented lines after the heading)."""
    cases = []
    for key, doc in DOCS.items():
        lines = doc.splitlines()
        for start, line in enumerate(lines):
            if line != "Example:":
                continue
            block = []
            for code in lines[start + 2 :]:
                if code and not code.startswith("    "):
                    break
                block.append(code[4:])
            cases.append(pytest.param(textwrap.dedent("\n".join(block)), id=key))
    return cases


@pytest.mark.parametrize("code", _examples())
def test_docstring_example_runs(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store: Any = MemoryStore()
    for path in ("data.bin", "report.pdf", "logs/a.txt", "logs/b.txt"):
        obstore.put(store, path, b"example")
    if "sign(" in code:
        # Signing is computed locally from these credentials: no request leaves the process.
        for name in [name for name in os.environ if name.startswith("AWS_")]:
            monkeypatch.delenv(name)
        store = obstore.store.S3Store(
            "bucket", access_key_id="AKIDEXAMPLE", secret_access_key="SECRET", region="eu-west-1"
        )
    classes = {name: getattr(obstore.store, name) for name in obstore.store.__all__}
    exec(code, {**classes, "obstore": obstore, "store": store, "timedelta": timedelta})


def _stub_parameters(stub: str, qualified: str) -> list[str]:
    tree = ast.parse((ROOT / "python" / "obstore" / stub).read_text(encoding="utf-8"))
    body: list[ast.stmt] = tree.body
    *classes, name = qualified.split(".")
    for cls in classes:
        body = next(n for n in body if isinstance(n, ast.ClassDef) and n.name == cls).body
    node = next(
        n for n in body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name
    )
    args = node.args
    every = args.posonlyargs + args.args + args.kwonlyargs
    names = [a.arg for a in every]
    if args.vararg:
        names.append(args.vararg.arg)
    if args.kwarg:
        names.extend(_unpacked(tree, args.kwarg))
    return [n for n in names if n not in ("self", "cls")]


def _unpacked(tree: ast.Module, kwarg: ast.arg) -> list[str]:
    """The keywords ``**kwargs: Unpack[SomeTypedDict]`` stands for (its fields, bases first)."""
    annotation = kwarg.annotation
    if not (isinstance(annotation, ast.Subscript) and ast.unparse(annotation.value) == "Unpack"):
        return [kwarg.arg]
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}

    def fields(name: str) -> list[str]:
        node = classes[name]
        inherited = [
            f for base in node.bases if (b := ast.unparse(base)) in classes for f in fields(b)
        ]
        own = [
            s.target.id
            for s in node.body
            if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
        ]
        return inherited + own

    return fields(ast.unparse(annotation.slice))


@pytest.mark.parametrize(
    ("obj", "stub", "qualified"),
    [
        pytest.param(obj, stub, qualified, id=qualified)
        for obj, stub, qualified in [
            (obstore.get, "_obstore.pyi", "get"),
            (obstore.put_async, "_obstore.pyi", "put_async"),
            (obstore.open_writer, "_obstore.pyi", "open_writer"),
            (obstore.Bytes.removeprefix, "_obstore.pyi", "Bytes.removeprefix"),
            (RUNTIME["ReadableFile"].seek, "_obstore.pyi", "ReadableFile.seek"),
            (obstore.store.LocalStore.from_url, "_store.pyi", "LocalStore.from_url"),
        ]
    ],
)
def test_text_signature_survives_the_docstring(obj: Any, stub: str, qualified: str) -> None:
    runtime = [name for name in inspect.signature(obj).parameters if name != "self"]
    assert runtime == _stub_parameters(stub, qualified)


@pytest.mark.parametrize("name", obstore.store._STORE_CLASSES, ids=lambda cls: cls.__name__)
def test_store_classes_of_obstore_store_carry_the_stub_class_docstring(name: type) -> None:
    """``obstore.store.S3Store.__doc__`` (and ``help()``) is the reference text of the stub."""
    assert inspect.cleandoc(name.__doc__ or "") == DOCS[name.__name__]
    assert "Example:" in DOCS[name.__name__] or name.__name__ == "LocalStore"


@pytest.mark.parametrize(
    ("function", "parameter", "default"),
    [
        (obstore.put, "chunk_size", 5 * 1024 * 1024),
        (obstore.get_ranges, "coalesce", 1024 * 1024),
        (obstore.open_reader, "buffer_size", 1024 * 1024),
        (obstore.open_writer, "buffer_size", 10 * 1024 * 1024),
        (obstore.store.MemoryStore().put, "chunk_size", 5 * 1024 * 1024),
    ],
)
def test_help_shows_every_default_as_its_value(function: Any, parameter: str, default: int) -> None:
    """A default written as an expression in the core would show as ``...`` in ``help()``."""
    assert inspect.signature(function).parameters[parameter].default == default


def test_help_of_get_result_stream_shows_its_default_chunk_size() -> None:
    stream = RUNTIME["GetResult"].stream
    assert inspect.signature(stream).parameters["min_chunk_size"].default == 10 * 1024 * 1024
