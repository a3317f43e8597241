//! The process-wide tokio runtime, recreated after `os.fork()`, and blocking on futures with the GIL released.
//!
//! Sync calls run their future on the calling thread (`block_on`) with the GIL released; the main thread
//! wakes every [`SIGNAL_CHECK_INTERVAL`] to run Python's signal handlers, so Ctrl-C interrupts a call that
//! waits on a slow server.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::Once;
use std::time::Duration;

use pyo3::prelude::*;
use tokio::runtime::Runtime;

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

fn worker_threads() -> usize {
    std::env::var("OBSTORE_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
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

fn is_main_thread() -> bool {
    // SAFETY: trivial libc calls.
    unsafe { libc::getpid() == libc::gettid() }
}

/// Runs `future` on the shared runtime from sync code: the GIL is released while waiting, and on the
/// main thread a pending KeyboardInterrupt (or any exception raised by a signal handler) stops the wait.
pub fn block_on<F, T, E>(py: Python<'_>, future: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>> + Send,
    T: Send,
    E: From<PyErr> + Send,
{
    let runtime = runtime();
    let result = if !is_main_thread() {
        py.detach(|| runtime.block_on(future))
    } else {
        block_on_main_thread(py, runtime, future)
    };
    crate::buffer::release_deferred(py);
    result
}

fn block_on_main_thread<F, T, E>(py: Python<'_>, runtime: &Runtime, future: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>> + Send,
    T: Send,
    E: From<PyErr> + Send,
{
    py.detach(|| {
        runtime.block_on(async move {
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
        })
    })
}

/// Runs `future` to completion on the calling thread without a tokio context, with the GIL released.
///
/// Only for stores whose futures do all their work when polled (memory, and the local filesystem,
/// which then does its blocking I/O inline instead of hopping to a blocking thread).
pub fn block_on_inline<F, T>(py: Python<'_>, future: F) -> T
where
    F: Future<Output = T> + Send,
    T: Send,
{
    py.detach(|| futures::executor::block_on(future))
}

/// The fork generation of this process: it changes in a child after `os.fork()`. Stores that hold
/// network clients rebuild them when it changes, since connections belong to the parent's runtime.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}
