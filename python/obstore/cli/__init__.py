"""The ``obstore`` command (and ``python -m obstore``): object storage from the command line,
a thin face over ``obstore`` and ``obstore.transfer``::

    obstore ls [-r] [-l] [--json] URL
    obstore cat URL
    obstore cp [-r] SRC... DST
    obstore mv [-r] SRC DST
    obstore rm [-r] URL...
    obstore sync [--delete] [--size-only | --checksum] SRC DST
    obstore du [-s] [-h] URL
    obstore stat URL
    obstore sign [--method GET|PUT] [--expires SECONDS] URL

Stores are built from URLs as ``obstore.store.from_url`` builds them (environment variables
included); ``--config KEY=VALUE`` adds a setting to every store of the command that knows the
key. Exit status: 0 on success, 1 when an operation failed (each named on stderr, one line),
2 for usage errors, 130 on Ctrl-C. The progress bar goes to stderr when it is a terminal: tqdm's
when ``tqdm`` is installed, else a built-in one. Only the standard library is needed.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

from ._args import build_parser
from ._commands import COMMANDS
from ._output import error_line, one_line

__all__ = ["main"]

#: The exit status of a command whose output pipe was closed early, as if killed by SIGPIPE.
EXIT_BROKEN_PIPE = 141
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); the exit status."""
    parser = build_parser(COMMANDS)
    debug = False
    try:
        args = parser.parse_args(argv)
        debug = args.debug
        return int(args.run(args))
    except SystemExit as exit:  # argparse: --help, usage errors
        return exit.code if isinstance(exit.code, int) else 2
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print(
            "\nobstore: interrupted" if sys.stderr.isatty() else "obstore: interrupted",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`obstore cat URL | head`): nothing more can be written, and
        # Python's own flush at exit must not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as error:
        if debug:
            traceback.print_exc()
        error_line(one_line(error))
        return 1
