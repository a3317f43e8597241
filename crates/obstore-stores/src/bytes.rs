//! `obstore.Bytes`: an immutable, zero-copy view of Rust-owned bytes with the buffer protocol;
//! and [`PyBufferBytes`] / [`PyOwnedBytes`], bytes in from any Python buffer.

use std::os::raw::c_int;

use bytes::Bytes;
use pyo3::exceptions::{PyIndexError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PySlice, PyTuple};

use crate::buffer;

/// Immutable bytes owned by Rust, exposed to Python without copying.
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

    fn map_ascii(&self, f: impl Fn(&[u8]) -> Vec<u8>) -> Self {
        Self(Bytes::from(f(&self.0)))
    }
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
            1 => Ok(Self(PyBufferBytes::from_object(&args.get_item(0)?)?)),
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
            let (start, stop, step, length) = (
                indices.start,
                indices.stop,
                indices.step,
                indices.slicelength,
            );
            let out = if step == 1 {
                self.0.slice(start as usize..(start as usize + length))
            } else {
                let mut data = Vec::with_capacity(length);
                let mut i = start;
                while (step > 0 && i < stop) || (step < 0 && i > stop) {
                    data.push(self.0[i as usize]);
                    i += step;
                }
                Bytes::from(data)
            };
            return Ok(Bound::new(py, Self(out))?.into_any());
        }
        let index: isize = key
            .extract()
            .map_err(|_| PyTypeError::new_err("Bytes indices must be integers or slices"))?;
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
        let mut out = Vec::with_capacity(self.0.len() + other.len());
        out.extend_from_slice(&self.0);
        out.extend_from_slice(&other);
        Ok(Self(Bytes::from(out)))
    }

    fn __mul__(&self, count: isize) -> Self {
        Self(Bytes::from(self.0.repeat(count.max(0) as usize)))
    }

    fn __repr__(&self) -> String {
        let mut out = String::with_capacity(self.0.len() + 10);
        out.push_str("Bytes(b\"");
        for &b in self.0.iter() {
            match b {
                b'\\' => out.push_str("\\\\"),
                b'"' => out.push_str("\\\""),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                0x20..=0x7e => out.push(b as char),
                _ => out.push_str(&format!("\\x{b:02x}")),
            }
        }
        out.push_str("\")");
        out
    }

    fn __str__(&self) -> String {
        self.__repr__()
    }

    fn __getnewargs_ex__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyTuple>, Bound<'py, PyDict>)> {
        Ok((
            PyTuple::new(py, [PyBytes::new(py, &self.0)])?,
            PyDict::new(py),
        ))
    }

    /// The bytes without `prefix` at the start, if present.
    #[pyo3(signature = (prefix, /))]
    fn removeprefix(&self, prefix: PyBufferBytes) -> Self {
        match self.0.starts_with(&prefix.0) {
            true => Self(self.0.slice(prefix.0.len()..)),
            false => self.clone(),
        }
    }

    /// The bytes without `suffix` at the end, if present.
    #[pyo3(signature = (suffix, /))]
    fn removesuffix(&self, suffix: PyBufferBytes) -> Self {
        match self.0.ends_with(&suffix.0) {
            true => Self(self.0.slice(..self.0.len() - suffix.0.len())),
            false => self.clone(),
        }
    }

    /// True if all bytes are ASCII letters or digits and there is at least one.
    fn isalnum(&self) -> bool {
        all_ascii(&self.0, u8::is_ascii_alphanumeric)
    }

    /// True if all bytes are ASCII letters and there is at least one.
    fn isalpha(&self) -> bool {
        all_ascii(&self.0, u8::is_ascii_alphabetic)
    }

    /// True if every byte is ASCII (also for empty bytes).
    fn isascii(&self) -> bool {
        self.0.is_ascii()
    }

    /// True if all bytes are ASCII digits and there is at least one.
    fn isdigit(&self) -> bool {
        all_ascii(&self.0, u8::is_ascii_digit)
    }

    /// True if there is a lowercase ASCII letter and no uppercase one.
    fn islower(&self) -> bool {
        self.0.iter().any(u8::is_ascii_lowercase) && !self.0.iter().any(u8::is_ascii_uppercase)
    }

    /// True if all bytes are ASCII whitespace and there is at least one.
    fn isspace(&self) -> bool {
        all_ascii(&self.0, |b| {
            matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
        })
    }

    /// True if there is an uppercase ASCII letter and no lowercase one.
    fn isupper(&self) -> bool {
        self.0.iter().any(u8::is_ascii_uppercase) && !self.0.iter().any(u8::is_ascii_lowercase)
    }

    /// A copy with ASCII letters lowercased.
    fn lower(&self) -> Self {
        self.map_ascii(|d| d.to_ascii_lowercase())
    }

    /// A copy with ASCII letters uppercased.
    fn upper(&self) -> Self {
        self.map_ascii(|d| d.to_ascii_uppercase())
    }

    /// A copy as a Python `bytes` object.
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

    /// Bytes of `obj` that stay valid whatever the caller does next: immutable `bytes` and
    /// `obstore.Bytes` are shared without copying, a mutable buffer (bytearray, memoryview,
    /// numpy array) is copied. For data held after the call returns: iterator items (a generator
    /// may refill the same bytearray), file-object reads, writer writes.
    pub fn owned_from_object(obj: &Bound<'_, PyAny>) -> PyResult<Bytes> {
        if obj.cast::<PyBytesWrapper>().is_ok() || obj.cast::<PyBytes>().is_ok() {
            return Self::from_object(obj);
        }
        let view = Self::from_object(obj)?;
        Ok(Bytes::copy_from_slice(&view))
    }
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
