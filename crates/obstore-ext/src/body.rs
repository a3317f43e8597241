//! The body of a get: a network stream or a local file, read whole or in chunks of a minimum size.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::stream::BoxStream;
use futures::StreamExt;
use obstore_stores::{ObstoreError, ObstoreResult};

use crate::download_buffer::DownloadBuffer;

/// What is left to read of an object.
pub enum Body {
    /// Bytes arriving from a store.
    Stream(BoxStream<'static, object_store::Result<Bytes>>),
    /// A local file, read directly (inline from sync code, on the blocking pool from asyncio).
    File {
        file: Arc<File>,
        path: PathBuf,
        position: u64,
        end: u64,
    },
}

impl Body {
    /// Takes the payload of a get result.
    pub fn new(result: object_store::GetResult) -> Self {
        let range = result.range.clone();
        match result.payload {
            object_store::GetResultPayload::File(file, path) => Body::File {
                file: Arc::new(file),
                path,
                position: range.start,
                end: range.end,
            },
            object_store::GetResultPayload::Stream(stream) => Body::Stream(stream),
        }
    }

    /// Reads everything left into one buffer, allocated once at its final size when the size is known.
    pub async fn read_all(self, size_hint: u64) -> ObstoreResult<Bytes> {
        match self {
            Body::Stream(stream) => collect_stream(stream, size_hint).await,
            Body::File {
                file,
                path,
                position,
                end,
            } => read_file_range(file, path, position, end).await,
        }
    }

    /// The next chunk of at least `min_chunk_size` bytes (the last may be shorter), or None at the end.
    pub async fn next_chunk(&mut self, min_chunk_size: usize) -> ObstoreResult<Option<Bytes>> {
        let min_chunk_size = min_chunk_size.max(1);
        match self {
            Body::Stream(stream) => {
                let mut buffer: Option<BytesMut> = None;
                let mut first: Option<Bytes> = None;
                while let Some(next) = stream.next().await {
                    let next = next?;
                    if next.is_empty() {
                        continue;
                    }
                    match (&mut first, &mut buffer) {
                        (None, None) => {
                            if next.len() >= min_chunk_size {
                                return Ok(Some(next));
                            }
                            first = Some(next);
                        }
                        (Some(head), None) => {
                            let mut joined = BytesMut::with_capacity(
                                min_chunk_size.max(head.len() + next.len()),
                            );
                            joined.extend_from_slice(head);
                            joined.extend_from_slice(&next);
                            first = None;
                            if joined.len() >= min_chunk_size {
                                return Ok(Some(joined.freeze()));
                            }
                            buffer = Some(joined);
                        }
                        (_, Some(joined)) => {
                            joined.extend_from_slice(&next);
                            if joined.len() >= min_chunk_size {
                                return Ok(buffer.map(BytesMut::freeze));
                            }
                        }
                    }
                }
                Ok(first.or_else(|| buffer.map(BytesMut::freeze)))
            }
            Body::File {
                file,
                path,
                position,
                end,
            } => {
                if *position >= *end {
                    return Ok(None);
                }
                let stop = (*position + min_chunk_size as u64).min(*end);
                let chunk = read_file_range(file.clone(), path.clone(), *position, stop).await?;
                *position = stop;
                Ok(Some(chunk))
            }
        }
    }
}

/// Collects a body into one buffer allocated at its final size (no copy when it comes as one chunk).
async fn collect_stream(
    mut stream: BoxStream<'static, object_store::Result<Bytes>>,
    size_hint: u64,
) -> ObstoreResult<Bytes> {
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
/// madvise(MADV_HUGEPAGE) on such buffers was measured 3x slower (bench/README.md).
const LARGE_BODY: usize = 32 * 1024 * 1024;

async fn collect_large(
    mut stream: BoxStream<'static, object_store::Result<Bytes>>,
    capacity: usize,
    first: Bytes,
    second: Bytes,
) -> ObstoreResult<Bytes> {
    let buffer = DownloadBuffer::new(capacity)
        .map_err(|err| ObstoreError::generic(format!("cannot allocate {capacity} bytes: {err}")))?;
    let mut filled = 0usize;
    let mut pending = Some(first).into_iter().chain(Some(second));
    loop {
        let chunk = match pending.next() {
            Some(chunk) => chunk,
            None => match stream.next().await.transpose()? {
                Some(chunk) => chunk,
                None => break,
            },
        };
        if filled + chunk.len() > capacity {
            // More than the announced size: finish in a growable buffer.
            let mut rest = Vec::with_capacity(filled + chunk.len());
            rest.extend_from_slice(&buffer.into_bytes(filled));
            rest.extend_from_slice(&chunk);
            while let Some(chunk) = stream.next().await.transpose()? {
                rest.extend_from_slice(&chunk);
            }
            return Ok(Bytes::from(rest));
        }
        // SAFETY: this function is the buffer's only writer; in bounds (checked above).
        unsafe { buffer.write_at(filled, &chunk) };
        filled += chunk.len();
    }
    Ok(buffer.into_bytes(filled))
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
