"""The public functions of ``obstore.transfer``: each ``*_async`` function holds the logic and
its sync twin runs it in an event loop of its own."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, Callable, Coroutine, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, Literal, ParamSpec, TypedDict, TypeVar, Unpack, get_args

from obstore._types import ChecksumAlgorithm
from obstore.progress import Progress

from .._filter import Filter
from ._engine import Run, Settings, check_executor
from ._large import part_size_or_default
from ._location import Location, LocationLike, resolve
from ._objects import PartOptions
from ._plan import Compare, Task, Totals, list_entries, plan_copy, plan_delete, plan_sync
from ._report import Action, TransferReport

T = TypeVar("T")
P = ParamSpec("P")


class TransferOptions(TypedDict, total=False):
    """Keyword arguments common to ``copy``, ``move``, ``sync`` and ``delete_prefix``."""

    include: Sequence[str] | None
    """Glob patterns (``fnmatch``; ``*`` and ``**`` match across ``/``) on the path relative
    to the source: only matching objects are handled. ``None``: all."""
    exclude: Sequence[str] | None
    """Glob patterns of objects to leave alone (applied after ``include``)."""
    dry_run: bool
    """Report (and pass to ``on_action``) what would be done; change nothing."""
    max_concurrency: int
    """Objects in flight at once (default 64)."""
    part_size: int | None
    """Bytes per part of a large object; ``None``: 16 MiB, grown for uploads so that an
    object fits in 10,000 parts (uploads use at least 5 MiB)."""
    part_concurrency: int
    """Parts in flight per large object (default 8)."""
    checksum: ChecksumAlgorithm | Literal["default"] | None
    """The checksum every upload request at the destination carries, parts included, as
    ``checksum=`` of ``obstore.put``: ``"default"`` (the store's setting, the default),
    ``None`` (none) or an algorithm the destination store takes."""
    progress: Callable[[Progress], None] | None
    """Called with a ``Progress`` at most 10 times per second, and once with ``done=True``.
    Bytes count as they move, except files uploaded in one request and server-side copies,
    which count when done; with an executor, each batch counts when it has finished."""
    on_action: Callable[[Action], None] | None
    """Called once per finished action (transfer, skip, delete), failed ones included."""
    fail_fast: bool
    """Raise the first error (after stopping the other transfers) instead of reporting it."""
    executor: Executor | Any | None
    """A ``concurrent.futures.Executor`` or ``dask.distributed.Client`` to run batches of
    transfers on; ``None``: here, in this event loop."""


_OPTION_NAMES = frozenset(TransferOptions.__annotations__)


class _Options:
    """``TransferOptions`` checked, with their defaults."""

    def __init__(self, options: TransferOptions, *, remove_source: bool = False) -> None:
        unknown = sorted(set(options) - _OPTION_NAMES)
        if unknown:
            raise TypeError(f"unexpected keyword argument(s): {', '.join(unknown)}")
        max_concurrency = options.get("max_concurrency", 64)
        part_concurrency = options.get("part_concurrency", 8)
        for name, value in (
            ("max_concurrency", max_concurrency),
            ("part_concurrency", part_concurrency),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")
        part_size = options.get("part_size")
        checksum = options.get("checksum", "default")
        _check_checksum(checksum)
        self.keep = Filter(options.get("include"), options.get("exclude"))
        self.settings = Settings(
            dry_run=bool(options.get("dry_run", False)),
            max_concurrency=max_concurrency,
            parts=PartOptions(
                part_size_or_default(part_size), part_size, part_concurrency, checksum
            ),
            fail_fast=bool(options.get("fail_fast", False)),
            remove_source=remove_source,
        )
        self.progress = options.get("progress")
        self.on_action = options.get("on_action")
        self.executor = options.get("executor")

    def run(self, totals: Totals) -> Run:
        return Run(self.settings, totals, progress=self.progress, on_action=self.on_action)


#: The algorithm names ``checksum`` takes (``ChecksumAlgorithm`` is a union of one-name Literals).
_CHECKSUM_NAMES = tuple(name for one in get_args(ChecksumAlgorithm) for name in get_args(one))


def _check_checksum(checksum: object) -> None:
    """Raises before any transfer for a ``checksum`` that no store takes (whether the
    destination store takes an algorithm is its upload's to say)."""
    if checksum is None:
        return
    if not isinstance(checksum, str):
        raise TypeError(f"checksum must be a str or None, got {type(checksum).__name__}")
    if checksum.lower() not in ("default", *_CHECKSUM_NAMES):
        names = ", ".join(f'"{name}"' for name in _CHECKSUM_NAMES)
        raise ValueError(
            f'checksum="{checksum}" is not a checksum algorithm: expected one of {names}, '
            'None or "default"'
        )


def _sync_twin(function: Callable[P, Coroutine[Any, Any, T]], doc: str) -> Callable[P, T]:
    """The sync twin of the ``*_async`` function ``function``: the same signature, run to
    its end by ``_run_sync``."""

    @functools.wraps(function)
    def twin(*args: P.args, **kwargs: P.kwargs) -> T:
        return _run_sync(lambda: function(*args, **kwargs))

    twin.__name__ = twin.__qualname__ = function.__name__.removesuffix("_async")
    twin.__doc__ = doc
    return twin


def _run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``make()`` to its end from synchronous code.

    Without a running event loop in this thread: ``asyncio.run`` (Ctrl-C cancels the work,
    which cleans up, then raises ``KeyboardInterrupt``). Inside a running loop (a notebook,
    a coroutine): on a private thread with a loop of its own, the caller's thread waiting.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(1, thread_name_prefix="obstore-transfer") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


async def _execute(
    run: Run, plan: AsyncGenerator[Task, None], source: Location, options: _Options
) -> None:
    """The tasks of ``plan``: on ``options.executor`` when there is one (and this is no dry
    run), else here."""
    if options.executor is not None and not options.settings.dry_run:
        await run.execute_on(options.executor, plan, source.display())
    else:
        await run.execute(plan, source.display())


async def _copy(
    src: LocationLike, dst: LocationLike, recursive: bool, options: _Options
) -> TransferReport:
    memory: dict[str, Any] = {}
    source, target = resolve(src, memory), resolve(dst, memory)
    check_executor(options.executor, (source, target))
    totals = Totals()
    run = options.run(totals)
    plan = plan_copy(source, target, recursive=recursive, keep=options.keep, totals=totals)
    try:
        await _execute(run, plan, source, options)
    finally:
        run.throttle.final()
    return run.report


async def copy_async(
    src: LocationLike,
    dst: LocationLike,
    *,
    recursive: bool = False,
    **options: Unpack[TransferOptions],
) -> TransferReport:
    """Copy an object, a file, a prefix or a directory to another place.

    ``src`` and ``dst`` are URLs (``s3://bucket/key``, ``gs://``, ``az://``, ``https://``,
    ``file:///``, ``memory:///``), local paths, or ``(store, key or prefix)`` pairs. A
    source spelled with a trailing ``/``, an existing local directory, or
    ``recursive=True`` is a prefix: every object below it is copied to the same relative
    path below ``dst``. A single object goes to ``dst`` itself, or below it, under its own
    name, when ``dst`` ends with ``/`` or is an existing directory.

    Within one store (the same store, or equal stores, e.g. two URLs of one bucket), objects
    are copied server-side. Across stores they stream: a GET body feeds a multipart upload,
    so no more than the parts in flight are in memory. Local files are written under a
    temporary name and renamed once complete, with the object's modification time.
    Objects already at the destination are overwritten (``sync`` compares first).
    """
    return await _copy(src, dst, recursive, _Options(options))


async def move_async(
    src: LocationLike,
    dst: LocationLike,
    *,
    recursive: bool = False,
    **options: Unpack[TransferOptions],
) -> TransferReport:
    """``copy_async``, then delete each source object once it has been copied (a failed
    copy keeps its source). Source removals are not counted as ``deleted``."""
    return await _copy(src, dst, recursive, _Options(options, remove_source=True))


async def sync_async(
    src: LocationLike,
    dst: LocationLike,
    *,
    delete: bool = False,
    compare: Compare = "size_mtime",
    **options: Unpack[TransferOptions],
) -> TransferReport:
    """Make the prefix or directory ``dst`` a copy of ``src``, transferring only what differs.

    Both sides are listed at once; an object is transferred when it is missing at the
    destination or differs by ``compare``:

    - ``"size_mtime"`` (default): the sizes differ, or the source was modified at a later
      second than the destination. Uploads and copies are newer than their source; downloads
      get the object's modification time, so a second run transfers nothing.
    - ``"size"``: the sizes differ.
    - ``"checksum"``: the sizes differ, or the MD5 checksums do. An object store gives an
      MD5 through its ETag only for single-part S3 uploads (MinIO, moto, AWS) and GCS
      objects; a local file's MD5 is computed only when the other side has one (or is local
      too). Where one side has no MD5 (multipart uploads, Azure, HTTP, memory), equal sizes
      count as equal, as with ``"size"``.

    With ``delete=True``, objects at the destination that the source lacks are deleted after
    the transfers, in bulk, and only if nothing failed (a failed run never removes what it
    could not replace). ``include``/``exclude`` apply to both sides: excluded objects are
    neither transferred nor deleted. A run interrupted and started again transfers only what
    is still missing or different.
    """
    if compare not in ("size_mtime", "size", "checksum"):
        raise ValueError(f"compare must be 'size_mtime', 'size' or 'checksum', got {compare!r}")
    checked = _Options(options)
    memory: dict[str, Any] = {}
    source, target = resolve(src, memory), resolve(dst, memory)
    check_executor(checked.executor, (source, target))
    totals = Totals()
    run = checked.run(totals)
    plan = plan_sync(
        source, target, compare=compare, delete=delete, keep=checked.keep, totals=totals
    )
    try:
        await _execute(run, plan, source, checked)
        if delete and totals.deletions and not run.report.failed:
            await run.delete_all(totals.deletions, target, target.display())
    finally:
        run.throttle.final()
    return run.report


def _below(location_or_store: LocationLike | Any, prefix: str) -> Location:
    location = resolve(location_or_store)
    return location.child(prefix.strip("/")) if prefix.strip("/") else location


async def delete_prefix_async(
    location_or_store: LocationLike | Any,
    prefix: str = "",
    **options: Unpack[TransferOptions],
) -> TransferReport:
    """Delete every object below ``prefix`` of a store or location (files below a local
    directory, and the directories left empty, but not the directory itself).

    Deletes start while the listing goes on, in bulk requests of up to 1,000 objects where
    the backend has them (S3), several at once. ``executor`` is only checked: deletes run
    here. ``part_size``, ``part_concurrency`` and ``checksum`` do not apply.
    """
    checked = _Options(options)
    location = _below(location_or_store, prefix)
    check_executor(checked.executor, (location,))
    totals = Totals()
    run = checked.run(totals)
    try:
        plan = plan_delete(location, keep=checked.keep, totals=totals)
        await run.delete_all(plan, location, location.display())
    finally:
        run.throttle.final()
    return run.report


async def du_async(
    location_or_store: LocationLike | Any,
    prefix: str = "",
    *,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
) -> dict[str, int]:
    """Count the objects below a prefix and add up their sizes:
    ``{"objects": int, "bytes": int}``."""
    location = _below(location_or_store, prefix)
    objects = size = 0
    async for chunk in list_entries(location, Filter(include, exclude)):
        objects += len(chunk)
        size += sum(entry.size for entry in chunk)
    return {"objects": objects, "bytes": size}


copy = _sync_twin(
    copy_async,
    "Copy an object, a file, a prefix or a directory; see ``copy_async``.",
)
move = _sync_twin(move_async, "Move objects or files; see ``move_async``.")
sync = _sync_twin(
    sync_async,
    "Make ``dst`` a copy of ``src``, transferring only what differs; see ``sync_async``.",
)
delete_prefix = _sync_twin(
    delete_prefix_async,
    "Delete every object below a prefix; see ``delete_prefix_async``.",
)
du = _sync_twin(du_async, "Count the objects below a prefix and their bytes; see ``du_async``.")
