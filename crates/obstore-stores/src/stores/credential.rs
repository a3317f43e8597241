//! Python credential providers: callables returning a credential dict, or a coroutine of one.
//!
//! The result is cached and fetched again only when `expires_at - now <= refresh_threshold`
//! (`expires_at = None` never expires). A coroutine is run on the asyncio event loop that was
//! running when the store was last handed to an operation (captured at call time by the async
//! API), through `asyncio.run_coroutine_threadsafe`; the tokio task waits on a oneshot channel
//! completed by the concurrent future's done-callback. Any failure — an exception in the
//! callable, a missing key, no running event loop — is an `UnauthenticatedError` carrying the
//! Python exception text.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use object_store::CredentialProvider;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyTuple};
use tokio::sync::oneshot;

use crate::config::values::{validate, Origin, ValueKind};

unsafe extern "C" {
    // Exported by every CPython since 3.4, though not declared by pyo3 for the limited API.
    fn PyGILState_Check() -> std::os::raw::c_int;
}

/// How long a fetch waits for an async provider's coroutine before giving up.
pub const ASYNC_PROVIDER_TIMEOUT: Duration = Duration::from_secs(300);

/// The Python callable of a store, shared by the store object and its built clients.
pub struct ProviderHandle {
    /// The callable exactly as given (returned by the `credential_provider` getter).
    pub callable: Py<PyAny>,
    refresh_threshold: Duration,
    /// The event loop (and the id of its thread) seen running when an operation last started.
    event_loop: Mutex<Option<(Py<PyAny>, u64)>>,
}

impl fmt::Debug for ProviderHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderHandle")
            .field("refresh_threshold", &self.refresh_threshold)
            .finish_non_exhaustive()
    }
}

fn thread_ident(py: Python<'_>) -> PyResult<u64> {
    py.import("threading")?.call_method0("get_ident")?.extract()
}

impl ProviderHandle {
    /// Checks that `callable` is callable and reads its optional `refresh_threshold` attribute.
    pub fn new(callable: &Bound<'_, PyAny>, default_threshold: Duration) -> PyResult<Self> {
        if !callable.is_callable() {
            return Err(PyTypeError::new_err(
                "Expected callable object for credential_provider.",
            ));
        }
        let refresh_threshold = match callable.getattr("refresh_threshold") {
            Ok(v) if !v.is_none() => crate::config::timedelta("refresh_threshold", &v)?,
            _ => default_threshold,
        };
        Ok(Self {
            callable: callable.clone().unbind(),
            refresh_threshold,
            event_loop: Mutex::new(None),
        })
    }

    /// Records the asyncio loop running on the calling thread, if any (called when an operation
    /// receives the store, so async providers can later be awaited on that loop).
    pub fn note_running_loop(&self, py: Python<'_>) {
        let Ok(running) = py
            .import("asyncio")
            .and_then(|m| m.call_method0("_get_running_loop"))
        else {
            return;
        };
        if running.is_none() {
            return;
        }
        if let Ok(ident) = thread_ident(py) {
            *self.event_loop.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((running.unbind(), ident));
        }
    }

    fn current_loop(&self, py: Python<'_>) -> Option<(Py<PyAny>, u64)> {
        let guard = self.event_loop.lock().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().map(|(l, t)| (l.clone_ref(py), *t))
    }
}

/// Converts the dict a provider returned into an `object_store` credential.
pub type Convert<C> = fn(&Bound<'_, PyAny>) -> PyResult<C>;

/// An `object_store` credential provider backed by a Python callable, with caching.
pub struct PyCredentialProvider<C> {
    handle: Arc<ProviderHandle>,
    label: &'static str,
    convert: Convert<C>,
    cache: tokio::sync::Mutex<Option<(Arc<C>, Option<f64>)>>,
}

impl<C> fmt::Debug for PyCredentialProvider<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PyCredentialProvider")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl<C> PyCredentialProvider<C> {
    /// A provider for `handle`; `label` names the store family in error messages ("AWS").
    pub fn new(handle: Arc<ProviderHandle>, label: &'static str, convert: Convert<C>) -> Self {
        Self {
            handle,
            label,
            convert,
            cache: tokio::sync::Mutex::new(None),
        }
    }
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `expires_at` of a credential dict as seconds since the epoch (`None` = never). Naive
/// datetimes are taken as UTC.
pub fn expires_at(result: &Bound<'_, PyAny>) -> PyResult<Option<f64>> {
    let value = result.get_item("expires_at")?;
    if value.is_none() {
        return Ok(None);
    }
    let value = if value.getattr("tzinfo")?.is_none() {
        let py = value.py();
        let utc = py.import("datetime")?.getattr("timezone")?.getattr("utc")?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("tzinfo", utc)?;
        value.call_method("replace", (), Some(&kwargs))?
    } else {
        value
    };
    Ok(Some(value.call_method0("timestamp")?.extract()?))
}

/// Checks a credential value a provider returned under `key`: it goes into a request header,
/// signature or query, so it must be header-safe text (a `ValueError` naming `key`, never
/// showing the value, otherwise).
pub fn check_credential(key: &str, value: &str) -> PyResult<()> {
    validate(Origin::ProviderResult(key), ValueKind::Text, value, true)
}

/// A required `str` item of a credential dict (`KeyError` when missing), checked.
pub fn required_str(result: &Bound<'_, PyAny>, key: &str) -> PyResult<String> {
    let value: String = result.get_item(key)?.extract()?;
    check_credential(key, &value)?;
    Ok(value)
}

/// An optional `str` item of a credential dict (missing or `None` → `None`), checked.
pub fn optional_str(result: &Bound<'_, PyAny>, key: &str) -> PyResult<Option<String>> {
    match result.get_item(key) {
        Ok(v) if v.is_none() => Ok(None),
        Ok(v) => {
            let value: String = v.extract()?;
            check_credential(key, &value)?;
            Ok(Some(value))
        }
        Err(err) if err.is_instance_of::<pyo3::exceptions::PyKeyError>(result.py()) => Ok(None),
        Err(err) => Err(err),
    }
}

enum Step<C> {
    Done(PyResult<(C, Option<f64>)>),
    Await(oneshot::Receiver<PyResult<Py<PyAny>>>),
}

impl<C> PyCredentialProvider<C> {
    fn parse(&self, result: &Bound<'_, PyAny>) -> PyResult<(C, Option<f64>)> {
        let credential = (self.convert)(result)?;
        Ok((credential, expires_at(result)?))
    }

    fn start(&self, gil_held_on_entry: bool) -> Step<C> {
        Python::attach(|py| {
            let attempt = || -> PyResult<Step<C>> {
                let result = self.handle.callable.bind(py).call0()?;
                if !result.hasattr("__await__")? {
                    return Ok(Step::Done(self.parse(&result)));
                }
                let asyncio = py.import("asyncio")?;
                let inspect = py.import("inspect")?;
                let coroutine = if inspect
                    .call_method1("iscoroutine", (&result,))?
                    .is_truthy()?
                {
                    result
                } else {
                    asyncio.call_method1("wait_for", (&result, py.None()))?
                };
                let running = self.handle.current_loop(py).filter(|(l, _)| {
                    l.bind(py)
                        .call_method0("is_running")
                        .is_ok_and(|r| r.is_truthy().unwrap_or(false))
                });
                let Some((event_loop, loop_thread)) = running else {
                    let _ = coroutine.call_method0("close");
                    return Err(PyRuntimeError::new_err(
                        "no running event loop: an async credential provider can only be used \
                         through the async API (e.g. get_async) called from a running event loop",
                    ));
                };
                let loop_blocked = crate::runtime::is_blocked_in_sync_call(loop_thread)
                    || (!gil_held_on_entry && thread_ident(py)? == loop_thread);
                if loop_blocked {
                    let _ = coroutine.call_method0("close");
                    return Err(PyRuntimeError::new_err(
                        "an async credential provider cannot be awaited by a synchronous call made \
                         on the event loop's own thread (it would deadlock); use the *_async API",
                    ));
                }
                let concurrent =
                    asyncio.call_method1("run_coroutine_threadsafe", (coroutine, event_loop))?;
                let (tx, rx) = oneshot::channel();
                let tx = Mutex::new(Some(tx));
                let callback = PyCFunction::new_closure(
                    py,
                    None,
                    None,
                    move |args: &Bound<'_, PyTuple>,
                          _kwargs: Option<&Bound<'_, PyDict>>|
                          -> PyResult<()> {
                        let done = args.get_item(0)?;
                        let outcome = done.call_method0("result").map(Bound::unbind);
                        if let Some(tx) = tx.lock().unwrap_or_else(|e| e.into_inner()).take() {
                            let _ = tx.send(outcome);
                        }
                        Ok(())
                    },
                )?;
                concurrent.call_method1("add_done_callback", (callback,))?;
                Ok(Step::Await(rx))
            };
            attempt().unwrap_or_else(|err| Step::Done(Err(err)))
        })
    }

    async fn fetch(&self) -> Result<(C, Option<f64>), String> {
        // SAFETY: PyGILState_Check only reads the calling thread's state.
        let gil_held = unsafe { PyGILState_Check() } == 1;
        let outcome = match self.start(gil_held) {
            Step::Done(outcome) => outcome,
            Step::Await(rx) => match tokio::time::timeout(ASYNC_PROVIDER_TIMEOUT, rx).await {
                Err(_) => Err(PyRuntimeError::new_err(format!(
                    "the async credential provider did not finish within {ASYNC_PROVIDER_TIMEOUT:?}"
                ))),
                Ok(Err(_)) => Err(PyRuntimeError::new_err(
                    "the event loop dropped the credential provider's coroutine",
                )),
                Ok(Ok(result)) => {
                    result.and_then(|obj| Python::attach(|py| self.parse(obj.bind(py))))
                }
            },
        };
        outcome.map_err(|err| Python::attach(|py| describe(py, &err)))
    }
}

fn describe(py: Python<'_>, err: &PyErr) -> String {
    let name = err
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    match err.value(py).str() {
        Ok(text) if !text.to_string_lossy().is_empty() => {
            format!("{name}: {}", text.to_string_lossy())
        }
        _ => name,
    }
}

#[derive(Debug)]
struct ProviderFailure(String);

impl fmt::Display for ProviderFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProviderFailure {}

#[async_trait]
impl<C: fmt::Debug + Send + Sync + 'static> CredentialProvider for PyCredentialProvider<C> {
    type Credential = C;

    async fn get_credential(&self) -> object_store::Result<Arc<C>> {
        let mut cache = self.cache.lock().await;
        if let Some((credential, expiry)) = cache.as_ref() {
            let fresh = expiry
                .is_none_or(|at| at - now_secs() > self.handle.refresh_threshold.as_secs_f64());
            if fresh {
                return Ok(credential.clone());
            }
        }
        let (credential, expiry) =
            self.fetch()
                .await
                .map_err(|message| object_store::Error::Unauthenticated {
                    path: String::new(),
                    source: Box::new(ProviderFailure(format!(
                        "External {} credential provider: {message}",
                        self.label
                    ))),
                })?;
        let credential = Arc::new(credential);
        *cache = Some((credential.clone(), expiry));
        Ok(credential)
    }
}

/// The credential provider of a store that has no credentials and may not ask the instance
/// metadata service (`OBSTORE_METADATA_DISABLED`, or `AWS_EC2_METADATA_DISABLED` for S3): every
/// request fails with this explanation instead of contacting the service.
pub struct MetadataDisabled<C> {
    message: String,
    _credential: std::marker::PhantomData<fn() -> C>,
}

impl<C> MetadataDisabled<C> {
    /// The provider of a `label` ("S3") store, disabled by environment variable `variable`;
    /// `how` says which settings give credentials.
    pub fn new(label: &str, variable: &str, how: &str) -> Self {
        Self {
            message: format!(
                "No credentials were found for this {label} store, and the instance metadata \
                 service is disabled ({variable} is set to true), so it is not asked for any: {how}"
            ),
            _credential: std::marker::PhantomData,
        }
    }
}

impl<C> fmt::Debug for MetadataDisabled<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetadataDisabled")
            .field("message", &self.message)
            .finish()
    }
}

#[async_trait]
impl<C: fmt::Debug + Send + Sync + 'static> CredentialProvider for MetadataDisabled<C> {
    type Credential = C;

    async fn get_credential(&self) -> object_store::Result<Arc<C>> {
        Err(object_store::Error::Unauthenticated {
            path: String::new(),
            source: Box::new(ProviderFailure(self.message.clone())),
        })
    }
}
