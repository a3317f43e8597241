"""S3 requests are signed in the connector (``crates/obstore-stores/src/sigv4.rs``), proven against
MinIO, which checks every signature: paths, queries and headers that need encoding, signed and
unsigned payloads, multipart uploads, copies, listings and deletions are all accepted; a session
token is sent and signed; and a credential provider that itself sends requests through the
store's connector (the instance metadata service) gets them out unsigned, without waiting on the
credential it is fetching.

That the signatures equal ``object_store``'s own, byte for byte, is unit-tested in that file.
"""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

import obstore
from obstore.exceptions import PermissionDeniedError
from obstore.store import S3Credential, S3Store

from .conftest import BACKENDS, STORE_KINDS
from .local_http import LocalHTTPServer

pytestmark = pytest.mark.skipif("s3-minio" not in STORE_KINDS, reason="needs the MinIO server")

# Keys whose path needs percent-encoding, or that hold characters SigV4 encodes in a query.
AWKWARD_KEYS = [
    "dir/a b+c=d&e",
    "dir/ü ñ é",
    "dir/x~y_z.-!*'()",
    "dir/semi;colon,comma@at$",
    "dir/percent%20literal",
]


@pytest.fixture
def minio(servers: Any) -> Any:
    return servers.get(BACKENDS["s3-minio"].server)


def _run(call: Callable[[], Any], timeout: float = 60) -> Any:
    """``call()`` on a thread, failing the test if it has not returned after ``timeout`` s (a
    signer waiting on the credential it is fetching would never return)."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = call()
        except BaseException as error:  # handed to the test's thread
            result["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"still waiting after {timeout} s"
    if "error" in result:
        raise result["error"]
    return result["value"]


@pytest.mark.parametrize("unsigned_payload", [False, True])
def test_every_request_kind_is_signed_as_minio_checks_it(
    minio: Any, unsigned_payload: bool
) -> None:
    store = minio.store(unsigned_payload=unsigned_payload)
    base = f"connector-signing/{uuid.uuid4().hex}"
    attributes = {
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Disposition": 'attachment;  filename="a  b.txt"',
        "Cache-Control": "  no-cache  ",
    }
    for key in AWKWARD_KEYS:
        path = f"{base}/{key}"
        payload = f"bytes of {key}".encode()
        obstore.put(store, path, payload, attributes=attributes, tags={"k y": "v=a+l/b:c"})
        assert obstore.get(store, path).bytes() == payload
        assert obstore.get_range(store, path, start=2, end=7) == payload[2:7]
        assert obstore.head(store, path)["size"] == len(payload)
        obstore.copy(store, path, f"{path}.copy")
        assert obstore.get(store, f"{path}.copy").bytes() == payload
    listed = {m["path"] for batch in obstore.list(store, f"{base}/dir") for m in batch}
    expected = {f"{base}/{k}" for k in AWKWARD_KEYS}
    assert listed == expected | {f"{p}.copy" for p in expected}
    # A prefix and a delimiter in the query, holding characters it encodes.
    spaced = obstore.list_with_delimiter(store, f"{base}/dir/a b+c")
    assert [m["path"] for m in spaced["objects"]] == []
    assert obstore.list_with_delimiter(store, f"{base}/dir")["objects"]
    # Multipart: the create, each part (uploadId and partNumber in the query) and the completion.
    big = bytes(range(256)) * (6 * 1024 * 1024 // 256 + 1)
    obstore.put(store, f"{base}/big", big, use_multipart=True, chunk_size=5 * 1024 * 1024)
    assert obstore.get(store, f"{base}/big").bytes() == big
    # A bulk delete: a POST with a body.
    obstore.delete(store, sorted(listed) + [f"{base}/big"])
    assert [m for batch in obstore.list(store, base) for m in batch] == []


def test_a_wrong_secret_is_refused_by_the_server(minio: Any) -> None:
    store = minio.store(secret_access_key=minio.extra["secret_access_key"] + "x")
    with pytest.raises(PermissionDeniedError, match="signature"):
        obstore.get(store, "anything").bytes()


def _temporary_credentials(minio: Any) -> dict[str, Any]:
    """Session credentials from MinIO's STS (an access key, a secret and a session token)."""
    sts = minio.aws_client("sts")
    answer = sts.assume_role(
        RoleArn="arn:minio:iam:::role/test", RoleSessionName="connector-signing"
    )
    return dict(answer["Credentials"])


def test_a_session_token_is_sent_and_signed(minio: Any) -> None:
    credentials = _temporary_credentials(minio)
    kwargs = {
        k: v
        for k, v in minio.store_kwargs.items()
        if k not in ("access_key_id", "secret_access_key")
    }

    def store(token: str | None) -> S3Store:
        credential: S3Credential = {
            "access_key_id": credentials["AccessKeyId"],
            "secret_access_key": credentials["SecretAccessKey"],
            "token": token,
            "expires_at": None,
        }
        return S3Store(**kwargs, credential_provider=lambda: credential)

    tokened = store(credentials["SessionToken"])
    path = f"connector-signing/{uuid.uuid4().hex}"
    obstore.put(tokened, path, b"with a token")
    assert obstore.get(tokened, path).bytes() == b"with a token"
    # The same credential without its token is refused: the token is what MinIO checks.
    with pytest.raises(PermissionDeniedError, match="InvalidTokenId"):
        obstore.get(store(None), path).bytes()


class _Metadata(BaseHTTPRequestHandler):
    """An instance metadata service (IMDSv2) handing out one role's credentials, recording each
    request's method, path and ``Authorization`` header."""

    credentials: dict[str, Any]
    seen: list[tuple[str, str, str | None]]

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, body: bytes) -> None:
        self.seen.append((self.command, self.path, self.headers.get("Authorization")))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self) -> None:
        self._answer(b"imds-session-token")

    def do_GET(self) -> None:
        role_path = "/latest/meta-data/iam/security-credentials/"
        if self.path == role_path:
            self._answer(b"test-role")
            return
        credentials = self.credentials
        self._answer(
            json.dumps(
                {
                    "AccessKeyId": credentials["AccessKeyId"],
                    "SecretAccessKey": credentials["SecretAccessKey"],
                    "Token": credentials["SessionToken"],
                    "Expiration": credentials["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            ).encode()
        )


@pytest.fixture
def metadata(minio: Any) -> Iterator[tuple[str, list[tuple[str, str, str | None]]]]:
    seen: list[tuple[str, str, str | None]] = []
    handler = type(
        "Handler", (_Metadata,), {"credentials": _temporary_credentials(minio), "seen": seen}
    )
    server = LocalHTTPServer(handler)
    try:
        yield server.url.rstrip("/"), seen
    finally:
        server.close()


@pytest.mark.parametrize("first", ["sign", "put"])
def test_credentials_from_the_metadata_service_sign_while_its_own_requests_go_unsigned(
    minio: Any,
    metadata: tuple[str, list[tuple[str, str, str | None]]],
    monkeypatch: pytest.MonkeyPatch,
    first: str,
) -> None:
    url, seen = metadata
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)
    monkeypatch.delenv("OBSTORE_METADATA_DISABLED", raising=False)
    kwargs = {
        k: v
        for k, v in minio.store_kwargs.items()
        if k not in ("access_key_id", "secret_access_key")
    }
    store = S3Store(**kwargs, metadata_endpoint=url)
    path = f"connector-signing/{uuid.uuid4().hex}"

    def presigned_get() -> bytes:
        signed = obstore.sign(store, "GET", path, timedelta(minutes=5))
        with urllib.request.urlopen(signed, timeout=10) as answer:
            return answer.read()

    # The credential is first fetched by a presigned URL (outside any request) or by a request.
    if first == "sign":
        _run(lambda: obstore.sign(store, "PUT", path, timedelta(minutes=5)))
    _run(lambda: obstore.put(store, path, b"signed with the role's credential"))
    assert _run(lambda: obstore.get(store, path).bytes()) == b"signed with the role's credential"
    assert _run(presigned_get) == b"signed with the role's credential"
    assert [(method, p) for method, p, _ in seen][:3] == [
        ("PUT", "/latest/api/token"),
        ("GET", "/latest/meta-data/iam/security-credentials/"),
        ("GET", "/latest/meta-data/iam/security-credentials/test-role"),
    ]
    assert [authorization for _, _, authorization in seen] == [None] * len(seen)
