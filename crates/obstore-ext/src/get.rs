//! `get`, `get_range`, `get_ranges` (sync and async), and the `GetResult` / `BytesStream` classes.

use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use object_store::{Attributes, GetOptions, GetRange, ObjectMeta, ObjectStoreExt};
use obstore_stores::bytes::PyBytesWrapper;
use obstore_stores::integrity::ServerChecksums;
use obstore_stores::{AnyStore, Executor, ObstoreError, ObstoreResult, PyPath};
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::body::Body;
use crate::convert::{
    attributes_to_dict, check_keys, expect_dict, impl_into_pyobject, iterator_methods,
    meta_with_checksums, PyUtcDateTime,
};
use crate::progress::{ProgressCallback, ProgressTracker};
use crate::twins::twins;

const GET_OPTION_KEYS: &[&str] = &[
    "if_match",
    "if_none_match",
    "if_modified_since",
    "if_unmodified_since",
    "range",
    "version",
    "head",
];

const RANGE_ERROR: &str = "Unexpected input for byte range.\nExpected two-integer tuple or list, or dict with 'offset' or 'suffix' key.";

fn extract_range(obj: &Bound<'_, PyAny>) -> PyResult<GetRange> {
    if let Ok(dict) = obj.cast::<PyDict>() {
        if dict.len() == 1 {
            if let Some(offset) = dict.get_item("offset")? {
                return Ok(GetRange::Offset(offset.extract::<u64>()?));
            }
            if let Some(suffix) = dict.get_item("suffix")? {
                return Ok(GetRange::Suffix(suffix.extract::<u64>()?));
            }
        }
        return Err(PyValueError::new_err(RANGE_ERROR));
    }
    if obj.is_instance_of::<PyTuple>() || obj.is_instance_of::<PyList>() {
        let items: Vec<Bound<'_, PyAny>> = obj.try_iter()?.collect::<PyResult<_>>()?;
        if items.len() == 2 {
            let start: u64 = items[0]
                .extract()
                .map_err(|_| PyValueError::new_err(RANGE_ERROR))?;
            let end: u64 = items[1]
                .extract()
                .map_err(|_| PyValueError::new_err(RANGE_ERROR))?;
            return Ok(GetRange::Bounded(checked_range(start, end)?));
        }
    }
    Err(PyValueError::new_err(RANGE_ERROR))
}

/// The `GetOptions` dict of the Python API.
#[derive(Default)]
pub struct PyGetOptions(pub GetOptions);

impl<'a, 'py> FromPyObject<'a, 'py> for PyGetOptions {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let dict = expect_dict(obj, "options must be a dict (GetOptions)")?;
        check_keys(&dict, "GetOptions", GET_OPTION_KEYS)?;
        let mut options = GetOptions::default();
        let get = |key: &str| -> PyResult<Option<Bound<'py, PyAny>>> {
            Ok(dict.get_item(key)?.filter(|v| !v.is_none()))
        };
        let string = |key: &str, value: Bound<'py, PyAny>| -> PyResult<String> {
            value
                .extract()
                .map_err(|_| PyTypeError::new_err(format!("GetOptions[{key:?}] must be a str")))
        };
        if let Some(v) = get("if_match")? {
            options.if_match = Some(crate::convert::header_value(
                "GetOptions[\"if_match\"]",
                string("if_match", v)?,
            )?);
        }
        if let Some(v) = get("if_none_match")? {
            options.if_none_match = Some(crate::convert::header_value(
                "GetOptions[\"if_none_match\"]",
                string("if_none_match", v)?,
            )?);
        }
        if let Some(v) = get("version")? {
            options.version = Some(string("version", v)?);
        }
        if let Some(v) = get("if_modified_since")? {
            options.if_modified_since = Some(v.extract::<PyUtcDateTime>()?.0);
        }
        if let Some(v) = get("if_unmodified_since")? {
            options.if_unmodified_since = Some(v.extract::<PyUtcDateTime>()?.0);
        }
        // `range` has no None form: a None there is a malformed range, not an absent one.
        if let Some(v) = dict.get_item("range")? {
            options.range = Some(extract_range(&v)?);
        }
        if let Some(v) = get("head")? {
            options.head = v
                .extract()
                .map_err(|_| PyTypeError::new_err("GetOptions[\"head\"] must be a bool"))?;
        }
        Ok(Self(options))
    }
}

#[doc = obstore_stores::pydoc!(GetResult)]
#[pyclass(name = "GetResult", frozen)]
pub struct PyGetResult {
    store: AnyStore,
    body: Mutex<Option<Body>>,
    meta: ObjectMeta,
    range: Range<u64>,
    attributes: Attributes,
    checksums: Option<ServerChecksums>,
}

impl PyGetResult {
    /// `head`: the result answers a HEAD request (see [`Body::from_payload`]).
    /// `verify`: whether a body read to its end is checked against the server's checksum.
    fn new(
        store: AnyStore,
        result: object_store::GetResult,
        head: bool,
        verify: bool,
        progress: Option<ProgressTracker>,
    ) -> Self {
        // Taken apart, not cloned: the metadata stays here, the payload goes to the body.
        let object_store::GetResult {
            payload,
            meta,
            range,
            attributes,
            mut extensions,
        } = result;
        let checksums = extensions.remove::<ServerChecksums>();
        let mut body = Body::from_payload(
            payload,
            &meta.location,
            range.clone(),
            checksums.as_ref().filter(|_| verify),
            !head,
            store.executor == Executor::Inline,
        );
        if let Some(progress) = &progress {
            progress.set_total(range.end - range.start);
            body = body.counted(progress);
        }
        Self {
            store,
            body: Mutex::new(Some(body)),
            meta,
            range,
            attributes,
            checksums,
        }
    }

    fn take_body(&self) -> PyResult<Body> {
        self.body
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| PyValueError::new_err("Result has already been disposed."))
    }

    fn len(&self) -> u64 {
        self.range.end - self.range.start
    }

    fn stream_impl(&self, min_chunk_size: usize) -> PyResult<PyBytesStream> {
        let body = self.take_body()?;
        let progress = body.progress().cloned();
        Ok(PyBytesStream {
            store: self.store.clone(),
            body: Arc::new(tokio::sync::Mutex::new(Some(body))),
            min_chunk_size,
            remaining: Arc::new(std::sync::atomic::AtomicU64::new(self.len())),
            progress,
        })
    }
}

const DEFAULT_MIN_CHUNK_SIZE: usize = 10 * 1024 * 1024;

#[pymethods]
impl PyGetResult {
    #[doc = obstore_stores::pydoc!(GetResult.bytes)]
    fn bytes(&self, py: Python<'_>) -> PyResult<PyBytesWrapper> {
        let body = self.take_body()?;
        let len = self.len();
        let progress = body.progress().cloned();
        let bytes = match body.read_held() {
            // A body held in memory already: nothing to wait for, no future to run.
            Ok(result) => ProgressTracker::finish_opt(progress.as_ref(), result),
            Err(body) => self.store.block_on(py, async move {
                let result = body.read_all(len).await;
                ProgressTracker::finish_opt(progress.as_ref(), result)
            }),
        }?;
        Ok(PyBytesWrapper::new(bytes))
    }

    #[doc = obstore_stores::pydoc!(GetResult.bytes_async)]
    fn bytes_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let body = self.take_body()?;
        let len = self.len();
        let progress = body.progress().cloned();
        self.store.into_py_future(py, Some(len), async move {
            let result = body.read_all(len).await;
            ProgressTracker::finish_opt(progress.as_ref(), result).map(PyBytesWrapper::new)
        })
    }

    #[doc = obstore_stores::pydoc!(GetResult.buffer)]
    fn buffer(&self, py: Python<'_>) -> PyResult<PyBytesWrapper> {
        self.bytes(py)
    }

    #[doc = obstore_stores::pydoc!(GetResult.buffer_async)]
    fn buffer_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.bytes_async(py)
    }

    #[doc = obstore_stores::pydoc!(GetResult.stream)]
    #[pyo3(signature = (min_chunk_size = 10_485_760))]
    fn stream(&self, min_chunk_size: usize) -> PyResult<PyBytesStream> {
        self.stream_impl(min_chunk_size)
    }

    fn __iter__(&self) -> PyResult<PyBytesStream> {
        self.stream_impl(DEFAULT_MIN_CHUNK_SIZE)
    }

    fn __aiter__(&self) -> PyResult<PyBytesStream> {
        self.stream_impl(DEFAULT_MIN_CHUNK_SIZE)
    }

    #[doc = obstore_stores::pydoc!(GetResult.attributes)]
    #[getter]
    fn attributes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        attributes_to_dict(py, &self.attributes)
    }

    #[doc = obstore_stores::pydoc!(GetResult.meta)]
    #[getter]
    fn meta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        meta_with_checksums(py, &self.meta, self.checksums.as_ref())
    }

    #[doc = obstore_stores::pydoc!(GetResult.range)]
    #[getter]
    fn range(&self) -> (u64, u64) {
        (self.range.start, self.range.end)
    }

    fn __repr__(&self) -> String {
        format!(
            "GetResult(path={:?}, range=({}, {}))",
            self.meta.location.as_ref(),
            self.range.start,
            self.range.end
        )
    }
}

/// A Python `bytes` object allocated (uninitialised) with the GIL, then filled without it by the
/// future that owns it. It is never seen by Python before it is filled; if the future is dropped,
/// the object goes with it (the decref is deferred to the next GIL holder).
struct ChunkBuffer {
    object: Py<PyBytes>,
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the object is owned by this value alone until it is handed to Python (see above), and
// `ptr` points into it.
unsafe impl Send for ChunkBuffer {}

impl ChunkBuffer {
    fn new(py: Python<'_>, len: usize) -> PyResult<Self> {
        let size = pyo3::ffi::Py_ssize_t::try_from(len)
            .map_err(|_| PyValueError::new_err("min_chunk_size is too large"))?;
        // SAFETY: a new bytes object with uninitialised contents (null source), owned here.
        let object = unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), size),
            )?
            .cast_into_unchecked::<PyBytes>()
        };
        // SAFETY: `object` is a bytes object; its buffer has `len` bytes.
        let ptr = unsafe { pyo3::ffi::PyBytes_AsString(object.as_ptr()) }.cast::<u8>();
        Ok(Self {
            object: object.unbind(),
            ptr,
            len,
        })
    }

    /// The buffer to fill.
    fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `ptr`/`len` describe the object's buffer, kept alive by `object`, and nothing
        // else reads or writes it until the chunk is handed out.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

/// What one step of a stream produced.
enum Chunk {
    /// A buffer filled in place: whole, or a shorter last piece; 0 bytes at the end.
    InPlace { buffer: ChunkBuffer, filled: usize },
    /// A small chunk as it came from the network (copied into a `bytes` with the GIL).
    Copied(Option<Bytes>),
}

/// A chunk and whether it ends an `async for` (StopAsyncIteration) or a `for` (StopIteration).
struct StreamStep(Chunk, bool);

impl_into_pyobject!(StreamStep, PyBytes, |step, py| {
    let StreamStep(chunk, is_async) = step;
    let end = || {
        if is_async {
            PyStopAsyncIteration::new_err("stream exhausted")
        } else {
            PyStopIteration::new_err("stream exhausted")
        }
    };
    match chunk {
        Chunk::InPlace { filled: 0, .. } | Chunk::Copied(None) => Err(end()),
        Chunk::Copied(Some(bytes)) => Ok(PyBytes::new(py, &bytes)),
        // A buffer filled in part: only the bytes received (a body that ends before the size
        // announced raises in `fill`, so this holds whole bodies only).
        Chunk::InPlace { mut buffer, filled } if filled < buffer.len => {
            Ok(PyBytes::new(py, &buffer.as_mut_slice()[..filled]))
        }
        Chunk::InPlace { buffer, .. } => Ok(buffer.object.into_bound(py)),
    }
});

/// From this `min_chunk_size` on, chunks are filled in place at exactly that size; below it, chunks
/// are handed out as the network delivers them (at least `min_chunk_size`, copied once).
const IN_PLACE_MIN: usize = 1024 * 1024;

// Each chunk is one Python `bytes`, filled in place from the network.
#[doc = obstore_stores::pydoc!(BytesStream)]
#[pyclass(name = "BytesStream", frozen)]
pub struct PyBytesStream {
    store: AnyStore,
    body: Arc<tokio::sync::Mutex<Option<Body>>>,
    min_chunk_size: usize,
    /// Bytes of the body not handed out yet.
    remaining: Arc<std::sync::atomic::AtomicU64>,
    /// Makes its final report when the stream ends or fails.
    progress: Option<ProgressTracker>,
}

impl PyBytesStream {
    /// The next step: a buffer filled in place (allocated here, with the GIL) or a network chunk.
    fn step(
        &self,
        py: Python<'_>,
        is_async: bool,
    ) -> PyResult<(
        u64,
        impl std::future::Future<Output = ObstoreResult<StreamStep>> + Send + 'static,
    )> {
        let body = self.body.clone();
        let remaining = self.remaining.clone();
        let progress = self.progress.clone();
        let min_chunk_size = self.min_chunk_size.max(1);
        let buffer = if min_chunk_size >= IN_PLACE_MIN {
            let left = remaining.load(std::sync::atomic::Ordering::Acquire);
            Some(ChunkBuffer::new(
                py,
                (min_chunk_size as u64).min(left) as usize,
            )?)
        } else {
            None
        };
        let size = buffer.as_ref().map_or(min_chunk_size, |b| b.len) as u64;
        let future = async move {
            let mut guard = body.lock().await;
            let Some(current) = guard.as_mut() else {
                let chunk = match buffer {
                    Some(buffer) => Chunk::InPlace { buffer, filled: 0 },
                    None => Chunk::Copied(None),
                };
                return Ok(StreamStep(chunk, is_async));
            };
            let result = match buffer {
                None => current.next_chunk(min_chunk_size).await.map(Chunk::Copied),
                Some(mut buffer) => {
                    let mut probe = [0u8; 1];
                    let filled = if buffer.len == 0 {
                        // Everything announced was handed out: check that nothing more comes.
                        current.fill(&mut probe).await
                    } else {
                        current.fill(buffer.as_mut_slice()).await
                    };
                    match filled {
                        Ok(n) if buffer.len == 0 && n > 0 => Err(ObstoreError::generic(
                            "the body is longer than the size the server announced",
                        )),
                        Ok(filled) => Ok(Chunk::InPlace { buffer, filled }),
                        Err(err) => Err(err),
                    }
                }
            };
            let handed = match &result {
                Ok(Chunk::InPlace { filled, .. }) => *filled,
                Ok(Chunk::Copied(chunk)) => chunk.as_ref().map_or(0, Bytes::len),
                Err(_) => 0,
            };
            let result = match handed {
                0 => {
                    *guard = None; // the end, or an error: the body is done
                    ProgressTracker::finish_opt(progress.as_ref(), result)
                }
                _ => result,
            };
            remaining.fetch_sub(
                (handed as u64).min(remaining.load(std::sync::atomic::Ordering::Acquire)),
                std::sync::atomic::Ordering::AcqRel,
            );
            result.map(|chunk| StreamStep(chunk, is_async))
        };
        Ok((size, future))
    }
}

iterator_methods!(PyBytesStream, {
    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let (_, future) = self.step(py, false)?;
        self.store.block_on(py, future)?.into_pyobject(py)
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (size, future) = self.step(py, true)?;
        self.store.into_py_future(py, Some(size), future)
    }
});

/// A get with the caller's options. Azure has no suffix ranges: one is emulated with the size.
pub(crate) async fn get_result(
    store: &AnyStore,
    path: &PyPath,
    options: GetOptions,
) -> ObstoreResult<object_store::GetResult> {
    match options.range {
        // Boxed: the fallback's state stays out of every other get's future.
        Some(GetRange::Suffix(suffix)) => Box::pin(get_suffix(store, path, options, suffix)).await,
        _ => Ok(store.inner.get_opts(&path.0, options).await?),
    }
}

/// A get of the last `suffix` bytes; a store without suffix ranges gets the bounded range.
async fn get_suffix(
    store: &AnyStore,
    path: &PyPath,
    options: GetOptions,
    suffix: u64,
) -> ObstoreResult<object_store::GetResult> {
    Ok(match store.inner.get_opts(&path.0, options.clone()).await {
        Err(object_store::Error::NotSupported { .. }) => {
            let size = store.inner.head(&path.0).await?.size;
            let start = size.saturating_sub(suffix);
            let bounded = GetOptions {
                range: Some(GetRange::Bounded(start..size.max(start + 1))),
                ..options
            };
            store.inner.get_opts(&path.0, bounded).await?
        }
        other => other?,
    })
}

async fn get_inner(
    store: AnyStore,
    path: PyPath,
    options: GetOptions,
    verify: bool,
    progress: Option<ProgressTracker>,
) -> ObstoreResult<PyGetResult> {
    let head = options.head;
    let result = match get_result(&store, &path, options).await {
        Ok(result) => result,
        Err(err) => return ProgressTracker::finish_opt(progress.as_ref(), Err(err)),
    };
    Ok(PyGetResult::new(store, result, head, verify, progress))
}

/// The get that `get` and `get_async` run.
fn prepare_get(
    store: &AnyStore,
    path: PyPath,
    options: Option<PyGetOptions>,
    verify: bool,
    progress: Option<ProgressCallback>,
) -> impl std::future::Future<Output = ObstoreResult<PyGetResult>> + Send + 'static {
    let options = options.unwrap_or_default().0;
    let progress = ProgressTracker::new(progress, &path.0, None);
    get_inner(store.clone(), path, options, verify, progress)
}

#[doc = obstore_stores::pydoc!(get)]
#[pyfunction]
#[pyo3(signature = (store, path, *, options = None, verify_checksum = true, progress = None))]
pub fn get(
    py: Python<'_>,
    store: AnyStore,
    path: PyPath,
    options: Option<PyGetOptions>,
    verify_checksum: bool,
    progress: Option<ProgressCallback>,
) -> PyResult<PyGetResult> {
    let future = prepare_get(&store, path, options, verify_checksum, progress);
    Ok(store.block_on(py, future)?)
}

#[doc = obstore_stores::pydoc!(get_async)]
#[pyfunction]
#[pyo3(signature = (store, path, *, options = None, verify_checksum = true, progress = None))]
pub fn get_async<'py>(
    py: Python<'py>,
    store: AnyStore,
    path: PyPath,
    options: Option<PyGetOptions>,
    verify_checksum: bool,
    progress: Option<ProgressCallback>,
) -> PyResult<Bound<'py, PyAny>> {
    let future = prepare_get(&store, path, options, verify_checksum, progress);
    store.into_py_future(py, Some(0), future)
}

/// `start..end`, refused when empty or reversed.
fn checked_range(start: u64, end: u64) -> PyResult<Range<u64>> {
    if end <= start {
        return Err(PyValueError::new_err(format!(
            "Invalid range requested, start: {start} end: {end}"
        )));
    }
    Ok(start..end)
}

/// Where ranges end: at `end`, or `length` bytes after their start.
enum RangeEnd<T> {
    End(T),
    Length(T),
}

/// Exactly one of `end` and `length`, named `names` (the arguments' names) in the error.
fn range_end<T>(end: Option<T>, length: Option<T>, names: [&str; 2]) -> PyResult<RangeEnd<T>> {
    let [end_name, length_name] = names;
    match (end, length) {
        (Some(_), Some(_)) => Err(PyValueError::new_err(format!(
            "{end_name} and {length_name} cannot both be non-None."
        ))),
        (None, None) => Err(PyValueError::new_err(format!(
            "Either {end_name} or {length_name} must be non-None."
        ))),
        (Some(end), None) => Ok(RangeEnd::End(end)),
        (None, Some(length)) => Ok(RangeEnd::Length(length)),
    }
}

fn byte_range(start: u64, end: Option<u64>, length: Option<u64>) -> PyResult<Range<u64>> {
    let end = match range_end(end, length, ["end", "length"])? {
        RangeEnd::End(end) => end,
        RangeEnd::Length(length) => start.saturating_add(length),
    };
    checked_range(start, end)
}

async fn get_range_inner(
    store: AnyStore,
    path: PyPath,
    range: Range<u64>,
) -> ObstoreResult<PyBytesWrapper> {
    Ok(PyBytesWrapper::new(
        crate::body::get_range(store.inner.as_ref(), &path.0, range).await?,
    ))
}

#[doc = obstore_stores::pydoc!(get_range)]
#[pyfunction]
#[pyo3(signature = (store, path, *, start, end = None, length = None))]
pub fn get_range(
    py: Python<'_>,
    store: AnyStore,
    path: PyPath,
    start: u64,
    end: Option<u64>,
    length: Option<u64>,
) -> PyResult<PyBytesWrapper> {
    let range = byte_range(start, end, length)?;
    Ok(store.block_on_complete(py, get_range_inner(store.clone(), path, range))?)
}

#[doc = obstore_stores::pydoc!(get_range_async)]
#[pyfunction]
#[pyo3(signature = (store, path, *, start, end = None, length = None))]
pub fn get_range_async<'py>(
    py: Python<'py>,
    store: AnyStore,
    path: PyPath,
    start: u64,
    end: Option<u64>,
    length: Option<u64>,
) -> PyResult<Bound<'py, PyAny>> {
    let range = byte_range(start, end, length)?;
    let size = range.end - range.start;
    store.into_py_future(py, Some(size), get_range_inner(store.clone(), path, range))
}

/// Pairing `starts` with `ends` or `lengths` item by item: a length mismatch would silently drop
/// the ranges of the longer list.
fn same_length(starts: &[u64], name: &str, other: &[u64]) -> PyResult<()> {
    if starts.len() != other.len() {
        return Err(PyValueError::new_err(format!(
            "starts and {name} must have the same length: starts has {}, {name} has {}",
            starts.len(),
            other.len()
        )));
    }
    Ok(())
}

fn byte_ranges(
    starts: Vec<u64>,
    ends: Option<Vec<u64>>,
    lengths: Option<Vec<u64>>,
) -> PyResult<Vec<Range<u64>>> {
    let ends: Vec<u64> = match range_end(ends, lengths, ["ends", "lengths"])? {
        RangeEnd::End(ends) => {
            same_length(&starts, "ends", &ends)?;
            ends
        }
        RangeEnd::Length(lengths) => {
            same_length(&starts, "lengths", &lengths)?;
            starts
                .iter()
                .zip(lengths)
                .map(|(s, l)| s.saturating_add(l))
                .collect()
        }
    };
    starts
        .into_iter()
        .zip(ends)
        .map(|(start, end)| checked_range(start, end))
        .collect()
}

/// Sorted, merged ranges covering `ranges`: neighbours closer than `coalesce` bytes become one.
fn merge_ranges(ranges: &[Range<u64>], coalesce: u64) -> Vec<Range<u64>> {
    let mut sorted: Vec<Range<u64>> = ranges.to_vec();
    sorted.sort_unstable_by_key(|r| r.start);
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(sorted.len());
    for range in sorted {
        match merged.last_mut() {
            Some(last) if range.start <= last.end.saturating_add(coalesce) => {
                last.end = last.end.max(range.end);
            }
            _ => merged.push(range),
        }
    }
    merged
}

/// How many merged requests are in flight at once.
const RANGE_PARALLELISM: usize = 10;

async fn get_ranges_inner(
    store: AnyStore,
    path: PyPath,
    ranges: Vec<Range<u64>>,
    coalesce: u64,
) -> ObstoreResult<Vec<PyBytesWrapper>> {
    use futures::{StreamExt, TryStreamExt};
    let merged = merge_ranges(&ranges, coalesce);
    let inner = store.inner.clone();
    let location = path.0;
    let fetched: Vec<Bytes> = futures::stream::iter(merged.iter().cloned())
        .map(|range| {
            let inner = inner.clone();
            let location = location.clone();
            async move { crate::body::get_range(inner.as_ref(), &location, range).await }
        })
        .buffered(RANGE_PARALLELISM)
        .try_collect()
        .await?;
    ranges
        .iter()
        .map(|range| {
            let index = merged.partition_point(|m| m.start <= range.start) - 1;
            let data = &fetched[index];
            let offset = (range.start - merged[index].start) as usize;
            // A merged request is clamped at the end of the object; a range that starts there
            // or beyond is as invalid as the same range requested alone.
            if offset >= data.len() {
                return Err(ObstoreError::generic(format!(
                    "Range start {} is beyond the end of object {} ({} bytes)",
                    range.start,
                    location,
                    merged[index].start + data.len() as u64
                )));
            }
            let end = ((range.end - merged[index].start) as usize).min(data.len());
            Ok(PyBytesWrapper::new(data.slice(offset..end)))
        })
        .collect()
}

twins! {
    #[pyo3(signature = (store, path, *, starts, ends = None, lengths = None, coalesce = 1_048_576))]
    fn get_ranges / get_ranges_async(
        py,
        store: AnyStore,
        path: PyPath,
        starts: Vec<u64>,
        ends: Option<Vec<u64>>,
        lengths: Option<Vec<u64>>,
        coalesce: u64,
    )
    sync -> PyResult<Vec<PyBytesWrapper>> {
        let ranges = byte_ranges(starts, ends, lengths)?;
        let get = get_ranges_inner(store.clone(), path, ranges, coalesce);
        Ok(store.block_on_complete(py, get)?)
    }
    async -> PyResult<Bound<'py, PyAny>> {
        let ranges = byte_ranges(starts, ends, lengths)?;
        let total = ranges.iter().map(|r| r.end - r.start).sum();
        let get = get_ranges_inner(store.clone(), path, ranges, coalesce);
        store.into_py_future(py, Some(total), get)
    }
}
