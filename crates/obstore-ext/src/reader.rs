//! `open_reader` / `open_reader_async`: a buffered, seekable reader over ranged gets.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use object_store::path::Path;
use object_store::ObjectStoreExt;
use obstore_stores::bytes::PyBytesWrapper;
use obstore_stores::{AnyStore, ObstoreError, ObstoreResult, PyPath};
use pyo3::exceptions::{PyStopIteration, PyValueError};
use pyo3::prelude::*;

use crate::file_protocol::{file_methods, FileObject};

/// Position and read-ahead buffer of a reader.
struct ReaderState {
    position: u64,
    buffer: Bytes,
    buffer_start: u64,
}

/// Everything a reader operation needs, cheap to clone into a future.
#[derive(Clone)]
struct Reader {
    store: AnyStore,
    path: Path,
    size: u64,
    buffer_size: u64,
    state: Arc<tokio::sync::Mutex<ReaderState>>,
}

impl Reader {
    /// Reads up to `limit` bytes (None: to the end) from the current position.
    async fn read(&self, limit: Option<u64>) -> ObstoreResult<Bytes> {
        let mut state = self.state.lock().await;
        let end = match limit {
            Some(limit) => state.position.saturating_add(limit).min(self.size),
            None => self.size,
        };
        if state.position >= end {
            return Ok(Bytes::new());
        }
        let buffer_end = state.buffer_start + state.buffer.len() as u64;
        let in_buffer = state.position >= state.buffer_start && state.position < buffer_end;
        if in_buffer && end <= buffer_end {
            let from = (state.position - state.buffer_start) as usize;
            let to = (end - state.buffer_start) as usize;
            let out = state.buffer.slice(from..to);
            state.position = end;
            return Ok(out);
        }
        let head = if in_buffer {
            state
                .buffer
                .slice((state.position - state.buffer_start) as usize..)
        } else {
            Bytes::new()
        };
        let fetch_start = state.position + head.len() as u64;
        let fetch_end = end
            .max(fetch_start.saturating_add(self.buffer_size))
            .min(self.size);
        let fetched = self.fetch(fetch_start..fetch_end).await?;
        let needed = (end - fetch_start) as usize;
        let tail = fetched.slice(..needed.min(fetched.len()));
        state.buffer = fetched;
        state.buffer_start = fetch_start;
        state.position = fetch_start + tail.len() as u64;
        if head.is_empty() {
            return Ok(tail);
        }
        let mut out = BytesMut::with_capacity(head.len() + tail.len());
        out.extend_from_slice(&head);
        out.extend_from_slice(&tail);
        Ok(out.freeze())
    }

    /// Exactly the bytes `range`, all inside the size the reader has: an object found shorter
    /// than that size (given to `open_reader`, or since shrunk) raises `UnexpectedEof`, an
    /// `OSError`, instead of a short read.
    async fn fetch(&self, range: Range<u64>) -> ObstoreResult<Bytes> {
        let wanted = range.end - range.start;
        match crate::body::get_range(self.store.inner.as_ref(), &self.path, range.clone()).await {
            Ok(bytes) if bytes.len() as u64 == wanted => Ok(bytes),
            // A ranged GET stops at the end of the object.
            Ok(bytes) => {
                let actual = range.start + bytes.len() as u64;
                Err(self.past_end(range, actual))
            }
            // A range starting at or past the end is refused: tell that apart from other errors.
            Err(err) => match self.store.inner.head(&self.path).await {
                Ok(meta) if meta.size < self.size => Err(self.past_end(range, meta.size)),
                _ => Err(err),
            },
        }
    }

    fn past_end(&self, range: Range<u64>, actual: u64) -> ObstoreError {
        ObstoreError::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!(
                "cannot read bytes {}..{} of {}: the object has {actual} bytes, fewer than the \
                 reader's size of {}",
                range.start, range.end, self.path, self.size
            ),
        ))
    }

    /// Reads through the next `\n` (inclusive), or to the end.
    async fn readline(&self) -> ObstoreResult<Bytes> {
        let mut line = BytesMut::new();
        loop {
            let chunk = self.peek_buffer().await?;
            if chunk.is_empty() {
                return Ok(line.freeze());
            }
            let take = match chunk.iter().position(|b| *b == b'\n') {
                Some(i) => i + 1,
                None => chunk.len(),
            };
            line.extend_from_slice(&chunk[..take]);
            self.state.lock().await.position += take as u64;
            if chunk[take - 1] == b'\n' {
                return Ok(line.freeze());
            }
        }
    }

    /// The buffered bytes from the current position, refilling the buffer when empty.
    async fn peek_buffer(&self) -> ObstoreResult<Bytes> {
        {
            let state = self.state.lock().await;
            let buffer_end = state.buffer_start + state.buffer.len() as u64;
            if state.position >= state.buffer_start && state.position < buffer_end {
                return Ok(state
                    .buffer
                    .slice((state.position - state.buffer_start) as usize..));
            }
            if state.position >= self.size {
                return Ok(Bytes::new());
            }
        }
        let chunk = self.read(Some(self.buffer_size)).await?;
        let mut state = self.state.lock().await;
        // Un-read it: the chunk is now the buffer, and the caller advances explicitly.
        state.position -= chunk.len() as u64;
        state.buffer = chunk.clone();
        state.buffer_start = state.position;
        Ok(chunk)
    }

    async fn readlines(&self, hint: i64) -> ObstoreResult<Vec<PyBytesWrapper>> {
        let mut lines = Vec::new();
        let mut total = 0u64;
        loop {
            let line = self.readline().await?;
            if line.is_empty() {
                return Ok(lines);
            }
            total += line.len() as u64;
            lines.push(PyBytesWrapper::new(line));
            if hint > 0 && total > hint as u64 {
                return Ok(lines);
            }
        }
    }

    async fn seek(&self, offset: i64, whence: i64) -> ObstoreResult<u64> {
        let mut state = self.state.lock().await;
        let base = match whence {
            0 => 0i128,
            1 => state.position as i128,
            2 => self.size as i128,
            other => {
                return Err(ObstoreError::Io(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("Invalid value for whence in seek: {other}"),
                )))
            }
        };
        let target = base + offset as i128;
        if target < 0 {
            return Err(ObstoreError::value(format!(
                "negative seek position {target}"
            )));
        }
        state.position = target as u64;
        Ok(state.position)
    }

    async fn tell(&self) -> ObstoreResult<u64> {
        Ok(self.state.lock().await.position)
    }
}

// The same class serves the sync and the async API (`open_reader_async`).
#[doc = obstore_stores::pydoc!(ReadableFile)]
#[pyclass(name = "ReadableFile", frozen)]
pub struct PyReadableFile {
    reader: Reader,
    r#async: bool,
    closed: AtomicBool,
}

/// The message of the `ValueError` Python's `io` classes raise for any use of a closed file.
pub const CLOSED_FILE: &str = "I/O operation on closed file.";

/// What Python's `io` classes raise for any use of a closed file.
pub fn closed_file_error() -> PyErr {
    PyValueError::new_err(CLOSED_FILE)
}

impl FileObject for PyReadableFile {
    fn check_open(&self) -> PyResult<()> {
        match self.closed.load(Ordering::Acquire) {
            true => Err(closed_file_error()),
            false => Ok(()),
        }
    }

    fn exit(&self, _py: Python<'_>, _failed: bool) -> PyResult<bool> {
        self.close();
        Ok(false)
    }

    fn exit_async<'py>(&self, py: Python<'py>, _failed: bool) -> PyResult<Bound<'py, PyAny>> {
        self.close();
        obstore_stores::runtime::asyncio::ready_future::<bool, PyErr>(py, Ok(false))
    }
}

macro_rules! reader_call {
    ($self:ident, $py:ident, $hint:expr, |$reader:ident| $body:expr) => {{
        $self.check_open()?;
        let $reader = $self.reader.clone();
        if $self.r#async {
            $self
                .reader
                .store
                .into_py_future($py, $hint, async move { $body.await })
        } else {
            let value = $self
                .reader
                .store
                .block_on($py, async move { $body.await })?;
            pyo3::IntoPyObjectExt::into_bound_py_any(value, $py)
        }
    }};
}

file_methods!(PyReadableFile, ReadableFile, AsyncReadableFile, {
    #[doc = obstore_stores::pydoc!(ReadableFile.close)]
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    #[doc = obstore_stores::pydoc!(ReadableFile.closed)]
    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    #[doc = obstore_stores::pydoc!(ReadableFile.read)]
    #[pyo3(signature = (size = None, /))]
    fn read<'py>(&self, py: Python<'py>, size: Option<i64>) -> PyResult<Bound<'py, PyAny>> {
        let limit = size.filter(|s| *s >= 0).map(|s| s as u64);
        reader_call!(
            self,
            py,
            limit.or(Some(self.reader.buffer_size)),
            |reader| async move { reader.read(limit).await.map(PyBytesWrapper::new) }
        )
    }

    #[doc = obstore_stores::pydoc!(ReadableFile.readall)]
    fn readall<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        reader_call!(self, py, None, |reader| async move {
            reader.read(None).await.map(PyBytesWrapper::new)
        })
    }

    #[doc = obstore_stores::pydoc!(ReadableFile.readline)]
    fn readline<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        reader_call!(
            self,
            py,
            Some(self.reader.buffer_size),
            |reader| async move { reader.readline().await.map(PyBytesWrapper::new) }
        )
    }

    #[doc = obstore_stores::pydoc!(ReadableFile.readlines)]
    #[pyo3(signature = (hint = -1, /))]
    fn readlines<'py>(&self, py: Python<'py>, hint: i64) -> PyResult<Bound<'py, PyAny>> {
        reader_call!(self, py, None, |reader| async move {
            reader.readlines(hint).await
        })
    }

    #[doc = obstore_stores::pydoc!(ReadableFile.seek)]
    #[pyo3(signature = (offset, whence = 0, /))]
    fn seek<'py>(&self, py: Python<'py>, offset: i64, whence: i64) -> PyResult<Bound<'py, PyAny>> {
        reader_call!(self, py, Some(0), |reader| async move {
            reader.seek(offset, whence).await
        })
    }

    #[doc = obstore_stores::pydoc!(ReadableFile.seekable)]
    fn seekable(&self) -> PyResult<bool> {
        self.check_open()?;
        Ok(true)
    }

    #[doc = obstore_stores::pydoc!(ReadableFile.tell)]
    fn tell<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        reader_call!(
            self,
            py,
            Some(0),
            |reader| async move { reader.tell().await }
        )
    }

    #[doc = obstore_stores::pydoc!(ReadableFile.size)]
    #[getter]
    fn size(&self) -> PyResult<u64> {
        self.check_open()?;
        Ok(self.reader.size)
    }

    fn __iter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().check_open()?;
        if slf.get().r#async {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "use `async for` with an AsyncReadableFile",
            ));
        }
        Ok(slf)
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<PyBytesWrapper> {
        self.check_open()?;
        let reader = self.reader.clone();
        let line = self
            .reader
            .store
            .block_on(py, async move { reader.readline().await })?;
        if line.is_empty() {
            return Err(PyStopIteration::new_err(()));
        }
        Ok(PyBytesWrapper::new(line))
    }

    fn __repr__(&self) -> String {
        let name = if self.r#async {
            "AsyncReadableFile"
        } else {
            "ReadableFile"
        };
        format!("{name}({:?})", self.reader.path.as_ref())
    }
});

async fn open_inner(
    store: AnyStore,
    path: PyPath,
    buffer_size: u64,
    size: Option<u64>,
    r#async: bool,
) -> ObstoreResult<PyReadableFile> {
    let size = match size {
        Some(size) => size,
        None => store.inner.head(&path.0).await?.size,
    };
    Ok(PyReadableFile {
        reader: Reader {
            store,
            path: path.0,
            size,
            buffer_size: buffer_size.max(1),
            state: Arc::new(tokio::sync::Mutex::new(ReaderState {
                position: 0,
                buffer: Bytes::new(),
                buffer_start: 0,
            })),
        },
        r#async,
        closed: AtomicBool::new(false),
    })
}

#[doc = obstore_stores::pydoc!(open_reader)]
#[pyfunction]
#[pyo3(signature = (store, path, *, buffer_size = 1_048_576, size = None))]
pub fn open_reader(
    py: Python<'_>,
    store: AnyStore,
    path: PyPath,
    buffer_size: u64,
    size: Option<u64>,
) -> PyResult<PyReadableFile> {
    Ok(store.block_on(
        py,
        open_inner(store.clone(), path, buffer_size, size, false),
    )?)
}

#[doc = obstore_stores::pydoc!(open_reader_async)]
#[pyfunction]
#[pyo3(signature = (store, path, *, buffer_size = 1_048_576, size = None))]
pub fn open_reader_async<'py>(
    py: Python<'py>,
    store: AnyStore,
    path: PyPath,
    buffer_size: u64,
    size: Option<u64>,
) -> PyResult<Bound<'py, PyAny>> {
    store.into_py_future(
        py,
        Some(0),
        open_inner(store.clone(), path, buffer_size, size, true),
    )
}
