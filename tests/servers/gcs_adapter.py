"""GCS XML-API adapter in front of fake-gcs-server (standard library and google-crc32c).

object_store's GCS client writes through the GCS *XML* API, which stock
fake-gcs-server (checked up to v1.56.1) does not implement: it routes
``PUT /bucket/key`` to its JSON upload handler and answers
``400 invalid uploadType``.  This reverse proxy listens on 127.0.0.1, serves
the XML-API calls object_store makes by translating them into JSON-API calls,
and passes everything else through unchanged:

* ``PUT /b/k`` (body, attributes, ``x-goog-meta-*``) ->
  ``POST /upload/storage/v1/b/b/o?uploadType=media&name=k``.  With
  ``x-goog-if-generation-match: G`` the generation is checked here under a lock (412 on
  mismatch) and ``&ifGenerationMatch=G`` is passed on (fake-gcs >= 1.55 checks it too).
  Signed-URL PUTs take the same path.
* ``PUT /b/k`` + ``x-goog-copy-source: b/src`` -> ``POST /storage/v1/b/b/o/src/copyTo/b/b/o/k``;
  with ``x-goog-if-generation-match: 0`` the destination is checked first under the lock
  (412 if it exists).
* ``POST /b/k?uploads`` -> a new upload id; attributes remembered; XML
  ``InitiateMultipartUploadResult``.
* ``PUT /b/k?partNumber=N&uploadId=U`` -> part spooled to a file in the spool dir; ETag = md5.
* A ``PUT`` with a body (simple or part) that carries ``x-goog-hash: crc32c=<b64>,md5=<b64>``
  (either or both, over one or more headers) or ``Content-MD5`` is checked as GCS checks it:
  the digests are computed over the bytes received, and a mismatch is answered
  ``400 BadDigest`` without storing the object or the part; a digest that is not base64 of the
  right length is ``400 InvalidDigest``.  Such a body is spooled (in memory up to 8 MiB) before
  it goes upstream; a body without digests streams straight through.  GCS takes no digest of
  the whole object on ``CompleteMultipartUpload``.
* ``POST /b/k?uploadId=U`` (``CompleteMultipartUpload``) -> parts concatenated in the listed
  order and uploaded as one object; XML ``CompleteMultipartUploadResult``.
* ``DELETE /b/k?uploadId=U`` -> spooled parts dropped (204).
* ``GET /b?list-type=2...`` -> upstream XML list, then ``start-after``,
  ``continuation-token`` and ``max-keys`` applied here (fake-gcs ignores them).
* ``GET|HEAD /b/k`` with If-Match / If-None-Match / If-(Un)Modified-Since -> evaluated here
  against an upstream HEAD (fake-gcs ignores them): 412 / 304, else passed through.
* everything else (reads, ranges, delete, JSON API, signed GET URLs, ``/storage/...``,
  ``/upload/...``) -> passed through unchanged.

Responses carry what object_store reads: ``ETag`` (quoted, identical to the
one fake-gcs returns on GET/HEAD) and ``x-goog-generation`` (the version used by
``PutMode::Update``).  ``GET /_adapter/stats`` returns JSON counters (e.g. the
number of completed multipart uploads) so tests can check multipart happened.

Run: ``python gcs_adapter.py --port P --upstream 127.0.0.1:UP --spool DIR``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import http.client
import http.server
import json
import os
import shutil
import socketserver
import sys
import tempfile
import threading
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime
from typing import BinaryIO

import google_crc32c

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
ATTR_HEADERS = ("content-type", "cache-control", "content-disposition", "content-language")
COND_HEADERS = ("if-match", "if-none-match", "if-modified-since", "if-unmodified-since")
CHUNK = 1 << 20
#: A checked body is held in memory up to this size, then in a file of the spool dir.
SPOOL_IN_MEMORY = 8 << 20
UPSTREAM_TIMEOUT = 60.0


def q(s: str) -> str:
    return urllib.parse.quote(s, safe="")


def xml_error(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code}</Code><Message>{_esc(message)}</Message></Error>"
    ).encode()


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _LimitedReader:
    """File-like reader returning at most ``n`` bytes of ``f``."""

    def __init__(self, f, n: int):
        self.f, self.left = f, n

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        if size < 0 or size > self.left:
            size = self.left
        data = self.f.read(size)
        self.left -= len(data)
        return data


class _ConcatReader:
    """File-like reader over several files, one after another."""

    def __init__(self, paths: list[str]):
        self.paths = list(paths)
        self.cur: BinaryIO | None = None

    def read(self, size: int = -1) -> bytes:
        while True:
            if self.cur is None:
                if not self.paths:
                    return b""
                self.cur = open(self.paths.pop(0), "rb")  # noqa: SIM115
            data = self.cur.read(CHUNK if size < 0 else size)
            if data:
                return data
            self.cur.close()
            self.cur = None


class Digests:
    """The digests a request announces for its body, computed over the bytes as they arrive."""

    SIZES = {"crc32c": 4, "md5": 16}

    def __init__(self, announced: list[tuple[str, str, str]]):
        #: (header, algorithm, base64 value) as announced
        self.announced = announced
        algorithms = {algorithm for _, algorithm, _ in announced}
        self.crc32c = google_crc32c.Checksum() if "crc32c" in algorithms else None
        self.md5 = hashlib.md5() if "md5" in algorithms else None  # noqa: S324 - GCS's digest
        self.received = 0

    @classmethod
    def of(cls, headers) -> Digests | None:
        """The digests in ``headers`` (None: none announced); ValueError names a malformed one."""
        announced = []
        for value in headers.get_all("x-goog-hash") or []:
            for item in value.split(","):
                if not item.strip():
                    continue
                algorithm, sep, encoded = item.strip().partition("=")
                algorithm = algorithm.strip().lower()
                if not sep or algorithm not in cls.SIZES:
                    raise ValueError(f"x-goog-hash {item.strip()!r}: expected crc32c= or md5=")
                announced.append(("x-goog-hash", algorithm, encoded.strip()))
        for value in headers.get_all("Content-MD5") or []:
            announced.append(("Content-MD5", "md5", value.strip()))
        for header, algorithm, encoded in announced:
            try:
                size = len(base64.b64decode(encoded, validate=True))
            except (binascii.Error, ValueError):
                size = -1
            if size != cls.SIZES[algorithm]:
                raise ValueError(
                    f"{header} {algorithm}={encoded!r} is not the base64 of a "
                    f"{cls.SIZES[algorithm]}-byte {algorithm}"
                )
        return cls(announced) if announced else None

    def update(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.crc32c is not None:
            self.crc32c.update(chunk)
        if self.md5 is not None:
            self.md5.update(chunk)

    def mismatch(self) -> str | None:
        """What does not match, naming the announced and the computed value; None: all match."""
        computed = {}
        if self.crc32c is not None:
            computed["crc32c"] = base64.b64encode(self.crc32c.digest()).decode()
        if self.md5 is not None:
            computed["md5"] = base64.b64encode(self.md5.digest()).decode()
        for header, algorithm, encoded in self.announced:
            if computed[algorithm] != encoded:
                return (
                    f"{header} {algorithm}={encoded} does not match the {algorithm} of the "
                    f"{self.received} bytes received ({computed[algorithm]})"
                )
        return None


class State:
    def __init__(self, upstream: str, spool: str):
        self.upstream_host, _, port = upstream.rpartition(":")
        self.upstream_port = int(port)
        self.upstream = upstream
        self.spool = spool
        self.uploads: dict[str, dict] = {}
        self.lock = threading.Lock()  # guards uploads + conditional copies
        self.stats = {
            "simple_puts": 0,
            "multipart_initiated": 0,
            "multipart_parts": 0,
            "multipart_completed": 0,
            "multipart_aborted": 0,
            "copies": 0,
            "bad_digests": 0,
            "conditional_get_handled": 0,
            "lists": 0,
            "passthrough": 0,
        }

    def bump(self, k: str, n: int = 1) -> None:
        with self.lock:
            self.stats[k] = self.stats.get(k, 0) + n


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: without TCP_NODELAY, Nagle + the
    # client's delayed ACK cost ~40 ms per response (measured: 22 req/s instead of >1000)
    disable_nagle_algorithm = True
    server_version = "obstore-gcs-adapter/1"
    state: State  # set on the class by main()

    # ------------------------------------------------------------------ plumbing
    def log_message(self, fmt, *args):  # noqa: D401 - one line per request to stderr
        sys.stderr.write(f"{self.log_date_time_string()} {fmt % args}\n")

    def upstream(self, method, target, body=None, headers=None, length=None):
        st = self.state
        conn = http.client.HTTPConnection(
            st.upstream_host, st.upstream_port, timeout=UPSTREAM_TIMEOUT
        )
        hdrs = dict(headers or {})
        hdrs["Host"] = st.upstream
        if body is not None or method in ("PUT", "POST", "PATCH"):
            if length is None:
                length = len(body) if isinstance(body, (bytes, bytearray)) else 0
            hdrs["Content-Length"] = str(length)
        conn.request(method, target, body=body, headers=hdrs, encode_chunked=False)
        return conn, conn.getresponse()

    def upstream_json(self, method, target, body=None, headers=None, length=None):
        conn, resp = self.upstream(method, target, body, headers, length)
        try:
            data = resp.read()
        finally:
            conn.close()
        try:
            doc = json.loads(data) if data else {}
        except ValueError:
            doc = {"raw": data.decode("utf-8", "replace")}
        return resp.status, doc

    def send(self, status: int, headers: dict | None = None, body: bytes = b""):
        self.send_response(status)
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        if body and "content-type" not in hdrs:
            hdrs["content-type"] = "application/xml; charset=UTF-8"
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def request_body_reader(self):
        """Return ``(reader, length)`` for the request body (handles chunked)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = bytearray()
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data += self.rfile.read(size)
                self.rfile.readline(65537)
            return _LimitedReader(_BytesFile(bytes(data)), len(data)), len(data)
        n = int(self.headers.get("Content-Length") or 0)
        return _LimitedReader(self.rfile, n), n

    def read_body(self) -> bytes:
        r, n = self.request_body_reader()
        return r.read(n) if n else b""

    # ------------------------------------------------------------------ dispatch
    def do_GET(self):
        self.dispatch()

    do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def dispatch(self):
        try:
            self._dispatch()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # noqa: BLE001 - report, never hang the client
            self.log_message("adapter error: %r", e)
            try:
                self.send(500, {}, xml_error("InternalError", f"adapter: {e!r}"))
            except OSError:
                pass
            self.close_connection = True

    def _dispatch(self):
        split = urllib.parse.urlsplit(self.path)
        raw_path, query = split.path, split.query
        qs = urllib.parse.parse_qs(query, keep_blank_values=True)
        first = raw_path.lstrip("/").split("/", 1)[0]
        if raw_path == "/_adapter/stats":
            with self.state.lock:
                body = json.dumps(self.state.stats).encode()
            return self.send(200, {"content-type": "application/json"}, body)
        if first in ("storage", "upload", "download", "batch", "_internal", ""):
            return self.passthrough()
        parts = raw_path.lstrip("/").split("/", 1)
        bucket = urllib.parse.unquote(parts[0])
        key = urllib.parse.unquote(parts[1]) if len(parts) > 1 and parts[1] else None
        m = self.command
        if key is None:
            if m == "GET":
                return self.list_objects(bucket, qs)
            return self.passthrough()
        if m == "PUT":
            if "uploadId" in qs and "partNumber" in qs:
                return self.put_part(bucket, key, qs["uploadId"][0], int(qs["partNumber"][0]))
            if self.headers.get("x-goog-copy-source"):
                return self.copy(bucket, key)
            return self.simple_put(bucket, key, qs)
        if m == "POST":
            if "uploads" in qs:
                return self.initiate(bucket, key)
            if "uploadId" in qs:
                return self.complete(bucket, key, qs["uploadId"][0])
            return self.passthrough()
        if m == "DELETE" and "uploadId" in qs:
            return self.abort(qs["uploadId"][0])
        if m in ("GET", "HEAD") and any(h in self.headers for h in COND_HEADERS):
            return self.conditional_get()
        return self.passthrough()

    # ------------------------------------------------------------------ passthrough
    def passthrough(self, extra_drop: tuple[str, ...] = ()):
        self.state.bump("passthrough")
        reader, n = self.request_body_reader()
        hdrs = {
            k: v
            for k, v in self.headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() not in extra_drop
        }
        body = reader if (n or self.command in ("PUT", "POST", "PATCH")) else None
        conn, resp = self.upstream(
            self.command, self.path, body, hdrs, n if body is not None else None
        )
        try:
            self.relay(resp)
        finally:
            conn.close()

    def relay(self, resp):
        self.send_response(resp.status)
        length = resp.getheader("Content-Length")
        buffered = None
        if length is None and self.command != "HEAD" and resp.status not in (204, 304):
            buffered = resp.read()
            length = str(len(buffered))
        for k, v in resp.getheaders():
            if k.lower() in HOP_BY_HOP:
                continue
            self.send_header(k, v)
        if length is not None:
            self.send_header("Content-Length", length)
        elif self.command == "HEAD" or resp.status in (204, 304):
            self.send_header("Content-Length", "0")
        self.end_headers()
        if self.command == "HEAD":
            return
        if buffered is not None:
            self.wfile.write(buffered)
            return
        while True:
            chunk = resp.read(CHUNK)
            if not chunk:
                break
            self.wfile.write(chunk)

    # ------------------------------------------------------------------ conditional reads
    def conditional_get(self):
        self.state.bump("conditional_get_handled")
        conn, resp = self.upstream("HEAD", self.path, None, {})
        try:
            resp.read()
        finally:
            conn.close()
        if resp.status == 200:
            etag = (resp.getheader("ETag") or "").strip()
            lm = resp.getheader("Last-Modified")
            lm_dt = parsedate_to_datetime(lm) if lm else None
            keep = {
                k: v
                for k, v in resp.getheaders()
                if k.lower() in ("etag", "last-modified", "x-goog-generation")
            }

            def matches(header: str) -> bool:
                tags = [t.strip() for t in header.split(",")]
                return "*" in tags or any(_strip_w(t) == _strip_w(etag) for t in tags)

            h = self.headers
            if h.get("If-Match") is not None and not matches(h["If-Match"]):
                return self.send(412, keep, xml_error("PreconditionFailed", "If-Match"))
            if h.get("If-Match") is None and h.get("If-Unmodified-Since") and lm_dt:
                if lm_dt > _http_date(h["If-Unmodified-Since"]):
                    return self.send(
                        412, keep, xml_error("PreconditionFailed", "If-Unmodified-Since")
                    )
            if h.get("If-None-Match") is not None:
                if matches(h["If-None-Match"]):
                    return self.send(304, keep)
            elif h.get("If-Modified-Since") and lm_dt:
                if lm_dt <= _http_date(h["If-Modified-Since"]):
                    return self.send(304, keep)
        return self.passthrough(extra_drop=COND_HEADERS)

    # ------------------------------------------------------------------ writes
    def _attr_headers(self) -> dict[str, str]:
        out = {}
        for k, v in self.headers.items():
            lk = k.lower()
            if lk in ATTR_HEADERS or lk.startswith("x-goog-meta-"):
                out[k] = v
        out.setdefault("Content-Type", "application/octet-stream")
        return out

    def _upload(self, bucket, key, body, length, attrs, if_generation_match=None):
        params = {"uploadType": "media", "name": key}
        if if_generation_match is not None:
            params["ifGenerationMatch"] = if_generation_match
        enc = attrs.pop("content-encoding", None) or attrs.pop("Content-Encoding", None)
        if enc:
            params["contentEncoding"] = enc
        target = f"/upload/storage/v1/b/{q(bucket)}/o?" + urllib.parse.urlencode(params)
        return self.upstream_json("POST", target, body, attrs, length)

    def _write_result(self, status, doc, xml_body: bytes = b""):
        if status == 412:
            return self.send(
                412,
                {},
                xml_error(
                    "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold.",
                ),
            )
        if status == 404:
            return self.send(404, {}, xml_error("NoSuchKey", str(doc)))
        if status >= 300:
            return self.send(status, {}, xml_error("UpstreamError", json.dumps(doc)))
        hdrs = {
            "ETag": json.dumps(doc.get("etag", "")),  # quoted, same as fake-gcs GET/HEAD
            "x-goog-generation": str(doc.get("generation", "")),
            "x-goog-metageneration": str(doc.get("metageneration", "1")),
            "x-goog-hash": f"crc32c={doc.get('crc32c', '')},md5={doc.get('md5Hash', '')}",
        }
        if "updated" in doc:
            hdrs["x-goog-updated"] = doc["updated"]
        return self.send(200, hdrs, xml_body)

    def _digests(self, key, reader) -> tuple[Digests | None, bool]:
        """The digests the request announces, and False once a malformed one is answered."""
        try:
            return Digests.of(self.headers), True
        except ValueError as e:
            _drain(reader)
            self.send(400, {}, xml_error("InvalidDigest", f"{key}: {e}"))
            return None, False

    def _bad_digest(self, key, problem: str):
        self.state.bump("bad_digests")
        return self.send(400, {}, xml_error("BadDigest", f"{key}: {problem}; nothing stored"))

    def simple_put(self, bucket, key, qs):
        self.state.bump("simple_puts")
        reader, n = self.request_body_reader()
        digests, ok = self._digests(key, reader)
        if not ok:
            return None
        if digests is None:
            return self._simple_put(bucket, key, reader, n)
        # GCS stores nothing when a digest fails: the body is received whole and checked
        # before anything goes upstream.
        with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY, dir=self.state.spool) as body:
            while chunk := reader.read(CHUNK):
                digests.update(chunk)
                body.write(chunk)
            problem = digests.mismatch()
            if problem:
                return self._bad_digest(key, problem)
            body.seek(0)
            return self._simple_put(bucket, key, body, n)

    def _simple_put(self, bucket, key, body, n):
        attrs = self._attr_headers()
        enc = self.headers.get("Content-Encoding")
        if enc:
            attrs["content-encoding"] = enc
        gen = self.headers.get("x-goog-if-generation-match")
        if gen is None:
            status, doc = self._upload(bucket, key, body, n, attrs)
            return self._write_result(status, doc)
        # fake-gcs >= 1.55 honours ifGenerationMatch itself; older releases ignore it,
        # so check here as well (under the lock shared with conditional copies).
        with self.state.lock:
            if self._current_generation(bucket, key) != gen.strip():
                _drain(body)
                return self._write_result(412, {})
            status, doc = self._upload(bucket, key, body, n, attrs, gen.strip())
        return self._write_result(status, doc)

    def _current_generation(self, bucket, key) -> str:
        st, cur = self.upstream_json("GET", f"/storage/v1/b/{q(bucket)}/o/{q(key)}")
        return str(cur.get("generation", "")) if st == 200 else "0"

    def copy(self, bucket, key):
        self.state.bump("copies")
        self.read_body()
        src = self.headers["x-goog-copy-source"].lstrip("/")
        sb, _, sk = src.partition("/")
        sb, sk = urllib.parse.unquote(sb), urllib.parse.unquote(sk)
        gen = self.headers.get("x-goog-if-generation-match")
        target = f"/storage/v1/b/{q(sb)}/o/{q(sk)}/copyTo/b/{q(bucket)}/o/{q(key)}"
        if gen is None:
            status, doc = self.upstream_json(
                "POST", target, b"", {"Content-Type": "application/json"}
            )
        else:
            # fake-gcs copy has no preconditions: check + copy atomically here
            with self.state.lock:
                if self._current_generation(bucket, key) != gen.strip():
                    return self._write_result(412, {})
                status, doc = self.upstream_json(
                    "POST", target, b"", {"Content-Type": "application/json"}
                )
        body = b""
        if status < 300:
            body = (
                '<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult>'
                f"<LastModified>{doc.get('updated', '')}</LastModified>"
                f"<ETag>{_esc(json.dumps(doc.get('etag', '')))}</ETag></CopyObjectResult>"
            ).encode()
        return self._write_result(status, doc, body)

    def initiate(self, bucket, key):
        self.state.bump("multipart_initiated")
        self.read_body()
        upload_id = uuid.uuid4().hex
        d = os.path.join(self.state.spool, upload_id)
        os.makedirs(d)
        attrs = self._attr_headers()
        enc = self.headers.get("Content-Encoding")
        if enc:
            attrs["content-encoding"] = enc
        with self.state.lock:
            self.state.uploads[upload_id] = {
                "bucket": bucket,
                "key": key,
                "attrs": attrs,
                "dir": d,
                "parts": {},
            }
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult>'
            f"<Bucket>{_esc(bucket)}</Bucket><Key>{_esc(key)}</Key><UploadId>{upload_id}</UploadId>"
            "</InitiateMultipartUploadResult>"
        ).encode()
        return self.send(200, {}, body)

    def _upload_entry(self, upload_id):
        with self.state.lock:
            return self.state.uploads.get(upload_id)

    def put_part(self, bucket, key, upload_id, part_number):
        self.state.bump("multipart_parts")
        reader, n = self.request_body_reader()
        up = self._upload_entry(upload_id)
        if up is None:
            reader.read(n)
            return self.send(404, {}, xml_error("NoSuchUpload", upload_id))
        digests, ok = self._digests(key, reader)
        if not ok:
            return None
        path = os.path.join(up["dir"], f"{part_number:06d}")
        md5 = hashlib.md5()  # noqa: S324 - an ETag, not security
        # A part is written under a name of its own and takes the part's name only once its
        # digests match: a corrupted retry of a part leaves the good one in place.
        receiving = f"{path}.{uuid.uuid4().hex}"
        with open(receiving, "wb") as f:
            while chunk := reader.read(CHUNK):
                md5.update(chunk)
                if digests is not None:
                    digests.update(chunk)
                f.write(chunk)
        problem = digests.mismatch() if digests is not None else None
        if problem:
            os.unlink(receiving)
            return self._bad_digest(f"{key} part {part_number}", problem)
        os.replace(receiving, path)
        etag = f'"{md5.hexdigest()}"'
        with self.state.lock:
            up["parts"][part_number] = (path, etag)
        return self.send(200, {"ETag": etag})

    def complete(self, bucket, key, upload_id):
        body = self.read_body()
        up = self._upload_entry(upload_id)
        if up is None:
            return self.send(404, {}, xml_error("NoSuchUpload", upload_id))
        try:
            root = ET.fromstring(body)
        except ET.ParseError as e:
            return self.send(400, {}, xml_error("MalformedXML", str(e)))
        order = []
        for part in root.iter():
            if _local(part.tag) != "Part":
                continue
            num = etag = None
            for child in part:
                if _local(child.tag) == "PartNumber":
                    num = int(child.text)
                elif _local(child.tag) == "ETag":
                    etag = (child.text or "").strip()
            have = up["parts"].get(num)
            if have is None or (etag and _strip_w(etag) != _strip_w(have[1])):
                return self.send(400, {}, xml_error("InvalidPart", f"part {num}"))
            order.append(have[0])
        if not order:
            return self.send(400, {}, xml_error("MalformedXML", "no parts"))
        length = sum(os.path.getsize(p) for p in order)
        status, doc = self._upload(
            up["bucket"], up["key"], _ConcatReader(order), length, dict(up["attrs"])
        )
        if status < 300:
            self.state.bump("multipart_completed")
            with self.state.lock:
                self.state.uploads.pop(upload_id, None)
            shutil.rmtree(up["dir"], ignore_errors=True)
        xml_body = (
            '<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult>'
            f"<Location>http://{self.headers.get('Host', '')}/{q(bucket)}/{q(key)}</Location>"
            f"<Bucket>{_esc(bucket)}</Bucket><Key>{_esc(key)}</Key>"
            f"<ETag>{_esc(json.dumps(doc.get('etag', '')))}</ETag></CompleteMultipartUploadResult>"
        ).encode()
        return self._write_result(status, doc, xml_body)

    def abort(self, upload_id):
        self.state.bump("multipart_aborted")
        self.read_body()
        with self.state.lock:
            up = self.state.uploads.pop(upload_id, None)
        if up is not None:
            shutil.rmtree(up["dir"], ignore_errors=True)
        return self.send(204)

    # ------------------------------------------------------------------ listing
    def list_objects(self, bucket, qs):
        self.state.bump("lists")
        self.read_body()
        g = lambda k: qs.get(k, [""])[0]  # noqa: E731
        prefix, delimiter = g("prefix"), g("delimiter")
        marker = max(g("start-after"), g("continuation-token"))
        try:
            max_keys = int(g("max-keys") or 1000)
        except ValueError:
            max_keys = 1000
        params = {"prefix": prefix}
        if delimiter:
            params["delimiter"] = delimiter
        conn, resp = self.upstream(
            "GET", f"/{q(bucket)}?" + urllib.parse.urlencode(params), None, {}
        )
        try:
            data = resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            return self.send(resp.status, {}, data)
        root = ET.fromstring(data)
        entries = []  # (name, kind, element-fields)
        for el in root:
            tag = _local(el.tag)
            if tag == "Contents":
                f = {_local(c.tag): (c.text or "") for c in el}
                entries.append((f.get("Key", ""), "c", f))
            elif tag == "CommonPrefixes":
                f = {_local(c.tag): (c.text or "") for c in el}
                entries.append((f.get("Prefix", ""), "p", f))
        entries.sort(key=lambda e: e[0])
        if marker:
            entries = [e for e in entries if e[0] > marker]
        truncated = len(entries) > max_keys
        page = entries[:max_keys]
        out = ['<?xml version="1.0" encoding="UTF-8"?><ListBucketResult>']
        out.append(f"<Name>{_esc(bucket)}</Name><Prefix>{_esc(prefix)}</Prefix>")
        if delimiter:
            out.append(f"<Delimiter>{_esc(delimiter)}</Delimiter>")
        out.append(f"<KeyCount>{len(page)}</KeyCount><MaxKeys>{max_keys}</MaxKeys>")
        out.append(f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>")
        if truncated:
            out.append(f"<NextContinuationToken>{_esc(page[-1][0])}</NextContinuationToken>")
        for name, kind, f in page:
            if kind == "c":
                etag = f.get("ETag", "")
                if etag and not etag.startswith('"'):
                    etag = json.dumps(etag)
                out.append(
                    f"<Contents><Key>{_esc(name)}</Key>"
                    f"<Generation>{f.get('Generation', '')}</Generation>"
                    f"<LastModified>{f.get('LastModified', '')}</LastModified>"
                    f"<ETag>{_esc(etag)}</ETag><Size>{f.get('Size', '0')}</Size></Contents>"
                )
            else:
                out.append(f"<CommonPrefixes><Prefix>{_esc(name)}</Prefix></CommonPrefixes>")
        out.append("</ListBucketResult>")
        return self.send(200, {}, "".join(out).encode())


class _BytesFile:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = len(self.data) - self.pos
        out = self.data[self.pos : self.pos + n]
        self.pos += len(out)
        return out


def _drain(reader) -> None:
    while reader.read(CHUNK):
        pass


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _strip_w(tag: str) -> str:
    tag = tag.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    return tag.strip('"')


def _http_date(s: str):
    try:
        return parsedate_to_datetime(s)
    except (TypeError, ValueError):
        import datetime as _dt

        return _dt.datetime.max.replace(tzinfo=_dt.UTC)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument(
        "--upstream", required=True, help="host:port of fake-gcs-server (its -public-host)"
    )
    ap.add_argument("--spool", required=True, help="directory for multipart parts")
    args = ap.parse_args(argv)
    os.makedirs(args.spool, exist_ok=True)
    Handler.state = State(args.upstream, args.spool)
    srv = Server((args.host, args.port), Handler)
    sys.stderr.write(f"gcs adapter on http://{args.host}:{args.port} -> http://{args.upstream}\n")
    sys.stderr.flush()
    try:
        srv.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
