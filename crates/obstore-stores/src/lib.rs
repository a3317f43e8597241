//! PyO3 store classes for the `object_store` crate, reusable by any Python extension.
//!
//! Layers, each using only those listed before it:
//! - [`error`]: the Python exception classes and the mapping from `object_store` errors.
//! - [`path`]: parsing of object paths given from Python.
//! - [`url`]: which kind of store a URL names.
//! - [`integrity`]: end-to-end checksums: upload headers, server checksums, verified downloads.
//! - [`buffer`]: zero-copy views of Python buffers, released safely from any thread.
//! - [`bytes`]: `obstore.Bytes`, and bytes in from any Python buffer.
//! - [`config`]: configuration keys, values, environment, client options and retries.
//! - [`runtime`]: the tokio runtime, the HTTP client, the sync-call lanes and the asyncio bridge.
//! - [`sigv4`]: the SigV4 signatures of S3 requests, made in the connector.
//! - [`stores`]: the six store classes, the dispatch over them and `from_url`.

pub mod buffer;
pub mod bytes;
pub mod config;
pub mod error;
pub mod integrity;
pub mod path;
// `pydoc!`, the Python docstrings of every compiled item, generated from the stubs.
mod pydoc;
pub mod runtime;
pub mod sigv4;
pub mod stores;
pub mod url;

/// The version of the `object_store` crate this build links (from Cargo.lock, by build.rs).
pub const OBJECT_STORE_VERSION: &str = env!("OBJECT_STORE_VERSION");
/// Where that crate came from (a cargo source id).
pub const OBJECT_STORE_SOURCE: &str = env!("OBJECT_STORE_SOURCE");

pub use error::{ObstoreError, ObstoreResult};
pub use path::PyPath;
pub use stores::{AnyStore, Executor};

use pyo3::prelude::*;

/// Adds the raw store classes and `from_url` to `module` (the `obstore._store` submodule).
pub fn register_store_module(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<stores::memory::PyMemoryStore>()?;
    module.add_class::<stores::local::PyLocalStore>()?;
    module.add_class::<stores::aws::PyS3Store>()?;
    module.add_class::<stores::gcp::PyGCSStore>()?;
    module.add_class::<stores::azure::PyAzureStore>()?;
    module.add_class::<stores::http::PyHTTPStore>()?;
    module.add_function(wrap_pyfunction!(stores::py_from_url, module)?)?;
    module.add_function(wrap_pyfunction!(stores::py_from_url_as, module)?)?;
    Ok(())
}
