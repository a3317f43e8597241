//! `head` / `head_async`: an object's metadata without its body.

use object_store::{GetOptions, ObjectStore, ObjectStoreExt};
use obstore_stores::integrity::ServerChecksums;
use obstore_stores::{AnyStore, Executor, ObstoreResult, PyPath};
use pyo3::prelude::*;

use crate::convert::PyObjectMetaChecksums;

/// A HEAD request to a server (`get_opts` with `head`, what `head` sends) keeps the response's
/// checksums; in-process stores answer `head` directly.
async fn head_inner(store: AnyStore, path: PyPath) -> ObstoreResult<PyObjectMetaChecksums> {
    if store.executor != Executor::Runtime {
        return Ok(PyObjectMetaChecksums(
            store.inner.head(&path.0).await?,
            None,
        ));
    }
    let options = GetOptions::new().with_head(true);
    let result = store.inner.get_opts(&path.0, options).await?;
    let checksums = result.extensions.get::<ServerChecksums>().cloned();
    Ok(PyObjectMetaChecksums(result.meta, checksums))
}

#[doc = obstore_stores::pydoc!(head)]
#[pyfunction]
pub fn head(py: Python<'_>, store: AnyStore, path: PyPath) -> PyResult<PyObjectMetaChecksums> {
    Ok(store.block_on_complete(py, head_inner(store.clone(), path))?)
}

#[doc = obstore_stores::pydoc!(head_async)]
#[pyfunction]
pub fn head_async<'py>(
    py: Python<'py>,
    store: AnyStore,
    path: PyPath,
) -> PyResult<Bound<'py, PyAny>> {
    store.into_py_future(py, Some(0), head_inner(store.clone(), path))
}
