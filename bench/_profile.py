"""bench/run.py --profile: one worker of one network scenario under perf or py-spy.

Starts nginx (and MinIO, over https for big_put_tls, when the scenario needs it) as a run does,
runs ONE worker of ours, of PyPI obstore 0.12.1 or of a Python peer (opendal, boto3, ...) under
the profiler, prints the top of the report and stops the servers. A big_object worker reads the
file it uploads before its timed region: in a profile that is ``_io_FileIO_readall``.

perf: ``perf record -e cpu-clock -g`` (a software clock: this VM exposes no hardware counters)
and ``perf report --no-children --sort dso`` then ``dso,sym`` (self time). Break a kept profile
(``--profile-out``) down by thread with ``perf report -i FILE --no-children --sort comm,dso``:
``python`` is the event-loop or calling thread, ``obstore-worker`` our runtime's workers,
``tokio-rt-worker`` those of 0.12.1. py-spy: ``~/.cache/obstore-bench/venv-pyspy`` (created on
first use), ``record --native --format raw`` (collapsed stacks), summarised per frame.
big_get_* workers md5 the object after the timed region: in a profile that is ``libcrypto``.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile

import _harness as h

TOP = 45


def profile(sc, impl: str, ours_py: str, s: dict, args, net_spec) -> int:
    """Profiles one worker of `impl` ("ours", "ref" or a Python peer such as "opendal": its
    scenario's first row of it; or "ours:arrow", the row of that variant)."""
    impl, _, wanted = impl.partition(":")
    if impl == "ours":
        py = ours_py
    else:  # a venv of its own, made from the interpreter under ours'
        base = h.probe(ours_py).get("base_executable") or sys.executable
        if impl == "ref":
            py = h.ensure_ref_venv(base)
        else:
            py = h.ensure_venv(*h.PEERS[h.IMPL_ENV[impl]], base)
    h.ensure_apt({"nginx": "nginx-light"})
    env = h.stage_nginx_root(1000, int(s["big_gib"] * h.GiB) if sc.kind == "big_object" else 0)
    replay = bool(sc.params.get("replay"))
    env["replay"] = h.recorded_listing(s["list_n"]) if replay else None
    record = replay and env["replay"] is None
    live_listing = sc.kind == "listing" and not replay
    upload = sc.params.get("variant", "").startswith("upload")
    tls = bool(sc.params.get("tls"))
    minio = nginx = None
    tmp = tempfile.mkdtemp(prefix="bench-prof-")
    try:
        if live_listing or record or upload:
            # its own dir over https: MinIO serves https whenever its certs dir holds a key
            workdir = os.path.join(h.CACHE, "minio-tls" if tls else "minio-list")
            minio, env["minio"] = h.start_minio(workdir, tls)
            if tls:  # where net_spec looks for the https MinIO
                env["minio_tls"] = env["minio"]
            if live_listing or record:
                env["list_prefix"] = h.populate_listing(env["minio"], s["list_n"], workdir, ours_py)
            if record:  # the pages once, as a run records them; MinIO is then not needed
                env["replay"] = h.record_list_pages(env["minio"], env["list_prefix"], s["list_n"])
                minio.stop()
                minio = None
        nginx = h.Nginx(env["root"], s["nginx_workers"], replay=env["replay"])
        env["nginx"] = nginx.endpoint
        env["replay_endpoint"] = nginx.replay_endpoint
        variant = next(v for i, v in sc.rows if i == impl and wanted in ("", v))
        spec = net_spec(sc, impl, variant, env, s)
        cmd = [py, os.path.join(h.WORKERS, "net.py"), json.dumps(spec)]
        # contended: the competitor runs as in a measured run, from before the worker starts
        busy = h.BusyLoop() if sc.params.get("contended") else None
        try:
            if args.profile == "perf":
                data = args.profile_out or os.path.join(tmp, "perf.data")
                _perf(cmd, data, args.call_graph)
            else:
                _pyspy(cmd, args.profile_out or os.path.join(tmp, "pyspy.txt"))
        finally:
            if busy is not None:
                busy.stop()
        if args.profile == "perf" and args.flame:
            _flame(data, args.flame, f"{sc.name} {impl}:{variant}")
        if upload:
            h.delete_object(ours_py, env["minio"], "upload/big.bin")
            h.empty_minio_trash(minio)
    finally:
        if minio is not None:
            minio.stop()
        if nginx is not None:
            nginx.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _perf(cmd: list, data: str, call_graph: str) -> None:
    p = subprocess.run(
        [
            "perf",
            "record",
            "-e",
            "cpu-clock",
            "-F",
            "1999",
            "--call-graph",
            "dwarf,16384" if call_graph == "dwarf" else "fp",
            "-o",
            data,
            "--",
            *cmd,
        ],
        capture_output=True,
        text=True,
        env=h.worker_env(),
        timeout=600,
    )
    print(p.stdout.strip().splitlines()[-1] if p.stdout.strip() else p.stderr[-2000:])
    for sort in ("dso", "dso,sym"):
        rep = subprocess.run(
            ["perf", "report", "-i", data, "--no-children", "--sort", sort, "--stdio"]
            + ["-g", "none", "--percent-limit", "0.4"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        lines = [x for x in rep.stdout.splitlines() if x and not x.startswith("#")]
        print(f"\n== perf report --sort {sort} (self time) ==")
        print("\n".join(lines[:TOP]))


INFERNO = os.path.join(h.CACHE, "inferno")


def _flame(data: str, svg: str, title: str) -> None:
    """Draws the perf profile `data` as a flame graph (all threads, total time) into `svg`."""
    bin_dir = os.path.join(INFERNO, "bin")
    if not os.path.exists(os.path.join(bin_dir, "inferno-flamegraph")):
        print(f"[flame] cargo install inferno --root {INFERNO} (once)")
        subprocess.run(["cargo", "install", "-q", "inferno", "--root", INFERNO], check=True)
    script = subprocess.run(
        ["perf", "script", "-i", data], capture_output=True, check=True, timeout=600
    )
    folded = subprocess.run(
        [os.path.join(bin_dir, "inferno-collapse-perf"), "--all"],
        input=script.stdout,
        capture_output=True,
        check=True,
        timeout=600,
    )
    with open(svg, "wb") as out:
        subprocess.run(
            [os.path.join(bin_dir, "inferno-flamegraph"), "--title", title, "--minwidth", "0.2"],
            input=folded.stdout,
            stdout=out,
            check=True,
            timeout=600,
        )
    print(f"[flame] {svg}")


def _pyspy(cmd: list, raw: str) -> None:
    spy_py = h.ensure_venv("venv-pyspy", ["py-spy"], "py-spy", sys.executable, binary=True)
    spy = os.path.join(os.path.dirname(spy_py), "py-spy")
    p = subprocess.run(
        [spy, "record", "--native", "-r", "250", "--format", "raw", "-o", raw, "--", *cmd],
        capture_output=True,
        text=True,
        env=h.worker_env(),
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
    for fr, n in self_t.most_common(TOP):
        print(f"{100 * n / total:6.1f}%  {fr[:150]}")
    print("\n== top inclusive ==")
    for fr, n in incl.most_common(TOP):
        print(f"{100 * n / total:6.1f}%  {fr[:150]}")
