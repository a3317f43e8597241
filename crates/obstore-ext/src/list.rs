//! `list` (a lazily paged `ListStream`) and `list_with_delimiter` (one level, sync and async).

use std::collections::VecDeque;
use std::sync::Arc;

use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::path::Path;
use object_store::ObjectMeta;
use obstore_stores::integrity::{Listing, ServerChecksums};
use obstore_stores::stores::PyStore;
use obstore_stores::{AnyStore, ObstoreResult, PyPath};
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::arrow::{ArrowChunk, ArrowTable};
use crate::convert::{
    greater_than_zero, impl_into_pyobject, iterator_methods, meta_to_dict, meta_with_checksums,
};

type MetaStream = BoxStream<'static, object_store::Result<ObjectMeta>>;

/// Listed objects, with the checksums the listing reported for each where the store's
/// listings report any (Azure's), and none otherwise.
pub struct Listed {
    metas: Vec<ObjectMeta>,
    checksums: Option<Vec<ServerChecksums>>,
}

impl Listed {
    fn new(metas: Vec<ObjectMeta>, listing: Option<&Listing>) -> Self {
        let checksums = listing.filter(|l| l.reports_checksums()).map(|l| {
            metas
                .iter()
                .map(|m| l.take_checksums(&m.location))
                .collect()
        });
        Self { metas, checksums }
    }

    fn is_empty(&self) -> bool {
        self.metas.is_empty()
    }

    /// The ObjectMeta dicts, with `checksums` where the listing reports them.
    fn into_dicts<'py>(self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        match &self.checksums {
            Some(checksums) => {
                for (meta, found) in self.metas.iter().zip(checksums) {
                    list.append(meta_with_checksums(py, meta, Some(found))?)?;
                }
            }
            None => {
                for meta in &self.metas {
                    list.append(meta_to_dict(py, meta)?)?;
                }
            }
        }
        Ok(list)
    }
}

/// One chunk of listing results, converted on the thread that holds the GIL.
pub enum ListChunk {
    Dicts(Listed),
    Arrow(Listed),
}

impl_into_pyobject!(ListChunk, PyAny, |chunk, py| {
    match chunk {
        ListChunk::Dicts(items) => Ok(items.into_dicts(py)?.into_any()),
        ListChunk::Arrow(items) => ArrowChunk::from_metas(&items.metas)?.into_record_batch(py),
    }
});

struct ListState {
    stream: Option<MetaStream>,
    /// What the connector reads from the listing's pages, for stores where it reads any: each
    /// blob's checksums (Azure), or the objects of each page but its last (S3, GCS; the stream
    /// then yields each page's last object).
    listing: Option<Listing>,
    /// Objects listed and not yet returned, in order.
    ready: VecDeque<ObjectMeta>,
}

async fn next_items(
    state: Arc<tokio::sync::Mutex<ListState>>,
    limit: Option<usize>,
) -> ObstoreResult<Listed> {
    let mut state = state.lock().await;
    let state = &mut *state;
    let mut items = Vec::with_capacity(limit.unwrap_or(0).min(10_000));
    let listing = state.listing.clone();
    loop {
        let wanted = limit.map_or(state.ready.len(), |l| l - items.len());
        items.extend(state.ready.drain(..wanted.min(state.ready.len())));
        let Some(stream) = state.stream.as_mut() else {
            return Ok(Listed::new(items, listing.as_ref()));
        };
        if limit.is_some_and(|l| items.len() >= l) {
            return Ok(Listed::new(items, listing.as_ref()));
        }
        let next = match &listing {
            Some(listing) => {
                futures::future::poll_fn(|cx| listing.poll_within(|| stream.poll_next_unpin(cx)))
                    .await
            }
            None => stream.next().await,
        };
        match next {
            Some(Ok(meta)) => {
                if let Some(listing) = &listing {
                    state.ready.extend(listing.take_objects());
                }
                state.ready.push_back(meta);
            }
            Some(Err(err)) => {
                state.stream = None;
                state.ready.clear();
                return Err(err.into());
            }
            None => state.stream = None,
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
    fn new(items: Listed, return_arrow: bool) -> Self {
        match return_arrow {
            true => ListChunk::Arrow(items),
            false => ListChunk::Dicts(items),
        }
    }
}

iterator_methods!(PyListStream, {
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
});

fn optional_path(path: Option<PyPath>) -> Option<Path> {
    path.map(|p| p.0).filter(|p| !p.as_ref().is_empty())
}

#[doc = obstore_stores::pydoc!(list)]
#[pyfunction]
#[pyo3(signature = (store, prefix = None, *, offset = None, chunk_size = 50, return_arrow = false))]
pub fn list(
    store: PyStore<'_>,
    prefix: Option<PyPath>,
    offset: Option<PyPath>,
    chunk_size: usize,
    return_arrow: bool,
) -> PyResult<PyListStream> {
    let chunk_size = greater_than_zero("chunk_size", chunk_size)?;
    let listing = store.listing(true, return_arrow);
    let store = store.any_store()?;
    let prefix = optional_path(prefix);
    let stream = match offset {
        Some(offset) => store.inner.list_with_offset(prefix.as_ref(), &offset.0),
        None => store.inner.list(prefix.as_ref()),
    };
    Ok(PyListStream {
        store,
        state: Arc::new(tokio::sync::Mutex::new(ListState {
            stream: Some(stream),
            listing,
            ready: VecDeque::new(),
        })),
        chunk_size,
        return_arrow,
    })
}

/// The result of `list_with_delimiter`.
pub struct PyListResult {
    common_prefixes: Vec<Path>,
    objects: Listed,
    return_arrow: bool,
}

impl_into_pyobject!(PyListResult, PyDict, |listing, py| {
    let dict = PyDict::new(py);
    let prefixes: Vec<&str> = listing.common_prefixes.iter().map(|p| p.as_ref()).collect();
    dict.set_item(intern!(py, "common_prefixes"), prefixes)?;
    if listing.return_arrow {
        let table = ArrowTable::from_metas(&listing.objects.metas)?;
        dict.set_item(intern!(py, "objects"), table.into_table(py)?)?;
    } else {
        dict.set_item(intern!(py, "objects"), listing.objects.into_dicts(py)?)?;
    }
    Ok(dict)
});

async fn list_with_delimiter_inner(
    store: AnyStore,
    prefix: Option<Path>,
    return_arrow: bool,
    listing: Option<Listing>,
) -> ObstoreResult<PyListResult> {
    let listed = store.inner.list_with_delimiter(prefix.as_ref());
    let result = match &listing {
        Some(listing) => listing.scope(listed).await?,
        None => listed.await?,
    };
    Ok(PyListResult {
        common_prefixes: result.common_prefixes,
        objects: Listed::new(result.objects, listing.as_ref()),
        return_arrow,
    })
}

#[doc = obstore_stores::pydoc!(list_with_delimiter)]
#[pyfunction]
#[pyo3(signature = (store, prefix = None, *, return_arrow = false))]
pub fn list_with_delimiter(
    py: Python<'_>,
    store: PyStore<'_>,
    prefix: Option<PyPath>,
    return_arrow: bool,
) -> PyResult<PyListResult> {
    let listing = store.listing(false, return_arrow);
    let store = store.any_store()?;
    let prefix = optional_path(prefix);
    Ok(store.block_on_complete(
        py,
        list_with_delimiter_inner(store.clone(), prefix, return_arrow, listing),
    )?)
}

#[doc = obstore_stores::pydoc!(list_with_delimiter_async)]
#[pyfunction]
#[pyo3(signature = (store, prefix = None, *, return_arrow = false))]
pub fn list_with_delimiter_async<'py>(
    py: Python<'py>,
    store: PyStore<'py>,
    prefix: Option<PyPath>,
    return_arrow: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let listing = store.listing(false, return_arrow);
    let store = store.any_store()?;
    let prefix = optional_path(prefix);
    store.into_py_future(
        py,
        None,
        list_with_delimiter_inner(store.clone(), prefix, return_arrow, listing),
    )
}
