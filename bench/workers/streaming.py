"""Measured code of bench/run.py's stream_* scenarios: ONE large transfer in THIS interpreter.

Started by the runner in a fresh process per transfer, with the interpreter of the
implementation under test (ours or PyPI obstore 0.12.1), so its peak RSS (``VmHWM``) is the
peak of that one transfer (interpreter and import included). One JSON spec as the only
argument; prints one JSON object. Uses only the public API common to both implementations:

- ``put_iter``   ``put(store, key, <generator of 8 MiB buffers>)`` (multipart, default chunk size)
- ``put_file``   ``put(store, key, Path(<source file>))``
- ``writer``     ``open_writer(store, key)`` + ``write()`` of 8 MiB buffers, then close
- ``get_stream`` ``get(store, key).stream()`` iterated, chunks discarded
- ``reader``     ``open_reader(store, key)`` + ``read(8 MiB)`` until EOF

The worker checks the byte count and the stored size (``head``), and deletes what it uploaded.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
import time
from pathlib import Path

from _memory import peak_rss_mib

MiB = 1024**2
PIECE = 8 * MiB


def piece() -> bytes:
    # Pseudo-random, so no layer can compress it; one buffer yielded over and over.
    return os.urandom(PIECE)


def pieces(size: int, buffer: bytes):
    remaining = size
    while remaining > 0:
        n = min(remaining, len(buffer))
        yield buffer if n == len(buffer) else buffer[:n]
        remaining -= n


def _make_store(spec: dict):
    import obstore.store

    if spec["store"] == "local":
        return obstore.store.LocalStore(spec["local_root"])
    kwargs = dict(spec["s3_kwargs"])
    kwargs["client_options"] = {
        **kwargs.get("client_options", {}),
        # the client timeout covers a whole request, body included: one 4 GiB GET takes a while
        "timeout": _dt.timedelta(seconds=spec["timeout"]),
    }
    kwargs["retry_config"] = {"max_retries": 2, "retry_timeout": _dt.timedelta(seconds=30)}
    return obstore.store.S3Store(**kwargs)


def transfer(spec: dict) -> dict:
    import obstore

    store = _make_store(spec)
    size, case = spec["size"], spec["case"]
    buffer = piece()
    baseline = peak_rss_mib()
    moved = 0
    start = time.perf_counter()
    if case == "put_iter":
        obstore.put(store, spec["key"], pieces(size, buffer))
        moved = size
    elif case == "put_file":
        obstore.put(store, spec["key"], Path(spec["source_file"]))
        moved = size
    elif case == "writer":
        writer = obstore.open_writer(store, spec["key"])
        for chunk in pieces(size, buffer):
            writer.write(chunk)
        writer.close()
        moved = size
    elif case == "get_stream":
        for chunk in obstore.get(store, spec["key"]).stream():
            moved += len(chunk)
    elif case == "reader":
        reader = obstore.open_reader(store, spec["key"])
        while True:
            chunk = reader.read(PIECE)
            if not chunk:
                break
            moved += len(chunk)
    else:
        raise ValueError(f"unknown case {case}")
    seconds = time.perf_counter() - start
    peak = peak_rss_mib()
    stored = obstore.head(store, spec["key"])["size"]
    if spec.get("delete_after"):
        obstore.delete(store, spec["key"])
    if moved != size or stored != size:
        raise RuntimeError(f"moved {moved} B, object has {stored} B, expected {size} B")
    return {
        "obstore_version": obstore.__version__,
        "obstore_file": obstore.__file__,
        "bytes": moved,
        "seconds": seconds,
        "gb_per_s": moved / seconds / 1e9,
        "rss_baseline_mib": baseline,
        "rss_peak_mib": peak,
    }


if __name__ == "__main__":
    print(json.dumps(transfer(json.loads(sys.argv[1]))))
