"""Checksum and request-hook overhead, paired in one process against MinIO on 127.0.0.1.

``python bench/integrity_overhead.py [PAIRS]`` starts MinIO (``tests.servers``, data in a
temporary directory removed at the end) and times, pair by pair with the order alternating:

- ``put``: 512 MiB from memory with ``put``, a store with ``checksum_algorithm`` crc64nvme (the
  default on AWS's own endpoint) or sha256 against one without (MinIO verifies what it gets);
- ``get``: that object, stored with its crc64nvme, read whole with ``get().bytes()``,
  ``verify_checksum`` on (the default) against off;
- ``hook``: 2,000 ranged 16 KiB GETs with 64 in flight, a no-op ``add_request_hook`` callback
  against none;
- ``https put``: 512 MiB from memory to a second MinIO serving TLS (a test certificate
  authority), the default (``UNSIGNED-PAYLOAD`` over https) against ``unsigned_payload=False``
  (the SHA-256 of every body signed, as over plain http).

Wall and process CPU (every thread: the runtime's included) per variant; it prints the medians
and the median (and quartiles) of the paired ratios. MinIO runs on the same cores, so wall
includes its work; the client's cost is the CPU column.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile

import _harness as h

import obstore
from obstore.store import S3Store

SIZE = 512 * h.MiB
SMALL_GETS, IN_FLIGHT, RANGE = 2_000, 64, 16 * 1024


def main(pairs: int) -> None:
    workdir = tempfile.mkdtemp(prefix="obstore-integrity-")
    server, kw = h.start_minio(workdir)
    try:
        plain = S3Store(**kw)
        stores = {
            algorithm: S3Store(**kw, checksum_algorithm=algorithm)
            for algorithm in ("crc64nvme", "sha256")
        }
        unverified = S3Store(**kw, verify_checksum=False)
        data = os.urandom(SIZE)

        for algorithm, store in stores.items():
            h.paired(
                "put 512 MiB",
                {
                    "none": lambda: obstore.put(plain, "big.bin", data),
                    algorithm: lambda s=store: obstore.put(s, "big.bin", data),
                },
                pairs,
            )

        obstore.put(stores["crc64nvme"], "big.bin", data)
        assert obstore.head(plain, "big.bin")["size"] == SIZE

        def read(store: S3Store) -> None:
            assert len(obstore.get(store, "big.bin").bytes()) == SIZE

        h.paired(
            "get 512 MiB",
            {"unverified": lambda: read(unverified), "verified": lambda: read(plain)},
            pairs,
        )

        obstore.put(plain, "small.bin", data[: 1 << 20])
        events: list[object] = []

        async def ranged_gets() -> None:
            gate = asyncio.Semaphore(IN_FLIGHT)

            async def one(i: int) -> None:
                start = (i * RANGE) % ((1 << 20) - RANGE)
                async with gate:
                    await obstore.get_range_async(plain, "small.bin", start=start, length=RANGE)

            await asyncio.gather(*(one(i) for i in range(SMALL_GETS)))

        def gets(hooked: bool) -> None:
            handle = obstore.add_request_hook(events.append) if hooked else None
            try:
                asyncio.run(ranged_gets())
            finally:
                if handle is not None:
                    handle.remove()

        h.paired(
            f"{SMALL_GETS} ranged gets",
            {"no hook": lambda: gets(False), "no-op hook": lambda: gets(True)},
            pairs,
        )
        print(f"hook events delivered: {len(events)}")
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    from tests.servers import start  # on sys.path since start_minio

    workdir = tempfile.mkdtemp(prefix="obstore-integrity-tls-")
    server = start("minio", workdir, tls=True)
    try:
        unsigned, signed = server.store(), server.store(unsigned_payload=False)
        h.paired(
            "https put 512 MiB",
            {
                "signed payload": lambda: obstore.put(signed, "big.bin", data),
                "default (unsigned)": lambda: obstore.put(unsigned, "big.bin", data),
            },
            pairs,
        )
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9)
