//! Request observation: one event per HTTP request, queued for the Python request hooks and the
//! `obstore` logger, at no cost while nothing listens.
//!
//! - A store keeps a [`StoreObserver`] (its URL and its own `request_hook`). When something
//!   listens, [`listener`] gives the call a [`Listener`], and the store's operation wrapper
//!   (`stores::context::ContextStore`) polls each operation's futures and streams (list pages,
//!   get bodies, multipart parts, wherever they are polled) as [`Scoped`]: the operation's
//!   [`Scope`] is then marked in a thread-local ([`runtime::polling`]).
//! - [`execute`] (called by the lanes' HTTP service for every request) takes that scope, counts
//!   the attempts of each method and URL within it (object_store retries by sending the same
//!   request again), and follows the response body to its end; the event is then queued.
//! - Python drains the queue from a daemon thread (`obstore._hooks`), which calls the hooks and
//!   logs: no runtime thread ever waits for the GIL.
//!
//! Nothing listens while no hook is registered and the `obstore` logger is not enabled (see
//! [`observe`]); a request then costs one relaxed atomic load. Python tells Rust the logging
//! state: at once when a hook is added or removed or a store is built, and at most once per
//! second otherwise (an operation on a network store asks Python again when the last answer is
//! more than a second old).

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::Stream;
use object_store::client::{HttpClient, HttpError, HttpRequest, HttpResponse, HttpResponseBody};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyTuple};

use crate::runtime;

/// Events waiting for Python beyond this many are dropped (and counted): a hook slower than the
/// requests must not grow the process without bound.
const MAX_QUEUED: usize = 100_000;

/// How long the delivery thread lets events gather after the first arrives, and the batch that
/// needs no wait: waking the thread (and taking the GIL) once per request measured 1.5x the CPU
/// per request of obstore without a hook at 14,000 requests/s; batches of this wait cost a
/// fraction of that, and delay a hook by at most this much.
const LINGER: Duration = Duration::from_millis(10);
const BATCH: usize = 256;

/// Query parameters whose values are shown in event URLs; every other value is replaced by
/// `REDACTED` (signatures, SAS tokens, credentials in query strings).
const SHOWN_QUERY_KEYS: &[&str] = &[
    "alt",
    "blockid",
    "blocklisttype",
    "comp",
    "continuation-token",
    "delete",
    "delimiter",
    "encoding-type",
    "fetch-owner",
    "generation",
    "include",
    "list-type",
    "marker",
    "max-keys",
    "maxResults",
    "maxresults",
    "name",
    "pageToken",
    "partNumber",
    "prefix",
    "restype",
    "start-after",
    "startOffset",
    "uploadId",
    "uploadType",
    "uploads",
    "versionId",
    "x-id",
];

/// Global hooks registered in Python (`obstore.add_request_hook`).
static GLOBAL_HOOKS: AtomicUsize = AtomicUsize::new(0);
/// Live stores built with a `request_hook`.
static STORE_HOOKS: AtomicUsize = AtomicUsize::new(0);
/// What the `obstore` logger takes: [`LOG_OFF`], [`LOG_WARNING`] or [`LOG_DEBUG`].
static LOG_LEVEL: AtomicU8 = AtomicU8::new(LOG_OFF);
/// Nonzero while anything listens: the sum of the hook counts and 1 while logging is on. The one
/// value a request reads when nothing listens.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// The logger takes nothing.
pub const LOG_OFF: u8 = 0;
/// The logger takes warnings (one per retried request).
pub const LOG_WARNING: u8 = 1;
/// The logger takes a debug record per request.
pub const LOG_DEBUG: u8 = 2;

/// `obstore._hooks._refresh`, registered by Python: recomputes the logging state, tells Rust
/// (`_observe_set`) and starts the delivery thread when anything listens.
static REFRESH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
/// `contextvars.copy_context`.
static COPY_CONTEXT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
/// The coarse clock second at which the logging state is asked again (see [`observe`]).
static NEXT_REFRESH: AtomicU64 = AtomicU64::new(0);

fn listening() -> bool {
    ACTIVE.load(Ordering::Relaxed) != 0
}

/// Seconds of a monotonic clock, cheap to read (the kernel's coarse clock on Linux).
fn coarse_seconds() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a plain clock read into a local.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut now) };
        now.tv_sec as u64
    }
    #[cfg(not(target_os = "linux"))]
    {
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_secs()
    }
}

/// Asks Python for the logging state (and lets it start its delivery thread). Errors are
/// ignored: observation must never break an operation.
fn refresh(py: Python<'_>) {
    NEXT_REFRESH.store(coarse_seconds() + 1, Ordering::Relaxed);
    if let Some(refresh) = REFRESH.get(py) {
        let _ = refresh.bind(py).call0();
    }
}

/// What one store tells its observers: its URL (no secret) and its own hook.
#[derive(Debug)]
pub struct StoreObserver {
    url: String,
    hook: Option<Py<PyAny>>,
}

impl StoreObserver {
    /// The observer of the store known by `url`, with its `request_hook` (see [`check_hook`]).
    pub fn new(py: Python<'_>, url: String, hook: Option<&Py<PyAny>>) -> Arc<Self> {
        let observer = Arc::new(Self {
            url,
            hook: hook.map(|h| h.clone_ref(py)),
        });
        if observer.hook.is_some() {
            STORE_HOOKS.fetch_add(1, Ordering::Relaxed);
            ACTIVE.fetch_add(1, Ordering::Relaxed);
        }
        // Logging configured before the store is built applies to its first request.
        refresh(py);
        observer
    }
}

/// A `request_hook=` argument: `None`, or a callable (else `TypeError`).
pub fn check_hook(hook: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Py<PyAny>>> {
    match hook.filter(|h| !h.is_none()) {
        None => Ok(None),
        Some(hook) if hook.is_callable() => Ok(Some(hook.clone().unbind())),
        Some(hook) => Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "request_hook must be a callable taking an obstore.RequestEvent, got {}",
            hook.repr()?
        ))),
    }
}

/// `hook`, checked to pickle (a store pickles its hook): a `TypeError` naming the hook otherwise,
/// where pickle's own error would not say which argument it could not pickle.
pub fn picklable_hook<'py>(hook: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = hook.py();
    match py.import("pickle")?.call_method1("dumps", (hook,)) {
        Ok(_) => Ok(hook.clone()),
        Err(err) => {
            let error = pyo3::exceptions::PyTypeError::new_err(format!(
                "cannot pickle this store: its request_hook {} cannot be pickled ({}); use a \
                 module-level function, or build the store again without request_hook",
                hook.repr()?,
                err.value(py)
            ));
            error.set_cause(py, Some(err));
            Err(error)
        }
    }
}

impl Drop for StoreObserver {
    fn drop(&mut self) {
        if self.hook.is_some() {
            STORE_HOOKS.fetch_sub(1, Ordering::Relaxed);
            ACTIVE.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Who listens to the operations of `store` now, if anyone: called once per operation, with the
/// GIL held, at the operation's entry. The caller's `contextvars` context is captured there (only
/// while hooks are registered), so that a hook (OpenTelemetry) knows the span current at the call.
pub fn listener(py: Python<'_>, store: &Arc<StoreObserver>) -> Option<Listener> {
    if !listening() {
        if coarse_seconds() < NEXT_REFRESH.load(Ordering::Relaxed) {
            return None;
        }
        refresh(py);
        if !listening() {
            return None;
        }
    }
    let hooked = store.hook.is_some() || GLOBAL_HOOKS.load(Ordering::Relaxed) > 0;
    if !hooked && LOG_LEVEL.load(Ordering::Relaxed) == LOG_OFF {
        return None;
    }
    let context = if hooked { copy_context(py) } else { None };
    Some(Listener {
        store: store.clone(),
        context: context.map(Arc::new),
    })
}

/// What observes one call: the store's observer and the caller's context. Each operation of the
/// call gets its own [`Scope`].
#[derive(Debug)]
pub struct Listener {
    store: Arc<StoreObserver>,
    context: Option<Arc<Py<PyAny>>>,
}

impl Listener {
    /// The scope of one operation (`operation` is the name events carry).
    pub fn scope(&self, operation: &'static str) -> Arc<Scope> {
        Arc::new(Scope {
            store: self.store.clone(),
            operation,
            context: self.context.clone(),
            sent: Mutex::new(HashMap::new()),
        })
    }
}

fn copy_context(py: Python<'_>) -> Option<Py<PyAny>> {
    let copy = COPY_CONTEXT
        .get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            Ok(py.import("contextvars")?.getattr("copy_context")?.unbind())
        })
        .ok()?;
    copy.bind(py).call0().ok().map(Bound::unbind)
}

/// One operation being observed: the store, the operation's name, the caller's context, and how
/// many times each request was sent.
#[derive(Debug)]
pub struct Scope {
    store: Arc<StoreObserver>,
    operation: &'static str,
    context: Option<Arc<Py<PyAny>>>,
    /// How many times each request (a hash of its method and URL) was sent: a list of many
    /// pages or an upload of many parts sends thousands of distinct requests.
    sent: Mutex<HashMap<u64, u32>>,
}

impl Scope {
    /// The attempt number of this request within the operation (1 for the first).
    fn attempt(&self, method: &http::Method, uri: &http::Uri) -> u32 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        method.hash(&mut hasher);
        uri.hash(&mut hasher);
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        let count = sent.entry(hasher.finish()).or_insert(0);
        *count += 1;
        *count
    }
}

/// Restores the previous scope of this thread when dropped (also when a poll panics).
struct Entered(*const Scope);

impl Drop for Entered {
    fn drop(&mut self) {
        runtime::polling::set_scope(self.0.cast());
    }
}

/// A future or stream polled inside its operation's scope, if the operation is observed.
pub struct Scoped<T> {
    scope: Option<Arc<Scope>>,
    inner: T,
}

impl<T> Scoped<T> {
    /// `inner`, polled inside `scope`.
    pub fn new(scope: Option<Arc<Scope>>, inner: T) -> Self {
        Self { scope, inner }
    }

    fn enter(&self) -> Option<Entered> {
        let scope = self.scope.as_ref()?;
        let scope: *const Scope = Arc::as_ptr(scope);
        Some(Entered(runtime::polling::set_scope(scope.cast()).cast()))
    }
}

impl<T: std::future::Future + Unpin> std::future::Future for Scoped<T> {
    type Output = T::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T::Output> {
        let _entered = self.enter();
        Pin::new(&mut self.inner).poll(cx)
    }
}

impl<T: Stream + Unpin> Stream for Scoped<T> {
    type Item = T::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T::Item>> {
        let _entered = self.enter();
        Pin::new(&mut self.inner).poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

/// The observed operation `scope` points to (as [`runtime::polling`] read it within the poll that
/// sends a request), while anything listens.
pub(crate) fn scope_of(scope: *const Scope) -> Option<Arc<Scope>> {
    if scope.is_null() || !listening() {
        return None;
    }
    // SAFETY: the pointer is set only while a `Scoped` that owns an `Arc` of it is being polled
    // on this thread (see `Scoped::enter`), and the caller read it within that poll.
    unsafe {
        Arc::increment_strong_count(scope);
        Some(Arc::from_raw(scope))
    }
}

/// Sends `request` through `client`; observed when it belongs to an observed operation.
pub async fn execute(
    client: &HttpClient,
    request: HttpRequest,
    scope: Option<Arc<Scope>>,
) -> Result<HttpResponse, HttpError> {
    let Some(scope) = scope else {
        return client.execute(request).await;
    };
    let mut observation = Observation::start(scope, &request);
    match client.execute(request).await {
        Ok(response) => {
            observation.status = Some(response.status().as_u16());
            Ok(response.map(|body| {
                HttpResponseBody::new(ObservedBody {
                    body,
                    observation: Some(observation),
                })
            }))
        }
        Err(err) => {
            observation.finish(Some(error_line("request", &err)));
            Err(err)
        }
    }
}

/// One request in flight, until its response body ends.
#[derive(Debug)]
struct Observation {
    scope: Arc<Scope>,
    method: http::Method,
    uri: http::Uri,
    attempt: u32,
    bytes_sent: u64,
    bytes_received: u64,
    status: Option<u16>,
    started: Instant,
    started_at: SystemTime,
    finished: bool,
}

impl Observation {
    fn start(scope: Arc<Scope>, request: &HttpRequest) -> Self {
        let uri = request.uri().clone();
        let attempt = scope.attempt(request.method(), &uri);
        Self {
            scope,
            method: request.method().clone(),
            uri,
            attempt,
            bytes_sent: request.body().content_length() as u64,
            bytes_received: 0,
            status: None,
            started: Instant::now(),
            started_at: SystemTime::now(),
            finished: false,
        }
    }

    /// Queues the event (once), if anything wants it.
    fn finish(&mut self, error: Option<String>) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let log = LOG_LEVEL.load(Ordering::Relaxed);
        let wanted = self.scope.store.hook.is_some()
            || GLOBAL_HOOKS.load(Ordering::Relaxed) > 0
            || log >= LOG_DEBUG
            || (log >= LOG_WARNING && self.attempt > 1);
        if !wanted {
            return;
        }
        let (url, path) = redact_uri(&self.uri);
        queue().push(Event {
            scope: self.scope.clone(),
            method: self.method.as_str().to_string(),
            url,
            path,
            status: self.status,
            attempt: self.attempt,
            bytes_sent: self.bytes_sent,
            bytes_received: self.bytes_received,
            duration: self.started.elapsed(),
            started_at: self.started_at,
            error,
        });
    }
}

impl Drop for Observation {
    fn drop(&mut self) {
        if !self.finished {
            self.finish(Some(
                "request: cancelled: dropped before its response".into(),
            ));
        }
    }
}

/// A response body that counts its bytes and queues its request's event when it ends, fails or
/// is dropped.
struct ObservedBody {
    body: HttpResponseBody,
    observation: Option<Observation>,
}

impl http_body::Body for ObservedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<http_body::Frame<Bytes>, HttpError>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Some(observation) = self.observation.as_mut() {
            match &polled {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        observation.bytes_received += data.len() as u64;
                    }
                }
                Poll::Ready(Some(Err(err))) => {
                    observation.finish(Some(error_line("body", err)));
                }
                Poll::Ready(None) => observation.finish(None),
                Poll::Pending => {}
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

impl Drop for ObservedBody {
    fn drop(&mut self) {
        // A body dropped before its end is not a failure: the response arrived, and its status
        // tells how the request went. object_store leaves the bodies of many answers unread
        // (a copy's XML, a WebDAV `201 Created` text), and a caller may stop reading a `get`.
        // `bytes_received` says how much was read.
        if let Some(mut observation) = self.observation.take() {
            observation.finish(None);
        }
    }
}

/// One line for an error and its sources, `<stage>: <kind>: <sources>` (stage `request` or
/// `body`, kind as object_store classifies it), with any URL in it redacted. A request dropped
/// before its response reads `request: cancelled: ...`.
fn error_line(stage: &str, err: &HttpError) -> String {
    let kind = format!("{:?}", err.kind()).to_lowercase();
    let mut line = format!("{stage}: {kind}");
    // The `HttpError` itself only says "HTTP error: {source}": its sources carry the news.
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    redact_text(&line.replace(['\n', '\r'], " "))
}

/// `text` with every `http(s)://` URL in it redacted as [`redact_uri`] does.
fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("http") {
        let candidate = &rest[start..];
        if !(candidate.starts_with("http://") || candidate.starts_with("https://")) {
            out.push_str(&rest[..start + 4]);
            rest = &rest[start + 4..];
            continue;
        }
        let end = candidate
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>' | ','))
            .unwrap_or(candidate.len());
        out.push_str(&rest[..start]);
        match candidate[..end].parse::<http::Uri>() {
            Ok(uri) => out.push_str(&redact_uri(&uri).0),
            Err(_) => out.push_str("<url>"),
        }
        rest = &candidate[end..];
    }
    out.push_str(rest);
    out
}

/// The URL of a request as events show it, and its path: no user information, and the values of
/// query parameters not in [`SHOWN_QUERY_KEYS`] replaced by `REDACTED`.
pub fn redact_uri(uri: &http::Uri) -> (String, String) {
    let path = uri.path().to_string();
    let mut url = String::new();
    if let Some(scheme) = uri.scheme_str() {
        url.push_str(scheme);
        url.push_str("://");
    }
    if let Some(authority) = uri.authority() {
        let host_port = authority
            .as_str()
            .rsplit_once('@')
            .map_or(authority.as_str(), |(_, host)| host);
        url.push_str(host_port);
    }
    url.push_str(&path);
    if let Some(query) = uri.query() {
        url.push('?');
        for (index, pair) in query.split('&').enumerate() {
            if index > 0 {
                url.push('&');
            }
            match pair.split_once('=') {
                Some((key, _)) if !SHOWN_QUERY_KEYS.contains(&key) => {
                    url.push_str(key);
                    url.push_str("=REDACTED");
                }
                _ => url.push_str(pair),
            }
        }
    }
    (url, path)
}

/// One finished request, waiting for Python.
struct Event {
    scope: Arc<Scope>,
    method: String,
    url: String,
    path: String,
    status: Option<u16>,
    attempt: u32,
    bytes_sent: u64,
    bytes_received: u64,
    duration: Duration,
    started_at: SystemTime,
    error: Option<String>,
}

impl Event {
    /// `(store, operation, method, url, path, status, attempt, bytes_sent, bytes_received,
    /// duration, error, start_time, context, store_hook)`, as `obstore._hooks` reads it.
    fn into_py(self, py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
        let start_time = self
            .started_at
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let context = self.scope.context.as_ref().map(|c| c.clone_ref(py));
        let hook = self.scope.store.hook.as_ref().map(|h| h.clone_ref(py));
        let fields = [
            self.scope.store.url.as_str().into_pyobject(py)?.into_any(),
            self.scope.operation.into_pyobject(py)?.into_any(),
            self.method.into_pyobject(py)?.into_any(),
            self.url.into_pyobject(py)?.into_any(),
            self.path.into_pyobject(py)?.into_any(),
            self.status.into_pyobject(py)?.into_any(),
            self.attempt.into_pyobject(py)?.into_any(),
            self.bytes_sent.into_pyobject(py)?.into_any(),
            self.bytes_received.into_pyobject(py)?.into_any(),
            self.duration.as_secs_f64().into_pyobject(py)?.into_any(),
            self.error.into_pyobject(py)?.into_any(),
            start_time.into_pyobject(py)?.into_any(),
            context.into_pyobject(py)?.into_any(),
            hook.into_pyobject(py)?.into_any(),
        ];
        PyTuple::new(py, fields)
    }
}

/// The events of one process generation (a forked child starts a new queue: a lock held by a
/// parent's thread at the fork would never be released in the child).
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

#[derive(Default)]
struct QueueState {
    events: VecDeque<Event>,
    /// Events queued or dropped since the start: what a flush waits for.
    produced: u64,
    /// Events dropped because the queue was full.
    dropped: u64,
}

static QUEUE: runtime::PerGeneration<Queue> = runtime::PerGeneration::new();

fn queue() -> &'static Queue {
    QUEUE.get(|_| Queue::default())
}

impl Queue {
    fn push(&self, event: Event) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.produced += 1;
        if state.events.len() >= MAX_QUEUED {
            state.dropped += 1;
            return;
        }
        let was_empty = state.events.is_empty();
        state.events.push_back(event);
        drop(state);
        // The consumer waits only on an empty queue.
        if was_empty {
            self.ready.notify_one();
        }
    }

    /// Every queued event, waiting up to `timeout` for the first; then [`LINGER`] more unless
    /// a full batch is there.
    fn take(&self, timeout: Duration) -> Vec<Event> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (state, _) = self
            .ready
            .wait_timeout_while(state, timeout, |s| s.events.is_empty())
            .unwrap_or_else(|e| e.into_inner());
        let linger = !state.events.is_empty() && state.events.len() < BATCH;
        drop(state);
        if linger {
            std::thread::sleep(LINGER);
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.events.drain(..).collect()
    }
}

#[doc = crate::pydoc!(_observe_configure)]
#[pyfunction]
pub fn _observe_configure(py: Python<'_>, refresh: Bound<'_, PyAny>) -> PyResult<()> {
    let _ = REFRESH.set(py, refresh.unbind());
    Ok(())
}

#[doc = crate::pydoc!(_observe_set)]
#[pyfunction]
pub fn _observe_set(global_hooks: usize, log_level: u8) -> PyResult<()> {
    if log_level > LOG_DEBUG {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "log_level must be 0, 1 or 2, got {log_level}"
        )));
    }
    let before = GLOBAL_HOOKS.swap(global_hooks, Ordering::Relaxed);
    let was_logging = LOG_LEVEL.swap(log_level, Ordering::Relaxed) != LOG_OFF;
    let logging = log_level != LOG_OFF;
    ACTIVE.fetch_add(global_hooks + usize::from(logging), Ordering::Relaxed);
    ACTIVE.fetch_sub(before + usize::from(was_logging), Ordering::Relaxed);
    NEXT_REFRESH.store(coarse_seconds() + 1, Ordering::Relaxed);
    Ok(())
}

// The events are the tuples of `Event::into_py`; the wait releases the GIL.
#[doc = crate::pydoc!(_observe_take)]
#[pyfunction]
pub fn _observe_take(py: Python<'_>, timeout: f64) -> PyResult<Bound<'_, PyList>> {
    let timeout = Duration::try_from_secs_f64(timeout.max(0.0)).unwrap_or(Duration::from_secs(1));
    let queue = queue();
    let events = py.detach(|| queue.take(timeout));
    let tuples = events
        .into_iter()
        .map(|event| event.into_py(py))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, tuples)
}

#[doc = crate::pydoc!(_observe_status)]
#[pyfunction]
pub fn _observe_status() -> (u64, u64, usize, bool) {
    let state = queue().state.lock().unwrap_or_else(|e| e.into_inner());
    (
        state.produced,
        state.dropped,
        STORE_HOOKS.load(Ordering::Relaxed),
        listening(),
    )
}

/// Adds the functions `obstore._hooks` uses to `module`.
pub fn register(module: &Bound<'_, pyo3::types::PyModule>) -> PyResult<()> {
    module.add_function(pyo3::wrap_pyfunction!(_observe_configure, module)?)?;
    module.add_function(pyo3::wrap_pyfunction!(_observe_set, module)?)?;
    module.add_function(pyo3::wrap_pyfunction!(_observe_take, module)?)?;
    module.add_function(pyo3::wrap_pyfunction!(_observe_status, module)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_secrets_are_redacted_and_listing_parameters_kept() {
        let uri: http::Uri =
            "http://user:pw@127.0.0.1:9000/b/k?list-type=2&prefix=a%2F&sig=SECRET&se=2030&X-Amz-Signature=abc"
                .parse()
                .unwrap();
        let (url, path) = redact_uri(&uri);
        assert_eq!(
            url,
            "http://127.0.0.1:9000/b/k?list-type=2&prefix=a%2F&sig=REDACTED&se=REDACTED&X-Amz-Signature=REDACTED"
        );
        assert_eq!(path, "/b/k");
    }

    #[test]
    fn urls_inside_error_text_are_redacted() {
        let text = redact_text("error sending request for url (https://h/p?sig=SECRET): closed");
        assert_eq!(
            text,
            "error sending request for url (https://h/p?sig=REDACTED): closed"
        );
    }
}
