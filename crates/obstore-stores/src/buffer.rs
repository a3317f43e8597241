//! Zero-copy views of Python buffers as `bytes::Bytes`, released safely from any thread.
//!
//! A view keeps the Python object's buffer exported until the last `Bytes` referencing it is dropped.
//! Releasing a buffer needs the interpreter; when the drop happens on a tokio worker (the end of an
//! upload), the release is queued and performed by the next caller that holds the GIL (the asyncio
//! completion callback, or the sync call that waited for the upload), so workers never wait for the GIL.

use std::sync::Mutex;

use bytes::Bytes;
use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};

static DEFERRED: Mutex<Vec<PyUntypedBuffer>> = Mutex::new(Vec::new());

/// Releases buffers whose last view was dropped on a worker thread. Call with the GIL held.
pub fn release_deferred(_py: Python<'_>) {
    let pending = {
        let mut deferred = DEFERRED.lock().unwrap_or_else(|e| e.into_inner());
        if deferred.is_empty() {
            return;
        }
        std::mem::take(&mut *deferred)
    };
    drop(pending);
}

/// Memory that `owner` keeps alive and unchanged: a `bytes` object, or an exported buffer.
struct Owned<O> {
    _owner: O,
    ptr: *const u8,
    len: usize,
}

// SAFETY: the memory stays valid and unchanged while the owner lives (an immutable `bytes`
// object, or a buffer that stays exported until released), and the pointer is only read.
unsafe impl<O: Send> Send for Owned<O> {}
unsafe impl<O: Sync> Sync for Owned<O> {}

impl<O> AsRef<[u8]> for Owned<O> {
    fn as_ref(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: see the Send impl; ptr/len come from the owner.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// An exported buffer, released when dropped: on a runtime thread, by the next caller that holds
/// the GIL (see [`release_deferred`]).
struct Export(Option<PyUntypedBuffer>);

impl Drop for Export {
    fn drop(&mut self) {
        if let Some(buffer) = self.0.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                DEFERRED
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(buffer);
            } else {
                drop(buffer);
            }
        }
    }
}

/// Views `obj` (a `bytes` object or any C-contiguous buffer exporter) as `Bytes` without
/// copying, or explains which type was given instead. The view keeps the buffer exported until
/// its last `Bytes` is dropped, so the exporter cannot resize it meanwhile; a mutable exporter
/// can still change its contents.
pub fn view(obj: &Bound<'_, PyAny>) -> PyResult<Bytes> {
    if let Ok(bytes) = obj.cast::<PyBytes>() {
        let slice = bytes.as_bytes();
        return Ok(Bytes::from_owner(Owned {
            ptr: slice.as_ptr(),
            len: slice.len(),
            _owner: bytes.clone().unbind(),
        }));
    }
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "a bytes-like object is required, not 'str'",
        ));
    }
    let buffer = PyUntypedBuffer::get(obj).map_err(|_| {
        let type_name = obj
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into());
        PyTypeError::new_err(format!(
            "a bytes-like object is required, not '{type_name}'"
        ))
    })?;
    if !buffer.is_c_contiguous() {
        return Err(PyValueError::new_err(
            "the buffer must be C-contiguous to be used as object data",
        ));
    }
    if obj.is_instance_of::<PyByteArray>() && buffer.len_bytes() == 0 {
        return Ok(Bytes::new());
    }
    let ptr = buffer.buf_ptr() as *const u8;
    let len = buffer.len_bytes();
    Ok(Bytes::from_owner(Owned {
        _owner: Export(Some(buffer)),
        ptr,
        len,
    }))
}
