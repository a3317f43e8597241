"""Progress overhead, paired: one 1 GiB read with and without ``progress=``, alternating.

``python bench/progress_overhead.py DIR [PAIRS]`` writes a 1 GiB file of random bytes into DIR
once and reads it from a LocalStore (page cache warm, about 12 GB/s here: the highest byte rate,
so the largest share for the per-chunk counting) with ``get().bytes()`` and ``get_parallel``.
Each pair runs both variants back to back in one process, the order alternating; it prints the
medians and the median (and quartiles) of the paired ratios, wall and process CPU.
"""

import os
import statistics
import sys
import time

import obstore
from obstore.store import LocalStore

SIZE = 1 << 30


def main(directory: str, pairs: int) -> None:
    path = os.path.join(directory, "big.bin")
    if not os.path.exists(path) or os.path.getsize(path) != SIZE:
        with open(path, "wb") as f:
            for _ in range(SIZE >> 24):
                f.write(os.urandom(1 << 24))
    store = LocalStore(directory)
    calls: list[object] = []

    def run(kind: str, progress: bool) -> tuple[float, float]:
        kwargs = {"progress": calls.append} if progress else {}
        wall, cpu = time.perf_counter(), time.process_time()
        if kind == "bytes":
            data = obstore.get(store, "big.bin", **kwargs).bytes()
        else:
            data = obstore.get_parallel(store, "big.bin", **kwargs)
        assert len(data) == SIZE
        return time.perf_counter() - wall, time.process_time() - cpu

    for kind in ("bytes", "parallel"):
        run(kind, False), run(kind, True)  # warm-up
        samples: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        for i in range(pairs):
            for progress in (False, True) if i % 2 == 0 else (True, False):
                samples[progress].append(run(kind, progress))
        line = [f"{kind}:"]
        for what, index in (("wall", 0), ("cpu", 1)):
            without = [s[index] for s in samples[False]]
            with_ = [s[index] for s in samples[True]]
            ratios = [b / a for a, b in zip(without, with_, strict=True)]
            q1, _, q3 = statistics.quantiles(ratios)
            line.append(
                f"{what} {statistics.median(without):.3f}s without, "
                f"{statistics.median(with_):.3f}s with, paired ratio "
                f"{statistics.median(ratios):.3f} (quartiles {q1:.3f}-{q3:.3f});"
            )
        print(" ".join(line), f"progress calls so far {len(calls)}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 15)
