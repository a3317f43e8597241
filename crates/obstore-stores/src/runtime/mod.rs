//! The process-wide tokio runtime, recreated after `os.fork()`, and blocking on futures with the GIL released.
//!
//! Sync calls wait for their future (a task on this runtime, see [`block_on`]) with the GIL released;
//! the main thread wakes every [`SIGNAL_CHECK_INTERVAL`] to run Python's signal handlers, so Ctrl-C
//! interrupts a call that waits on a slow server. Sync calls that finish their requests within the
//! call may instead run on the calling thread: see [`lane`].
//!
//! - [`client`]: the HTTP client every network store sends through, on hyper directly.
//! - [`lane`]: sync network calls driven on the calling thread.
//! - [`asyncio`]: the bridge that hands Rust futures to asyncio with batched wake-ups.
//! - [`observe`]: one event per HTTP request for the Python request hooks and logger.

pub mod asyncio;
pub mod client;
pub mod lane;
pub mod observe;
pub(crate) mod polling;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::Once;
use std::time::Duration;

use pyo3::prelude::*;
use tokio::runtime::Runtime;

use crate::error::{new_error, ExceptionKind};

/// How often a blocked sync call on the main thread checks for pending signals (Ctrl-C).
pub const SIGNAL_CHECK_INTERVAL: Duration = Duration::from_millis(50);

/// Bumped in the child after every fork: runtimes of earlier generations have no threads left.
static GENERATION: AtomicU64 = AtomicU64::new(0);
static CURRENT: AtomicPtr<Runtime> = AtomicPtr::new(std::ptr::null_mut());
static CURRENT_GENERATION: AtomicU64 = AtomicU64::new(u64::MAX);
/// A spin lock rather than a mutex: a fork can copy a held lock into the child, and the child resets it.
static BUILDING: AtomicBool = AtomicBool::new(false);
static ATFORK: Once = Once::new();

extern "C" fn after_fork_in_child() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
    BUILDING.store(false, Ordering::SeqCst);
}

/// A whole-number tuning variable of the environment and the range of values it accepts.
pub struct Setting {
    pub name: &'static str,
    pub min: usize,
    pub max: usize,
}

/// The largest thread count a tuning variable accepts. One worker per core is the useful
/// maximum, and 1024 is above the hardware threads of the largest common machines; a value
/// beyond it is a mistake, which would otherwise start that many threads (with a 2 MiB stack
/// each) before the first call, hanging the process without answering Ctrl-C.
pub const MAX_THREADS: usize = 1024;

/// The runtime's worker threads (see [`worker_threads`]).
pub const WORKER_THREADS: Setting = Setting {
    name: "OBSTORE_WORKER_THREADS",
    min: 1,
    max: MAX_THREADS,
};

/// How many sync calls may drive lanes at once (see `lane::max_in_flight`): each is a thread
/// doing its own I/O, so the same bound applies.
pub const SYNC_LANES: Setting = Setting {
    name: "OBSTORE_SYNC_LANES",
    min: 0,
    max: MAX_THREADS,
};

impl Setting {
    /// `Ok(None)` when unset, an error naming the variable and the value when it is not a whole
    /// number from `min` to `max`.
    fn read(&self) -> Result<Option<usize>, String> {
        let Ok(raw) = std::env::var(self.name) else {
            return Ok(None);
        };
        match raw.trim().parse::<usize>() {
            Ok(n) if (self.min..=self.max).contains(&n) => Ok(Some(n)),
            _ => Err(format!(
                "{} must be a whole number from {} to {}, got {raw:?}",
                self.name, self.min, self.max
            )),
        }
    }

    /// The value set, else `default()`. Bad values fail the import (`check_environment`); one
    /// changed later that does not parse counts as unset.
    pub fn get(&self, default: impl FnOnce() -> usize) -> usize {
        self.read().ok().flatten().unwrap_or_else(default)
    }
}

/// The number of cores this process may use (2 when it cannot be told).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Checks the tuning variables, so that a bad value fails `import obstore` with a message
/// instead of being ignored.
pub fn check_environment() -> PyResult<()> {
    WORKER_THREADS
        .read()
        .and(SYNC_LANES.read())
        .map(|_| ())
        .map_err(pyo3::exceptions::PyValueError::new_err)
}

/// The runtime's worker threads: `OBSTORE_WORKER_THREADS`, else one fewer than the cores (at least
/// one). The core left over is the Python thread's: the event loop, or the thread pool's calls,
/// which run beside the workers for every request. On 2 cores, 2 workers beside an event loop
/// preempted each other and the loop (0.3–0.7 involuntary context switches per request against
/// 0.05 with one worker): one worker measured 0.65–0.86x the CPU per request of two at 64 and 256
/// small GETs in flight, and 0.6x the CPU for a 1 GiB `bytes()` (docs/performance.md). Beside a
/// CPU-bound process, the one worker measured about the rate of two (25.8k against 27.4k GETs per
/// second, within the noise) at 22.9 µs of CPU per GET; a second runtime thread that took every
/// other new task there measured 23.8k at 30.9 µs, its cross-thread hand-offs the difference.
fn worker_threads() -> usize {
    WORKER_THREADS.get(|| cores().saturating_sub(1).max(1))
}

/// The shared runtime of this process (a new one in a forked child).
pub fn runtime() -> &'static Runtime {
    let generation = GENERATION.load(Ordering::Acquire);
    let ptr = CURRENT.load(Ordering::Acquire);
    if !ptr.is_null() && CURRENT_GENERATION.load(Ordering::Acquire) == generation {
        // SAFETY: runtimes are leaked (never freed), so the pointer stays valid for the process lifetime.
        return unsafe { &*ptr };
    }
    build_runtime(generation)
}

#[cold]
fn build_runtime(generation: u64) -> &'static Runtime {
    ATFORK.call_once(|| {
        // SAFETY: registering a plain extern "C" handler that only touches atomics.
        unsafe {
            libc::pthread_atfork(None, None, Some(after_fork_in_child));
        }
    });
    while BUILDING
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        std::thread::yield_now();
    }
    let ptr = CURRENT.load(Ordering::Acquire);
    let result = if !ptr.is_null() && CURRENT_GENERATION.load(Ordering::Acquire) == generation {
        // SAFETY: see `runtime`.
        unsafe { &*ptr }
    } else {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads())
            .thread_name("obstore-worker")
            .enable_all()
            .build()
            .expect("failed to start the tokio runtime");
        // The runtime of a previous generation (inherited through fork) is leaked on purpose: its
        // threads do not exist in this process, so dropping it would wait for them forever.
        let leaked: &'static Runtime = Box::leak(Box::new(runtime));
        CURRENT.store(leaked as *const Runtime as *mut Runtime, Ordering::Release);
        CURRENT_GENERATION.store(generation, Ordering::Release);
        leaked
    };
    BUILDING.store(false, Ordering::Release);
    result
}

pub(crate) fn is_main_thread() -> bool {
    // SAFETY: trivial libc calls.
    unsafe { libc::getpid() == libc::gettid() }
}

/// Runs `future` on the shared runtime from sync code: the GIL is released while waiting, and on the
/// main thread a pending KeyboardInterrupt (or any exception raised by a signal handler) stops the wait
/// and cancels the work.
///
/// The future runs as a task on a worker thread, next to the I/O driver, and the calling thread
/// sleeps until it is done: one cross-thread wake-up per call, where driving the future on the
/// calling thread would cost one per I/O event.
pub fn block_on<F, T, E>(py: Python<'_>, future: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: From<PyErr> + Send + 'static,
{
    let runtime = runtime();
    let task = runtime.spawn(catch_panics(future));
    let abort = task.abort_handle();
    let _blocked = BlockedThread::enter();
    let result = if tokio::runtime::Handle::try_current().is_ok() {
        py.detach(|| wait_inside_runtime(runtime, task))
            .unwrap_or_else(|err| Err(E::from(join_error(err))))
    } else if is_main_thread() {
        wait_on_main_thread(py, runtime, task)
    } else {
        py.detach(|| runtime.block_on(task))
            .unwrap_or_else(|err| Err(E::from(join_error(err))))
    };
    if result.is_err() {
        abort.abort();
    }
    crate::buffer::release_deferred(py);
    result
}

/// Waits for `task` from a thread that is inside a runtime already: a sync call made by code that
/// obstore itself runs, such as a credential provider polled by another call. A runtime cannot be
/// blocked on there, so a runtime worker hands its other work over (`block_in_place`) and a lane's
/// thread waits on a helper thread.
fn wait_inside_runtime<T: Send>(
    runtime: &'static Runtime,
    task: tokio::task::JoinHandle<T>,
) -> Result<T, tokio::task::JoinError> {
    match tokio::runtime::Handle::current().runtime_flavor() {
        tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| runtime.block_on(task))
        }
        _ => std::thread::scope(|scope| {
            scope
                .spawn(|| runtime.block_on(task))
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        }),
    }
}

/// Threads (by Python thread ident) currently waiting in [`block_on`]. An event loop running on
/// such a thread cannot make progress until the call returns, so work that needs that loop (an
/// async credential provider) must fail at once instead of waiting forever.
static BLOCKED_THREADS: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());

/// The Python thread ident of the calling thread (`threading.get_ident()`).
pub fn current_thread_ident() -> u64 {
    // SAFETY: trivial libc call; CPython's thread ident is pthread_self() on POSIX.
    unsafe { libc::pthread_self() as u64 }
}

/// Whether the thread with this Python ident is blocked in a sync obstore call.
pub fn is_blocked_in_sync_call(thread_ident: u64) -> bool {
    BLOCKED_THREADS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&thread_ident)
}

pub(crate) struct BlockedThread(u64);

impl BlockedThread {
    pub(crate) fn enter() -> Self {
        let ident = current_thread_ident();
        BLOCKED_THREADS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(ident);
        Self(ident)
    }
}

impl Drop for BlockedThread {
    fn drop(&mut self) {
        let mut blocked = BLOCKED_THREADS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(index) = blocked.iter().position(|t| *t == self.0) {
            blocked.swap_remove(index);
        }
    }
}

fn join_error(err: tokio::task::JoinError) -> PyErr {
    match err.try_into_panic() {
        Ok(payload) => panic_error(payload),
        Err(err) => new_error(
            ExceptionKind::GenericError,
            format!("obstore task ended: {err}"),
        ),
    }
}

/// The error a Rust panic becomes: an `obstore.exceptions.GenericError` (an `Exception`), never
/// pyo3's `PanicException`, a `BaseException` that `except Exception` lets through.
pub fn panic_error(payload: Box<dyn std::any::Any + Send>) -> PyErr {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    new_error(
        ExceptionKind::GenericError,
        format!("internal error in obstore (please report it): {message}"),
    )
}

/// `future`, with a panic while polling it turned into [`panic_error`]: every call into Rust that
/// drives a future (sync calls, runtime tasks, lanes, asyncio) goes through this boundary.
///
/// A combinator, not an `async fn`: an `async fn` would move `future` once more (into the
/// unwind guard) at its first poll, a copy of the whole operation's state per call.
pub fn catch_panics<F, T, E>(future: F) -> impl Future<Output = Result<T, E>>
where
    F: Future<Output = Result<T, E>>,
    E: From<PyErr>,
{
    use futures::FutureExt;
    std::panic::AssertUnwindSafe(future)
        .catch_unwind()
        .map(|caught| caught.unwrap_or_else(|payload| Err(E::from(panic_error(payload)))))
}

fn wait_on_main_thread<T, E>(
    py: Python<'_>,
    runtime: &Runtime,
    task: tokio::task::JoinHandle<Result<T, E>>,
) -> Result<T, E>
where
    T: Send,
    E: From<PyErr> + Send,
{
    py.detach(|| {
        runtime.block_on(interruptible(async move {
            task.await
                .unwrap_or_else(|err| Err(E::from(join_error(err))))
        }))
    })
}

/// `future`, woken every [`SIGNAL_CHECK_INTERVAL`] to run Python's signal handlers: an exception
/// they raise (KeyboardInterrupt) ends the wait with that error. Polled inside a runtime on the
/// main thread, with the GIL released.
pub(crate) async fn interruptible<F, T, E>(future: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
    E: From<PyErr>,
{
    let mut future = std::pin::pin!(future);
    loop {
        tokio::select! {
            biased;
            result = &mut future => return result,
            _ = tokio::time::sleep(SIGNAL_CHECK_INTERVAL) => {
                Python::attach(|py| py.check_signals()).map_err(E::from)?;
            }
        }
    }
}

/// Runs `future` to completion on the calling thread without a tokio context, with the GIL released.
///
/// Only for stores whose futures do all their work when polled (memory, and the local filesystem,
/// which then does its blocking I/O inline instead of hopping to a blocking thread).
pub fn block_on_inline<F, T, E>(py: Python<'_>, future: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>> + Send,
    T: Send,
    E: From<PyErr> + Send,
{
    py.detach(|| {
        let mut future = std::pin::pin!(catch_panics(future));
        // In-memory futures (and small local-file ones) complete on their first poll: polled
        // once with a no-op waker, they need none of an executor's thread-local state.
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(result) => result,
            std::task::Poll::Pending => futures::executor::block_on(future),
        }
    })
}

/// One value per process generation, made on first use in each: a forked child makes its own
/// (a lock or a connection of the parent's is not the child's). Values are leaked, never freed:
/// a thread may still hold one of an older generation.
pub(crate) struct PerGeneration<T: 'static> {
    current: AtomicPtr<(u64, T)>,
}

impl<T: 'static> PerGeneration<T> {
    /// None made yet.
    pub(crate) const fn new() -> Self {
        Self {
            current: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// The value of the current generation, made by `make` (given the generation) if there is
    /// none yet.
    pub(crate) fn get(&self, make: impl FnOnce(u64) -> T) -> &'static T {
        let generation = generation();
        let current = self.current.load(Ordering::Acquire);
        // SAFETY: values are leaked, never freed.
        if let Some((made_in, value)) = unsafe { current.as_ref() } {
            if *made_in == generation {
                return value;
            }
        }
        let fresh: &'static (u64, T) = Box::leak(Box::new((generation, make(generation))));
        let fresh_ptr = fresh as *const (u64, T) as *mut (u64, T);
        match self
            .current
            .compare_exchange(current, fresh_ptr, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => &fresh.1,
            // Another thread installed one first: use it (the unused one stays leaked).
            // SAFETY: as above.
            Err(winner) => unsafe { &(*winner).1 },
        }
    }
}

/// The fork generation of this process: it changes in a child after `os.fork()`. Stores that hold
/// network clients rebuild them when it changes, since connections belong to the parent's runtime.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}
