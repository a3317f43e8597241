//! PyO3 store classes for the `object_store` crate, reusable by any Python extension.
//!
//! Table of contents:
//! - [`error`]: the Python exception classes and the mapping from `object_store` errors.
//! - [`path`]: parsing of object paths given from Python.
//! - [`runtime`]: the process-wide tokio runtime (fork-safe) and blocking with Ctrl-C support.
//! - [`buffer`], [`bytes`]: zero-copy bytes in (any Python buffer) and out (`obstore.Bytes`).
//! - [`asyncio`]: the bridge that hands Rust futures to asyncio with batched wake-ups.
//! - [`store`]: [`store::AnyStore`], the handle every operation receives, extracted from any store class.
//! - [`memory`], [`local`]: the two stores that need no server.
//! - [`url`]: `parse_scheme` and URL dispatch.

pub mod asyncio;
pub mod aws;
pub mod azure;
pub mod buffer;
pub mod bytes;
pub mod config;
pub mod credential;
pub mod error;
pub mod gcp;
pub mod http;
pub mod lane;
pub mod local;
pub mod memory;
pub mod path;
pub mod runtime;
pub mod store;
pub mod url;

pub use error::{ObstoreError, ObstoreResult};
pub use path::PyPath;
pub use store::{AnyStore, Executor};

use pyo3::prelude::*;

/// Adds the raw store classes and `from_url` to `module` (the `obstore._store` submodule).
pub fn register_store_module(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<memory::PyMemoryStore>()?;
    module.add_class::<local::PyLocalStore>()?;
    module.add_class::<aws::PyS3Store>()?;
    module.add_class::<gcp::PyGCSStore>()?;
    module.add_class::<azure::PyAzureStore>()?;
    module.add_class::<http::PyHTTPStore>()?;
    config::register_hooks();
    module.add_function(wrap_pyfunction!(url::from_url, module)?)?;
    Ok(())
}
