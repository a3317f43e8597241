"""The fuzz cases: what one input is (`Case`), and a Hypothesis strategy per target that makes them.

A case is plain data, so that it can be pickled to the worker process and printed as a Python
reproducer: environment variables to set, one call that builds a store (or a `Bytes`), and one
operation on it, which makes one request against the worker's local server. Every target fuzzes
one entry point of the issue's list and keeps the rest ordinary, so that a finding points at it.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Any
from urllib.parse import unquote

from hypothesis import strategies as st

import obstore
from obstore._config import (
    AzureConfig,
    BackoffConfig,
    ClientConfig,
    GCSConfig,
    RetryConfig,
    S3Config,
)

from .values import (
    Reach,
    anything,
    durations,
    env_texts,
    integers,
    is_safe_url,
    is_safe_value,
    texts,
    urls,
)

# --------------------------------------------------------------------------------------------------
# The data of one case


@dataclass(frozen=True)
class Provider:
    """A credential provider: a plain function returning `result` (a coroutine if `is_async`)."""

    result: Any
    is_async: bool = False


@dataclass(frozen=True)
class Buffer:
    """A buffer argument that is not picklable as such: made in the worker from `data`."""

    kind: str  # "memoryview", "strided" (memoryview(data)[::2]), "bytearray", "Bytes"
    data: bytes


@dataclass(frozen=True)
class Call:
    """One call: ``factory(*args, **kwargs)``; `factory` names a store class, a ``from_url`` or
    ``Bytes``."""

    factory: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Op:
    """One operation on the store: ``obstore.<name>(store, ...)`` or ``store.<name>(...)``."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    method: bool = False
    is_async: bool = False


@dataclass(frozen=True)
class Case:
    """One fuzz input."""

    target: str
    #: environment variables set while the store is built and used
    env: dict[str, str] = field(default_factory=dict)
    #: what builds the object under test
    build: Call = field(default_factory=lambda: Call("MemoryStore"))
    #: the one operation (a request, for network stores); None: construction only
    op: Op | None = None
    #: `Bytes` operations: (operator name, operand)
    bytes_ops: tuple[tuple[str, Any], ...] = ()
    #: how the local server answers (see `server.PROFILES`)
    respond: str = "plausible"
    #: the retry settings keep every request short: connection failures are allowed
    tame: bool = False
    #: `selftest` target only: what the worker does instead
    selftest: str = ""


# --------------------------------------------------------------------------------------------------
# The configuration keys, read from the TypedDicts so that a new key is fuzzed without an edit


@cache
def typed_keys(typed_dict: type) -> dict[str, Any]:
    return typing.get_type_hints(typed_dict)


@dataclass(frozen=True)
class Family:
    """What the fuzzer needs to know about one cloud store class."""

    name: str
    config: type
    positional: str
    env_prefix: str
    endpoint_key: str
    #: alternatives, each a set of keys that together make static credentials
    credentials: tuple[tuple[str, ...], ...]
    #: other spellings the library may accept, by TypedDict key (each checked by `canonical`)
    aliases: dict[str, tuple[str, ...]]
    #: URL forms for from_url, ``{name}`` filled in with generated text
    url_forms: tuple[str, ...]

    @property
    def keys(self) -> dict[str, Any]:
        return typed_keys(self.config)  # cached: read once per TypedDict

    def spellings(self, key: str) -> tuple[str, ...]:
        """`key` and the other spellings the library reads as the same setting."""
        return _spellings(self.name, key, self.aliases.get(key, ()), self.env_prefix.lower())

    def env_names(self, key: str) -> tuple[str, ...]:
        """The environment variables the library reads `key` from."""
        prefix = self.env_prefix.lower()
        return tuple(s.upper() for s in self.spellings(key) if s.startswith(prefix))


@cache
def canonical(store_class: str, spelling: str) -> str | None:
    """The library's own name for a configuration key spelling, None if it does not know it.

    Asked of the library (a duplicate-key error names the key), so that nothing here assumes a
    spelling the library would ignore: an invented environment variable name for a credential
    would leave a store without credentials, falling back to a metadata service.
    """
    import obstore.store
    from obstore.exceptions import UnknownConfigurationKeyError

    cls = getattr(obstore.store, store_class)
    try:
        cls(config={spelling: "x"}, **{spelling.upper(): "x"})
    except UnknownConfigurationKeyError:
        return None
    except Exception as error:
        match = re.search(r"Duplicate key (\S+)", str(error))
        return match.group(1) if match else None
    return None


@cache
def _spellings(
    store_class: str, key: str, aliases: tuple[str, ...], prefix: str
) -> tuple[str, ...]:
    name = canonical(store_class, key)
    if name is None:
        return (key,)
    candidates = (*aliases, prefix + key, prefix + "storage_" + key)
    others = [s for s in candidates if s != key and canonical(store_class, s) == name]
    return (key, *dict.fromkeys(others))


FAMILIES: dict[str, Family] = {
    "S3Store": Family(
        name="S3Store",
        config=S3Config,
        positional="bucket",
        env_prefix="AWS_",
        endpoint_key="endpoint",
        credentials=(("access_key_id", "secret_access_key"),),
        aliases={
            "bucket": ("aws_bucket", "aws_bucket_name", "bucket_name"),
            "endpoint": ("aws_endpoint_url", "aws_endpoint", "endpoint_url"),
            "session_token": ("aws_session_token", "aws_token", "token"),
            "endpoint_url_sts": ("aws_endpoint_url_sts",),
        },
        url_forms=(
            "s3://{name}",
            "s3a://{name}/{name}",
            "s3://{name}/{name}/{name}",
            "https://{name}.s3.{name}.amazonaws.com/{name}",
            "https://s3.{name}.amazonaws.com/{name}",
            "https://s3.dualstack.{name}.amazonaws.com/{name}",
            "https://{name}.r2.cloudflarestorage.com/{name}",
        ),
    ),
    "GCSStore": Family(
        name="GCSStore",
        config=GCSConfig,
        positional="bucket",
        env_prefix="GOOGLE_",
        endpoint_key="base_url",
        credentials=(("bearer_token",),),
        aliases={
            "bucket": ("google_bucket", "google_bucket_name", "bucket_name"),
            "service_account": ("service_account_path", "google_service_account_path"),
        },
        url_forms=("gs://{name}", "gs://{name}/{name}", "gs://{name}/{name}/{name}"),
    ),
    "AzureStore": Family(
        name="AzureStore",
        config=AzureConfig,
        positional="container_name",
        env_prefix="AZURE_",
        endpoint_key="endpoint",
        credentials=(("token",), ("account_key",)),
        aliases={
            "account_key": (
                "azure_storage_account_key",
                "azure_storage_access_key",
                "master_key",
                "access_key",
            ),
            "account_name": ("azure_storage_account_name",),
            "sas_key": ("azure_storage_sas_key", "azure_storage_sas_token", "sas_token"),
            "token": ("azure_storage_token", "bearer_token"),
            "endpoint": ("azure_storage_endpoint", "azure_endpoint"),
            "tenant_id": ("azure_tenant_id", "authority_id"),
            "msi_endpoint": ("azure_identity_endpoint", "identity_endpoint"),
            "use_emulator": ("azure_storage_use_emulator",),
        },
        url_forms=(
            "az://{name}",
            "az://{name}/{name}",
            "adl://{name}/{name}",
            "azure://{name}",
            "abfs://{name}/{name}",
            "abfss://{name}@{name}.dfs.core.windows.net/{name}",
            "https://{name}.blob.core.windows.net/{name}/{name}",
            "https://{name}.dfs.fabric.microsoft.com/{name}",
        ),
    ),
}

CLIENT_KEYS = typed_keys(ClientConfig)
RETRY_KEYS = typed_keys(RetryConfig)
BACKOFF_KEYS = typed_keys(BackoffConfig)
GET_OPTION_KEYS = typed_keys(obstore.GetOptions)

#: Keys whose value is a URL, a host or a path to one: they get `urls` values.
URL_KEY = re.compile(r"endpoint|url|uri|host")

#: Azure credential types that fetch a token from a host of their own (never loopback).
TOKEN_FETCHING_CREDENTIAL_TYPES = {
    "client_secret",
    "workload_identity",
    "managed_identity",
    "azure_cli",
}


def _is_bool(hint: Any) -> bool:
    return hint is bool or (typing.get_origin(hint) is not None and bool in typing.get_args(hint))


def _has_timedelta(hint: Any) -> bool:
    return hint is timedelta or timedelta in typing.get_args(hint)


def _literals(hint: Any) -> list[Any]:
    out: list[Any] = []
    for arg in typing.get_args(hint) or ():
        if typing.get_origin(arg) is typing.Literal:
            out.extend(typing.get_args(arg))
    if typing.get_origin(hint) is typing.Literal:
        out.extend(typing.get_args(hint))
    return out


def sometimes(draw: st.DrawFn, one_in: int) -> bool:
    """True once in `one_in` draws; False when shrunk, so a reproducer keeps only what matters."""
    return draw(st.integers(1, one_in)) == one_in


# --------------------------------------------------------------------------------------------------
# Values of configuration keys


@dataclass(frozen=True)
class Context:
    """Everything a strategy needs: where it may point, and the worker's sandbox directory."""

    reach: Reach
    #: a directory of the worker's own: LocalStore roots and file:// URLs stay below it
    local_root: str


@cache
def key_values(ctx: Context, key: str, hint: Any, live_only: bool) -> st.SearchStrategy[Any]:
    """Values for one configuration key: its own type mostly, anything sometimes."""
    reach = ctx.reach
    own: list[st.SearchStrategy[Any]] = []
    if URL_KEY.search(key):
        own.append(urls(reach, live_only))
    if _is_bool(hint):
        own.append(st.booleans())
        own.append(st.sampled_from(["true", "false", "1", "0", "yes", "no", "", "TRUE", "maybe"]))
    if _has_timedelta(hint) or "timeout" in key or "interval" in key:
        own.append(durations())
        own.append(
            st.sampled_from(["30s", "0s", "1ms", "-1s", "2m 30s", "1 year", "184467440737s", "x"])
        )
    literals = _literals(hint)
    if literals:
        own.append(st.sampled_from(literals))
    if typing.get_origin(hint) is dict or "headers" in key:
        own.append(
            st.dictionaries(
                texts(reach), st.one_of(texts(reach), st.binary(max_size=8)), max_size=3
            )
        )
    own.append(texts(reach))
    values = st.one_of(st.one_of(*own), st.one_of(*own), st.one_of(*own), anything(reach))
    if live_only and URL_KEY.search(key):
        values = values.filter(lambda v: is_safe_value(v, reach.port))
    if "proxy_url" in key and reach.hosts == "loopback":
        values = values.filter(lambda v: not isinstance(v, str) or is_safe_url(v, bare_host=True))
    if "proxy_url" in key and live_only:
        values = values.filter(
            lambda v: not isinstance(v, str) or is_safe_url(v, reach.port, bare_host=True)
        )
    return values


def _restricted(family: Family, key: str, value: Any) -> bool:
    """Values a loopback-only run must not build a store with: they reach hosts of their own."""
    text = str(value).strip().lower()
    if key == "s3_express" or key.startswith("fabric_"):
        return True  # Fabric: a token service and a workload host of its own
    if key in ("copy_if_not_exists", "conditional_put") and text.startswith("dynamo"):
        return True
    return key == "credential_type" and text in TOKEN_FETCHING_CREDENTIAL_TYPES


# --------------------------------------------------------------------------------------------------
# Retry settings: kept short unless every connectable URL of the case is the live server


@cache
def tame_retry_configs() -> st.SearchStrategy[dict[str, Any]]:
    """Retry settings under which no request takes long, whatever it meets."""
    return st.fixed_dictionaries(
        {
            "max_retries": st.integers(0, 2),
            "backoff": st.fixed_dictionaries(
                {
                    "init_backoff": st.timedeltas(timedelta(0), timedelta(milliseconds=50)),
                    "max_backoff": st.timedeltas(timedelta(0), timedelta(milliseconds=100)),
                    "base": st.floats(1.0, 4.0),
                }
            ),
        },
        optional={"retry_timeout": st.timedeltas(timedelta(0), timedelta(seconds=2))},
    )


@cache
def wild_retry_configs(reach: Reach) -> st.SearchStrategy[Any]:
    """Any retry settings, well formed or not."""

    def typed(hint: Any) -> st.SearchStrategy[Any]:
        if hint is int:
            return integers()
        if _has_timedelta(hint):
            return durations()
        return st.one_of(integers(), st.floats())

    backoff = st.dictionaries(
        st.one_of(st.sampled_from(sorted(BACKOFF_KEYS)), texts(reach)),
        st.one_of(st.one_of(*(typed(h) for h in BACKOFF_KEYS.values())), anything(reach)),
        max_size=4,
    )
    retry = st.dictionaries(
        st.one_of(st.sampled_from(sorted(RETRY_KEYS)), texts(reach)),
        st.one_of(integers(), durations(), backoff, anything(reach)),
        max_size=4,
    )
    return st.one_of(retry, anything(reach))


# --------------------------------------------------------------------------------------------------
# Store constructors


@dataclass
class _Settings:
    """Where each setting went: positional, ``config=``, keyword or environment."""

    positional: list[Any] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


def _place(
    draw: st.DrawFn, ctx: Context, family: Family, key: str, value: Any, out: _Settings
) -> None:
    """Puts one setting in one of the places the library reads it from, under one spelling."""
    spelling = draw(st.sampled_from(family.spellings(key)))
    if sometimes(draw, 10):
        spelling = spelling.upper()
    places = ["kwargs", "config"]
    env_names = family.env_names(key)
    if env_names and isinstance(value, str) and "\x00" not in value and _encodes(value):
        places.append("env")
    if key == family.positional and not out.positional:
        places.insert(0, "positional")
    place = draw(st.sampled_from(places))
    if place == "positional":
        out.positional.append(value)
    elif place == "env":
        out.env[draw(st.sampled_from(env_names))] = value
    elif place == "config":
        out.config[spelling] = value
    elif spelling not in (
        "prefix",
        "config",
        "client_options",
        "retry_config",
        "credential_provider",
    ):
        out.kwargs[spelling] = value
    else:
        out.config[spelling] = value


def _encodes(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


@st.composite
def client_options(draw: st.DrawFn, ctx: Context, live_only: bool, few: bool) -> dict[str, Any]:
    """A ``client_options`` dict: a few keys (their own values mostly), ``allow_http`` usually."""
    keys = draw(
        st.lists(st.sampled_from(sorted(CLIENT_KEYS)), max_size=1 if few else 4, unique=True)
    )
    options = {key: draw(key_values(ctx, key, CLIENT_KEYS[key], live_only)) for key in keys}
    if not sometimes(draw, 5):
        options["allow_http"] = True
    if not few and sometimes(draw, 20):
        options[draw(texts(ctx.reach))] = draw(anything(ctx.reach))
    return options


@st.composite
def cloud_store(
    draw: st.DrawFn,
    ctx: Context,
    family: Family,
    *,
    fuzz_keys: bool = True,
    fuzz_env: bool = False,
    single_key: bool = False,
    url: str | None = None,
) -> tuple[Call, dict[str, str], bool]:
    """A call that builds a store of `family`, its environment, and whether it is tame.

    With ``hosts="loopback"``, or when the retry settings are not tame, the store always has an
    endpoint (a loopback one, or the live server) and static credentials, so nothing it does
    can fetch a token or an object from a host of its own.
    """
    reach = ctx.reach
    retry_kind = draw(st.sampled_from(["absent", "tame", "tame", "wild"]))
    tame = retry_kind == "tame"
    live_only = not tame
    contained = reach.hosts == "loopback" or live_only
    keys = family.keys
    chosen: dict[str, Any] = {}
    if fuzz_keys:
        names = sorted(keys)
        if single_key:
            picked = [draw(st.sampled_from(names))]
        else:
            picked = draw(st.lists(st.sampled_from(names), max_size=6, unique=True))
        for key in picked:
            chosen[key] = draw(key_values(ctx, key, keys[key], live_only))
    # The ordinary part: an endpoint, credentials and a name, where the fuzzed keys left a gap.
    ordinary_name = st.sampled_from(["bucket", "container", "b", "test-bucket"])
    if family.positional not in chosen and not sometimes(draw, 20):
        chosen[family.positional] = draw(ordinary_name)
    if family.name == "AzureStore" and "account_name" not in chosen and not sometimes(draw, 20):
        chosen["account_name"] = draw(st.sampled_from(["account", "devstoreaccount1"]))
    if family.endpoint_key not in chosen and (contained or draw(st.booleans())):
        chosen[family.endpoint_key] = draw(
            st.one_of(st.just(reach.live), urls(reach, live_only))
            if fuzz_keys
            else st.just(reach.live)
        )
    credentials = draw(st.sampled_from(family.credentials))
    if contained or draw(st.booleans()):
        for key in credentials:
            if key not in chosen:
                chosen[key] = draw(texts(reach)) if fuzz_keys else "key"
    if contained:
        chosen = {k: v for k, v in chosen.items() if not _restricted(family, k, v)}
        if not any(all(k in chosen for k in alternative) for alternative in family.credentials):
            for key in credentials:
                chosen[key] = "key"
        chosen.setdefault(family.endpoint_key, reach.live)
    out = _Settings()
    for key, value in chosen.items():
        _place(draw, ctx, family, key, value, out)
    if fuzz_env:
        for key in draw(
            st.lists(st.sampled_from(sorted(keys)), min_size=1, max_size=3, unique=True)
        ):
            env_names = family.env_names(key)
            value = draw(
                st.one_of(urls(reach, live_only), env_texts(reach))
                if URL_KEY.search(key)
                else env_texts(reach)
            )
            if env_names and not (contained and _restricted(family, key, value)):
                out.env[draw(st.sampled_from(env_names))] = value
    if fuzz_keys and sometimes(draw, 30):
        # A second spelling of one key: the library must refuse the duplicate, not pick one.
        key = draw(st.sampled_from(sorted(chosen) or [family.positional]))
        _place(draw, ctx, family, key, chosen.get(key, "dup"), out)
    client = draw(client_options(ctx, live_only, few=not fuzz_keys))
    kwargs: dict[str, Any] = dict(out.kwargs)
    if out.config or sometimes(draw, 10):
        kwargs["config"] = out.config
    if client:
        kwargs["client_options"] = client
    if tame:
        kwargs["retry_config"] = draw(tame_retry_configs())
    elif retry_kind == "wild":
        kwargs["retry_config"] = draw(wild_retry_configs(reach))
    if fuzz_keys and sometimes(draw, 10):
        kwargs["prefix"] = draw(st.one_of(texts(reach), anything(reach)))
    if url is not None:
        return Call(f"{family.name}.from_url", (url,), kwargs), out.env, tame
    return Call(family.name, tuple(out.positional), kwargs), out.env, tame


@cache
def local_paths(ctx: Context) -> st.SearchStrategy[str]:
    """Directory paths at or below the sandbox, spelled awkwardly."""

    def below(text: str) -> str:
        parts = [p for p in re.split(r"[/\\]", text) if _kept_segment(p)]
        return ctx.local_root + ("/" + "/".join(parts) if parts else "")

    return st.one_of(
        st.just(ctx.local_root), st.just(ctx.local_root + "/"), texts(ctx.reach).map(below)
    )


def _kept_segment(segment: str) -> bool:
    """Whether a path segment cannot climb out of the sandbox in a path or a file:// URL."""
    cleaned = unquote(re.sub(r"[\t\n\r]", "", segment)).strip()
    return cleaned not in (".", "..") and "%" not in segment


@st.composite
def local_store(draw: st.DrawFn, ctx: Context) -> Call:
    """A LocalStore below the sandbox (a path, a `Path` or no path at all) and its options."""
    reach = ctx.reach
    prefix: Any = draw(
        st.one_of(
            local_paths(ctx),
            local_paths(ctx).map(lambda p: ("path", p)),
            # Values that are no path at all; never bytes or PathLike (they could name any root).
            st.one_of(
                integers(),
                st.floats(),
                st.booleans(),
                st.dictionaries(texts(reach), texts(reach), max_size=2),
            ),
        )
    )
    if isinstance(prefix, tuple):
        prefix = PathArg(prefix[1])
    kwargs: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from(["automatic_cleanup", "mkdir"]), unique=True)):
        kwargs[key] = draw(st.one_of(st.booleans(), anything(reach)))
    if sometimes(draw, 10):
        kwargs[draw(texts(reach))] = draw(anything(reach))
    return Call("LocalStore", (prefix,), kwargs)


@dataclass(frozen=True)
class PathArg:
    """A `pathlib.Path` argument (made in the worker)."""

    path: str


@st.composite
def http_store(draw: st.DrawFn, ctx: Context, fuzz: bool = True) -> tuple[Call, bool]:
    """An HTTPStore (or its from_url) on a generated URL, and whether its retries are tame."""
    reach = ctx.reach
    tame = draw(st.booleans())
    url = draw(urls(reach, live_only=not tame)) if fuzz else reach.live
    if fuzz and sometimes(draw, 10):
        url = draw(anything(reach))
    kwargs: dict[str, Any] = {}
    client = draw(client_options(ctx, live_only=not tame, few=not fuzz))
    if client:
        kwargs["client_options"] = client
    if tame:
        kwargs["retry_config"] = draw(tame_retry_configs())
    elif fuzz and draw(st.booleans()):
        kwargs["retry_config"] = draw(wild_retry_configs(reach))
    factory = draw(st.sampled_from(["HTTPStore", "HTTPStore.from_url"])) if fuzz else "HTTPStore"
    return Call(factory, (url,), kwargs), tame


# --------------------------------------------------------------------------------------------------
# Operations


@cache
def paths(ctx: Context) -> st.SearchStrategy[Any]:
    """Object paths: ordinary, invalid, awkward, and not a string at all."""
    return st.one_of(
        st.sampled_from(["a", "dir/b", "a/b/c.txt", "missing"]),
        st.sampled_from(
            ["a//b", "..", ".", "a/../b", "./a", "a/.", "//", "/a", "a/", "%2e%2e", "a\\b"]
        ),
        texts(ctx.reach),
        anything(ctx.reach),
    )


@cache
def destructive_paths(ctx: Context, store_factory: str) -> st.SearchStrategy[Any]:
    """Paths for put/delete/copy/rename: on a LocalStore none that could climb out of the root
    should the library fail to refuse it (they are still read by head/get/list)."""
    if store_factory.startswith("LocalStore") or store_factory == "from_url:file":
        return paths(ctx).filter(
            lambda p: not isinstance(p, str) or all(_kept_segment(s) for s in re.split(r"[/\\]", p))
        )
    return paths(ctx)


@cache
def get_options(ctx: Context, fuzz: bool) -> st.SearchStrategy[Any]:
    """``GetOptions`` dicts: every key, typed values mostly, anything sometimes."""
    reach = ctx.reach
    if not fuzz:
        return st.one_of(st.none(), st.just({"range": (0, 2)}), st.just({"head": True}))
    ranges = st.one_of(
        st.tuples(integers(), integers()),
        st.lists(integers(), max_size=3),
        st.fixed_dictionaries({"offset": integers()}),
        st.fixed_dictionaries({"suffix": integers()}),
        st.dictionaries(
            st.sampled_from(["offset", "suffix", "start", "end"]), integers(), max_size=2
        ),
    )
    typed = {
        "if_match": st.one_of(texts(reach), st.none()),
        "if_none_match": st.one_of(texts(reach), st.none()),
        "if_unmodified_since": st.one_of(st.datetimes(), st.none(), texts(reach)),
        "if_modified_since": st.one_of(st.datetimes(), st.none(), texts(reach)),
        "range": ranges,
        "version": st.one_of(texts(reach), st.none()),
        "head": st.one_of(st.booleans(), anything(reach)),
    }

    @st.composite
    def options(draw: st.DrawFn) -> Any:
        keys = draw(st.lists(st.sampled_from(sorted(GET_OPTION_KEYS)), max_size=4, unique=True))
        out: dict[Any, Any] = {}
        for key in keys:
            values = typed.get(key, anything(reach))
            out[key] = draw(st.one_of(values, values, anything(reach)))
        if sometimes(draw, 10):
            out[draw(texts(reach))] = draw(anything(reach))
        return out

    return st.one_of(options(), anything(reach))


@cache
def int_lists(ctx: Context) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(integers(), max_size=5),
        st.lists(st.integers(0, 2000), max_size=5),
        st.tuples(integers(), integers()),
        anything(ctx.reach),
    )


@st.composite
def operations(
    draw: st.DrawFn,
    ctx: Context,
    network: bool,
    store_factory: str,
    *,
    names: tuple[str, ...] | None = None,
    fuzz_paths: bool = False,
    fuzz_options: bool = False,
    fuzz_ranges: bool = False,
) -> Op:
    """One operation on a store, with ordinary arguments except where asked to fuzz them."""
    reach = ctx.reach
    everything = (
        "head", "get", "get_range", "get_ranges", "put", "delete", "list",
        "list_with_delimiter", "copy", "rename", "get_parallel", "sign",
    )  # fmt: skip
    name = draw(st.sampled_from(names or everything))
    if name == "sign" and not store_factory.startswith(("S3Store", "AzureStore")):
        # Not GCS: without a service account key it signs through a Google API, a host of its own.
        name = "head"
    path = paths(ctx) if fuzz_paths else st.sampled_from(["a", "dir/b", "missing"])
    target_path = destructive_paths(ctx, store_factory) if fuzz_paths else st.just("a2")
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = {}
    if name in ("head", "delete"):
        args = (draw(target_path if name == "delete" else path),)
        if name == "delete" and sometimes(draw, 5):
            args = (draw(st.lists(target_path, max_size=3)),)
    elif name == "get":
        args = (draw(path),)
        options = draw(get_options(ctx, fuzz_options))
        if options is not None:
            kwargs["options"] = options
    elif name == "get_parallel":
        args = (draw(path),)
        options = draw(get_options(ctx, fuzz_options))
        if options is not None:
            kwargs["options"] = options
        if fuzz_ranges or fuzz_options:
            # Not below 64: a 1 KiB object in 1-byte parts is a thousand requests, slow, not hung.
            kwargs["chunk_size"] = draw(
                st.one_of(st.integers(64, 4096), st.sampled_from([0, -1, 2**62, 2**64]))
            )
            kwargs["max_concurrency"] = draw(
                st.one_of(st.integers(1, 16), st.sampled_from([0, -1, 2**62, 2**64]))
            )
    elif name == "get_range":
        args = (draw(path),)
        if fuzz_ranges:
            kwargs["start"] = draw(st.one_of(integers(), anything(reach)))
            kwargs[draw(st.sampled_from(["end", "length"]))] = draw(
                st.one_of(integers(), anything(reach))
            )
            if sometimes(draw, 10):
                kwargs["end" if "length" in kwargs else "length"] = draw(integers())
        else:
            kwargs = {"start": 0, "end": 3}
    elif name == "get_ranges":
        args = (draw(path),)
        if fuzz_ranges:
            kwargs["starts"] = draw(int_lists(ctx))
            for extra in draw(
                st.lists(st.sampled_from(["ends", "lengths"]), min_size=1, max_size=2, unique=True)
            ):
                kwargs[extra] = draw(int_lists(ctx))
            if draw(st.booleans()):
                kwargs["coalesce"] = draw(st.one_of(integers(), anything(reach)))
        else:
            kwargs = {"starts": [0, 2], "ends": [1, 4]}
    elif name == "put":
        data = draw(
            st.one_of(
                st.binary(max_size=64),
                st.binary(max_size=64).map(lambda b: Buffer("memoryview", b)),
                st.binary(max_size=64).map(lambda b: Buffer("bytearray", b)),
                st.binary(max_size=64).map(lambda b: Buffer("Bytes", b)),
                st.lists(st.binary(max_size=16), max_size=3),
            )
        )
        args = (draw(target_path), data)
        if fuzz_paths and sometimes(draw, 5):
            kwargs["attributes"] = draw(st.dictionaries(texts(reach), texts(reach), max_size=2))
        if fuzz_paths and sometimes(draw, 5):
            kwargs["mode"] = draw(
                st.one_of(st.sampled_from(["create", "overwrite"]), anything(reach))
            )
    elif name in ("copy", "rename"):
        args = (draw(path), draw(target_path))
        if draw(st.booleans()):
            kwargs["overwrite"] = draw(st.booleans())
    elif name in ("list", "list_with_delimiter"):
        args = (draw(st.one_of(st.none(), path)),)
        if name == "list" and fuzz_paths and draw(st.booleans()):
            kwargs["offset"] = draw(st.one_of(path, anything(reach)))
    else:  # sign
        method = st.sampled_from(["GET", "PUT", "DELETE", "get"])
        args = (
            draw(st.one_of(method, texts(reach)) if fuzz_paths else method),
            draw(path),
            draw(durations() if fuzz_options or fuzz_paths else st.just(timedelta(minutes=5))),
        )
    return Op(name, args, kwargs, method=draw(st.booleans()), is_async=draw(st.booleans()))


@cache
def responses(tame: bool) -> st.SearchStrategy[str]:
    """How the local server answers; server errors (retried) only when retries are short."""
    profiles = [
        "plausible",
        "plausible",
        "plausible",
        "not_found",
        "precondition",
        "not_modified",
        "forbidden",
        "garbage",
        "empty",
    ]
    if tame:
        profiles += ["server_error", "throttled"]
    return st.sampled_from(profiles)


# --------------------------------------------------------------------------------------------------
# One strategy per target


@st.composite
def ordinary_store(draw: st.DrawFn, ctx: Context) -> tuple[Call, dict[str, str], bool]:
    """A well-formed store of any kind (network ones on the live server), for the targets that
    fuzz what is done with a store rather than how it is built."""
    kind = draw(
        st.sampled_from(
            ["MemoryStore", "LocalStore", "S3Store", "GCSStore", "AzureStore", "HTTPStore"]
        )
    )
    if kind == "MemoryStore":
        return Call("MemoryStore"), {}, True
    if kind == "LocalStore":
        return Call("LocalStore", (ctx.local_root,)), {}, True
    if kind == "HTTPStore":
        call, tame = draw(http_store(ctx, fuzz=False))
        return call, {}, tame
    return draw(cloud_store(ctx, FAMILIES[kind], fuzz_keys=False))


@st.composite
def constructor_cases(draw: st.DrawFn, ctx: Context, target: str) -> Case:
    """A store class with fuzzed arguments, then one ordinary operation."""
    env: dict[str, str] = {}
    if target in FAMILIES:
        call, env, tame = draw(cloud_store(ctx, FAMILIES[target]))
    elif target == "HTTPStore":
        call, tame = draw(http_store(ctx))
    elif target == "LocalStore":
        call, tame = draw(local_store(ctx)), True
    else:  # MemoryStore takes no argument: fuzz the ones it must refuse
        args = [draw(anything(ctx.reach))] if sometimes(draw, 5) else []
        kwargs = {draw(texts(ctx.reach)): draw(anything(ctx.reach))} if sometimes(draw, 5) else {}
        call, tame = Call("MemoryStore", tuple(args), kwargs), True
    op = draw(
        st.one_of(
            st.none(), operations(ctx, target not in ("LocalStore", "MemoryStore"), call.factory)
        )
    )
    return Case(target, env, call, op, respond=draw(responses(tame)), tame=tame)


@st.composite
def from_url_cases(draw: st.DrawFn, ctx: Context) -> Case:
    """``from_url`` (of obstore.store, or of a store class) on generated URLs of every scheme."""
    reach = ctx.reach
    scheme = draw(
        st.sampled_from(
            ["S3Store", "GCSStore", "AzureStore", "HTTPStore", "file", "memory", "text"]
        )
    )
    name = st.one_of(st.sampled_from(["bucket", "b", "account", "us-east-1"]), texts(reach))

    @st.composite
    def filled(draw: st.DrawFn, form: str) -> str:
        return re.sub(r"\{name\}", lambda _: draw(name).replace("\\", "/"), form)

    env: dict[str, str] = {}
    tame = True
    if scheme in FAMILIES:
        family = FAMILIES[scheme]
        url = draw(filled(draw(st.sampled_from(family.url_forms))))
        if reach.hosts == "loopback":
            # The URL names no host here: the store's endpoint is set (to loopback) below.
            url = url if is_safe_url(url) else f"{family.url_forms[0].split(':')[0]}://bucket"
        call, env, tame = draw(cloud_store(ctx, family, url=url))
        call = Call(draw(st.sampled_from([call.factory, "from_url"])), call.args, call.kwargs)
    elif scheme == "HTTPStore":
        call, tame = draw(http_store(ctx))
        call = Call(draw(st.sampled_from([call.factory, "from_url"])), call.args, call.kwargs)
    elif scheme == "file":
        path = draw(local_paths(ctx))
        url = draw(st.sampled_from(["file://", "file:", "FILE://"])) + path
        kwargs = {
            k: draw(st.one_of(st.booleans(), anything(reach)))
            for k in draw(st.lists(st.sampled_from(["mkdir", "automatic_cleanup"]), unique=True))
        }
        call = Call(draw(st.sampled_from(["LocalStore.from_url", "from_url"])), (url,), kwargs)
    elif scheme == "memory":
        url = draw(
            st.sampled_from(["memory:///", "memory://", "memory:", "memory:///a/b", "MEMORY:///"])
        )
        call = Call("from_url", (url,), {})
    else:
        url = draw(st.one_of(texts(reach), anything(reach)))
        call = Call(
            "from_url", (url,), draw(st.dictionaries(texts(reach), anything(reach), max_size=2))
        )
        tame = False  # no retry settings: the operation runs only on the live server
    factory = {"file": "from_url:file", "S3Store": "S3Store", "AzureStore": "AzureStore"}.get(
        scheme, call.factory
    )
    op = draw(
        st.one_of(st.none(), operations(ctx, scheme in FAMILIES or scheme == "HTTPStore", factory))
    )
    return Case("from_url", env, call, op, respond=draw(responses(tame)), tame=tame)


@st.composite
def config_key_cases(draw: st.DrawFn, ctx: Context) -> Case:
    """Exactly one configuration key of one store class with a generated value."""
    family = FAMILIES[draw(st.sampled_from(sorted(FAMILIES)))]
    call, env, tame = draw(cloud_store(ctx, family, single_key=True))
    op = draw(operations(ctx, True, call.factory))
    return Case("config_key", env, call, op, respond=draw(responses(tame)), tame=tame)


@st.composite
def env_cases(draw: st.DrawFn, ctx: Context) -> Case:
    """Generated ``AWS_*`` / ``GOOGLE_*`` / ``AZURE_*`` environment variables."""
    family = FAMILIES[draw(st.sampled_from(sorted(FAMILIES)))]
    call, env, tame = draw(cloud_store(ctx, family, fuzz_keys=False, fuzz_env=True))
    op = draw(operations(ctx, True, call.factory))
    return Case("env", env, call, op, respond=draw(responses(tame)), tame=tame)


@st.composite
def credential_provider_cases(draw: st.DrawFn, ctx: Context) -> Case:
    """A credential provider returning generated credentials (the only way some values enter)."""
    reach = ctx.reach
    family = FAMILIES[draw(st.sampled_from(sorted(FAMILIES)))]
    fields = {
        "S3Store": ["access_key_id", "secret_access_key", "token", "expires_at"],
        "GCSStore": ["token", "expires_at"],
        "AzureStore": ["access_key", "sas_token", "token", "expires_at"],
    }[family.name]
    keys = draw(st.lists(st.sampled_from(fields), max_size=4, unique=True))
    result: Any = {
        k: draw(st.one_of(texts(reach), st.datetimes(), st.none(), anything(reach))) for k in keys
    }
    if family.name == "AzureStore" and sometimes(draw, 4):
        result["sas_token"] = draw(st.lists(st.tuples(texts(reach), texts(reach)), max_size=2))
    if sometimes(draw, 10):
        result = draw(anything(reach))
    call, env, tame = draw(cloud_store(ctx, family, fuzz_keys=False))
    kwargs = dict(call.kwargs, credential_provider=Provider(result, draw(st.booleans())))
    call = Call(call.factory, call.args, kwargs)
    op = draw(operations(ctx, True, call.factory, names=("head", "get", "put", "list", "sign")))
    return Case("credential_provider", env, call, op, respond=draw(responses(tame)), tame=tame)


@st.composite
def operation_cases(draw: st.DrawFn, ctx: Context, target: str) -> Case:
    """An ordinary store; the operation's paths, ``GetOptions`` or ranges are fuzzed."""
    call, env, tame = draw(ordinary_store(ctx))
    network = call.factory not in ("MemoryStore", "LocalStore")
    if target == "paths":
        op = draw(operations(ctx, network, call.factory, fuzz_paths=True))
    elif target == "GetOptions":
        op = draw(
            operations(ctx, network, call.factory, names=("get", "get_parallel"), fuzz_options=True)
        )
    else:
        op = draw(
            operations(
                ctx, network, call.factory, names=("get_ranges", "get_range"), fuzz_ranges=True
            )
        )
    return Case(target, env, call, op, respond=draw(responses(tame)), tame=tame)


#: The `Bytes` operators and methods fuzzed, with the operand each takes (None: none).
BYTES_OPERATIONS = (
    "add", "radd", "mul", "rmul", "getitem", "contains", "eq", "ne", "lt", "len", "bool", "iter",
    "removeprefix", "removesuffix", "isalnum", "isalpha", "isascii", "isdigit", "islower",
    "isspace", "isupper", "lower", "upper", "to_bytes", "bytes", "memoryview", "pickle", "hash",
    "repr", "reversed",
)  # fmt: skip

#: Largest result of a `Bytes` repeat that is actually made: larger ones must fail at once, not
#: fill the memory of a machine shared with others (an allocation of 2**47 bytes and more can
#: never succeed here, and is what the fuzzer tries beyond this bound).
BYTES_REPEAT_LIMIT = 2**24
BYTES_IMPOSSIBLE = 2**47


@st.composite
def bytes_cases(draw: st.DrawFn, ctx: Context) -> Case:
    """``Bytes`` made from generated buffers, then a few operators and methods."""
    reach = ctx.reach
    data = draw(st.binary(max_size=64))
    source = draw(
        st.one_of(
            st.just(data),
            st.sampled_from(["memoryview", "strided", "bytearray", "Bytes"]).map(
                lambda k: Buffer(k, data)
            ),
            st.just(()),
            anything(reach),
        )
    )
    args = () if source == () else (source,)
    ops: list[tuple[str, Any]] = []
    for name in draw(st.lists(st.sampled_from(BYTES_OPERATIONS), min_size=1, max_size=4)):
        operand: Any = None
        if name in ("mul", "rmul"):
            operand = draw(st.one_of(integers(), st.floats(), anything(reach)))
            size = len(data) * operand if isinstance(operand, int) else 0
            if BYTES_REPEAT_LIMIT < size < BYTES_IMPOSSIBLE:
                operand = BYTES_IMPOSSIBLE // max(len(data), 1) + 1
        elif name == "getitem":
            operand = draw(
                st.one_of(
                    integers(),
                    st.builds(
                        slice,
                        st.one_of(st.none(), integers()),
                        st.one_of(st.none(), integers()),
                        st.one_of(st.none(), integers()),
                    ),
                    anything(reach),
                )
            )
        elif name in ("add", "radd", "contains", "eq", "ne", "lt", "removeprefix", "removesuffix"):
            operand = draw(
                st.one_of(
                    st.binary(max_size=16),
                    st.binary(max_size=16).map(lambda b: Buffer("Bytes", b)),
                    st.binary(max_size=16).map(lambda b: Buffer("strided", b)),
                    integers(),
                    anything(reach),
                )
            )
        ops.append((name, operand))
    return Case("Bytes", build=Call("Bytes", args), bytes_ops=tuple(ops))


@st.composite
def selftest_cases(draw: st.DrawFn, ctx: Context) -> Case:
    """Deliberate failures of every kind, proving the harness detects and reports each."""
    behaviour = draw(st.sampled_from(["ok", "exception", "base_exception", "abort", "hang"]))
    return Case("selftest", selftest=behaviour)


#: Every target of a normal run, in the order the issue lists them.
TARGETS: dict[str, Callable[[Context], st.SearchStrategy[Case]]] = {
    "S3Store": lambda ctx: constructor_cases(ctx, "S3Store"),
    "GCSStore": lambda ctx: constructor_cases(ctx, "GCSStore"),
    "AzureStore": lambda ctx: constructor_cases(ctx, "AzureStore"),
    "HTTPStore": lambda ctx: constructor_cases(ctx, "HTTPStore"),
    "LocalStore": lambda ctx: constructor_cases(ctx, "LocalStore"),
    "MemoryStore": lambda ctx: constructor_cases(ctx, "MemoryStore"),
    "from_url": from_url_cases,
    "config_key": config_key_cases,
    "env": env_cases,
    "credential_provider": credential_provider_cases,
    "GetOptions": lambda ctx: operation_cases(ctx, "GetOptions"),
    "paths": lambda ctx: operation_cases(ctx, "paths"),
    "get_ranges": lambda ctx: operation_cases(ctx, "get_ranges"),
    "Bytes": bytes_cases,
}

#: Targets that exist only to test the harness itself.
SELFTEST_TARGETS: dict[str, Callable[[Context], st.SearchStrategy[Case]]] = {
    "selftest": selftest_cases
}


def all_config_keys() -> dict[str, set[str]]:
    """Every key the fuzzer knows, by the place it belongs (for the coverage report)."""
    out = {name: set(family.keys) for name, family in FAMILIES.items()}
    out["client_options"] = set(CLIENT_KEYS)
    out["retry_config"] = set(RETRY_KEYS) | {f"backoff.{k}" for k in BACKOFF_KEYS}
    out["GetOptions"] = set(GET_OPTION_KEYS)
    return out
