"""Tiny stdlib-only HTTP helpers used to set servers up (no SDKs).

* :func:`request` - one bounded HTTP request to 127.0.0.1.
* :func:`sigv4_headers` - AWS Signature V4 headers (for MinIO bucket creation).
* :func:`azure_sharedkey_headers` - Azure Storage SharedKey headers (for Azurite).
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import hmac
import http.client
import ssl
import urllib.parse
from email.utils import formatdate

__all__ = ["request", "sigv4_headers", "azure_sharedkey_headers"]


def request(
    method: str,
    url: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
    context: ssl.SSLContext | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Send one HTTP request; return ``(status, headers(lower-cased), body)``. An ``https`` URL
    goes over TLS, verified with ``context`` (the system's roots when ``None``).

    Raises ``OSError`` (incl. ``ConnectionRefusedError``, ``ssl.SSLError``) on transport errors.
    """
    u = urllib.parse.urlsplit(url)
    if u.hostname is None:
        raise ValueError(f"no host in URL {url!r}")
    conn: http.client.HTTPConnection
    if u.scheme == "https":
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        target = u.path or "/"
        if u.query:
            target += "?" + u.query
        hdrs = dict(headers or {})
        if body or method in ("PUT", "POST"):
            hdrs.setdefault("Content-Length", str(len(body)))
        conn.request(method, target, body=body or None, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


# --------------------------------------------------------------------------- SigV4
def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sigv4_headers(
    method: str,
    url: str,
    *,
    access_key: str,
    secret_key: str,
    region: str = "us-east-1",
    service: str = "s3",
    body: bytes = b"",
    now: _dt.datetime | None = None,
) -> dict[str, str]:
    """Headers that sign ``method url`` with AWS Signature Version 4 (header auth)."""
    u = urllib.parse.urlsplit(url)
    now = now or _dt.datetime.now(_dt.UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    datestamp = now.strftime("%Y%m%d")
    payload_hash = hashlib.sha256(body).hexdigest()
    host = u.netloc
    canonical_uri = urllib.parse.quote(u.path or "/", safe="/-_.~")
    query = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
    canonical_query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
        for k, v in sorted(query)
    )
    headers = {"host": host, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical_headers = "".join(f"{k}:{headers[k]}\n" for k in sorted(headers))
    canonical_request = "\n".join(
        [method, canonical_uri, canonical_query, canonical_headers, signed, payload_hash]
    )
    scope = f"{datestamp}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    k = _hmac(("AWS4" + secret_key).encode(), datestamp)
    k = _hmac(k, region)
    k = _hmac(k, service)
    k = _hmac(k, "aws4_request")
    signature = hmac.new(k, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "Host": host,
        "x-amz-date": amz_date,
        "x-amz-content-sha256": payload_hash,
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
            f"SignedHeaders={signed}, Signature={signature}"
        ),
    }


# --------------------------------------------------------------------------- Azure SharedKey
AZURE_API_VERSION = "2021-08-06"


def azure_sharedkey_headers(
    method: str,
    url: str,
    *,
    account: str,
    key_b64: str,
    body: bytes = b"",
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Headers for an Azure Storage request signed with SharedKey.

    ``url`` is path-style as used by Azurite: ``http://host:port/<account>/<container>?...``.
    """
    u = urllib.parse.urlsplit(url)
    headers = {
        "x-ms-date": formatdate(usegmt=True),
        "x-ms-version": AZURE_API_VERSION,
    }
    headers.update({k.lower(): v for k, v in (extra or {}).items()})
    length = str(len(body)) if body else ""
    std = lambda name: headers.get(name, "")  # noqa: E731
    canon_headers = "".join(
        f"{k}:{headers[k].strip()}\n" for k in sorted(h for h in headers if h.startswith("x-ms-"))
    )
    canon_resource = f"/{account}{u.path}"
    for k, v in sorted(
        (k.lower(), v) for k, v in urllib.parse.parse_qsl(u.query, keep_blank_values=True)
    ):
        canon_resource += f"\n{k}:{v}"
    string_to_sign = (
        "\n".join(
            [
                method,
                std("content-encoding"),
                std("content-language"),
                length,
                std("content-md5"),
                std("content-type"),
                "",  # Date (x-ms-date is used instead)
                std("if-modified-since"),
                std("if-match"),
                std("if-none-match"),
                std("if-unmodified-since"),
                std("range"),
            ]
        )
        + "\n"
        + canon_headers
        + canon_resource
    )
    sig = base64.b64encode(
        hmac.new(base64.b64decode(key_b64), string_to_sign.encode(), hashlib.sha256).digest()
    ).decode()
    headers["Authorization"] = f"SharedKey {account}:{sig}"
    return headers
