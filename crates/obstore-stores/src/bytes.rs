//! `obstore.Bytes`: an immutable, zero-copy view of Rust-owned bytes with the buffer protocol;
//! and [`PyBufferBytes`] / [`PyOwnedBytes`], bytes in from any Python buffer.
//!
//! Every operation that makes new bytes computes their size with checked arithmetic and allocates
//! with `try_reserve`: a size past `isize::MAX` raises `OverflowError`, memory that cannot be had
//! raises `MemoryError`, where the allocator would otherwise abort the process.

use std::os::raw::c_int;

use bytes::Bytes;
use pyo3::exceptions::{PyIndexError, PyMemoryError, PyOverflowError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyInt, PyMemoryView, PySlice, PyTuple};

use crate::buffer;

#[doc = crate::pydoc!(Bytes)]
#[pyclass(name = "Bytes", module = "obstore", frozen, sequence, subclass)]
#[derive(Clone, Debug, Default)]
pub struct PyBytesWrapper(Bytes);

impl PyBytesWrapper {
    /// Wraps `bytes` without copying.
    pub fn new(bytes: Bytes) -> Self {
        Self(bytes)
    }

    /// The wrapped bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Unwraps the bytes.
    pub fn into_inner(self) -> Bytes {
        self.0
    }

    fn map_ascii(&self, f: impl Fn(&mut [u8])) -> PyResult<Self> {
        let mut out = try_alloc(self.0.len())?;
        out.extend_from_slice(&self.0);
        f(&mut out);
        Ok(Self(Bytes::from(out)))
    }

    /// The bytes repeated `count` times (none for `count <= 0`), as `bytes * count` does.
    fn repeat(&self, count: &Bound<'_, PyAny>) -> PyResult<Option<Self>> {
        let Some(count) = index_of(count)? else {
            return Ok(None);
        };
        let part = self.0.len();
        if count <= 0 || part == 0 {
            return Ok(Some(Self(Bytes::new())));
        }
        let total = part
            .checked_mul(count as usize)
            .filter(|total| *total <= isize::MAX as usize)
            .ok_or_else(|| PyOverflowError::new_err("repeated bytes are too long"))?;
        let mut out = try_alloc(total)?;
        out.extend_from_slice(&self.0);
        // Doubling: log2(count) copies, each within the reserved capacity.
        while out.len() < total {
            let take = out.len().min(total - out.len());
            out.extend_from_within(..take);
        }
        Ok(Some(Self(Bytes::from(out))))
    }
}

/// An empty vector with room for exactly `len` bytes: `OverflowError` past `isize::MAX`,
/// `MemoryError` when the allocation fails (instead of the allocator aborting the process).
pub fn try_alloc(len: usize) -> PyResult<Vec<u8>> {
    if len > isize::MAX as usize {
        return Err(PyOverflowError::new_err(format!(
            "cannot make {len} bytes: more than the largest size a buffer can have"
        )));
    }
    let mut out = Vec::new();
    out.try_reserve_exact(len)
        .map_err(|_| PyMemoryError::new_err(format!("cannot allocate {len} bytes")))?;
    Ok(out)
}

/// `obj` as a Python index (an int, or an object with `__index__`), None for other types;
/// `OverflowError` for an int that does not fit a size, as `bytes * n` raises.
fn index_of(obj: &Bound<'_, PyAny>) -> PyResult<Option<isize>> {
    // SAFETY: `obj` is a valid object; PyIndex_Check only reads its type.
    if unsafe { ffi::PyIndex_Check(obj.as_ptr()) } == 0 {
        return Ok(None);
    }
    // SAFETY: `obj` supports __index__ (checked above); the result is a new reference or NULL.
    let index =
        unsafe { Bound::from_owned_ptr_or_err(obj.py(), ffi::PyNumber_Index(obj.as_ptr()))? };
    let index = index.cast_into::<PyInt>().map_err(PyErr::from)?;
    index.extract::<isize>().map(Some).map_err(|_| {
        PyOverflowError::new_err(format!(
            "cannot fit '{}' into an index-sized integer",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })
}

impl From<Bytes> for PyBytesWrapper {
    fn from(value: Bytes) -> Self {
        Self(value)
    }
}

fn all_ascii(data: &[u8], test: impl Fn(&u8) -> bool) -> bool {
    !data.is_empty() && data.iter().all(test)
}

#[pymethods]
impl PyBytesWrapper {
    #[new]
    #[pyo3(signature = (*args), text_signature = "(buf=b'')")]
    fn py_new(args: &Bound<'_, PyTuple>) -> PyResult<Self> {
        match args.len() {
            0 => Ok(Self(Bytes::new())),
            // Copies a mutable buffer: a `Bytes` never changes, which is what lets `put` and
            // friends share it without copying.
            1 => Ok(Self(PyBufferBytes::owned_from_object(&args.get_item(0)?)?)),
            n => Err(PyTypeError::new_err(format!(
                "Bytes() takes at most 1 argument ({n} given)"
            ))),
        }
    }

    /// Exposes the bytes read-only through the buffer protocol.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        if view.is_null() {
            return Err(PyValueError::new_err("NULL view in __getbuffer__"));
        }
        if flags & ffi::PyBUF_WRITABLE == ffi::PyBUF_WRITABLE {
            return Err(pyo3::exceptions::PyBufferError::new_err(
                "Bytes is read-only",
            ));
        }
        let bytes = &slf.get().0;
        let ptr = if bytes.is_empty() {
            // A valid, non-null pointer for an empty buffer.
            c"".as_ptr() as *mut std::ffi::c_void
        } else {
            bytes.as_ptr() as *mut std::ffi::c_void
        };
        // SAFETY: `view` is valid (checked above); the exporter `slf` is kept alive by the view.
        let rc = unsafe {
            ffi::PyBuffer_FillInfo(
                view,
                slf.as_ptr(),
                ptr,
                bytes.len() as ffi::Py_ssize_t,
                1,
                flags,
            )
        };
        if rc == -1 {
            return Err(PyErr::fetch(slf.py()));
        }
        Ok(())
    }

    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {}

    fn __len__(&self) -> usize {
        self.0.len()
    }

    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Ok(slice) = key.cast::<PySlice>() {
            let indices = slice.indices(self.0.len() as isize)?;
            let (start, step, length) = (indices.start, indices.step, indices.slicelength);
            let out = if length == 0 {
                Bytes::new()
            } else if step == 1 {
                self.0.slice(start as usize..(start as usize + length))
            } else {
                // Index k of the slice is `start + k * step`, inside the bytes for every
                // k < length: no intermediate position leaves them, whatever the step.
                let mut data = try_alloc(length)?;
                data.extend((0..length as isize).map(|k| self.0[(start + k * step) as usize]));
                Bytes::from(data)
            };
            return Ok(Bound::new(py, Self(out))?.into_any());
        }
        let index = index_of(key)
            .map_err(|err| match err.is_instance_of::<PyOverflowError>(py) {
                true => PyIndexError::new_err("cannot fit 'int' into an index-sized integer"),
                false => err,
            })?
            .ok_or_else(|| PyTypeError::new_err("Bytes indices must be integers or slices"))?;
        let len = self.0.len() as isize;
        let resolved = if index < 0 { index + len } else { index };
        if resolved < 0 || resolved >= len {
            return Err(PyIndexError::new_err("Index out of range"));
        }
        Ok(self.0[resolved as usize].into_pyobject(py)?.into_any())
    }

    fn __contains__(&self, item: &Bound<'_, PyAny>) -> PyResult<bool> {
        if let Ok(byte) = item.extract::<u8>() {
            return Ok(self.0.contains(&byte));
        }
        let needle = PyBufferBytes::from_object(item)?;
        if needle.is_empty() {
            return Ok(true);
        }
        Ok(self.0.windows(needle.len()).any(|w| w == needle.as_ref()))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match PyBufferBytes::from_object(other) {
            Ok(other) => self.0 == other,
            Err(_) => false,
        }
    }

    fn __add__(&self, other: &Bound<'_, PyAny>) -> PyResult<Self> {
        let other = PyBufferBytes::from_object(other)?;
        let total = self
            .0
            .len()
            .checked_add(other.len())
            .ok_or_else(|| PyOverflowError::new_err("concatenated bytes are too long"))?;
        let mut out = try_alloc(total)?;
        out.extend_from_slice(&self.0);
        out.extend_from_slice(&other);
        Ok(Self(Bytes::from(out)))
    }

    fn __mul__(&self, py: Python<'_>, count: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match self.repeat(count)? {
            Some(out) => Ok(Bound::new(py, out)?.into_any().unbind()),
            None => Ok(py.NotImplemented()),
        }
    }

    fn __rmul__(&self, py: Python<'_>, count: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.__mul__(py, count)
    }

    fn __repr__(&self) -> PyResult<String> {
        let escaped = self.0.iter().fold(0usize, |n, &b| {
            n.saturating_add(match b {
                b'\\' | b'"' | b'\n' | b'\r' | b'\t' => 2,
                0x20..=0x7e => 1,
                _ => 4,
            })
        });
        let mut out = String::new();
        out.try_reserve_exact(escaped.saturating_add(10))
            .map_err(|_| PyMemoryError::new_err("cannot allocate the repr of these bytes"))?;
        out.push_str("Bytes(b\"");
        for &b in self.0.iter() {
            match b {
                b'\\' => out.push_str("\\\\"),
                b'"' => out.push_str("\\\""),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                0x20..=0x7e => out.push(b as char),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.push_str("\\x");
                    out.push(HEX[usize::from(b >> 4)] as char);
                    out.push(HEX[usize::from(b & 0xf)] as char);
                }
            }
        }
        out.push_str("\")");
        Ok(out)
    }

    fn __str__(&self) -> PyResult<String> {
        self.__repr__()
    }

    #[doc = crate::pydoc!(Bytes.__getnewargs_ex__)]
    fn __getnewargs_ex__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyTuple>, Bound<'py, PyDict>)> {
        Ok((
            PyTuple::new(py, [PyBytes::new(py, &self.0)])?,
            PyDict::new(py),
        ))
    }

    #[doc = crate::pydoc!(Bytes.removeprefix)]
    #[pyo3(signature = (prefix, /))]
    fn removeprefix(&self, prefix: PyBufferBytes) -> Self {
        match self.0.starts_with(&prefix.0) {
            true => Self(self.0.slice(prefix.0.len()..)),
            false => self.clone(),
        }
    }

    #[doc = crate::pydoc!(Bytes.removesuffix)]
    #[pyo3(signature = (suffix, /))]
    fn removesuffix(&self, suffix: PyBufferBytes) -> Self {
        match self.0.ends_with(&suffix.0) {
            true => Self(self.0.slice(..self.0.len() - suffix.0.len())),
            false => self.clone(),
        }
    }

    #[doc = crate::pydoc!(Bytes.isalnum)]
    fn isalnum(&self) -> bool {
        all_ascii(&self.0, u8::is_ascii_alphanumeric)
    }

    #[doc = crate::pydoc!(Bytes.isalpha)]
    fn isalpha(&self) -> bool {
        all_ascii(&self.0, u8::is_ascii_alphabetic)
    }

    #[doc = crate::pydoc!(Bytes.isascii)]
    fn isascii(&self) -> bool {
        self.0.is_ascii()
    }

    #[doc = crate::pydoc!(Bytes.isdigit)]
    fn isdigit(&self) -> bool {
        all_ascii(&self.0, u8::is_ascii_digit)
    }

    #[doc = crate::pydoc!(Bytes.islower)]
    fn islower(&self) -> bool {
        self.0.iter().any(u8::is_ascii_lowercase) && !self.0.iter().any(u8::is_ascii_uppercase)
    }

    #[doc = crate::pydoc!(Bytes.isspace)]
    fn isspace(&self) -> bool {
        all_ascii(&self.0, |b| {
            matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
        })
    }

    #[doc = crate::pydoc!(Bytes.isupper)]
    fn isupper(&self) -> bool {
        self.0.iter().any(u8::is_ascii_uppercase) && !self.0.iter().any(u8::is_ascii_lowercase)
    }

    #[doc = crate::pydoc!(Bytes.lower)]
    fn lower(&self) -> PyResult<Self> {
        self.map_ascii(<[u8]>::make_ascii_lowercase)
    }

    #[doc = crate::pydoc!(Bytes.upper)]
    fn upper(&self) -> PyResult<Self> {
        self.map_ascii(<[u8]>::make_ascii_uppercase)
    }

    #[doc = crate::pydoc!(Bytes.to_bytes)]
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0)
    }
}

/// Bytes of any object supporting the buffer protocol, without copying.
#[derive(Clone, Debug)]
pub struct PyBufferBytes(pub Bytes);

impl PyBufferBytes {
    /// Views `obj` as bytes, or explains which type was given instead.
    pub fn from_object(obj: &Bound<'_, PyAny>) -> PyResult<Bytes> {
        if let Ok(wrapper) = obj.cast::<PyBytesWrapper>() {
            return Ok(wrapper.get().as_bytes().clone());
        }
        buffer::view(obj)
    }

    /// Bytes of `obj` that stay as they are whatever the caller does next: immutable exporters
    /// (see [`is_immutable`]) are shared without copying, a mutable buffer (bytearray, writable
    /// numpy array, memoryview over either) is copied. For data held after the call returns:
    /// everything a memory store keeps, async calls, iterator items (a generator may refill the
    /// same bytearray), file-object reads, writer writes.
    pub fn owned_from_object(obj: &Bound<'_, PyAny>) -> PyResult<Bytes> {
        let view = Self::from_object(obj)?;
        if is_immutable(obj) {
            return Ok(view);
        }
        let mut copy = try_alloc(view.len())?;
        copy.extend_from_slice(&view);
        Ok(Bytes::from(copy))
    }
}

/// Whether the bytes `obj` exports can never change: a `bytes`, an `obstore.Bytes`, or a
/// memoryview over one of them. A read-only flag is not enough (a read-only numpy view can sit
/// on a writable array), so any other exporter counts as mutable.
pub fn is_immutable(obj: &Bound<'_, PyAny>) -> bool {
    let immutable_type =
        |o: &Bound<'_, PyAny>| o.cast::<PyBytes>().is_ok() || o.cast::<PyBytesWrapper>().is_ok();
    if immutable_type(obj) {
        return true;
    }
    // A memoryview's `obj` is the exporter at the bottom of any chain of views.
    obj.cast::<PyMemoryView>().is_ok_and(|view| {
        view.getattr(pyo3::intern!(obj.py(), "obj"))
            .is_ok_and(|base| immutable_type(&base))
    })
}

impl<'a, 'py> FromPyObject<'a, 'py> for PyBufferBytes {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Self::from_object(&obj).map(PyBufferBytes)
    }
}

/// Like [`PyBufferBytes`], but copies mutable buffers (see [`PyBufferBytes::owned_from_object`]).
#[derive(Clone, Debug)]
pub struct PyOwnedBytes(pub Bytes);

impl<'a, 'py> FromPyObject<'a, 'py> for PyOwnedBytes {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        PyBufferBytes::owned_from_object(&obj).map(PyOwnedBytes)
    }
}
