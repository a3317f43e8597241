//! `get_parallel`: one object into memory through concurrent ranged GETs, every part written
//! straight into its place in one buffer of the final size.
//!
//! The first request is an ordinary GET with the caller's options (conditions, version, range):
//! it tells the object's size, ETag and version, and its body supplies the first part. The other
//! parts are ranged GETs pinned to that ETag (`If-Match`) and version, so every byte comes from
//! the same object version or the call fails with `PreconditionError`. Each part runs as its own
//! runtime task (the copies spread over the worker threads); at most `max_concurrency` at a time.

use std::ops::Range;

use bytes::Bytes;
use object_store::{GetOptions, GetRange};
use obstore_stores::bytes::PyBytesWrapper;
use obstore_stores::Executor;
use obstore_stores::{AnyStore, ObstoreError, ObstoreResult, PyPath};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use tokio::task::JoinSet;

use crate::body::{checked_stream, copy_pieces, counted, Body, BodyStream};
use crate::download_buffer::DownloadBuffer;
use crate::get::{get_result, PyGetOptions};
use crate::progress::{ProgressCallback, ProgressTracker};
use crate::twins::twins;
use obstore_stores::integrity::{self, ServerChecksums};

/// `stream`, its first `len` bytes counted when there is a tracker.
fn counted_part(stream: BodyStream, progress: Option<&ProgressTracker>, len: usize) -> BodyStream {
    match progress {
        Some(progress) => counted(stream, progress, len as u64),
        None => stream,
    }
}

/// The options every part after the first is fetched with: the same object version as the first.
pub(crate) fn part_options(
    first: &GetOptions,
    meta: &object_store::ObjectMeta,
    range: Range<u64>,
) -> GetOptions {
    GetOptions {
        if_match: meta.e_tag.clone().or_else(|| first.if_match.clone()),
        if_unmodified_since: first.if_unmodified_since,
        version: first.version.clone().or_else(|| meta.version.clone()),
        range: Some(GetRange::Bounded(range)),
        ..GetOptions::default()
    }
}

/// Copies a body into `buffer[offset..offset + len]`; fails unless exactly `len` bytes come.
/// With `truncate`, stops after `len` bytes and drops the rest of the body (the first request's,
/// which runs on to the end of the object).
async fn fill(
    mut stream: BodyStream,
    buffer: DownloadBuffer,
    offset: usize,
    len: usize,
    truncate: bool,
) -> ObstoreResult<()> {
    let mut rest = None;
    // SAFETY: parts are disjoint ranges of the buffer, each written by one task only;
    // `copy_pieces` writes at most `len` bytes.
    let filled = copy_pieces(&mut stream, &mut rest, len, |at, piece| unsafe {
        buffer.write_at(offset + at, piece)
    })
    .await?;
    if rest.is_some() && !truncate {
        return Err(ObstoreError::generic(format!(
            "get_parallel: the server sent more than the {len} bytes asked for at offset {offset}"
        )));
    }
    if filled != len {
        return Err(ObstoreError::generic(format!(
            "get_parallel: received {filled} of the {len} bytes at offset {offset}"
        )));
    }
    Ok(())
}

/// Fetches the bytes `range` (at `offset` in the buffer) with a ranged GET pinned like `options`.
async fn fetch_part(
    store: AnyStore,
    path: object_store::path::Path,
    options: GetOptions,
    range: Range<u64>,
    buffer: DownloadBuffer,
    offset: usize,
    progress: Option<ProgressTracker>,
) -> ObstoreResult<()> {
    let result = store.inner.get_opts(&path, options).await?;
    if result.range != range {
        return Err(ObstoreError::generic(format!(
            "get_parallel: asked for bytes {range:?} of {path}, the server sent {:?}",
            result.range
        )));
    }
    let len = (range.end - range.start) as usize;
    let stream = counted_part(checked_stream(result), progress.as_ref(), len);
    fill(stream, buffer, offset, len, false).await
}

/// `get_parallel_inner`, with the final progress report when there is a tracker.
async fn get_parallel_tracked(
    store: AnyStore,
    path: PyPath,
    options: GetOptions,
    chunk_size: usize,
    max_concurrency: usize,
    progress: Option<ProgressTracker>,
) -> ObstoreResult<Bytes> {
    let result = get_parallel_inner(
        store,
        path,
        options,
        chunk_size,
        max_concurrency,
        progress.as_ref(),
    )
    .await;
    ProgressTracker::finish_opt(progress.as_ref(), result)
}

async fn get_parallel_inner(
    store: AnyStore,
    path: PyPath,
    options: GetOptions,
    chunk_size: usize,
    max_concurrency: usize,
    progress: Option<&ProgressTracker>,
) -> ObstoreResult<Bytes> {
    let first = get_result(&store, &path, options.clone()).await?;
    let range = first.range.clone();
    let total = range.end - range.start;
    if let Some(progress) = progress {
        progress.set_total(total);
    }
    // In-process stores (nothing to overlap) and objects of one part: the plain read.
    if store.executor != Executor::Runtime || total <= chunk_size as u64 {
        let body = Body::new(first);
        return match progress {
            Some(progress) => body.counted(progress).read_all(total).await,
            None => body.read_all(total).await,
        };
    }
    let size = usize::try_from(total)
        .map_err(|_| ObstoreError::value("object too large for this platform's memory"))?;
    let buffer = DownloadBuffer::new(size)
        .map_err(|err| ObstoreError::generic(format!("cannot allocate {size} bytes: {err}")))?;
    let meta = first.meta.clone();
    let location = meta.location.clone();
    // The parts arrive by ranged reads, which carry no checksum of their own: the whole object
    // is checked once assembled, against the checksum of the first (whole-object) response.
    let checksums = first.extensions.get::<ServerChecksums>().cloned();

    let mut tasks = JoinSet::new();
    tasks.spawn(fill(
        counted_part(checked_stream(first), progress, chunk_size),
        buffer.clone(),
        0,
        chunk_size,
        true,
    ));
    let mut next = range.start + chunk_size as u64;
    loop {
        while next < range.end && tasks.len() < max_concurrency {
            let end = (next + chunk_size as u64).min(range.end);
            let offset = (next - range.start) as usize;
            tasks.spawn(fetch_part(
                store.clone(),
                location.clone(),
                part_options(&options, &meta, next..end),
                next..end,
                buffer.clone(),
                offset,
                progress.cloned(),
            ));
            next = end;
        }
        match tasks.join_next().await {
            None => break,
            Some(Ok(Ok(()))) => {}
            // Dropping the set aborts the other parts.
            Some(Ok(Err(err))) => return Err(err),
            Some(Err(err)) => return Err(ObstoreError::Store(object_store::Error::from(err))),
        }
    }
    let bytes = buffer.into_bytes(size);
    integrity::verify_bytes(&location, checksums.as_ref(), &bytes)?;
    Ok(bytes)
}

/// The download `get_parallel` and `get_parallel_async` run, once its arguments are checked.
fn prepare(
    store: &AnyStore,
    path: PyPath,
    options: Option<PyGetOptions>,
    chunk_size: usize,
    max_concurrency: usize,
    progress: Option<ProgressCallback>,
) -> PyResult<impl std::future::Future<Output = ObstoreResult<Bytes>> + Send + 'static> {
    if chunk_size == 0 {
        return Err(PyValueError::new_err("chunk_size must be at least 1"));
    }
    if max_concurrency == 0 {
        return Err(PyValueError::new_err("max_concurrency must be at least 1"));
    }
    let options = options.unwrap_or_default().0;
    if options.head {
        return Err(PyValueError::new_err(
            "get_parallel reads the body: GetOptions[\"head\"] must not be True",
        ));
    }
    let progress = ProgressTracker::new(progress, &path.0, None);
    Ok(get_parallel_tracked(
        store.clone(),
        path,
        options,
        chunk_size,
        max_concurrency,
        progress,
    ))
}

twins! {
    #[pyo3(signature = (store, path, *, options = None, chunk_size = 16_777_216, max_concurrency = 12, progress = None))]
    fn get_parallel / get_parallel_async(
        py,
        store: AnyStore,
        path: PyPath,
        options: Option<PyGetOptions>,
        chunk_size: usize,
        max_concurrency: usize,
        progress: Option<ProgressCallback>,
    )
    sync -> PyResult<PyBytesWrapper> {
        let future = prepare(&store, path, options, chunk_size, max_concurrency, progress)?;
        Ok(PyBytesWrapper::new(store.block_on(py, future)?))
    }
    async -> PyResult<Bound<'py, PyAny>> {
        let future = prepare(&store, path, options, chunk_size, max_concurrency, progress)?;
        let get = async move { future.await.map(PyBytesWrapper::new) };
        store.into_py_future(py, None, get)
    }
}
