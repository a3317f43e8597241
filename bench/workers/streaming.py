#!/usr/bin/env python3
"""Memory bound of streaming: peak RSS and GB/s moving one large object (default 4 GiB).

OUR obstore vs the PyPI reference obstore==0.12.1, on LocalStore (a temp dir on disk) and on
S3Store against a local MinIO (``tests.servers.start("minio", ...)``). Every scenario runs in a
fresh process, so ``ru_maxrss`` is the peak of that one transfer (plus interpreter and import):

- ``put_iter``   ``put(store, key, <generator of 8 MiB buffers>)`` (multipart, default chunk size)
- ``put_file``   ``put(store, key, Path(<4 GiB file>))``
- ``writer``     ``open_writer(store, key)`` + ``write()`` of 8 MiB buffers, then close
- ``get_stream`` ``get(store, key).stream()`` iterated, chunks discarded
- ``reader``     ``open_reader(store, key)`` + ``read(8 MiB)`` until EOF

The driver (stdlib only) stages the source object, starts/stops MinIO, runs the workers (this same
file with ``--worker``), prints a markdown table and writes it to
``bench/results/memory-<timestamp>.md``. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
GiB = 1024**3
MiB = 1024**2
PIECE = 8 * MiB
SOURCE_KEY = "bench/source.bin"
TARGET_KEY = "bench/target.bin"
RSS_TARGET_MIB = 300

SCENARIOS = ["put_iter", "put_file", "writer", "get_stream", "reader"]
STORES = ["local", "s3"]
IMPLS = ["ours", "ref"]


# --------------------------------------------------------------------------------------------------
# Worker: one scenario in a fresh process. Runs under either implementation's interpreter, so it
# uses only the public API common to both, and the stdlib.


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _piece() -> bytes:
    # Pseudo-random, so no layer can compress it; one buffer yielded over and over.
    return os.urandom(PIECE)


def _pieces(size: int, piece: bytes):
    remaining = size
    while remaining > 0:
        n = min(remaining, len(piece))
        yield piece if n == len(piece) else piece[:n]
        remaining -= n


def _make_store(spec: dict):
    import obstore.store

    if spec["store"] == "local":
        return obstore.store.LocalStore(spec["local_root"])
    kwargs = dict(spec["s3_kwargs"])
    kwargs["client_options"] = {
        **kwargs.get("client_options", {}),
        # the client timeout covers a whole request, body included: one 4 GiB GET takes a while
        "timeout": _dt.timedelta(seconds=spec["timeout"]),
    }
    kwargs["retry_config"] = {"max_retries": 2, "retry_timeout": _dt.timedelta(seconds=30)}
    return obstore.store.S3Store(**kwargs)


def worker(spec: dict) -> dict:
    if spec.get("shim"):  # a work-in-progress tree whose package does not import on its own
        sys.path.insert(0, spec["shim"])
        __import__("cloudshim")
    import obstore

    store = _make_store(spec)
    size, scenario = spec["size"], spec["scenario"]
    piece = _piece()
    baseline = _peak_rss_mib()
    moved = 0
    start = time.perf_counter()
    if scenario == "put_iter":
        obstore.put(store, spec["key"], _pieces(size, piece))
        moved = size
    elif scenario == "put_file":
        from pathlib import Path

        obstore.put(store, spec["key"], Path(spec["source_file"]))
        moved = size
    elif scenario == "writer":
        writer = obstore.open_writer(store, spec["key"])
        for buffer in _pieces(size, piece):
            writer.write(buffer)
        writer.close()
        moved = size
    elif scenario == "get_stream":
        for chunk in obstore.get(store, spec["key"]).stream():
            moved += len(chunk)
    elif scenario == "reader":
        reader = obstore.open_reader(store, spec["key"])
        while True:
            chunk = reader.read(PIECE)
            if not chunk:
                break
            moved += len(chunk)
    else:
        raise ValueError(f"unknown scenario {scenario}")
    seconds = time.perf_counter() - start
    peak = _peak_rss_mib()
    stored = obstore.head(store, spec["key"])["size"]
    if spec.get("delete_after"):
        obstore.delete(store, spec["key"])
    if moved != size or stored != size:
        raise RuntimeError(f"moved {moved} B, object has {stored} B, expected {size} B")
    return {
        "obstore_version": obstore.__version__,
        "obstore_file": obstore.__file__,
        "bytes": moved,
        "seconds": seconds,
        "gb_per_s": moved / seconds / 1e9,
        "rss_baseline_mib": baseline,
        "rss_peak_mib": peak,
    }


# --------------------------------------------------------------------------------------------------
# Driver


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_worker(python: str, spec: dict, timeout: float) -> dict:
    from run_inprocess import worker_env  # strips PYTHONPATH etc.: neither side sees the other

    # Write back the dirty pages of earlier steps first: a transfer must not pay for another's.
    os.sync()
    command = [python, os.path.abspath(__file__), "--worker", json.dumps(spec)]
    try:
        process = subprocess.run(
            command, capture_output=True, text=True, env=worker_env(), timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    lines = process.stdout.strip().splitlines()
    if process.returncode != 0 or not lines:
        tail = process.stderr.strip().splitlines()[-1:] or [f"exit {process.returncode}"]
        return {"error": tail[0][:200]}
    return json.loads(lines[-1])


def write_source_file(path: str, size: int) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    piece = _piece()
    with open(path, "wb") as file:
        for buffer in _pieces(size, piece):
            file.write(buffer)


def check_space(directory: str, size: int, what: str) -> str | None:
    """A reason to skip, or None: the tree needs about 2.5x the object plus 10 GiB headroom."""
    free = shutil.disk_usage(directory).free
    need = max(10 * GiB, int(2.5 * size))
    if free < need:
        return f"{what}: only {free / GiB:.1f} GiB free in {directory}, need {need / GiB:.1f} GiB"
    return None


def format_table(rows: list[dict], notes: list[str], size: int, pythons: dict) -> str:
    def cell(result: dict | None, key: str, fmt: str) -> str:
        if result is None:
            return "-"
        if "error" in result:
            return "n/a"
        return format(result[key], fmt)

    lines = [
        f"Object size {size / GiB:g} GiB, pieces of {PIECE // MiB} MiB, default chunk/buffer "
        f"sizes. Peak RSS = `ru_maxrss` of a fresh process per scenario (import included); "
        f"target for ours: < {RSS_TARGET_MIB} MiB.",
        "",
        "| store | scenario | ours GB/s | ours peak RSS MiB | ref GB/s | ref peak RSS MiB "
        f"| ours < {RSS_TARGET_MIB} MiB |",
        "|---|---|---:|---:|---:|---:|:---:|",
    ]
    errors = []
    for row in rows:
        ours, ref = row.get("ours"), row.get("ref")
        verdict = "-"
        if ours is not None and "error" not in ours:
            verdict = "yes" if ours["rss_peak_mib"] < RSS_TARGET_MIB else "**NO**"
        lines.append(
            f"| {row['store']} | {row['scenario']} | {cell(ours, 'gb_per_s', '.2f')} "
            f"| {cell(ours, 'rss_peak_mib', '.0f')} | {cell(ref, 'gb_per_s', '.2f')} "
            f"| {cell(ref, 'rss_peak_mib', '.0f')} | {verdict} |"
        )
        for impl in IMPLS:
            result = row.get(impl)
            if result is not None and "error" in result:
                errors.append(f"- {row['store']}/{row['scenario']}/{impl}: {result['error']}")
    errors += [f"- {note}" for note in notes]
    if errors:
        lines += ["", "Not measured:", *errors]
    lines += ["", "Interpreters:"]
    lines += [f"- {impl}: `{python}`" for impl, python in pythons.items()]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-gib", type=float, default=4.0, help="object size (default 4)")
    parser.add_argument("--ours", default=os.path.join(REPO, ".venv", "bin", "python"))
    parser.add_argument("--ref-venv", default=None, help="reference venv (see run_inprocess.py)")
    parser.add_argument("--stores", default=",".join(STORES), help="local,s3")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--impls", default=",".join(IMPLS), help="ours,ref")
    parser.add_argument("--workdir", default=tempfile.gettempdir(), help="where data goes")
    parser.add_argument("--timeout", type=float, default=None, help="per worker, seconds")
    parser.add_argument(
        "--shim",
        default=None,
        help="directory with a `cloudshim` module imported before obstore in OUR workers "
        "(for a work-in-progress tree whose package does not import on its own)",
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker is not None:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0

    sys.path.insert(0, HERE)
    import run_inprocess

    size = int(args.size_gib * GiB)
    stores = [s for s in args.stores.split(",") if s]
    scenarios = [s for s in args.scenarios.split(",") if s]
    impls = [s for s in args.impls.split(",") if s]
    timeout = args.timeout or max(300.0, 120.0 * size / GiB)
    pythons = {}
    if "ours" in impls:
        pythons["ours"] = args.ours
    if "ref" in impls:
        venv = args.ref_venv or run_inprocess.DEFAULT_REF_VENV
        pythons["ref"] = run_inprocess.ensure_ref_venv(venv, sys.executable)

    workdir = tempfile.mkdtemp(prefix="obstore-memory-bench-", dir=args.workdir)
    rows: list[dict] = []
    notes: list[str] = []
    server = None
    try:
        for store in stores:
            reason = check_space(workdir, size, store)
            if reason:
                log(f"[skip] {reason}")
                notes.append(f"{store} skipped: {reason}")
                continue
            base = {"size": size, "store": store, "timeout": timeout}
            local_root = os.path.join(workdir, "local")
            source_file = os.path.join(workdir, "source", "source.bin")
            if not os.path.exists(source_file):
                log(f"[setup] writing a {args.size_gib:g} GiB source file")
                write_source_file(source_file, size)
            base["source_file"] = source_file
            if store == "local":
                base["local_root"] = local_root
                staged = os.path.join(local_root, SOURCE_KEY)
                os.makedirs(os.path.dirname(staged), exist_ok=True)
                os.link(source_file, staged)  # same bytes, no second copy on disk
            else:
                sys.path.insert(0, REPO)
                import tests.servers

                log("[setup] starting MinIO")
                server = tests.servers.start("minio", os.path.join(workdir, "minio"))
                kwargs = {
                    k: v for k, v in server.store_kwargs.items() if k not in ("retry_config",)
                }
                base["s3_kwargs"] = kwargs
                log("[setup] uploading the source object to MinIO")
                staged = None
                for impl in impls:  # stage with ours if it can, else with the reference
                    staged = run_worker(
                        pythons[impl],
                        {
                            **base,
                            "scenario": "put_file",
                            "key": SOURCE_KEY,
                            "shim": args.shim if impl == "ours" else None,
                        },
                        timeout,
                    )
                    if "error" not in staged:
                        break
                if staged is None or "error" in staged:
                    notes.append(f"s3: could not stage the source object: {staged}")
                    continue
            for number, scenario in enumerate(scenarios):
                row = {"store": store, "scenario": scenario}
                order = impls if number % 2 == 0 else impls[::-1]
                for impl in order:
                    spec = {
                        **base,
                        "scenario": scenario,
                        "shim": args.shim if impl == "ours" else None,
                        "key": SOURCE_KEY if scenario in ("get_stream", "reader") else TARGET_KEY,
                        "delete_after": scenario not in ("get_stream", "reader"),
                    }
                    log(f"[run] {store} {scenario} {impl}")
                    result = run_worker(pythons[impl], spec, timeout)
                    row[impl] = result
                    log(f"      -> {json.dumps(result)}")
                rows.append(row)
            if server is not None:
                server.stop()
                server = None
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    table = format_table(rows, notes, size, pythons)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    header = (
        f"# Memory bounds of streaming ({stamp})\n\n"
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}.\n\n"
    )
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", f"memory-{stamp}.md")
    with open(path, "w") as file:
        file.write(header + table)
    print(header + table)
    log(f"[done] wrote {path}")
    failed = any("error" in row.get(impl, {}) for row in rows for impl in ("ours",))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
