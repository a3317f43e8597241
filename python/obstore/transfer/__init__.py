"""Many objects at once: copy, move and sync trees between stores and local directories,
delete prefixes, measure them.

A location is a URL (``s3://bucket/prefix/``, ``gs://``, ``az://``, ``abfs://``,
``https://``, ``file:///path``, ``memory:///``), a local path, or a ``(store, prefix)`` pair.
A trailing ``/`` (or an existing local directory) makes it a prefix or directory:

    from obstore.transfer import copy, sync

    report = sync("data/", "s3://bucket/data/", delete=True)  # only what differs
    print(report.transferred, report.skipped, report.deleted, report.bytes, report.errors)
    copy("s3://bucket/data/", "backup/", include=["*.parquet"], max_concurrency=128)

Every function has an ``*_async`` twin holding the work; the sync one runs it in an event
loop of its own (on a private thread when called inside a running loop). Nothing is raised
half-way: failures are counted in the ``TransferReport`` with their exceptions, unless
``fail_fast=True``. Cancelling the task (or Ctrl-C in a sync call) stops the transfers,
aborts their multipart uploads and leaves no partial local file.

Large objects move in parts: ``part_size`` (default 16 MiB, grown for uploads to fit in
10,000 parts) and ``part_concurrency`` parts in flight; downloads of more than two parts use
parallel ranged GETs pinned to one version of the object, written in place into a temporary
file renamed when complete. At most two large objects move at once, so memory stays near
``max_concurrency x part_size`` for small objects plus ``2 x (part_concurrency + 1) x
part_size`` for large ones.

``progress`` gets a ``obstore.progress.Progress`` at most 10 times per second, and once
with ``done=True``. ``bytes_done`` counts bytes as they move, but an upload of a file of one
part (read by the core) counts when that upload has finished, and a server-side copy when
the copy has.

``executor`` takes a ``concurrent.futures.Executor`` or a ``dask.distributed.Client``: the
listing is made here and split into batches (256 objects or 512 MiB) that run on the
workers, stores travelling by pickle; the reports are merged. A ``MemoryStore`` (or a store
whose credential provider does not pickle) raises ``ValueError`` before any transfer with a
process pool or Dask. Local paths must be visible to the workers. ``progress`` and
``on_action`` then hear of each batch when it has finished.
"""

from typing import TYPE_CHECKING

# The names are imported on first use (`__getattr__`): the engine and asyncio measured 40 ms,
# which a command that only lists (`obstore ls`, through `_location`) does not need.
if TYPE_CHECKING:
    from ._api import (
        TransferOptions,
        copy,
        copy_async,
        delete_prefix,
        delete_prefix_async,
        du,
        du_async,
        move,
        move_async,
        sync,
        sync_async,
    )
    from ._location import LocationLike
    from ._report import Action, ActionKind, TransferReport

__all__ = [
    "Action",
    "ActionKind",
    "LocationLike",
    "TransferOptions",
    "TransferReport",
    "copy",
    "copy_async",
    "delete_prefix",
    "delete_prefix_async",
    "du",
    "du_async",
    "move",
    "move_async",
    "sync",
    "sync_async",
]


def __getattr__(name: str) -> object:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name == "LocationLike":
        from . import _location as module
    elif name in ("Action", "ActionKind", "TransferReport"):
        from . import _report as module  # type: ignore[no-redef]
    else:
        from . import _api as module  # type: ignore[no-redef]
    value = getattr(module, name)
    globals()[name] = value  # later lookups find it without this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
