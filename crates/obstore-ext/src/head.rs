//! `head` / `head_async`: an object's metadata without its body.

use object_store::{GetOptions, ObjectStore};
use obstore_stores::integrity::ServerChecksums;
use obstore_stores::{AnyStore, ObstoreResult, PyPath};
use pyo3::prelude::*;

use crate::convert::PyObjectMetaChecksums;
use crate::twins::twins;

/// A HEAD request (`get_opts` with `head`, what `ObjectStoreExt::head` sends for every store),
/// made here to keep the response's checksums (a server's; in-process stores announce none).
async fn head_inner(store: AnyStore, path: PyPath) -> ObstoreResult<PyObjectMetaChecksums> {
    let options = GetOptions::new().with_head(true);
    let mut result = store.inner.get_opts(&path.0, options).await?;
    let checksums = result.extensions.remove::<ServerChecksums>();
    Ok(PyObjectMetaChecksums(result.meta, checksums))
}

twins! {
    fn head / head_async(py, store: AnyStore, path: PyPath)
    sync -> PyResult<PyObjectMetaChecksums> {
        Ok(store.block_on_complete(py, head_inner(store.clone(), path))?)
    }
    async -> PyResult<Bound<'py, PyAny>> {
        store.into_py_future(py, Some(0), head_inner(store.clone(), path))
    }
}
