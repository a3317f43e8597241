"""Measured code of bench/run.py's network scenarios: ONE (scenario, implementation) here.

The driver starts this file as a subprocess with the interpreter of the virtualenv that holds
the implementation under test (ours, PyPI obstore 0.12.1, s3fs, aioboto3, boto3, opendal, the
raw aiohttp/urllib3/http.client floors, or the wrk/curl C clients), passing one JSON spec as the
only argument. It prints one JSON object on stdout.

Measured region: after the client is built and (for request scenarios) after an unmeasured
in-worker warm-up that opens the connections. CPU = ``getrusage(RUSAGE_SELF)`` user+sys delta
(all threads of this process: Tokio workers, thread pools, event loop) plus, for the wrk/curl
rows, ``RUSAGE_CHILDREN`` of the C client. Peak RSS = VmHWM of this process (or, via GNU time,
of the C client). Every loop is bounded by a request count and by ``spec["time_cap"]`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import hashlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from _host import cpu_jiffies
from _memory import peak_rss_mib

KiB, MiB = 1024, 1024 * 1024


# ---------------------------------------------------------------------------------------- helpers
def _cpu(who=resource.RUSAGE_SELF) -> float:
    ru = resource.getrusage(who)
    return ru.ru_utime + ru.ru_stime


class _Host:
    """The host's CPU over one measured window, started when made, read by ``end()``: how busy
    all its cores were (``/proc/stat``), and the CPU seconds of the server processes named in
    ``spec["server_pids"]`` (nginx's master and workers, or MinIO). Whether a row is bound by
    the host's CPU or by waiting shows here: a client whose rate stops at a host ~95% busy
    gains only by spending less CPU, its own or the server's, per request."""

    def __init__(self, spec: dict) -> None:
        self.pids = spec.get("server_pids") or []
        self.start = self._sample()

    def _sample(self) -> tuple:
        busy, total = cpu_jiffies()
        ns = 0  # each thread's time on a CPU, in ns: /proc/PID/stat counts 10 ms ticks
        for pid in self.pids:
            try:
                tids = os.listdir(f"/proc/{pid}/task")
            except OSError:  # a server process gone: counts nothing from then on
                continue
            for tid in tids:
                try:
                    with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                        ns += int(f.read().split()[0])
                except OSError:
                    continue
        return busy, total, ns

    def end(self) -> dict:
        b0, t0, s0 = self.start
        b1, t1, s1 = self._sample()
        return {
            "host_busy": (b1 - b0) / (t1 - t0) if t1 > t0 else None,
            "server_cpu_s": (s1 - s0) / 1e9 if self.pids else None,
        }


_C_RSS: list = []  # peak RSS (MiB) of the C clients run by this worker


def _run_c(cmd: list, **kw) -> subprocess.CompletedProcess:
    """Run a C client under GNU time (if present) to get ITS peak RSS."""
    if os.path.exists("/usr/bin/time"):
        fd, out = tempfile.mkstemp(prefix="bench-time-")
        os.close(fd)
        try:
            p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out, *cmd], **kw)
            with open(out) as f:
                txt = f.read().split()
            if txt and txt[-1].isdigit():
                _C_RSS.append(int(txt[-1]) / 1024.0)
            return p
        finally:
            os.unlink(out)
    return subprocess.run(cmd, **kw)


def requests_list(spec: dict) -> list[tuple[str, int]]:
    """The request sequence: (key, offset). Same for every implementation.

    Keys cycle over all ``n_objects`` objects (stride 379 is coprime to 1,000, so every 1,000
    consecutive requests touch 1,000 distinct objects); offsets are 16 KiB-aligned spots
    spread over the 1 MiB object.
    """
    n_obj, obj_size, rng = spec["n_objects"], spec["object_size"], spec["range_size"]
    slots = obj_size // rng
    out = []
    for i in range(spec["n_requests"]):
        k = (i * 379 + spec.get("seed", 0)) % n_obj
        out.append((f"{spec['prefix']}{k:04d}", ((i * 7919) % slots) * rng))
    return out


def s3_url(spec: dict, key: str) -> str:
    return f"{spec['endpoint']}/{spec['bucket']}/{key}"


# ------------------------------------------------------------------------------- client factories
def obstore_store(spec: dict):
    from obstore.store import S3Store

    if spec.get("ca_file"):  # https with a private authority: trusted as a user does
        with open(spec["ca_file"]) as f:
            client_options = {"root_certificate": f.read()}
    else:
        client_options = {"allow_http": True}
    kw = {
        "endpoint": spec["endpoint"],
        "access_key_id": spec["access_key_id"],
        "secret_access_key": spec["secret_access_key"],
        "region": "us-east-1",
        "client_options": client_options,
    }
    if spec.get("long_timeout"):
        kw["client_options"]["timeout"] = _dt.timedelta(seconds=spec["time_cap"] + 60)
    return S3Store(spec["bucket"], **kw)


def opendal_kwargs(spec: dict) -> dict:
    if spec.get("ca_file"):
        # opendal's S3 service takes no root certificate: its reqwest/rustls client loads the
        # platform's roots (rustls-native-certs), which SSL_CERT_FILE replaces, read when the
        # Operator is built
        os.environ["SSL_CERT_FILE"] = spec["ca_file"]
    return {
        "bucket": spec["bucket"],
        "endpoint": spec["endpoint"],
        "region": "us-east-1",
        "access_key_id": spec["access_key_id"],
        "secret_access_key": spec["secret_access_key"],
    }


def boto3_client(spec: dict, pool: int):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=spec["endpoint"],
        aws_access_key_id=spec["access_key_id"],
        aws_secret_access_key=spec["secret_access_key"],
        region_name="us-east-1",
        config=Config(max_pool_connections=pool, retries={"max_attempts": 1}),
        verify=spec.get("ca_file"),  # None: the default roots
    )


def s3fs_fs(spec: dict, pool: int, asynchronous: bool):
    import s3fs

    return s3fs.S3FileSystem(
        key=spec["access_key_id"],
        secret=spec["secret_access_key"],
        endpoint_url=spec["endpoint"],
        client_kwargs={"region_name": "us-east-1"},
        config_kwargs={"max_pool_connections": pool},
        asynchronous=asynchronous,
        skip_instance_cache=True,
        use_listings_cache=False,
    )


# ------------------------------------------------ async_ranges: asyncio ranged GETs (async_get_*)
async def _pool(one, reqs, conc, deadline, rng, st):
    it = iter(reqs)

    async def w():
        for key, off in it:  # one shared iterator: `conc` requests in flight
            if time.perf_counter() > deadline:
                st["truncated"] = True
                return
            try:
                n = await one(key, off)
                if n != rng:
                    st["errors"] += 1
                    st.setdefault("first_error", f"short read {n}")
                else:
                    st["ok"] += 1
            except Exception as e:  # counted, not fatal
                st["errors"] += 1
                st.setdefault("first_error", repr(e)[:300])

    await asyncio.gather(*[w() for _ in range(conc)])


async def async_ranges(spec: dict) -> dict:
    impl, conc, rng = spec["impl"], spec["concurrency"], spec["range_size"]
    cleanup = None
    if impl in ("ours", "ref"):
        import obstore

        store = obstore_store(spec)
        gra = obstore.get_range_async

        async def one(key, off):
            return len(await gra(store, key, start=off, length=rng))

    elif impl == "opendal":
        import opendal

        op = opendal.AsyncOperator("s3", **opendal_kwargs(spec))

        async def one(key, off):
            return len(await op.read(key, offset=off, size=rng))

    elif impl == "aiohttp":
        import aiohttp

        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conc))

        async def one(key, off):
            hdr = {"Range": f"bytes={off}-{off + rng - 1}"}
            async with session.get(s3_url(spec, key), headers=hdr) as r:
                if r.status != 206:
                    raise RuntimeError(f"HTTP {r.status}")
                return len(await r.read())

        cleanup = session.close
    elif impl == "aioboto3":
        import aioboto3
        from botocore.config import Config

        ctx = aioboto3.Session().client(
            "s3",
            endpoint_url=spec["endpoint"],
            aws_access_key_id=spec["access_key_id"],
            aws_secret_access_key=spec["secret_access_key"],
            region_name="us-east-1",
            config=Config(max_pool_connections=conc, retries={"max_attempts": 1}),
        )
        s3 = await ctx.__aenter__()
        bucket = spec["bucket"]

        async def one(key, off):
            r = await s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={off}-{off + rng - 1}")
            async with r["Body"] as body:
                return len(await body.read())

        async def cleanup():
            await ctx.__aexit__(None, None, None)

    elif impl == "s3fs":
        fs = s3fs_fs(spec, conc, asynchronous=True)
        session = await fs.set_session()
        bucket = spec["bucket"]

        async def one(key, off):
            return len(await fs._cat_file(f"{bucket}/{key}", start=off, end=off + rng))

        cleanup = session.close
    else:
        raise SystemExit(f"async_ranges: unknown impl {impl}")

    reqs = requests_list(spec)
    # Warm-up (unmeasured): open the connections and touch the code paths.
    wst = {"ok": 0, "errors": 0}
    warm = requests_list({**spec, "n_requests": min(len(reqs), 2 * conc), "seed": 500})
    await _pool(one, warm, conc, time.perf_counter() + 30, rng, wst)
    st = {"ok": 0, "errors": 0}
    host = _Host(spec)
    c0, t0 = _cpu(), time.perf_counter()
    await _pool(one, reqs, conc, t0 + spec["time_cap"], rng, st)
    t1, c1 = time.perf_counter(), _cpu()
    on_host = host.end()
    if cleanup is not None:
        try:
            await cleanup()
        except Exception:
            pass
    done = st["ok"] + st["errors"]
    return {
        "requests": done,
        "ok": st["ok"],
        "errors": st["errors"] + wst["errors"],
        "first_error": st.get("first_error") or wst.get("first_error"),
        "truncated": st.get("truncated", False),
        "wall_s": t1 - t0,
        "cpu_s": c1 - c0,
        "rate": st["ok"] / (t1 - t0),
        "unit": "req/s",
        "cpu_ms_per_op": (c1 - c0) / max(done, 1) * 1e3,
        **on_host,
    }


# libcurl's option and info numbers (curl/curl.h), stable across its versions.
_CURLOPT_WRITEDATA, _CURLOPT_URL, _CURLOPT_RANGE, _CURLOPT_NOSIGNAL = 10001, 10002, 10007, 99
_CURLINFO_RESPONSE_CODE, _CURLINFO_SIZE_DOWNLOAD_T = 0x200002, 0x600008


def libcurl_get_range(spec: dict):
    """A C client doing the whole request under one release of the GIL: the floor of any sync
    call that blocks its Python thread until the bytes are in memory.

    libcurl through ctypes: the per-request settings go through ``PyDLL`` (the GIL held, as a C
    extension sets its request up), ``curl_easy_perform`` through ``CDLL`` (the GIL released for
    the whole exchange). Each thread keeps one handle, so one kept-alive connection; no signing.
    libcurl's default write callback is ``fwrite``: the body goes into an unbuffered ``fmemopen``
    buffer, then into the ``bytes`` returned, as every client returns it."""
    import ctypes
    import ctypes.util
    import threading

    path = ctypes.util.find_library("curl")
    if path is None:
        raise RuntimeError("libcurl is not installed (the libcurl row needs libcurl.so)")
    held, released = ctypes.PyDLL(path), ctypes.CDLL(path)
    libc = ctypes.PyDLL(ctypes.util.find_library("c"))
    for f in (held.curl_easy_init, libc.fmemopen):
        f.restype = ctypes.c_void_p
    libc.fmemopen.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p)
    libc.rewind.argtypes = (ctypes.c_void_p,)
    libc.setvbuf.argtypes = (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t)
    held.curl_global_init(ctypes.c_long(3))
    setopt, getinfo = held.curl_easy_setopt, held.curl_easy_getinfo
    perform = released.curl_easy_perform
    rng, local = spec["range_size"], threading.local()

    def handle():
        h = held.curl_easy_init()
        buf = ctypes.create_string_buffer(rng + 1)
        fp = libc.fmemopen(buf, rng + 1, b"w")
        libc.setvbuf(fp, None, 2, 0)  # _IONBF: fwrite lands in buf at once
        setopt(ctypes.c_void_p(h), _CURLOPT_WRITEDATA, ctypes.c_void_p(fp))
        setopt(ctypes.c_void_p(h), _CURLOPT_NOSIGNAL, ctypes.c_long(1))
        local.h = (ctypes.c_void_p(h), buf, ctypes.c_void_p(fp), ctypes.c_long(), ctypes.c_int64())
        return local.h

    def one(key, off):
        h, buf, fp, code, size = getattr(local, "h", None) or handle()
        libc.rewind(fp)
        setopt(h, _CURLOPT_URL, s3_url(spec, key).encode())
        setopt(h, _CURLOPT_RANGE, f"{off}-{off + rng - 1}".encode())
        rc = perform(h)
        if rc != 0:
            raise RuntimeError(f"curl_easy_perform: CURLcode {rc}")
        getinfo(h, _CURLINFO_RESPONSE_CODE, ctypes.byref(code))
        getinfo(h, _CURLINFO_SIZE_DOWNLOAD_T, ctypes.byref(size))
        if code.value != 206:
            raise RuntimeError(f"HTTP {code.value}")
        return ctypes.string_at(buf, size.value)

    return one


# -------------------------------- sync_ranges: the same from a thread pool or a loop (sync_get_*)
def sync_ranges(spec: dict) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    impl, threads, rng = spec["impl"], spec["threads"], spec["range_size"]
    if impl in ("ours", "ref"):
        import obstore

        store = obstore_store(spec)
        gr = obstore.get_range

        def one(key, off):
            return len(gr(store, key, start=off, length=rng))

    elif impl == "opendal":
        import opendal

        op = opendal.Operator("s3", **opendal_kwargs(spec))

        def one(key, off):
            return len(op.read(key, offset=off, size=rng))

    elif impl == "boto3":
        s3 = boto3_client(spec, threads)
        bucket = spec["bucket"]

        def one(key, off):
            r = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={off}-{off + rng - 1}")
            return len(r["Body"].read())

    elif impl == "s3fs":
        fs = s3fs_fs(spec, threads, asynchronous=False)
        bucket = spec["bucket"]

        def one(key, off):
            return len(fs.cat_file(f"{bucket}/{key}", start=off, end=off + rng))

    elif impl == "urllib3":
        import urllib3

        pm = urllib3.PoolManager(maxsize=threads, block=True, retries=False)

        def one(key, off):
            r = pm.request(
                "GET", s3_url(spec, key), headers={"Range": f"bytes={off}-{off + rng - 1}"}
            )
            if r.status != 206:
                raise RuntimeError(f"HTTP {r.status}")
            return len(r.data)

    elif impl == "libcurl":
        get = libcurl_get_range(spec)

        def one(key, off):
            return len(get(key, off))

    elif impl == "gil-release":
        # What any call that releases the GIL once costs in this harness, with no I/O at all:
        # the hand-off of the GIL between the pool's threads (the floor of sync_get_pool).
        def one(key, off):
            time.sleep(0)
            return rng

    else:
        raise SystemExit(f"sync_ranges: unknown impl {impl}")

    def run(reqs, deadline, st):
        def task(kv):
            if time.perf_counter() > deadline:
                st["truncated"] = True
                return None
            try:
                n = one(*kv)
                return None if n == rng else f"short read {n}"
            except Exception as e:
                return repr(e)[:300]

        with contextlib.ExitStack() as stack:
            if threads == 1:  # a single-threaded script: a plain loop, no pool
                results = map(task, reqs)
            else:
                results = stack.enter_context(ThreadPoolExecutor(threads)).map(task, reqs)
            for res in results:
                if res is None:
                    st["ok"] += 1
                else:
                    st["errors"] += 1
                    st.setdefault("first_error", res)

    reqs = requests_list(spec)
    wst = {"ok": 0, "errors": 0}
    run(
        requests_list({**spec, "n_requests": min(len(reqs), 4 * threads), "seed": 500}),
        time.perf_counter() + 30,
        wst,
    )
    st = {"ok": 0, "errors": 0}
    host = _Host(spec)
    c0, t0 = _cpu(), time.perf_counter()
    run(reqs, t0 + spec["time_cap"], st)
    t1, c1 = time.perf_counter(), _cpu()
    on_host = host.end()
    done = st["ok"] + st["errors"]
    return {
        "requests": done,
        "ok": st["ok"],
        "errors": st["errors"] + wst["errors"],
        "first_error": st.get("first_error") or wst.get("first_error"),
        "truncated": st.get("truncated", False),
        "wall_s": t1 - t0,
        "cpu_s": c1 - c0,
        "rate": st["ok"] / (t1 - t0),
        "unit": "req/s",
        "cpu_ms_per_op": (c1 - c0) / max(done, 1) * 1e3,
        **on_host,
    }


# ---------------------------------------------- big_object: one 1 GiB object (big_get_*, big_put)
def _md5(buf) -> str:
    return hashlib.md5(buf).hexdigest()


def big_object(spec: dict) -> dict:
    """variant: bytes | stream | parallel | upload (multipart from memory) | upload_one (one PUT
    from memory) | upload_file (from the file, as each library takes one). Returns GB/s etc."""
    impl, variant, key, size = spec["impl"], spec["variant"], spec["big_key"], spec["big_size"]
    rss0 = peak_rss_mib()
    check = None  # -> (ok: bool, detail)
    data = None
    if variant in ("upload", "upload_one"):
        with open(spec["big_file"], "rb") as f:
            data = f.read()
        rss0 = peak_rss_mib()
    part = spec.get("part_size", 16 * MiB)
    starts = list(range(0, size, part))
    # progress=: a callable that counts its calls (the cost measured is obstore's, not a bar's)
    progress_calls = []
    with_progress = {"progress": progress_calls.append} if spec.get("progress") else {}

    def run():
        nonlocal check
        if impl in ("ours", "ref"):
            import obstore

            store = obstore_store(spec)
            if variant == "bytes":
                b = obstore.get(store, key, **with_progress).bytes()
                return len(b), (lambda: _md5(memoryview(b)))
            if variant == "stream":
                n = 0
                for chunk in obstore.get(store, key).stream():
                    n += len(chunk)
                return n, None
            if variant == "parallel" and hasattr(obstore, "get_parallel"):
                # ours: the parallel download function, parts written into one buffer natively
                b = obstore.get_parallel(
                    store, key, chunk_size=part, max_concurrency=spec.get("parallelism", 16)
                )
                return len(b), (lambda: _md5(memoryview(b)))
            if variant == "parallel":
                # 0.12.1 has no such function: asyncio.gather of get_range_async, each 16 MiB
                # part copied into one buffer.
                buf = bytearray(size)
                mv = memoryview(buf)
                sem_n = spec.get("parallelism", 16)

                async def main():
                    sem = asyncio.Semaphore(sem_n)

                    async def part_get(s):
                        async with sem:
                            b = await obstore.get_range_async(
                                store, key, start=s, end=min(s + part, size)
                            )
                        mv[s : s + len(b)] = memoryview(b)
                        return len(b)

                    return sum(await asyncio.gather(*[part_get(s) for s in starts]))

                n = asyncio.run(main())
                return n, (lambda: _md5(mv))
            if variant.startswith("upload"):
                if variant == "upload_file":
                    obstore.put(store, key, Path(spec["big_file"]))
                else:
                    kw = {"use_multipart": False} if variant == "upload_one" else with_progress
                    obstore.put(store, key, data, **kw)
                return size, (lambda: obstore.head(store, key)["size"] == size)
        elif impl == "opendal":
            import opendal

            op = opendal.Operator("s3", **opendal_kwargs(spec))
            if variant == "bytes":
                b = op.read(key)
                return len(b), (lambda: _md5(memoryview(b)))
            if variant == "parallel":
                b = op.read(key, concurrent=spec.get("parallelism", 16), chunk=part)
                return len(b), (lambda: _md5(memoryview(b)))
            if variant == "upload":
                op.write(key, data, chunk=8 * MiB, concurrent=8)
            elif variant == "upload_one":
                op.write(key, data)
            elif variant == "upload_file":  # no file input: its writer, fed as a user would
                with (
                    open(spec["big_file"], "rb") as f,
                    op.open(key, "wb", chunk=8 * MiB, concurrent=8) as w,
                ):
                    shutil.copyfileobj(f, w, 8 * MiB)
            if variant.startswith("upload"):
                return size, (lambda: op.stat(key).content_length == size)
        elif impl == "boto3":
            from boto3.s3.transfer import TransferConfig

            s3 = boto3_client(spec, 16)
            bucket = spec["bucket"]
            if variant == "bytes":
                b = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                return len(b), (lambda: _md5(b))
            if variant == "stream":
                n = 0
                for chunk in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(MiB):
                    n += len(chunk)
                return n, None
            if variant == "parallel":
                bio = io.BytesIO()
                cfg = TransferConfig(
                    multipart_chunksize=part, max_concurrency=spec.get("parallelism", 16)
                )
                s3.download_fileobj(bucket, key, bio, Config=cfg)
                # parts land out of order (seek + write): the size is the end, not tell()
                return bio.getbuffer().nbytes, (lambda: _md5(bio.getbuffer()))
            if variant == "upload":
                s3.upload_fileobj(io.BytesIO(data), bucket, key)
            elif variant == "upload_one":
                s3.put_object(Bucket=bucket, Key=key, Body=data)
            elif variant == "upload_file":
                s3.upload_file(spec["big_file"], bucket, key)
            if variant.startswith("upload"):
                return size, (
                    lambda: s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == size
                )
        elif impl == "http.client":
            import http.client
            from urllib.parse import urlsplit

            u = urlsplit(spec["endpoint"])
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
            conn.request("GET", f"/{spec['bucket']}/{key}")
            r = conn.getresponse()
            if r.status != 200:
                raise RuntimeError(f"HTTP {r.status}")
            if variant == "bytes":
                buf = bytearray(size)
                mv = memoryview(buf)
                n = 0
                while n < size:
                    k = r.readinto(mv[n:])
                    if not k:
                        break
                    n += k
                return n, (lambda: _md5(mv))
            if variant == "stream":
                buf = bytearray(MiB)
                n = 0
                while True:
                    k = r.readinto(buf)
                    if not k:
                        break
                    n += k
                return n, None
        elif impl == "curl":
            if variant in ("bytes", "stream"):
                cmd = ["curl", "-sS", "-f", "-o", "/dev/null", s3_url(spec, key)]
            elif variant.startswith("upload"):  # always one PUT, read from the file
                cmd = [
                    "curl",
                    "-sS",
                    "-f",
                    "-o",
                    "/dev/null",
                    "--aws-sigv4",
                    "aws:amz:us-east-1:s3",
                    "--user",
                    f"{spec['access_key_id']}:{spec['secret_access_key']}",
                    "-H",
                    "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                    "-T",
                    spec["big_file"],
                    s3_url(spec, key),
                ]
                if spec.get("ca_file"):
                    cmd[1:1] = ["--cacert", spec["ca_file"]]
            else:
                cmd = None
            if cmd:
                _run_c(cmd, check=True, timeout=spec["time_cap"] + 30)
                return size, None
        raise SystemExit(f"big_object: impl {impl} has no variant {variant}")

    host = _Host(spec)
    c0, cc0, t0 = _cpu(), _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    n, check = run()
    t1, c1, cc1 = time.perf_counter(), _cpu(), _cpu(resource.RUSAGE_CHILDREN)
    on_host = host.end()
    rss = peak_rss_mib()
    errors, detail = 0, None
    if n != size:
        errors, detail = 1, f"got {n} bytes, want {size}"
    elif check is not None:
        got = check()
        want = True if variant.startswith("upload") else spec["big_md5"]
        if got != want:
            errors, detail = 1, f"check failed: {got!r} != {want!r}"
    cpu = (c1 - c0) + (cc1 - cc0)
    return {
        "requests": 1,
        "ok": 1 - errors,
        "errors": errors,
        "first_error": detail,
        "wall_s": t1 - t0,
        "cpu_s": cpu,
        "rate": size / (t1 - t0) / 1e9,
        "unit": "GB/s",
        "cpu_s_per_gb": cpu / (size / 1e9),
        "rss_over_size_mib": None if impl == "curl" else rss - size / MiB,
        "rss_before_mib": rss0,
        **({"progress_calls": len(progress_calls)} if with_progress else {}),
        **on_host,
    }


# --------------------------------------------------------------------------------- listing (list)
def listing(spec: dict) -> dict:
    impl, variant = spec["impl"], spec["variant"]
    prefix, n_want = spec["list_prefix"], spec["list_n"]
    bucket = spec["bucket"]
    if impl in ("ours", "ref"):
        import obstore

        store = obstore_store(spec)

        def run():
            if variant == "arrow":
                batch = obstore.list(store, prefix, return_arrow=True).collect()
                return batch.num_rows
            return len(obstore.list(store, prefix).collect())

    elif impl == "boto3":
        s3 = boto3_client(spec, 4)

        def run():
            n = 0
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                n += len(page.get("Contents", ()))
            return n

    elif impl == "s3fs":
        fs = s3fs_fs(spec, 4, asynchronous=False)

        def run():
            return len(fs.find(f"{bucket}/{prefix}", detail=True))

    elif impl == "opendal":
        import opendal

        op = opendal.Operator("s3", **opendal_kwargs(spec))

        def run():
            return sum(1 for e in op.list(prefix, recursive=True) if not e.path.endswith("/"))

    elif impl == "curl":
        # The replay server's ceiling: every recorded page in turn over one connection, bodies
        # discarded unparsed; the objects are the recorded counts of the pages answered 200.
        tmp = tempfile.mkdtemp(prefix="bench-list-")
        cfg = os.path.join(tmp, "pages.cfg")
        with open(cfg, "w") as f:
            for url in spec["page_urls"]:
                f.write(f'url = "{url}"\noutput = "/dev/null"\n')

        def run():
            p = _run_c(
                ["curl", "-sS", "-w", "%{http_code}\\n", "-K", cfg],
                capture_output=True,
                text=True,
                timeout=spec["time_cap"] + 30,
            )
            codes = p.stdout.split()
            counts = spec["page_counts"]
            return sum(c for code, c in zip(codes, counts, strict=False) if code == "200")

    else:
        raise SystemExit(f"listing: unknown impl {impl}")
    # Up to list_rounds listings back to back, none started after list_seconds: a listing the
    # client finishes in a fraction of a second is measured over several.
    rounds, seconds = spec.get("list_rounds", 1), spec.get("list_seconds", 0.0)
    children = resource.RUSAGE_CHILDREN
    listed: list = []
    host = _Host(spec)
    c0, cc0, t0 = _cpu(), _cpu(children), time.perf_counter()
    while len(listed) < rounds:
        listed.append(run())
        if time.perf_counter() - t0 >= seconds:
            break
    t1, c1, cc1 = time.perf_counter(), _cpu(), _cpu(children)
    on_host = host.end()
    if impl == "curl":  # the C client's CPU, not that of this process waiting for it
        c0, c1 = cc0, cc1
        shutil.rmtree(tmp, ignore_errors=True)
    n = sum(listed)
    wrong = [x for x in listed if x != n_want]
    return {
        "requests": n,
        "ok": n,
        "errors": len(wrong),
        "first_error": f"listed {wrong[0]}, want {n_want}" if wrong else None,
        "rounds": len(listed),
        "wall_s": t1 - t0,
        "cpu_s": c1 - c0,
        "rate": n / (t1 - t0),
        "unit": "objects/s",
        "cpu_us_per_object": (c1 - c0) / max(n, 1) * 1e6,
        **on_host,
    }


# --------------------------------------------------------------------------- C clients (ceilings)
# One thread (-t 1): on 2 cores a second wrk thread competes with nginx. The requests (the keys
# and ranges of requests_list, in its order) are formatted once in init() and cycled in
# request(), so wrk's own cost per request is a table lookup, not a string.format.
WRK_LUA = """
local n_obj, slots, rng, prefix, bucket, n_req = %d, %d, %d, "%s", "%s", %d
local prepared = {}
local counter = 0
function init(args)
  for i = 0, n_req - 1 do
    local k = (i * 379) %% n_obj
    local off = ((i * 7919) %% slots) * rng
    local path = string.format("/%%s/%%s%%04d", bucket, prefix, k)
    local hdr = { ["Range"] = string.format("bytes=%%d-%%d", off, off + rng - 1) }
    prepared[i + 1] = wrk.format("GET", path, hdr)
  end
end
function request()
  counter = counter %% n_req + 1
  return prepared[counter]
end
"""


def c_ceiling(spec: dict) -> dict:
    impl, conc, rng = spec["impl"], spec["concurrency"], spec["range_size"]
    tmp = tempfile.mkdtemp(prefix="bench-c-")
    host = _Host(spec)
    cc0, t0 = _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    if impl == "wrk":
        lua = os.path.join(tmp, "ranges.lua")
        with open(lua, "w") as f:
            f.write(
                WRK_LUA
                % (
                    spec["n_objects"],
                    spec["object_size"] // rng,
                    rng,
                    spec["prefix"],
                    spec["bucket"],
                    spec["n_requests"],
                )
            )
        dur = spec.get("wrk_seconds", 3)
        p = _run_c(
            [
                "wrk",
                "-t",
                "1",
                "-c",
                str(conc),
                "-d",
                f"{dur}s",
                "-s",
                lua,
                spec["endpoint"],
            ],
            capture_output=True,
            text=True,
            timeout=dur + 30,
        )
        t1, cc1 = time.perf_counter(), _cpu(resource.RUSAGE_CHILDREN)
        on_host = host.end()
        out = p.stdout
        done = errors = 0
        rate = 0.0
        for line in out.splitlines():
            s = line.strip()
            if "requests in" in s:
                done = int(s.split()[0])
            elif s.startswith("Requests/sec:"):
                rate = float(s.split()[1])
            elif s.startswith("Non-2xx"):
                errors += int(s.split()[-1])
            elif s.startswith("Socket errors"):
                errors += sum(int(x.strip(",")) for x in s.split()[3::2])
        res = {"requests": done, "ok": done - errors, "errors": errors, "wall_s": t1 - t0}
        res["rate"] = rate
        res["first_error"] = None if p.returncode == 0 else p.stderr[-300:]
    elif impl == "curl":
        cfg = os.path.join(tmp, "urls.cfg")
        reqs = requests_list(spec)
        with open(cfg, "w") as f:
            for key, off in reqs:
                f.write(
                    f'url = "{s3_url(spec, key)}"\nrange = "{off}-{off + rng - 1}"\n'
                    'output = "/dev/null"\n'
                )
        p = _run_c(
            [
                "curl",
                "-sS",
                "--parallel",
                "--parallel-immediate",
                "--parallel-max",
                str(conc),
                "-w",
                "%{http_code}\\n",
                "-K",
                cfg,
            ],
            capture_output=True,
            text=True,
            timeout=spec["time_cap"] + 30,
        )
        t1, cc1 = time.perf_counter(), _cpu(resource.RUSAGE_CHILDREN)
        on_host = host.end()
        codes = p.stdout.split()
        ok = sum(1 for c in codes if c == "206")
        res = {
            "requests": len(reqs),
            "ok": ok,
            "errors": len(reqs) - ok,
            "wall_s": t1 - t0,
            "rate": ok / (t1 - t0),
            "first_error": None if p.returncode == 0 else p.stderr[-300:],
        }
    else:
        raise SystemExit(f"unknown C client {impl}")
    res["cpu_s"] = cc1 - cc0
    res["unit"] = "req/s"
    res["cpu_ms_per_op"] = res["cpu_s"] / max(res["requests"], 1) * 1e3
    res["truncated"] = False
    res.update(on_host)
    shutil.rmtree(tmp, ignore_errors=True)
    return res


# -------------------------------------------- cold_start: a fresh interpreter per put + get
# Each child is a short script as a user writes it: it imports only its library (and json, sys,
# which the interpreter has loaded by then), makes a client of the https endpoint that trusts
# the test authority, puts 1 KiB, reads it back and exits.
_COLD_CHILD = {
    "obstore": """
import json, sys
spec = json.loads(sys.argv[1])
import obstore
from obstore.store import S3Store
with open(spec["ca_file"]) as f:
    pem = f.read()
store = S3Store(
    spec["bucket"],
    endpoint=spec["endpoint"],
    access_key_id=spec["access_key_id"],
    secret_access_key=spec["secret_access_key"],
    region="us-east-1",
    client_options={"root_certificate": pem},
)
data = bytes(range(256)) * 4
obstore.put(store, spec["key"], data)
assert bytes(obstore.get(store, spec["key"]).bytes()) == data
""",
    "opendal": """
import json, os, sys
spec = json.loads(sys.argv[1])
os.environ["SSL_CERT_FILE"] = spec["ca_file"]
import opendal
op = opendal.Operator(
    "s3",
    bucket=spec["bucket"],
    endpoint=spec["endpoint"],
    region="us-east-1",
    access_key_id=spec["access_key_id"],
    secret_access_key=spec["secret_access_key"],
)
data = bytes(range(256)) * 4
op.write(spec["key"], data)
assert bytes(op.read(spec["key"])) == data
""",
    "boto3": """
import json, sys
spec = json.loads(sys.argv[1])
import boto3
s3 = boto3.client(
    "s3",
    endpoint_url=spec["endpoint"],
    aws_access_key_id=spec["access_key_id"],
    aws_secret_access_key=spec["secret_access_key"],
    region_name="us-east-1",
    verify=spec["ca_file"],
)
data = bytes(range(256)) * 4
s3.put_object(Bucket=spec["bucket"], Key=spec["key"], Body=data)
assert s3.get_object(Bucket=spec["bucket"], Key=spec["key"])["Body"].read() == data
""",
    "python": "pass",
}


def cold_start(spec: dict) -> dict:
    """spec["processes"] children one after another: processes/s, CPU ms and wall ms each."""
    impl = spec["impl"]
    code = _COLD_CHILD["obstore" if impl in ("ours", "ref") else impl]
    cmd = [sys.executable, "-c", code, json.dumps(spec)]
    n, errors, detail, walls = spec["processes"], 0, None, []
    host = _Host(spec)
    cc0, t0 = _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=spec["time_cap"])
        walls.append(time.perf_counter() - t)
        if p.returncode != 0:
            errors += 1
            detail = detail or p.stderr.strip()[-500:]
    t1, cc1 = time.perf_counter(), _cpu(resource.RUSAGE_CHILDREN)
    on_host = host.end()
    walls.sort()
    return {
        "requests": n,
        "ok": n - errors,
        "errors": errors,
        "first_error": detail,
        "wall_s": t1 - t0,
        "cpu_s": cc1 - cc0,
        "rate": n / (t1 - t0),
        "unit": "processes/s",
        "cpu_ms_per_op": (cc1 - cc0) / n * 1e3,
        "median_process_ms": walls[n // 2] * 1e3,
        **on_host,
    }


# ------------------------------------------------------------------------------------------- main
def main() -> None:
    spec = json.loads(sys.argv[1])
    kind = spec["kind"]
    try:
        if spec["impl"] in ("wrk", "curl") and kind in ("async_ranges", "sync_ranges"):
            res = c_ceiling(spec)
        elif kind == "async_ranges":
            res = asyncio.run(async_ranges(spec))
        elif kind == "sync_ranges":
            res = sync_ranges(spec)
        elif kind == "big_object":
            res = big_object(spec)
        elif kind == "listing":
            res = listing(spec)
        elif kind == "cold_start":
            res = cold_start(spec)
        else:
            raise SystemExit(f"unknown kind {kind}")
    except Exception:
        print(json.dumps({"fatal": traceback.format_exc()[-2000:]}))
        sys.exit(2)
    if kind == "cold_start":  # the largest child's
        res["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    elif spec["impl"] in ("wrk", "curl"):
        res["peak_rss_mib"] = max(_C_RSS) if _C_RSS else None
    else:
        res["peak_rss_mib"] = peak_rss_mib()
    version = None
    mod = {"ours": "obstore", "ref": "obstore"}.get(spec["impl"], spec["impl"])
    if mod in sys.modules:
        version = getattr(sys.modules[mod], "__version__", None)
    res["lib_version"] = version
    res["lib_file"] = getattr(sys.modules.get(mod), "__file__", None)
    print(json.dumps(res))
    sys.stdout.flush()
    os._exit(0)  # skip finalizers of third-party runtimes (measured work is complete)


if __name__ == "__main__":
    main()
