//! `head` / `head_async`: an object's metadata without its body.

use object_store::ObjectStoreExt;
use obstore_stores::{AnyStore, ObstoreResult, PyPath};
use pyo3::prelude::*;

use crate::convert::PyObjectMeta;

async fn head_inner(store: AnyStore, path: PyPath) -> ObstoreResult<PyObjectMeta> {
    Ok(PyObjectMeta(store.inner.head(&path.0).await?))
}

/// The metadata of one object.
#[pyfunction]
pub fn head(py: Python<'_>, store: AnyStore, path: PyPath) -> PyResult<PyObjectMeta> {
    Ok(store.block_on_complete(py, head_inner(store.clone(), path))?)
}

/// The metadata of one object, from asyncio.
#[pyfunction]
pub fn head_async<'py>(
    py: Python<'py>,
    store: AnyStore,
    path: PyPath,
) -> PyResult<Bound<'py, PyAny>> {
    store.into_py_future(py, Some(0), head_inner(store.clone(), path))
}
