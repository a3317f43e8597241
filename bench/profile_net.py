#!/usr/bin/env python3
"""Profile one network scenario of bench/run_all.py under perf or py-spy.

Starts nginx on the cached data (as run_all.py does), runs ONE worker
(bench/_worker_net.py) for ``--impl`` (ours or ref) under the profiler, prints the top of
the report and stops nginx. Stdlib only; 127.0.0.1 only; bounded by the worker's own limits.

    python bench/profile_net.py --scenario s1 --concurrency 64 --tool perf
    python bench/profile_net.py --scenario s3 --variant bytes --tool perf --impl ref
    python bench/profile_net.py --scenario s1 --tool py-spy     # py-spy from a scratch venv

perf: ``perf record -e cpu-clock -g`` (software clock: this VM has no hardware counters) and
``perf report --no-children --sort dso,sym``. py-spy: ``~/.cache/obstore-bench/venv-pyspy``
(created on first use), ``record --native --format raw`` (collapsed stacks), summarised per frame.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import run_all  # noqa: E402
import run_inprocess  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--impl", default="ours", choices=["ours", "ref"])
    ap.add_argument("--ours", default=run_inprocess.DEFAULT_OURS)
    ap.add_argument("--scenario", default="s1", choices=["s1", "s2", "s3"])
    ap.add_argument("--variant", default="bytes", help="s3: bytes | stream | parallel")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--big-gib", type=float, default=1.0)
    ap.add_argument("--tool", default="perf", choices=["perf", "py-spy"])
    ap.add_argument("--top", type=int, default=45)
    ap.add_argument("--out", default=None, help="keep the raw profile here")
    ap.add_argument(
        "--call-graph",
        default="fp",
        choices=["fp", "dwarf"],
        help="perf unwinding: fp (cheap; Rust and mimalloc frames are cut short) or dwarf",
    )
    args = ap.parse_args()

    if args.impl == "ours":
        py = args.ours
    else:
        base = run_inprocess.probe(args.ours).get("base_executable") or sys.executable
        py = run_inprocess.ensure_ref_venv(run_inprocess.DEFAULT_REF_VENV, base)
    big = int(args.big_gib * run_all.GiB)
    env = run_all.stage_nginx_root(1000, big)
    nginx = run_all.Nginx(env["root"], 2)
    tmp = tempfile.mkdtemp(prefix="bench-prof-")
    try:
        spec = {
            "impl": args.impl,
            "scenario": args.scenario,
            "endpoint": nginx.endpoint,
            "bucket": run_all.BUCKET,
            "access_key_id": run_all.NGINX_KEY,
            "secret_access_key": run_all.NGINX_SECRET,
            "n_objects": 1000,
            "object_size": run_all.MiB,
            "range_size": 16 * 1024,
            "prefix": "obj/",
            "n_requests": args.requests,
            "concurrency": args.concurrency,
            "threads": 16,
            "time_cap": 120,
            "variant": args.variant,
            "big_key": env["big_key"],
            "big_size": big,
            "big_file": env["big_file"],
            "big_md5": env["big_md5"],
            "long_timeout": True,
            "part_size": 16 * run_all.MiB,
            "parallelism": 16,
        }
        cmd = [py, run_all.WORKER, json.dumps(spec)]
        wenv = run_inprocess.worker_env()
        if args.tool == "perf":
            data = args.out or os.path.join(tmp, "perf.data")
            p = subprocess.run(
                [
                    "perf",
                    "record",
                    "-e",
                    "cpu-clock",
                    "-F",
                    "1999",
                    "--call-graph",
                    "dwarf,16384" if args.call_graph == "dwarf" else "fp",
                    "-o",
                    data,
                    "--",
                    *cmd,
                ],
                capture_output=True,
                text=True,
                env=wenv,
                timeout=600,
            )
            print(p.stdout.strip().splitlines()[-1] if p.stdout.strip() else p.stderr[-2000:])
            for sort in ("dso", "dso,sym"):
                rep = subprocess.run(
                    [
                        "perf",
                        "report",
                        "-i",
                        data,
                        "--no-children",
                        "--sort",
                        sort,
                        "--stdio",
                        "-g",
                        "none",
                        "--percent-limit",
                        "0.4",
                    ],
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                lines = [x for x in rep.stdout.splitlines() if x and not x.startswith("#")]
                print(f"\n== perf report --sort {sort} (self time) ==")
                print("\n".join(lines[: args.top]))
        else:
            spy_py = run_all.ensure_venv("venv-pyspy", ["py-spy"], "sys", sys.executable)
            spy = os.path.join(os.path.dirname(spy_py), "py-spy")
            raw = args.out or os.path.join(tmp, "pyspy.txt")
            p = subprocess.run(
                [spy, "record", "--native", "-r", "250", "--format", "raw", "-o", raw, "--", *cmd],
                capture_output=True,
                text=True,
                env=wenv,
                timeout=600,
            )
            print(p.stdout.strip().splitlines()[-1] if p.stdout.strip() else p.stderr[-2000:])
            self_t: collections.Counter = collections.Counter()
            incl: collections.Counter = collections.Counter()
            total = 0
            with open(raw) as f:
                for line in f:
                    stack, _, n = line.rstrip().rpartition(" ")
                    n = int(n)
                    frames = stack.split(";")
                    total += n
                    self_t[frames[-1]] += n
                    for fr in set(frames):
                        incl[fr] += n
            print(f"\n== py-spy: {total} samples; top self ==")
            for fr, n in self_t.most_common(args.top):
                print(f"{100 * n / total:6.1f}%  {fr[:150]}")
            print("\n== top inclusive ==")
            for fr, n in incl.most_common(args.top):
                print(f"{100 * n / total:6.1f}%  {fr[:150]}")
    finally:
        nginx.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
