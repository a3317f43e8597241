"""The command on a terminal and in pipes: a progress bar on stderr only when it is a terminal,
Ctrl-C ending the command at once with status 130, a closed output pipe ending ``cat`` quietly,
and the built-in bar used when tqdm is not installed."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from obstore.cli._output import StderrBar
from obstore.progress import Progress
from tests.conftest import sigint_as_in_a_terminal
from tests.transfer.conftest import MIB, local_tree, write_tree

from .conftest import base_env, lines, ok, run_cli

FILES = {f"d/{i}.bin": bytes([i]) * (100_000 + i) for i in range(6)}


def run_on_terminal(*args: str, columns: int = 120) -> tuple[int, bytes, str]:
    """Run ``obstore ARGS`` with stderr on a pseudo-terminal of ``columns`` (0: of unknown
    size, as under script(1)): status, stdout, terminal text."""
    leader, follower = pty.openpty()
    rows = 24 if columns else 0
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "obstore", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        env=base_env(),
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert process.stdout is not None
    out = process.stdout.read()
    # (the terminal turns each "\n" into "\r\n": undone, so "\r" is the bar's own)
    return process.wait(timeout=60), out, seen.replace(b"\r\n", b"\n").decode(errors="replace")


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", FILES)
    status, out, terminal = run_on_terminal("cp", "-r", str(source), str(tmp_path / "t1"))
    assert (status, out) == (0, b"")
    assert "\r" in terminal and f"{len(FILES)}/{len(FILES)} objects" in terminal
    assert "cp: 6 transferred" in terminal.splitlines()[-1]
    assert local_tree(tmp_path / "t1") == local_tree(source)

    # a terminal that does not say its size gets a bar of 80 columns
    status, _, terminal = run_on_terminal("cp", "-r", str(source), str(tmp_path / "t0"), columns=0)
    assert status == 0 and f"{len(FILES)}/{len(FILES)} objects" in terminal

    # --no-progress and -q: no bar (and -q no report) even on a terminal
    status, _, terminal = run_on_terminal(
        "cp", "-r", "--no-progress", str(source), str(tmp_path / "t2")
    )
    assert status == 0 and "\r" not in terminal and "objects" not in terminal
    status, _, terminal = run_on_terminal("cp", "-r", "-q", str(source), str(tmp_path / "t3"))
    assert (status, terminal) == (0, "")

    # piped: the report line alone
    piped = ok(run_cli("cp", "-r", str(source), str(tmp_path / "t4")))
    assert len(lines(piped.stderr)) == 1 and b"\r" not in piped.stderr
    assert lines(piped.stderr)[0].startswith("cp: 6 transferred")


def test_builtin_bar_shows_bytes_objects_rate_and_time_left() -> None:
    out = io.StringIO()
    bar = StderrBar(out, "sync")
    bar(Progress(bytes_done=3 * MIB, objects_done=1))  # totals not known yet
    bar.start -= 2.0  # as if two seconds had passed
    bar(Progress(bytes_done=4 * MIB, bytes_total=8 * MIB, objects_done=2, objects_total=5))
    bar(Progress(8 * MIB, 8 * MIB, 5, 5, done=True))
    bar(Progress(8 * MIB, 8 * MIB, 5, 5, done=True))  # after the end: nothing
    first, second, final = out.getvalue().split("\r")[1:]
    assert "3.0 MiB" in first and "1/? objects" in first and "%" not in first
    assert "50%" in second and "4.0 MiB / 8.0 MiB" in second and "2/5 objects" in second
    assert "MiB/s" in second and "ETA 0:0" in second and second.startswith("[")
    assert "100%" in final and "5/5 objects" in final and final.endswith("\n")
    assert "ETA" not in final


def _cat_of_random_bytes(tmp_path: Path, size: int) -> subprocess.Popen[bytes]:
    """``obstore cat`` of a local file of ``size`` random bytes, its output and errors piped."""
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(size))
    process = subprocess.Popen(
        [sys.executable, "-m", "obstore", "cat", str(big)],
        preexec_fn=sigint_as_in_a_terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=base_env(),
    )
    return process


def test_ctrl_c_exits_130_at_once_without_a_traceback(tmp_path: Path) -> None:
    process = _cat_of_random_bytes(tmp_path, 8 * MIB)
    assert process.stdout is not None and process.stderr is not None
    # wait until it writes, then let the unread pipe fill up and block it
    ready, _, _ = select.select([process.stdout], [], [], 60)
    assert ready
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    status = process.wait(timeout=20)
    assert status == 130
    assert time.monotonic() - started < 5
    err = process.stderr.read().decode()
    assert "Traceback" not in err and err.strip() == "obstore: interrupted"


def test_closed_output_pipe_ends_cat_quietly(tmp_path: Path) -> None:
    process = _cat_of_random_bytes(tmp_path, 4 * MIB)
    assert process.stdout is not None and process.stderr is not None
    assert len(process.stdout.read(10)) == 10
    process.stdout.close()  # like `obstore cat URL | head -c 10`
    assert process.wait(timeout=30) == 141
    assert process.stderr.read() == b""
