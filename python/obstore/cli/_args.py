"""The argument parser of the ``obstore`` command: one subcommand per verb, the same options
wherever they apply."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ._output import parse_size

DESCRIPTION = """\
Object storage from the command line: S3, GCS, Azure, HTTP/WebDAV, local paths (and memory://
within one command). URLs are built as obstore.store.from_url builds them, so AWS_*, GOOGLE_*
and AZURE_* environment variables configure them as for the library; --config KEY=VALUE adds
any store setting (e.g. endpoint, region, allow_http) to the stores that know it.
"""

EPILOG = """\
Exit status: 0 when everything succeeded, 1 when an operation failed (each failure is named on
stderr, one line), 2 for a usage error, 130 when interrupted. With --json, stdout has one JSON
object per line. The progress bar (on stderr, only when it is a terminal) is tqdm's when tqdm
is installed (pip install "obstore[progress]"), else a built-in one.
"""


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: give a whole number >= 1")
    return value


def _setting(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"invalid setting {text!r}: give KEY=VALUE")
    return key.strip(), value


def _common() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("common options")
    group.add_argument(
        "--config",
        metavar="KEY=VALUE",
        type=_setting,
        action="append",
        default=[],
        help="a store setting (any key from_url takes), for every store built from a URL "
        "that knows it; repeatable",
    )
    group.add_argument("--json", action="store_true", help="one JSON object per line")
    group.add_argument("-q", "--quiet", action="store_true", help="no report, no progress bar")
    group.add_argument("--debug", action="store_true", help="tracebacks with errors")
    return parser


def _filters() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("filters (glob on the path below the source)")
    group.add_argument("--include", metavar="GLOB", action="append", help="only these; repeatable")
    group.add_argument("--exclude", metavar="GLOB", action="append", help="not these; repeatable")
    return parser


def _transfers(*, parts: bool) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("transfer options")
    group.add_argument(
        "--dry-run", action="store_true", help="print what would be done, change nothing"
    )
    group.add_argument(
        "--concurrency", metavar="N", type=_positive, default=64, help="objects in flight (64)"
    )
    group.add_argument("--no-progress", action="store_true", help="no progress bar")
    if parts:
        group.add_argument(
            "--part-size",
            metavar="SIZE",
            type=_size,
            default=None,
            help="bytes per part of large objects, e.g. 64MiB (default 16MiB, grown to fit)",
        )
        group.add_argument(
            "--checksum-algorithm",
            choices=["crc32c", "crc64nvme", "sha256", "md5", "none"],
            default=None,
            help="the checksum every upload sends and the server verifies (S3: crc32c, "
            "crc64nvme, sha256; GCS: crc32c, md5; Azure: md5); none: no checksum; default: the "
            "destination store's checksum_algorithm setting",
        )
        group.add_argument(
            "--dask",
            metavar="SCHEDULER_ADDRESS",
            help="run the transfers on the workers of this Dask scheduler (needs "
            "dask.distributed; stores reach the workers with their --config settings, and "
            "each worker reads its own environment variables)",
        )
    return parser


def build_parser(commands: dict[str, Callable[[argparse.Namespace], int]]) -> Any:
    """The parser; each subcommand's namespace gets ``run`` (its function from ``commands``)
    and ``parser`` (for usage errors found later)."""
    parser = argparse.ArgumentParser(
        prog="obstore",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common, filters = _common(), _filters()
    moving, deleting = _transfers(parts=True), _transfers(parts=False)

    def verb(name: str, help: str, *parents: argparse.ArgumentParser, add_help: bool = True) -> Any:
        sub = verbs.add_parser(
            name, help=help, description=help, parents=[*parents, common], add_help=add_help
        )
        sub.set_defaults(run=commands[name], parser=sub)
        if not add_help:
            sub.add_argument("--help", action="help", help="show this help message and exit")
        return sub

    sub = verb(
        "ls",
        "list objects and prefixes (--json: one object a line with path, size, last_modified "
        "and e_tag; a prefix's path ends in / and its other fields are null)",
        filters,
    )
    sub.add_argument("-r", "--recursive", action="store_true", help="every object below URL")
    sub.add_argument("-l", "--long", action="store_true", help="modification time and size")
    sub.add_argument("url", metavar="URL")

    sub = verb("cat", "write an object to stdout")
    sub.add_argument("url", metavar="URL")

    sub = verb(
        "cp",
        "copy objects; a SRC ending in / (or -r) is a prefix or directory",
        filters,
        moving,
    )
    sub.add_argument("-r", "--recursive", action="store_true", help="SRC are prefixes")
    sub.add_argument("src", metavar="SRC", nargs="+")
    sub.add_argument("dst", metavar="DST")

    sub = verb("mv", "move objects (copy, then delete each source copied)", filters, moving)
    sub.add_argument("-r", "--recursive", action="store_true", help="SRC is a prefix")
    sub.add_argument("src", metavar="SRC")
    sub.add_argument("dst", metavar="DST")

    sub = verb("rm", "delete objects; -r deletes everything below a prefix", filters, deleting)
    sub.add_argument("-r", "--recursive", action="store_true", help="URLs are prefixes")
    sub.add_argument("urls", metavar="URL", nargs="+")

    sub = verb("sync", "make DST a copy of SRC, transferring only what differs", filters, moving)
    sub.add_argument("--delete", action="store_true", help="delete what SRC does not have")
    compare = sub.add_mutually_exclusive_group()
    compare.add_argument("--size-only", action="store_true", help="compare sizes only")
    compare.add_argument("--checksum", action="store_true", help="compare MD5s where known")
    sub.add_argument("src", metavar="SRC")
    sub.add_argument("dst", metavar="DST")

    # -h is --human-readable here, as in du(1): only --help shows the help.
    sub = verb("du", "bytes and objects below a prefix, per directory", filters, add_help=False)
    sub.add_argument("-s", "--summarize", action="store_true", help="only the total")
    sub.add_argument(
        "-h", "--human-readable", dest="human", action="store_true", help="sizes in KiB, MiB..."
    )
    sub.add_argument("url", metavar="URL")

    sub = verb("stat", "metadata of one object")
    sub.add_argument("url", metavar="URL")

    sub = verb("sign", "a signed URL of an object (S3, GCS, Azure)")
    sub.add_argument("--method", choices=["GET", "PUT"], default="GET", type=str.upper)
    sub.add_argument("--expires", metavar="SECONDS", type=_positive, default=3600)
    sub.add_argument("url", metavar="URL")
    return parser
