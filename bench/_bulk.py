"""The bulk_* scenarios of bench/run.py: obstore.transfer against s5cmd, rclone and the AWS CLI.

Many small files and a few large ones, moved between a local directory and MinIO by each tool
in turn: upload, download, a no-op sync, a server-side copy of a prefix and its deletion. Every
measurement is one fresh process under GNU time (wall, user+sys CPU and peak RSS of the whole
process, interpreter start-up and imports included, for every tool alike), with MinIO's own CPU
read from /proc around it. The "ceiling" rows are ours' raw request loop from memory (no disk,
no planning): what the server gives any client on this machine.

The command-line peers come from ``bench/install-peers.sh`` (run here when one is missing);
a tool that is still missing, or fails, makes its row "n/a" with the reason. Data and MinIO's
data dir are staged once under ``~/.cache/obstore-bench/bulk``. Stdlib only.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

import _harness as h

MiB = h.MiB
GB = 1e9
ROOT = os.path.join(h.CACHE, "bulk")
PEERS = os.environ.get("OBSTORE_BENCH_PEERS", os.path.join(h.CACHE, "peers"))
INSTALL = os.path.join(h.HERE, "install-peers.sh")
TOOLS = ("ours", "obstore-cli", "s5cmd", "rclone", "aws")
LABEL = {
    "ours": "**ours** (`obstore.transfer`)",
    "obstore-cli": "obstore CLI (`python -m obstore`)",
    "s5cmd": "s5cmd",
    "rclone": "rclone (64 transfers)",
    "aws": "AWS CLI v1",
    "ceiling": "MinIO ceiling (raw loop from memory)",
}
#: the sizes of a run (bench/run.py SETTINGS and SMOKE hold the values)
SETTINGS = {"small_n": 10_000, "small_size": 16 * 1024, "big_n": 8, "big_size": 512 * MiB}
# Environment variables that point TLS at a CA bundle: rclone refuses an http endpoint then.
_CA_VARS = ("AWS_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


# ------------------------------------------------------------------------------------ data
def _stage_files(directory: str, n: int, size: int) -> None:
    """``n`` files of ``size`` random bytes in ``directory``, written once (and kept)."""
    marker = os.path.join(os.path.dirname(directory), os.path.basename(directory) + ".done")
    want = f"{n} {size}"
    if os.path.exists(marker) and open(marker).read() == want:
        return
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    h.log(f"[setup] writing {n:,} files of {size:,} B under {directory}")
    block = os.urandom(min(size, 64 * MiB))
    for i in range(n):
        with open(os.path.join(directory, f"f{i:05d}.bin"), "wb") as f:
            if size <= len(block):
                f.write(os.urandom(size))
                continue
            left, j = size, 0
            while left > 0:  # vary each block so no two blocks are alike
                piece = (i * 1000 + j).to_bytes(8, "little") + block[8 : min(left, len(block))]
                f.write(piece)
                left -= len(piece)
                j += 1
    old = time.time() - 86400  # a day old: a sync to the uploaded objects has nothing to do
    for name in os.listdir(directory):
        os.utime(os.path.join(directory, name), (old, old))
    with open(marker, "w") as f:
        f.write(want)


def _tree(directory: str) -> tuple[int, int]:
    count = size = 0
    for base, _, files in os.walk(directory):
        for name in files:
            count += 1
            size += os.path.getsize(os.path.join(base, name))
    return count, size


def _server_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


# ----------------------------------------------------------------------------------- tools
class Env:
    """MinIO, the staged data, the interpreters and the tools of one run."""

    def __init__(self, ours_py: str, s: dict) -> None:
        self.ours_py = ours_py
        self.s = s
        self.small_dir = os.path.join(ROOT, f"small-{s['small_n']}")
        self.big_dir = os.path.join(ROOT, f"big-{s['big_n']}x{s['big_size'] // MiB}m")
        self.work = tempfile.mkdtemp(prefix="work-", dir=ROOT) if os.path.isdir(ROOT) else None
        self.server = None
        self.s3: dict = {}
        self.missing: dict[str, str] = {}
        self.later: list[dict] = []  # prefixes to delete at the end of the run
        self.rep = 0
        self.versions: dict[str, str] = {}

    # --- set-up ---------------------------------------------------------------------------
    def start(self) -> None:
        os.makedirs(ROOT, exist_ok=True)
        self.work = self.work or tempfile.mkdtemp(prefix="work-", dir=ROOT)
        self.trash = os.path.join(self.work, "trash")
        _stage_files(self.small_dir, self.s["small_n"], self.s["small_size"])
        _stage_files(self.big_dir, self.s["big_n"], self.s["big_size"])
        # one MinIO data dir per size of run, so that a --smoke run leaves the full data be
        tag = f"{self.s['small_n']}-{self.s['big_n']}x{self.s['big_size'] // MiB}m"
        self.server, kw = h.start_minio(os.path.join(ROOT, f"minio-{tag}"))
        self.s3 = {k: v for k, v in kw.items()}
        self.bucket = kw["bucket"]
        self.endpoint = kw["endpoint"]
        self._find_tools()
        self.ours("clean", None)  # what an interrupted run left
        for name, directory in (("small", self.small_dir), ("big", self.big_dir)):
            self._stage_prefix(f"src-{name}/", directory)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.work:
            shutil.rmtree(self.work, ignore_errors=True)

    def _stage_prefix(self, prefix: str, directory: str) -> None:
        count, size = _tree(directory)
        if self.du(prefix) == {"objects": count, "bytes": size}:
            return
        h.log(f"[setup] uploading {directory} to {prefix} with ours (once)")
        self.ours("delete_prefix", {"prefix": prefix})
        out = self.ours("copy", directory + "/", {"prefix": prefix})
        if out.get("failed") or self.du(prefix) != {"objects": count, "bytes": size}:
            raise SystemExit(f"could not stage {prefix}: {out}")

    def _find_tools(self) -> None:
        bin_dir = os.path.join(PEERS, "bin")
        wanted = ("s5cmd", "rclone", "aws")
        if not all(os.access(os.path.join(bin_dir, t), os.X_OK) for t in wanted):
            h.log(f"[setup] {INSTALL}")
            p = subprocess.run(
                ["bash", INSTALL],
                capture_output=True,
                text=True,
                env=dict(os.environ, PYTHON=self.ours_base()),
                timeout=1800,
            )
            if p.stdout.strip() or p.stderr.strip():
                h.log((p.stdout + p.stderr).strip()[-1000:])
        for tool in wanted:
            path = os.path.join(bin_dir, tool)
            if not os.access(path, os.X_OK):
                self.missing[tool] = f"not installed ({INSTALL} could not provide it)"
                continue
            arg = {"s5cmd": "version", "rclone": "version", "aws": "--version"}[tool]
            self.versions[tool] = (h.cmd_version([path, arg]) or "?").strip()
        probe = subprocess.run(
            [self.ours_py, "-c", "import obstore.cli"],
            capture_output=True,
            text=True,
            env=h.worker_env(),
        )
        if probe.returncode != 0:
            self.missing["obstore-cli"] = "no `obstore.cli` module in this build"

    def ours_base(self) -> str:
        try:
            return h.probe(self.ours_py).get("base_executable") or "python3"
        except RuntimeError:
            return "python3"

    # --- ours, unmeasured helpers ---------------------------------------------------------
    def ours(self, op: str, src, dst=None, **extra) -> dict:
        spec = {"op": op, "s3": self.s3, "src": src, "dst": dst, **extra}
        code, res, err = h.run_worker(self.ours_py, "bulk", [json.dumps(spec)], 1800)
        if res is None:
            raise SystemExit(f"bench/workers/bulk.py {op} failed (exit {code}): {err}")
        return res

    def du(self, prefix: str) -> dict:
        return self.ours("du", {"prefix": prefix})["du"]

    # --- the commands of each tool --------------------------------------------------------
    def tool_env(self, tool: str) -> dict:
        env = {k: v for k, v in h.worker_env().items() if k not in _CA_VARS}
        key, secret = self.s3["access_key_id"], self.s3["secret_access_key"]
        if tool in ("s5cmd", "aws", "obstore-cli"):
            env.update(
                AWS_ACCESS_KEY_ID=key,
                AWS_SECRET_ACCESS_KEY=secret,
                AWS_REGION="us-east-1",
                AWS_DEFAULT_REGION="us-east-1",
                AWS_ENDPOINT_URL=self.endpoint,
                AWS_ALLOW_HTTP="true",
                AWS_CONFIG_FILE=os.path.join(self.work or ROOT, "no-aws-config"),
                AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.work or ROOT, "no-aws-creds"),
                AWS_EC2_METADATA_DISABLED="true",
            )
        if tool == "rclone":
            env.update(
                RCLONE_CONFIG=os.path.join(self.work or ROOT, "no-rclone.conf"),
                RCLONE_CONFIG_MINIO_TYPE="s3",
                RCLONE_CONFIG_MINIO_PROVIDER="Minio",
                RCLONE_CONFIG_MINIO_ACCESS_KEY_ID=key,
                RCLONE_CONFIG_MINIO_SECRET_ACCESS_KEY=secret,
                RCLONE_CONFIG_MINIO_ENDPOINT=self.endpoint,
                RCLONE_CONFIG_MINIO_REGION="us-east-1",
            )
        return env

    def command(self, tool: str, op: str, src, dst) -> list[str]:
        """The command line of ``tool`` doing ``op`` (copy, sync, delete) from ``src`` to
        ``dst``: a local directory, or ``{"prefix": ...}`` in the bucket."""
        b = self.bucket

        def s5(x, glob=False):
            if isinstance(x, dict):
                return f"s3://{b}/{x['prefix']}" + ("*" if glob else "")
            return x.rstrip("/") + ("/*" if glob else "/")

        def rc(x):
            return f"minio:{b}/{x['prefix']}".rstrip("/") if isinstance(x, dict) else x

        if tool == "ours":
            spec = {"op": "delete_prefix" if op == "delete" else op, "s3": self.s3}
            spec.update(src=_ours_location(src), dst=_ours_location(dst))
            return [self.ours_py, os.path.join(h.WORKERS, "bulk.py"), json.dumps(spec)]
        if tool == "obstore-cli":
            verb = {"copy": ["cp", "-r"], "sync": ["sync"], "delete": ["rm", "-r"]}[op]
            args = [s5(src)] if op == "delete" else [s5(src), s5(dst)]
            config = [f"endpoint={self.endpoint}", "allow_http=true", "region=us-east-1"]
            flags = [x for c in config for x in ("--config", c)] + ["--quiet"]
            return [self.ours_py, "-m", "obstore", *verb, *args, *flags]
        if tool == "s5cmd":
            base = [os.path.join(PEERS, "bin", "s5cmd"), "--endpoint-url", self.endpoint]
            if op == "delete":
                return [*base, "rm", s5(src, glob=True)]
            verb = "sync" if op == "sync" else "cp"
            return [*base, verb, s5(src, glob=True), s5(dst)]
        if tool == "rclone":
            base = [os.path.join(PEERS, "bin", "rclone")]
            flags = ["--transfers", "64", "--checkers", "64", "--s3-no-check-bucket"]
            if op == "delete":
                return [*base, "delete", rc(src), *flags]
            return [*base, op, rc(src), rc(dst), *flags]
        if tool == "aws":
            base = [os.path.join(PEERS, "bin", "aws"), "--endpoint-url", self.endpoint, "s3"]
            quiet = ["--only-show-errors"] if op != "sync" else []  # sync: a line per transfer
            if op == "delete":
                return [*base, "rm", "--recursive", s5(src), *quiet]
            verb = ["sync"] if op == "sync" else ["cp", "--recursive"]
            return [*base, *verb, s5(src), s5(dst), *quiet]
        raise ValueError(tool)


def _ours_location(x):
    return x if x is None or isinstance(x, dict) else x.rstrip("/") + "/"


# ------------------------------------------------------------------------------ measurement
def measure(cmd: list[str], env: dict, server_pid: int, timeout: float) -> dict:
    """Run ``cmd`` under GNU time: wall, CPU and peak RSS of the process, MinIO's CPU."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as timing:
        fmt = "%e %U %S %M %x"
        cpu0 = _server_cpu(server_pid)
        t0 = time.perf_counter()
        try:
            p = subprocess.run(
                ["/usr/bin/time", "-o", timing.name, "-f", fmt, *cmd],
                capture_output=True,
                text=True,
                env=env,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timeout after {timeout:.0f} s"}
        wall = time.perf_counter() - t0
        server = _server_cpu(server_pid) - cpu0
        fields = (timing.read().strip().splitlines() or ["?"])[-1].split()
    out: dict = {"wall_s": wall, "server_cpu_s": server}
    try:
        out["cpu_s"] = float(fields[1]) + float(fields[2])
        out["peak_rss_mib"] = int(fields[3]) / 1024
    except (IndexError, ValueError):
        pass
    lines = p.stdout.strip().splitlines()
    out["stdout_lines"] = len(lines)
    if p.returncode != 0:
        tail = (p.stderr.strip() or p.stdout.strip()).splitlines()
        out["error"] = f"exit {p.returncode}: {(tail or [''])[-1][:300]}"
    elif lines and lines[-1].startswith("{"):  # ours: the worker's report
        try:
            out["report"] = json.loads(lines[-1])
        except ValueError:
            pass
    return out


# Per scenario: the op, where from and to (per tool), what is checked after, what it moves.
def _plan(sc_name: str, tool: str, env: Env) -> tuple[str, object, object]:
    w = os.path.join(env.work, f"dl-{tool}")
    return {
        "bulk_small_upload": ("copy", env.small_dir, {"prefix": f"up-small-{tool}-{env.rep}/"}),
        "bulk_small_sync": ("sync", env.small_dir, {"prefix": f"up-small-{tool}-{env.rep}/"}),
        "bulk_small_download": ("copy", {"prefix": "src-small/"}, w),
        "bulk_small_copy": ("copy", {"prefix": "src-small/"}, {"prefix": f"copy-{tool}/"}),
        "bulk_small_delete": ("delete", {"prefix": f"copy-{tool}/"}, None),
        "bulk_big_upload": ("copy", env.big_dir, {"prefix": f"up-big-{tool}/"}),
        "bulk_big_download": ("copy", {"prefix": "src-big/"}, w),
    }[sc_name]


def _expect(sc_name: str, s: dict) -> tuple[int, int]:
    if sc_name.startswith("bulk_big"):
        return s["big_n"], s["big_n"] * s["big_size"]
    return s["small_n"], s["small_n"] * s["small_size"]


def _check(sc_name: str, tool: str, env: Env, src, dst, res: dict) -> str | None:
    """What is wrong with the outcome of a row, or None."""
    n, size = _expect(sc_name, env.s)
    report = res.get("report") or {}
    if report.get("failed"):
        return f"{report['failed']} failed: {report.get('first_error')}"
    if sc_name == "bulk_small_sync":
        if tool == "ours" and report.get("transferred"):
            return f"not a no-op: {report['transferred']} transferred"
        if tool in ("s5cmd", "aws") and res.get("stdout_lines"):
            return f"not a no-op: {res['stdout_lines']} lines of transfers"
        return None
    if sc_name == "bulk_small_delete":
        got = env.du(src["prefix"])
        return None if got["objects"] == 0 else f"{got['objects']} objects left"
    if isinstance(dst, dict):
        got = env.du(dst["prefix"])
        got_n, got_size = got["objects"], got["bytes"]
    else:
        got_n, got_size = _tree(dst)
    if (got_n, got_size) != (n, size):
        return f"{got_n} objects / {got_size} B at the destination, expected {n} / {size}"
    return None


def _prepare(sc_name: str, tool: str, env: Env, chosen: set) -> None:
    """Unmeasured: the state a row needs when the row that makes it did not run."""
    if sc_name == "bulk_small_sync" and "bulk_small_upload" not in chosen:
        if env.du(f"up-small-{tool}-{env.rep}/")["objects"] != env.s["small_n"]:
            env.ours("copy", env.small_dir + "/", {"prefix": f"up-small-{tool}-{env.rep}/"})
    if sc_name == "bulk_small_delete" and "bulk_small_copy" not in chosen:
        env.ours("copy", {"prefix": "src-small/"}, {"prefix": f"copy-{tool}/"})


def _cleanup(sc_name: str, tool: str, env: Env, src, dst, chosen: set) -> None:
    """Unmeasured: leave nothing a later row could trip on. Many files and objects are only
    set aside here and removed at the end of the run (see ``_settle``)."""
    big = sc_name.startswith("bulk_big")  # a few files: removed at once, to spare the disk
    if isinstance(dst, str):
        if big or not os.path.exists(dst):
            shutil.rmtree(dst, ignore_errors=True)
        else:
            os.replace(dst, os.path.join(env.trash, f"{os.path.basename(dst)}-{time.time_ns()}"))
        return
    if big and dst is not None:
        env.ours("delete_prefix", dst)
        h.empty_minio_trash(env.server)
        return
    if sc_name == "bulk_small_upload" and "bulk_small_sync" in chosen:
        return  # the sync row runs against it
    if sc_name == "bulk_small_copy" and "bulk_small_delete" in chosen:
        return  # the delete row removes it
    if sc_name == "bulk_small_delete" and isinstance(src, dict):
        env.later.append(src)  # what a failed delete left
    elif dst is not None:
        env.later.append(dst)


def _settle(env: Env) -> None:
    """Remove what the run set aside, then let the filesystem settle.

    ext4 without a journal (this machine's) skips, when it allocates an inode, every inode
    freed in the last 5 seconds (300 while its inode table block is dirty), looking each one
    up: creating 10,000 files soon after deleting 10,000 costs several times its CPU. So the
    clean-up of many files waits for the end of the run, and a row never runs in the wake of
    another's clean-up; only the delete rows themselves free many inodes, last in their
    repetition. Each scenario starts after a writeback and a pause.
    """
    for prefix in env.later:
        env.ours("delete_prefix", prefix)
    env.later.clear()
    h.empty_minio_trash(env.server)
    shutil.rmtree(env.trash, ignore_errors=True)
    os.makedirs(env.trash)
    _pause()


def _pause() -> None:
    os.sync()
    time.sleep(6)


def _ceiling(sc_name: str, env: Env) -> dict:
    """The raw loop of the row, from memory: 64 requests in flight (16 MiB parts)."""
    n, _ = _expect(sc_name, env.s)
    size = env.s["big_size"] if sc_name.startswith("bulk_big") else env.s["small_size"]
    up = sc_name.endswith("upload")
    spec = {
        "op": "raw_put" if up else "raw_get",
        "s3": env.s3,
        "prefix": f"raw-{time.time_ns()}/" if up else f"src-{sc_name.split('_')[1]}/f",
        "suffix": "" if up else ".bin",
        "count": n,
        "size": size,
        "concurrency": 64 if size <= 16 * MiB else 16,
        "part_size": 16 * MiB,
    }
    cmd = [env.ours_py, os.path.join(h.WORKERS, "bulk.py"), json.dumps(spec)]
    res = measure(cmd, h.worker_env(), env.server.pid, 900)
    if up:
        env.later.append({"prefix": spec["prefix"]})
    return res


CEILING_ROWS = ("bulk_small_upload", "bulk_small_download", "bulk_big_upload", "bulk_big_download")


def run(scenarios: list, ours_py: str, s: dict, reps: int) -> dict:
    """Every chosen row ``reps`` times, interleaved: in each repetition every scenario runs
    once per tool, the order of the tools reversing between repetitions."""
    env = Env(ours_py, {k: s[k] for k in SETTINGS})
    samples: dict = {}
    names = [sc.name for sc in scenarios]
    chosen = set(names)
    try:
        env.start()
        _settle(env)
        la0 = h.loadavg()
        for rep in range(1, reps + 1):
            env.rep = rep
            for number, name in enumerate(names):
                if number:
                    _pause()  # the rows of the last scenario freed inodes too (MinIO's tmp)
                tools = [t for t in TOOLS if t not in env.missing]
                if name in CEILING_ROWS:
                    tools.append("ceiling")
                for tool in tools if (rep + number) % 2 else tools[::-1]:
                    os.sync()  # no row pays for the writeback of an earlier one
                    if tool == "ceiling":
                        res = _ceiling(name, env)
                    else:
                        _prepare(name, tool, env, chosen)
                        op, src, dst = _plan(name, tool, env)
                        if name.startswith("bulk_big") and isinstance(src, str):
                            h.warm_page_cache([os.path.join(src, f) for f in os.listdir(src)])
                        cmd = env.command(tool, op, src, dst)
                        res = measure(cmd, env.tool_env(tool), env.server.pid, 1800)
                        if "error" not in res:
                            problem = _check(name, tool, env, src, dst, res)
                            if problem:
                                res["error"] = problem
                        _cleanup(name, tool, env, src, dst, chosen)
                    res["rep"] = rep
                    _log(rep, name, tool, res)
                    samples.setdefault(name, {}).setdefault(tool, []).append(res)
            for tool in TOOLS:  # the uploads the sync rows used
                if "bulk_small_sync" in chosen and tool not in env.missing:
                    env.later.append({"prefix": f"up-small-{tool}-{rep}/"})
        _settle(env)
        la1 = h.loadavg()
    finally:
        env.stop()
    return {
        "samples": samples,
        "missing": env.missing,
        "versions": env.versions,
        "settings": env.s,
        "loadavg_before": la0 if "la0" in locals() else None,
        "loadavg_after": la1 if "la1" in locals() else None,
    }


def _log(rep: int, name: str, tool: str, res: dict) -> None:
    if "error" in res:
        h.log(f"[rep {rep}] {name:20s} {tool:11s} ERROR {res['error'][:200]}")
        return
    h.log(
        f"[rep {rep}] {name:20s} {tool:11s} {res['wall_s']:7.2f} s"
        f"  CPU {res.get('cpu_s', 0):6.2f} s  rss {res.get('peak_rss_mib', 0):6.0f} MiB"
        f"  MinIO CPU {res['server_cpu_s']:6.2f} s"
    )


# ---------------------------------------------------------------------------------- report
def _med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(raw: dict) -> dict:
    """-> {scenario: {tool: row}}: medians and min-max of the good samples."""
    out: dict = {}
    for name, by_tool in raw["samples"].items():
        n, size = _expect(name, raw["settings"])
        for tool, rs in by_tool.items():
            ok = [r for r in rs if "error" not in r]
            walls = [r["wall_s"] for r in ok]
            row = {
                "n": len(ok),
                "errors": [r["error"] for r in rs if "error" in r],
                "wall_s": _med(walls),
                "wall_min": min(walls) if walls else None,
                "wall_max": max(walls) if walls else None,
                "cpu_s": _med([r.get("cpu_s") for r in ok]),
                "peak_rss_mib": _med([r.get("peak_rss_mib") for r in ok]),
                "server_cpu_s": _med([r.get("server_cpu_s") for r in ok]),
                "call_s": _med([(r.get("report") or {}).get("call_s") for r in ok]),
            }
            if row["wall_s"]:
                row["objects_per_s"] = n / row["wall_s"]
                row["gb_per_s"] = size / GB / row["wall_s"]
                row["cpu_s_per_gb"] = row["cpu_s"] / (size / GB) if row["cpu_s"] else None
            out.setdefault(name, {})[tool] = row
    return out


TITLES = {
    "bulk_small_upload": "upload {small_n:,} files of {small_kib} KiB (local dir -> MinIO prefix)",
    "bulk_small_download": "download {small_n:,} objects of {small_kib} KiB (-> a fresh dir)",
    "bulk_small_sync": "no-op sync of the {small_n:,} files to the prefix the tool uploaded",
    "bulk_small_copy": "server-side copy of a {small_n:,}-object prefix",
    "bulk_small_delete": "delete that {small_n:,}-object prefix",
    "bulk_big_upload": "upload {big_n} files of {big_mib} MiB",
    "bulk_big_download": "download {big_n} objects of {big_mib} MiB to files",
}


def _fmt(x, spec=".2f"):
    return "n/a" if x is None else format(x, spec)


def _targets(summary: dict) -> list:
    def rate(sc, tool, field):
        return ((summary.get(sc) or {}).get(tool) or {}).get(field)

    rows = []

    def ratio(sc, peer, field, want, label):
        a, b = rate(sc, "ours", field), rate(sc, peer, field)
        if a is None or b is None:
            rows.append((label, "n/a", "a row is missing"))
            return
        r = a / b if field not in ("wall_s", "cpu_s_per_gb") else b / a
        ok = r >= want
        rows.append((label, "**MET**" if ok else "**MISSED**", f"{r:.2f}x (want ≥ {want}x)"))

    for sc in ("bulk_small_upload", "bulk_small_download"):
        if sc in summary:
            ratio(sc, "s5cmd", "objects_per_s", 1.5, f"{sc}: objects/s ≥ 1.5x s5cmd")
            ratio(sc, "rclone", "objects_per_s", 3, f"{sc}: objects/s ≥ 3x rclone")
            ratio(sc, "aws", "objects_per_s", 5, f"{sc}: objects/s ≥ 5x AWS CLI")
    for sc in ("bulk_big_upload", "bulk_big_download"):
        if sc in summary:
            ratio(sc, "s5cmd", "gb_per_s", 1.0, f"{sc}: GB/s ≥ s5cmd")
    if "bulk_small_sync" in summary:
        ratio("bulk_small_sync", "s5cmd", "wall_s", 1.0, "bulk_small_sync: as fast as s5cmd")
    for sc in summary:
        if sc not in ("bulk_small_sync", "bulk_small_delete"):
            ratio(sc, "s5cmd", "cpu_s_per_gb", 1.0, f"{sc}: CPU/GB ≤ s5cmd (ratio s5cmd/ours)")
    return rows


def render(result: dict, scenarios: list) -> str:
    raw, summary = result["raw"], result["summary"]
    s = raw["settings"]
    fmt = {
        "small_n": s["small_n"],
        "small_kib": s["small_size"] // 1024,
        "big_n": s["big_n"],
        "big_mib": s["big_size"] // MiB,
    }
    lines = ["## Bulk transfers: obstore.transfer against s5cmd, rclone and the AWS CLI", ""]
    lines.append(
        f"- loadavg before {raw.get('loadavg_before')}, after {raw.get('loadavg_after')}; "
        f"tools: {', '.join(f'{k} {v}' for k, v in raw['versions'].items()) or 'none'}"
    )
    for tool, why in raw["missing"].items():
        lines.append(f"- {LABEL.get(tool, tool)}: n/a, {why}")
    lines += [
        "- each value: median of the repetitions (min–max of wall seconds beside it); one fresh "
        "process per row under GNU time: wall, CPU (user+sys) and peak RSS of the whole process, "
        "start-up included; MinIO CPU = the server's user+sys during the row; GB = 10⁹ B",
        "",
        "### Targets",
        "",
        "| target | status | evidence |",
        "|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in _targets(summary)]
    for sc in scenarios:
        rows = summary.get(sc.name)
        if not rows:
            continue
        lines += ["", f"### `{sc.name}`: {TITLES[sc.name].format(**fmt)}", ""]
        big = sc.name.startswith("bulk_big")
        lines.append(
            "| tool | wall s (min–max) | "
            + ("GB/s" if big else "objects/s")
            + " | CPU s | CPU s/GB | peak RSS MiB | MinIO CPU s | vs s5cmd | errors |"
        )
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        s5 = rows.get("s5cmd") or {}
        for tool in (*TOOLS, "ceiling"):
            if tool not in rows:
                if tool in raw["missing"]:
                    lines.append(f"| {LABEL[tool]} | n/a | | | | | | | {raw['missing'][tool]} |")
                continue
            r = rows[tool]
            rate = r.get("gb_per_s" if big else "objects_per_s")
            vs = (s5["wall_s"] / r["wall_s"]) if r.get("wall_s") and s5.get("wall_s") else None
            lines.append(
                f"| {LABEL[tool]} | {_fmt(r['wall_s'])} ({_fmt(r['wall_min'])}–"
                f"{_fmt(r['wall_max'])}) | {_fmt(rate, '.2f' if big else ',.0f')} | "
                f"{_fmt(r['cpu_s'])} | {_fmt(r.get('cpu_s_per_gb'), '.1f')} | "
                f"{_fmt(r['peak_rss_mib'], '.0f')} | {_fmt(r['server_cpu_s'])} | "
                f"{_fmt(vs)}x | {'; '.join(e[:120] for e in r['errors']) or 0} |"
            )
    return "\n".join(lines) + "\n"
