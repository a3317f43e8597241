"""obstore: fast, simple access to object storage (S3, GCS, Azure, HTTP, local
files and memory), backed by the Rust ``object_store`` crate.

The functions here take a store from ``obstore.store`` as first argument.
"""

# isort: skip_file
# (order matters: the compiled core must be loaded before `store` imports it)

from typing import TYPE_CHECKING

from . import _obstore
from ._obstore import *  # noqa: F403  (the compiled core's own __all__)
from ._obstore import (
    __version__ as __version__,
    _object_store_source as _object_store_source,
    _object_store_version as _object_store_version,
    _store as _store,
    exceptions as exceptions,
)

# Pure-Python types describing the dicts and strings of the API. They import at
# runtime (not only for type checkers) and stay out of `__all__`, so that
# `from obstore import *` gives exactly the functions and classes of the API.
from ._types import (
    HTTP_METHOD as HTTP_METHOD,
    Attribute as Attribute,
    Attributes as Attributes,
    ChecksumAlgorithm as ChecksumAlgorithm,
    GetOptions as GetOptions,
    ListChunkType as ListChunkType,
    ListResult as ListResult,
    ObjectMeta as ObjectMeta,
    OffsetRange as OffsetRange,
    PutMode as PutMode,
    PutResult as PutResult,
    SignCapableStore as SignCapableStore,
    SuffixRange as SuffixRange,
    UpdateVersion as UpdateVersion,
)

from . import store

# Request hooks (ours: not in obstore 0.12). Like the type names above they stay out of
# `__all__`, which keeps obstore 0.12's names.
from ._hooks import (
    RequestHookHandle as RequestHookHandle,
    add_request_hook as add_request_hook,
    flush_request_hooks as flush_request_hooks,
)

if TYPE_CHECKING:
    from ._events import RequestEvent as RequestEvent
else:

    def __getattr__(name: str) -> object:
        # `RequestEvent` is made on first use (obstore._events says why).
        if name == "RequestEvent":
            from ._events import RequestEvent

            return RequestEvent
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    def __dir__() -> "list[str]":  # `list` here is obstore.list
        return sorted({*globals(), "RequestEvent"})


if TYPE_CHECKING:
    # Classes of returned objects: the compiled core does not export them.
    from ._obstore import AsyncReadableFile as AsyncReadableFile
    from ._obstore import AsyncWritableFile as AsyncWritableFile
    from ._obstore import BytesStream as BytesStream
    from ._obstore import GetResult as GetResult
    from ._obstore import ListStream as ListStream
    from ._obstore import ReadableFile as ReadableFile
    from ._obstore import WritableFile as WritableFile

# At runtime `__all__` is `["exceptions", "store"] + _obstore.__all__`
# ("exceptions" appears twice, as in obstore 0.12, whose `__all__` this keeps).
# mypy cannot evaluate that expression but reads the names of an imported
# `__all__`, so type checkers get the compiled core's list, from its stub, plus
# "store"; stubtest flags any drift.
if TYPE_CHECKING:
    from ._obstore import __all__ as __all__

    __all__ += ["store"]
else:
    __all__ = ["exceptions", "store"] + _obstore.__all__
