//! `delete` / `delete_async`: one path, or many through the store's bulk delete.

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::ObjectStoreExt;
use obstore_stores::runtime::asyncio::PyNone;
use obstore_stores::{AnyStore, ObstoreResult, PyPath};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::twins::twins;
use pyo3::types::{PySequence, PyString};

/// One path or a sequence of paths.
pub enum Paths {
    One(Path),
    Many(Vec<Path>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for Paths {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<PyString>() {
            return Ok(Paths::One(obj.extract::<PyPath>()?.0));
        }
        let sequence = obj.cast::<PySequence>().map_err(|_| {
            PyTypeError::new_err("Expected string path or sequence of string paths.")
        })?;
        let items = sequence.try_iter()?;
        let mut paths = Vec::new();
        for item in items {
            let item = item?;
            if !item.is_instance_of::<PyString>() {
                return Err(PyTypeError::new_err(
                    "Expected string path or sequence of string paths.",
                ));
            }
            paths.push(item.extract::<PyPath>()?.0);
        }
        Ok(Paths::Many(paths))
    }
}

async fn delete_inner(store: AnyStore, paths: Paths) -> ObstoreResult<PyNone> {
    match paths {
        Paths::One(path) => store.inner.delete(&path).await?,
        Paths::Many(paths) => {
            let stream = futures::stream::iter(paths.into_iter().map(Ok)).boxed();
            store
                .inner
                .delete_stream(stream)
                .try_collect::<Vec<_>>()
                .await?;
        }
    }
    Ok(PyNone)
}

twins! {
    fn delete / delete_async(py, store: AnyStore, paths: Paths)
    sync -> PyResult<()> {
        store.block_on_complete(py, delete_inner(store.clone(), paths))?;
        Ok(())
    }
    async -> PyResult<Bound<'py, PyAny>> {
        let hint = match &paths {
            Paths::One(_) => Some(0),
            Paths::Many(_) => None,
        };
        store.into_py_future(py, hint, delete_inner(store.clone(), paths))
    }
}
