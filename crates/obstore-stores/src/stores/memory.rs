//! `MemoryStore`: an in-process store, equal only to itself, never pickled.

use std::sync::Arc;

use object_store::memory::InMemory;
use object_store::ObjectStore;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use super::context::{ContextStore, StoreLabel};
use super::handle::{AnyStore, Executor};

#[doc = crate::pydoc!(MemoryStore)]
#[pyclass(name = "MemoryStore", module = "obstore._store", subclass, frozen)]
#[derive(Debug)]
pub struct PyMemoryStore {
    /// The in-memory store, its errors naming `memory://`.
    inner: Arc<dyn ObjectStore>,
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
    fn new() -> Self {
        Self {
            inner: ContextStore::wrap(
                Arc::new(InMemory::new()),
                Arc::new(StoreLabel::new("memory://").with_infallible_bodies()),
                None,
            ),
        }
    }

    fn __eq__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> bool {
        slf.is(other)
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err("cannot pickle 'MemoryStore' object"))
    }
}
