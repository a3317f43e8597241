//! [`AnyStore`]: the store handle every operation receives, extracted from any obstore store class.

use std::future::Future;
use std::sync::Arc;

use object_store::ObjectStore;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::asyncio::{future_into_py, FirstPoll};
use crate::local::PyLocalStore;
use crate::memory::PyMemoryStore;
use crate::{lane, runtime};

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
    /// [`crate::lane`]), instead of as runtime tasks, while no more such calls than cores are in flight.
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
    pub fn into_py_future<'py, F, T, E>(
        &self,
        py: Python<'py>,
        size_hint: Option<u64>,
        future: F,
    ) -> PyResult<Bound<'py, PyAny>>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: for<'a> IntoPyObject<'a> + Send + 'static,
        E: Into<PyErr> + Send + 'static,
    {
        future_into_py(py, self.first_poll(size_hint), future)
    }

    /// Like [`Self::into_py_future`] for operations that spawn tasks: always in the runtime context
    /// (network stores: entirely on the runtime).
    pub fn into_py_future_runtime<'py, F, T, E>(
        &self,
        py: Python<'py>,
        future: F,
    ) -> PyResult<Bound<'py, PyAny>>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: for<'a> IntoPyObject<'a> + Send + 'static,
        E: Into<PyErr> + Send + 'static,
    {
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

/// The names of the store classes, for the "same library" error message.
const STORE_CLASS_NAMES: [&str; 6] = [
    "S3Store",
    "GCSStore",
    "AzureStore",
    "HTTPStore",
    "LocalStore",
    "MemoryStore",
];

/// A hook through which the network stores (defined elsewhere) are recognised by [`AnyStore`].
pub type StoreExtractor = fn(&Bound<'_, PyAny>) -> Option<PyResult<AnyStore>>;

static EXTRA_EXTRACTORS: std::sync::RwLock<Vec<StoreExtractor>> =
    std::sync::RwLock::new(Vec::new());

/// Registers another store family so that operations accept it.
pub fn register_store_extractor(extractor: StoreExtractor) {
    EXTRA_EXTRACTORS
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .push(extractor);
}

impl<'a, 'py> FromPyObject<'a, 'py> for AnyStore {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(store) = obj.cast::<PyMemoryStore>() {
            return Ok(store.get().any_store());
        }
        if let Ok(store) = obj.cast::<PyLocalStore>() {
            return Ok(store.get().any_store());
        }
        for extractor in EXTRA_EXTRACTORS
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            if let Some(result) = extractor(&obj) {
                return result;
            }
        }
        let class_name = obj.get_type().name()?.to_string();
        if STORE_CLASS_NAMES.contains(&class_name.as_str())
            || obj.get_type().mro().iter().any(|c| {
                c.getattr("__name__").is_ok_and(|n| {
                    n.extract::<String>()
                        .is_ok_and(|n| STORE_CLASS_NAMES.contains(&n.as_str()))
                })
            })
        {
            return Err(PyValueError::new_err(format!(
                "You must use an object store instance exported from the same library as this \
                 function; got a {class_name} from another library. Construct stores from \
                 obstore.store."
            )));
        }
        Err(PyValueError::new_err(format!(
            "Expected an object store instance, got {}",
            obj.repr()?
        )))
    }
}

/// Builds a network store from a URL; registered by the network store module.
pub type CloudFromUrl = for<'py> fn(
    Python<'py>,
    &str,
    &str,
    Option<Bound<'py, PyAny>>,
    Option<Bound<'py, PyAny>>,
    Option<Bound<'py, PyAny>>,
    Option<Bound<'py, PyAny>>,
    Option<Bound<'py, pyo3::types::PyDict>>,
) -> PyResult<Bound<'py, PyAny>>;

static CLOUD_FROM_URL: std::sync::OnceLock<CloudFromUrl> = std::sync::OnceLock::new();

/// Registers the builder of network stores used by `from_url`.
pub fn register_cloud_from_url(builder: CloudFromUrl) {
    let _ = CLOUD_FROM_URL.set(builder);
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn cloud_from_url<'py>(
    py: Python<'py>,
    scheme: &str,
    url: &str,
    config: Option<Bound<'py, PyAny>>,
    client_options: Option<Bound<'py, PyAny>>,
    retry_config: Option<Bound<'py, PyAny>>,
    credential_provider: Option<Bound<'py, PyAny>>,
    kwargs: Option<Bound<'py, pyo3::types::PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    match CLOUD_FROM_URL.get() {
        Some(builder) => builder(
            py,
            scheme,
            url,
            config,
            client_options,
            retry_config,
            credential_provider,
            kwargs,
        ),
        None => Err(pyo3::exceptions::PyNotImplementedError::new_err(format!(
            "no {scheme} store is available in this build"
        ))),
    }
}
