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
    __version__,
    _object_store_source,
    _object_store_version,
    _store,
    exceptions,
)

# Pure-Python types describing the dicts and strings of the API. They import at
# runtime (not only for type checkers) and stay out of `__all__`, so that
# `from obstore import *` gives exactly the functions and classes of the API.
from ._types import (
    HTTP_METHOD as HTTP_METHOD,
    Attribute as Attribute,
    Attributes as Attributes,
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
    RequestEvent as RequestEvent,
    RequestHookHandle as RequestHookHandle,
    add_request_hook as add_request_hook,
    flush_request_hooks as flush_request_hooks,
)

if TYPE_CHECKING:
    # Classes of returned objects: the compiled core does not export them.
    from ._obstore import AsyncReadableFile as AsyncReadableFile
    from ._obstore import AsyncWritableFile as AsyncWritableFile
    from ._obstore import BytesStream as BytesStream
    from ._obstore import GetResult as GetResult
    from ._obstore import ListStream as ListStream
    from ._obstore import ReadableFile as ReadableFile
    from ._obstore import WritableFile as WritableFile

# ruff: noqa: F405  (the names below come from the star import above)
# At runtime this is `["exceptions", "store"] + _obstore.__all__` ("exceptions"
# appears twice, as in obstore 0.12, whose `__all__` this keeps). mypy cannot
# evaluate that expression, so type checkers get the same names spelled out;
# stubtest flags any drift.
if TYPE_CHECKING:
    __all__ = [
        "exceptions",
        "store",
        "__version__",
        "_object_store_version",
        "_object_store_source",
        "_store",
        "exceptions",
        "Bytes",
        "open_reader",
        "open_reader_async",
        "open_writer",
        "open_writer_async",
        "copy_async",
        "copy",
        "delete_async",
        "delete",
        "get_async",
        "get_parallel",
        "get_parallel_async",
        "get_range_async",
        "get_range",
        "get_ranges_async",
        "get_ranges",
        "get",
        "head_async",
        "head",
        "list_with_delimiter_async",
        "list_with_delimiter",
        "list",
        "put_async",
        "put",
        "rename_async",
        "rename",
        "parse_scheme",
        "sign_async",
        "sign",
    ]
else:
    __all__ = ["exceptions", "store"] + _obstore.__all__
