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

async fn copy_inner(
    store: AnyStore,
    from: PyPath,
    to: PyPath,
    overwrite: bool,
) -> ObstoreResult<PyNone> {
    if from == to {
        return onto_itself(&store, &from.0, overwrite).await;
    }
    match overwrite {
        true => store.inner.copy(&from.0, &to.0).await?,
        false => store.inner.copy_if_not_exists(&from.0, &to.0).await?,
    }
    Ok(PyNone)
}

async fn rename_inner(
    store: AnyStore,
    from: PyPath,
    to: PyPath,
    overwrite: bool,
) -> ObstoreResult<PyNone> {
    if from == to {
        return onto_itself(&store, &from.0, overwrite).await;
    }
    match overwrite {
        true => store.inner.rename(&from.0, &to.0).await?,
        false => store.inner.rename_if_not_exists(&from.0, &to.0).await?,
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
    store.block_on_complete(py, copy_inner(store.clone(), from_, to, overwrite))?;
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
    store.into_py_future(py, None, copy_inner(store.clone(), from_, to, overwrite))
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
    store.block_on_complete(py, rename_inner(store.clone(), from_, to, overwrite))?;
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
    store.into_py_future(py, None, rename_inner(store.clone(), from_, to, overwrite))
}
