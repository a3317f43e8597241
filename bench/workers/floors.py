#!/usr/bin/env python3
"""What the kernel charges for work obstore cannot avoid: the floors quoted in bench/README.md.

    python bench/floors.py put [--dir DIR]        # a 1 KiB put as LocalStore makes it, in Python
    python bench/floors.py populate [--gib 1]     # fresh memory: 4 KiB pages vs huge pages

``put``: object_store's LocalStore writes a temp file and renames it over the target. This runs
the same syscalls from Python (``open(O_CREAT|O_EXCL)``, ``write``, ``fstat``, ``rename`` over an
existing 1 KiB file), beside a plain ``open(path, "wb").write()`` (truncate in place, not atomic)
and, when the interpreter imports obstore, ``obstore.put`` on a ``LocalStore`` of the same
directory: 2,000 of each, alternating in one process over the same files (the filesystem's state
swings the cost 3x between runs, so only this side-by-side comparison means anything), and prints
user and system CPU and wall time per put.

``populate``: a fresh anonymous mapping populated with ``MADV_POPULATE_WRITE`` in 4 MiB steps,
with 4 KiB pages and then with ``MADV_HUGEPAGE``, twice each, with the median step time. This is
the cost a whole-object download into memory pays before any byte arrives.

Stdlib only; writes only under ``--dir`` (a fresh temp dir by default, removed at the end).
"""

from __future__ import annotations

import argparse
import mmap
import os
import resource
import shutil
import statistics
import tempfile
import time


def put_floor(directory: str, count: int = 2000) -> None:
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

    candidates = [staged_rename, truncate_in_place]
    try:
        import obstore
        from obstore.store import LocalStore

        store = LocalStore(directory)

        def obstore_put(n: int) -> None:
            for i in range(n):
                obstore.put(store, f"k{i % 1000}", data)

        candidates.append(obstore_put)
    except ImportError:
        pass

    for fn in candidates * 2:
        r0, t = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        fn(count)
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        user_us = (r1.ru_utime - r0.ru_utime) / count * 1e6
        sys_us = (r1.ru_stime - r0.ru_stime) / count * 1e6
        wall_us = (time.perf_counter() - t) / count * 1e6
        print(
            f"{fn.__name__:18} user {user_us:5.0f} us  system {sys_us:5.0f} us  "
            f"wall {wall_us:5.0f} us per put"
        )


def populate_floor(gib: float) -> None:
    size = int(gib * (1 << 30))
    step = 4 << 20
    size -= size % step
    populate = getattr(mmap, "MADV_POPULATE_WRITE", 23)  # Linux 5.14+
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
        pages = "huge pages" if huge else "4 KiB pages"
        print(
            f"{pages:12} {sum(steps) / gib:6.3f} s per GiB, "
            f"median 4 MiB step {statistics.median(steps) * 1e3:6.2f} ms"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["put", "populate"])
    ap.add_argument("--dir", default=None, help="put: the directory (default: a fresh temp dir)")
    ap.add_argument("--gib", type=float, default=1.0, help="populate: mapping size")
    args = ap.parse_args()
    if args.what == "populate":
        populate_floor(args.gib)
        return
    directory = args.dir or tempfile.mkdtemp(prefix="obstore-put-floor-")
    try:
        put_floor(directory)
    finally:
        if args.dir is None:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
