//! The compiled module `obstore._obstore`: every object-store operation, sync and async.
//!
//! One file per operation family (`get`, `put`, `list`, `head`, `delete`, `copy`, `reader`, `writer`); the store
//! classes, errors, paths and the runtime come from the reusable `obstore-stores` crate.

mod arrow;
mod body;
mod convert;
mod copy;
mod delete;
mod download;
mod download_buffer;
mod download_file;
mod file_protocol;
mod get;
mod head;
mod list;
mod progress;
mod put;
mod reader;
mod sign;
mod twins;
mod writer;

/// Rust allocations of the extension (request buffers, headers, futures) go to mimalloc: glibc's
/// malloc measured ~11% of the worker threads' CPU on small ranged GETs (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Two mimalloc settings, pinned here rather than left to the vendored version's defaults:
/// - freed memory goes back to the OS after 1 s (`purge_delay`, mimalloc v3's own default).
///   Returning it at once makes every reuse fault the pages in again: ~2 page faults and
///   `madvise` calls per small ranged GET, 2,048 faults per 8 MiB read buffer, and LocalStore
///   streaming and reads of large objects 5–7x slower. The peak RSS it costs measures small:
///   the same on a 1 GiB `bytes()` and on streaming, +9 MiB at 256 requests in flight,
///   +14–70 MiB for a multipart `put` of a file (docs/performance.md);
/// - no transparent huge pages (on this kind of VM a huge-page fault can stall for seconds in
///   compaction, and free huge pages are handed back to the host).
///
/// The option numbers are those of mimalloc v3. An option the user set in the environment
/// (`MIMALLOC_PURGE_DELAY`, `MIMALLOC_ALLOW_THP`, read by mimalloc itself) is left as set.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const ALLOW_THP: libmimalloc_sys::mi_option_t = 43;

fn tune_allocator() {
    let ours = [
        (ALLOW_THP, c"MIMALLOC_ALLOW_THP", 0),
        (PURGE_DELAY, c"MIMALLOC_PURGE_DELAY", 1000),
    ];
    // SAFETY: plain option setters, called once at import before our threads start; `getenv` of
    // a constant name. No allocation may come first: mimalloc reserves its first arena on the
    // first allocation and decides then whether that arena may use huge pages.
    unsafe {
        if (30_000..40_000).contains(&libmimalloc_sys::mi_version()) {
            for (option, variable, value) in ours {
                if libc::getenv(variable.as_ptr()).is_null() {
                    libmimalloc_sys::mi_option_set(option, value);
                }
            }
        }
    }
}

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// Drives a future that panics through one of the ways an operation runs (`mode`: "sync",
/// "sync_complete", "sync_runtime", "async", "async_runtime") on `store`'s executor, so that
/// tests can check that a panic reaches Python as an `obstore.exceptions.BaseError`.
#[pyfunction]
fn _panic_in_call<'py>(
    py: Python<'py>,
    store: obstore_stores::AnyStore,
    mode: &str,
) -> PyResult<Bound<'py, PyAny>> {
    async fn boom() -> PyResult<obstore_stores::runtime::asyncio::PyNone> {
        // Yield once first, so that the panic comes on a later poll (inside a task or lane).
        tokio::task::yield_now().await;
        panic!("a panic raised on purpose by _panic_in_call")
    }
    let none =
        |v: obstore_stores::runtime::asyncio::PyNone| v.into_pyobject(py).map(|v| v.into_any());
    match mode {
        "sync" => none(store.block_on(py, boom())?).map_err(Into::into),
        "sync_complete" => none(store.block_on_complete(py, boom())?).map_err(Into::into),
        "sync_runtime" => none(store.block_on_runtime(py, boom())?).map_err(Into::into),
        "async" => store.into_py_future(py, None, boom()),
        "async_runtime" => store.into_py_future_runtime(py, boom()),
        other => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "unknown mode {other:?}"
        ))),
    }
}

#[doc = obstore_stores::pydoc!(_allocator_settings)]
#[pyfunction]
fn _allocator_settings(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    // SAFETY: plain option getters.
    let (purge_delay, allow_thp) = unsafe {
        (
            libmimalloc_sys::mi_option_get(PURGE_DELAY),
            libmimalloc_sys::mi_option_get(ALLOW_THP),
        )
    };
    let settings = PyDict::new(py);
    settings.set_item("purge_delay_ms", purge_delay)?;
    settings.set_item("allow_thp", allow_thp != 0)?;
    Ok(settings)
}

#[doc = obstore_stores::pydoc!(parse_scheme)]
#[pyfunction]
fn parse_scheme(url: &str) -> PyResult<&'static str> {
    obstore_stores::url::scheme_name(url)
}

const ALL: &[&str] = &[
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
];

fn add_submodule(
    parent: &Bound<'_, PyModule>,
    child: &Bound<'_, PyModule>,
    name: &str,
) -> PyResult<()> {
    let py = parent.py();
    parent.add(name, child)?;
    py.import("sys")?
        .getattr("modules")?
        .set_item(format!("obstore.{name}"), child)?;
    Ok(())
}

#[pymodule]
fn _obstore(module: &Bound<'_, PyModule>) -> PyResult<()> {
    tune_allocator();
    obstore_stores::runtime::check_environment()?;
    let py = module.py();
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add(
        "_object_store_version",
        obstore_stores::OBJECT_STORE_VERSION,
    )?;
    module.add("_object_store_source", obstore_stores::OBJECT_STORE_SOURCE)?;

    let store_module = PyModule::new(py, "_store")?;
    obstore_stores::register_store_module(&store_module)?;
    store_module.add(
        "__all__",
        [
            "from_url",
            "AzureStore",
            "GCSStore",
            "HTTPStore",
            "LocalStore",
            "MemoryStore",
            "S3Store",
        ]
        .iter()
        .filter(|name| store_module.hasattr(**name).unwrap_or(false))
        .collect::<Vec<_>>(),
    )?;
    add_submodule(module, &store_module, "_store")?;

    let exceptions_module = PyModule::new(py, "exceptions")?;
    obstore_stores::error::register_exceptions_module(&exceptions_module)?;
    add_submodule(module, &exceptions_module, "exceptions")?;

    module.add_class::<obstore_stores::bytes::PyBytesWrapper>()?;
    module.add_function(wrap_pyfunction!(parse_scheme, module)?)?;
    module.add_function(wrap_pyfunction!(_allocator_settings, module)?)?;
    module.add_function(wrap_pyfunction!(_panic_in_call, module)?)?;
    obstore_stores::runtime::observe::register(module)?;
    module.add_function(wrap_pyfunction!(get::get, module)?)?;
    module.add_function(wrap_pyfunction!(get::get_async, module)?)?;
    module.add_function(wrap_pyfunction!(get::get_range, module)?)?;
    module.add_function(wrap_pyfunction!(get::get_range_async, module)?)?;
    module.add_function(wrap_pyfunction!(get::get_ranges, module)?)?;
    module.add_function(wrap_pyfunction!(get::get_ranges_async, module)?)?;
    module.add_function(wrap_pyfunction!(download::get_parallel, module)?)?;
    module.add_function(wrap_pyfunction!(download::get_parallel_async, module)?)?;
    download_file::register(module)?;
    module.add_function(wrap_pyfunction!(head::head, module)?)?;
    module.add_function(wrap_pyfunction!(head::head_async, module)?)?;
    module.add_function(wrap_pyfunction!(put::put, module)?)?;
    module.add_function(wrap_pyfunction!(put::put_async, module)?)?;
    module.add_function(wrap_pyfunction!(delete::delete, module)?)?;
    module.add_function(wrap_pyfunction!(delete::delete_async, module)?)?;
    module.add_function(wrap_pyfunction!(copy::copy, module)?)?;
    module.add_function(wrap_pyfunction!(copy::copy_async, module)?)?;
    module.add_function(wrap_pyfunction!(copy::rename, module)?)?;
    module.add_function(wrap_pyfunction!(copy::rename_async, module)?)?;
    module.add_function(wrap_pyfunction!(list::list, module)?)?;
    module.add_function(wrap_pyfunction!(list::list_with_delimiter, module)?)?;
    module.add_function(wrap_pyfunction!(list::list_with_delimiter_async, module)?)?;
    module.add_function(wrap_pyfunction!(reader::open_reader, module)?)?;
    module.add_function(wrap_pyfunction!(reader::open_reader_async, module)?)?;
    module.add_function(wrap_pyfunction!(writer::open_writer, module)?)?;
    module.add_function(wrap_pyfunction!(writer::open_writer_async, module)?)?;
    module.add_function(wrap_pyfunction!(sign::sign, module)?)?;
    module.add_function(wrap_pyfunction!(sign::sign_async, module)?)?;
    module.add("__all__", PyList::new(py, ALL)?)?;
    Ok(())
}
