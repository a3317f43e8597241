"""Task functions run on Dask workers (a module of its own: workers import it by name)."""

from __future__ import annotations

import hashlib
import os
import random
from typing import Any

import obstore


def payload(i: int) -> bytes:
    """Deterministic test data of varied sizes (empty to 300 kB)."""
    rng = random.Random(i)
    return rng.randbytes(rng.choice([0, 1, 17, 4096, 70_000, 300_000]))


def write_object(store: Any, i: int) -> tuple[str, str, int]:
    path = f"objs/{i:04d}.bin"
    data = payload(i)
    obstore.put(store, path, data)
    return path, hashlib.sha256(data).hexdigest(), os.getpid()


def read_object(store: Any, path: str) -> bytes:
    return bytes(obstore.get(store, path).bytes())


def read_int(store: Any, path: str) -> int:
    return int(bytes(obstore.get(store, path).bytes()))


def fsspec_roundtrip(fs: Any, path: str, data: bytes) -> tuple[int, str, int]:
    fs.pipe_file(path, data)
    back = fs.cat_file(path)
    with fs.open(path, "rb") as f:
        f.seek(len(data) // 2)
        tail = f.read()
    return os.getpid(), hashlib.sha256(back).hexdigest(), len(tail)
