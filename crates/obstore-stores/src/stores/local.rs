//! `LocalStore`: a directory of the local filesystem as an object store.

use std::path::PathBuf;
use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::ObjectStore;
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};

use super::context::{ContextStore, StoreLabel};
use super::handle::{AnyStore, Executor};
use crate::config::bad_url;
use crate::error::ObstoreError;

/// A local directory as an object store (the raw class of `obstore._store`).
#[pyclass(name = "LocalStore", module = "obstore._store", subclass, frozen)]
#[derive(Debug)]
pub struct PyLocalStore {
    /// The filesystem store, its errors naming the directory's URL.
    inner: Arc<dyn ObjectStore>,
    prefix: Option<PathBuf>,
    automatic_cleanup: bool,
    mkdir: bool,
}

impl PyLocalStore {
    /// The handle operations use.
    pub fn any_store(&self) -> AnyStore {
        AnyStore {
            inner: self.inner.clone(),
            executor: Executor::LocalFiles,
        }
    }
}

/// The `file://` URL of a directory, for error messages.
fn directory_url(directory: Option<&std::path::Path>) -> String {
    match directory {
        Some(dir) => url::Url::from_file_path(dir)
            .map(String::from)
            .unwrap_or_else(|_| format!("file://{}", dir.display())),
        None => "file:///".to_string(),
    }
}

/// The reason a `file://` URL has no directory: an empty path segment, which a filesystem path
/// would silently drop, is refused as `object_store`'s URL parsing refuses it.
fn check_url_path(url: &str, parsed: &url::Url) -> PyResult<()> {
    if let Some(segments) = parsed.path_segments() {
        let segments: Vec<&str> = segments.collect();
        let inner = &segments[..segments.len().saturating_sub(1)];
        if inner.iter().any(|s| s.is_empty()) {
            return Err(bad_url(
                url,
                "its path has an empty segment (\"//\"); write each directory once",
            ));
        }
    }
    Ok(())
}

#[pymethods]
impl PyLocalStore {
    #[new]
    #[pyo3(signature = (prefix=None, *, automatic_cleanup=false, mkdir=false))]
    fn new(prefix: Option<PathBuf>, automatic_cleanup: bool, mkdir: bool) -> PyResult<Self> {
        let (inner, prefix) = match prefix {
            Some(prefix) => {
                if mkdir {
                    std::fs::create_dir_all(&prefix).map_err(ObstoreError::from)?;
                }
                let store =
                    LocalFileSystem::new_with_prefix(&prefix).map_err(ObstoreError::from)?;
                let absolute = std::fs::canonicalize(&prefix).unwrap_or(prefix);
                (store, Some(absolute))
            }
            None => (LocalFileSystem::new(), None),
        };
        let label = StoreLabel::new(directory_url(prefix.as_deref()));
        Ok(Self {
            inner: ContextStore::wrap(
                Arc::new(inner.with_automatic_cleanup(automatic_cleanup)),
                Arc::new(label),
            ),
            prefix,
            automatic_cleanup,
            mkdir,
        })
    }

    /// Builds a store from a `file://` URL; the URL path is the directory.
    #[classmethod]
    #[pyo3(signature = (url, *, automatic_cleanup=false, mkdir=false))]
    fn from_url<'py>(
        cls: &Bound<'py, PyType>,
        url: &str,
        automatic_cleanup: bool,
        mkdir: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        let parsed = url::Url::parse(url)
            .map_err(|err| PyValueError::new_err(format!("Invalid URL {url:?}: {err}")))?;
        if parsed.scheme() != "file" {
            return Err(PyValueError::new_err("Not a `file://` URL"));
        }
        check_url_path(url, &parsed)?;
        let path = parsed
            .to_file_path()
            .map_err(|_| PyValueError::new_err(format!("Not a local file path: {url}")))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item(intern!(py, "automatic_cleanup"), automatic_cleanup)?;
        kwargs.set_item(intern!(py, "mkdir"), mkdir)?;
        cls.call((path,), Some(&kwargs))
    }

    /// The directory this store is rooted at, or None for the filesystem root.
    #[getter]
    fn prefix(&self) -> Option<PathBuf> {
        self.prefix.clone()
    }

    fn __getnewargs_ex__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyTuple>, Bound<'py, PyDict>)> {
        let kwargs = PyDict::new(py);
        kwargs.set_item(intern!(py, "automatic_cleanup"), self.automatic_cleanup)?;
        kwargs.set_item(intern!(py, "mkdir"), self.mkdir)?;
        Ok((PyTuple::new(py, [self.prefix.clone()])?, kwargs))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<PyLocalStore>() {
            Ok(other) => {
                let other = other.get();
                self.prefix == other.prefix
                    && self.automatic_cleanup == other.automatic_cleanup
                    && self.mkdir == other.mkdir
            }
            Err(_) => false,
        }
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let name = slf.get_type().name()?;
        Ok(match &slf.get().prefix {
            Some(prefix) => format!("{name}({:?})", prefix.display().to_string()),
            None => name.to_string(),
        })
    }
}
