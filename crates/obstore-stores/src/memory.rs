//! `MemoryStore`: an in-process store, equal only to itself, never pickled.

use std::sync::Arc;

use object_store::memory::InMemory;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::store::{AnyStore, Executor};

/// A fully in-memory store (the raw class of `obstore._store`).
#[pyclass(name = "MemoryStore", module = "obstore._store", subclass, frozen)]
#[derive(Debug)]
pub struct PyMemoryStore {
    inner: Arc<InMemory>,
}

impl PyMemoryStore {
    /// The handle operations use.
    pub fn any_store(&self) -> AnyStore {
        AnyStore {
            inner: self.inner.clone(),
            executor: Executor::Inline,
        }
    }
}

#[pymethods]
impl PyMemoryStore {
    #[new]
    #[pyo3(signature = (*args, **kwargs))]
    fn new(
        args: &Bound<'_, pyo3::types::PyTuple>,
        kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<Self> {
        if !args.is_empty() || kwargs.is_some_and(|k| !k.is_empty()) {
            return Err(PyTypeError::new_err("MemoryStore() takes no arguments"));
        }
        Ok(Self {
            inner: Arc::new(InMemory::new()),
        })
    }

    fn __eq__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> bool {
        slf.is(other)
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err("cannot pickle 'MemoryStore' object"))
    }
}
