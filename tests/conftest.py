"""Shared fixtures for the conformance suite: one `store` fixture parametrized over every backend.

Each store kind is one row of ``BACKENDS``: what it can do, its store class and, for server
kinds, the ``tests.servers.start`` kind. ``OBSTORE_TEST_STORES`` (comma separated, default
``memory,local``) chooses the kinds that run, e.g. ``OBSTORE_TEST_STORES=memory,s3-moto pytest``.
Servers start lazily, once per session; each test gets its own unique prefix on them.

The whole run stays on this machine: ``tests.network_guard`` fails any test whose Python sockets
reach beyond loopback, and the instance-metadata fallbacks of the credential chains are switched
off or pointed at a closed loopback port (below), so a store without credentials fails at once.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import random
import shutil
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import obstore
from obstore.store import LocalStore, MemoryStore

pytest_plugins = ("tests.network_guard",)

#: A loopback port nothing listens on: a metadata request sent there is refused at once.
CLOSED_LOOPBACK = "127.0.0.1:1"

# Credential chains that find no credentials ask the cloud's instance-metadata service, which is
# off the machine (169.254.169.254, metadata.google.internal). botocore skips it when
# AWS_EC2_METADATA_DISABLED is true; the stores read their metadata endpoints from
# AWS_METADATA_ENDPOINT, AZURE_MSI_ENDPOINT and (object_store, like google-auth) GCE_METADATA_HOST
# and GCE_METADATA_IP. setdefault: a run may still point them elsewhere on purpose.
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
os.environ.setdefault("AWS_METADATA_ENDPOINT", f"http://{CLOSED_LOOPBACK}")
os.environ.setdefault(
    "AZURE_MSI_ENDPOINT", f"http://{CLOSED_LOOPBACK}/metadata/identity/oauth2/token"
)
os.environ.setdefault("GCE_METADATA_HOST", CLOSED_LOOPBACK)
os.environ.setdefault("GCE_METADATA_IP", CLOSED_LOOPBACK)


@dataclass(frozen=True)
class Backend:
    """What one store kind can do; tests assert NotImplementedError where it can't."""

    kind: str
    #: what put(attributes=...) does: "stored" (returned by get().attributes), "raises"
    #: (NotImplementedError), or "ignored" (accepted, not stored, e.g. WebDAV)
    attributes: str
    #: put(mode="create") is honoured (AlreadyExistsError on an existing object)
    conditional_put: bool
    #: put(mode=<PutResult of the current object>) (UpdateVersion) is honoured
    update_version: bool
    #: copy/rename(overwrite=False) is honoured (AlreadyExistsError on an existing destination)
    copy_if_not_exists: bool
    #: multipart uploads (put of iterables, or of sized input above chunk_size)
    multipart: bool
    #: delete of a missing object raises FileNotFoundError (otherwise it silently succeeds)
    delete_missing_raises: bool
    #: list(offset=...) is honoured by the server
    list_offset: bool = True
    #: get(if_modified_since=<future date>) raises NotModifiedError; HTTP servers ignore an
    #: If-Modified-Since date later than their clock as invalid, so only in-process stores do
    if_modified_since: bool = True
    #: objects carry a version id that get(options={"version": ...}) understands
    versions: bool = False
    #: the server rejects a version id it never issued (Azurite and WebDAV ignore it)
    rejects_unknown_version: bool = True
    #: the server honours `If-Match: *` (moto 5.2 answers 412 to it; real S3 does not)
    if_match_star: bool = True
    #: class name in `obstore.store` of the stores built for this kind
    store_class: str = ""
    #: kind name understood by ``tests.servers.start`` ("" for in-process stores)
    server: str = ""


BACKENDS: dict[str, Backend] = {
    "memory": Backend(
        "memory",
        attributes="stored",
        conditional_put=True,
        update_version=True,
        copy_if_not_exists=True,
        multipart=True,
        delete_missing_raises=False,
        store_class="MemoryStore",
    ),
    "local": Backend(
        "local",
        attributes="raises",
        conditional_put=True,
        update_version=False,
        copy_if_not_exists=True,
        multipart=True,
        delete_missing_raises=True,
        store_class="LocalStore",
    ),
    # Server-backed kinds; capabilities as measured in tests/servers/__init__.py's matrix.
    "s3-minio": Backend(
        "s3-minio",
        attributes="stored",
        conditional_put=True,
        update_version=True,
        copy_if_not_exists=True,
        multipart=True,
        delete_missing_raises=False,
        if_modified_since=False,
        store_class="S3Store",
        server="minio",
    ),
    "s3-moto": Backend(
        "s3-moto",
        attributes="stored",
        conditional_put=True,
        update_version=True,
        copy_if_not_exists=True,
        multipart=True,
        delete_missing_raises=False,
        if_modified_since=False,
        if_match_star=False,
        store_class="S3Store",
        server="moto",
    ),
    "azurite": Backend(
        "azurite",
        attributes="stored",
        conditional_put=True,
        update_version=True,
        copy_if_not_exists=True,
        multipart=True,
        delete_missing_raises=True,
        if_modified_since=False,
        rejects_unknown_version=False,
        store_class="AzureStore",
        server="azurite",
    ),
    "gcs": Backend(
        "gcs",
        attributes="stored",
        conditional_put=True,
        update_version=True,
        copy_if_not_exists=True,
        multipart=True,
        delete_missing_raises=True,
        versions=True,  # the object generation
        if_modified_since=False,
        store_class="GCSStore",
        server="gcs",
    ),
    "webdav": Backend(
        "webdav",
        attributes="ignored",
        conditional_put=False,
        update_version=False,
        copy_if_not_exists=True,
        multipart=False,
        delete_missing_raises=True,
        if_modified_since=False,
        rejects_unknown_version=False,
        store_class="HTTPStore",
        server="webdav",
    ),
}


def _store_kinds() -> list[str]:
    requested = os.environ.get("OBSTORE_TEST_STORES", "memory,local")
    kinds = [kind.strip() for kind in requested.split(",") if kind.strip()]
    unknown = [kind for kind in kinds if kind not in BACKENDS]
    if unknown:
        raise pytest.UsageError(f"OBSTORE_TEST_STORES has unknown store kinds: {unknown}")
    return kinds


STORE_KINDS = _store_kinds()


def _server_store(backend: Backend, server: Any, prefix: str) -> Any:
    """A store on `server` confined to `prefix`, so each test starts empty."""
    import obstore.store

    cls = getattr(obstore.store, backend.store_class)
    kwargs = dict(server.store_kwargs)
    if backend.store_class == "HTTPStore":
        # HTTPStore has no prefix argument: the URL path is the prefix.
        # WebDAV answers 404 (not 409) for a PUT below a missing collection, so create the prefix
        # collection first: a nested put from the root creates it, and the delete empties it again.
        root = cls(**kwargs)
        root.put(f"{prefix}/.create-collection", b"")
        root.delete(f"{prefix}/.create-collection")
        kwargs["url"] = f"{kwargs['url'].rstrip('/')}/{prefix}"
        return cls(**kwargs)
    return cls(prefix=prefix, **kwargs)


class _Servers:
    """Starts each server kind at most once per session, on first use."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._running: dict[str, Any] = {}

    def get(self, kind: str) -> Any:
        if kind not in self._running:
            import tests.servers  # lazily: only server kinds need it

            workdir = self._workdir / kind
            workdir.mkdir(parents=True, exist_ok=True)
            self._running[kind] = tests.servers.start(kind, workdir)
        return self._running[kind]

    def stop_all(self) -> None:
        """Stop every server, then drop its data (MinIO's alone reaches 2.4 GB in a full run);
        the logs stay, for a session that failed."""
        for server in self._running.values():
            server.stop()
        self._running.clear()
        for entry in self._workdir.glob("*/*"):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Servers]:
    running = _Servers(tmp_path_factory.mktemp("servers"))
    yield running
    running.stop_all()


@pytest.fixture(params=STORE_KINDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """The capability description of the store kind under test."""
    return BACKENDS[request.param]


@pytest.fixture
def store(backend: Backend, request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A fresh, empty `obstore.store.*` instance of the kind described by `backend`."""
    if backend.kind == "memory":
        return MemoryStore()
    if backend.kind == "local":
        root = tmp_path / "store"
        root.mkdir()
        return LocalStore(root)
    server = request.getfixturevalue("servers").get(backend.server)
    return _server_store(backend, server, f"test-{uuid.uuid4().hex}")


# --------------------------------------------------------------------------------------------------
# Calling the API four ways: module function or store method, sync or async.


class Api:
    """Calls an operation as ``obstore.<op>(store, ...)`` or ``store.<op>(...)``, sync or async.

    Async variants are awaited inside a fresh event loop so the same test body covers all four.
    """

    def __init__(self, style: str, is_async: bool) -> None:
        self.style = style
        self.is_async = is_async

    def __repr__(self) -> str:
        return f"{self.style}-{'async' if self.is_async else 'sync'}"

    def _function(self, store: Any, name: str) -> Callable[..., Any]:
        if self.is_async:
            name += "_async"
        if self.style == "method":
            return getattr(store, name)  # type: ignore[no-any-return]
        function = getattr(obstore, name)
        return lambda *args, **kwargs: function(store, *args, **kwargs)

    def call(self, name: str, store: Any, *args: Any, **kwargs: Any) -> Any:
        function = self._function(store, name)
        if not self.is_async:
            return function(*args, **kwargs)

        async def run() -> Any:
            return await function(*args, **kwargs)

        return asyncio.run(run())

    def get_bytes(self, store: Any, path: str, **kwargs: Any) -> bytes:
        """get() then read the whole body (bytes() or bytes_async())."""
        function = self._function(store, "get")
        if not self.is_async:
            return bytes(function(path, **kwargs).bytes())

        async def run() -> bytes:
            result = await function(path, **kwargs)
            return bytes(await result.bytes_async())

        return asyncio.run(run())

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda store, *args, **kwargs: self.call(name, store, *args, **kwargs)


API_VARIANTS = [
    Api("function", False),
    Api("function", True),
    Api("method", False),
    Api("method", True),
]


@pytest.fixture(params=API_VARIANTS, ids=repr)
def api(request: pytest.FixtureRequest) -> Api:
    return request.param  # type: ignore[no-any-return]


def assert_meta_path(reported: str, path: str) -> None:
    """The path in get().meta and head() is `path`, or (S3/GCS/Azure) ends in "/" + `path`."""
    assert reported == path or reported.endswith("/" + path), (reported, path)


# --------------------------------------------------------------------------------------------------
# Data


#: Large enough to stream in many chunks and to need several multipart parts.
BIG_SIZE = 12 * 1024 * 1024


@pytest.fixture(scope="session")
def big_data() -> bytes:
    return random.Random(1234).randbytes(BIG_SIZE)


#: Empty, one byte, and a few KiB of non-text data.
SMALL_PAYLOADS = {
    "empty": b"",
    "one-byte": b"\x00",
    "binary-4k": bytes(range(256)) * 16,
}


@pytest.fixture(params=sorted(SMALL_PAYLOADS))
def payload(request: pytest.FixtureRequest) -> bytes:
    return SMALL_PAYLOADS[request.param]


def run(make_awaitable: Callable[[], Any]) -> Any:
    """Await ``make_awaitable()`` on a fresh event loop (the suite does not need pytest-asyncio).

    The callable is invoked inside the running loop, because obstore's ``*_async`` module functions
    create their future at call time and need a running loop then.
    """

    async def main() -> Any:
        return await make_awaitable()

    return asyncio.run(main())


def in_forked_child(child: Callable[[], bool], timeout: float = 20) -> None:
    """Run ``child`` in a forked child process and fail unless it returns True in ``timeout``."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.alarm(int(timeout))
            code = 0 if child() else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout + 10
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("forked child hung")
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"child status {status}"


def sigint_as_in_a_terminal() -> None:
    """``preexec_fn`` of a child that a test interrupts: SIGINT back to its default, which Python
    turns into KeyboardInterrupt as in a terminal. A suite started in the background (``cmd &``
    in a script) runs with SIGINT ignored, and children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def default_sigint() -> Iterator[None]:
    """Python's own SIGINT handler (KeyboardInterrupt) for one test, also where the suite was
    started with SIGINT ignored; a test runner's handler of its own skips the test."""
    previous = signal.getsignal(signal.SIGINT)
    if previous not in (signal.default_int_handler, signal.SIG_IGN, signal.SIG_DFL):
        pytest.skip("SIGINT has a handler of its own here")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def is_reference() -> bool:
    """True when the suite runs against the upstream PyPI obstore 0.12.1, used as an oracle.

    Only used to xfail tests where 0.12.1 panics or returns a wrong result and our implementation
    does the sensible thing. ``OBSTORE_TEST_REFERENCE=1``/``0`` overrides the detection.
    """
    override = os.environ.get("OBSTORE_TEST_REFERENCE")
    if override is not None:
        return override == "1"
    try:
        metadata = importlib.metadata.metadata("obstore")
    except importlib.metadata.PackageNotFoundError:
        return False
    return metadata["Version"] == "0.12.1" and "developmentseed.org" in (
        metadata.json.get("home_page") or ""
    )


#: Marks a test of the sensible behaviour where the reference panics or has a recorded bug.
reference_bug = pytest.mark.xfail(
    condition=is_reference(),
    reason="obstore 0.12.1 (reference) panics or misbehaves here; our implementation must not",
    strict=True,
)


# The function and method forms differ only by a line of Python delegation, proven on every
# variant by the in-process stores; against servers one sync and one async form suffice, which
# keeps the suite's run time within the CI budget.
SERVER_API_VARIANTS = {"function-sync", "method-async"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        params = getattr(item, "callspec", None)
        params = params.params if params is not None else {}
        kind = params.get("backend")
        api = params.get("api")
        if kind in BACKENDS and BACKENDS[kind].server and api is not None:
            (keep if repr(api) in SERVER_API_VARIANTS else drop).append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
