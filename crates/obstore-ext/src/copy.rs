//! `copy` and `rename` (sync and async): server-side, optionally refusing to overwrite.

use object_store::path::Path;
use object_store::ObjectStoreExt;
use obstore_stores::runtime::asyncio::PyNone;
use obstore_stores::{AnyStore, ObstoreResult, PyPath};
use pyo3::prelude::*;

/// Copying or renaming an object onto itself: no request that could change it (a memory store's
/// rename deletes the source after copying, S3 refuses a copy onto itself), only the answers the
/// operation gives for an existing destination. A missing source is `NotFound`; with
/// `overwrite=False` the destination exists, so `AlreadyExists`; otherwise nothing to do.
async fn onto_itself(store: &AnyStore, path: &Path, overwrite: bool) -> ObstoreResult<PyNone> {
    store.inner.head(path).await?;
    if overwrite {
        return Ok(PyNone);
    }
    Err(object_store::Error::AlreadyExists {
        path: path.to_string(),
        source: "the source and the destination are the same object".into(),
    }
    .into())
}

/// What `copy` and `rename` do once the destination is known to differ from the source.
#[derive(Clone, Copy)]
enum Transfer {
    Copy,
    Rename,
}

async fn transfer(
    store: AnyStore,
    from: PyPath,
    to: PyPath,
    overwrite: bool,
    transfer: Transfer,
) -> ObstoreResult<PyNone> {
    if from == to {
        return onto_itself(&store, &from.0, overwrite).await;
    }
    let (from, to) = (&from.0, &to.0);
    match (transfer, overwrite) {
        (Transfer::Copy, true) => store.inner.copy(from, to).await?,
        (Transfer::Copy, false) => store.inner.copy_if_not_exists(from, to).await?,
        (Transfer::Rename, true) => store.inner.rename(from, to).await?,
        (Transfer::Rename, false) => store.inner.rename_if_not_exists(from, to).await?,
    }
    Ok(PyNone)
}

#[doc = obstore_stores::pydoc!(copy)]
#[pyfunction]
#[pyo3(signature = (store, from_, to, *, overwrite = true))]
pub fn copy(
    py: Python<'_>,
    store: AnyStore,
    from_: PyPath,
    to: PyPath,
    overwrite: bool,
) -> PyResult<()> {
    store.block_on_complete(
        py,
        transfer(store.clone(), from_, to, overwrite, Transfer::Copy),
    )?;
    Ok(())
}

#[doc = obstore_stores::pydoc!(copy_async)]
#[pyfunction]
#[pyo3(signature = (store, from_, to, *, overwrite = true))]
pub fn copy_async<'py>(
    py: Python<'py>,
    store: AnyStore,
    from_: PyPath,
    to: PyPath,
    overwrite: bool,
) -> PyResult<Bound<'py, PyAny>> {
    store.into_py_future(
        py,
        None,
        transfer(store.clone(), from_, to, overwrite, Transfer::Copy),
    )
}

#[doc = obstore_stores::pydoc!(rename)]
#[pyfunction]
#[pyo3(signature = (store, from_, to, *, overwrite = true))]
pub fn rename(
    py: Python<'_>,
    store: AnyStore,
    from_: PyPath,
    to: PyPath,
    overwrite: bool,
) -> PyResult<()> {
    store.block_on_complete(
        py,
        transfer(store.clone(), from_, to, overwrite, Transfer::Rename),
    )?;
    Ok(())
}

#[doc = obstore_stores::pydoc!(rename_async)]
#[pyfunction]
#[pyo3(signature = (store, from_, to, *, overwrite = true))]
pub fn rename_async<'py>(
    py: Python<'py>,
    store: AnyStore,
    from_: PyPath,
    to: PyPath,
    overwrite: bool,
) -> PyResult<Bound<'py, PyAny>> {
    store.into_py_future(
        py,
        None,
        transfer(store.clone(), from_, to, overwrite, Transfer::Rename),
    )
}
