"""Real object-storage test servers on 127.0.0.1 for the obstore test suite.

Install once with ``scripts/install-test-servers.sh`` (idempotent; everything goes to
``$OBSTORE_TEST_SERVERS_HOME``, default ``~/.cache/obstore-test-servers``), then::

    from tests.servers import start
    srv = start("minio", tmp_path)          # free port, waits until ready, bucket created
    store = S3Store(**srv.store_kwargs)     # or srv.store() with the installed obstore
    ...
    srv.stop()                              # killpg + wait; idempotent; also run at exit

``python -m tests.servers KIND`` starts one server by hand and prints its kwargs.

Kinds
-----
========  ==========================================  ===========  ==========================
kind      server                                      store        start time (2 cores)
========  ==========================================  ===========  ==========================
minio     MinIO (built with ``go install``)           S3Store      ~0.5 s
moto      moto_server 5.2.5 (venv)                    S3Store      ~0.5 s
azurite   Azurite 3.37.0 ``azurite-blob`` (npm)       AzureStore   ~1-1.5 s
gcs       fake-gcs-server 1.56.1 + ``gcs_adapter``    GCSStore     ~0.3 s
webdav    ``rclone serve webdav`` (Debian rclone)     HTTPStore    ~0.1 s
========  ==========================================  ===========  ==========================

``start("minio", workdir, tls=True)`` serves MinIO over https instead, with a certificate for
127.0.0.1 from a test authority made at start, which its ``store_kwargs`` trust.

``gcs``: stock fake-gcs-server does not implement the GCS XML API that object_store
writes through, so :mod:`tests.servers.gcs_adapter` (a small reverse proxy) sits in
front of it and translates XML-API writes/multipart/copy into JSON-API calls, checking upload
digests (``x-goog-hash``, ``Content-MD5``) as GCS does; the endpoint/``gcs_base_url`` is the
adapter.  ``webdav`` has no buckets: ``bucket`` is ``""``
and the store URL is the server root.

Operation matrix
----------------
What each kind does with the reference client (PyPI ``obstore==0.12.1``, which wraps the Rust
``object_store`` crate).  The conformance suite checks every row on each selected kind
(``tests/test_put.py``, ``test_get.py``, ``test_list.py``, ``test_delete_copy_rename.py``,
``test_multipart_servers.py``, ``test_sign_servers.py``); where kinds differ, the capabilities
of their ``Backend`` in ``tests/conftest.py`` say how.  ok = works; NIE =
``NotImplementedError`` raised by the *client* for that backend; FNF = builtin
``FileNotFoundError``; n/a = the operation does not exist for that store.

================================================  =====  =====  =======  =====  ======
operation                                         minio  moto   azurite  gcs    webdav
================================================  =====  =====  =======  =====  ======
put small                                         ok     ok     ok       ok     ok
put 30 MiB multipart (chunk 5 MiB, concurrency 4) ok¹    ok¹    ok¹      ok²    NIE³
put 30 MiB ``use_multipart=False``                ok     ok     ok       ok     ok
put iterator (multipart)                          ok     ok     ok       ok     NIE³
get / get_range / get_ranges / head / range opt   ok     ok     ok       ok     ok
get missing / head missing -> FNF                 ok     ok     ok       ok     ok
get(if_none_match=etag) -> NotModifiedError       ok     ok     ok       ok     ok
get(if_match=stale) -> PreconditionError          ok     ok     ok       ok     ok
list(prefix)                                      ok     ok     ok       ok     ok
list(offset=)                                     ok     ok     ok⁴      ok     ok
list 1200 objects (server paging)                 ok     ok     ok       ok     ok⁸
list_with_delimiter                               ok     ok     ok       ok     ok
delete / delete([...])                            ok     ok     ok       ok     ok
delete missing                                    no err no err FNF      FNF    FNF
copy / rename                                     ok     ok     ok       ok     ok
copy(overwrite=False): existing -> AlreadyExists  ok     ok     ok       ok     ok
put(mode="create") twice -> AlreadyExistsError    ok     ok     ok       ok     NIE⁵
put(mode={"e_tag"...}) stale -> PreconditionError ok     ok     ok       ok⁶    NIE⁵
attributes round trip (CT, CD, CL, CC, user key)  ok     ok     ok       ok     no⁷
async put/get/list/copy/delete                    ok     ok     ok       ok     ok
sign GET + PUT, fetched with urllib               ok     ok     ok⁹      ok     n/a
PutResult.version / get(version=)                None   None   None     gen¹⁰  None
put e_tag == head e_tag == list e_tag             yes    yes    no¹¹     yes    yes
================================================  =====  =====  =======  =====  ======

1. Multipart verified server-side: S3 ETag of the 30 MiB object ends in ``-6``; Azurite's
   committed block list (``?comp=blocklist``) has 6 blocks.
2. Multipart is assembled by the adapter; verified via ``GET /_adapter/stats``
   (``multipart_completed``, ``multipart_parts``), URL in ``Server.extra["stats_url"]``.
3. ``HttpStore`` has no multipart: ``obstore.put`` of more than ``chunk_size`` bytes, or of an
   iterator, raises NotImplementedError unless ``use_multipart=False``.
4. Azurite 3.37.0 honours ``startFrom`` (EMULATORS.md measured 3.35.0 ignoring it).
5. ``HttpStore`` supports only ``PutMode::Overwrite``; any other mode is NotImplementedError.
6. GCS conditional update uses the *generation*: pass ``mode={"e_tag": ..., "version": ...}``
   with the ``version`` from ``PutResult``; ``{"e_tag": ...}`` alone fails client-side with a
   GenericError (``MissingVersion``: "Version required for conditional update").
7. WebDAV stores no attributes; Content-Type comes back as rclone's guess
   (``text/plain; charset=utf-8``), other attributes are absent.
8. With 0.12.1, concurrent *first* writes into a new WebDAV directory race on MKCOL (rclone
   answers ``423 Locked``, or ``405`` once another writer made it: a GenericError). Our
   HTTPStore retries the first and takes the second as success
   (``crates/obstore-stores/src/http/webdav.rs``), so the suite writes concurrently at once.
9. An Azure signed PUT must carry ``x-ms-blob-type: BlockBlob`` (else 400), like real Azure.
10. GCS versions are generations; ``get(options={"version": old})`` on this non-versioned
    bucket is FNF, the current generation works (as on real GCS).
11. Azure list/list_with_delimiter e_tags are unquoted (``0x8D...``) while put/head return
    ``"0x8D..."`` (real Azure does the same).
"""

from __future__ import annotations

import atexit
import datetime as _dt
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import _http

__all__ = [
    "KINDS",
    "CACHE_DIR",
    "Server",
    "ServerNotInstalled",
    "ServerStartError",
    "start",
    "available",
    "install",
    "stop_all",
]

KINDS = ("minio", "moto", "azurite", "gcs", "webdav")
CACHE_DIR = Path(
    os.environ.get("OBSTORE_TEST_SERVERS_HOME") or Path.home() / ".cache" / "obstore-test-servers"
)
REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-test-servers.sh"

START_TIMEOUT = float(os.environ.get("OBSTORE_TEST_SERVER_START_TIMEOUT", "30"))
STOP_TIMEOUT = 5.0
DEFAULT_BUCKET = "test-bucket"

MINIO_USER, MINIO_PASSWORD = "minioadmin", "minioadmin"
MOTO_KEY, MOTO_SECRET = "testing", "testing"
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

CLIENT_OPTIONS = {"allow_http": True}


def _retry_config() -> dict[str, Any]:
    # default 10 retries / 3 min would make a failing test hang for minutes
    return {"max_retries": 2, "retry_timeout": _dt.timedelta(seconds=10)}


class ServerNotInstalled(RuntimeError):
    """The server binary is missing: run scripts/install-test-servers.sh."""


class ServerStartError(RuntimeError):
    """The server did not become ready in time (message includes its log tail)."""


# --------------------------------------------------------------------------- binaries
def _binaries(kind: str) -> list[Path | str]:
    c = CACHE_DIR
    table: dict[str, list[Path | str]] = {
        "minio": [c / "bin" / "minio"],
        "moto": [c / "venv" / "bin" / "moto_server"],
        "azurite": [c / "node_modules" / ".bin" / "azurite-blob"],
        "gcs": [c / "bin" / "fake-gcs-server"],
        "webdav": [shutil.which("rclone") or "rclone"],
    }
    return table[kind]


def available(kind: str) -> bool:
    """True if the server for ``kind`` is installed (cheap; no process started)."""
    _check_kind(kind)
    return all(os.access(p, os.X_OK) for p in _binaries(kind))


def install(kinds: list[str] | tuple[str, ...] | None = None, timeout: float = 3600) -> None:
    """Run ``scripts/install-test-servers.sh`` (a fast no-op when already installed)."""
    args = list(kinds or [])
    for k in args:
        _check_kind(k)
    subprocess.run(
        ["bash", str(INSTALL_SCRIPT), *args],
        check=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown server kind {kind!r}; expected one of {KINDS}")


def _require(kind: str) -> None:
    if available(kind):
        return
    if os.environ.get("OBSTORE_TEST_SERVERS_AUTO_INSTALL") == "1":
        install([kind])
        if available(kind):
            return
    raise ServerNotInstalled(
        f"{kind} server not installed (looked for {_binaries(kind)}); run: {INSTALL_SCRIPT} {kind}"
    )


# --------------------------------------------------------------------------- processes
_registry: set[Server] = set()
_registry_lock = threading.Lock()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_prctl = None
if sys.platform.startswith("linux"):
    try:
        import ctypes

        _prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved in the parent
    except Exception:  # noqa: BLE001
        _prctl = None


def _pdeathsig() -> None:
    """preexec_fn: PR_SET_PDEATHSIG so the server dies with the test process (even on SIGKILL).

    Runs in the child between fork and exec: no imports, no allocation-heavy work.
    """
    if _prctl is not None:
        _prctl(1, int(signal.SIGTERM))  # 1 == PR_SET_PDEATHSIG


def _spawn(cmd: list[str], log: Path, *, env: dict | None = None, cwd: Path | None = None):
    logf = open(log, "ab", buffering=0)  # noqa: SIM115 - closed in Server.stop
    logf.write(f"\n$ {' '.join(map(str, cmd))}\n".encode())
    full_env = dict(os.environ)
    full_env.update(env or {})
    # PR_SET_PDEATHSIG fires when the *thread* that forked exits, so only use it from
    # the main thread (where pytest runs fixtures).
    preexec = (
        _pdeathsig
        if _prctl is not None and threading.current_thread() is threading.main_thread()
        else None
    )
    proc = subprocess.Popen(  # noqa: S603
        [str(c) for c in cmd],
        stdin=subprocess.DEVNULL,
        stdout=logf,
        stderr=subprocess.STDOUT,
        cwd=str(cwd) if cwd else None,
        env=full_env,
        start_new_session=True,
        preexec_fn=preexec,
        close_fds=True,
    )
    return proc, logf


def _log_tail(path: Path | None, n: int = 40) -> str:
    if not path:
        return ""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def _kill_group(proc: subprocess.Popen) -> None:
    pgid = proc.pid  # start_new_session=True: the child leads its own process group
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, STOP_TIMEOUT)):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # leader gone; make sure no other member of the group survives
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return


@dataclass(eq=False)
class Server:
    """A running server.  ``store_kwargs`` are keyword args for the obstore store class."""

    kind: str  # "minio" | "moto" | "azurite" | "gcs" | "webdav"
    endpoint: str  # e.g. "http://127.0.0.1:PORT" (the adapter for gcs)
    pid: int  # the process serving ``endpoint``
    bucket: str  # bucket / container created and ready ("" for webdav)
    store_kwargs: dict
    log_path: Path | None = None
    extra: dict = field(default_factory=dict)  # kind-specific facts (e.g. gcs stats_url)
    _procs: list = field(default_factory=list, repr=False)
    _logs: list = field(default_factory=list, repr=False)
    _stopped: bool = field(default=False, repr=False)

    @property
    def store_class_name(self) -> str:
        return {
            "minio": "S3Store",
            "moto": "S3Store",
            "azurite": "AzureStore",
            "gcs": "GCSStore",
            "webdav": "HTTPStore",
        }[self.kind]

    def store(self, **overrides: Any):
        """Construct the store with the importable ``obstore`` (convenience)."""
        import obstore.store as _s

        return getattr(_s, self.store_class_name)(**{**self.store_kwargs, **overrides})

    def s3_client(self) -> Any:
        """A boto3 S3 client of this server (minio, moto), to ask it directly."""
        return self.aws_client("s3")

    def aws_client(self, service: str) -> Any:
        """A boto3 client of ``service`` (``"s3"``, MinIO's ``"sts"``) of this server."""
        import boto3  # type: ignore[import-untyped]

        kwargs = self.store_kwargs
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            aws_access_key_id=kwargs["access_key_id"],
            aws_secret_access_key=kwargs["secret_access_key"],
            region_name=kwargs["region"],
        )

    def alive(self) -> bool:
        return not self._stopped and all(p.poll() is None for p in self._procs)

    def stop(self) -> None:
        """Kill the server's process group(s), wait for them, close logs. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        for p in reversed(self._procs):
            _kill_group(p)
        for f in self._logs:
            try:
                f.close()
            except OSError:
                pass
        with _registry_lock:
            _registry.discard(self)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __hash__(self) -> int:
        return id(self)


def stop_all() -> None:
    """Stop every server started by this process (registered with atexit)."""
    with _registry_lock:
        servers = list(_registry)
    for s in servers:
        try:
            s.stop()
        except Exception:  # noqa: BLE001
            pass


atexit.register(stop_all)


def _wait_until(
    ready: Callable[[], bool], procs: list[subprocess.Popen], log: Path, what: str, deadline: float
) -> None:
    delay = 0.02
    last_err: BaseException | None = None
    while True:
        for p in procs:
            if p.poll() is not None:
                raise ServerStartError(
                    f"{what} exited with code {p.returncode} during start-up; log {log}:\n"
                    + _log_tail(log)
                )
        try:
            if ready():
                return
        except (OSError, ValueError) as e:  # connection refused / reset / timeout
            last_err = e
        if time.monotonic() > deadline:
            raise ServerStartError(
                f"{what} not ready after {START_TIMEOUT:.0f} s (last error: {last_err!r}); "
                f"log {log}:\n" + _log_tail(log)
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


# --------------------------------------------------------------------------- per kind
def _s3_kwargs(endpoint: str, bucket: str, key: str, secret: str) -> dict:
    return {
        "bucket": bucket,
        "endpoint": endpoint,
        "region": "us-east-1",
        "access_key_id": key,
        "secret_access_key": secret,
        # If-None-Match / If-Match on PutObject (object_store's default, spelled out)
        "conditional_put": "etag",
        # copy(overwrite=False): multipart copy completed with If-None-Match: *
        "copy_if_not_exists": "multipart",
        "client_options": dict(CLIENT_OPTIONS),
        "retry_config": _retry_config(),
    }


def _tls_certificates(certs: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate authority and a certificate for ``127.0.0.1`` (IP SAN) that it signs, written
    as MinIO reads them: ``certs/public.crt`` and ``certs/private.key``. Returns the authority's
    PEM file (the root a client trusts) and an ``ssl`` context that trusts it.

    An authority and a leaf rather than one self-signed certificate: rustls takes a root only as
    an issuer, never as the server's own certificate. ``cryptography`` comes with the test
    dependencies (``google-auth``, ``azure-identity``).
    """
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = _dt.datetime.now(_dt.UTC)

    def certificate(
        subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name | None = None
    ) -> x509.CertificateBuilder:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer or name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(minutes=5))
            .not_valid_after(now + _dt.timedelta(days=1))
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        certificate("obstore test CA", ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        certificate("127.0.0.1", key, issuer=ca.subject)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    certs.mkdir(parents=True, exist_ok=True)
    (certs / "public.crt").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (certs / "private.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ca_path = certs.parent / "minio-ca.crt"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return ca_path, ssl.create_default_context(cafile=str(ca_path))


def _start_minio(
    workdir: Path, bucket: str, log: Path, deadline: float, *, tls: bool = False
) -> Server:
    port, console = _free_port(), _free_port()
    data = workdir / "minio-data"
    data.mkdir(parents=True, exist_ok=True)
    certs = workdir / "minio-certs"
    certs.mkdir(exist_ok=True)
    # MinIO serves https when its certs dir holds a certificate and key, plain http otherwise.
    ca_path, context = _tls_certificates(certs) if tls else (None, None)
    env = {
        "MINIO_ROOT_USER": MINIO_USER,
        "MINIO_ROOT_PASSWORD": MINIO_PASSWORD,
        "MINIO_BROWSER": "off",
        "MINIO_UPDATE": "off",
        "MINIO_CI_CD": "1",  # allow a data dir on the root disk
        "MINIO_PROMETHEUS_AUTH_TYPE": "public",
    }
    proc, logf = _spawn(
        [
            str(_binaries("minio")[0]),
            "server",
            str(data),
            "--address",
            f"127.0.0.1:{port}",
            "--console-address",
            f"127.0.0.1:{console}",
            "--certs-dir",
            str(certs),
            "--quiet",
            "--anonymous",
        ],
        log,
        env=env,
    )
    ep = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    srv = Server("minio", ep, proc.pid, bucket, {}, log, _procs=[proc], _logs=[logf])
    _register(srv)

    def ready() -> bool:
        url = f"{ep}/minio/health/ready"
        return _http.request("GET", url, timeout=2, context=context)[0] == 200

    _wait_until(ready, [proc], log, "minio", deadline)

    def make_bucket() -> bool:
        url = f"{ep}/{bucket}"
        h = _http.sigv4_headers("PUT", url, access_key=MINIO_USER, secret_key=MINIO_PASSWORD)
        st, _, body = _http.request("PUT", url, headers=h, timeout=5, context=context)
        if st in (200, 409):
            return True
        if st >= 500:  # still initialising
            return False
        raise ServerStartError(f"minio: PUT /{bucket} -> {st} {body[:300]!r}")

    _wait_until(make_bucket, [proc], log, "minio bucket", deadline)
    srv.store_kwargs = _s3_kwargs(ep, bucket, MINIO_USER, MINIO_PASSWORD)
    srv.extra = {
        "access_key_id": MINIO_USER,
        "secret_access_key": MINIO_PASSWORD,
        "data_dir": str(data),
    }
    if ca_path is not None:
        # The client trusts the test authority, and nothing needs plain http.
        srv.store_kwargs["client_options"] = {"root_certificate": ca_path.read_text()}
        srv.extra["ca_certificate"] = str(ca_path)
        srv.extra["certificate"] = str(certs / "public.crt")
        srv.extra["private_key"] = str(certs / "private.key")
    return srv


def _start_moto(workdir: Path, bucket: str, log: Path, deadline: float) -> Server:
    port = _free_port()
    proc, logf = _spawn(
        [str(_binaries("moto")[0]), "-H", "127.0.0.1", "-p", str(port)],
        log,
        env={"MOTO_ALLOW_NONEXISTENT_REGION": "true", "PYTHONUNBUFFERED": "1"},
        cwd=workdir,
    )
    ep = f"http://127.0.0.1:{port}"
    srv = Server("moto", ep, proc.pid, bucket, {}, log, _procs=[proc], _logs=[logf])
    _register(srv)

    def make_bucket() -> bool:
        st, _, body = _http.request("PUT", f"{ep}/{bucket}", timeout=5)
        if st in (200, 409):
            return True
        raise ServerStartError(f"moto: PUT /{bucket} -> {st} {body[:300]!r}")

    _wait_until(make_bucket, [proc], log, "moto", deadline)
    srv.store_kwargs = _s3_kwargs(ep, bucket, MOTO_KEY, MOTO_SECRET)
    srv.extra = {"access_key_id": MOTO_KEY, "secret_access_key": MOTO_SECRET}
    return srv


def _start_azurite(workdir: Path, bucket: str, log: Path, deadline: float) -> Server:
    port = _free_port()
    loc = workdir / "azurite"
    loc.mkdir(parents=True, exist_ok=True)
    proc, logf = _spawn(
        [
            str(_binaries("azurite")[0]),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--location",
            str(loc),
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
            "--silent",
        ],
        log,
        cwd=loc,
    )
    ep = f"http://127.0.0.1:{port}"
    srv = Server("azurite", ep, proc.pid, bucket, {}, log, _procs=[proc], _logs=[logf])
    _register(srv)

    def make_container() -> bool:
        url = f"{ep}/{AZURITE_ACCOUNT}/{bucket}?restype=container"
        h = _http.azure_sharedkey_headers("PUT", url, account=AZURITE_ACCOUNT, key_b64=AZURITE_KEY)
        st, _, body = _http.request("PUT", url, headers=h, timeout=5)
        if st in (201, 409):
            return True
        raise ServerStartError(f"azurite: create container -> {st} {body[:300]!r}")

    _wait_until(make_container, [proc], log, "azurite", deadline)
    srv.store_kwargs = {
        "container_name": bucket,
        "account_name": AZURITE_ACCOUNT,
        "account_key": AZURITE_KEY,
        # explicit endpoint, path-style; NOT use_emulator=True (that ignores endpoint=)
        "endpoint": f"{ep}/{AZURITE_ACCOUNT}",
        "client_options": dict(CLIENT_OPTIONS),
        "retry_config": _retry_config(),
    }
    srv.extra = {"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}
    return srv


_rsa_key_pem: str | None = None
_rsa_lock = threading.Lock()


def _rsa_private_key_pem() -> str:
    """A real RSA key (PKCS#8 PEM) so object_store can self-sign JWTs and URLs offline."""
    global _rsa_key_pem
    with _rsa_lock:
        if _rsa_key_pem:
            return _rsa_key_pem
        openssl = shutil.which("openssl")
        if openssl:
            out = subprocess.run(
                [openssl, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                check=True,
                capture_output=True,
                timeout=60,
            ).stdout.decode()
        else:
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import rsa

            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            out = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
        _rsa_key_pem = out
        return out


def _start_gcs(workdir: Path, bucket: str, log: Path, deadline: float) -> Server:
    up_port, port = _free_port(), _free_port()
    up = f"127.0.0.1:{up_port}"
    gcs_dir = workdir / "gcs"
    gcs_dir.mkdir(parents=True, exist_ok=True)
    up_proc, up_log = _spawn(
        [
            str(_binaries("gcs")[0]),
            "-scheme",
            "http",
            "-host",
            "127.0.0.1",
            "-port",
            str(up_port),
            "-public-host",
            up,
            "-external-url",
            f"http://{up}",
            "-backend",
            "memory",
            "-data",
            str(gcs_dir / "seed-none"),
            "-log-level",
            "warn",
        ],
        log,
        cwd=gcs_dir,
    )
    adapter_log = log.with_name(log.stem + "-adapter.log")
    ad_proc, ad_log = _spawn(
        [
            sys.executable,
            str(Path(__file__).with_name("gcs_adapter.py")),
            "--port",
            str(port),
            "--upstream",
            up,
            "--spool",
            str(gcs_dir / "spool"),
        ],
        adapter_log,
        cwd=gcs_dir,
    )
    ep = f"http://127.0.0.1:{port}"
    srv = Server(
        "gcs", ep, ad_proc.pid, bucket, {}, log, _procs=[up_proc, ad_proc], _logs=[up_log, ad_log]
    )
    _register(srv)
    procs = [up_proc, ad_proc]

    def make_bucket() -> bool:
        st, _, body = _http.request(
            "POST",
            f"http://{up}/storage/v1/b?project=test",
            body=json.dumps({"name": bucket}).encode(),
            headers={"Content-Type": "application/json"},
            timeout=5,
        )
        if st in (200, 409):
            return True
        raise ServerStartError(f"fake-gcs-server: create bucket -> {st} {body[:300]!r}")

    _wait_until(make_bucket, procs, log, "fake-gcs-server", deadline)
    _wait_until(
        lambda: _http.request("GET", f"{ep}/_adapter/stats", timeout=2)[0] == 200,
        procs,
        adapter_log,
        "gcs adapter",
        deadline,
    )
    sa = {
        "type": "service_account",
        "project_id": "test",
        "private_key_id": "obstore-test-key",
        "private_key": _rsa_private_key_pem(),
        "client_email": "obstore-test@test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": f"{ep}/token",  # never used: object_store self-signs JWTs
        "gcs_base_url": ep,
    }
    sa_path = gcs_dir / "service-account.json"
    sa_path.write_text(json.dumps(sa))
    srv.store_kwargs = {
        "bucket": bucket,
        "service_account": str(sa_path),
        "client_options": dict(CLIENT_OPTIONS),
        "retry_config": _retry_config(),
    }
    srv.extra = {
        "upstream": f"http://{up}",
        "upstream_pid": up_proc.pid,
        "stats_url": f"{ep}/_adapter/stats",
        "service_account_path": str(sa_path),
        "adapter_log": str(adapter_log),
    }
    return srv


def _start_webdav(workdir: Path, bucket: str, log: Path, deadline: float) -> Server:
    port = _free_port()
    root = workdir / "webdav-root"
    root.mkdir(parents=True, exist_ok=True)
    conf = workdir / "rclone.conf"
    conf.touch()
    proc, logf = _spawn(
        [
            str(_binaries("webdav")[0]),
            "serve",
            "webdav",
            str(root),
            "--addr",
            f"127.0.0.1:{port}",
            "--config",
            str(conf),
        ],
        log,
        env={"RCLONE_CONFIG": str(conf)},
        cwd=workdir,
    )
    ep = f"http://127.0.0.1:{port}"
    srv = Server("webdav", ep, proc.pid, "", {}, log, _procs=[proc], _logs=[logf])
    _register(srv)
    _wait_until(
        lambda: _http.request("GET", f"{ep}/", timeout=2)[0] == 200, [proc], log, "rclone", deadline
    )
    srv.store_kwargs = {
        "url": f"{ep}/",
        "client_options": dict(CLIENT_OPTIONS),
        "retry_config": _retry_config(),
    }
    srv.extra = {"root": str(root)}
    return srv


_STARTERS = {
    "minio": _start_minio,
    "moto": _start_moto,
    "azurite": _start_azurite,
    "gcs": _start_gcs,
    "webdav": _start_webdav,
}


def _register(srv: Server) -> None:
    with _registry_lock:
        _registry.add(srv)


def start(
    kind: str,
    workdir: Path | str,
    *,
    bucket: str = DEFAULT_BUCKET,
    attempts: int = 3,
    tls: bool = False,
) -> Server:
    """Start a ``kind`` server on a free 127.0.0.1 port, wait until ready, create the bucket.

    Logs go to ``workdir/<kind>.log``; data lives under ``workdir``.  Retries on a
    different port if the server dies during start-up (e.g. a port race).  Raises
    :class:`ServerNotInstalled` or :class:`ServerStartError`.

    ``tls=True`` (``minio`` only) serves https with a certificate for 127.0.0.1 issued by a test
    authority made at start: ``store_kwargs`` trust it as ``client_options["root_certificate"]``
    and ``extra["ca_certificate"]`` is its PEM file (``extra["certificate"]`` and
    ``extra["private_key"]``: the server's, to serve https elsewhere with the same trust).
    """
    _check_kind(kind)
    if tls and kind != "minio":
        raise ValueError(f"tls=True is only available for minio, not {kind!r}")
    _require(kind)
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        log = workdir / (f"{kind}.log" if attempt == 1 else f"{kind}.{attempt}.log")
        deadline = time.monotonic() + START_TIMEOUT
        try:
            if tls:
                return _start_minio(workdir, bucket, log, deadline, tls=True)
            return _STARTERS[kind](workdir, bucket, log, deadline)
        except BaseException as e:
            # stop whatever this attempt started (servers register themselves early)
            with _registry_lock:
                stale = [s for s in _registry if s.log_path == log]
            for s in stale:
                s.stop()
            if not isinstance(e, ServerStartError) or "exited" not in str(e):
                raise  # a hang or a setup error is not a port race: don't retry
            last = e
    raise last  # type: ignore[misc]
