"""Raw material of the fuzz cases: Hypothesis strategies for strings, bytes, numbers, dicts, URLs.

Every strategy takes a `Reach`: which hosts a generated URL may name. With ``hosts="any"`` (only
inside a network namespace that has nothing but loopback) any host goes; with
``hosts="loopback"`` every string and bytes value is kept to what `is_safe_url` allows, so that
no value can ever make the library connect outside 127.0.0.0/8, wherever it ends up.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import UTC, timedelta
from functools import cache
from typing import Any

from hypothesis import strategies as st

# --------------------------------------------------------------------------------------------------
# Where generated URLs may point


@dataclass(frozen=True)
class Reach:
    """The hosts a run may name, and the live local server every contained case points at."""

    #: "loopback" (127.0.0.0/8 and ::1 only) or "any" (needs a loopback-only network namespace)
    hosts: str
    #: port of the local HTTP server that answers every request (on 127.0.0.1 and ::1)
    port: int

    @property
    def live(self) -> str:
        return f"http://127.0.0.1:{self.port}"


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "127.0.0.2", "127.255.255.254")
#: URL schemes whose authority the WHATWG URL parser (the `url` crate) reads after any number of
#: slashes or backslashes: the ones a value could smuggle a host through.
SPECIAL_SCHEMES = ("http", "https", "ws", "wss", "ftp")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_HOST_PORT = re.compile(r"^(\[::1\]|[a-z0-9.\-]*)(?::(\d*))?$")


def is_safe_url(value: str, live_port: int | None = None, bare_host: bool = False) -> bool:
    """Whether `value`, read as a URL by any parser the library uses, can only reach loopback.

    Conservative: a string is safe when it has no scheme and no ``//`` (nothing to connect to),
    or a non-HTTP scheme (the HTTP client refuses it), or an HTTP(S)-like scheme whose authority
    is exactly one of `LOOPBACK_HOSTS` (optionally with a numeric port; with `live_port`, only
    that port) or empty. The URL parser drops tabs and newlines anywhere and control characters
    and spaces at both ends, and treats ``\\`` as ``/`` in these schemes: so does this check.
    With `bare_host`, a value without a scheme is read as ``http://`` + value, as the HTTP
    client reads a proxy URL.
    """
    norm = re.sub(r"[\t\n\r]", "", value).strip("".join(map(chr, range(33)))).lower()
    scheme = _SCHEME.match(norm)
    if scheme is None and bare_host:
        norm, scheme = "http://" + norm, _SCHEME.match("http:")
    if scheme is None:
        return "//" not in norm.replace("\\", "/")
    name = scheme.group(1)
    if name == "file" or name not in SPECIAL_SCHEMES:
        return True
    rest = norm[len(name) + 1 :].lstrip("/\\")
    authority = re.split(r"[/\\?#]", rest, maxsplit=1)[0]
    if authority == "":
        return True
    if "@" in authority or "%" in authority:
        return False
    match = _HOST_PORT.match(authority)
    if match is None:
        return False
    host, port = match.group(1), match.group(2)
    if host == "":
        return True  # "http://:80": no host, nothing to connect to
    if host not in LOOPBACK_HOSTS:
        return False
    return live_port is None or port == str(live_port)


def is_safe_value(value: Any, live_port: int | None = None) -> bool:
    """`is_safe_url` over every str and bytes inside `value` (containers walked)."""
    if isinstance(value, str):
        return is_safe_url(value, live_port)
    if isinstance(value, bytes | bytearray):
        return is_safe_url(bytes(value).decode("latin-1"), live_port)
    if isinstance(value, dict):
        return all(
            is_safe_value(k, live_port) and is_safe_value(v, live_port) for k, v in value.items()
        )
    if isinstance(value, list | tuple | set | frozenset):
        return all(is_safe_value(v, live_port) for v in value)
    return True


# --------------------------------------------------------------------------------------------------
# Strings, bytes and numbers

#: Characters that are not legal in an HTTP header value or a URL, or that mean something there.
AWKWARD_CHARS = "\n\r\t\x00\x01\x7f \"#%&'+/:;<=>?@[\\]^`{|}~é\u2028\u00a0\ufeff🦀"

#: Strings that have tripped parsers before (the issue's known panics among them).
AWKWARD_STRINGS = (
    "",
    " ",
    "\n",
    "\r\n",
    "\x00",
    "tok\n",
    "a b",
    "a\nb",
    "%",
    "%zz",
    "%00",
    "%0A",
    "/",
    "//",
    "a//b",
    "..",
    ".",
    "?",
    "#",
    "@",
    ":",
    ":::: ",
    "[",
    "\\",
    "é",
    "\ud800",
    "🦀",
    "a" * 4000,
    "-1",
    "0",
    "1e309",
    "nan",
    "true",
    "false",
    "TRUE",
    "yes",
    "0s",
    "1ms",
    "-1s",
    "18446744073709551616s",
    "99999999999999999999d",
    "1 year",
    "AES256",
    "aws:kms",
    "sse-c",
    "SHA256",
    "crc64nvme",
    "multipart",
    "etag",
    "header: x-amz-copy-source-if-none-match",
    "dynamo:table",
    "auto",
    "access_key",
    "bearer_token",
    "sas_token",
    "sv=1\n",
    "sv=2020-01-01&sig=a\nb",
    "?a=b&c",
    "=",
    "&&",
    "us-east-1",
    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    "{}",
    '{"type": "service_account"}',
    "http://",
    "https://",
)

EDGE_INTS = (
    0,
    1,
    -1,
    2,
    255,
    256,
    2**16,
    2**31 - 1,
    2**31,
    2**32,
    2**53,
    2**62,
    2**63 - 1,
    2**63,
    2**64 - 1,
    2**64,
    -(2**63),
    -(2**63) - 1,
    -(2**64),
    10**30,
)


@cache  # strategies are immutable; building one per draw costs more than the draw
def texts(reach: Reach) -> st.SearchStrategy[str]:
    """Short strings, weighted towards the awkward ones."""
    ascii_and_awkward = st.sampled_from(
        string.ascii_letters + string.digits + "-_." + AWKWARD_CHARS
    )
    strategy = st.one_of(
        st.sampled_from(AWKWARD_STRINGS),
        st.text(ascii_and_awkward, max_size=24),
        st.text(max_size=16),
        st.builds(
            lambda a, b, c: a + b + c,
            st.text(string.ascii_lowercase, max_size=6),
            st.sampled_from(AWKWARD_STRINGS),
            st.text(string.ascii_lowercase, max_size=6),
        ),
    )
    return _kept_safe(strategy, reach)


@cache
def env_texts(reach: Reach) -> st.SearchStrategy[str]:
    """Strings an environment variable can hold (no NUL, encodable)."""

    def settable(value: str) -> bool:
        return "\x00" not in value and _encodable(value)

    return texts(reach).filter(settable)


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@cache
def integers() -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(EDGE_INTS), st.integers(-(2**70), 2**70), st.integers(-3, 300))


@cache
def durations() -> st.SearchStrategy[timedelta]:
    return st.one_of(
        st.sampled_from(
            [
                timedelta(0),
                timedelta(microseconds=1),
                timedelta(seconds=-1),
                timedelta.max,
                timedelta.min,
            ]
        ),
        st.timedeltas(),
    )


@cache
def scalars(reach: Reach) -> st.SearchStrategy[Any]:
    """One value of any everyday Python type."""
    return st.one_of(
        texts(reach),
        _kept_safe(st.binary(max_size=24), reach),
        integers(),
        st.floats(),
        st.booleans(),
        st.none(),
        durations(),
        st.datetimes(timezones=st.sampled_from([None, UTC])),
    )


@cache
def anything(reach: Reach) -> st.SearchStrategy[Any]:
    """A scalar, or a small list, tuple or dict of them."""
    return st.recursive(
        scalars(reach),
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.tuples(children, children),
            st.dictionaries(texts(reach), children, max_size=3),
        ),
        max_leaves=5,
    )


def _kept_safe(strategy: st.SearchStrategy[Any], reach: Reach) -> st.SearchStrategy[Any]:
    if reach.hosts == "any":
        return strategy
    return strategy.filter(is_safe_value)


# --------------------------------------------------------------------------------------------------
# URLs

#: Endpoints that are no URL at all or have no host (several panicked before this harness).
MALFORMED_URLS = (
    "http://",
    "https://",
    "http:///",
    "http:",
    ":::: ",
    "",
    " ",
    "://",
    "http://:80",
    "http://[::1",
    "http://[",
    "http://]",
    "http//127.0.0.1",
    "127.0.0.1",
    "localhost",
    "http://127.0.0.1:99999",
    "http://127.0.0.1:-1",
    "http://127.0.0.1:port",
    "ftp://127.0.0.1/",
    "data:text/plain,hello",
    "\n",
    "http://127.0.0.1 ",
    "http://127.0.0.1\n",
)

#: Hosts that only a loopback-only network namespace makes safe to name.
OFFBOX_HOSTS = (
    "example.invalid",
    "169.254.169.254",
    "169.254.170.2",
    "10.0.0.1",
    "s3.us-east-1.amazonaws.com",
    "storage.googleapis.com",
    "account.blob.core.windows.net",
    "login.microsoftonline.com",
    "[fe80::1]",
    "0.0.0.0",
    "999.1.1.1",
    "xn--bcher-kva.example",
)


@cache
def urls(reach: Reach, live_only: bool) -> st.SearchStrategy[str]:
    """Endpoint-like strings: the live server, loopback ports, malformed URLs, and (with
    ``hosts="any"``) arbitrary hosts.

    With `live_only`, whatever can be connected to is the live server, so no request is
    refused and retried: cases whose retry settings are not kept short use this.
    """
    live = st.sampled_from(
        [reach.live, f"http://localhost:{reach.port}", f"http://[::1]:{reach.port}"]
    )
    suffix = st.one_of(st.just(""), st.just("/"), st.builds(lambda t: "/" + t, texts(reach)))
    forms: list[st.SearchStrategy[str]] = [
        live,
        st.builds(lambda base, tail: base + tail, live, suffix),
        st.builds(lambda base: base.replace("http://", "HTTP://", 1), live),
        st.sampled_from(MALFORMED_URLS),
    ]
    if not live_only:
        # TLS to the plain-HTTP server fails only when the server gives up: a retried failure.
        forms.append(st.builds(lambda base: base.replace("http://", "https://", 1), live))
        port = st.one_of(
            st.integers(0, 70000).map(str), st.sampled_from(["", "0", "65536", "00080"])
        )
        forms.append(
            st.builds(
                lambda scheme, host, p, tail: f"{scheme}://{host}:{p}{tail}",
                st.sampled_from(["http", "https"]),
                st.sampled_from(LOOPBACK_HOSTS),
                port,
                suffix,
            )
        )
        forms.append(texts(reach))
        if reach.hosts == "any":
            host = st.one_of(st.sampled_from(OFFBOX_HOSTS), texts(reach))
            forms.append(
                st.builds(
                    lambda scheme, h, tail: f"{scheme}://{h}{tail}",
                    st.sampled_from(["http", "https", "HTTP", "s3", "gs"]),
                    host,
                    suffix,
                )
            )
    strategy = st.one_of(*forms)
    if reach.hosts == "any" and not live_only:
        return strategy
    live_port = reach.port if live_only else None
    return strategy.filter(lambda value: is_safe_url(value, live_port))
