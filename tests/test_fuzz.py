"""No input makes a Rust panic, a crash or a hang reach Python (the harness is in tests/fuzz/).

A short fuzz run over every entry point, a self-test of the harness, the check that keeps the
generated hosts on loopback, and one regression test per panic known before the harness existed.
``make fuzz FUZZ_SECONDS=600`` runs the harness for longer (``python -m tests.fuzz --help``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from obstore.exceptions import BaseError
from obstore.store import AzureStore, GCSStore, RetryConfig, S3Store

from .fuzz.runner import CAUGHT, run_fuzz
from .fuzz.values import is_safe_url
from .local_http import LocalHTTPServer

#: Seconds of the in-suite fuzz run (``OBSTORE_FUZZ_SECONDS`` overrides); the off-box traffic
#: check runs for half that.
SUITE_SECONDS = float(os.environ.get("OBSTORE_FUZZ_SECONDS", "30"))

# --------------------------------------------------------------------------------------------------
# The fuzz run


def test_fuzz_every_entry_point_briefly() -> None:
    """Generated strings, bytes, numbers and dicts into every constructor, from_url, config key,
    environment variable, GetOptions, path, Bytes operation and get_ranges argument, then one
    request against a local server: no panic (caught or not), no crash, no hang.

    Generated hosts stay on loopback (this must run wherever the suite runs); where the machine
    allows, the worker is also in a loopback-only network namespace.
    """
    report = run_fuzz(SUITE_SECONDS, hosts="loopback", timeout=15.0, examples_per_round=100)
    print(report.format())
    assert report.total > 0
    assert not report.harness_errors, report.harness_errors
    assert not report.failures and not report.caught, report.format(full=False)


def test_harness_reports_every_kind_of_failure() -> None:
    """A BaseException, a process abort and a hang are each found, shrunk and reported with a
    reproducer, and a run goes on after each (the worker is started again)."""
    report = run_fuzz(
        6.0, hosts="loopback", timeout=1.5, targets=["selftest"], examples_per_round=15
    )
    kinds = {finding.kind for finding in report.failures}
    assert kinds == {"base_exception", "crash", "hang"}, report.format()
    assert report.outcomes["selftest"]["ok"] > 0
    assert report.worker_starts > 2
    assert not [f for f in report.findings.values() if f.kind == CAUGHT]
    assert "minimal reproducer" in report.format()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/bucket",
        "http://localhost",
        "http://[::1]:80",
        "http://",
        "http://:80",
        ":::: ",
        "s3://bucket/key",
        "not a url",
        "a\nb",
        "",
    ],
)
def test_loopback_values_are_safe(url: str) -> None:
    assert is_safe_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "https://169.254.169.254/latest",
        "http:example.com",
        "HTTP://EXAMPLE.COM",
        "http:\\\\example.com",
        "ht\ntp://example.com",
        " http://example.com",
        "//example.com",
        "http://127.0.0.1@example.com",
        "http://127.0.0.1.example.com",
        "http://%31%32%37.0.0.1",
        "ws://example.com",
    ],
)
def test_values_naming_other_hosts_are_not_safe(url: str) -> None:
    """What the in-suite run never generates: any value that could make the library connect
    outside loopback, however the URL parser reads it."""
    assert not is_safe_url(url)


#: Runs a loopback-only fuzz run (worker not isolated) in a network namespace whose default route
#: leads to a veth pair, and prints how many packets went out on it: any packet is a value that
#: reached a host outside loopback (a DNS query included). IPv6 is off on the pair, so that the
#: kernel's own neighbour discovery is not counted.
_OFFBOX_PROBE = """
import json, subprocess, sys
def ip(*args):
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True).stdout
ip("link", "set", "lo", "up")
ip("link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
for name in ("veth0", "veth1"):
    subprocess.run(["sysctl", "-q", "-w", f"net.ipv6.conf.{name}.disable_ipv6=1"], check=True)
    ip("link", "set", name, "up")
ip("addr", "add", "10.99.0.1/24", "dev", "veth0")
ip("route", "add", "default", "via", "10.99.0.2", "dev", "veth0")
from tests.fuzz.runner import run_fuzz
report = run_fuzz(float(sys.argv[1]), hosts="loopback", isolate=False, examples_per_round=100)
sent = json.loads(ip("-s", "-j", "link", "show", "veth0"))[0]["stats64"]["tx"]["packets"]
print(json.dumps({"inputs": report.total, "packets": sent}))
"""


def test_loopback_run_sends_nothing_off_the_machine() -> None:
    """The in-suite run's promise, checked where the machine lets us watch: without a namespace
    of its own, a ``hosts="loopback"`` run sends not one packet to anything but loopback."""
    import json
    import shutil

    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("unshare") is None:
        pytest.skip("needs root, ip and unshare to watch the traffic")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot make a network namespace here")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", _OFFBOX_PROBE, str(SUITE_SECONDS / 2)],
        capture_output=True,
        text=True,
        env=env,
        timeout=SUITE_SECONDS * 4 + 120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["inputs"] > 0
    assert result["packets"] == 0, result


def test_live_port_only() -> None:
    assert is_safe_url("http://127.0.0.1:8000/a", live_port=8000)
    assert not is_safe_url("http://127.0.0.1:8001/a", live_port=8000)
    assert not is_safe_url("http://127.0.0.1/a", live_port=8000)


# --------------------------------------------------------------------------------------------------
# The panics known before the harness: each must become a clear error naming the bad setting


class _NotFound(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = do_PUT = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A local server answering 404 to everything; no store here may fetch credentials."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "GOOGLE_", "AZURE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    server = LocalHTTPServer(_NotFound)
    yield server.url.rstrip("/")
    server.close()


NO_RETRY: RetryConfig = {"max_retries": 0}


def assert_rejected(make_store: Callable[[], Any], key: str) -> None:
    """Building the store, or its first request, raises a ValueError or an obstore error that
    names `key` (in any case: ``AWS_ENDPOINT`` names ``endpoint``) and is not a caught panic;
    never a BaseException that is not an Exception."""
    try:
        make_store().head("a")
    except Exception as error:
        assert isinstance(error, ValueError | BaseError), repr(error)
        message = str(error)
        assert "internal error" not in message, f"a caught panic, not a validation: {message}"
        assert key in message.lower(), f"the error does not name {key!r}: {message}"
    except BaseException as error:  # noqa: B036 (PanicException)
        pytest.fail(f"{type(error).__name__} (not an Exception) escaped: {error}")
    else:
        pytest.fail(f"no error for a bad {key}")


def test_s3_session_token_with_newline(endpoint: str) -> None:
    assert_rejected(
        lambda: S3Store(
            "bucket",
            endpoint=endpoint,
            access_key_id="key",
            secret_access_key="secret",
            session_token="tok\n",
            client_options={"allow_http": True},
            retry_config=NO_RETRY,
        ),
        "session_token",
    )


def test_gcs_bearer_token_with_newline(endpoint: str) -> None:
    assert_rejected(
        lambda: GCSStore(
            "bucket",
            base_url=endpoint,
            bearer_token="tok\n",
            client_options={"allow_http": True},
            retry_config=NO_RETRY,
        ),
        "bearer_token",
    )


def test_azure_token_with_newline(endpoint: str) -> None:
    assert_rejected(
        lambda: AzureStore(
            "container",
            account_name="account",
            endpoint=endpoint,
            token="tok\n",
            client_options={"allow_http": True},
            retry_config=NO_RETRY,
        ),
        "token",
    )


def test_s3_bucket_with_space(endpoint: str) -> None:
    assert_rejected(
        lambda: S3Store(
            "my bucket",
            endpoint=endpoint,
            access_key_id="key",
            secret_access_key="secret",
            client_options={"allow_http": True},
            retry_config=NO_RETRY,
        ),
        "bucket",
    )


def test_s3_endpoint_without_host(endpoint: str) -> None:
    assert_rejected(
        lambda: S3Store(
            "bucket",
            endpoint="http://",
            access_key_id="key",
            secret_access_key="secret",
            client_options={"allow_http": True},
            retry_config=NO_RETRY,
        ),
        "endpoint",
    )


def test_s3_endpoint_from_environment_unparseable(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT", ":::: ")
    assert_rejected(
        lambda: S3Store(
            "bucket",
            access_key_id="key",
            secret_access_key="secret",
            client_options={"allow_http": True},
            retry_config=NO_RETRY,
        ),
        "endpoint",
    )


def test_bytes_repeat_beyond_memory_raises() -> None:
    """``Bytes * 2**62`` raises OverflowError or MemoryError (run in a process of its own: today
    it aborts the process)."""
    script = (
        "import obstore\n"
        "try:\n"
        "    obstore.Bytes(b'x') * 2**62\n"
        "except (OverflowError, MemoryError) as error:\n"
        "    print('raised', type(error).__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("raised "), done.stdout
