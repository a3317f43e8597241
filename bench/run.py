#!/usr/bin/env python3
"""The benchmark runner: named scenarios, ours against PyPI obstore 0.12.1 and the peers.

    python bench/run.py                          # every scenario (make bench); rewrites RESULTS.md
    python bench/run.py --list                   # the scenarios
    python bench/run.py async_get_64,'big_*'     # some: names or shell patterns, comma-separated
    python bench/run.py memory_get_sync --smoke  # one tiny repetition: checks the harness only
    python bench/run.py async_get_64 --profile perf   # one worker of ours under perf

Every measured worker is a fresh process under the interpreter of its implementation (ours,
the venv of PyPI obstore 0.12.1, or a peer's venv under ``~/.cache/obstore-bench/``); see
bench/README.md for what each scenario measures and how. Stdlib only.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import fcntl
import fnmatch
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field

import _harness as h
import _report

MiB, GiB = h.MiB, h.GiB


@dataclass(frozen=True)
class Scenario:
    name: str
    section: str  # its heading in RESULTS.md (the numbering of issue 5's scenarios)
    title: str  # what one worker does; {big}, {list_n}, {stream} are the sizes of the run
    # async_ranges | sync_ranges | big_object | listing | inprocess | stream | floor | bulk
    kind: str
    rows: tuple = ()  # (implementation, variant) pairs, in report order
    params: dict = field(default_factory=dict)
    note: str = ""  # printed under its table: how the rows differ in what they do


def _rows(*impls: str) -> tuple:
    return tuple((i, None) for i in impls)


_STREAM_TITLE = "peak RSS of {what}, one {{stream}} object, LocalStore and S3Store (MinIO)"
_INPROCESS = [
    ("memory_get_sync", "MemoryStore: loop of obstore.get(store, k).bytes()"),
    ("memory_put_sync", "MemoryStore: loop of obstore.put(store, k, 1 KiB)"),
    ("memory_get_async", "MemoryStore: gather of 1,000 get_async + bytes_async"),
    ("memory_put_async", "MemoryStore: gather of 1,000 put_async"),
    ("local_get_sync", "LocalStore: loop of obstore.get(store, k).bytes() on 1 KiB files"),
    ("local_put_sync", "LocalStore: loop of obstore.put (overwrite 1 KiB files)"),
    ("local_get_async", "LocalStore: gather of 1,000 get_async + bytes_async"),
    ("local_put_async", "LocalStore: gather of 1,000 put_async (overwrite)"),
    ("python_open_read", "floor: Python open(p, 'rb').read() of the same files"),
    ("python_open_write", "floor: Python open(p, 'wb').write() (overwrite)"),
    ("store_new", "S3Store(bucket, endpoint, credentials) constructed in a loop (no request)"),
]

SCENARIOS = [
    Scenario(
        "async_get_64",
        "1",
        "asyncio: 16 KiB ranged GETs of 1,000 distinct 1 MiB objects, 64 in flight",
        "async_ranges",
        _rows("ours", "ref", "opendal", "aiohttp", "aioboto3", "s3fs", "wrk", "curl"),
        {"concurrency": 64},
    ),
    Scenario(
        "async_get_256",
        "1",
        "asyncio: 16 KiB ranged GETs of 1,000 distinct 1 MiB objects, 256 in flight",
        "async_ranges",
        _rows("ours", "ref", "opendal", "aiohttp", "aioboto3", "s3fs", "wrk", "curl"),
        {"concurrency": 256},
    ),
    Scenario(
        "async_get_64_contended",
        "1c",
        "asyncio: async_get_64 while a CPU-bound process (a busy loop) runs beside it, every "
        "library with its default worker count",
        "async_ranges",
        _rows("ours", "ref", "opendal"),
        {"concurrency": 64, "contended": True},
    ),
    Scenario(
        "sync_get_pool",
        "2",
        "sync: the same from a 16-thread pool",
        "sync_ranges",
        _rows("ours", "ref", "opendal", "urllib3", "boto3", "s3fs", "libcurl", "gil-release"),
        {"threads": 16},
    ),
    Scenario(
        "sync_get_loop",
        "2b",
        "sync: the same from one thread (a plain loop; no target, shows the lanes)",
        "sync_ranges",
        _rows("ours", "ref", "opendal", "urllib3", "libcurl", "gil-release"),
        {"threads": 1},
    ),
    Scenario(
        "big_get_bytes",
        "3a",
        "{big} object downloaded whole into memory",
        "big_object",
        _rows("ours", "ref", "opendal", "boto3", "http.client", "curl"),
        {"variant": "bytes", "rss_over_size": True},
    ),
    Scenario(
        "big_get_stream",
        "3b",
        "{big} object streamed (chunks discarded)",
        "big_object",
        _rows("ours", "ref", "boto3", "http.client", "curl"),
        {"variant": "stream"},
    ),
    Scenario(
        "big_get_parallel",
        "3c",
        "{big} object via parallel ranged GETs (16 MiB parts, 16 in flight) into memory "
        "(ours: get_parallel; 0.12.1: asyncio.gather of get_range_async into one bytearray)",
        "big_object",
        _rows("ours", "ref", "opendal", "boto3"),
        {"variant": "parallel", "rss_over_size": True},
    ),
    Scenario(
        "big_put",
        "3d",
        "{big} object uploaded from memory (to MinIO)",
        "big_object",
        _rows("ours", "ref", "opendal", "boto3", "curl"),
        {"variant": "upload", "rss_over_size": True},
    ),
    Scenario(
        "big_put_tls",
        "3d",
        "{big} object uploaded from memory over https (to MinIO with a test CA)",
        "big_object",
        _rows("ours", "ref", "opendal", "boto3", "curl"),
        {"variant": "upload", "tls": True, "rss_over_size": True},
        note="Each client trusts the test authority's PEM file as a user would: obstore (ours "
        'and 0.12.1) `client_options={"root_certificate": <PEM text>}`, opendal the '
        "`SSL_CERT_FILE` variable (its S3 service takes no certificate; its rustls client "
        "reads the variable), boto3 `verify=<file>`, curl `--cacert`; without it each fails "
        "on the unknown issuer. The payload: ours sends `UNSIGNED-PAYLOAD` over https by "
        "default, 0.12.1 signs the SHA-256 of every body, opendal and curl send "
        "`UNSIGNED-PAYLOAD`, boto3 too over https (with its default CRC32 of each body). "
        "`big_put` is the same upload over plain http, where ours signs the payload.",
    ),
    Scenario(
        "big_put_tls_one",
        "3d",
        "{big} object uploaded from memory in one PUT over https (as big_put_tls)",
        "big_object",
        _rows("ours", "ref", "opendal", "boto3", "curl"),
        {"variant": "upload_one", "tls": True, "rss_over_size": True},
        note="ours and 0.12.1 `put(..., use_multipart=False)`, opendal `write` without `chunk`, "
        "boto3 `put_object`; curl's row is big_put_tls's (always one PUT from the file).",
    ),
    Scenario(
        "big_put_tls_file",
        "3d",
        "{big} object uploaded from its file over https (as big_put_tls)",
        "big_object",
        _rows("ours", "ref", "opendal", "boto3", "curl"),
        {"variant": "upload_file", "tls": True},
        note="ours and 0.12.1 `put(store, key, Path(file))`; opendal has no file input, so its "
        "writer (`open(key, 'wb', chunk=8 MiB, concurrent=8)`) is fed with "
        "`shutil.copyfileobj` in 8 MiB reads; boto3 `upload_file`; curl `-T file`. The file "
        "is in the page cache (read whole before each worker, as nginx's files are).",
    ),
    Scenario(
        "cold_start",
        "3f",
        "a fresh interpreter per task: import, a client of an https endpoint (MinIO with a test "
        "CA), put 1 KiB and read it back, exit; {cold_processes} processes one after another",
        "cold_start",
        _rows("ours", "ref", "opendal", "boto3", "python"),
        {"tls": True},
        note="What a short script, a command-line tool or a newly started task worker pays "
        "before its first bytes: the interpreter, the library's import, its client and the "
        "first TLS handshake. Each child imports only its library (and `json`, `sys`); the "
        "`python` row starts the interpreter and exits, the floor under every other row. "
        "Each client trusts the test authority as in big_put_tls.",
    ),
    # The cost of progress= (the same work as big_put / big_get_bytes, with a callable counting
    # its calls): compare each with the scenario without.
    Scenario(
        "big_put_progress",
        "3e",
        "{big} object uploaded from memory (to MinIO), with progress=",
        "big_object",
        _rows("ours"),
        {"variant": "upload", "progress": True, "rss_over_size": True},
    ),
    Scenario(
        "big_get_bytes_progress",
        "3e",
        "{big} object downloaded whole into memory, with progress=",
        "big_object",
        _rows("ours"),
        {"variant": "bytes", "progress": True, "rss_over_size": True},
    ),
    *[Scenario(name, "4", title, "inprocess", _rows("ours", "ref")) for name, title in _INPROCESS],
    Scenario(
        "list",
        "5",
        "listing {list_n} objects (MinIO)",
        "listing",
        (
            ("ours", "dicts"),
            ("ours", "arrow"),
            ("ref", "dicts"),
            ("ref", "arrow"),
            ("boto3", "dicts"),
            ("s3fs", "dicts"),
            ("opendal", "entries"),
        ),
    ),
    Scenario(
        "list_replay",
        "5b",
        "listing {list_n} objects: MinIO's recorded ListObjectsV2 pages replayed by nginx "
        "(the client is the bottleneck)",
        "listing",
        (
            ("ours", "dicts"),
            ("ours", "arrow"),
            ("ref", "dicts"),
            ("ref", "arrow"),
            ("boto3", "dicts"),
            ("opendal", "entries"),
            ("curl", "pages"),
        ),
        {"replay": True},
    ),
    Scenario(
        "stream_put_iter",
        "6",
        _STREAM_TITLE.format(what="put(store, key, <iterator of 8 MiB buffers>)"),
        "stream",
        _rows("ours", "ref"),
        {"case": "put_iter"},
    ),
    Scenario(
        "stream_put_file",
        "6",
        _STREAM_TITLE.format(what="put(store, key, Path(<file>))"),
        "stream",
        _rows("ours", "ref"),
        {"case": "put_file"},
    ),
    Scenario(
        "stream_writer",
        "6",
        _STREAM_TITLE.format(what="open_writer + write() of 8 MiB buffers"),
        "stream",
        _rows("ours", "ref"),
        {"case": "writer"},
    ),
    Scenario(
        "stream_get",
        "6",
        _STREAM_TITLE.format(what="get(store, key).stream(), chunks discarded"),
        "stream",
        _rows("ours", "ref"),
        {"case": "get_stream"},
    ),
    Scenario(
        "stream_reader",
        "6",
        _STREAM_TITLE.format(what="open_reader + read(8 MiB) until EOF"),
        "stream",
        _rows("ours", "ref"),
        {"case": "reader"},
    ),
    Scenario(
        "floor_local_put",
        "7",
        "the syscalls of a LocalStore put from Python, beside a truncating write and "
        "obstore.put (ours only)",
        "floor",
        _rows("ours"),
        {"case": "local_put"},
    ),
    Scenario(
        "floor_fresh_memory",
        "7",
        "populating fresh memory, 4 KiB pages and huge pages (no obstore)",
        "floor",
        _rows("ours"),
        {"case": "fresh_memory"},
    ),
]
# ---- bulk transfers (bench/_bulk.py): obstore.transfer against s5cmd, rclone, the AWS CLI
_BULK_ROWS = _rows("ours", "obstore-cli", "s5cmd", "rclone", "aws")
SCENARIOS += [
    Scenario(name, "8", title, "bulk", _BULK_ROWS)
    for name, title in (
        ("bulk_small_upload", "upload 10,000 files of 16 KiB to MinIO"),
        ("bulk_small_sync", "no-op sync of those 10,000 files (listing and comparison only)"),
        ("bulk_small_download", "download 10,000 objects of 16 KiB to files"),
        ("bulk_small_copy", "server-side copy of a 10,000-object prefix"),
        ("bulk_big_upload", "upload 8 files of 512 MiB"),
        ("bulk_big_download", "download 8 objects of 512 MiB to files"),
        ("bulk_small_delete", "delete that 10,000-object prefix (last: it frees inodes)"),
    )
]
# ---- end of bulk transfers
BY_NAME = {sc.name: sc for sc in SCENARIOS}
NET_KINDS = ("async_ranges", "sync_ranges", "big_object", "listing", "cold_start")

# Settings of a run: the defaults are what RESULTS.md reports; --smoke shrinks them.
SETTINGS = {
    "reps": 3,  # measured repetitions, after one warm-up repetition
    # Per worker, async_get_* and sync_get_*. At 5,000, ours' repetitions lasted 0.09-0.14 s
    # (the host's busy share read in 26 jiffies) and 0.12.1's A/A band at 64 in flight was
    # 0.83-1.21.
    "requests": 20_000,
    "warmup_requests": 1000,
    "big_gib": 1.0,
    "list_n": 100_000,
    "list_replay_rounds": 5,  # listings per list_replay worker ...
    "list_replay_seconds": 2.0,  # ... none started after this
    "wrk_seconds": 3,
    "time_cap": 120.0,  # per network worker
    "nginx_workers": 2,
    "cold_processes": 20,  # per cold_start worker
    "inprocess_time_cap": 0.5,
    "inprocess_warmup_time_cap": 0.15,
    "inprocess_max_rounds": 500,
    "inprocess_keys": 1000,
    "stream_gib": 1.0,
    "floor_put_count": 2000,
    "floor_memory_gib": 1.0,
    **{"small_n": 10_000, "small_size": 16 * 1024, "big_n": 8, "big_size": 512 * MiB},
}
SMOKE = {
    "reps": 1,
    "requests": 200,
    "warmup_requests": 50,
    "big_gib": 1 / 64,
    "list_n": 1000,
    "list_replay_rounds": 2,
    "list_replay_seconds": 0.0,
    "wrk_seconds": 1,
    "time_cap": 30.0,
    "cold_processes": 2,
    "inprocess_time_cap": 0.02,
    "inprocess_warmup_time_cap": 0.01,
    "inprocess_max_rounds": 2,
    "stream_gib": 1 / 64,
    "floor_put_count": 100,
    "floor_memory_gib": 1 / 16,
    **{"small_n": 200, "small_size": 16 * 1024, "big_n": 2, "big_size": 32 * MiB},
}


def select(pattern: str) -> list:
    """Scenarios named by a comma list of names or shell patterns (empty: all), in table order."""
    if not pattern.strip():
        return list(SCENARIOS)
    wanted = set()
    for part in (p.strip() for p in pattern.split(",")):
        if not part:
            continue
        hits = [sc.name for sc in SCENARIOS if fnmatch.fnmatchcase(sc.name, part)]
        # a family by its first word: "bulk" is every bulk_* scenario
        hits = hits or [sc.name for sc in SCENARIOS if sc.name.startswith(part + "_")]
        if not hits:
            raise SystemExit(f"no scenario matches {part!r}; `python bench/run.py --list`")
        wanted.update(hits)
    return [sc for sc in SCENARIOS if sc.name in wanted]


def saved_report(path: str) -> str:
    """The report of a saved run (bench/results/<run>.json), drawn again from its samples."""
    with open(path) as f:
        saved = json.load(f)
    meta, results, raw = saved["meta"], saved["results"], saved["samples"]
    chosen = [sc for sc in SCENARIOS if sc.name in meta["settings"]["scenarios"]]
    if raw.get("net"):
        net = [sc for sc in chosen if sc.kind in NET_KINDS]
        results["net"] = _report.summarize_net(raw["net"], net)
    if raw.get("inprocess"):
        results["inprocess"] = _report.summarize_inprocess(raw["inprocess"])
    md = _report.render(meta, chosen, results)
    bulk = [sc for sc in chosen if sc.kind == "bulk"]
    if bulk and results.get("bulk"):
        import _bulk

        md += "\n" + _bulk.render(results["bulk"], bulk)
    return md


def results_header(stem: str) -> str:
    """The first line of bench/RESULTS.md when it holds the run saved as STEM.json."""
    return f"<!-- written by bench/run.py; raw results in {os.path.relpath(stem, h.REPO)}.json -->"


def render_saved(path: str) -> int:
    """Writes the report of a saved run again (see --render)."""
    md = saved_report(path)
    stem = os.path.splitext(os.path.abspath(path))[0]
    with open(stem + ".md", "w") as f:
        f.write(md)
    written = [stem + ".md"]
    summary = os.path.join(h.HERE, "RESULTS.md")
    if os.path.exists(summary):
        with open(summary) as f:
            holds_this_run = f.readline().strip() == results_header(stem)
        if holds_this_run:
            with open(summary, "w") as f:
                f.write(results_header(stem) + "\n" + md)
            written.append(summary)
    h.log(f"[render] {', '.join(written)}")
    return 0


def list_scenarios() -> None:
    fmt = {
        "big": "1 GiB",
        "list_n": "100,000",
        "stream": "1 GiB",
        "cold_processes": SETTINGS["cold_processes"],
    }
    for sc in SCENARIOS:
        impls = ", ".join(i + (f" ({v})" if v else "") for i, v in sc.rows)
        print(f"{sc.name:23} {sc.section:>3}. {sc.title.format(**fmt)}")
        print(f"{'':29}[{impls}]")


# --------------------------------------------------------------------------- network scenarios
def _minio_fields(m: dict) -> dict:
    """What a worker needs of a MinIO: its address, bucket, credentials and, over https, the
    file of the authority that signed its certificate."""
    keys = ("endpoint", "bucket", "access_key_id", "secret_access_key", "ca_file")
    return {k: m[k] for k in keys if k in m}


def net_spec(sc: Scenario, impl: str, variant: str | None, env: dict, s: dict) -> dict:
    """The JSON spec of one network worker (bench/workers/net.py)."""
    spec = {"kind": sc.kind, "impl": impl, "time_cap": s["time_cap"]}
    nginx = {
        "endpoint": env.get("nginx"),
        "bucket": h.BUCKET,
        "access_key_id": h.NGINX_KEY,
        "secret_access_key": h.NGINX_SECRET,
    }
    if sc.kind in ("async_ranges", "sync_ranges"):
        spec.update(nginx)
        spec.update(
            n_objects=1000,
            object_size=MiB,
            range_size=16 * 1024,
            prefix="obj/",
            n_requests=s["requests"],
            wrk_seconds=s["wrk_seconds"],
            **{k: sc.params[k] for k in ("concurrency", "threads") if k in sc.params},
        )
    elif sc.kind == "big_object":
        spec.update(nginx)
        spec.update(
            variant=sc.params["variant"],
            big_key=env["big_key"],
            big_size=env["big_size"],
            big_file=env["big_file"],
            big_md5=env["big_md5"],
            long_timeout=True,
            part_size=16 * MiB,
            parallelism=16,
            progress=sc.params.get("progress", False),
        )
        if sc.params["variant"].startswith("upload"):
            spec.update(_minio_fields(env["minio_tls" if sc.params.get("tls") else "minio"]))
            spec["big_key"] = UPLOAD_KEY
    elif sc.kind == "cold_start":
        spec.update(_minio_fields(env["minio_tls"]))
        spec.update(key=f"cold/{impl}.bin", processes=s["cold_processes"])
    elif sc.kind == "listing" and sc.params.get("replay"):
        replay = env["replay"]
        spec.update(nginx)
        spec.update(
            variant=variant,
            endpoint=env["replay_endpoint"],
            list_prefix=replay["prefix"],
            list_n=s["list_n"],
            list_rounds=s["list_replay_rounds"],
            list_seconds=s["list_replay_seconds"],
            long_timeout=True,
        )
        if impl == "curl":  # the server's ceiling: every page in turn over one connection
            first = f"{env['replay_endpoint']}/{h.BUCKET}?list-type=2&prefix={replay['prefix']}"
            spec["page_urls"] = [first] + [
                f"{first}&continuation-token={p['token']}" for p in replay["pages"][1:]
            ]
            spec["page_counts"] = [p["count"] for p in replay["pages"]]
    elif sc.kind == "listing":
        spec.update(_minio_fields(env["minio"]))
        spec.update(
            variant=variant,
            list_prefix=env["list_prefix"],
            list_n=s["list_n"],
            long_timeout=True,
        )
    # the processes of the server the worker talks to, whose CPU it reads over its window
    spec["server_pids"] = env.get("server_pids", {}).get(spec.get("endpoint"), [])
    return spec


UPLOAD_KEY = "upload/big.bin"  # where the upload rows write, deleted after each row


def run_net_worker(py: str, spec: dict, timeout: float) -> dict:
    code, res, err = h.run_worker(py, "net", [json.dumps(spec)], timeout)
    if res is None:
        return {"fatal": f"exit {code}: {err}"}
    if code and "fatal" not in res:
        res["exit_code"] = code
    return res


def run_net(scenarios: list, impls: set, pys: dict, ours_py: str, s: dict) -> tuple[dict, dict]:
    """Warm-up repetition, then s["reps"] repetitions: every row once per repetition, scenario
    by scenario, the order of the implementations reversing between repetitions."""
    kinds = {sc.kind for sc in scenarios}
    env = h.stage_nginx_root(1000, int(s["big_gib"] * GiB) if "big_object" in kinds else 0)
    replay = any(sc.params.get("replay") for sc in scenarios)
    live_listing = any(sc.kind == "listing" and not sc.params.get("replay") for sc in scenarios)
    uploads = [sc for sc in scenarios if sc.params.get("variant", "").startswith("upload")]
    upload = any(not sc.params.get("tls") for sc in uploads)
    https = any(sc.params.get("tls") for sc in scenarios)  # big_put_tls, cold_start
    env["replay"] = h.recorded_listing(s["list_n"]) if replay else None
    record = replay and env["replay"] is None  # MinIO's pages, recorded once
    minio = minio_tls = nginx = None
    samples: dict = {}
    try:
        if https:  # its own dir: MinIO serves https whenever its certs dir holds a key
            minio_tls, env["minio_tls"] = h.start_minio(os.path.join(h.CACHE, "minio-tls"), True)
        if live_listing or upload or record:
            workdir = os.path.join(h.CACHE, "minio-list")  # kept between runs
            minio, env["minio"] = h.start_minio(workdir)
            if live_listing or record:
                env["list_prefix"] = h.populate_listing(env["minio"], s["list_n"], workdir, ours_py)
            if record:
                env["replay"] = h.record_list_pages(env["minio"], env["list_prefix"], s["list_n"])
            if not (live_listing or upload):  # MinIO only recorded the pages: idle, not beside
                minio.stop()
                minio = None
        nginx = h.Nginx(env["root"], s["nginx_workers"], replay=env["replay"])
        env["nginx"] = nginx.endpoint
        env["replay_endpoint"] = nginx.replay_endpoint
        env["server_pids"] = {nginx.endpoint: nginx.pids(), nginx.replay_endpoint: nginx.pids()}
        for srv, kw in ((minio, env.get("minio")), (minio_tls, env.get("minio_tls"))):
            if srv is not None:
                env["server_pids"][kw["endpoint"]] = [srv.pid]
        settled_s, settled_busy = h.settle()
        la0 = h.loadavg()
        plan = [(sc, i, v) for sc in scenarios for i, v in sc.rows if i in impls]
        h.log(f"[plan] {len(plan)} rows x (1 warm-up + {s['reps']}) repetitions")
        for rep in range(s["reps"] + 1):
            warm = rep == 0
            for sc in scenarios:
                items = [(i, v) for i, v in sc.rows if i in impls]
                for impl, variant in items if rep % 2 == 1 else items[::-1]:
                    if (
                        warm
                        and sc.kind in ("big_object", "listing")
                        and impl not in ("ours", "ref")
                    ):
                        continue
                    spec = net_spec(sc, impl, variant, env, s)
                    if warm and "n_requests" in spec:
                        spec["n_requests"] = min(spec["n_requests"], s["warmup_requests"])
                    if warm:
                        spec["wrk_seconds"] = 1
                    cache_s = None
                    if spec.get("endpoint") == env["nginx"]:
                        big = sc.kind == "big_object"
                        cache_s = h.warm_page_cache([env["big_file"]] if big else env["obj_files"])
                    # contended: the competitor runs from before the worker starts to its end
                    busy = h.BusyLoop() if sc.params.get("contended") else None
                    try:
                        res = run_net_worker(pys[h.IMPL_ENV[impl]], spec, s["time_cap"] + 180)
                    finally:
                        competitor_cpu_s = busy.stop() if busy is not None else None
                    if competitor_cpu_s is not None:
                        res["competitor_cpu_s"] = competitor_cpu_s
                    if spec.get("variant", "").startswith("upload"):  # each starts from no object
                        tls = sc.params.get("tls")
                        h.delete_object(ours_py, env["minio_tls" if tls else "minio"], UPLOAD_KEY)
                        h.empty_minio_trash(minio_tls if tls else minio)
                    res["page_cache_warm_s"] = cache_s
                    res["rep"] = rep
                    key = _report.row_key(sc.name, impl, variant)
                    _log_net(rep, key, sc.kind, res, cache_s)
                    if not warm:
                        samples.setdefault(key, []).append(res)
    finally:
        if minio is not None:
            minio.stop()
        if minio_tls is not None:
            minio_tls.stop()
        if nginx is not None:
            nginx.stop()
    return samples, {
        "loadavg_before": la0,
        "loadavg_after": h.loadavg(),
        "settled_s": round(settled_s, 1),
        "settled_busy": round(settled_busy, 3),
    }


def _log_net(rep: int, key: str, kind: str, res: dict, cache_s: float | None) -> None:
    tag = "warm " if rep == 0 else f"rep {rep}"
    if "fatal" in res:
        h.log(f"[{tag}] {key:28s} FATAL {res['fatal'].strip().splitlines()[-1][:200]}")
        return
    cf = _report.CPU_FIELD[kind][0]
    h.log(
        f"[{tag}] {key:28s} {res['rate']:>10.3f} {res['unit']:9s} {cf} {res.get(cf) or 0:.4f}  "
        f"rss {res.get('peak_rss_mib') or 0:.0f} MiB  errors {res['errors']}"
        + (f" ({res['first_error'][:80]})" if res.get("first_error") else "")
        + (f"  (page cache refilled: {cache_s:.1f} s)" if (cache_s or 0) > 1 else "")
        + (
            f"  (busy loop beside it: {res['competitor_cpu_s']:.1f} CPU s)"
            if "competitor_cpu_s" in res
            else ""
        )
    )


# ------------------------------------------------------------------------ in-process scenarios
def run_inprocess(scenarios: list, pys: dict, s: dict) -> dict:
    """Warm-up repetition, then s["reps"] repetitions; within each, every scenario once per
    implementation, which one goes first alternating between repetitions and scenarios."""
    keys = s["inprocess_keys"]
    tmp = tempfile.mkdtemp(prefix="obstore-bench-")
    get_dir = os.path.join(tmp, "get")
    os.makedirs(get_dir)
    data = bytes((i * 131 + 7) % 251 for i in range(1024))  # = workers/inprocess.py _payload
    for i in range(keys):
        with open(os.path.join(get_dir, f"f{i:04d}"), "wb") as f:
            f.write(data)
    samples = {sc.name: {"ours": [], "ref": []} for sc in scenarios}
    try:
        for rep in range(s["reps"] + 1):
            warm = rep == 0
            cap = s["inprocess_warmup_time_cap"] if warm else s["inprocess_time_cap"]
            for si, sc in enumerate(scenarios):
                for side in ("ours", "ref") if (rep + si) % 2 == 0 else ("ref", "ours"):
                    put_dir = tempfile.mkdtemp(prefix=f"put-{side}-{rep}-", dir=tmp)
                    args = [sc.name, "--get-dir", get_dir, "--put-dir", put_dir]
                    args += ["--keys", str(keys), "--max-rounds", str(s["inprocess_max_rounds"])]
                    code, res, err = h.run_worker(
                        pys[side], "inprocess", [*args, "--time-cap", str(cap)], 120
                    )
                    shutil.rmtree(put_dir, ignore_errors=True)
                    tag = "warm " if warm else f"rep {rep}"
                    if res is None:
                        res = {"error": f"exit {code}: {err}"}
                        last = (err.strip().splitlines() or [""])[-1]
                        h.log(f"[{tag}] {sc.name:18s} {side:4s} ERROR exit {code}: {last[:200]}")
                    else:
                        # a complete result is a valid measurement; a non-zero exit after it
                        # (an abort during interpreter shutdown) is kept and reported
                        res["exit_code"] = code
                        h.log(
                            f"[{tag}] {sc.name:18s} {side:4s} {res['ops_per_s']:>12,.0f} ops/s "
                            f"{res['cpu_us_per_op']:8.2f} µs CPU/op ({res['ops']} ops)"
                            + (f" exit {code} after reporting" if code else "")
                        )
                    res["rep"] = rep
                    if not warm:
                        samples[sc.name][side].append(res)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return samples


# ---------------------------------------------------------------------------- stream scenarios
def run_stream(scenarios: list, impls: list, pys: dict, s: dict) -> list:
    """One transfer per (store, scenario, implementation), each in a fresh process, after
    ``os.sync()`` so that no transfer pays for the writeback of an earlier one."""
    size = int(s["stream_gib"] * GiB)
    timeout = max(300.0, 120.0 * size / GiB)
    workdir = tempfile.mkdtemp(prefix="obstore-stream-bench-")
    source_file = os.path.join(workdir, "source", "source.bin")
    source_key, target_key = "bench/source.bin", "bench/target.bin"
    rows: list = []
    server = None

    def transfer(impl: str, spec: dict) -> dict:
        os.sync()
        code, res, err = h.run_worker(pys[impl], "streaming", [json.dumps(spec)], timeout)
        if code == 0 and res is not None:
            return res
        return {"error": (err.strip().splitlines() or [f"exit {code}"])[-1][:200]}

    try:
        for store in ("local", "s3"):
            free = shutil.disk_usage(workdir).free
            need = max(10 * GiB, int(2.5 * size))  # the tree, twice the object, and headroom
            if free < need:
                reason = f"{free / GiB:.1f} GiB free in {workdir}, need {need / GiB:.1f} GiB"
                rows += [
                    {"scenario": sc.name, "store": store, "skipped": reason} for sc in scenarios
                ]
                continue
            if not os.path.exists(source_file):
                h.log(f"[setup] writing a {s['stream_gib']:g} GiB source file")
                h.write_random_file(source_file, size)
            base = {"size": size, "store": store, "timeout": timeout, "source_file": source_file}
            if store == "local":
                base["local_root"] = os.path.join(workdir, "local")
                staged = os.path.join(base["local_root"], source_key)
                os.makedirs(os.path.dirname(staged), exist_ok=True)
                os.link(source_file, staged)  # the same bytes, no second copy on disk
            else:
                h.log("[setup] starting MinIO")
                server, _ = h.start_minio(os.path.join(workdir, "minio"))
                kwargs = server.store_kwargs
                base["s3_kwargs"] = {k: v for k, v in kwargs.items() if k != "retry_config"}
                h.log("[setup] uploading the source object to MinIO")
                staged = {"error": "no implementation"}
                for impl in impls:  # with ours if it can, else with the reference
                    staged = transfer(impl, {**base, "case": "put_file", "key": source_key})
                    if "error" not in staged:
                        break
                if "error" in staged:
                    reason = f"could not stage the source object: {staged['error']}"
                    rows += [
                        {"scenario": sc.name, "store": store, "skipped": reason} for sc in scenarios
                    ]
                    server.stop()
                    server = None
                    continue
            for number, sc in enumerate(scenarios):
                case = sc.params["case"]
                row = {"scenario": sc.name, "store": store}
                reads = case in ("get_stream", "reader")
                for impl in impls if number % 2 == 0 else impls[::-1]:
                    spec = {
                        **base,
                        "case": case,
                        "key": source_key if reads else target_key,
                        "delete_after": not reads,
                    }
                    row[impl] = transfer(impl, spec)
                    h.log(f"[{store}] {sc.name} {impl}: {json.dumps(row[impl])}")
                rows.append(row)
            if server is not None:
                server.stop()
                server = None
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return rows


# ----------------------------------------------------------------------------- floor scenarios
def run_floors(scenarios: list, ours_py: str, s: dict) -> dict:
    out = {}
    for sc in scenarios:
        spec = {"case": sc.params["case"]}
        tmp = tempfile.mkdtemp(prefix="obstore-floor-")
        spec.update(dir=tmp, count=s["floor_put_count"], gib=s["floor_memory_gib"])
        try:
            code, res, err = h.run_worker(ours_py, "floors", [json.dumps(spec)], 600)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        out[sc.name] = res if code == 0 and res is not None else {"error": err}
        h.log(f"[floor] {sc.name}: {json.dumps(out[sc.name])}")
    return out


# ---------------------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "scenarios",
        nargs="?",
        default="",
        help="comma-separated scenario names or shell patterns (default: all; see --list)",
    )
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument(
        "--render",
        metavar="JSON",
        help="draw the report of a saved run (bench/results/<run>.json) again with today's "
        "report code, measuring nothing: rewrites the run's .md, and bench/RESULTS.md if it holds "
        "that run",
    )
    ap.add_argument("--ours", default=h.DEFAULT_OURS, help="interpreter that imports OUR obstore")
    ap.add_argument("--impls", default=None, help="only these implementations (comma list)")
    ap.add_argument("--reps", type=int, default=None, help="measured repetitions (>= 3; default 3)")
    ap.add_argument(
        "--requests", type=int, default=None, help="requests per worker (default 20,000)"
    )
    ap.add_argument("--big-gib", type=float, default=None, help="the big_* object (default 1)")
    ap.add_argument("--list-n", type=int, default=None, help="objects listed (default 100000)")
    ap.add_argument(
        "--stream-gib", type=float, default=None, help="the stream_* object (default 1)"
    )
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="one repetition with tiny sizes to check the harness; writes no result files",
    )
    ap.add_argument(
        "--profile",
        choices=["perf", "py-spy"],
        help="run ONE worker of ONE network scenario (--impls ours or ref) under this profiler",
    )
    ap.add_argument(
        "--call-graph",
        default="fp",
        choices=["fp", "dwarf"],
        help="--profile perf: unwinding (fp is cheap; Rust and mimalloc frames are cut short)",
    )
    ap.add_argument("--profile-out", default=None, help="--profile: keep the raw profile here")
    ap.add_argument(
        "--flame",
        default=None,
        metavar="SVG",
        help="--profile perf: also draw the profile as a flame graph into SVG (inferno, built "
        "into ~/.cache/obstore-bench/inferno on first use)",
    )
    ap.add_argument("--out-dir", default=os.path.join(h.HERE, "results"))
    ap.add_argument(
        "--keep-data",
        action="store_true",
        help="keep the staged objects and MinIO data dirs for the next run (a full run stages "
        "about 50 GB under ~/.cache/obstore-bench; by default they go when the run ends)",
    )
    args = ap.parse_args(argv)
    if args.list:
        list_scenarios()
        return 0
    if args.render:
        return render_saved(args.render)
    # One run at a time: runs share the staged objects and servers' data under the cache, and
    # a run drops them when it ends, under another run still reading them.
    os.makedirs(h.CACHE, exist_ok=True)
    lock = open(os.path.join(h.CACHE, ".run.lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"another bench/run.py is running on {h.CACHE}; wait for it to end")
    try:
        return _run(ap, args, argv)
    finally:
        if not args.keep_data:
            h.drop_staged_data()
        lock.close()


def _run(ap: argparse.ArgumentParser, args: argparse.Namespace, argv: list | None) -> int:
    chosen = select(args.scenarios)
    s = dict(SETTINGS, **(SMOKE if args.smoke else {}))
    for k in ("reps", "requests", "big_gib", "list_n", "stream_gib"):
        if getattr(args, k) is not None:
            s[k] = getattr(args, k)
    if s["reps"] < 3 and not args.smoke:
        ap.error("--reps must be >= 3 (--smoke runs one repetition to check the harness)")
    all_impls = {i for sc in SCENARIOS for i, _ in sc.rows}
    # IMPL:VARIANT (one row of a scenario) is for --profile, which checks it against the rows.
    impls = {i.partition(":")[0] for i in args.impls.split(",")} if args.impls else all_impls
    if impls - all_impls:
        ap.error(f"unknown implementations {sorted(impls - all_impls)}; known: {sorted(all_impls)}")
    ours_py = os.path.expanduser(args.ours)

    if args.profile:
        import _profile

        net = [sc for sc in chosen if sc.kind in NET_KINDS]
        if len(net) != 1 or len(chosen) != 1:
            ap.error("--profile takes exactly one network scenario")
        impl = args.impls or "ours"
        variants = [v for i, v in net[0].rows if f"{i}:{v}" == impl or i == impl]
        # wrk, curl and `python -c pass` are processes of their own, not a profiled worker
        if impl.partition(":")[0] in ("wrk", "curl", "python") or not variants:
            ap.error(
                f"--profile: --impls ours, ref or a Python row of {net[0].name}'s, "
                "or IMPL:VARIANT of them"
            )
        if args.flame and args.profile != "perf":
            ap.error("--flame draws a perf profile: --profile perf")
        if args.requests is None:
            s["requests"] = 20_000
        return _profile.profile(net[0], impl, ours_py, s, args, net_spec)

    started = time.time()
    try:
        info = h.probe(ours_py)
    except (RuntimeError, FileNotFoundError) as e:
        raise SystemExit(
            f"[ours] {e}\n(build ours with `make build`, or pass --ours PYTHON)"
        ) from e
    base = info.get("base_executable") or sys.executable  # every venv runs the same CPython
    net = [sc for sc in chosen if sc.kind in NET_KINDS and any(i in impls for i, _ in sc.rows)]
    inproc = [sc for sc in chosen if sc.kind == "inprocess"] if {"ours", "ref"} <= impls else []
    stream = [sc for sc in chosen if sc.kind == "stream"]
    stream_impls = [i for i in ("ours", "ref") if i in impls]
    floors = [sc for sc in chosen if sc.kind == "floor"] if "ours" in impls else []
    bulk = [sc for sc in chosen if sc.kind == "bulk"]
    runs = {sc.name for sc in net + inproc + floors + bulk}
    runs |= {sc.name for sc in stream if stream_impls}
    for sc in chosen:
        if sc.name not in runs:
            h.log(f"[skip] {sc.name}: none of its implementations among --impls (in-process: both)")

    # ---- interpreters: ours, the reference, and the peers the chosen rows need
    pys = {"ours": ours_py}
    needed = {h.IMPL_ENV[i] for sc in net for i, _ in sc.rows if i in impls}
    if inproc or (stream and "ref" in stream_impls):
        needed.add("ref")
    ref_info = None
    if "ref" in needed:
        pys["ref"] = h.ensure_ref_venv(base)
        ref_info = h.probe(pys["ref"])
        if any(sc.kind == "listing" for sc in net):  # return_arrow=True needs arro3-core
            h.ensure_venv(os.path.basename(h.REF_VENV), ["arro3-core"], "arro3.core", base)
    versions = {"ours": info.get("obstore_version")}
    if "ref" in pys:
        versions["obstore"] = h.pip_versions(pys["ref"], ["obstore"]).get("obstore")
    for name, (venv, reqs, check) in h.PEERS.items():
        if name in needed:
            pys[name] = h.ensure_venv(venv, reqs, check, base)
            versions.update(h.pip_versions(pys[name], reqs))
    tools = {}
    if net:
        tools_needed = {"nginx": "nginx-light", "wrk": "wrk", "curl": "curl"}
        h.ensure_apt({b: p for b, p in tools_needed.items() if b == "nginx" or b in impls})
        tools = {
            "nginx_version": h.cmd_version(["nginx", "-v"]),
            "wrk_version": (h.cmd_version(["wrk", "-v"]) or "wrk").split(" [")[0],
            "curl_version": " ".join((h.cmd_version(["curl", "--version"]) or "curl").split()[:2]),
        }

    # ---- the runs: network rows first (servers up), then the rest
    results: dict = {}
    raw: dict = {}
    loads = {"loadavg_before": h.loadavg()}
    if net:
        raw["net"], loads = run_net(net, impls, pys, ours_py, s)
        results["net"] = _report.summarize_net(raw["net"], net)
    if inproc:
        raw["inprocess"] = run_inprocess(inproc, pys, s)
        results["inprocess"] = _report.summarize_inprocess(raw["inprocess"])
    if stream and stream_impls:
        results["stream"] = raw["stream"] = run_stream(stream, stream_impls, pys, s)
    if floors:
        results["floor"] = raw["floor"] = run_floors(floors, ours_py, s)
    if bulk:
        import _bulk

        raw["bulk"] = _bulk.run(bulk, ours_py, s, s["reps"])
        results["bulk"] = {"raw": raw["bulk"], "summary": _bulk.summarize(raw["bulk"])}
    loads.setdefault("loadavg_after", h.loadavg())

    ts = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    command = "python bench/run.py " + shlex.join(a for a in (argv or sys.argv[1:]) if a)
    meta = {
        "timestamp": ts,
        "command": command.strip(),
        "elapsed_s": time.time() - started,
        "machine": h.machine(),
        **loads,
        "ours_file": info.get("obstore_file"),
        "ours_native": h.native_id(info.get("obstore_file")),
        "self_vs_self": bool(
            ref_info
            and os.path.realpath(info.get("obstore_file") or "")
            == os.path.realpath(ref_info.get("obstore_file") or "")
        ),
        "versions": versions,
        **tools,
        "settings": {**s, "scenarios": [sc.name for sc in chosen], "impls": sorted(impls)},
    }
    md = _report.render(meta, chosen, results)
    if bulk:
        md += "\n" + _bulk.render(results["bulk"], bulk)
    print(md)
    if not args.smoke:
        os.makedirs(args.out_dir, exist_ok=True)
        path = os.path.join(args.out_dir, ts)
        with open(path + ".md", "w") as f:
            f.write(md)
        with open(path + ".json", "w") as f:
            json.dump({"meta": meta, "results": results, "samples": raw}, f, indent=1)
        h.log(f"[done] {path}.md / .json ({(time.time() - started) / 60:.1f} min)")
        if len(chosen) == len(SCENARIOS) and impls == all_impls:
            with open(os.path.join(h.HERE, "RESULTS.md"), "w") as f:
                f.write(results_header(path) + "\n" + md)
    failed = any(
        r["fatal"] and r["impl"] == "ours" for rows in results.get("net", {}).values() for r in rows
    )
    failed |= any(r["errors"] for r in results.get("inprocess", []))
    failed |= any("error" in (r.get("ours") or {}) for r in results.get("stream", []))
    failed |= any("error" in r for r in results.get("floor", {}).values())
    failed |= any(
        row["errors"]
        for rows in results.get("bulk", {}).get("summary", {}).values()
        for tool, row in rows.items()
        if tool == "ours"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
