#!/usr/bin/env python3
"""In-process benchmark: OUR obstore vs the PyPI reference obstore==0.12.1.

Stdlib only. Each implementation runs in its own interpreter (so neither can
shadow the other): ours with ``--ours PYTHON`` (default: the repo venv), the
reference from a dedicated virtualenv that this script creates/reuses at
``~/.cache/obstore-bench/venv-obstore-0.12.1`` (never the repo venv).

For every scenario a fresh worker process (bench/_worker_inprocess.py) is
started per implementation and repetition. Schedule: one warm-up repetition
(short time cap, discarded), then ``--reps`` (>= 3) measured repetitions; within
each repetition every scenario runs once per implementation, and the order
ours/ref alternates between repetitions and between scenarios. Reported
figures are medians over the measured repetitions; ratios are ours/ref from the
same run (plus the min-max of the per-repetition paired ratios).

Output: a markdown table on stdout, written to
``bench/results/inprocess-<timestamp>.md`` together with a ``.json`` file
holding the same summary plus every raw sample.

See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORKER = os.path.join(HERE, "_worker_inprocess.py")
REF_VERSION = "0.12.1"
DEFAULT_REF_VENV = os.path.join(
    os.path.expanduser("~"), ".cache", "obstore-bench", f"venv-obstore-{REF_VERSION}"
)
DEFAULT_OURS = os.path.join(REPO, ".venv", "bin", "python")
SIZE = 1024

# (name, what it measures) -- order is the run/print order.
SCENARIOS = [
    ("memory_get_sync", "MemoryStore: loop of obstore.get(store, k).bytes()"),
    ("memory_put_sync", "MemoryStore: loop of obstore.put(store, k, 1 KiB)"),
    ("memory_get_async", "MemoryStore: gather of 1,000 get_async + bytes_async"),
    ("memory_put_async", "MemoryStore: gather of 1,000 put_async"),
    ("local_get_sync", "LocalStore: loop of obstore.get(store, k).bytes() on 1 KiB files"),
    ("local_put_sync", "LocalStore: loop of obstore.put (overwrite 1 KiB files)"),
    ("local_get_async", "LocalStore: gather of 1,000 get_async + bytes_async"),
    ("local_put_async", "LocalStore: gather of 1,000 put_async (overwrite)"),
    ("python_open_read", "floor: Python open(p,'rb').read() of the same files"),
    ("python_open_write", "floor: Python open(p,'wb').write() (overwrite)"),
]
SCENARIO_NAMES = [s for s, _ in SCENARIOS]

# Env vars that could make one side import the other's package.
_STRIP_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def worker_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _STRIP_ENV}
    env.pop("VIRTUAL_ENV", None)
    env["PYTHONNOUSERSITE"] = "1"
    return env


def probe(python: str) -> dict:
    """Which obstore does this interpreter import?"""
    code = (
        "import json, sys, obstore\n"
        "print(json.dumps({'obstore_version': getattr(obstore, '__version__', None),"
        " 'obstore_file': getattr(obstore, '__file__', None),"
        " 'python': sys.version.split()[0], 'prefix': sys.prefix,"
        " 'base_executable': getattr(sys, '_base_executable', sys.executable),"
        " 'executable': sys.executable}))\n"
    )
    p = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, env=worker_env(), timeout=120
    )
    if p.returncode != 0:
        raise RuntimeError(f"{python} cannot import obstore:\n{p.stderr.strip()[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def _inside(path: str, root: str) -> bool:
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root + os.sep)


def ensure_ref_venv(venv: str, base_python: str) -> str:
    """Create/reuse the reference venv with obstore==REF_VERSION; return its python."""
    if _inside(venv, REPO):
        raise SystemExit(
            f"refusing to use {venv} as the reference venv: it is inside the repo "
            f"({REPO}); the PyPI obstore must never be installed next to ours"
        )
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        log(f"[setup] creating reference venv {venv} (base {base_python})")
        os.makedirs(os.path.dirname(venv), exist_ok=True)
        subprocess.run([base_python, "-m", "venv", venv], check=True)
    try:
        have = probe(py).get("obstore_version")
    except RuntimeError:
        have = None
    if have != REF_VERSION:
        log(f"[setup] pip install obstore=={REF_VERSION} into {venv} (had {have})")
        subprocess.run(
            [
                py,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"obstore=={REF_VERSION}",
            ],
            check=True,
            env=worker_env(),
        )
        have = probe(py).get("obstore_version")
        if have != REF_VERSION:
            raise SystemExit(f"reference venv has obstore {have}, want {REF_VERSION}")
    return py


def payload() -> bytes:
    # Must match _worker_inprocess._payload (the worker verifies read-back).
    return bytes((i * 131 + 7) % 251 for i in range(SIZE))


def run_worker(python, scenario, get_dir, put_root, tag, keys, max_rounds, time_cap, timeout):
    put_dir = tempfile.mkdtemp(prefix=f"put-{tag}-", dir=put_root)
    cmd = [
        python,
        WORKER,
        scenario,
        "--get-dir",
        get_dir,
        "--put-dir",
        put_dir,
        "--keys",
        str(keys),
        "--max-rounds",
        str(max_rounds),
        "--time-cap",
        str(time_cap),
    ]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=worker_env(), timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout}s"}
    finally:
        shutil.rmtree(put_dir, ignore_errors=True)
    try:
        res = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {
            "error": f"exit {p.returncode}: bad/no worker output: "
            f"{p.stdout[-300:]!r} {p.stderr.strip()[-1500:]!r}"
        }
    # The worker printed a complete result, so the measurement is valid; a non-zero
    # exit after that (e.g. an abort during interpreter finalization) is recorded
    # and reported, not hidden.
    res["exit_code"] = p.returncode
    if p.returncode != 0:
        res["exit_stderr"] = p.stderr.strip()[-500:]
    return res


def _med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def _ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def summarize(samples: dict) -> list:
    """samples[scenario][side] = list of worker result dicts (measured reps, in order)."""
    rows = []
    for sc in SCENARIO_NAMES:
        if sc not in samples:
            continue
        o, r = samples[sc]["ours"], samples[sc]["ref"]
        ok = lambda rs: [x for x in rs if "error" not in x]  # noqa: E731
        oo, rr = ok(o), ok(r)
        row = {
            "scenario": sc,
            "n_ours": len(oo),
            "n_ref": len(rr),
            "errors": [x["error"] for x in o + r if "error" in x],
        }
        row["ours_ops_per_s"] = _med([x["ops_per_s"] for x in oo])
        row["ref_ops_per_s"] = _med([x["ops_per_s"] for x in rr])
        row["ops_ratio"] = _ratio(row["ours_ops_per_s"], row["ref_ops_per_s"])
        row["ours_cpu_us_per_op"] = _med([x["cpu_us_per_op"] for x in oo])
        row["ref_cpu_us_per_op"] = _med([x["cpu_us_per_op"] for x in rr])
        row["cpu_ratio"] = _ratio(row["ours_cpu_us_per_op"], row["ref_cpu_us_per_op"])
        row["ours_peak_rss_mib"] = _med([x["peak_rss_mib"] for x in oo])
        row["ref_peak_rss_mib"] = _med([x["peak_rss_mib"] for x in rr])
        row["rss_ratio"] = _ratio(row["ours_peak_rss_mib"], row["ref_peak_rss_mib"])
        # Paired (same repetition) ratios show the run-to-run spread.
        pairs = [
            (a, b) for a, b in zip(o, r, strict=False) if "error" not in a and "error" not in b
        ]
        row["ours_bad_exits"] = sum(1 for x in oo if x.get("exit_code"))
        row["ref_bad_exits"] = sum(1 for x in rr if x.get("exit_code"))
        row["exit_codes"] = {
            "ours": [x.get("exit_code") for x in oo],
            "ref": [x.get("exit_code") for x in rr],
        }
        row["paired_ops_ratios"] = [_ratio(a["ops_per_s"], b["ops_per_s"]) for a, b in pairs]
        row["paired_cpu_ratios"] = [
            _ratio(a["cpu_us_per_op"], b["cpu_us_per_op"]) for a, b in pairs
        ]
        row["ours_ops_per_rep"] = [x["ops"] for x in oo]
        row["ref_ops_per_rep"] = [x["ops"] for x in rr]
        rows.append(row)
    return rows


def _fmt_int(x):
    return "FAIL" if x is None else f"{x:,.0f}"


def _fmt_us(x):
    if x is None:
        return "FAIL"
    return f"{x:.3g}" if x < 100 else f"{x:,.0f}"


def _fmt_ratio(x, pairs):
    if x is None:
        return "FAIL"
    ps = [p for p in pairs if p is not None]
    if len(ps) >= 2:
        return f"**{x:.2f}** ({min(ps):.2f}–{max(ps):.2f})"
    return f"**{x:.2f}**"


def render_md(meta: dict, rows: list) -> str:
    L = []
    title = "obstore in-process benchmark: ours vs PyPI obstore " + REF_VERSION
    if meta["self_vs_self"]:
        title += " — SELF vs SELF (both sides are the same library: noise calibration)"
    L.append(f"# {title}\n")
    L.append(
        f"- run: {meta['timestamp']} on {meta['host']['nproc']} CPU(s), "
        f"{meta['host']['platform']}; loadavg before {meta['host']['loadavg_before']}, "
        f"after {meta['host']['loadavg_after']}; wall {meta['elapsed_s']:.0f} s"
    )
    for side in ("ours", "ref"):
        i = meta[side]
        L.append(
            f"- {side}: obstore {i['obstore_version']} from `{i['obstore_file']}` "
            f"(Python {i['python']}, `{i['interpreter']}`)"
        )
    s = meta["settings"]
    L.append(
        f"- settings: 1 KiB objects, {s['keys']} keys/round, warm-up rep + {s['reps']} "
        f"alternating reps, per worker: max {s['max_rounds']} rounds or "
        f"{s['time_cap']} s; medians over reps"
    )
    L.append(
        "- ops/s ratio = ours/ref (>1: ours faster); CPU ratio = ours/ref (<1: ours "
        "cheaper). (a–b) = min–max of per-repetition paired ratios. CPU = "
        "getrusage(RUSAGE_SELF) user+sys of the worker (all threads). RSS = ru_maxrss "
        "of the whole worker process."
    )
    L.append(
        "- noise: self-vs-self ratios land in 0.9–1.2 on this kind of machine; "
        "trust differences > 20%, prefer the CPU column.\n"
    )
    L.append(
        "| scenario | ours ops/s | ref ops/s | ops/s ratio | ours CPU µs/op | "
        "ref CPU µs/op | CPU ratio | peak RSS MiB ours / ref |"
    )
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        rss = (
            "FAIL"
            if r["ours_peak_rss_mib"] is None or r["ref_peak_rss_mib"] is None
            else f"{r['ours_peak_rss_mib']:.0f} / {r['ref_peak_rss_mib']:.0f}"
        )
        L.append(
            f"| {r['scenario']} | {_fmt_int(r['ours_ops_per_s'])} | {_fmt_int(r['ref_ops_per_s'])} "
            f"| {_fmt_ratio(r['ops_ratio'], r['paired_ops_ratios'])} "
            f"| {_fmt_us(r['ours_cpu_us_per_op'])} | {_fmt_us(r['ref_cpu_us_per_op'])} "
            f"| {_fmt_ratio(r['cpu_ratio'], r['paired_cpu_ratios'])} | {rss} |"
        )
    errs = [(r["scenario"], e) for r in rows for e in r["errors"]]
    if errs:
        L.append("\n## Errors\n")
        for sc, e in errs:
            L.append(f"- {sc}: `{e.splitlines()[-1] if e else e}`")
    crashes = [r for r in rows if r["ours_bad_exits"] or r["ref_bad_exits"]]
    if crashes:
        L.append("\n## Workers that exited non-zero AFTER reporting a complete result\n")
        L.append("(measurement kept; typically an abort during interpreter shutdown)\n")
        for r in crashes:
            L.append(
                f"- {r['scenario']}: ours {r['ours_bad_exits']}/{r['n_ours']} "
                f"(exit codes {r['exit_codes']['ours']}), ref "
                f"{r['ref_bad_exits']}/{r['n_ref']} (exit codes {r['exit_codes']['ref']})"
            )
    L.append("\nScenarios:\n")
    for name, desc in SCENARIOS:
        if any(r["scenario"] == name for r in rows):
            L.append(f"- `{name}`: {desc}")
    return "\n".join(L) + "\n"


def loadavg():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "n/a"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--ours",
        default=DEFAULT_OURS,
        help="interpreter that imports OUR obstore (default: %(default)s)",
    )
    ap.add_argument(
        "--ref-venv",
        default=DEFAULT_REF_VENV,
        help="venv for the PyPI reference, created/reused (default: %(default)s)",
    )
    ap.add_argument(
        "--ref-base-python",
        default=None,
        help="interpreter used to create the reference venv "
        "(default: the base of --ours if it is a venv, else this Python)",
    )
    ap.add_argument(
        "--reps", type=int, default=5, help="measured repetitions, >= 3 (default %(default)s)"
    )
    ap.add_argument(
        "--time-cap",
        type=float,
        default=0.5,
        help="seconds of measurement per worker (default %(default)s)",
    )
    ap.add_argument(
        "--max-rounds",
        type=int,
        default=500,
        help="max rounds of --keys ops per worker (default %(default)s)",
    )
    ap.add_argument("--warmup-time-cap", type=float, default=0.15)
    ap.add_argument("--keys", type=int, default=1000, help="ops per round / gather size")
    ap.add_argument(
        "--scenarios",
        default=",".join(SCENARIO_NAMES),
        help="comma-separated subset of: " + ", ".join(SCENARIO_NAMES),
    )
    ap.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    ap.add_argument("--tmp-dir", default=None, help="where the 1 KiB files go (default: $TMPDIR)")
    ap.add_argument("--worker-timeout", type=float, default=120.0)
    ap.add_argument("--allow-few-reps", action="store_true", help="permit --reps < 3 (smoke tests)")
    args = ap.parse_args(argv)

    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    bad = [s for s in scenarios if s not in SCENARIO_NAMES]
    if bad:
        ap.error(f"unknown scenario(s): {bad}")
    if args.reps < 3 and not args.allow_few_reps:
        ap.error("--reps must be >= 3 (use --allow-few-reps for a smoke test)")

    ours_py = os.path.expanduser(args.ours)
    if not os.path.exists(ours_py):
        raise SystemExit(
            f"--ours interpreter {ours_py} not found (build ours with `make` first, "
            f"or pass --ours PYTHON)"
        )
    info = {}
    try:
        info["ours"] = probe(ours_py)
    except RuntimeError as e:
        hint = "build ours with `make` first, or pass --ours PYTHON"
        raise SystemExit(f"[ours] {e}\n({hint})") from e
    # Same CPython for both sides by default: build the ref venv from ours' base interpreter.
    base = args.ref_base_python or info["ours"].get("base_executable") or sys.executable
    ref_py = ensure_ref_venv(os.path.expanduser(args.ref_venv), base)
    info["ref"] = probe(ref_py)
    for side, py in (("ours", ours_py), ("ref", ref_py)):
        info[side]["interpreter"] = py
        log(
            f"[{side}] obstore {info[side]['obstore_version']} at {info[side]['obstore_file']} "
            f"(Python {info[side]['python']})"
        )
    self_vs_self = os.path.realpath(info["ours"]["obstore_file"] or "") == os.path.realpath(
        info["ref"]["obstore_file"] or ""
    )
    if self_vs_self:
        log("[note] ours and ref import the SAME obstore: this is a self-vs-self noise calibration")
    elif info["ours"]["python"] != info["ref"]["python"]:
        log(
            f"[warn] Python versions differ (ours {info['ours']['python']}, ref "
            f"{info['ref']['python']}); pass --ref-base-python to match them"
        )
    if info["ours"]["obstore_version"] == REF_VERSION and not self_vs_self:
        log(f"[warn] ours reports version {REF_VERSION}; make sure --ours is not the PyPI build")

    tmp = tempfile.mkdtemp(prefix="obstore-bench-", dir=args.tmp_dir)
    get_dir = os.path.join(tmp, "get")
    os.makedirs(get_dir)
    data = payload()
    for i in range(args.keys):
        with open(os.path.join(get_dir, f"f{i:04d}"), "wb") as f:
            f.write(data)

    started = time.time()
    la_before = loadavg()
    samples = {sc: {"ours": [], "ref": []} for sc in scenarios}
    pythons = {"ours": ours_py, "ref": ref_py}
    try:
        for rep in range(args.reps + 1):  # rep 0 = warm-up, discarded
            warm = rep == 0
            cap = args.warmup_time_cap if warm else args.time_cap
            for si, sc in enumerate(scenarios):
                order = ("ours", "ref") if (rep + si) % 2 == 0 else ("ref", "ours")
                for side in order:
                    res = run_worker(
                        pythons[side],
                        sc,
                        get_dir,
                        tmp,
                        f"{side}-{rep}",
                        args.keys,
                        args.max_rounds,
                        cap,
                        args.worker_timeout,
                    )
                    res["rep"] = rep
                    if res.get("exit_code"):
                        log(
                            f"[{'warm' if warm else f'rep {rep}'}] {sc:18s} {side:4s} "
                            "worker exited "
                            f"{res['exit_code']} after reporting (kept; see report)"
                        )
                    if "error" in res:
                        log(
                            f"[{'warm' if warm else f'rep {rep}'}] {sc:18s} {side:4s} ERROR "
                            f"{res['error'].splitlines()[-1] if res['error'] else ''}"
                        )
                    else:
                        log(
                            f"[{'warm' if warm else f'rep {rep}'}] {sc:18s} {side:4s} "
                            f"{res['ops_per_s']:>12,.0f} ops/s  {res['cpu_us_per_op']:8.2f} µs "
                            f"CPU/op  ({res['ops']} ops)"
                        )
                    if not warm:
                        samples[sc][side].append(res)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.time() - started

    ts = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    rows = summarize(samples)
    meta = {
        "timestamp": ts,
        "self_vs_self": self_vs_self,
        "ours": info["ours"],
        "ref": info["ref"],
        "elapsed_s": elapsed,
        "host": {
            "nproc": os.cpu_count(),
            "platform": platform.platform(),
            "loadavg_before": la_before,
            "loadavg_after": loadavg(),
        },
        "settings": {
            "reps": args.reps,
            "time_cap": args.time_cap,
            "max_rounds": args.max_rounds,
            "keys": args.keys,
            "warmup_time_cap": args.warmup_time_cap,
            "object_size": SIZE,
            "scenarios": scenarios,
        },
    }
    md = render_md(meta, rows)
    print(md)
    os.makedirs(args.out_dir, exist_ok=True)
    base_path = os.path.join(args.out_dir, f"inprocess-{ts}")
    with open(base_path + ".md", "w") as f:
        f.write(md)
    with open(base_path + ".json", "w") as f:
        json.dump({"meta": meta, "summary": rows, "samples": samples}, f, indent=1)
    log(f"[done] wrote {base_path}.md and {base_path}.json ({elapsed:.0f} s)")
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
