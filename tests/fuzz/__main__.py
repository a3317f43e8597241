"""``python -m tests.fuzz``: fuzz every entry point for a while and print what was tried and found.

The default, ``--hosts any``, lets generated values name any host, so it runs only where the worker
can make a loopback-only network namespace (as root, or in a user namespace where the kernel allows
unprivileged ones); elsewhere it refuses, and ``--hosts loopback`` keeps every generated host on
127.0.0.0/8 instead. Exit status:
0 when nothing was found, 1 when a panic (caught by the library or not), crash or hang was found,
2 when the run could not start.
"""

from __future__ import annotations

import argparse
import json
import sys

from .cases import SELFTEST_TARGETS, TARGETS
from .execute import reproducer
from .runner import isolation_available, run_fuzz


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fuzz", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to fuzz (default 60)")
    parser.add_argument(
        "--hosts",
        choices=["any", "loopback"],
        default="any",
        help="which hosts generated values may name (any: needs a network namespace)",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds one input may take")
    parser.add_argument(
        "--targets", default="", help=f"comma-separated subset of: {', '.join(TARGETS)}"
    )
    parser.add_argument("--examples-per-round", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", default="", help="also write the findings to this file")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--trace", default="", help="write every input tried to this file")
    options = parser.parse_args()

    targets = [t.strip() for t in options.targets.split(",") if t.strip()] or list(TARGETS)
    unknown = [t for t in targets if t not in TARGETS and t not in SELFTEST_TARGETS]
    if unknown:
        print(f"unknown targets: {unknown}", file=sys.stderr)
        return 2
    isolate = isolation_available()
    if options.hosts == "any" and not isolate:
        print(
            "refusing to fuzz with --hosts any: this machine does not let the worker make a "
            "loopback-only network namespace (neither as root nor in a user namespace), so a "
            "generated host could be reached. Run as root, or with --hosts loopback.",
            file=sys.stderr,
        )
        return 2
    try:
        report = run_fuzz(
            options.seconds,
            hosts=options.hosts,
            isolate=isolate,
            timeout=options.timeout,
            targets=targets,
            examples_per_round=options.examples_per_round,
            seed=options.seed,
            progress=None if options.quiet else sys.stderr,
            trace=open(options.trace, "w") if options.trace else None,  # noqa: SIM115
        )
    except RuntimeError as error:
        print(f"fuzz run could not start: {error}", file=sys.stderr)
        return 2
    print(report.format())
    if options.json:
        findings = [
            {
                "kind": f.kind,
                "target": f.target,
                "location": f.location,
                "panic": f.panic,
                "message": f.message,
                "count": f.count,
                "reproducer": reproducer(f.case) if f.case is not None else "",
            }
            for f in report.failures + report.caught
        ]
        summary = {
            "inputs": report.total,
            "seconds": report.seconds,
            "per_target": dict(report.tried),
        }
        with open(options.json, "w") as handle:
            json.dump({"summary": summary, "findings": findings}, handle, indent=2)
    return 1 if report.failures or report.caught else 0


if __name__ == "__main__":
    sys.exit(main())
