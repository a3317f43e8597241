"""The extension's allocator (mimalloc) settings: what they are, that the user's environment wins,
and what the purge delay buys: a buffer freed and allocated again is not faulted in again."""

import json
import os
import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import json, os, resource, sys, tempfile
    import obstore
    from obstore.store import LocalStore

    with tempfile.TemporaryDirectory() as directory:
        with open(os.path.join(directory, "x"), "wb") as f:
            f.write(os.urandom(8 << 20))
        store = LocalStore(directory)
        for _ in range(5):
            assert len(obstore.get(store, "x").bytes()) == 8 << 20
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(25):
            assert len(obstore.get(store, "x").bytes()) == 8 << 20
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    print(json.dumps({"settings": obstore._obstore._allocator_settings(), "faults": faults}))
    """
)

PAGES_PER_READ = (8 << 20) // 4096


def probe(**environment: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("MIMALLOC_")}
    env.update(environment)
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_defaults_keep_freed_memory_for_reuse_and_no_huge_pages():
    out = probe()
    assert out["settings"] == {"purge_delay_ms": 1000, "allow_thp": False}
    # 25 reads of 8 MiB into fresh buffers: the memory of one read serves the next. Returning it
    # to the OS at once (the old setting) faults every page in again: 2,048 faults per read.
    assert out["faults"] < 2 * PAGES_PER_READ, out


def test_the_environment_wins():
    out = probe(MIMALLOC_PURGE_DELAY="0")
    assert out["settings"] == {"purge_delay_ms": 0, "allow_thp": False}
    # Freed memory goes back at once, so every read faults its buffer in again.
    assert out["faults"] >= 20 * PAGES_PER_READ, out
    assert probe(MIMALLOC_ALLOW_THP="1")["settings"] == {"purge_delay_ms": 1000, "allow_thp": True}
