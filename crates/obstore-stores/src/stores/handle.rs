//! [`AnyStore`]: the handle every operation receives, whatever the store class, and how its
//! futures are driven from sync code and from asyncio.

use std::future::Future;
use std::sync::Arc;

use object_store::ObjectStore;
use pyo3::prelude::*;

use super::context::{ContextStore, StoreLabel};
use crate::runtime::asyncio::{future_into_py, FirstPoll, PyFuture};
use crate::runtime::observe::StoreObserver;
use crate::runtime::{self, lane};

/// Where a store's futures do their work, which decides how calls are executed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Executor {
    /// Futures complete when polled (in-memory): run them on the calling thread.
    Inline,
    /// Futures do blocking file I/O when polled outside tokio: run small operations inline,
    /// large transfers on the runtime's blocking pool.
    LocalFiles,
    /// Network stores: every future runs on the tokio runtime.
    Runtime,
}

/// A store as seen by the operations: the `object_store` implementation and how to drive it.
#[derive(Clone, Debug)]
pub struct AnyStore {
    /// The `object_store` implementation, prefix already applied.
    pub inner: Arc<dyn ObjectStore>,
    /// How this store's futures are executed.
    pub executor: Executor,
}

/// Operations at or below this many bytes run inline for local files, even from asyncio.
pub const INLINE_IO_LIMIT: u64 = 1024 * 1024;

impl AnyStore {
    /// A network store's handle for one call: `inner` as [`ContextStore::for_call`] wraps it.
    pub fn for_call(
        py: Python<'_>,
        inner: Arc<dyn ObjectStore>,
        label: &Arc<StoreLabel>,
        observer: &Arc<StoreObserver>,
    ) -> Self {
        Self {
            inner: ContextStore::for_call(py, inner, label.clone(), observer),
            executor: Executor::Runtime,
        }
    }

    /// Runs an operation from sync code with the GIL released. Memory and local-file futures run on
    /// the calling thread (local I/O inline, no thread hop); network futures on the runtime.
    pub fn block_on<F, T, E>(&self, py: Python<'_>, future: F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<PyErr> + Send + 'static,
    {
        match self.executor {
            Executor::Inline | Executor::LocalFiles => runtime::block_on_inline(py, future),
            Executor::Runtime => runtime::block_on(py, future),
        }
    }

    /// Like [`Self::block_on`], for operations whose requests finish (bodies included) before the
    /// future completes: network futures then run on a lane, on the calling thread (see
    /// [`crate::runtime::lane`]), instead of as runtime tasks, while no more such calls than cores are in flight.
    pub fn block_on_complete<F, T, E>(&self, py: Python<'_>, future: F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<PyErr> + Send + 'static,
    {
        if self.executor != Executor::Runtime {
            return self.block_on(py, future);
        }
        let slot = lane::slot();
        if slot.lane {
            lane::block_on(py, slot, future)
        } else {
            runtime::block_on(py, future)
        }
    }

    /// Runs an operation that spawns tasks (multipart uploads) from sync code, on the runtime.
    pub fn block_on_runtime<F, T, E>(&self, py: Python<'_>, future: F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<PyErr> + Send + 'static,
    {
        runtime::block_on(py, future)
    }

    /// Runs an operation from asyncio: returns an `asyncio.Future`. `size_hint` is the number of
    /// bytes the operation moves, when known: small local-file operations complete inline.
    pub fn into_py_future<'py>(
        &self,
        py: Python<'py>,
        size_hint: Option<u64>,
        future: impl PyFuture,
    ) -> PyResult<Bound<'py, PyAny>> {
        future_into_py(py, self.first_poll(size_hint), future)
    }

    /// Like [`Self::into_py_future`] for operations that spawn tasks: always in the runtime context
    /// (network stores: entirely on the runtime).
    pub fn into_py_future_runtime<'py>(
        &self,
        py: Python<'py>,
        future: impl PyFuture,
    ) -> PyResult<Bound<'py, PyAny>> {
        let first_poll = match self.executor {
            Executor::Runtime => FirstPoll::Spawn,
            Executor::Inline | Executor::LocalFiles => FirstPoll::Runtime,
        };
        future_into_py(py, first_poll, future)
    }

    /// The smallest part a multipart upload may use. S3 and GCS reject parts under 5 MiB (but the
    /// last), so network stores never go below that, whatever `chunk_size` asks for.
    pub fn min_part_size(&self) -> usize {
        match self.executor {
            Executor::Runtime => 5 * 1024 * 1024,
            Executor::Inline | Executor::LocalFiles => 1,
        }
    }

    /// How the first poll of an async call runs.
    pub fn first_poll(&self, size_hint: Option<u64>) -> FirstPoll {
        match self.executor {
            Executor::Inline => FirstPoll::Inline,
            Executor::LocalFiles if size_hint.is_some_and(|n| n <= INLINE_IO_LIMIT) => {
                FirstPoll::Inline
            }
            Executor::LocalFiles => FirstPoll::Runtime,
            Executor::Runtime => FirstPoll::Spawn,
        }
    }
}
