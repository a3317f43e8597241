"""The fuzz runner: drives Hypothesis over every target, sends each case to a worker process, and
collects what went wrong into findings with a minimal reproducer each.

A case fails when it raises a `BaseException` that is not an `Exception` (pyo3's
``PanicException`` is one), when the worker process dies (a crash: an abort, a signal), or when it
does not answer within the per-input timeout (a hang). Each distinct failure is one finding;
Hypothesis shrinks it to a small input, and the smallest input seen that fails the same way is
its reproducer. Once reported, a finding no longer fails the search, so the run goes on looking
for new ones until its time is up.
"""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed

from .cases import SELFTEST_TARGETS, TARGETS, Case, Context, all_config_keys
from .execute import reproducer
from .values import Reach
from .worker import receive, send

REPO = Path(__file__).resolve().parents[2]
FAILURE_KINDS = ("panic", "base_exception", "crash", "hang")
#: A Rust panic the library caught at its boundary and raised as an Exception: not a failure by
#: the issue's definition (nothing but an Exception reached Python), but a value that was not
#: validated where it entered. Shrunk and reported like the failures.
CAUGHT = "caught_panic"


def isolation_available() -> bool:
    """Whether a worker can make a loopback-only network namespace here (as root, or in a user
    namespace of its own where the kernel allows that): tried in a process that then exits."""
    probe = "from tests.fuzz.worker import isolate; raise SystemExit(1 if isolate() else 0)"
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


# --------------------------------------------------------------------------------------------------
# The worker process


class WorkerDied(Exception):
    """The worker process ended while running a case."""


class WorkerHung(Exception):
    """The worker process did not answer within the timeout."""


class Worker:
    """One worker process; started again after each crash or hang."""

    def __init__(self, port: int, sandbox: Path, hosts: str, isolate: bool) -> None:
        self.port = port
        self.sandbox = sandbox
        self.hosts = hosts
        self.isolate = isolate
        self.stderr_path = sandbox / "worker-stderr.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.hello: dict[str, Any] = {}
        self.starts = 0

    def start(self) -> None:
        read_fd, write_fd = os.pipe()
        command = [sys.executable, "-m", "tests.fuzz.worker", "--port", str(self.port)]
        command += [
            "--sandbox",
            str(self.sandbox),
            "--hosts",
            self.hosts,
            "--answers",
            str(write_fd),
        ]
        if self.isolate:
            command.append("--isolate")
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
        )
        self._stderr = open(self.stderr_path, "ab")  # noqa: SIM115 (lives as long as the worker)
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=self._stderr,
            stderr=self._stderr,
            pass_fds=(write_fd,),
            env=env,
            cwd=self.sandbox,
            start_new_session=True,  # Ctrl-C reaches the runner only
        )
        os.close(write_fd)
        self.answers = os.fdopen(read_fd, "rb")
        self.starts += 1
        self.hello = self._wait(60.0)
        # Checked at every start (a worker is started again after each crash or hang).
        isolated = bool(self.hello.get("isolated")) and self.hello.get("interfaces") == ["lo"]
        if self.isolate and not isolated:
            self.stop()
            raise RuntimeError(f"the worker's network namespace is not loopback only: {self.hello}")
        if self.hosts == "any" and not isolated:
            self.stop()
            raise RuntimeError(
                "hosts=any needs a loopback-only network namespace, and the worker could not make "
                f"one ({self.hello.get('why_not')}); run with hosts=loopback instead"
            )

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.answers.close()
        if self.process.stdin is not None:
            self.process.stdin.close()
        self._stderr.close()
        self.process = None

    def stderr_size(self) -> int:
        return self.stderr_path.stat().st_size if self.stderr_path.exists() else 0

    def stderr_since(self, offset: int) -> str:
        with open(self.stderr_path, "rb") as handle:
            handle.seek(offset)
            return handle.read(64 * 1024).decode("utf-8", "replace")

    def run(self, case: Case, timeout: float) -> dict[str, Any]:
        """The outcome of `case`; raises `WorkerDied` or `WorkerHung` (the worker is then gone)."""
        if self.process is None:
            self.start()
        assert self.process is not None and self.process.stdin is not None
        try:
            send(self.process.stdin, case)  # type: ignore[arg-type]
        except BrokenPipeError:
            pass
        return self._wait(timeout)  # type: ignore[no-any-return]

    def _wait(self, timeout: float) -> Any:
        assert self.process is not None
        ready, _, _ = select.select([self.answers], [], [], timeout)
        if not ready:
            self.stop()
            raise WorkerHung
        try:
            return receive(self.answers)  # type: ignore[arg-type]
        except (EOFError, OSError) as error:
            code = self.process.wait()
            self.stop()
            raise WorkerDied(code) from error


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------------------------------
# Findings


@dataclass
class Finding:
    """One distinct failure: the first message, how often it was met, the smallest input."""

    kind: str
    target: str
    signature: tuple[str, ...]
    message: str
    location: str
    #: the Rust panic message, when there was a panic
    panic: str = ""
    count: int = 0
    case: Case | None = None
    size: int = 1 << 60
    stderr: str = ""

    def offer(self, case: Case, stderr: str) -> None:
        self.count += 1
        size = len(reproducer(case))
        if size < self.size:
            self.case, self.size, self.stderr = case, size, stderr


@dataclass
class Report:
    """What a run tried and found."""

    hosts: str
    isolated: bool
    seconds: float = 0.0
    tried: Counter[str] = field(default_factory=Counter)
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    exception_types: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    keys: dict[str, Counter[str]] = field(default_factory=dict)
    findings: dict[tuple[str, ...], Finding] = field(default_factory=dict)
    harness_errors: list[str] = field(default_factory=list)
    worker_starts: int = 0

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings.values() if f.kind in FAILURE_KINDS]

    @property
    def caught(self) -> list[Finding]:
        return [f for f in self.findings.values() if f.kind == CAUGHT]

    @property
    def total(self) -> int:
        return sum(self.tried.values())

    def format(self, full: bool = True) -> str:
        """The summary printed at the end of a run."""
        lines = [
            f"fuzz run: {self.total} inputs in {self.seconds:.0f} s, hosts={self.hosts}, "
            f"network namespace={'yes (loopback only)' if self.isolated else 'no'}, "
            f"worker processes started: {self.worker_starts}",
            "",
            "inputs tried per target (outcomes):",
        ]
        for target, count in self.tried.most_common():
            outcome = ", ".join(
                f"{k} {v}" for k, v in self.outcomes.get(target, Counter()).most_common()
            )
            lines.append(f"  {target:<20} {count:>8}   {outcome}")
        if self.skipped:
            lines.append("")
            lines.append(
                "operations not run (the built store could reach a host outside loopback):"
            )
            lines += [f"  {count:>6}  {why}" for why, count in self.skipped.most_common(8)]
        if full:
            lines.append("")
            lines.append("exceptions raised (an Exception is the right answer to a bad input):")
            lines += [
                f"  {count:>8}  {name}" for name, count in self.exception_types.most_common(12)
            ]
            lines.append("")
            lines.append("configuration keys exercised:")
            for place, known in all_config_keys().items():
                seen = self.keys.get(place, Counter())
                if not seen:
                    continue
                missing = sorted(set(known) - set(seen))
                lines.append(
                    f"  {place:<16} {len(set(known) & set(seen))}/{len(known)} keys, "
                    f"{sum(seen.values())} uses"
                    + (f"; never: {', '.join(missing)}" if missing else "")
                )
        failures = self.failures
        counts = Counter(kind for kind, *_ in {(f.kind, *f.signature[3:]) for f in failures})
        lines.append("")
        lines.append(
            "FAILURES (a BaseException that is not an Exception, a crash, a hang): "
            f"{_distinct(failures)} distinct "
            f"({', '.join(f'{counts[k]} {k}' for k in FAILURE_KINDS)})"
        )
        lines += _listing(failures, 1)
        caught = self.caught
        lines.append("")
        lines.append(
            "RUST PANICS CAUGHT AT THE BOUNDARY (raised as an Exception, so not failures, but "
            f"each a value not validated where it entered): {_distinct(caught)} distinct"
        )
        lines += _listing(caught, len(failures) + 1)
        if self.harness_errors:
            lines.append("")
            lines.append(f"harness errors ({len(self.harness_errors)}):")
            lines += ["  " + e for e in self.harness_errors[:5]]
        return "\n".join(lines)


def _subject(case: Case) -> str:
    """What a finding is about: the class built (a store or Bytes), else the target."""
    factory = case.build.factory.partition(".")[0]
    return case.target if case.selftest or factory == "from_url" else factory


def _listing(findings: list[Finding], first: int) -> list[str]:
    """One entry per distinct failure (same kind, same panic site and message), whatever the
    store and target: where it was met, and the smallest reproducer for each store class."""
    groups: dict[tuple[str, ...], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.kind, *finding.signature[3:]), []).append(finding)
    lines: list[str] = []
    ordered = sorted(groups.values(), key=lambda g: (g[0].kind, g[0].location, g[0].panic))
    for number, group in enumerate(ordered, first):
        head = group[0]
        lines.append("")
        if head.location:
            panic = (head.panic or "?").strip().splitlines()[0][:300]
            lines.append(f"[{number}] {head.kind}: Rust panic at {_short(head.location)}: {panic}")
            lines.append("    raised: " + head.message.strip().replace("\n", "\n    ")[:600])
        else:
            lines.append(f"[{number}] {head.kind}: {head.message.strip()[:600]}")
        by_subject: dict[str, list[Finding]] = {}
        for finding in group:
            by_subject.setdefault(finding.signature[1], []).append(finding)
        met = "; ".join(
            f"{subject} ({', '.join(f'{f.target} {f.count}' for f in members)})"
            for subject, members in sorted(by_subject.items())
        )
        lines.append(f"    met {sum(f.count for f in group)} times: {met}")
        for subject, members in sorted(by_subject.items())[:4]:
            smallest = min(members, key=lambda f: f.size)
            if smallest.case is not None:
                lines.append(f"    minimal reproducer ({subject}, target {smallest.target}):")
                lines.append("      " + reproducer(smallest.case).replace("\n", "\n      "))
    return lines


def _distinct(findings: list[Finding]) -> int:
    return len({(f.kind, *f.signature[3:]) for f in findings})


def _short(location: str) -> str:
    """A source location without the cargo registry's directory."""
    return re.sub(r"^.*/registry/src/[^/]+/", "", location)


_PANIC = re.compile(r"panicked at (\S+?):(\d+):\d+:\n(.*)")


def panic_in(stderr: str) -> tuple[str, str] | None:
    """(location, message) of the first Rust panic printed on `stderr`, if any."""
    match = _PANIC.search(stderr)
    if match is None:
        return None
    return f"{match.group(1)}:{match.group(2)}", match.group(3).strip()


def normalized(message: str) -> str:
    """A message with the values that vary between inputs taken out, to tell failures apart."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    first = re.sub(r"\"[^\"]*\"|'[^']*'|`[^`]*`", "…", first)
    first = re.sub(r"\d+", "N", first)
    return first[:160]


# --------------------------------------------------------------------------------------------------
# The run


class _NewFinding(Exception):
    """Raised to Hypothesis for a failure not reported before; one class per finding, so that
    Hypothesis shrinks each on its own."""


class Fuzzer:
    """Runs the targets round by round until the time is up, and keeps the report."""

    def __init__(
        self,
        *,
        hosts: str,
        isolate: bool,
        timeout: float,
        targets: list[str],
        examples_per_round: int = 200,
        seed: int | None = None,
        sandbox: Path | None = None,
        progress: IO[str] | None = None,
        trace: IO[str] | None = None,
    ) -> None:
        self.hosts = hosts
        self.timeout = timeout
        self.targets = targets
        self.examples_per_round = examples_per_round
        self.seed = seed
        self.progress = progress
        self.trace = trace
        self._own_sandbox = sandbox is None
        self.sandbox = (
            Path(tempfile.mkdtemp(prefix="obstore-fuzz-")) if sandbox is None else sandbox
        )
        port = 20000 + os.getpid() % 20000 if isolate else _free_port()
        self.worker = Worker(port, self.sandbox, hosts, isolate)
        self.context = Context(Reach(hosts, port), str(self.sandbox / "local"))
        self.report = Report(hosts=hosts, isolated=False)
        self._classes: dict[tuple[str, ...], type[_NewFinding]] = {}
        self._reported: set[tuple[str, ...]] = set()

    def start(self) -> None:
        self.worker.start()
        self.report.isolated = bool(self.worker.hello.get("isolated"))

    def close(self) -> None:
        self.worker.stop()
        self.report.worker_starts = self.worker.starts
        if self._own_sandbox:
            import shutil

            shutil.rmtree(self.sandbox, ignore_errors=True)

    # One input ------------------------------------------------------------------------------------

    def run_case(self, case: Case) -> Finding | None:
        """Runs one case, counts it, and returns its finding when it failed."""
        report = self.report
        target = case.target
        report.tried[target] += 1
        self._count_keys(case)
        outcomes = report.outcomes.setdefault(target, Counter())
        offset = self.worker.stderr_size()
        if self.trace is not None:
            print(f"# {time.time():.3f} {target}\n{reproducer(case)}", file=self.trace, flush=True)
        try:
            outcome = self.worker.run(case, self.timeout)
        except WorkerHung:
            outcomes["hang"] += 1
            stderr = self.worker.stderr_since(offset)
            op = case.op.name if case.op is not None else "build"
            return self._found(
                "hang",
                case,
                (_subject(case), target, op),
                f"no answer within {self.timeout:g} s",
                "",
                stderr,
            )
        except WorkerDied as died:
            outcomes["crash"] += 1
            stderr = self.worker.stderr_since(offset)
            code = died.args[0]
            how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
            last = [line for line in stderr.splitlines() if line.strip()]
            message = f"worker process {how}: " + (last[0] if last else "(nothing on stderr)")
            panic = panic_in(stderr)
            location = panic[0] if panic else ""
            signature = (_subject(case), target, how, location, normalized(message))
            return self._found(
                "crash", case, signature, message, location, stderr, panic[1] if panic else ""
            )
        kind = outcome["kind"]
        outcomes[kind] += 1
        stderr = self.worker.stderr_since(offset) if self.worker.stderr_size() > offset else ""
        panic = panic_in(stderr)
        if kind == "skipped":
            report.skipped[outcome["message"]] += 1
            return None
        subject = _subject(case)
        if kind == "exception":
            report.exception_types[outcome["type"]] += 1
            if panic is None and "internal error" in outcome["message"]:
                panic = ("", outcome["message"])
            if panic is None:
                return None
            message = f"{outcome['type']}: {outcome['message']}"
            caught = (subject, target, panic[0], normalized(panic[1]))
            return self._found(CAUGHT, case, caught, message, panic[0], stderr, panic[1])
        if kind == "base_exception":
            name = outcome["type"]
            failure = "panic" if name.endswith("PanicException") else "base_exception"
            location = panic[0] if panic else ""
            message = f"{name}: {outcome['message']}"
            signature = (subject, target, name, location, normalized(outcome["message"]))
            return self._found(
                failure, case, signature, message, location, stderr, panic[1] if panic else ""
            )
        return None

    def _found(
        self,
        kind: str,
        case: Case,
        signature: tuple[str, ...],
        message: str,
        location: str,
        stderr: str,
        panic: str = "",
    ) -> Finding:
        key = (kind, *signature)
        finding = self.report.findings.get(key)
        if finding is None:
            finding = Finding(kind, case.target, key, message, location, panic=panic)
            self.report.findings[key] = finding
            self._say(f"new {kind} in {case.target}: {message.splitlines()[0][:200]}")
        finding.offer(case, stderr)
        return finding

    def _count_keys(self, case: Case) -> None:
        kwargs = case.build.kwargs
        factory = case.build.factory.partition(".")[0]
        places: dict[str, Any] = {}
        if factory in ("S3Store", "GCSStore", "AzureStore"):
            family = factory
            from .cases import FAMILIES

            spelled = {
                s.lower(): k for k in FAMILIES[family].keys for s in FAMILIES[family].spellings(k)
            }
            names = [
                *kwargs,
                *(kwargs.get("config") or {} if isinstance(kwargs.get("config"), dict) else {}),
            ]
            names += [n[len(FAMILIES[family].env_prefix) :] for n in case.env]
            for name in names:
                key = spelled.get(str(name).lower()) or spelled.get(
                    FAMILIES[family].env_prefix.lower() + str(name).lower()
                )
                if key:
                    places.setdefault(family, []).append(key)
            if case.build.args:
                places.setdefault(family, []).append(FAMILIES[family].positional)
        if isinstance(kwargs.get("client_options"), dict):
            places["client_options"] = list(kwargs["client_options"])
        retry = kwargs.get("retry_config")
        if isinstance(retry, dict):
            names = list(retry)
            if isinstance(retry.get("backoff"), dict):
                names += [f"backoff.{k}" for k in retry["backoff"]]
            places["retry_config"] = names
        if case.op is not None and isinstance(case.op.kwargs.get("options"), dict):
            places["GetOptions"] = list(case.op.kwargs["options"])
        for place, names in places.items():
            counter = self.report.keys.setdefault(place, Counter())
            counter.update(str(n) for n in names)

    # Rounds ---------------------------------------------------------------------------------------

    def run_round(self, target: str, examples: int, until: float, budget: float) -> None:
        """One Hypothesis search of `target`: `examples` inputs, none after `until`; the new
        findings are shrunk for at most `budget` seconds (a hang costs a timeout per try)."""
        strategies = {**TARGETS, **SELFTEST_TARGETS}
        strategy = strategies[target](self.context)
        reported_before = set(self._reported)
        shrink_started: float | None = None

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=False,
            phases=[Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=True,
            verbosity=Verbosity.quiet,
            print_blob=False,
        )
        @given(strategy)
        def search(case: Case) -> None:
            nonlocal shrink_started
            now = time.monotonic()
            if shrink_started is not None and now > shrink_started + budget:
                return
            if now >= until and shrink_started is None:
                return
            finding = self.run_case(case)
            if finding is None or finding.signature in reported_before:
                return
            if shrink_started is None:
                shrink_started = now
            self._reported.add(finding.signature)
            cls = self._classes.get(finding.signature)
            if cls is None:
                cls = type("Finding", (_NewFinding,), {})
                self._classes[finding.signature] = cls
            raise cls(finding.message)

        if self.seed is not None:
            search = hypothesis_seed(self.seed + self.report.total)(search)
        try:
            search()
        except Exception as error:  # the findings raised above (already recorded), or a harness bug
            for inner in _leaves(error):
                if not isinstance(inner, _NewFinding):
                    self.report.harness_errors.append(
                        f"{target}: {type(inner).__name__}: {inner}"[:2000]
                    )

    def run(self, seconds: float) -> Report:
        """Round-robin over the targets until `seconds` have passed. The new findings of a round
        are shrunk for a tenth of that (10 s to 2 minutes), past the end if need be."""
        started = time.monotonic()
        until = started + seconds
        budget = min(120.0, max(10.0, seconds / 10))
        rounds = 0
        try:
            while time.monotonic() < until:
                target = self.targets[rounds % len(self.targets)]
                self.run_round(target, self.examples_per_round, until, budget)
                rounds += 1
                self._say(
                    f"{time.monotonic() - started:6.0f} s  {self.report.total} inputs, "
                    f"{len(self.report.failures)} distinct failures (last round: {target})"
                )
        except KeyboardInterrupt:
            self._say("interrupted: reporting what was tried so far")
        self.report.seconds = time.monotonic() - started
        return self.report

    def _say(self, text: str) -> None:
        if self.progress is not None:
            print(text, file=self.progress, flush=True)


def _leaves(error: BaseException) -> Iterator[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error


@contextmanager
def fuzzer(**kwargs: Any) -> Iterator[Fuzzer]:
    """A started `Fuzzer`, closed (worker stopped, sandbox removed) on exit."""
    instance = Fuzzer(**kwargs)
    try:
        instance.start()
        yield instance
    finally:
        instance.close()


def run_fuzz(
    seconds: float,
    *,
    hosts: str = "loopback",
    isolate: bool | None = None,
    timeout: float = 10.0,
    targets: list[str] | None = None,
    examples_per_round: int = 200,
    seed: int | None = None,
    progress: IO[str] | None = None,
    trace: IO[str] | None = None,
) -> Report:
    """Fuzzes `targets` (default: all) for `seconds`; `isolate` None: when the machine allows."""
    if isolate is None:
        isolate = isolation_available()
    with fuzzer(
        hosts=hosts,
        isolate=isolate,
        timeout=timeout,
        targets=targets or list(TARGETS),
        examples_per_round=examples_per_round,
        seed=seed,
        progress=progress,
        trace=trace,
    ) as run:
        return run.run(seconds)
