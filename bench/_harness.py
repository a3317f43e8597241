"""What bench/run.py stands on: interpreters and venvs, servers, data, workers, the machine.

Stdlib only. Everything it installs or stages lives under ``~/.cache/obstore-bench/``, never in
the repo venv: one venv per peer (PyPI obstore 0.12.1, s3fs, aioboto3, boto3, opendal, the raw
aiohttp/urllib3 floors), nginx's data, and MinIO's data dir with the objects to list.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from urllib.parse import quote

from workers._host import cpu_jiffies

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORKERS = os.path.join(HERE, "workers")
CACHE = os.path.join(os.path.expanduser("~"), ".cache", "obstore-bench")
DEFAULT_OURS = os.path.join(REPO, ".venv", "bin", "python")
REF_VERSION = "0.12.1"
REF_VENV = os.path.join(CACHE, f"venv-obstore-{REF_VERSION}")
MiB, GiB = 1024**2, 1024**3
BUCKET = "bench"
NGINX_KEY = "nginx-key"  # nginx ignores the signature; every client still computes one
NGINX_SECRET = "nginx-secret"

#: what a run stages under CACHE (objects, MinIO data dirs): tens of GB, dropped after a run
#: unless --keep-data; the venvs and peer tools stay (a few hundred MB)
STAGED = ("bulk", "minio-list", "minio-tls", "nginx-root")


def drop_staged_data() -> None:
    for name in STAGED:
        shutil.rmtree(os.path.join(CACHE, name), ignore_errors=True)


# peer -> (venv dir name, pip requirements, module to import-check)
PEERS = {
    "s3fs": ("venv-s3fs", ["s3fs"], "s3fs"),
    "aioboto3": ("venv-aioboto3", ["aioboto3"], "aioboto3"),
    "boto3": ("venv-boto3", ["boto3"], "boto3"),
    "opendal": ("venv-opendal", ["opendal"], "opendal"),
    "floor": ("venv-floor", ["aiohttp", "urllib3"], "aiohttp, urllib3"),
}
# implementation -> the interpreter that runs it: "ours", "ref" or a key of PEERS
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
    "libcurl": "floor",
    "gil-release": "floor",
    "wrk": "floor",
    "curl": "floor",
    "python": "floor",
}
# Environment variables that could make one side import the other's package.
_STRIP_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ interpreters
def worker_env() -> dict:
    """The environment of every worker: nothing that could shadow the interpreter's packages."""
    env = {k: v for k, v in os.environ.items() if k not in _STRIP_ENV}
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


def inside(path: str, root: str) -> bool:
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root + os.sep)


def ensure_ref_venv(base_python: str, venv: str = REF_VENV) -> str:
    """Create or reuse the venv of PyPI obstore==REF_VERSION; return its python."""
    if inside(venv, REPO):
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
                "-q",
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


def ensure_venv(name: str, reqs: list, check: str, base_python: str, binary: bool = False) -> str:
    """Create or reuse ``~/.cache/obstore-bench/NAME`` holding ``reqs``; return its python.

    ``check`` is a module the venv must import, or with ``binary`` a program in its bin/ (a
    package of a program alone, such as py-spy, has no module to import)."""
    venv = os.path.join(CACHE, name)
    if inside(venv, REPO):
        raise SystemExit(f"refusing to create a peer venv inside the repo: {venv}")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        log(f"[setup] creating {venv}")
        os.makedirs(CACHE, exist_ok=True)
        subprocess.run([base_python, "-m", "venv", venv], check=True)
    env = worker_env()
    if binary:
        ok = os.path.exists(os.path.join(venv, "bin", check))
    else:
        ok = (
            subprocess.run([py, "-c", f"import {check}"], env=env, capture_output=True).returncode
            == 0
        )
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
    p = subprocess.run([py, "-c", code], capture_output=True, text=True, env=worker_env())
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {}


def ensure_apt(binaries: dict) -> None:
    """binaries: {binary: Debian package}. apt-get install what is missing."""
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


def run_worker(
    python: str, worker: str, args: list, timeout: float
) -> tuple[int, dict | None, str]:
    """Run ``bench/workers/WORKER.py ARGS`` under ``python``: (exit code, last JSON line, stderr).

    The exit code is -1 on a timeout."""
    cmd = [python, os.path.join(WORKERS, f"{worker}.py"), *args]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=worker_env(), timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, None, f"timeout after {timeout:.0f} s"
    try:
        result = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        result = None
    if result is None:
        return p.returncode, None, f"{p.stdout[-300:]!r} {p.stderr.strip()[-1500:]}"
    return p.returncode, result, p.stderr.strip()[-500:]


# ------------------------------------------------------------------------------------- data
def _pattern_chunk(seed: int, size: int) -> bytes:
    # Pseudo-random (incompressible) but reproducible: blake2b in counter mode.
    out = bytearray()
    i = 0
    while len(out) < size:
        out += hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=64).digest() * 64
        i += 1
    return bytes(out[:size])


def stage_nginx_root(n_objects: int, big_size: int) -> dict:
    """``n_objects`` of 1 MiB and one big object (none if ``big_size`` is 0) under
    ``nginx-root/bench/``, written once."""
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
    objects = {
        "root": root,
        "obj_files": [os.path.join(objdir, f"{i:04d}") for i in range(n_objects)],
    }
    if not big_size:
        return objects
    big = os.path.join(root, BUCKET, "big", f"{big_size}.bin")
    meta = big + ".md5"
    if not (os.path.exists(big) and os.path.getsize(big) == big_size and os.path.exists(meta)):
        log(f"[setup] writing the {big_size / MiB:,.0f} MiB object {big}")
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
        **objects,
        "big_key": f"big/{big_size}.bin",
        "big_file": big,
        "big_md5": md5,
        "big_size": big_size,
    }


def warm_page_cache(paths: list) -> float:
    """Read ``paths`` whole so that nginx serves them from memory; returns the seconds it took.

    The host of this VM reclaims guest page cache even with most memory free, and nginx then
    reads from a disk that MinIO may be busy on: workers stall for seconds with their CPU idle,
    hitting whichever implementation runs first after an eviction. Done before every worker
    that reads from nginx, so each finds the same warm cache."""
    t0 = time.perf_counter()
    buf = bytearray(16 * MiB)
    for path in paths:
        with open(path, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass
    return time.perf_counter() - t0


def write_random_file(path: str, size: int, piece: int = 8 * MiB) -> None:
    """``size`` bytes of one random ``piece`` repeated (the source of the stream_* scenarios)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    buffer = os.urandom(piece)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, piece)
            f.write(buffer if n == piece else buffer[:n])
            left -= n


# ---------------------------------------------------------------------------------- servers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
{extra}}}
"""

# The list_replay server: the recorded ListObjectsV2 pages of one prefix, chosen by the query
# string as clients send it. nginx's $arg_NAME cannot name an argument with a hyphen, so regex
# maps on $args pick continuation-token and start-after; a request that is not list-type=2 of
# the recorded prefix, or names an unknown token or key, gets 400 (a wrong count, not a hang).
REPLAY_CONF = """
    map $args $replay_token {{
        ~(^|&)continuation-token=(?<replay_tok>p[0-9]+)(&|$) $replay_tok;
        ~(^|&)continuation-token= bad;
        default "";
    }}
    map $args $replay_after_arg {{
        ~(^|&)start-after=(?<replay_sa>[^&]+) $replay_sa;
        default "";
    }}
    map $replay_after_arg $replay_after {{
        "" "";
{after_map}
        default bad;
    }}
    map "$replay_token|$replay_after" $replay_page {{
        "|" first;
        ~^(?<replay_p1>p[0-9]+)\\|$ $replay_p1;
        ~^\\|(?<replay_p2>p[0-9]+)$ $replay_p2;
        default "";
    }}
    map $args $replay_query_ok {{
        ~(^|&)list-type=2(&|$) $replay_prefix_ok;
        default "";
    }}
    map $args $replay_prefix_ok {{
        ~(^|&)prefix=({prefix_re})(&|$) 1;
        default "";
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {pages};
        default_type application/xml;
        location ~ ^/{bucket}/?$ {{
            if ($replay_query_ok = "") {{ return 400; }}
            if ($replay_page = "") {{ return 400; }}
            try_files /$replay_page.xml =400;
        }}
        location / {{ return 404; }}
    }}
"""


class Nginx:
    """nginx serving ``root`` on 127.0.0.1: ``/BUCKET/KEY`` is a path-style S3 URL for reads."""

    def __init__(self, root: str, workers: int, replay: dict | None = None) -> None:
        self.prefix = tempfile.mkdtemp(prefix="bench-nginx-")
        self.workers = workers
        self.port = free_port()
        extra = ""
        self.replay_endpoint = None
        if replay is not None:  # a second server: the recorded listing (record_list_pages)
            replay_port = free_port()
            extra = replay_server_conf(replay, replay_port)
            self.replay_endpoint = f"http://127.0.0.1:{replay_port}"
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(
                NGINX_CONF.format(
                    prefix=self.prefix, port=self.port, root=root, workers=workers, extra=extra
                )
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

    def pids(self) -> list:
        """The master's PID and its workers' (its children; it may still be forking them)."""
        children: list = []
        deadline = time.time() + 5
        while len(children) < self.workers and time.time() < deadline:
            try:
                with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                    children = [int(x) for x in f.read().split()]
            except OSError:  # a kernel without CONFIG_PROC_CHILDREN: the master alone
                break
            if len(children) < self.workers:
                time.sleep(0.05)
        return [self.proc.pid, *children]

    def _tail(self) -> str:
        try:
            with open(os.path.join(self.prefix, "error.log")) as f:
                return f.read()[-1500:]
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


def replay_server_conf(replay: dict, port: int) -> str:
    """The nginx ``server`` (and its maps) answering the recorded pages of ``replay``."""
    after = []
    for page in replay["pages"][1:]:
        key = page["start_after"]
        # the key as sent: raw, or percent-encoded with or without "/" kept
        for form in dict.fromkeys((key, quote(key, safe=""), quote(key, safe="/"))):
            after.append(f'        "{form}" {page["token"]};')
    prefix = replay["prefix"]
    forms = dict.fromkeys((prefix, quote(prefix, safe=""), quote(prefix, safe="/")))
    return REPLAY_CONF.format(
        after_map="\n".join(after),
        prefix_re="|".join(re.escape(f) for f in forms),
        port=port,
        pages=replay["dir"],
        bucket=BUCKET,
    )


def replay_dir(list_n: int) -> str:
    return os.path.join(CACHE, f"list-replay-{list_n}")


def recorded_listing(list_n: int) -> dict | None:
    """The manifest of the recorded listing of ``list_n`` objects, or None if not recorded."""
    try:
        with open(os.path.join(replay_dir(list_n), "manifest.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def record_list_pages(kw: dict, prefix: str, list_n: int) -> dict:
    """The ListObjectsV2 pages of ``prefix`` as MinIO answers them, recorded once under
    ``list-replay-<N>/`` for the list_replay scenario: ``first.xml``, then ``p0001.xml`` ...,
    with MinIO's continuation tokens replaced by those file names (a client echoes whatever
    opaque token it gets). Returns the manifest: prefix, pages (token, start_after, count)."""
    d = replay_dir(list_n)
    recorded = recorded_listing(list_n)
    if recorded is not None:
        return recorded
    log(f"[setup] recording the ListObjectsV2 pages of {prefix} from MinIO (once)")
    tmp = d + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    pages: list = []
    token = None
    total = 0
    while True:
        cmd = ["curl", "-sS", "-f", "--aws-sigv4", "aws:amz:us-east-1:s3"]
        cmd += ["--user", f"{kw['access_key_id']}:{kw['secret_access_key']}"]
        # curl 7.88 signs the query as written: the parameters go in sorted order
        query = {"list-type": "2", "prefix": prefix}
        if token:
            query["continuation-token"] = token
        url = f"{kw['endpoint']}/{kw['bucket']}?" + "&".join(
            f"{k}={quote(v, safe='')}" for k, v in sorted(query.items())
        )
        body = subprocess.run(cmd + [url], capture_output=True, check=True, timeout=60).stdout
        root = ET.fromstring(body)
        ns = {"s3": root.tag.split("}")[0].strip("{")} if root.tag.startswith("{") else {}
        keys = [e.text or "" for e in root.iterfind("s3:Contents/s3:Key", ns)]
        token = root.findtext("s3:NextContinuationToken", None, ns)
        name = "first" if not pages else f"p{len(pages):04d}"
        ours_next = f"p{len(pages) + 1:04d}"
        body = re.sub(
            rb"<NextContinuationToken>[^<]*</NextContinuationToken>",
            f"<NextContinuationToken>{ours_next}</NextContinuationToken>".encode(),
            body,
        )
        body = re.sub(
            rb"<ContinuationToken>[^<]*</ContinuationToken>",
            f"<ContinuationToken>{name}</ContinuationToken>".encode(),
            body,
        )
        with open(os.path.join(tmp, name + ".xml"), "wb") as f:
            f.write(body)
        start_after = pages[-1]["last_key"] if pages else None
        # MinIO ends a listing of whole pages with an empty one, which is recorded as well
        last_key = keys[-1] if keys else start_after
        pages.append(
            {"token": name, "start_after": start_after, "count": len(keys), "last_key": last_key}
        )
        total += len(keys)
        if not token:
            break
        if len(pages) > list_n:  # a server that never ends its listing
            raise SystemExit(f"recording {prefix}: more pages than objects")
    if total != list_n:
        raise SystemExit(f"recording {prefix}: MinIO listed {total} objects, want {list_n}")
    info = {"prefix": prefix, "n": total, "dir": d, "pages": pages}
    with open(os.path.join(tmp, "manifest.json"), "w") as f:
        json.dump(info, f)
    shutil.rmtree(d, ignore_errors=True)
    os.replace(tmp, d)
    log(f"[setup] recorded {len(pages)} pages, {total:,} objects, in {d}")
    return info


class BusyLoop:
    """A competing CPU-bound process (a Python busy loop), started and stopped by its PID."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "print(flush=True)\nwhile True: pass"],
            stdout=subprocess.PIPE,
            env=worker_env(),
            start_new_session=True,
        )
        self.proc.stdout.readline()  # spinning, past the interpreter's start-up

    def stop(self) -> float:
        """Stop it; returns the CPU seconds it used."""
        ticks = os.sysconf("SC_CLK_TCK")
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        except (OSError, IndexError, ValueError):
            cpu = float("nan")
        self.proc.kill()  # our own child, by PID
        self.proc.wait(10)
        self.proc.stdout.close()
        return cpu


def start_minio(workdir: str, tls: bool = False):
    """MinIO (``tests.servers``) on ``workdir``: (server, the S3 keyword arguments of the workers).

    ``tls``: over https, with a certificate for 127.0.0.1 from the test authority that
    ``tests.servers`` makes at start; the keyword arguments then name the authority's PEM file
    as ``ca_file`` (each client trusts it its own way, bench/workers/net.py) in place of
    ``client_options``. ``obstore_kwargs`` turns them into an ``S3Store``'s."""
    sys.path.insert(0, REPO)
    from tests.servers import start

    os.makedirs(workdir, exist_ok=True)
    try:
        srv = start("minio", workdir, tls=tls)
    except ImportError as e:  # the test authority is made with `cryptography`
        raise SystemExit(
            f"MinIO over https needs {e.name!r} in the runner's interpreter ({sys.executable}): "
            "run bench/run.py with the repo venv (make bench), which has the test dependencies"
        ) from e
    log(f"[minio] {srv.endpoint} (data dir {workdir})")
    kw = {
        "bucket": srv.store_kwargs["bucket"],
        "endpoint": srv.endpoint,
        "access_key_id": srv.extra["access_key_id"],
        "secret_access_key": srv.extra["secret_access_key"],
        "region": "us-east-1",
    }
    if tls:
        kw["ca_file"] = srv.extra["ca_certificate"]
    else:
        kw["client_options"] = {"allow_http": True}
    return srv, kw


def empty_minio_trash(srv) -> None:
    """Empties the trash of the MinIO `srv` (``start_minio``'s server). MinIO moves a deleted
    object's data there and, on one drive, does not purge it while it runs (a 512 MiB object
    put and deleted three times still held 1.5 GiB 30 s later): a full run uploads about 90 GiB
    and deletes it again, which filled a disk with 66 GB free."""
    trash = os.path.join(srv.extra["data_dir"], ".minio.sys", "tmp", ".trash")
    for entry in os.listdir(trash) if os.path.isdir(trash) else []:
        shutil.rmtree(os.path.join(trash, entry), ignore_errors=True)


def obstore_kwargs(kw: dict) -> dict:
    """``S3Store`` keyword arguments from those of ``start_minio``: a ``ca_file`` becomes
    ``client_options={"root_certificate": <its PEM text>}``."""
    out = {k: v for k, v in kw.items() if k != "ca_file"}
    if "ca_file" in kw:
        with open(kw["ca_file"]) as f:
            out["client_options"] = {"root_certificate": f.read()}
    return out


def populate_listing(kw: dict, list_n: int, workdir: str, ours_py: str) -> str:
    """``list_n`` one-byte objects under ``list<N>/``, created once with our put_async."""
    prefix = f"list{list_n}/"
    marker = os.path.join(workdir, f"populated-{list_n}.json")
    if not os.path.exists(marker):
        log(
            f"[setup] creating {list_n:,} objects under {prefix} in MinIO with our put_async (once)"
        )
        t0 = time.time()
        subprocess.run(
            [
                ours_py,
                "-c",
                POPULATE,
                json.dumps({"kwargs": obstore_kwargs(kw), "prefix": prefix, "n": list_n}),
            ],
            check=True,
            env=worker_env(),
            timeout=4000,
        )
        with open(marker, "w") as f:
            json.dump({"n": list_n, "prefix": prefix, "seconds": time.time() - t0}, f)
    return prefix


def delete_object(ours_py: str, kw: dict, key: str) -> None:
    subprocess.run(
        [
            ours_py,
            "-c",
            "import json,sys,obstore; from obstore.store import S3Store;"
            "obstore.delete(S3Store(**json.loads(sys.argv[1])), sys.argv[2])",
            json.dumps(obstore_kwargs(kw)),
            key,
        ],
        env=worker_env(),
        timeout=60,
    )


# ---------------------------------------------------------------------------------- machine
def machine() -> dict:
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
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


SETTLE_WINDOW_S = 0.5


def settle(max_busy: float = 0.1, calm_windows: int = 4, cap_s: float = 120):
    """Waits for the host to go quiet after the set-up: writes flushed (``sync``), then
    ``calm_windows`` windows of ``SETTLE_WINDOW_S`` in a row with at most ``max_busy`` of all
    cores busy, or ``cap_s``.
    Without it the first repetitions ran in the wake of the staging and MinIO's ingest:
    21.9k then 32.9k req/s in the first two of ``async_get_64`` (run 20261205T212643Z), where
    the rest ran at 35-43k. Returns (seconds waited, busy share of the last window)."""
    start = time.monotonic()
    os.sync()
    calm = 0
    share = float("nan")
    try:
        busy0, total0 = cpu_jiffies()
        while calm < calm_windows and time.monotonic() - start < cap_s:
            time.sleep(SETTLE_WINDOW_S)
            busy1, total1 = cpu_jiffies()
            share = (busy1 - busy0) / max(total1 - total0, 1)
            busy0, total0 = busy1, total1
            calm = calm + 1 if share <= max_busy else 0
    except OSError:  # no /proc/stat: nothing to wait for
        pass
    waited = time.monotonic() - start
    last = f"cores {share:.0%} busy in the last {SETTLE_WINDOW_S:g} s"
    log(f"[setup] settled in {waited:.1f} s ({last})")
    return waited, share


def loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


def native_id(init_file: str | None) -> str | None:
    """sha256 prefix and mtime of ours' compiled module: which build was measured."""
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


def cmd_version(cmd: list) -> str | None:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except Exception:
        return None


def paired(label: str, variants: dict, pairs: int) -> None:
    """Run each of the two ``variants`` (name -> callable) once per pair, the order alternating;
    print medians and the paired ratio of the second to the first, wall and CPU."""
    (base, run_base), (other, run_other) = variants.items()
    run_base(), run_other()  # warm-up: connections, page cache, MinIO's caches
    samples: dict[str, list[tuple[float, float]]] = {base: [], other: []}
    for i in range(pairs):
        order = ((base, run_base), (other, run_other))
        for name, run in order if i % 2 == 0 else order[::-1]:
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            samples[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    line = [f"{label}: {other} vs {base}:"]
    for what, index in (("wall", 0), ("cpu", 1)):
        a = [s[index] for s in samples[base]]
        b = [s[index] for s in samples[other]]
        ratios = [y / x for x, y in zip(a, b, strict=True)]
        q1, _, q3 = statistics.quantiles(ratios)
        line.append(
            f"{what} {statistics.median(a):.3f}s / {statistics.median(b):.3f}s, paired ratio "
            f"{statistics.median(ratios):.3f} (quartiles {q1:.3f}-{q3:.3f});"
        )
    print(" ".join(line), flush=True)
