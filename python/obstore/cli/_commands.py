"""The subcommands of ``obstore``: each turns its arguments into calls of ``obstore`` and
``obstore.transfer`` and prints what they did."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

import obstore
from obstore._filter import Filter
from obstore.store import AzureStore, GCSStore, S3Store

from ._output import (
    action_json,
    action_text,
    describe,
    error_line,
    human_size,
    iso,
    json_line,
    progress_bar,
    report_json,
    report_text,
)
from ._targets import Target, TargetError, Targets

# cp, mv, rm and sync import obstore.transfer when they run: its engine and asyncio were 40 ms
# of the start of every command, ls and cat included.
if TYPE_CHECKING:
    from obstore.transfer import Action, TransferOptions, TransferReport
    from obstore.transfer._plan import Compare


class CommandError(Exception):
    """A failure of the whole command, reported as one line with exit status 1."""


class Context:
    """The targets of one command, built from its arguments."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.targets = Targets(dict(args.config))

    def usage(self, message: str) -> NoReturn:
        self.args.parser.error(message)
        raise AssertionError("argparse exits")

    def build(self, *texts: str) -> list[Target]:
        """The targets of ``texts``; a usage error when one cannot be built, or when a
        ``--config`` setting fits none of them (a misspelt key must not pass unnoticed)."""
        try:
            built = [self.targets.build(text) for text in texts]
        except TargetError as error:
            self.usage(str(error))
        unused = self.targets.unused()
        if unused:
            self.usage(f"--config {unused[0]}: no store of this command has this setting")
        return built

    def keep(self) -> Filter:
        return Filter(getattr(self.args, "include", None), getattr(self.args, "exclude", None))


def _meta_json(target: Target, meta: Any) -> dict[str, Any]:
    return {
        "path": target.display(meta["path"]),
        "size": meta["size"],
        "last_modified": iso(meta["last_modified"]),
        "e_tag": meta["e_tag"],
    }


def _missing_local(target: Target) -> None:
    if target.path is not None and not target.path.exists():
        raise CommandError(f"{target.text}: no such file or directory")


def _head_single(target: Target) -> Any:
    """The one object ``target`` names (after a listing found nothing below it)."""
    try:
        return obstore.head(target.store, target.key)
    except FileNotFoundError:
        raise CommandError(f"{target.text}: no such object, prefix or directory") from None


# --- ls, cat, stat, sign, du ------------------------------------------------------------


def ls(args: argparse.Namespace) -> int:
    """``ls``: the objects and prefixes below URL (every object with ``-r``), or the one
    object URL names."""
    context = Context(args)
    (target,) = context.build(args.url)
    _missing_local(target)
    keep = context.keep()
    listed = False

    def show(meta: Any, name: str) -> None:
        if args.json:
            json_line(_meta_json(target, meta))
        elif args.long:
            stamp = meta["last_modified"].astimezone().strftime("%Y-%m-%d %H:%M:%S")
            print(f"{stamp}  {meta['size']:>12}  {name}")
        else:
            print(name)

    prefix = target.key or None
    if args.recursive:
        for chunk in obstore.list(target.store, prefix, chunk_size=1000):
            listed = True
            for meta in chunk:
                name = target.relative(meta["path"])
                if keep(name):
                    show(meta, name)
    else:
        found = obstore.list_with_delimiter(target.store, prefix)
        listed = bool(found["common_prefixes"] or found["objects"])
        for directory in found["common_prefixes"]:
            name = target.relative(directory) + "/"
            if args.json:
                json_line(
                    {
                        "path": target.display(directory) + "/",
                        "size": None,
                        "last_modified": None,
                        "e_tag": None,
                    }
                )
            else:
                print(f"{'':19}  {'DIR':>12}  {name}" if args.long else name)
        for meta in found["objects"]:
            name = target.relative(meta["path"])
            if keep(name):
                show(meta, name)
    if not listed and not target.is_prefix():
        show(_head_single(target), target.text)
    return 0


def cat(args: argparse.Namespace) -> int:
    """``cat``: the object's bytes to stdout, in chunks as they arrive."""
    (target,) = Context(args).build(args.url)
    if target.path is not None and target.path.is_dir():
        raise CommandError(f"{target.text}: is a directory")
    result = obstore.get(target.store, target.key)
    out = sys.stdout.buffer
    for chunk in result.stream(min_chunk_size=1024 * 1024):
        out.write(chunk)
    out.flush()
    return 0


def stat(args: argparse.Namespace) -> int:
    """``stat``: the metadata ``head`` gives of one object."""
    (target,) = Context(args).build(args.url)
    meta = obstore.head(target.store, target.key)
    fields = {**_meta_json(target, meta), "version": meta["version"]}
    if args.json:
        json_line(fields)
    else:
        for name, value in fields.items():
            print(f"{name + ':':15}{'' if value is None else value}")
    return 0


def sign(args: argparse.Namespace) -> int:
    """``sign``: a signed URL of one object, from the stores that sign (S3, GCS, Azure)."""
    (target,) = Context(args).build(args.url)
    store = target.store
    if not isinstance(store, S3Store | GCSStore | AzureStore):
        raise CommandError(
            f"sign {target.text}: only S3, GCS and Azure stores sign URLs, "
            f"not {type(store).__name__}"
        )
    url = obstore.sign(store, args.method, target.key, timedelta(seconds=args.expires))
    if args.json:
        json_line({"url": url, "method": args.method, "expires": args.expires})
    else:
        print(url)
    return 0


def du(args: argparse.Namespace) -> int:
    """``du``: bytes below URL per directory (children first, the total last, as du(1)), or
    the total alone (``-s``, ``--json``)."""
    context = Context(args)
    (target,) = context.build(args.url)
    _missing_local(target)
    keep = context.keep()
    # directory below the target ("" for the target itself) -> [objects, bytes]
    totals: dict[str, list[int]] = {"": [0, 0]}
    listed = False
    for chunk in obstore.list(target.store, target.key or None, chunk_size=1000):
        listed = True
        for meta in chunk:
            rel = target.relative(meta["path"])
            if not keep(rel):
                continue
            parents = rel.split("/")[:-1]
            depth = 0 if args.summarize else len(parents)
            for level in range(depth + 1):
                entry = totals.setdefault("/".join(parents[:level]), [0, 0])
                entry[0] += 1
                entry[1] += meta["size"]
    if not listed and not target.is_prefix():
        totals[""] = [1, _head_single(target)["size"]]
    if args.json:
        json_line({"objects": totals[""][0], "bytes": totals[""][1]})
        return 0

    def size(count: int) -> str:
        return human_size(count) if args.human else str(count)

    for rel in sorted(totals, reverse=True):  # children before their parents, as du(1)
        if rel:
            key = f"{target.key}/{rel}" if target.key else rel
            print(f"{size(totals[rel][1])}\t{target.display(key)}/")
    print(f"{size(totals[''][1])}\t{target.text}")
    return 0


# --- cp, mv, rm, sync -------------------------------------------------------------------


@contextlib.contextmanager
def _executor(address: str | None) -> Iterator[Any]:
    """A ``dask.distributed.Client`` of the scheduler at ``address`` (imported only then)."""
    if address is None:
        yield None
        return
    try:
        distributed = importlib.import_module("dask.distributed")
    except ImportError:
        raise CommandError(
            '--dask needs dask.distributed: pip install "dask[distributed]"'
        ) from None
    client = distributed.Client(address)
    try:
        yield client
    finally:
        client.close()


class Transfers:
    """The transfers of one command: their options, the actions printed as they finish, the
    reports added up, and the final report."""

    def __init__(self, args: argparse.Namespace, verb: str) -> None:
        self.args = args
        self.verb = verb
        from obstore.transfer import TransferReport

        self.report = TransferReport(dry_run=args.dry_run)
        self.start = time.monotonic()

    def on_action(self, action: Action) -> None:
        if self.args.json:
            json_line(action_json(action))
        elif self.args.dry_run and action.kind != "skip":
            print(f"would {action_text(action)}", flush=True)

    def options(self, executor: Any = None) -> TransferOptions:
        from obstore.transfer import TransferOptions

        args = self.args
        options = TransferOptions(
            include=args.include,
            exclude=args.exclude,
            dry_run=args.dry_run,
            max_concurrency=args.concurrency,
            on_action=self.on_action,
        )
        if getattr(args, "part_size", None) is not None:
            options["part_size"] = args.part_size
        algorithm = getattr(args, "checksum_algorithm", None)
        if algorithm is not None:
            options["checksum"] = None if algorithm == "none" else algorithm
        if executor is not None:
            options["executor"] = executor
        if not (args.quiet or args.no_progress) and sys.stderr.isatty():
            options["progress"] = progress_bar(self.verb, sys.stderr)
        return options

    def executor(self) -> contextlib.AbstractContextManager[Any]:
        return _executor(getattr(self.args, "dask", None))

    def add(self, report: TransferReport) -> None:
        self.report = self.report.merge(report)

    def record(self, action: Action) -> None:
        """One action done here rather than by ``obstore.transfer``."""
        self.report.add(action)
        self.on_action(action)

    def finish(self) -> int:
        for where, error in self.report.errors:
            error_line(describe(where, error))
        if self.args.json:
            json_line(report_json(self.report))
        elif not self.args.quiet:
            seconds = time.monotonic() - self.start
            print(report_text(self.verb, self.report, seconds), file=sys.stderr, flush=True)
        return 1 if self.report.failed else 0


def _refuse_directory(target: Target, recursive: bool, verb: str) -> None:
    """``cp dir dst`` without ``-r`` or ``dir/`` is refused, as by cp(1)."""
    if recursive or target.trailing:
        return
    if target.path is not None and target.path.is_dir():
        raise CommandError(f"{verb} {target.text}: is a directory: use -r or {target.text}/")


def _copy_or_move(args: argparse.Namespace, verb: str, function: Callable[..., Any]) -> int:
    context = Context(args)
    *sources, destination = context.build(*args.src, args.dst)
    if len(sources) > 1 and not destination.is_prefix():
        context.usage(
            f"{len(sources)} sources need DST to be a prefix or directory (ending in /), "
            f"got {args.dst}"
        )
    for source in sources:
        _refuse_directory(source, args.recursive, verb)
    transfers = Transfers(args, verb)
    with transfers.executor() as executor:
        for source in sources:
            report = function(
                source.location(),
                destination.location(),
                recursive=args.recursive,
                **transfers.options(executor),
            )
            transfers.add(report)
    return transfers.finish()


def cp(args: argparse.Namespace) -> int:
    """``cp``: ``obstore.transfer.copy`` of each SRC onto DST."""
    from obstore.transfer import copy

    return _copy_or_move(args, "cp", copy)


def mv(args: argparse.Namespace) -> int:
    """``mv``: ``obstore.transfer.move`` of SRC onto DST."""
    from obstore.transfer import move

    args.src = [args.src]
    return _copy_or_move(args, "mv", move)


def sync(args: argparse.Namespace) -> int:
    """``sync``: ``obstore.transfer.sync`` of SRC onto DST."""
    from obstore.transfer import sync as sync_objects

    source, destination = Context(args).build(args.src, args.dst)
    compare: Compare = "size" if args.size_only else "checksum" if args.checksum else "size_mtime"
    transfers = Transfers(args, "sync")
    with transfers.executor() as executor:
        report = sync_objects(
            source.location(),
            destination.location(),
            delete=args.delete,
            compare=compare,
            **transfers.options(executor),
        )
    transfers.add(report)
    return transfers.finish()


def _remove_one(target: Target, transfers: Transfers, keep: Filter) -> None:
    """Delete the one object ``target`` names; a missing one is a failure, as with rm(1)."""
    from obstore.transfer import Action

    if not keep(target.key.rsplit("/", 1)[-1]):
        return
    where = target.display()
    try:
        meta = obstore.head(target.store, target.key)
        if not transfers.args.dry_run:
            obstore.delete(target.store, target.key)
    except Exception as error:
        transfers.record(Action("delete", None, where, None, error))
        return
    transfers.record(Action("delete", None, where, meta["size"]))


def rm(args: argparse.Namespace) -> int:
    """``rm``: delete objects, or with ``-r`` everything below prefixes
    (``obstore.transfer.delete_prefix``); every target is checked before anything is deleted."""
    from obstore.transfer import delete_prefix

    context = Context(args)
    targets = context.build(*args.urls)
    for target in targets:
        if target.is_prefix() and not args.recursive:
            raise CommandError(f"rm {target.text}: is a prefix or directory: use -r")
    transfers = Transfers(args, "rm")
    keep = context.keep()
    for target in targets:
        if not args.recursive or (target.path is not None and target.path.is_file()):
            _remove_one(target, transfers, keep)
            continue
        report = delete_prefix(target.location(), **transfers.options())
        transfers.add(report)
        if report.deleted == report.failed == 0 and not target.is_prefix():
            # `rm -r s3://b/key`: nothing below key/, so the object key itself
            _remove_one(target, transfers, keep)
    return transfers.finish()


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "ls": ls,
    "cat": cat,
    "cp": cp,
    "mv": mv,
    "rm": rm,
    "sync": sync,
    "du": du,
    "stat": stat,
    "sign": sign,
}
