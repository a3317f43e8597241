//! The body of a get: a network stream or a local file, read whole or in chunks of a minimum size.
//! Every body is checked against the byte range its response announced: one that ends early or
//! runs long raises instead of handing out short or extra data.

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore};
use obstore_stores::integrity::{self, ServerChecksums};
use obstore_stores::{ObstoreError, ObstoreResult};

use crate::download_buffer::DownloadBuffer;
use crate::progress::ProgressTracker;

/// The chunks of a body, checked against the range announced (see [`checked_stream`]).
pub type BodyStream = BoxStream<'static, ObstoreResult<Bytes>>;

/// The body of `result` as a stream that fails where the bytes received stop matching the range
/// the response announced: with `UnexpectedEof` (an `OSError`) when the body ends early, with
/// `InvalidData` when it runs past its end. A well-framed response can still be short (a 206
/// whose `Content-Length` is smaller than its `Content-Range`), and a short body must never pass
/// for the whole object.
pub fn checked_stream(result: object_store::GetResult) -> BodyStream {
    let location = result.meta.location.clone();
    let range = result.range.clone();
    let checksums = result.extensions.get::<ServerChecksums>().cloned();
    let stream = verify_stream(result.into_stream(), checksums.as_ref(), &location, &range);
    check(stream, location, range)
}

/// The stream of a whole object checked, at its end, against the checksum its response
/// announced (a response carries one only for a whole-object read; see
/// `obstore_stores::integrity`).
fn verify_stream(
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    checksums: Option<&ServerChecksums>,
    location: &Path,
    range: &Range<u64>,
) -> BoxStream<'static, object_store::Result<Bytes>> {
    integrity::verify_stream(stream, checksums, location, range.end - range.start)
}

fn check(
    inner: BoxStream<'static, object_store::Result<Bytes>>,
    location: Path,
    range: Range<u64>,
) -> BodyStream {
    CheckedBody {
        inner,
        location,
        range,
        received: 0,
        done: false,
    }
    .boxed()
}

struct CheckedBody {
    inner: BoxStream<'static, object_store::Result<Bytes>>,
    location: Path,
    range: Range<u64>,
    received: u64,
    done: bool,
}

impl CheckedBody {
    fn expected(&self) -> u64 {
        self.range.end - self.range.start
    }

    fn error(&self, kind: std::io::ErrorKind, what: &str) -> ObstoreError {
        ObstoreError::Io(std::io::Error::new(
            kind,
            format!(
                "the body of {} {what}: {} bytes received, {} expected (bytes {}..{})",
                self.location,
                self.received,
                self.expected(),
                self.range.start,
                self.range.end
            ),
        ))
    }
}

impl Stream for CheckedBody {
    type Item = ObstoreResult<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let item = match self.inner.poll_next_unpin(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(item) => item,
        };
        Poll::Ready(Some(match item {
            Some(Ok(chunk)) => {
                self.received += chunk.len() as u64;
                if self.received > self.expected() {
                    self.done = true;
                    Err(self.error(std::io::ErrorKind::InvalidData, "is longer than announced"))
                } else {
                    Ok(chunk)
                }
            }
            Some(Err(err)) => {
                self.done = true;
                Err(err.into())
            }
            None => {
                self.done = true;
                if self.received == self.expected() {
                    return Poll::Ready(None);
                }
                Err(self.error(std::io::ErrorKind::UnexpectedEof, "ended early"))
            }
        }))
    }
}

/// The bytes `range` of an object, clamped at its end as a ranged GET is, and checked like every
/// body: what `ObjectStoreExt::get_range` does, minus the silent short read.
pub async fn get_range(
    store: &dyn ObjectStore,
    location: &Path,
    range: Range<u64>,
) -> ObstoreResult<Bytes> {
    let options = GetOptions {
        range: Some(GetRange::Bounded(range)),
        ..GetOptions::default()
    };
    let result = store.get_opts(location, options).await?;
    let len = result.range.end - result.range.start;
    Body::new(result).read_all(len).await
}

/// What is left to read of an object.
pub enum Body {
    /// Bytes arriving from a store; `leftover` is the unread end of a chunk split by `fill`.
    Stream {
        stream: BodyStream,
        leftover: Option<Bytes>,
        /// Counts the bytes handed out.
        progress: Option<ProgressTracker>,
    },
    /// A local file, read directly (inline from sync code, on the blocking pool from asyncio).
    File {
        file: Arc<File>,
        path: PathBuf,
        position: u64,
        end: u64,
        /// Counts the bytes handed out.
        progress: Option<ProgressTracker>,
    },
}

impl Body {
    /// Takes the payload of a get result, checked against the range it announces.
    pub fn new(result: object_store::GetResult) -> Self {
        let checksums = result.extensions.get::<ServerChecksums>();
        let location = &result.meta.location;
        Self::from_payload(
            result.payload,
            location,
            result.range,
            checksums,
            true,
            false,
        )
    }

    /// Takes the payload of a get result whose other parts the caller keeps: `range` is the one
    /// the response announced, `checksums` those to verify the body against, `checked` whether
    /// the body is checked against `range`: not for the answer to a HEAD request
    /// (`GetOptions::head`), whose range describes the object, not the body, which is whatever
    /// comes (nothing from a server, the object from memory).
    /// `in_memory`: the store answers from memory, so its stream is ready when polled, and its
    /// body is taken whole at once (see [`Self::read_held`]).
    pub fn from_payload(
        payload: object_store::GetResultPayload,
        location: &Path,
        range: Range<u64>,
        checksums: Option<&ServerChecksums>,
        checked: bool,
        in_memory: bool,
    ) -> Self {
        match payload {
            object_store::GetResultPayload::File(file, path) => Body::File {
                file: Arc::new(file),
                path,
                position: range.start,
                end: range.end,
                progress: None,
            },
            object_store::GetResultPayload::Stream(stream) => Body::Stream {
                stream: match checked {
                    true if in_memory && checksums.is_none() => {
                        match hold(stream, range.end - range.start) {
                            Ok(held) => return Self::held(held),
                            Err(stream) => check(stream, location.clone(), range),
                        }
                    }
                    true => {
                        let stream = verify_stream(stream, checksums, location, &range);
                        check(stream, location.clone(), range)
                    }
                    false => stream
                        .map(|chunk| chunk.map_err(ObstoreError::from))
                        .boxed(),
                },
                leftover: None,
                progress: None,
            },
        }
    }

    /// A body whose bytes are all here: `leftover`, before a stream that is over (an empty stream
    /// is a zero-sized value: its box allocates nothing).
    fn held(data: Bytes) -> Self {
        Body::Stream {
            stream: futures::stream::empty().boxed(),
            leftover: Some(data),
            progress: None,
        }
    }

    /// Reads the body at once if all of it is held already (see [`Self::from_payload`]), with
    /// its bytes counted; else gives it back, to read with [`Self::read_all`].
    pub fn read_held(self) -> Result<ObstoreResult<Bytes>, Self> {
        match self {
            Body::Stream {
                stream,
                leftover: Some(data),
                progress,
            } if is_over(&stream) => Ok(count(progress.as_ref(), data.len()).map(|()| data)),
            other => Err(other),
        }
    }

    /// The same body, its bytes counted by `progress` as they are handed out.
    pub fn counted(mut self, tracker: &ProgressTracker) -> Self {
        match &mut self {
            Body::Stream { progress, .. } | Body::File { progress, .. } => {
                *progress = Some(tracker.clone())
            }
        }
        self
    }

    /// The tracker counting this body, if any: its final report is the reader's to make.
    pub fn progress(&self) -> Option<&ProgressTracker> {
        match self {
            Body::Stream { progress, .. } | Body::File { progress, .. } => progress.as_ref(),
        }
    }

    /// Reads everything left into one buffer, allocated once at its final size when the size is known.
    pub async fn read_all(self, size_hint: u64) -> ObstoreResult<Bytes> {
        match self {
            Body::Stream {
                stream,
                leftover,
                progress,
            } => {
                let stream = match leftover {
                    Some(data) if is_over(&stream) => {
                        return count(progress.as_ref(), data.len()).map(|()| data)
                    }
                    Some(data) => futures::stream::iter([Ok(data)]).chain(stream).boxed(),
                    None => stream,
                };
                let stream = match progress {
                    Some(progress) => counted(stream, &progress, u64::MAX),
                    None => stream,
                };
                collect_stream(stream, size_hint).await
            }
            Body::File {
                file,
                path,
                position,
                end,
                progress,
            } => {
                let bytes = read_file_range(file, path, position, end).await?;
                count(progress.as_ref(), bytes.len())?;
                Ok(bytes)
            }
        }
    }

    /// The next chunk of at least `min_chunk_size` bytes (the last may be shorter), or None at the
    /// end: network chunks as they come when large enough, else joined.
    pub async fn next_chunk(&mut self, min_chunk_size: usize) -> ObstoreResult<Option<Bytes>> {
        let chunk = self.next_chunk_uncounted(min_chunk_size).await?;
        count(self.progress(), chunk.as_ref().map_or(0, Bytes::len))?;
        Ok(chunk)
    }

    async fn next_chunk_uncounted(
        &mut self,
        min_chunk_size: usize,
    ) -> ObstoreResult<Option<Bytes>> {
        let min_chunk_size = min_chunk_size.max(1);
        match self {
            Body::Stream {
                stream, leftover, ..
            } => {
                let mut joined: Option<BytesMut> = None;
                while let Some(next) = next_piece(stream, leftover).await? {
                    if next.is_empty() {
                        continue;
                    }
                    match joined.as_mut() {
                        None if next.len() >= min_chunk_size => return Ok(Some(next)),
                        None => {
                            let mut buffer = BytesMut::with_capacity(min_chunk_size);
                            buffer.extend_from_slice(&next);
                            joined = Some(buffer);
                        }
                        Some(buffer) => {
                            buffer.extend_from_slice(&next);
                            if buffer.len() >= min_chunk_size {
                                break;
                            }
                        }
                    }
                }
                Ok(joined.map(BytesMut::freeze))
            }
            Body::File { .. } => self.next_file_chunk(min_chunk_size).await,
        }
    }

    /// Fills `dest` with the next bytes of the body; fewer only at its end (0: nothing left).
    pub async fn fill(&mut self, dest: &mut [u8]) -> ObstoreResult<usize> {
        let filled = self.fill_uncounted(dest).await?;
        count(self.progress(), filled)?;
        Ok(filled)
    }

    async fn fill_uncounted(&mut self, dest: &mut [u8]) -> ObstoreResult<usize> {
        match self {
            Body::Stream {
                stream, leftover, ..
            } => {
                copy_pieces(stream, leftover, dest.len(), |offset, piece| {
                    dest[offset..offset + piece.len()].copy_from_slice(piece)
                })
                .await
            }
            Body::File { .. } => {
                // Read into a buffer of our own (a blocking read on the pool must not write into
                // memory the caller may drop), then copy.
                let Some(chunk) = self.next_file_chunk(dest.len()).await? else {
                    return Ok(0);
                };
                dest[..chunk.len()].copy_from_slice(&chunk);
                Ok(chunk.len())
            }
        }
    }

    /// The next at most `max` bytes of a file body (None at its end, or for a stream body).
    async fn next_file_chunk(&mut self, max: usize) -> ObstoreResult<Option<Bytes>> {
        let Body::File {
            file,
            path,
            position,
            end,
            ..
        } = self
        else {
            return Ok(None);
        };
        let stop = (*position + max as u64).min(*end);
        if stop <= *position {
            return Ok(None);
        }
        let chunk = read_file_range(file.clone(), path.clone(), *position, stop).await?;
        *position = stop;
        Ok(Some(chunk))
    }
}

/// Whether `stream` promises no more items (its size hint's upper bound is 0).
fn is_over(stream: &BodyStream) -> bool {
    stream.size_hint() == (0, Some(0))
}

/// The body of an in-memory store, taken whole: a stream ready when polled, of one chunk that
/// is the whole range `expected` long (what a checked stream lets through). Any other stream is
/// given back as it was, the items already polled replayed first.
fn hold(
    mut stream: BoxStream<'static, object_store::Result<Bytes>>,
    expected: u64,
) -> Result<Bytes, BoxStream<'static, object_store::Result<Bytes>>> {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let first = match stream.poll_next_unpin(&mut cx) {
        Poll::Ready(Some(Ok(chunk))) if chunk.len() as u64 == expected => chunk,
        Poll::Pending => return Err(stream),
        Poll::Ready(None) => return Err(futures::stream::empty().boxed()),
        Poll::Ready(Some(item)) => return Err(replay(vec![item], stream)),
    };
    match stream.poll_next_unpin(&mut cx) {
        Poll::Ready(None) => Ok(first),
        Poll::Pending => Err(replay(vec![Ok(first)], stream)),
        Poll::Ready(Some(item)) => Err(replay(vec![Ok(first), item], stream)),
    }
}

/// `polled` (items taken from `rest` already), then `rest`.
fn replay(
    polled: Vec<object_store::Result<Bytes>>,
    rest: BoxStream<'static, object_store::Result<Bytes>>,
) -> BoxStream<'static, object_store::Result<Bytes>> {
    futures::stream::iter(polled).chain(rest).boxed()
}

/// Counts `len` bytes handed out, if there is a tracker.
fn count(progress: Option<&ProgressTracker>, len: usize) -> ObstoreResult<()> {
    match progress {
        Some(progress) => progress.add(len as u64),
        None => Ok(()),
    }
}

/// Collects a body into one buffer allocated at its final size (no copy when it comes as one chunk).
async fn collect_stream(mut stream: BodyStream, size_hint: u64) -> ObstoreResult<Bytes> {
    let Some(first) = stream.next().await.transpose()? else {
        return Ok(Bytes::new());
    };
    let Some(second) = stream.next().await.transpose()? else {
        return Ok(first);
    };
    let capacity = usize::try_from(size_hint)
        .unwrap_or(0)
        .max(first.len() + second.len());
    if capacity >= LARGE_BODY {
        return collect_large(stream, capacity, first, second).await;
    }
    let mut buffer: Vec<u8> = Vec::with_capacity(capacity);
    buffer.extend_from_slice(&first);
    buffer.extend_from_slice(&second);
    drop((first, second));
    while let Some(chunk) = stream.next().await.transpose()? {
        buffer.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buffer))
}

/// Bodies from this size on land in a [`DownloadBuffer`] (pages populated ahead of the copy).
/// madvise(MADV_HUGEPAGE) on such buffers measures 3x slower (docs/performance.md).
const LARGE_BODY: usize = 32 * 1024 * 1024;

async fn collect_large(
    stream: BodyStream,
    capacity: usize,
    first: Bytes,
    second: Bytes,
) -> ObstoreResult<Bytes> {
    let buffer = DownloadBuffer::new(capacity)
        .map_err(|err| ObstoreError::generic(format!("cannot allocate {capacity} bytes: {err}")))?;
    let mut stream = futures::stream::iter([Ok(first), Ok(second)]).chain(stream);
    let mut rest = None;
    // SAFETY: this function is the buffer's only writer; `copy_pieces` stays within `capacity`.
    let filled = copy_pieces(&mut stream, &mut rest, capacity, |offset, piece| unsafe {
        buffer.write_at(offset, piece)
    })
    .await?;
    let Some(rest) = rest else {
        return Ok(buffer.into_bytes(filled));
    };
    // More than the announced size: finish in a growable buffer.
    let mut all = Vec::with_capacity(filled + rest.len());
    all.extend_from_slice(&buffer.into_bytes(filled));
    all.extend_from_slice(&rest);
    while let Some(chunk) = stream.next().await.transpose()? {
        all.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(all))
}

/// The unread end of the last chunk if there is one, else the next chunk of `stream`.
async fn next_piece<S>(stream: &mut S, leftover: &mut Option<Bytes>) -> ObstoreResult<Option<Bytes>>
where
    S: futures::Stream<Item = ObstoreResult<Bytes>> + Unpin,
{
    match leftover.take() {
        Some(piece) => Ok(Some(piece)),
        None => Ok(stream.next().await.transpose()?),
    }
}

/// Hands the next `len` bytes of a body (`leftover` first, then `stream`) to `write(offset,
/// piece)`, in order; stops early at the end of the stream. A chunk that runs past `len` is split
/// and its unwritten end left in `leftover`. Returns the number of bytes written.
pub async fn copy_pieces<S>(
    stream: &mut S,
    leftover: &mut Option<Bytes>,
    len: usize,
    mut write: impl FnMut(usize, &[u8]),
) -> ObstoreResult<usize>
where
    S: futures::Stream<Item = ObstoreResult<Bytes>> + Unpin,
{
    let mut filled = 0;
    while filled < len {
        let Some(chunk) = next_piece(stream, leftover).await? else {
            break;
        };
        let take = chunk.len().min(len - filled);
        write(filled, &chunk[..take]);
        filled += take;
        if take < chunk.len() {
            *leftover = Some(chunk.slice(take..));
        }
    }
    Ok(filled)
}

/// Reads `[start, end)` of a file: inline when there is no tokio context (sync calls), otherwise on
/// the blocking pool so an event loop is never blocked by a large read.
async fn read_file_range(
    file: Arc<File>,
    path: PathBuf,
    start: u64,
    end: u64,
) -> ObstoreResult<Bytes> {
    let read = move || -> ObstoreResult<Bytes> {
        let len = usize::try_from(end - start)
            .map_err(|_| ObstoreError::value("range too large for this platform"))?;
        // calloc'd: the kernel hands out zero pages lazily, so there is no separate zeroing pass.
        let mut buffer = vec![0u8; len];
        file.read_exact_at(&mut buffer, start).map_err(|err| {
            ObstoreError::generic(format!(
                "Error reading bytes {start}..{end} of {}: {err}",
                path.display()
            ))
        })?;
        Ok(Bytes::from(buffer))
    };
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle
            .spawn_blocking(read)
            .await
            .map_err(|err| ObstoreError::Store(object_store::Error::from(err)))?,
        Err(_) => read(),
    }
}

/// `stream`, with its first `limit` bytes counted by `progress` (`u64::MAX`: all; less for a
/// body read only in part, whose rest is dropped or counted elsewhere); a chunk whose report
/// raises is replaced by the error.
pub fn counted(stream: BodyStream, progress: &ProgressTracker, limit: u64) -> BodyStream {
    CountedStream {
        inner: stream,
        progress: progress.clone(),
        uncounted: limit,
    }
    .boxed()
}

/// A body stream whose chunks are counted as they pass.
struct CountedStream {
    inner: BodyStream,
    progress: ProgressTracker,
    /// How many more bytes are counted.
    uncounted: u64,
}

impl Stream for CountedStream {
    type Item = ObstoreResult<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let n = (chunk.len() as u64).min(self.uncounted);
                self.uncounted -= n;
                Poll::Ready(Some(self.progress.add(n).map(|()| chunk)))
            }
            other => other,
        }
    }
}
