//! `list` (a lazily paged `ListStream`) and `list_with_delimiter` (one level, sync and async).

use std::sync::Arc;

use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::path::Path;
use object_store::ObjectMeta;
use obstore_stores::{AnyStore, ObstoreResult, PyPath};
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::arrow::{ArrowChunk, ArrowTable};
use crate::convert::{greater_than_zero, impl_into_pyobject, meta_to_dict};

type MetaStream = BoxStream<'static, object_store::Result<ObjectMeta>>;

/// One chunk of listing results, converted on the thread that holds the GIL.
pub enum ListChunk {
    Dicts(Vec<ObjectMeta>),
    Arrow(Vec<ObjectMeta>),
}

impl_into_pyobject!(ListChunk, PyAny, |chunk, py| {
    match chunk {
        ListChunk::Dicts(items) => {
            let list = PyList::empty(py);
            for meta in &items {
                list.append(meta_to_dict(py, meta)?)?;
            }
            Ok(list.into_any())
        }
        ListChunk::Arrow(items) => ArrowChunk::from_metas(&items)?.into_record_batch(py),
    }
});

struct ListState {
    stream: Option<MetaStream>,
}

async fn next_items(
    state: Arc<tokio::sync::Mutex<ListState>>,
    limit: Option<usize>,
) -> ObstoreResult<Vec<ObjectMeta>> {
    let mut state = state.lock().await;
    let mut items = Vec::with_capacity(limit.unwrap_or(0).min(10_000));
    let Some(stream) = state.stream.as_mut() else {
        return Ok(items);
    };
    loop {
        if limit.is_some_and(|l| items.len() >= l) {
            return Ok(items);
        }
        match stream.next().await {
            Some(Ok(meta)) => items.push(meta),
            Some(Err(err)) => {
                state.stream = None;
                return Err(err.into());
            }
            None => {
                state.stream = None;
                return Ok(items);
            }
        }
    }
}

#[doc = obstore_stores::pydoc!(ListStream)]
#[pyclass(name = "ListStream", frozen)]
pub struct PyListStream {
    store: AnyStore,
    state: Arc<tokio::sync::Mutex<ListState>>,
    chunk_size: usize,
    return_arrow: bool,
}

impl ListChunk {
    fn new(items: Vec<ObjectMeta>, return_arrow: bool) -> Self {
        match return_arrow {
            true => ListChunk::Arrow(items),
            false => ListChunk::Dicts(items),
        }
    }
}

#[pymethods]
impl PyListStream {
    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __aiter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<ListChunk> {
        let items = self
            .store
            .block_on(py, next_items(self.state.clone(), Some(self.chunk_size)))?;
        if items.is_empty() {
            return Err(PyStopIteration::new_err(()));
        }
        Ok(ListChunk::new(items, self.return_arrow))
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let state = self.state.clone();
        let chunk_size = self.chunk_size;
        let arrow = self.return_arrow;
        self.store.into_py_future(py, None, async move {
            let items = next_items(state, Some(chunk_size)).await?;
            if items.is_empty() {
                return Err(PyStopAsyncIteration::new_err(()));
            }
            Ok(ListChunk::new(items, arrow))
        })
    }

    #[doc = obstore_stores::pydoc!(ListStream.collect)]
    fn collect(&self, py: Python<'_>) -> PyResult<ListChunk> {
        let items = self
            .store
            .block_on(py, next_items(self.state.clone(), None))?;
        Ok(ListChunk::new(items, self.return_arrow))
    }

    #[doc = obstore_stores::pydoc!(ListStream.collect_async)]
    fn collect_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let state = self.state.clone();
        let arrow = self.return_arrow;
        self.store.into_py_future(py, None, async move {
            let items = next_items(state, None).await?;
            Ok::<_, PyErr>(ListChunk::new(items, arrow))
        })
    }
}

fn optional_path(path: Option<PyPath>) -> Option<Path> {
    path.map(|p| p.0).filter(|p| !p.as_ref().is_empty())
}

#[doc = obstore_stores::pydoc!(list)]
#[pyfunction]
#[pyo3(signature = (store, prefix = None, *, offset = None, chunk_size = 50, return_arrow = false))]
pub fn list(
    store: AnyStore,
    prefix: Option<PyPath>,
    offset: Option<PyPath>,
    chunk_size: usize,
    return_arrow: bool,
) -> PyResult<PyListStream> {
    let chunk_size = greater_than_zero("chunk_size", chunk_size)?;
    let prefix = optional_path(prefix);
    let stream = match offset {
        Some(offset) => store.inner.list_with_offset(prefix.as_ref(), &offset.0),
        None => store.inner.list(prefix.as_ref()),
    };
    Ok(PyListStream {
        store,
        state: Arc::new(tokio::sync::Mutex::new(ListState {
            stream: Some(stream),
        })),
        chunk_size,
        return_arrow,
    })
}

/// The result of `list_with_delimiter`.
pub struct PyListResult {
    result: object_store::ListResult,
    return_arrow: bool,
}

impl_into_pyobject!(PyListResult, PyDict, |listing, py| {
    let dict = PyDict::new(py);
    let prefixes: Vec<&str> = listing
        .result
        .common_prefixes
        .iter()
        .map(|p| p.as_ref())
        .collect();
    dict.set_item(intern!(py, "common_prefixes"), prefixes)?;
    if listing.return_arrow {
        let table = ArrowTable::from_metas(&listing.result.objects)?;
        dict.set_item(intern!(py, "objects"), table.into_table(py)?)?;
    } else {
        let list = PyList::empty(py);
        for meta in &listing.result.objects {
            list.append(meta_to_dict(py, meta)?)?;
        }
        dict.set_item(intern!(py, "objects"), list)?;
    }
    Ok(dict)
});

async fn list_with_delimiter_inner(
    store: AnyStore,
    prefix: Option<Path>,
    return_arrow: bool,
) -> ObstoreResult<PyListResult> {
    let result = store.inner.list_with_delimiter(prefix.as_ref()).await?;
    Ok(PyListResult {
        result,
        return_arrow,
    })
}

#[doc = obstore_stores::pydoc!(list_with_delimiter)]
#[pyfunction]
#[pyo3(signature = (store, prefix = None, *, return_arrow = false))]
pub fn list_with_delimiter(
    py: Python<'_>,
    store: AnyStore,
    prefix: Option<PyPath>,
    return_arrow: bool,
) -> PyResult<PyListResult> {
    let prefix = optional_path(prefix);
    Ok(store.block_on_complete(
        py,
        list_with_delimiter_inner(store.clone(), prefix, return_arrow),
    )?)
}

#[doc = obstore_stores::pydoc!(list_with_delimiter_async)]
#[pyfunction]
#[pyo3(signature = (store, prefix = None, *, return_arrow = false))]
pub fn list_with_delimiter_async<'py>(
    py: Python<'py>,
    store: AnyStore,
    prefix: Option<PyPath>,
    return_arrow: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let prefix = optional_path(prefix);
    store.into_py_future(
        py,
        None,
        list_with_delimiter_inner(store.clone(), prefix, return_arrow),
    )
}
