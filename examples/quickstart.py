"""The main job on an embedded default: write, read, list and stream objects (local and memory)."""

import asyncio
import tempfile

import obstore as obs
from obstore.store import LocalStore, MemoryStore


def tour(store: object, name: str) -> None:
    obs.put(store, "data/hello.txt", b"hello, object storage")
    obs.put(store, "data/big.bin", bytes(range(256)) * 40_000)  # 10 MB
    print(f"{name}: wrote 2 objects")
    print(f"  get       -> {obs.get(store, 'data/hello.txt').bytes().to_bytes()!r}")
    print(f"  get_range -> {obs.get_range(store, 'data/hello.txt', start=7, end=13).to_bytes()!r}")
    chunks = [len(c) for c in obs.get(store, "data/big.bin").stream(min_chunk_size=4 * 1024 * 1024)]
    print(f"  streamed big.bin in {len(chunks)} chunks: {chunks}")
    listing = obs.list(store, "data").collect()
    print(f"  list      -> {sorted((m['path'], m['size']) for m in listing)}")


async def tour_async(store: MemoryStore) -> None:
    await asyncio.gather(*(obs.put_async(store, f"many/{i}", b"x" * i) for i in range(1000)))
    results = await asyncio.gather(*(obs.get_async(store, f"many/{i}") for i in range(1000)))
    bodies = await asyncio.gather(*(r.bytes_async() for r in results))
    total = sum(len(body) for body in bodies)
    print(f"async: 1000 puts and 1000 gets, {total} bytes read back")


def main() -> None:
    tour(MemoryStore(), "MemoryStore")
    with tempfile.TemporaryDirectory() as directory:
        tour(LocalStore(directory), f"LocalStore({directory})")
    asyncio.run(tour_async(MemoryStore()))


if __name__ == "__main__":
    main()
