//! `open_writer` / `open_writer_async`: buffered writes that become a multipart upload once the
//! buffer fills; the object appears on close, and leaving a `with` block on an exception aborts.
//! Store errors keep their type (NotImplementedError, PreconditionError, ...) through close.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use object_store::path::Path;
use object_store::ObjectStore;
use obstore_stores::bytes::PyOwnedBytes;
use obstore_stores::runtime::asyncio::PyNone;
use obstore_stores::{AnyStore, ObstoreError, ObstoreResult, PyPath};
use pyo3::prelude::*;

use crate::file_protocol::{file_methods, FileObject};

use crate::convert::{greater_than_zero, PyAttributes};
use crate::progress::{ProgressCallback, ProgressTracker};
use crate::put::{upload_store, PyTags, UploadSettings, UploadSink};
use crate::twins::twins;

/// A write or flush after the writer was closed, aborted, or failed: what Python's `io` raises.
fn closed_error() -> ObstoreError {
    ObstoreError::value(crate::reader::CLOSED_FILE)
}

/// Buffers writes until `part_size` bytes are pending, then streams them as a multipart upload.
/// A writer that never fills its buffer makes one request on close, with attributes and tags.
struct Writer {
    store: Arc<dyn ObjectStore>,
    path: Path,
    settings: UploadSettings,
    pending: Vec<bytes::Bytes>,
    pending_len: usize,
    upload: Option<UploadSink>,
    /// Counts the bytes written; its final report comes on close, abort or failure.
    progress: Option<ProgressTracker>,
}

impl Writer {
    async fn write(&mut self, data: bytes::Bytes) -> ObstoreResult<()> {
        if let Some(upload) = self.upload.as_mut() {
            return upload.write(data).await;
        }
        self.pending_len += data.len();
        self.pending.push(data);
        if self.pending_len > self.settings.chunk_size {
            let mut upload = UploadSink::start(
                self.store.clone(),
                self.path.clone(),
                self.settings.clone(),
                None,
            )
            .await?;
            self.pending_len = 0;
            for chunk in std::mem::take(&mut self.pending) {
                upload.write(chunk).await?;
            }
            self.upload = Some(upload);
        }
        Ok(())
    }

    async fn finish(self) -> ObstoreResult<()> {
        match self.upload {
            Some(upload) => {
                upload.finish().await?;
            }
            None => {
                let mut single = UploadSink::single(self.store, self.path, self.settings);
                for chunk in self.pending {
                    single.write(chunk).await?;
                }
                single.finish().await?;
            }
        }
        Ok(())
    }

    async fn abort(self) -> ObstoreResult<()> {
        match self.upload {
            Some(upload) => upload.abort().await,
            None => Ok(()),
        }
    }
}

/// The writer, or None once closed or aborted.
type WriterSlot = Arc<tokio::sync::Mutex<Option<Writer>>>;

async fn write(slot: WriterSlot, data: bytes::Bytes) -> ObstoreResult<usize> {
    let mut guard = slot.lock().await;
    let writer = guard.as_mut().ok_or_else(closed_error)?;
    let len = data.len();
    let result = match writer.write(data).await {
        Ok(()) => match &writer.progress {
            Some(progress) => progress.add(len as u64),
            None => Ok(()),
        },
        Err(err) => Err(err),
    };
    if let Err(err) = result {
        // A failed part leaves the upload unusable: abort it so nothing is left behind.
        if let Some(writer) = guard.take() {
            let progress = writer.progress.clone();
            let _ = writer.abort().await;
            if let Some(progress) = progress {
                let _ = progress.finish(false);
            }
        }
        return Err(err);
    }
    Ok(len)
}

async fn flush(slot: WriterSlot) -> ObstoreResult<PyNone> {
    // Parts are uploaded as soon as they fill; what stays buffered cannot be sent on its own.
    let guard = slot.lock().await;
    guard.as_ref().ok_or_else(closed_error)?;
    Ok(PyNone)
}

/// Completes the upload (`complete`) or aborts it, once; the progress callback's final report
/// says whether the upload succeeded, which an abort never does, even when it succeeds itself.
/// The slot stays locked until the upload has ended, so a second close waits for the first.
async fn end(slot: WriterSlot, complete: bool) -> ObstoreResult<PyNone> {
    let mut guard = slot.lock().await;
    let Some(writer) = guard.take() else {
        return Ok(PyNone);
    };
    let progress = writer.progress.clone();
    let result = match complete {
        true => writer.finish().await,
        false => writer.abort().await,
    };
    let reported = progress.map(|p| p.finish(complete && result.is_ok()));
    result?;
    reported.transpose()?;
    Ok(PyNone)
}

async fn close(slot: WriterSlot) -> ObstoreResult<PyNone> {
    end(slot, true).await
}

async fn abort(slot: WriterSlot) -> ObstoreResult<PyNone> {
    end(slot, false).await
}

async fn is_closed(slot: WriterSlot) -> ObstoreResult<bool> {
    Ok(slot.lock().await.is_none())
}

// The same class serves the sync and the async API (`open_writer_async`).
#[doc = obstore_stores::pydoc!(WritableFile)]
#[pyclass(name = "WritableFile", frozen)]
pub struct PyWritableFile {
    store: AnyStore,
    slot: WriterSlot,
    r#async: bool,
    /// Set by the first `close` or `abort` call (not when it completes): from then on every use
    /// but `close`, `abort` and `closed` raises `ValueError`, without waiting for the upload.
    closing: AtomicBool,
}

impl PyWritableFile {
    fn new(store: AnyStore, writer: Writer, r#async: bool) -> Self {
        Self {
            store,
            slot: Arc::new(tokio::sync::Mutex::new(Some(writer))),
            r#async,
            closing: AtomicBool::new(false),
        }
    }

    fn mark_closed(&self) {
        self.closing.store(true, Ordering::Release);
    }
}

impl FileObject for PyWritableFile {
    fn check_open(&self) -> PyResult<()> {
        match self.closing.load(Ordering::Acquire) {
            true => Err(crate::reader::closed_file_error()),
            false => Ok(()),
        }
    }

    fn exit(&self, py: Python<'_>, failed: bool) -> PyResult<bool> {
        self.mark_closed();
        self.store
            .block_on_runtime(py, end(self.slot.clone(), !failed))?;
        Ok(false)
    }

    fn exit_async<'py>(&self, py: Python<'py>, failed: bool) -> PyResult<Bound<'py, PyAny>> {
        self.mark_closed();
        let slot = self.slot.clone();
        self.store.into_py_future_runtime(py, async move {
            end(slot, !failed).await?;
            Ok::<bool, ObstoreError>(false)
        })
    }
}

macro_rules! writer_call {
    ($self:ident, $py:ident, $future:expr) => {{
        let future = $future;
        if $self.r#async {
            $self.store.into_py_future_runtime($py, future)
        } else {
            let value = $self.store.block_on_runtime($py, future)?;
            pyo3::IntoPyObjectExt::into_bound_py_any(value, $py)
        }
    }};
}

file_methods!(PyWritableFile, WritableFile, AsyncWritableFile, {
    #[doc = obstore_stores::pydoc!(WritableFile.write)]
    fn write<'py>(
        &self,
        py: Python<'py>,
        buffer: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.check_open()?;
        let buffer: PyOwnedBytes = buffer.extract()?;
        writer_call!(self, py, write(self.slot.clone(), buffer.0))
    }

    #[doc = obstore_stores::pydoc!(WritableFile.flush)]
    fn flush<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.check_open()?;
        writer_call!(self, py, flush(self.slot.clone()))
    }

    #[doc = obstore_stores::pydoc!(WritableFile.close)]
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.mark_closed();
        writer_call!(self, py, close(self.slot.clone()))
    }

    #[doc = obstore_stores::pydoc!(WritableFile.abort)]
    fn abort<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.mark_closed();
        writer_call!(self, py, abort(self.slot.clone()))
    }

    #[doc = obstore_stores::pydoc!(WritableFile.closed)]
    fn closed<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        writer_call!(self, py, is_closed(self.slot.clone()))
    }

    fn __repr__(&self) -> &'static str {
        if self.r#async {
            "AsyncWritableFile"
        } else {
            "WritableFile"
        }
    }
});

twins! {
    #[pyo3(signature = (store, path, *, attributes = None, buffer_size = 10_485_760, tags = None, max_concurrency = 12, progress = None, checksum = "default"))]
    fn open_writer / open_writer_async(
        _py,
        store: &Bound<'py, PyAny>,
        path: PyPath,
        attributes: Option<PyAttributes>,
        buffer_size: usize,
        tags: Option<PyTags>,
        max_concurrency: usize,
        progress: Option<ProgressCallback>,
        checksum: Option<&str>,
    )
    shared {
        let store = upload_store(store, checksum)?;
        let buffer_size = greater_than_zero("buffer_size", buffer_size)?;
        let settings = UploadSettings {
            attributes: attributes.map(|a| a.0).unwrap_or_default(),
            min_part_size: store.min_part_size(),
            tags: tags.map(|t| t.0).unwrap_or_default(),
            mode: object_store::PutMode::Overwrite,
            use_multipart: Some(true),
            chunk_size: buffer_size,
            max_concurrency: max_concurrency.max(1),
        };
        let progress = ProgressTracker::new(progress, &path.0, None);
        let writer = Writer {
            store: store.inner.clone(),
            progress,
            path: path.0,
            settings,
            pending: Vec::new(),
            pending_len: 0,
            upload: None,
        };
    }
    sync -> PyResult<PyWritableFile> {
        Ok(PyWritableFile::new(store, writer, false))
    }
    async -> PyResult<PyWritableFile> {
        Ok(PyWritableFile::new(store, writer, true))
    }
}
