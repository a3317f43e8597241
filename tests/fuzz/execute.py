"""Runs one fuzz case (in the worker process) and prints one as a Python reproducer.

`execute` builds what the case describes, checks that a network store can only reach loopback
(`preflight`), performs the one operation and reports how it ended. `reproducer` turns a case
into a short standalone script that does the same.
"""

from __future__ import annotations

import asyncio
import math
import os
import pickle
import shutil
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from .cases import (
    FAMILIES,
    TOKEN_FETCHING_CREDENTIAL_TYPES,
    URL_KEY,
    Buffer,
    Call,
    Case,
    Op,
    PathArg,
    Provider,
    canonical,
)
from .values import is_safe_url, is_safe_value

# --------------------------------------------------------------------------------------------------
# Making the arguments


def materialize(value: Any) -> Any:
    """The argument a case value stands for (markers become buffers, paths and providers)."""
    import obstore

    if isinstance(value, Buffer):
        if value.kind == "memoryview":
            return memoryview(value.data)
        if value.kind == "strided":
            return memoryview(value.data)[::2]
        if value.kind == "bytearray":
            return bytearray(value.data)
        return obstore.Bytes(value.data)
    if isinstance(value, PathArg):
        return Path(value.path)
    if isinstance(value, Provider):
        return _provider(value)
    if isinstance(value, dict):
        return {materialize(k): materialize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [materialize(v) for v in value]
    if isinstance(value, tuple):
        return tuple(materialize(v) for v in value)
    return value


def _provider(spec: Provider) -> Callable[[], Any]:
    if spec.is_async:

        async def provide_async() -> Any:
            return spec.result

        return provide_async

    def provide() -> Any:
        return spec.result

    return provide


def build(call: Call) -> Any:
    """Makes the store (or `Bytes`) a call describes."""
    import obstore
    import obstore.store

    args = materialize(call.args)
    kwargs = materialize(call.kwargs)
    if call.factory == "Bytes":
        return obstore.Bytes(*args, **kwargs)
    if call.factory == "from_url":
        return obstore.store.from_url(*args, **kwargs)
    cls_name, _, method = call.factory.partition(".")
    factory = getattr(obstore.store, cls_name)
    if method:
        factory = getattr(factory, method)
    return factory(*args, **kwargs)


# --------------------------------------------------------------------------------------------------
# What a store may reach


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "on", "yes", "y")


def preflight(case: Case, store: Any, hosts: str, port: int) -> str:
    """Why the operation must not run on `store` ("" when it may).

    With ``hosts="loopback"`` no value of the case may name a host outside loopback, and a
    network store must have a safe endpoint and static credentials (a store without them falls
    back to its cloud's hosts and metadata services). A case whose retries are not kept short
    must reach nothing but the live server, or a refused connection would be retried for
    minutes. The case strategies promise all this; this check keeps the promise when one of
    them has a gap.
    """
    import obstore.store

    live_port = None if case.tame else port
    if isinstance(store, obstore.store.LocalStore):
        root = store.prefix
        if root is None or not str(Path(root).resolve()).startswith(str(Path.cwd().resolve())):
            return f"LocalStore root {root!r} is outside the sandbox"
        return ""
    if isinstance(store, obstore.store.MemoryStore):
        return ""
    if isinstance(store, obstore.store.GCSStore) and case.op is not None and case.op.name == "sign":
        return "GCS signs through a Google API"
    if hosts == "loopback" and not is_safe_value([case.build.args, case.build.kwargs, case.env]):
        return "a value names a host outside loopback"
    if hosts == "any" and case.tame:
        return ""
    # The HTTP client reads a proxy URL without a scheme as http://<value>.
    client = [(str(k).lower(), v) for k, v in (store.client_options or {}).items()]
    client = [(k, v) for k, v in client if URL_KEY.search(k)]
    if not all(is_safe_url(str(v), live_port, bare_host="proxy_url" in k) for k, v in client):
        return f"a client option is not {'on loopback' if case.tame else 'the live server'}"
    if isinstance(store, obstore.store.HTTPStore):
        return "" if is_safe_url(store.url, live_port) else "HTTPStore url"
    family = next(
        (f for f in FAMILIES.values() if isinstance(store, getattr(obstore.store, f.name))), None
    )
    if family is None:
        return f"unknown store type {type(store).__name__}"
    shown = {str(k): v for k, v in store.config.items()}
    # Every URL-like setting, by whatever name (a name the check does not know is still checked).
    named = [*shown.items(), *case.env.items()]
    urls = [(str(k).lower(), v) for k, v in named if URL_KEY.search(str(k).lower())]
    # The HTTP client reads a proxy URL without a scheme as http://<value>.
    if not all(is_safe_url(str(v), live_port, bare_host="proxy_url" in k) for k, v in urls):
        return f"a URL setting is not {'on loopback' if case.tame else 'the live server'}: {urls!r}"
    if any(str(k).lower().endswith("fabric_token_service_url") for k, _ in named):
        return "Fabric credentials reach a token service of their own"
    by_name: dict[str, list[Any]] = {}
    for name, value in [*shown.items(), *case.env.items()]:
        key = canonical(family.name, name.lower())
        if key is not None:
            by_name.setdefault(key, []).append(value)

    def setting(key: str) -> list[Any]:
        name = canonical(family.name, key)
        return by_name.get(name, []) if name is not None else []

    provider = "credential_provider" in case.build.kwargs
    # An endpoint is required even with use_emulator (whose URL is the live server): a value the
    # library does not read as true would leave the store on its cloud's host.
    if not setting(family.endpoint_key):
        return "no endpoint: the store would use its cloud's host"
    if family.name == "S3Store":
        if not ((setting("access_key_id") and setting("secret_access_key")) or provider):
            return "no static S3 credentials"
        if any(_truthy(v) for v in setting("s3_express")):
            return "s3_express reaches amazonaws.com"
        for key in ("copy_if_not_exists", "conditional_put"):
            if any(str(v).strip().lower().startswith("dynamo") for v in setting(key)):
                return f"{key} reaches DynamoDB"
    elif family.name == "GCSStore":
        if not (setting("bearer_token") or provider):
            return "no static GCS credentials"
    else:
        if not (setting("token") or setting("account_key") or setting("sas_key") or provider):
            return "no static Azure credentials"
        types = setting("credential_type")
        if any(str(v).strip().lower() in TOKEN_FETCHING_CREDENTIAL_TYPES for v in types):
            return "credential_type fetches a token"
    return ""


# --------------------------------------------------------------------------------------------------
# Running one case


def run_op(store: Any, op: Op) -> Any:
    """Performs the operation, reading what it returns (a body, a listing) to the end."""
    import obstore

    args = materialize(op.args)
    kwargs = materialize(op.kwargs)
    if op.is_async:
        name = "list" if op.name == "list" else op.name + "_async"
        function = getattr(store, name) if op.method else getattr(obstore, name)
        call_args = args if op.method else (store, *args)

        async def main() -> Any:
            result = function(*call_args, **kwargs)
            if op.name == "list":
                return await result.collect_async()
            result = await result
            if op.name == "get":
                return await result.bytes_async()
            return result

        return asyncio.run(main())
    function = getattr(store, op.name) if op.method else getattr(obstore, op.name)
    result = function(*args, **kwargs) if op.method else function(store, *args, **kwargs)
    if op.name == "get":
        return result.bytes()
    if op.name == "list":
        return result.collect()
    return result


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda b, x: b + x,
    "radd": lambda b, x: x + b,
    "mul": lambda b, x: b * x,
    "rmul": lambda b, x: x * b,
    "getitem": lambda b, x: b[x],
    "contains": lambda b, x: x in b,
    "eq": lambda b, x: b == x,
    "ne": lambda b, x: b != x,
    "lt": lambda b, x: b < x,
    "removeprefix": lambda b, x: b.removeprefix(x),
    "removesuffix": lambda b, x: b.removesuffix(x),
}
_UNARY: dict[str, Callable[[Any], Any]] = {
    "len": len,
    "bool": bool,
    "iter": lambda b: list(iter(b)),
    "to_bytes": lambda b: b.to_bytes(),
    "bytes": bytes,
    "memoryview": lambda b: memoryview(b).tobytes(),
    "pickle": lambda b: pickle.loads(pickle.dumps(b)),
    "hash": hash,
    "repr": repr,
    "reversed": lambda b: list(reversed(b)),
}


def run_bytes_ops(value: Any, ops: tuple[tuple[str, Any], ...]) -> None:
    """Applies each operation to the `Bytes` (a failing one does not stop the next)."""
    for name, operand in ops:
        try:
            if name in _BINARY:
                _BINARY[name](value, materialize(operand))
            elif name in _UNARY:
                _UNARY[name](value)
            else:
                getattr(value, name)()
        except Exception:
            pass


def execute(case: Case, hosts: str, port: int, local_root: str) -> dict[str, Any]:
    """Runs `case`; the outcome: ``kind`` ("ok", "exception", "base_exception" or "skipped"),
    the exception's ``type`` and ``message``, and where it was raised (``stage``)."""
    from . import server

    if os.path.isdir(local_root):
        shutil.rmtree(local_root, ignore_errors=True)
    os.makedirs(local_root, exist_ok=True)
    server.Answers.profile = case.respond
    saved = {name: os.environ.get(name) for name in case.env}
    stage = "build"
    try:
        if case.selftest:
            return _selftest(case.selftest)
        os.environ.update(case.env)
        thing = build(case.build)
        if case.target == "Bytes":
            stage = "bytes"
            run_bytes_ops(thing, case.bytes_ops)
            return {"kind": "ok"}
        if case.op is None:
            return {"kind": "ok"}
        why = preflight(case, thing, hosts, port)
        if why:
            return {"kind": "skipped", "message": why}
        stage = "setup"
        _seed(thing)
        stage = "op"
        run_op(thing, case.op)
        return {"kind": "ok"}
    except Exception as error:
        return {
            "kind": "exception",
            "type": _name(error),
            "message": _message(error),
            "stage": stage,
        }
    except BaseException as error:  # noqa: B036 (the point: PanicException is a BaseException)
        return {
            "kind": "base_exception",
            "type": _name(error),
            "message": _message(error),
            "stage": stage,
        }
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _seed(store: Any) -> None:
    """Objects for the operation to find on in-process stores (network ones serve their own)."""
    import obstore.store

    if isinstance(store, obstore.store.MemoryStore | obstore.store.LocalStore):
        try:
            store.put("a", b"0123456789")
            store.put("dir/b", b"x")
        except Exception:
            pass


def _name(error: BaseException) -> str:
    kind = type(error)
    return f"{kind.__module__}.{kind.__qualname__}"


def _message(error: BaseException) -> str:
    try:
        return str(error)[:4000]
    except Exception as inner:  # a __str__ that fails is a finding's detail, not a harness error
        return f"<str() failed: {inner!r}>"


class SelftestBaseException(BaseException):
    """What the self-test raises in place of a PanicException."""


def _selftest(behaviour: str) -> dict[str, Any]:
    if behaviour == "exception":
        raise ValueError("selftest: an ordinary exception")
    if behaviour == "base_exception":
        raise SelftestBaseException("selftest: a BaseException that is not an Exception")
    if behaviour == "abort":
        os.abort()
    if behaviour == "hang":
        import time

        time.sleep(3600)
    return {"kind": "ok"}


# --------------------------------------------------------------------------------------------------
# Reproducers


def code(value: Any) -> str:
    """`value` as Python source (markers as the expressions that make them)."""
    if isinstance(value, Buffer):
        inner = code(value.data)
        return {
            "memoryview": f"memoryview({inner})",
            "strided": f"memoryview({inner})[::2]",
            "bytearray": f"bytearray({inner})",
        }.get(value.kind, f"obstore.Bytes({inner})")
    if isinstance(value, PathArg):
        return f"pathlib.Path({value.path!r})"
    if isinstance(value, Provider):
        if value.is_async:
            return f"_async_returning({code(value.result)})"
        return f"(lambda: {code(value.result)})"
    if isinstance(value, float):
        if math.isnan(value):
            return "float('nan')"
        if math.isinf(value):
            return "float('inf')" if value > 0 else "float('-inf')"
        return repr(value)
    if isinstance(value, datetime | date | timedelta):
        return repr(value)  # "datetime.timedelta(...)": the reproducer imports datetime
    if isinstance(value, slice):
        return f"slice({code(value.start)}, {code(value.stop)}, {code(value.step)})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{code(k)}: {code(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(code(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(code(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def _call_code(call: Call) -> str:
    args = [code(a) for a in call.args]
    plain = {
        k: v for k, v in call.kwargs.items() if k.isidentifier() and k not in ("async", "lambda")
    }
    args += [f"{k}={code(v)}" for k, v in plain.items()]
    other = {k: v for k, v in call.kwargs.items() if k not in plain}
    if other:
        args.append(f"**{code(other)}")
    if call.factory == "Bytes":
        head = "obstore.Bytes"
    elif call.factory == "from_url":
        head = "obstore.store.from_url"
    else:
        head = "obstore.store." + call.factory
    return f"{head}({', '.join(args)})"


def _op_code(op: Op) -> str:
    parts = [code(a) for a in op.args] + [f"{k}={code(v)}" for k, v in op.kwargs.items()]
    name = op.name + ("_async" if op.is_async and op.name != "list" else "")
    call = (
        f"store.{name}({', '.join(parts)})"
        if op.method
        else f"obstore.{name}(store, {', '.join(parts)})"
    )
    if not op.is_async:
        return call + {"get": ".bytes()", "list": ".collect()"}.get(op.name, "")
    tail = {"get": ".bytes_async()", "list": ".collect_async()"}.get(op.name, "")
    if op.name == "list":
        return f"asyncio.run({call}{tail})"
    if tail:
        return f"asyncio.run(_then({call}, lambda result: result{tail}))"
    return f"asyncio.run(_await({call}))"


def reproducer(case: Case) -> str:
    """A standalone script doing what `case` does. Its requests go to the fuzz run's local server
    (`tests/fuzz/server.py`); most findings need none, as they happen before a byte is sent."""
    lines = ["import asyncio, datetime, os, pathlib", "import obstore, obstore.store", ""]
    if case.selftest:
        return f"# selftest case: {case.selftest}"
    needs = case.op is not None and case.op.is_async and case.op.name != "list"
    if needs:
        lines += [
            "async def _await(awaitable): return await awaitable",
            "async def _then(awaitable, then): return await then(await awaitable)",
            "",
        ]
    if any(isinstance(v, Provider) and v.is_async for v in case.build.kwargs.values()):
        lines += [
            "def _async_returning(value):",
            "    async def provide(): return value",
            "    return provide",
            "",
        ]
    for name, value in case.env.items():
        lines.append(f"os.environ[{name!r}] = {value!r}")
    if case.target == "Bytes":
        lines.append(f"value = {_call_code(case.build)}")
        for name, operand in case.bytes_ops:
            lines.append(_bytes_op_code(name, operand))
        return "\n".join(lines)
    lines.append(f"store = {_call_code(case.build)}")
    if case.op is not None:
        lines.append(_op_code(case.op))
    if case.respond != "plausible":
        lines.append(f"# the server answers: {case.respond}")
    return "\n".join(lines)


def _bytes_op_code(name: str, operand: Any) -> str:
    o = code(operand)
    return {
        "add": f"value + {o}",
        "radd": f"{o} + value",
        "mul": f"value * {o}",
        "rmul": f"{o} * value",
        "getitem": f"value[{o}]",
        "contains": f"{o} in value",
        "eq": f"value == {o}",
        "ne": f"value != {o}",
        "lt": f"value < {o}",
        "removeprefix": f"value.removeprefix({o})",
        "removesuffix": f"value.removesuffix({o})",
        "len": "len(value)",
        "bool": "bool(value)",
        "iter": "list(iter(value))",
        "to_bytes": "value.to_bytes()",
        "bytes": "bytes(value)",
        "memoryview": "memoryview(value).tobytes()",
        "pickle": "import pickle; pickle.loads(pickle.dumps(value))",
        "hash": "hash(value)",
        "repr": "repr(value)",
        "reversed": "list(reversed(value))",
    }.get(name, f"value.{name}()")
