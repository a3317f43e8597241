"""The fuzz worker: a process of its own that runs cases one by one and answers how each ended.

Started by `tests.fuzz.runner.Worker`, it reads length-prefixed pickled cases on stdin and writes
length-prefixed pickled outcomes on the file descriptor given by ``--answers``; a process abort
or a hang is seen by the runner as the pipe closing or staying silent. With ``--isolate`` it first
moves into a network namespace of its own with only loopback up, before any thread exists (the
library's runtime threads inherit it), so no generated host can be reached.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import os
import pickle
import resource
import socket
import struct
import sys
from typing import Any, BinaryIO

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

#: Environment variables the worker never inherits: credentials, endpoints and proxies of the
#: machine would change what a case does, or where it goes.
DROPPED_ENV_PREFIXES = ("AWS_", "GOOGLE_", "AZURE_", "AZURITE_", "OBSTORE_")
DROPPED_ENV = {
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "GOOGLE_APPLICATION_CREDENTIALS",
}


def isolate() -> str:
    """Moves this process into a new network namespace and brings its loopback up; "" on success,
    else why not. Not root: in a new user namespace too (where this user may do that), mapping
    the user to itself so that files keep their owner."""
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNET if os.geteuid() == 0 else CLONE_NEWNET | CLONE_NEWUSER
    if libc.unshare(flags) != 0:
        return f"unshare(CLONE_NEWNET) failed: {os.strerror(ctypes.get_errno())}"
    if flags & CLONE_NEWUSER:
        for name, text in (
            ("setgroups", "deny"),
            ("uid_map", f"{uid} {uid} 1"),
            ("gid_map", f"{gid} {gid} 1"),
        ):
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(text)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))
    return ""


def interfaces() -> list[str]:
    return sorted(name for _, name in socket.if_nameindex())


def prepare_environment(port: int, sandbox: str) -> None:
    for name in list(os.environ):
        if name.startswith(DROPPED_ENV_PREFIXES) or name.upper() in DROPPED_ENV:
            del os.environ[name]
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    # AzureStore(use_emulator=True) talks to this URL: the live server.
    os.environ["AZURITE_BLOB_STORAGE_URL"] = f"http://127.0.0.1:{port}"
    os.environ["RUST_BACKTRACE"] = "0"  # backtraces cost a lot per panic; a reproducer re-runs
    os.environ["HOME"] = sandbox
    os.chdir(sandbox)
    # A crash must not leave a core file; an allocation the fuzzer did not foresee must fail, not
    # take the memory of a machine shared with others.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    limit = 8 * 1024**3
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def send(stream: BinaryIO, message: Any) -> None:
    data = pickle.dumps(message)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def receive(stream: BinaryIO) -> Any:
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError
    (size,) = struct.unpack("<Q", header)
    return pickle.loads(stream.read(size))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sandbox", required=True)
    parser.add_argument("--hosts", choices=["loopback", "any"], required=True)
    parser.add_argument("--isolate", action="store_true")
    parser.add_argument("--answers", type=int, required=True)
    options = parser.parse_args()
    answers = os.fdopen(options.answers, "wb")
    not_isolated = isolate() if options.isolate else "not asked"
    prepare_environment(options.port, options.sandbox)

    from . import server
    from .execute import execute

    server.serve(options.port)
    import obstore  # noqa: F401  (loaded before the first case, so its cost is not a case's)

    local_root = os.path.join(options.sandbox, "local")
    send(
        answers, {"isolated": not not_isolated, "why_not": not_isolated, "interfaces": interfaces()}
    )
    cases = sys.stdin.buffer
    while True:
        try:
            case = receive(cases)
        except EOFError:
            return
        outcome = execute(case, options.hosts, options.port, local_root)
        sys.stderr.flush()
        send(answers, outcome)


if __name__ == "__main__":
    main()
