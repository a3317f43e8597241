"""Measured code of bench/run.py's in-process scenarios: runs ONE scenario in THIS interpreter.

Invoked by the driver as a subprocess with the interpreter of the implementation
under test (ours or the PyPI reference), so whichever `obstore` that interpreter
imports is the one measured. Uses only the public API common to both:
``obstore.store.MemoryStore``, ``obstore.store.LocalStore``, ``obstore.store.S3Store``,
``obstore.get``, ``obstore.put``, ``obstore.get_async``, ``obstore.put_async``,
``GetResult.bytes()`` and ``GetResult.bytes_async()``.

Work is done in "rounds" of ``--keys`` operations (default 1,000) over a fixed
key set: a sync round is a plain loop, an async round is one
``asyncio.gather`` of ``--keys`` coroutines. One unmeasured warm-up round runs
first (starts runtimes/threads, creates the put targets so measured puts are
overwrites). Then rounds run until ``--max-rounds`` or ``--time-cap`` seconds,
whichever comes first (checked between rounds).

Prints one JSON object on stdout. CPU is ``resource.getrusage(RUSAGE_SELF)``
user+sys (all threads of this process, including any runtime worker threads);
peak RSS is ``VmHWM`` of this process (whole life: interpreter + import +
setup + scenario).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time

from _memory import peak_rss_mib

SIZE = 1024

SCENARIOS = (
    "memory_get_sync",
    "memory_put_sync",
    "memory_get_async",
    "memory_put_async",
    "local_get_sync",
    "local_put_sync",
    "local_get_async",
    "local_put_async",
    "python_open_read",
    "python_open_write",
    "store_new",
)


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _payload() -> bytes:
    # Deterministic, incompressible-looking 1 KiB payload, identical on both sides.
    return bytes((i * 131 + 7) % 251 for i in range(SIZE))


def _run_sync(round_fn, max_rounds: int, time_cap: float):
    round_fn()  # warm-up round, not measured
    rounds = 0
    c0 = _cpu()
    t0 = time.perf_counter()
    deadline = t0 + time_cap
    while True:
        round_fn()
        rounds += 1
        t = time.perf_counter()
        if rounds >= max_rounds or t >= deadline:
            break
    c1 = _cpu()
    return rounds, t - t0, c1 - c0


def _run_async(round_coro_fn, max_rounds: int, time_cap: float):
    async def main():
        await round_coro_fn()  # warm-up round, not measured
        rounds = 0
        c0 = _cpu()
        t0 = time.perf_counter()
        deadline = t0 + time_cap
        while True:
            await round_coro_fn()
            rounds += 1
            t = time.perf_counter()
            if rounds >= max_rounds or t >= deadline:
                break
        c1 = _cpu()
        return rounds, t - t0, c1 - c0

    return asyncio.run(main())


def run(args) -> dict:
    import obstore
    from obstore.store import LocalStore, MemoryStore

    sc = args.scenario
    nkeys = args.keys
    data = _payload()
    keys = [f"f{i:04d}" for i in range(nkeys)]
    get, put = obstore.get, obstore.put
    get_async, put_async = obstore.get_async, obstore.put_async

    if sc.startswith("memory_"):
        store = MemoryStore()
        for k in keys:
            put(store, k, data)
    elif sc.startswith("local_get"):
        store = LocalStore(args.get_dir)
    elif sc.startswith("local_put"):
        store = LocalStore(args.put_dir)
    elif sc.startswith("python_") or sc == "store_new":
        store = None
    else:
        raise SystemExit(f"unknown scenario {sc!r}")

    check = None
    if sc.endswith("_get_sync"):

        def rnd():
            for k in keys:
                get(store, k).bytes()

        check = lambda: bytes(get(store, keys[-1]).bytes())  # noqa: E731
        res = _run_sync(rnd, args.max_rounds, args.time_cap)
    elif sc.endswith("_put_sync"):

        def rnd():
            for k in keys:
                put(store, k, data)

        check = lambda: bytes(get(store, keys[-1]).bytes())  # noqa: E731
        res = _run_sync(rnd, args.max_rounds, args.time_cap)
    elif sc.endswith("_get_async"):

        async def one(k):
            r = await get_async(store, k)
            return await r.bytes_async()

        async def rnd():
            await asyncio.gather(*[one(k) for k in keys])

        check = lambda: bytes(get(store, keys[-1]).bytes())  # noqa: E731
        res = _run_async(rnd, args.max_rounds, args.time_cap)
    elif sc.endswith("_put_async"):

        async def rnd():
            await asyncio.gather(*[put_async(store, k, data) for k in keys])

        check = lambda: bytes(get(store, keys[-1]).bytes())  # noqa: E731
        res = _run_async(rnd, args.max_rounds, args.time_cap)
    elif sc == "python_open_read":
        paths = [os.path.join(args.get_dir, k) for k in keys]

        def rnd():
            for p in paths:
                with open(p, "rb") as f:
                    f.read()

        def check():
            with open(paths[-1], "rb") as f:
                return f.read()

        res = _run_sync(rnd, args.max_rounds, args.time_cap)
    elif sc == "python_open_write":
        paths = [os.path.join(args.put_dir, k) for k in keys]

        def rnd():
            for p in paths:
                with open(p, "wb") as f:
                    f.write(data)

        def check():
            with open(paths[-1], "rb") as f:
                return f.read()

        res = _run_sync(rnd, args.max_rounds, args.time_cap)
    elif sc == "store_new":
        from obstore.store import S3Store

        def new_store():
            # Never sends a request: the endpoint is a closed loopback port.
            return S3Store(
                "bucket",
                endpoint="http://127.0.0.1:9",
                access_key_id="key",
                secret_access_key="secret",
                region="us-east-1",
                client_options={"allow_http": True},
            )

        def rnd():
            for _ in keys:
                new_store()

        def check():
            new_store()
            return data

        res = _run_sync(rnd, args.max_rounds, args.time_cap)
    else:
        raise SystemExit(f"unknown scenario {sc!r}")

    if check() != data:
        raise SystemExit(f"{sc}: read-back mismatch")

    rounds, wall, cpu = res
    ops = rounds * nkeys
    return {
        "scenario": sc,
        "ops": ops,
        "rounds": rounds,
        "wall_s": wall,
        "cpu_s": cpu,
        "ops_per_s": ops / wall if wall > 0 else None,
        "cpu_us_per_op": cpu / ops * 1e6,
        "peak_rss_mib": peak_rss_mib(),
        "obstore_version": getattr(obstore, "__version__", None),
        "obstore_file": getattr(obstore, "__file__", None),
        "python": sys.version.split()[0],
        "executable": sys.executable,
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("scenario", choices=SCENARIOS)
    p.add_argument("--get-dir", required=True, help="dir holding --keys files of 1 KiB")
    p.add_argument("--put-dir", required=True, help="existing, writable dir for put targets")
    p.add_argument("--keys", type=int, default=1000)
    p.add_argument("--max-rounds", type=int, default=50)
    p.add_argument("--time-cap", type=float, default=1.0)
    args = p.parse_args(argv)
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
