"""Measured code of bench/run.py's floor_* scenarios: kernel costs that obstore cannot avoid.

Runs in OUR interpreter. One JSON spec as the only argument; prints one JSON object.

``local_put``: object_store's LocalStore writes a temp file and renames it over the target. This
runs the same syscalls from Python (``open(O_CREAT|O_EXCL)``, ``write``, ``fstat``, ``rename``
over an existing 1 KiB file), beside a plain ``open(path, "wb").write()`` (truncate in place, not
atomic) and ``obstore.put`` on a ``LocalStore`` of the same directory: ``count`` of each,
alternating, twice, in one process over the same 1,000 files (the filesystem's state swings the
cost 3x between runs, so only this side-by-side comparison means anything). Reports user and
system CPU and wall time per put.

``fresh_memory``: a fresh anonymous mapping populated with ``MADV_POPULATE_WRITE`` in 4 MiB
steps, with 4 KiB pages and then with ``MADV_HUGEPAGE``, twice each, with the median step time.
This is the cost a whole-object download into memory pays before any byte arrives.

Stdlib only (plus obstore for the ``obstore_put`` row); writes only under ``spec["dir"]``.
"""

from __future__ import annotations

import json
import mmap
import os
import resource
import statistics
import sys
import time


def local_put(directory: str, count: int) -> list[dict]:
    data = os.urandom(1024)
    for i in range(1000):
        with open(os.path.join(directory, f"k{i}"), "wb") as f:
            f.write(data)

    def staged_rename(n: int) -> None:
        for i in range(n):
            path = os.path.join(directory, f"k{i % 1000}")
            staged = path + "#1"
            fd = os.open(staged, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
            os.write(fd, data)
            os.fstat(fd)
            os.close(fd)
            os.rename(staged, path)

    def truncate_in_place(n: int) -> None:
        for i in range(n):
            with open(os.path.join(directory, f"k{i % 1000}"), "wb") as f:
                f.write(data)

    import obstore
    from obstore.store import LocalStore

    store = LocalStore(directory)

    def obstore_put(n: int) -> None:
        for i in range(n):
            obstore.put(store, f"k{i % 1000}", data)

    rows = []
    for fn in [staged_rename, truncate_in_place, obstore_put] * 2:
        r0, t = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        fn(count)
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        rows.append(
            {
                "case": fn.__name__,
                "user_us": (r1.ru_utime - r0.ru_utime) / count * 1e6,
                "system_us": (r1.ru_stime - r0.ru_stime) / count * 1e6,
                "wall_us": (time.perf_counter() - t) / count * 1e6,
            }
        )
    return rows


def fresh_memory(gib: float) -> list[dict]:
    size = int(gib * (1 << 30))
    step = 4 << 20
    size -= size % step
    populate = getattr(mmap, "MADV_POPULATE_WRITE", 23)  # Linux 5.14+
    rows = []
    for huge in (False, True, False, True):
        region = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        if huge:
            region.madvise(mmap.MADV_HUGEPAGE)
        steps = []
        for offset in range(0, size, step):
            t = time.perf_counter()
            region.madvise(populate, offset, step)
            steps.append(time.perf_counter() - t)
        region.close()
        rows.append(
            {
                "case": "huge pages" if huge else "4 KiB pages",
                "s_per_gib": sum(steps) / (size / (1 << 30)),
                "median_step_ms": statistics.median(steps) * 1e3,
            }
        )
    return rows


def main() -> None:
    spec = json.loads(sys.argv[1])
    if spec["case"] == "local_put":
        rows = local_put(spec["dir"], spec["count"])
    elif spec["case"] == "fresh_memory":
        rows = fresh_memory(spec["gib"])
    else:
        raise SystemExit(f"unknown case {spec['case']}")
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
