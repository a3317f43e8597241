"""``python -m tests.servers KIND [--workdir DIR]``: start one server for manual debugging.

Prints the endpoint and ``store_kwargs``, then keeps the server running until Ctrl-C
(or SIGTERM), and stops it.
"""

from __future__ import annotations

import argparse
import pprint
import signal
import sys
import tempfile
import time
from pathlib import Path

from . import KINDS, start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.servers", description=__doc__)
    ap.add_argument("kind", choices=KINDS)
    ap.add_argument("--workdir", type=Path, help="data + logs (default: a new temp dir)")
    ap.add_argument("--bucket", default="test-bucket")
    args = ap.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix=f"obstore-{args.kind}-"))
    srv = start(args.kind, workdir, bucket=args.bucket)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        print(f"kind:      {srv.kind}")
        print(f"endpoint:  {srv.endpoint}")
        print(f"pid:       {srv.pid}")
        print(f"bucket:    {srv.bucket!r}")
        print(f"log:       {srv.log_path}")
        print(f"store:     {srv.store_class_name}(**store_kwargs)")
        print("store_kwargs = ", end="")
        pprint.pprint(srv.store_kwargs, sort_dicts=False)
        if srv.extra:
            print("extra = ", end="")
            pprint.pprint(srv.extra, sort_dicts=False)
        print("running; Ctrl-C to stop", flush=True)
        while srv.alive():
            time.sleep(0.5)
        print("server exited on its own; see the log", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        srv.stop()


if __name__ == "__main__":
    sys.exit(main())
