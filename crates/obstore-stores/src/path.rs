//! Object paths given from Python: `/`-separated, validated, leading and trailing `/` stripped.

use object_store::path::Path;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;

/// A validated object path extracted from a Python `str`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PyPath(pub Path);

impl PyPath {
    /// Parses `raw`, with the error message users see for an invalid path.
    pub fn parse(raw: &str) -> PyResult<Self> {
        Path::parse(raw)
            .map(PyPath)
            .map_err(|err| PyValueError::new_err(format!("Could not parse path: {err}")))
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for PyPath {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        match obj.cast::<PyString>() {
            Ok(s) => PyPath::parse(&s.to_cow()?),
            Err(_) => Err(PyTypeError::new_err(format!(
                "Expected a str path, got {}",
                obj.get_type().name()?
            ))),
        }
    }
}

impl From<PyPath> for Path {
    fn from(value: PyPath) -> Self {
        value.0
    }
}
