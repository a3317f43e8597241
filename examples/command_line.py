"""The ``obstore`` command line on an embedded default: a local directory synced into a
``file://`` "bucket" and back, with the progress bar (on a terminal) and the report on stderr."""

import filecmp
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path


def obstore(*args: str) -> str:
    """Show and run ``obstore ARGS`` (as ``python -m obstore``: the same command), its stdout
    printed and returned; stderr (progress bar, report) goes straight to the terminal."""
    print(f"$ obstore {shlex.join(args)}", flush=True)
    result = subprocess.run(
        [sys.executable, "-m", "obstore", *args], stdout=subprocess.PIPE, text=True, check=True
    )
    print(result.stdout, end="", flush=True)
    return result.stdout


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        os.chdir(directory)
        data = Path("data")
        (data / "logs").mkdir(parents=True)
        (data / "hello.txt").write_text("hello, object storage\n")
        for day in range(1, 8):
            (data / "logs" / f"2026-12-0{day}.log").write_text(f"day {day}\n" * 1000)
        (data / "big.bin").write_bytes(os.urandom(48 * 1024 * 1024))
        bucket = Path("bucket").absolute().as_uri() + "/"

        obstore("sync", "data/", f"{bucket}data/")  # the first run moves everything
        obstore("ls", "-l", f"{bucket}data/")
        obstore("du", "-s", "-h", bucket)

        (data / "hello.txt").write_text("hello again, only this file changed\n")
        (data / "logs" / "2026-12-01.log").unlink()
        obstore("sync", "--delete", "--dry-run", "data/", f"{bucket}data/")
        obstore("sync", "--delete", "data/", f"{bucket}data/")  # one upload, one delete

        obstore("sync", f"{bucket}data/", "restored/")  # and back
        obstore("cat", f"{bucket}data/hello.txt")
        same = not filecmp.dircmp("data", "restored").diff_files
        count = sum(1 for path in Path("restored").rglob("*") if path.is_file())
        print(f"restored/ holds the same {count} files as data/: {same}")


if __name__ == "__main__":
    main()
