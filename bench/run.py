#!/usr/bin/env python3
"""The benchmark suite of issue 5: OUR obstore vs PyPI obstore==0.12.1 and the peers.

One command (``make bench`` = ``python bench/run_all.py --ours .venv/bin/python``) that

1. installs what is missing: ``nginx-light`` and ``wrk`` from Debian (apt-get), and one
   virtualenv per peer under ``~/.cache/obstore-bench/`` (obstore==0.12.1, s3fs, aioboto3,
   boto3, opendal, and the raw aiohttp + urllib3 floors) -- never into the repo venv;
2. stages the data once, cached in ``~/.cache/obstore-bench/nginx-root`` (1,000 objects of
   1 MiB and one 1 GiB object) and ``~/.cache/obstore-bench/minio-list`` (MinIO data dir with
   100,000 small objects, created once with our ``put_async``);
3. starts nginx (own process, generated config, 127.0.0.1, free port, path-style
   ``/BUCKET/KEY``, ``keepalive_requests`` high, ``access_log off``) for the reads and MinIO
   (``tests.servers.start("minio", ...)``) for the writes and lists;
4. runs the scenarios: warm-up repetition, then ``--reps`` (>= 3) repetitions in which every
   implementation runs once per scenario in a fresh worker process (bench/_worker_net.py),
   the order reversing between repetitions; scenario 4 is bench/run_inprocess.py;
5. writes ``bench/results/<timestamp>.md`` + ``.json`` and regenerates ``bench/RESULTS.md``.

Stdlib only. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, REPO)

import run_inprocess  # noqa: E402  (reuse its venv handling and conventions)

WORKER = os.path.join(HERE, "_worker_net.py")
CACHE = os.path.join(os.path.expanduser("~"), ".cache", "obstore-bench")
MiB, GiB = 1024**2, 1024**3
BUCKET = "bench"
NGINX_KEY = "nginx-key"  # nginx ignores the signature; every client still computes one
NGINX_SECRET = "nginx-secret"

# peer -> (venv dir name, pip requirements, module to import-check)
PEERS = {
    "s3fs": ("venv-s3fs", ["s3fs"], "s3fs"),
    "aioboto3": ("venv-aioboto3", ["aioboto3"], "aioboto3"),
    "boto3": ("venv-boto3", ["boto3"], "boto3"),
    "opendal": ("venv-opendal", ["opendal"], "opendal"),
    "floor": ("venv-floor", ["aiohttp", "urllib3"], "aiohttp, urllib3"),
}
# implementation -> which interpreter runs it
IMPL_ENV = {
    "ours": "ours",
    "ref": "ref",
    "s3fs": "s3fs",
    "aioboto3": "aioboto3",
    "boto3": "boto3",
    "opendal": "opendal",
    "aiohttp": "floor",
    "urllib3": "floor",
    "http.client": "floor",
    "gil-release": "floor",
    "wrk": "floor",
    "curl": "floor",
}
LABEL = {
    "ours": "**ours**",
    "ref": "obstore 0.12.1",
    "aiohttp": "aiohttp (floor)",
    "urllib3": "urllib3 (floor)",
    "http.client": "http.client readinto (floor)",
    "gil-release": "time.sleep(0): blocks ~50 µs, no I/O (the pool's GIL hand-off floor)",
    "wrk": "wrk (C ceiling)",
    "curl": "curl (C ceiling)",
}

SCENARIO_TITLES = {
    "s1_c64": "1. asyncio: 16 KiB ranged GETs of 1,000 distinct 1 MiB objects, 64 in flight",
    "s1_c256": "1. asyncio: 16 KiB ranged GETs of 1,000 distinct 1 MiB objects, 256 in flight",
    "s2": "2. sync: the same from a 16-thread pool",
    "s2_t1": "2b. sync: the same from one thread (a plain loop; no target, shows the lanes)",
    "s3_bytes": "3a. 1 GiB object downloaded whole into memory",
    "s3_stream": "3b. 1 GiB object streamed (chunks discarded)",
    "s3_parallel": (
        "3c. 1 GiB object via parallel ranged GETs (16 MiB parts, 16 in flight) into memory "
        "(ours: get_parallel; 0.12.1: asyncio.gather of get_range_async into one bytearray)"
    ),
    "s3_upload": "3d. 1 GiB object uploaded from memory (to MinIO)",
    "s5_list": "5. listing 100,000 objects (MinIO)",
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ setup
def ensure_apt(binaries: dict) -> None:
    """binaries: {binary: debian package}. apt-get install what is missing."""
    missing = {b: p for b, p in binaries.items() if not shutil.which(b)}
    if not missing:
        return
    pkgs = sorted(set(missing.values()))
    log(f"[setup] apt-get install {' '.join(pkgs)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "-qq", *pkgs], check=True, env=env, timeout=1200)
    still = [b for b in missing if not shutil.which(b)]
    if still:
        raise SystemExit(f"still missing after apt-get: {still}")


def ensure_venv(name: str, reqs: list, check: str, base_python: str) -> str:
    venv = os.path.join(CACHE, name)
    if run_inprocess._inside(venv, REPO):
        raise SystemExit(f"refusing to create a peer venv inside the repo: {venv}")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        log(f"[setup] creating {venv}")
        os.makedirs(CACHE, exist_ok=True)
        subprocess.run([base_python, "-m", "venv", venv], check=True)
    env = run_inprocess.worker_env()
    ok = subprocess.run([py, "-c", f"import {check}"], env=env, capture_output=True).returncode == 0
    if not ok:
        log(f"[setup] pip install {' '.join(reqs)} into {venv}")
        subprocess.run(
            [py, "-m", "pip", "install", "-q", "--disable-pip-version-check", *reqs],
            check=True,
            env=env,
            timeout=1200,
        )
    return py


def pip_versions(py: str, names: list) -> dict:
    code = (
        "import json, importlib.metadata as m\n"
        f"out = {{}}\nfor n in {names!r}:\n"
        "    try: out[n] = m.version(n)\n"
        "    except Exception: out[n] = None\n"
        "print(json.dumps(out))"
    )
    p = subprocess.run(
        [py, "-c", code], capture_output=True, text=True, env=run_inprocess.worker_env()
    )
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pattern_chunk(seed: int, size: int) -> bytes:
    # Pseudo-random (incompressible) but reproducible: blake2b in counter mode.
    out = bytearray()
    i = 0
    while len(out) < size:
        out += hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=64).digest() * 64
        i += 1
    return bytes(out[:size])


def stage_nginx_root(n_objects: int, big_size: int) -> dict:
    root = os.path.join(CACHE, "nginx-root")
    objdir = os.path.join(root, BUCKET, "obj")
    os.makedirs(objdir, exist_ok=True)
    made = 0
    for i in range(n_objects):
        p = os.path.join(objdir, f"{i:04d}")
        if not (os.path.exists(p) and os.path.getsize(p) == MiB):
            with open(p, "wb") as f:
                f.write(_pattern_chunk(i, MiB))
            made += 1
    if made:
        log(f"[setup] wrote {made} objects of 1 MiB under {objdir}")
    big = os.path.join(root, BUCKET, "big", f"{big_size}.bin")
    meta = big + ".md5"
    if not (os.path.exists(big) and os.path.getsize(big) == big_size and os.path.exists(meta)):
        log(f"[setup] writing the {big_size / GiB:g} GiB object {big}")
        os.makedirs(os.path.dirname(big), exist_ok=True)
        h = hashlib.md5()
        block = os.urandom(64 * MiB)
        with open(big + ".tmp", "wb") as f:
            left, i = big_size, 0
            while left > 0:
                # vary each block cheaply so no two 64 MiB blocks are identical
                b = i.to_bytes(8, "little") + block[8 : min(left, len(block))]
                f.write(b)
                h.update(b)
                left -= len(b)
                i += 1
        os.replace(big + ".tmp", big)
        with open(meta, "w") as f:
            f.write(h.hexdigest())
    with open(meta) as f:
        md5 = f.read().strip()
    return {
        "root": root,
        "big_key": f"big/{big_size}.bin",
        "big_file": big,
        "big_md5": md5,
        "obj_files": [os.path.join(objdir, f"{i:04d}") for i in range(n_objects)],
    }


NGINX_CONF = """
daemon off;
master_process on;
worker_processes {workers};
user root root;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; multi_accept on; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    default_type application/octet-stream;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    etag on;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {root};
        location / {{ }}
    }}
}}
"""


class Nginx:
    def __init__(self, root: str, workers: int) -> None:
        self.prefix = tempfile.mkdtemp(prefix="bench-nginx-")
        self.port = free_port()
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(
                NGINX_CONF.format(prefix=self.prefix, port=self.port, root=root, workers=workers)
            )
        self.log = open(os.path.join(self.prefix, "stderr.log"), "w")
        self.proc = subprocess.Popen(
            ["nginx", "-p", self.prefix, "-c", conf, "-e", os.path.join(self.prefix, "error.log")],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.endpoint = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"nginx exited {self.proc.returncode}: {self._tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            self.stop()
            raise SystemExit("nginx did not start listening in 15 s")
        log(f"[nginx] pid {self.proc.pid} on {self.endpoint}, root {root}")

    def _tail(self) -> str:
        try:
            return open(os.path.join(self.prefix, "error.log")).read()[-1500:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM to the master (our own child, by PID): fast shutdown
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)  # its own session/group, started by us
                self.proc.wait(5)
        self.log.close()
        shutil.rmtree(self.prefix, ignore_errors=True)


POPULATE = r"""
import asyncio, json, sys, time
import obstore
from obstore.store import S3Store
spec = json.loads(sys.argv[1])
store = S3Store(**spec["kwargs"])
prefix, n = spec["prefix"], spec["n"]
async def main():
    sem = asyncio.Semaphore(64)
    t0 = time.time()
    async def one(i):
        async with sem:
            await obstore.put_async(store, f"{prefix}{i:06d}", b"x")
    for lo in range(0, n, 5000):
        await asyncio.gather(*[one(i) for i in range(lo, min(n, lo + 5000))])
        done = min(n, lo + 5000)
        print(f"  {done} / {n} objects, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
        if time.time() - t0 > 3600:
            raise SystemExit("populate: over 1 hour, giving up")
asyncio.run(main())
"""


def start_minio(list_n: int, ours_py: str):
    from tests.servers import start

    workdir = os.path.join(CACHE, "minio-list")
    os.makedirs(workdir, exist_ok=True)
    srv = start("minio", workdir)
    log(f"[minio] {srv.endpoint} (data dir {workdir}/minio-data, kept between runs)")
    kw = {
        "bucket": srv.store_kwargs["bucket"],
        "endpoint": srv.endpoint,
        "access_key_id": srv.extra["access_key_id"],
        "secret_access_key": srv.extra["secret_access_key"],
        "region": "us-east-1",
        "client_options": {"allow_http": True},
    }
    prefix = f"list{list_n}/"
    marker = os.path.join(workdir, f"populated-{list_n}.json")
    if not os.path.exists(marker):
        log(
            f"[setup] creating {list_n:,} objects under {prefix} in MinIO with our put_async (once)"
        )
        t0 = time.time()
        subprocess.run(
            [ours_py, "-c", POPULATE, json.dumps({"kwargs": kw, "prefix": prefix, "n": list_n})],
            check=True,
            env=run_inprocess.worker_env(),
            timeout=4000,
        )
        with open(marker, "w") as f:
            json.dump({"n": list_n, "prefix": prefix, "seconds": time.time() - t0}, f)
    return srv, kw, prefix


# ------------------------------------------------------------------------------------ running
def warm_page_cache(paths: list) -> float:
    """Read `paths` whole so that nginx serves them from memory; returns the seconds it took.

    On this VM the host reclaims guest page cache even with most memory free (the 1 MiB objects
    were found a third to four fifths resident hours after they were written), and nginx then
    reads from a disk that MinIO may be busy on: workers stalled for seconds with their CPU idle,
    hitting whichever implementation ran first after an eviction. Done before every worker that
    reads from nginx, so each finds the same warm cache."""
    t0 = time.perf_counter()
    buf = bytearray(16 * MiB)
    for path in paths:
        with open(path, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass
    return time.perf_counter() - t0


def run_worker(py: str, spec: dict, timeout: float) -> dict:
    try:
        p = subprocess.run(
            [py, WORKER, json.dumps(spec)],
            capture_output=True,
            text=True,
            env=run_inprocess.worker_env(),
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"fatal": f"worker timeout after {timeout:.0f} s"}
    try:
        res = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"fatal": f"exit {p.returncode}: {p.stdout[-300:]!r} {p.stderr.strip()[-1500:]!r}"}
    if p.returncode and "fatal" not in res:
        res["exit_code"] = p.returncode
    return res


def build_plan(args, env: dict) -> list:
    """[(scenario, impl, spec_overrides)] in run order."""
    want = set(args.scenarios.split(","))
    nginx = {
        "endpoint": env["nginx"],
        "bucket": BUCKET,
        "access_key_id": NGINX_KEY,
        "secret_access_key": NGINX_SECRET,
    }
    reqs = {
        "n_objects": 1000,
        "object_size": MiB,
        "range_size": 16 * 1024,
        "prefix": "obj/",
        "n_requests": args.requests,
        "time_cap": args.time_cap,
    }
    big = {
        "big_key": env["big_key"],
        "big_size": env["big_size"],
        "big_file": env["big_file"],
        "big_md5": env["big_md5"],
        "time_cap": args.time_cap,
        "long_timeout": True,
        "part_size": 16 * MiB,
        "parallelism": 16,
    }
    plan = []
    for conc in (64, 256):
        sc = f"s1_c{conc}"
        if "s1" in want:
            for impl in ("ours", "ref", "opendal", "aiohttp", "aioboto3", "s3fs", "wrk", "curl"):
                plan.append((sc, impl, {**nginx, **reqs, "scenario": "s1", "concurrency": conc}))
    if "s2" in want:
        for impl in ("ours", "ref", "opendal", "urllib3", "boto3", "s3fs", "gil-release"):
            plan.append(("s2", impl, {**nginx, **reqs, "scenario": "s2", "threads": 16}))
        for impl in ("ours", "ref", "opendal", "urllib3", "gil-release"):
            plan.append(("s2_t1", impl, {**nginx, **reqs, "scenario": "s2", "threads": 1}))
    if "s3" in want:
        g = {**nginx, **big, "scenario": "s3"}
        for impl in ("ours", "ref", "opendal", "boto3", "http.client", "curl"):
            plan.append(("s3_bytes", impl, {**g, "variant": "bytes"}))
        for impl in ("ours", "ref", "boto3", "http.client", "curl"):
            plan.append(("s3_stream", impl, {**g, "variant": "stream"}))
        for impl in ("ours", "ref", "opendal", "boto3"):
            plan.append(("s3_parallel", impl, {**g, "variant": "parallel"}))
        if env.get("minio"):
            m = env["minio"]
            u = {
                **big,
                "scenario": "s3",
                "variant": "upload",
                "endpoint": m["endpoint"],
                "bucket": m["bucket"],
                "access_key_id": m["access_key_id"],
                "secret_access_key": m["secret_access_key"],
                "big_key": "upload/big.bin",
            }
            for impl in ("ours", "ref", "opendal", "boto3", "curl"):
                plan.append(("s3_upload", impl, dict(u)))
    if "s5" in want and env.get("minio"):
        m = env["minio"]
        lst = {
            "scenario": "s5",
            "endpoint": m["endpoint"],
            "bucket": m["bucket"],
            "access_key_id": m["access_key_id"],
            "secret_access_key": m["secret_access_key"],
            "list_prefix": env["list_prefix"],
            "list_n": args.list_n,
            "time_cap": args.time_cap,
            "long_timeout": True,
        }
        for impl, variant in (
            ("ours", "dicts"),
            ("ours", "arrow"),
            ("ref", "dicts"),
            ("ref", "arrow"),
            ("boto3", "dicts"),
            ("s3fs", "dicts"),
            ("opendal", "entries"),
        ):
            plan.append(("s5_list", impl, {**lst, "variant": variant}))
    if args.impls:
        keep = set(args.impls.split(","))
        plan = [p for p in plan if p[1] in keep]
    return plan


def row_key(sc: str, impl: str, spec: dict) -> str:
    if sc == "s5_list":
        return f"{sc}|{impl}|{spec['variant']}"
    return f"{sc}|{impl}"


def _med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def _ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


CPU_FIELD = {
    "s1": ("cpu_ms_per_op", "CPU ms/req"),
    "s2": ("cpu_ms_per_op", "CPU ms/req"),
    "s3": ("cpu_s_per_gb", "CPU s/GB"),
    "s5": ("cpu_us_per_object", "CPU µs/object"),
}


def summarize(samples: dict, plan: list) -> dict:
    """-> {scenario: [row, ...]} with medians and ratios to the 'ref' row of that scenario."""
    out = {}
    for sc, impl, spec in plan:
        k = row_key(sc, impl, spec)
        if any(r["key"] == k for r in out.get(sc, [])):
            continue
        rs = samples.get(k, [])
        ok = [r for r in rs if "fatal" not in r]
        cf = CPU_FIELD[spec["scenario"]][0]
        row = {
            "key": k,
            "scenario": sc,
            "impl": impl,
            "variant": spec.get("variant"),
            "n": len(ok),
            "fatal": [r["fatal"] for r in rs if "fatal" in r],
            "rate": _med([r["rate"] for r in ok]),
            "unit": ok[0]["unit"] if ok else None,
            "cpu": _med([r.get(cf) for r in ok]),
            "cpu_field": cf,
            "peak_rss_mib": _med([r.get("peak_rss_mib") for r in ok]),
            "rss_over_size_mib": _med([r.get("rss_over_size_mib") for r in ok]),
            "errors": sum(r.get("errors", 0) for r in ok),
            "first_error": next((r["first_error"] for r in ok if r.get("first_error")), None),
            "truncated": any(r.get("truncated") for r in ok),
            "rates": [r["rate"] for r in ok],
            "lib_version": ok[0].get("lib_version") if ok else None,
        }
        out.setdefault(sc, []).append(row)
    for sc, rows in out.items():
        for r in rows:
            # the reference of a row: obstore 0.12.1 with the same variant (listing: dicts/arrow)
            ref = next(
                (
                    x
                    for x in rows
                    if x["impl"] == "ref" and (x["variant"] == r["variant"] or sc != "s5_list")
                ),
                None,
            ) or next((x for x in rows if x["impl"] == "ref"), None)
            r["rate_ratio"] = _ratio(r["rate"], ref["rate"]) if ref else None
            r["cpu_ratio"] = _ratio(r["cpu"], ref["cpu"]) if ref else None
            if ref and r["impl"] == "ours":
                a = samples.get(r["key"], [])
                b = samples.get(ref["key"], [])
                pr = [
                    _ratio(x["rate"], y["rate"])
                    for x, y in zip(a, b, strict=False)
                    if "fatal" not in x and "fatal" not in y
                ]
                r["paired_rate_ratios"] = [p for p in pr if p is not None]
    return out


def _f(x, nd=3):
    if x is None:
        return "—"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{nd}g}"


def _r(x, pairs=None):
    if x is None:
        return "—"
    s = f"**{x:.2f}**"
    if pairs and len(pairs) >= 2:
        s += f" ({min(pairs):.2f}–{max(pairs):.2f})"
    return s


def render_tables(summary: dict) -> list:
    L = []
    for sc, rows in summary.items():
        base = sc.split("_")[0]
        cpu_label = CPU_FIELD[base][1]
        L.append(f"\n### {SCENARIO_TITLES.get(sc, sc)}\n")
        unit = next((r["unit"] for r in rows if r["unit"]), "")
        # meaningful where the object sits in memory (downloaded whole, or the upload source)
        extra = (
            " | peak RSS − object size MiB"
            if sc in ("s3_bytes", "s3_parallel", "s3_upload")
            else ""
        )
        L.append(
            f"| implementation | {unit} | ratio to 0.12.1 | {cpu_label} | CPU ratio "
            f"| peak RSS MiB{extra} | errors |"
        )
        L.append("|---|---:|---:|---:|---:|---:|" + ("---:|" if extra else "") + "---:|")
        for r in rows:
            name = LABEL.get(r["impl"], r["impl"])
            if r["variant"] and sc == "s5_list":
                name += f" ({r['variant']})"
            if r["n"] == 0:
                err = (r["fatal"] or ["?"])[0].strip().splitlines()[-1][:120]
                L.append(f"| {name} | FAIL: `{err}` |" + " |" * (6 if extra else 5))
                continue
            rate = _f(r["rate"], 3) if r["unit"] != "GB/s" else f"{r['rate']:.2f}"
            ex = f" | {_f(r['rss_over_size_mib'])}" if extra else ""
            errs = str(r["errors"]) + (" (truncated)" if r["truncated"] else "")
            if r["errors"] and r["first_error"]:
                errs += f" `{r['first_error'][:60]}`"
            L.append(
                f"| {name} | {rate} | {_r(r['rate_ratio'], r.get('paired_rate_ratios'))} "
                f"| {_f(r['cpu'])} | {_r(r['cpu_ratio'])} | {_f(r['peak_rss_mib'])}{ex} | {errs} |"
            )
    return L


def evaluate_targets(summary: dict, inproc: dict | None) -> list:
    """[(target, status, evidence)]"""
    T = []

    def row(sc, impl, variant=None):
        for r in summary.get(sc, []):
            if r["impl"] == impl and (variant is None or r["variant"] == variant):
                return r
        return None

    for conc in (64, 256):
        o = row(f"s1_c{conc}", "ours")
        if o and o["rate_ratio"] is not None:
            ok = o["rate_ratio"] >= 2 and (o["cpu_ratio"] or 9) <= 0.5
            T.append(
                (
                    f"1. scenario 1, {conc} in flight: ≥2x req/s and ≤0.5x CPU/req",
                    "MET" if ok else "MISSED",
                    f"req/s ratio {o['rate_ratio']:.2f}, CPU ratio {o['cpu_ratio']:.2f}",
                )
            )
    o = row("s2", "ours")
    if o and o["rate_ratio"] is not None:
        floor = row("s2", "gil-release")
        bound = (
            f"; a call that only releases the GIL and blocks (time.sleep(0), no I/O): "
            f"{floor['rate_ratio']:.2f}x"
            if floor and floor["rate_ratio"] is not None
            else ""
        )
        T.append(
            (
                "2. scenario 2: ≥1.3x req/s",
                "MET" if o["rate_ratio"] >= 1.3 else "MISSED",
                f"req/s ratio {o['rate_ratio']:.2f} (CPU ratio {o['cpu_ratio']:.2f}){bound}",
            )
        )
    if inproc:
        rows = {r["scenario"]: r for r in inproc.get("summary", [])}
        asy = [rows[s] for s in rows if s.endswith("_async")]
        if asy:
            worst = min(asy, key=lambda r: r["ops_ratio"] or 0)
            T.append(
                (
                    "3a. scenario 4 async: ≥5x ops/s",
                    "MET" if all((r["ops_ratio"] or 0) >= 5 for r in asy) else "MISSED",
                    ", ".join(f"{r['scenario']} {_f(r['ops_ratio'])}x" for r in asy)
                    + f" (worst {worst['scenario']})",
                )
            )
        syn = [rows[s] for s in rows if s.endswith("_sync") and not s.startswith("python")]
        if syn:
            T.append(
                (
                    "3b. scenario 4 sync: no slower than 0.12.1 (noise band 0.8)",
                    "MET" if all((r["ops_ratio"] or 0) >= 0.8 for r in syn) else "MISSED",
                    ", ".join(f"{r['scenario']} {_f(r['ops_ratio'])}x" for r in syn),
                )
            )
        lg, op = rows.get("local_get_sync"), rows.get("python_open_read")
        if lg and op and lg["ours_ops_per_s"] and op["ours_ops_per_s"]:
            x = lg["ours_ops_per_s"] / op["ours_ops_per_s"]
            T.append(
                (
                    "3c. LocalStore 1 KiB get ≥0.5x open().read()",
                    "MET" if x >= 0.5 else "MISSED",
                    f"{lg['ours_ops_per_s']:,.0f} vs {op['ours_ops_per_s']:,.0f} ops/s = {x:.2f}x",
                )
            )
    o, r = row("s3_bytes", "ours"), row("s3_bytes", "ref")
    p = row("s3_parallel", "ours")
    if o and o["rate_ratio"] is not None:
        # the fastest documented way of ours to bring the object into memory: get_parallel
        par = p["rate"] / r["rate"] if p and r and p["rate"] and r["rate"] else None
        best = max(o["rate_ratio"], par or 0)
        rss = min(o["rss_over_size_mib"] or 1e9, (p or {}).get("rss_over_size_mib") or 1e9)
        ok = best >= 2 and rss <= 64
        T.append(
            (
                "4a. 1 GiB into memory: ≥2x GB/s, peak RSS ≤ size + 64 MiB",
                "MET" if ok else "MISSED",
                f"get().bytes() {o['rate_ratio']:.2f}x, get_parallel {_f(par)}x the GB/s of "
                f"0.12.1 get().bytes(); peak RSS − size = {_f(o['rss_over_size_mib'])} / "
                f"{_f((p or {}).get('rss_over_size_mib'))} MiB (whole process: interpreter and "
                "imports included)",
            )
        )
    o, h = row("s3_parallel", "ours"), row("s3_bytes", "http.client")
    if o and h and o["rate"] and h["rate"]:
        T.append(
            (
                "4b. parallel ranged GETs ≥ http.client readinto (one connection)",
                "MET" if o["rate"] >= h["rate"] else "MISSED",
                f"{o['rate']:.2f} vs {h['rate']:.2f} GB/s = {o['rate'] / h['rate']:.2f}x "
                "(obstore.get_parallel)",
            )
        )
    a, d = row("s5_list", "ours", "arrow"), row("s5_list", "ours", "dicts")
    if a and d and a["rate"] and d["rate"]:
        x = a["rate"] / d["rate"]
        T.append(
            (
                "5. Arrow listing ≥3x dict listing",
                "MET" if x >= 3 else "MISSED",
                f"{x:.2f}x objects/s; CPU µs/object {a['cpu']:.2f} vs {d['cpu']:.2f} "
                f"({d['cpu'] / a['cpu']:.2f}x less CPU)",
            )
        )
    return T


def machine() -> dict:
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "memory": mem,
        "kernel": platform.release(),
        "cpu": cpu,
        "platform": platform.platform(),
    }


def render_md(meta: dict, summary: dict, targets: list, inproc: dict | None) -> str:
    m = meta["machine"]
    L = ["# obstore benchmark suite (issue 5): ours vs obstore 0.12.1 and the peers\n"]
    L.append(f"- run: {meta['timestamp']}, wall {meta['elapsed_s'] / 60:.1f} min")
    L.append(f"- command: `{meta['command']}`")
    L.append(
        f"- machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} RAM, kernel {m['kernel']}; "
        f"loadavg before {meta['loadavg_before']}, after {meta['loadavg_after']} "
        "(client, servers and other work share the cores)"
    )
    L.append(
        f"- ours: obstore {meta['versions'].get('ours')} from `{meta['ours_file']}` "
        f"({meta.get('ours_native')}); "
        "peers: "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if k != "ours" and v)
        + f"; nginx {meta.get('nginx_version')}, {meta.get('wrk_version')}, "
        + f"{meta.get('curl_version')}"
    )
    s = meta["settings"]
    L.append(
        f"- settings: warm-up repetition + {s['reps']} measured repetitions, order reversed "
        f"between repetitions; medians; {s['requests']:,} requests per worker in scenarios 1-2; "
        f"{s['big_size'] / GiB:g} GiB object; {s['list_n']:,} objects listed; wrk runs "
        f"{s['wrk_seconds']} s"
    )
    L.append(
        "- ratio = value / obstore 0.12.1 of the same run (rate: >1 is faster; CPU: <1 is "
        "cheaper); for ours, (a–b) = min–max of the per-repetition paired ratios. CPU = "
        "getrusage user+sys of the client process, all threads (wrk/curl: the child). "
        "Peak RSS = VmHWM of the whole client process (wrk/curl: the C client, via GNU time). "
        "Trust differences > 20%.\n"
    )
    L.append("## Targets of issue 5\n")
    L.append("| target | status | evidence |")
    L.append("|---|---|---|")
    for t, st, ev in targets:
        L.append(f"| {t} | **{st}** | {ev} |")
    L.append("\n## Results")
    L += render_tables(summary)
    if inproc:
        L.append("\n### 4. in-process (no network): `bench/run_inprocess.py`, same run\n")
        L.append(
            "| scenario | ours ops/s | 0.12.1 ops/s | ops/s ratio | ours CPU µs/op "
            "| 0.12.1 CPU µs/op | CPU ratio | peak RSS MiB ours / 0.12.1 |"
        )
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in inproc["summary"]:
            L.append(
                f"| {r['scenario']} | {_f(r['ours_ops_per_s'])} | {_f(r['ref_ops_per_s'])} "
                f"| {_r(r['ops_ratio'], r['paired_ops_ratios'])} | {_f(r['ours_cpu_us_per_op'])} "
                f"| {_f(r['ref_cpu_us_per_op'])} | {_r(r['cpu_ratio'], r['paired_cpu_ratios'])} "
                f"| {_f(r['ours_peak_rss_mib'])} / {_f(r['ref_peak_rss_mib'])} |"
            )
    fat = [(r["key"], f) for rows in summary.values() for r in rows for f in r["fatal"]]
    if fat:
        L.append("\n## Worker failures\n")
        for k, f in fat:
            L.append(f"- {k}: `{f.strip().splitlines()[-1][:200]}`")
    L.append(
        "\nNotes: scenario 3 reads come from nginx serving the page cache; the upload goes to "
        "MinIO on the same 2 cores, so 3d is largely server-bound. Scenario 5 is MinIO's "
        "listing speed plus the client's parsing. 3c for ours is `obstore.get_parallel` "
        "(16 MiB parts, 16 in flight), for 0.12.1 user code (`asyncio.gather` of "
        "`get_range_async` into one preallocated buffer), for opendal "
        "`read(concurrent=16, chunk=16 MiB)`, for boto3 `download_fileobj` with a "
        "`TransferConfig` of 16 MiB parts and 16 threads."
    )
    return "\n".join(L) + "\n"


def _native_id(init_file: str | None) -> str | None:
    """sha256 prefix + mtime of ours' compiled module: which build was measured."""
    if not init_file:
        return None
    d = os.path.dirname(init_file)
    for f in sorted(os.listdir(d)):
        if f.startswith("_obstore") and f.endswith(".so"):
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                h = hashlib.sha256(fh.read()).hexdigest()[:12]
            mt = _dt.datetime.fromtimestamp(os.path.getmtime(p), _dt.UTC).strftime(
                "%Y-%m-%dT%H:%MZ"
            )
            return f"{f} sha256:{h} built {mt}"
    return None


def loadavg() -> str:
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "n/a"


def _cmd_version(cmd: list) -> str | None:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except Exception:
        return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ours", default=run_inprocess.DEFAULT_OURS)
    ap.add_argument("--reps", type=int, default=3, help="measured repetitions, >= 3")
    ap.add_argument("--scenarios", default="s1,s2,s3,s4,s5", help="subset of s1,s2,s3,s4,s5")
    ap.add_argument("--impls", default=None, help="only these implementations (comma list)")
    ap.add_argument("--requests", type=int, default=5000, help="requests per worker, s1/s2")
    ap.add_argument("--warmup-requests", type=int, default=1000)
    ap.add_argument("--big-gib", type=float, default=1.0, help="size of the scenario-3 object")
    ap.add_argument(
        "--list-n",
        type=int,
        default=100_000,
        help="objects listed in scenario 5 (created once in MinIO, cached; default %(default)s)",
    )
    ap.add_argument("--wrk-seconds", type=int, default=3)
    ap.add_argument("--time-cap", type=float, default=120.0, help="max seconds per worker")
    ap.add_argument("--inprocess-reps", type=int, default=3)
    ap.add_argument("--nginx-workers", type=int, default=2)
    ap.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    ap.add_argument("--no-results-md", action="store_true", help="do not rewrite bench/RESULTS.md")
    ap.add_argument("--allow-few-reps", action="store_true")
    args = ap.parse_args(argv)
    if args.reps < 3 and not args.allow_few_reps:
        ap.error("--reps must be >= 3")
    command = "python bench/run_all.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    want = set(args.scenarios.split(","))
    started = time.time()

    # ---- setup
    ensure_apt({"nginx": "nginx-light", "wrk": "wrk", "curl": "curl"})
    ours_py = os.path.expanduser(args.ours)
    info = run_inprocess.probe(ours_py)
    base = info.get("base_executable") or sys.executable
    pys = {"ours": ours_py}
    pys["ref"] = run_inprocess.ensure_ref_venv(run_inprocess.DEFAULT_REF_VENV, base)
    if "s5" in want:  # return_arrow=True needs arro3-core next to obstore 0.12.1
        ensure_venv(
            os.path.basename(run_inprocess.DEFAULT_REF_VENV), ["arro3-core"], "arro3.core", base
        )
    for name, (venv, reqs, check) in PEERS.items():
        pys[name] = ensure_venv(venv, reqs, check, base)
    versions = {"ours": info.get("obstore_version")}
    versions.update({"obstore": pip_versions(pys["ref"], ["obstore"]).get("obstore")})
    for name, (_, reqs, _) in PEERS.items():
        versions.update(pip_versions(pys[name], reqs))
    big_size = int(args.big_gib * GiB)
    env = stage_nginx_root(1000, big_size)
    env["big_size"] = big_size

    nginx = Nginx(env["root"], args.nginx_workers)
    minio = None
    samples: dict = {}
    inproc = None
    try:
        env["nginx"] = nginx.endpoint
        if want & {"s3", "s5"}:
            minio, mkw, env["list_prefix"] = start_minio(args.list_n, ours_py)
            env["minio"] = mkw
        plan = build_plan(args, env)
        la0 = loadavg()
        log(f"[plan] {len(plan)} rows x (1 warm-up + {args.reps}) repetitions")
        for rep in range(args.reps + 1):
            warm = rep == 0
            # keep scenarios grouped (same server state) but alternate order inside each group
            groups: dict = {}
            for item in plan:
                groups.setdefault(item[0], []).append(item)
            for items in groups.values():
                seq = items if rep % 2 == 1 else list(reversed(items))
                for sc_, impl, spec in seq:
                    if warm and spec["scenario"] in ("s3", "s5") and impl not in ("ours", "ref"):
                        continue
                    spec = dict(spec, impl=impl)
                    if warm and "n_requests" in spec:
                        spec["n_requests"] = min(spec["n_requests"], args.warmup_requests)
                    spec["wrk_seconds"] = 1 if warm else args.wrk_seconds
                    cache_s = None
                    if spec.get("endpoint") == env["nginx"]:
                        cache_s = warm_page_cache(
                            [env["big_file"]] if spec["scenario"] == "s3" else env["obj_files"]
                        )
                    res = run_worker(pys[IMPL_ENV[impl]], spec, args.time_cap + 180)
                    res["page_cache_warm_s"] = cache_s
                    refilled = (cache_s or 0) > 1
                    tag = "warm " if warm else f"rep {rep}"
                    k = row_key(sc_, impl, spec)
                    if "fatal" in res:
                        log(f"[{tag}] {k:28s} FATAL {res['fatal'].strip().splitlines()[-1][:200]}")
                    else:
                        cf = CPU_FIELD[spec["scenario"]][0]
                        log(
                            f"[{tag}] {k:28s} {res['rate']:>10.3f} {res['unit']:9s} "
                            f"{cf} {res.get(cf) or 0:.4f}  "
                            f"rss {res.get('peak_rss_mib') or 0:.0f} MiB"
                            f"  errors {res['errors']}"
                            + (f" ({res['first_error'][:80]})" if res.get("first_error") else "")
                            + (f"  (page cache refilled: {cache_s:.1f} s)" if refilled else "")
                        )
                    res["rep"] = rep
                    if not warm:
                        samples.setdefault(k, []).append(res)
        if minio is not None and "s3" in want:
            # drop the uploaded object so the cached MinIO dir does not keep 1 GiB
            subprocess.run(
                [
                    ours_py,
                    "-c",
                    "import json,sys,obstore; from obstore.store import S3Store;"
                    "obstore.delete(S3Store(**json.loads(sys.argv[1])), 'upload/big.bin')",
                    json.dumps(env["minio"]),
                ],
                env=run_inprocess.worker_env(),
                timeout=60,
            )
    finally:
        if minio is not None:
            minio.stop()
        nginx.stop()
    la1 = loadavg()

    if "s4" in want:
        log("[s4] bench/run_inprocess.py")
        tmp = tempfile.mkdtemp(prefix="bench-s4-")
        p = subprocess.run(
            [
                sys.executable,
                os.path.join(HERE, "run_inprocess.py"),
                "--ours",
                ours_py,
                "--reps",
                str(args.inprocess_reps),
                "--out-dir",
                tmp,
            ]
            + (["--allow-few-reps"] if args.inprocess_reps < 3 else []),
            timeout=1800,
        )
        js = [f for f in os.listdir(tmp) if f.endswith(".json")]
        if js:
            with open(os.path.join(tmp, js[0])) as f:
                inproc = json.load(f)
            os.makedirs(args.out_dir, exist_ok=True)
            for f in os.listdir(tmp):
                shutil.move(os.path.join(tmp, f), os.path.join(args.out_dir, f))
        else:
            log(f"[s4] run_inprocess.py failed (exit {p.returncode})")
        shutil.rmtree(tmp, ignore_errors=True)

    summary = summarize(samples, build_plan(args, {**env, "nginx": "x"}))
    targets = evaluate_targets(summary, inproc)
    ts = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    meta = {
        "timestamp": ts,
        "command": command,
        "elapsed_s": time.time() - started,
        "machine": machine(),
        "loadavg_before": la0,
        "loadavg_after": la1,
        "ours_file": info.get("obstore_file"),
        "ours_native": _native_id(info.get("obstore_file")),
        "versions": versions,
        "nginx_version": _cmd_version(["nginx", "-v"]),
        "wrk_version": (_cmd_version(["wrk", "-v"]) or "wrk").split(" [")[0],
        "curl_version": " ".join((_cmd_version(["curl", "--version"]) or "curl").split()[:2]),
        "settings": {
            "reps": args.reps,
            "requests": args.requests,
            "big_size": big_size,
            "list_n": args.list_n,
            "wrk_seconds": args.wrk_seconds,
            "time_cap": args.time_cap,
            "scenarios": sorted(want),
        },
    }
    md = render_md(meta, summary, targets, inproc)
    print(md)
    os.makedirs(args.out_dir, exist_ok=True)
    base_path = os.path.join(args.out_dir, ts)
    with open(base_path + ".md", "w") as f:
        f.write(md)
    with open(base_path + ".json", "w") as f:
        json.dump(
            {
                "meta": meta,
                "targets": targets,
                "summary": summary,
                "samples": samples,
                "inprocess": inproc,
            },
            f,
            indent=1,
        )
    if not args.no_results_md:
        with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
            f.write(
                "<!-- regenerated by bench/run_all.py; full data in bench/results/"
                f"{ts}.json -->\n" + md
            )
    log(f"[done] {base_path}.md / .json ({(time.time() - started) / 60:.1f} min)")
    fatal = any(r["fatal"] and r["impl"] == "ours" for rows in summary.values() for r in rows)
    return 1 if fatal else 0


if __name__ == "__main__":
    sys.exit(main())
