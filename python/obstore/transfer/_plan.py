"""Listing both sides of a transfer, include/exclude filters, and the comparison that turns
listings into tasks (what to copy, what to skip, what to delete)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
import re
import stat
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeAlias

import obstore
from obstore import _store

from .._filter import Filter
from ._location import Location
from ._report import ActionKind

# Unions of one-value Literals: real Unions at runtime, as mypy.stubtest expects of an alias.
Compare: TypeAlias = Literal["size_mtime"] | Literal["size"] | Literal["checksum"]

#: Marks the temporary files of downloads in progress (``.<name>.<random>.obstore-tmp``); local
#: listings leave them out, so an interrupted run never uploads or compares one.
TEMP_SUFFIX = ".obstore-tmp"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS = 1_000_000_000


def datetime_ns(moment: datetime) -> int:
    """Nanoseconds since the epoch, exactly (no float rounding)."""
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


@dataclass(slots=True)
class Entry:
    """One object or file found by a listing, ``rel`` being its path below the location."""

    rel: str
    size: int
    mtime_ns: int
    e_tag: str | None = None
    version: str | None = None


def nested_destination(src: Location, dst: Location) -> str | None:
    """Where ``dst`` lies below ``src`` (relative to it), if it does: the source listing must
    leave that subtree out, or a copy into itself would copy its own copies."""
    if src.path is not None and dst.path is not None:
        try:
            rel = dst.path.relative_to(src.path)
        except ValueError:
            return None
        return rel.as_posix() if rel.parts else None
    if not src.same_store(dst):
        return None
    if not src.key:
        return dst.key or None
    if dst.key.startswith(src.key + "/"):
        return dst.key[len(src.key) + 1 :]
    return None


async def list_entries(
    location: Location, keep: Filter, *, missing_ok: bool = False
) -> AsyncIterator[list[Entry]]:
    """The objects or files below ``location`` that ``keep`` accepts, in chunks, as listed."""
    if location.path is not None:
        async for chunk in _list_local(location, keep, missing_ok=missing_ok):
            yield chunk
        return
    assert location.store is not None
    prefix = location.key
    cut = len(prefix) + 1 if prefix else 0
    async for metas in obstore.list(location.store, prefix or None, chunk_size=1000):
        chunk = []
        for meta in metas:
            path = meta["path"]
            if prefix and not path.startswith(prefix + "/"):
                continue
            rel = path[cut:]
            if rel and keep(rel):
                chunk.append(
                    Entry(
                        rel,
                        meta["size"],
                        datetime_ns(meta["last_modified"]),
                        meta["e_tag"],
                        meta["version"],
                    )
                )
        if chunk:
            yield chunk


def _scan_directory(root: str, rel_dir: str, keep: Filter) -> tuple[list[Entry], list[str]]:
    """Files (followed through symlinks) and subdirectories (not followed) of one directory."""
    entries: list[Entry] = []
    subdirs: list[str] = []
    directory = os.path.join(root, *rel_dir.split("/")) if rel_dir else root
    with os.scandir(directory) as it:
        for item in it:
            rel = f"{rel_dir}/{item.name}" if rel_dir else item.name
            try:
                if item.is_dir(follow_symlinks=False):
                    subdirs.append(rel)
                    continue
                info = item.stat()
            except FileNotFoundError:  # removed meanwhile, or a dangling symlink
                continue
            if not stat.S_ISREG(info.st_mode) or item.name.endswith(TEMP_SUFFIX):
                continue
            if keep(rel):
                entries.append(Entry(rel, info.st_size, info.st_mtime_ns))
    return entries, subdirs


async def _list_local(
    location: Location, keep: Filter, *, missing_ok: bool
) -> AsyncIterator[list[Entry]]:
    root = str(location.local())
    pending = [""]
    while pending:
        rel_dir = pending.pop()
        try:
            entries, subdirs = await asyncio.to_thread(_scan_directory, root, rel_dir, keep)
        except (FileNotFoundError, NotADirectoryError):
            if missing_ok and not rel_dir:
                return
            raise
        pending.extend(reversed(subdirs))
        if entries:
            yield entries


async def stat_one(location: Location) -> Entry:
    """The one object or file at ``location``; ``FileNotFoundError`` if there is none."""
    if location.path is not None:
        info = await asyncio.to_thread(os.stat, location.path)
        if not stat.S_ISREG(info.st_mode):
            raise IsADirectoryError(f"{location.path} is not a file")
        return Entry("", info.st_size, info.st_mtime_ns)
    assert location.store is not None
    meta = await obstore.head_async(location.store, location.key)
    return Entry(
        "", meta["size"], datetime_ns(meta["last_modified"]), meta["e_tag"], meta["version"]
    )


def md5_of_etag(location: Location, e_tag: str | None) -> str | None:
    """The MD5 (hex) an ETag stands for, when it is one: single-part S3 uploads (32 hex
    digits) and GCS objects (hex, or base64 on some servers); ``None`` otherwise (multipart
    uploads ``<md5>-<parts>``, Azure ``0x...``, local files, memory)."""
    if not e_tag or location.store is None:
        return None
    value = e_tag.strip().removeprefix("W/").strip('"')
    if re.fullmatch(r"[0-9a-fA-F]{32}", value):
        return value.lower()
    if isinstance(location.store, _store.GCSStore) and len(value) == 24:
        try:
            digest = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
        return digest.hex() if len(digest) == 16 else None
    return None


Decision: TypeAlias = Literal["transfer"] | Literal["skip"] | Literal["verify"]


def decide(
    src: Location, src_entry: Entry, dst: Location, dst_entry: Entry | None, compare: Compare
) -> Decision:
    """Whether ``sync`` transfers an object: ``verify`` asks for a local MD5 first."""
    if dst_entry is None or src_entry.size != dst_entry.size:
        return "transfer"
    if compare == "size":
        return "skip"
    if compare == "size_mtime":
        # To the second: HTTP dates (HEAD, GET) carry whole seconds while listings may not.
        newer = src_entry.mtime_ns // _NS > dst_entry.mtime_ns // _NS
        return "transfer" if newer else "skip"
    src_md5 = md5_of_etag(src, src_entry.e_tag)
    dst_md5 = md5_of_etag(dst, dst_entry.e_tag)
    if src_md5 is not None and dst_md5 is not None:
        return "skip" if src_md5 == dst_md5 else "transfer"
    if (src.is_local and (dst.is_local or dst_md5)) or (dst.is_local and src_md5):
        return "verify"
    return "skip"  # no comparable checksum on one side: equal sizes decide, as with "size"


@dataclass(slots=True)
class Task:
    """One object to move (or, ``kind == "delete"``, to remove at ``dst``)."""

    kind: ActionKind
    src: Location | None
    dst: Location
    size: int | None
    verify: bool = False
    """Compare MD5s before moving anything (``sync(compare="checksum")`` with a local side)."""
    src_md5: str | None = None
    dst_md5: str | None = None


def transfer_kind(src: Location, dst: Location) -> ActionKind:
    if src.is_local and not dst.is_local:
        return "upload"
    if dst.is_local and not src.is_local:
        return "download"
    return "copy"


@dataclass
class Totals:
    """What the listing found to do, known once it has ended."""

    objects: int = 0
    bytes: int = 0
    listed: bool = False
    deletions: list[Task] = field(default_factory=list)


def basename(location: Location) -> str:
    if location.path is not None:
        return location.path.name
    return location.key.rsplit("/", 1)[-1]


def _task(src: Location, dst: Location, entry: Entry, totals: Totals) -> Task:
    totals.objects += 1
    totals.bytes += entry.size
    return Task(transfer_kind(src, dst), src, dst, entry.size)


async def plan_copy(
    src: Location, dst: Location, *, recursive: bool, keep: Filter, totals: Totals
) -> AsyncGenerator[Task, None]:
    """Every object below ``src`` (or the one object ``src``) onto ``dst``."""
    as_prefix = recursive or src.looks_like_directory()
    if src.path is not None and as_prefix and src.path.is_file():
        as_prefix = False  # `cp -r file dst` copies the file
    if as_prefix:
        found = False
        async for chunk in list_entries(src, keep.without_subtree(nested_destination(src, dst))):
            found = True
            for entry in chunk:
                yield _task(src.child(entry.rel), dst.child(entry.rel), entry, totals)
        if found or src.trailing_slash or src.path is not None or not src.key:
            totals.listed = True
            return
        # `recursive=True` on an object key without a trailing "/": the object itself, if any.
        try:
            entry = await stat_one(src)
        except FileNotFoundError:
            totals.listed = True
            return
    else:
        entry = await stat_one(src)
    name = basename(src)
    if keep(name):
        target = dst.child(name) if dst.looks_like_directory() else dst
        yield _task(src, target, entry, totals)
    totals.listed = True


async def _collect(location: Location, keep: Filter) -> dict[str, Entry]:
    found: dict[str, Entry] = {}
    async for chunk in list_entries(location, keep, missing_ok=True):
        for entry in chunk:
            found[entry.rel] = entry
    return found


def _sync_task(
    src: Location,
    src_entry: Entry,
    dst: Location,
    dst_entry: Entry | None,
    compare: Compare,
    totals: Totals,
) -> Task:
    decision = decide(src, src_entry, dst, dst_entry, compare)
    if decision == "skip":
        return Task("skip", src, dst, src_entry.size)
    task = _task(src, dst, src_entry, totals)
    if decision == "verify":
        assert dst_entry is not None
        task.verify = True
        task.src_md5 = md5_of_etag(src, src_entry.e_tag)
        task.dst_md5 = md5_of_etag(dst, dst_entry.e_tag)
    return task


async def plan_sync(
    src: Location,
    dst: Location,
    *,
    compare: Compare,
    delete: bool,
    keep: Filter,
    totals: Totals,
) -> AsyncGenerator[Task, None]:
    """Tasks making ``dst`` a copy of ``src``; ``totals.deletions`` gets what ``dst`` has
    beyond ``src`` (when ``delete``), for after the transfers."""
    if src.path is not None and src.path.is_file():
        entry = await stat_one(src)
        target = dst.child(basename(src)) if dst.looks_like_directory() else dst
        try:
            existing: Entry | None = await stat_one(target)
        except (FileNotFoundError, IsADirectoryError):
            existing = None
        yield _sync_task(src, entry, target, existing, compare, totals)
        totals.listed = True
        return
    # Both listings run at once; the destination's must be complete before comparing.
    listing = asyncio.ensure_future(_collect(dst, keep))
    try:
        existing_entries: dict[str, Entry] | None = None
        own = keep.without_subtree(nested_destination(src, dst))
        async for chunk in list_entries(src, own):
            if existing_entries is None:
                existing_entries = await listing
            for entry in chunk:
                other = existing_entries.pop(entry.rel, None)
                yield _sync_task(
                    src.child(entry.rel), entry, dst.child(entry.rel), other, compare, totals
                )
        if existing_entries is None:
            existing_entries = await listing
    finally:
        if not listing.done():
            listing.cancel()
    if delete:
        for rel, entry in existing_entries.items():
            totals.objects += 1
            totals.deletions.append(Task("delete", None, dst.child(rel), entry.size))
    totals.listed = True


async def plan_delete(
    location: Location, *, keep: Filter, totals: Totals
) -> AsyncGenerator[Task, None]:
    """A delete task for every object below ``location``, as the listing finds them."""
    async for chunk in list_entries(location, keep):
        for entry in chunk:
            totals.objects += 1
            yield Task("delete", None, location.child(entry.rel), entry.size)
    totals.listed = True
