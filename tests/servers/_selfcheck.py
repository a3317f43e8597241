"""Smoke-check the test servers with whatever ``obstore`` is importable.

Not part of the test suite (pytest does not collect it).  It was used to fill the
operation matrix in ``tests/servers/__init__.py``, run with the reference client in a
scratch venv outside the repo::

    /tmp/ref-venv/bin/python -m tests.servers._selfcheck [KIND ...]

Prints one line per (kind, operation): ``ok``, or the exception type and message.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import obstore as obs
from obstore.exceptions import AlreadyExistsError, NotModifiedError, PreconditionError

from . import KINDS, _http, start

MiB = 1 << 20


class Expect(Exception):
    pass


def expect_raises(exc, fn, *a, **kw):
    try:
        fn(*a, **kw)
    except exc:
        return
    except NotImplementedError:
        raise
    except Exception as e:  # noqa: BLE001
        raise Expect(f"expected {exc.__name__}, got {type(e).__name__}: {e}") from e
    raise Expect(f"expected {exc.__name__}, nothing raised")


def check(cond, msg):
    if not cond:
        raise Expect(msg)


def run_kind(kind: str, workdir: Path) -> list[tuple[str, str]]:
    results: list[tuple[str, str]] = []
    t0 = time.monotonic()
    srv = start(kind, workdir)
    start_s = time.monotonic() - t0
    results.append(("start", f"ok ({start_s:.2f} s)"))
    try:
        store = srv.store()
        is_s3 = kind in ("minio", "moto")

        def op(name):
            def deco(fn):
                try:
                    extra = fn()
                    results.append((name, "ok" + (f" ({extra})" if extra else "")))
                except NotImplementedError as e:  # the client refuses (e.g. HttpStore)
                    msg = str(e).split("Debug source")[0].strip()[:160]
                    results.append((name, f"NIE: {msg}"))
                except Exception as e:  # noqa: BLE001
                    if kind == "webdav" and name == "sign GET + PUT (urllib)":
                        results.append((name, "n/a (HTTPStore cannot sign)"))
                        return fn
                    msg = str(e).replace("\n", " ")[:220]
                    results.append((name, f"FAIL {type(e).__name__}: {msg}"))
                return fn

            return deco

        big = os.urandom(30 * MiB)

        @op("put small")
        def _():
            r = obs.put(store, "t/small.txt", b"hello world")
            check(r["e_tag"], f"no e_tag: {r}")
            return f"e_tag={r['e_tag']} version={r.get('version')}"

        @op("put 30 MiB multipart")
        def _():
            before = _gcs_stats(srv)
            r = obs.put(store, "t/big.bin", big, chunk_size=5 * MiB, max_concurrency=4)
            got = obs.get(store, "t/big.bin").bytes()
            check(bytes(got) == big, "content mismatch")
            note = f"e_tag={r['e_tag']}"
            if is_s3:
                check(
                    r["e_tag"].strip('"').endswith("-6"), f"not multipart server-side: {r['e_tag']}"
                )
            if kind == "azurite":
                n = _azure_committed_blocks(srv, "t/big.bin")
                check(n == 6, f"committed blocks: {n}")
                note += f" blocks={n}"
            if kind == "gcs":
                after = _gcs_stats(srv)
                check(
                    after["multipart_completed"] == before["multipart_completed"] + 1,
                    "adapter saw no multipart",
                )
                note += f" parts={after['multipart_parts'] - before['multipart_parts']}"
            return note

        @op("put 30 MiB use_multipart=False")
        def _():
            obs.put(store, "t/big1.bin", big, use_multipart=False)
            check(bytes(obs.get(store, "t/big1.bin").bytes()) == big, "content mismatch")

        @op("put iterator (multipart)")
        def _():
            obs.put(store, "t/iter.bin", iter([b"a" * MiB, b"b" * MiB]), chunk_size=5 * MiB)
            check(
                bytes(obs.get(store, "t/iter.bin").bytes()) == b"a" * MiB + b"b" * MiB, "mismatch"
            )

        @op("get / get_range / get_ranges / head")
        def _():
            check(bytes(obs.get(store, "t/small.txt").bytes()) == b"hello world", "get")
            check(bytes(obs.get_range(store, "t/small.txt", start=1, end=4)) == b"ell", "range")
            rs = obs.get_ranges(store, "t/small.txt", starts=[0, 6], ends=[5, 11])
            check([bytes(x) for x in rs] == [b"hello", b"world"], "ranges")
            h = obs.head(store, "t/small.txt")
            check(h["size"] == 11 and h["path"] == "t/small.txt", f"head {h}")
            g = obs.get(store, "t/big1.bin", options={"range": (10, 20)})
            check(bytes(g.bytes()) == big[10:20], "get range option")

        @op("get/head missing -> FileNotFoundError")
        def _():
            expect_raises(FileNotFoundError, obs.get, store, "t/missing")
            expect_raises(FileNotFoundError, obs.head, store, "t/missing")

        @op("get(if_none_match=etag) -> NotModified")
        def _():
            e = obs.head(store, "t/small.txt")["e_tag"]
            expect_raises(
                NotModifiedError, obs.get, store, "t/small.txt", options={"if_none_match": e}
            )
            check(
                bytes(obs.get(store, "t/small.txt", options={"if_match": e}).bytes())
                == b"hello world",
                "if_match",
            )

        @op("get(if_match=stale) -> Precondition")
        def _():
            expect_raises(
                PreconditionError, obs.get, store, "t/small.txt", options={"if_match": '"stale"'}
            )

        for k in ("l/a", "l/b", "l/c", "l/d", "d/x/1", "d/y/2", "d/z"):
            obs.put(store, k, k.encode(), use_multipart=False)

        @op("list(prefix)")
        def _():
            names = sorted(m["path"] for chunk in obs.list(store, "l") for m in chunk)
            check(names == ["l/a", "l/b", "l/c", "l/d"], f"{names}")

        @op("list(offset=)")
        def _():
            names = sorted(m["path"] for chunk in obs.list(store, "l", offset="l/b") for m in chunk)
            check(names == ["l/c", "l/d"], f"got {names}")

        @op("list_with_delimiter")
        def _():
            r = obs.list_with_delimiter(store, "d")
            objs = [m["path"] for m in r["objects"]]
            check(sorted(r["common_prefixes"]) == ["d/x", "d/y"] and objs == ["d/z"], f"{r}")

        @op("delete / delete([..])")
        def _():
            obs.delete(store, "l/a")
            obs.delete(store, ["l/b", "l/c"])
            names = sorted(m["path"] for chunk in obs.list(store, "l") for m in chunk)
            check(names == ["l/d"], f"{names}")

        @op("delete missing")
        def _():
            try:
                obs.delete(store, "t/never-existed")
                return "no error"
            except FileNotFoundError:
                return "FileNotFoundError"

        @op("copy / rename")
        def _():
            obs.copy(store, "t/small.txt", "t/copy.txt")
            check(bytes(obs.get(store, "t/copy.txt").bytes()) == b"hello world", "copy")
            obs.rename(store, "t/copy.txt", "t/renamed.txt")
            check(bytes(obs.get(store, "t/renamed.txt").bytes()) == b"hello world", "rename")
            expect_raises(FileNotFoundError, obs.head, store, "t/copy.txt")

        @op("copy(overwrite=False) -> AlreadyExists / new ok")
        def _():
            expect_raises(
                AlreadyExistsError, obs.copy, store, "t/small.txt", "t/renamed.txt", overwrite=False
            )
            obs.copy(store, "t/small.txt", "t/fresh-copy.txt", overwrite=False)
            check(bytes(obs.get(store, "t/fresh-copy.txt").bytes()) == b"hello world", "copy new")
            obs.rename(store, "t/fresh-copy.txt", "t/renamed.txt", overwrite=True)

        @op('put mode="create" twice -> AlreadyExists')
        def _():
            obs.put(store, "t/create.txt", b"1", mode="create")
            expect_raises(AlreadyExistsError, obs.put, store, "t/create.txt", b"2", mode="create")
            check(bytes(obs.get(store, "t/create.txt").bytes()) == b"1", "overwritten!")

        @op("put update: stale e_tag -> Precondition, fresh ok")
        def _():
            r = obs.put(store, "t/upd.txt", b"1")
            mode_ok = {k: v for k, v in (("e_tag", r["e_tag"]), ("version", r.get("version"))) if v}
            stale = dict(mode_ok, e_tag='"stale"')
            if kind == "gcs":  # GCS preconditions use the generation (version)
                stale["version"] = str(int(mode_ok["version"]) + 12345)
            expect_raises(PreconditionError, obs.put, store, "t/upd.txt", b"2", mode=stale)
            obs.put(store, "t/upd.txt", b"3", mode=mode_ok)
            check(bytes(obs.get(store, "t/upd.txt").bytes()) == b"3", "update")
            return f"mode={mode_ok}"

        @op("attributes round trip")
        def _():
            attrs = {
                "Content-Type": "text/x-obstore",
                "Content-Disposition": "attachment; filename=x.txt",
                "Content-Language": "en-GB",
                "Cache-Control": "no-cache",
                "mykey": "myvalue",
            }
            obs.put(store, "t/attrs.txt", b"a", attributes=attrs)
            got = dict(obs.get(store, "t/attrs.txt").attributes)
            if kind == "webdav":
                return f"not stored by WebDAV; got {got}"
            check(all(got.get(k) == v for k, v in attrs.items()), f"got {got}")

        @op("async put/get/list/copy/delete")
        def _():
            async def go():
                await obs.put_async(store, "a/1", b"x")
                await asyncio.gather(*(obs.put_async(store, f"a/{i}", b"y") for i in range(2, 20)))
                g = await obs.get_async(store, "a/1")
                check(bytes(await g.bytes_async()) == b"x", "get_async")
                await obs.copy_async(store, "a/1", "a/c")
                await obs.delete_async(store, "a/c")
                n = 0
                async for chunk in obs.list(store, "a"):
                    n += len(chunk)
                check(n == 19, f"n={n}")

            asyncio.run(go())

        @op("list 1200 objects (paging)")
        def _():
            async def go():
                sem = asyncio.Semaphore(50)

                async def one(i):
                    async with sem:
                        await obs.put_async(store, f"many/{i:05d}", b"m")

                # WebDAV: concurrent first writes into a *new* directory race on MKCOL
                # (rclone answers 423 Locked), so create the directory first.
                await one(0)
                await asyncio.gather(*(one(i) for i in range(1, 1200)))

            asyncio.run(go())
            names = [m["path"] for chunk in obs.list(store, "many", chunk_size=500) for m in chunk]
            check(len(names) == 1200 and len(set(names)) == 1200, f"n={len(names)}")

        @op("sign GET + PUT (urllib)")
        def _():
            url = obs.sign(store, "GET", "t/small.txt", dt.timedelta(minutes=5))
            with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - 127.0.0.1
                check(r.read() == b"hello world", "signed GET")
            url = obs.sign(store, "PUT", "t/signed.txt", dt.timedelta(minutes=5))
            req = urllib.request.Request(  # noqa: S310
                url,
                data=b"signed!",
                method="PUT",
                headers={"Content-Type": "application/octet-stream"},
            )
            if kind == "azurite":  # Azure Put Blob needs the blob type, signed or not
                req.add_header("x-ms-blob-type", "BlockBlob")
            with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310
                r.read()
            check(bytes(obs.get(store, "t/signed.txt").bytes()) == b"signed!", "signed PUT")
    finally:
        srv.stop()
        check(not srv.alive(), "still alive after stop")
    return results


def _gcs_stats(srv):
    if srv.kind != "gcs":
        return {}
    return json.loads(_http.request("GET", srv.extra["stats_url"])[2])


def _azure_committed_blocks(srv, path: str) -> int:
    acct, key = srv.extra["account_name"], srv.extra["account_key"]
    url = f"{srv.endpoint}/{acct}/{srv.bucket}/{path}?comp=blocklist&blocklisttype=committed"
    h = _http.azure_sharedkey_headers("GET", url, account=acct, key_b64=key)
    st, _, body = _http.request("GET", url, headers=h)
    check(st == 200, f"blocklist -> {st} {body[:200]!r}")
    return body.count(b"<Block>")


def main(argv: list[str]) -> int:
    kinds = argv or list(KINDS)
    print(f"obstore {getattr(obs, '__version__', '?')} from {obs.__file__}")
    bad = 0
    for kind in kinds:
        with tempfile.TemporaryDirectory(prefix=f"selfcheck-{kind}-") as d:
            t = time.monotonic()
            try:
                res = run_kind(kind, Path(d))
            except Exception as e:  # noqa: BLE001
                res = [("start", f"FAIL {type(e).__name__}: {e}")]
            for name, outcome in res:
                print(f"{kind:8} {name:48} {outcome}", flush=True)
                bad += outcome.startswith("FAIL")
            print(f"{kind:8} {'(total)':48} {time.monotonic() - t:.1f} s", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
