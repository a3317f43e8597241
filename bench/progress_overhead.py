"""Progress overhead, paired: one 1 GiB read with and without ``progress=``, alternating.

``python bench/progress_overhead.py DIR [PAIRS]`` writes a 1 GiB file of random bytes into DIR
once and reads it from a LocalStore (page cache warm, about 12 GB/s here: the highest byte rate,
so the largest share for the per-chunk counting) with ``get().bytes()`` and ``get_parallel``.
Each pair runs both variants back to back in one process, the order alternating; it prints the
medians and the median (and quartiles) of the paired ratios, wall and process CPU.
"""

import os
import sys

import _harness as h

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

    def run(kind: str, progress: bool) -> None:
        kwargs = {"progress": calls.append} if progress else {}
        if kind == "bytes":
            data = obstore.get(store, "big.bin", **kwargs).bytes()
        else:
            data = obstore.get_parallel(store, "big.bin", **kwargs)
        assert len(data) == SIZE

    for kind in ("bytes", "parallel"):
        h.paired(
            kind,
            {"without": lambda k=kind: run(k, False), "with": lambda k=kind: run(k, True)},
            pairs,
        )
    print(f"progress calls: {len(calls)}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 15)
