//! Progress reports of single-object operations (`put`, `get`, `get_parallel`, `open_writer`):
//! the byte count lives in atomics, and the caller's `progress` callable gets an
//! `obstore.progress.Progress` at most every [`REPORT_INTERVAL`], plus one final report with
//! `done=True` when the operation ends, whether it succeeded or failed.
//!
//! Reports are made from the thread that moves the bytes when the interval has passed: the
//! calling thread for in-process stores (memory, local files) and sync calls that poll their
//! future themselves, a runtime worker thread otherwise (also for asyncio calls: the callable
//! does not run in the event loop's thread). Each report takes the GIL for the call only. An
//! exception raised by the callable ends the operation and is raised to its caller.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::path::Path;
use obstore_stores::{ObstoreError, ObstoreResult};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// The shortest time between two reports: at most 10 per second, whatever the chunk rate.
const REPORT_INTERVAL: Duration = Duration::from_millis(100);

/// `bytes_total` while the total is not known.
const UNKNOWN: u64 = u64::MAX;

/// The `progress` argument: a callable taking a `Progress` (None is `Option::None`).
pub struct ProgressCallback(Py<PyAny>);

impl<'a, 'py> FromPyObject<'a, 'py> for ProgressCallback {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if !obj.is_callable() {
            let type_name = obj
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default();
            return Err(PyTypeError::new_err(format!(
                "progress must be a callable taking an obstore.progress.Progress, or None, \
                 not '{type_name}'"
            )));
        }
        Ok(Self(obj.to_owned().unbind()))
    }
}

/// The progress of one operation on one object, shared by everything that moves its bytes.
#[derive(Clone)]
pub struct ProgressTracker(Arc<Tracker>);

struct Tracker {
    callback: Py<PyAny>,
    path: String,
    start: Instant,
    bytes_done: AtomicU64,
    bytes_total: AtomicU64,
    /// When the next report may be made, in nanoseconds after `start`.
    next_report: AtomicU64,
    /// Held by the one report in progress: reports never overlap, so `bytes_done` never goes
    /// back from one call to the next.
    reporting: AtomicBool,
    /// The final report was made (or is being made).
    finished: AtomicBool,
    /// The callable raised: no more intermediate reports.
    failed: AtomicBool,
}

impl ProgressTracker {
    /// A tracker for the operation on `path`, if the caller gave a callable.
    pub fn new(
        callback: Option<ProgressCallback>,
        path: &Path,
        bytes_total: Option<u64>,
    ) -> Option<Self> {
        let callback = callback?;
        Some(Self(Arc::new(Tracker {
            callback: callback.0,
            path: path.to_string(),
            start: Instant::now(),
            bytes_done: AtomicU64::new(0),
            bytes_total: AtomicU64::new(bytes_total.unwrap_or(UNKNOWN)),
            next_report: AtomicU64::new(REPORT_INTERVAL.as_nanos() as u64),
            reporting: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            failed: AtomicBool::new(false),
        })))
    }

    /// Sets the total once it is known (from the response of a get).
    pub fn set_total(&self, bytes_total: u64) {
        self.0.bytes_total.store(bytes_total, Ordering::Relaxed);
    }

    /// Counts `n` more bytes done; reports them if the interval has passed since the last report.
    /// Fails with the callable's exception if it raises.
    pub fn add(&self, n: u64) -> ObstoreResult<()> {
        let tracker = &*self.0;
        tracker.bytes_done.fetch_add(n, Ordering::Relaxed);
        let now = tracker.start.elapsed().as_nanos() as u64;
        let next = tracker.next_report.load(Ordering::Relaxed);
        if now < next
            || tracker
                .next_report
                .compare_exchange(
                    next,
                    now + REPORT_INTERVAL.as_nanos() as u64,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_err()
            || tracker.failed.load(Ordering::Relaxed)
            || tracker.finished.load(Ordering::Acquire)
            || tracker.reporting.swap(true, Ordering::Acquire)
        {
            return Ok(());
        }
        let result = tracker.report(false, false);
        tracker.reporting.store(false, Ordering::Release);
        result
    }

    /// Makes the final report (`done=True`), once: later calls do nothing. `succeeded` says the
    /// operation succeeded: then a total not known so far is the byte count.
    pub fn finish(&self, succeeded: bool) -> ObstoreResult<()> {
        let tracker = &*self.0;
        if tracker.finished.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        tracker.wait_for_report_in_flight();
        let result = tracker.report(true, succeeded);
        tracker.reporting.store(false, Ordering::Release);
        result
    }

    /// Makes the final report for an operation that ended with `result`: the operation's error
    /// if it failed, else the callable's if it raised on the final report.
    pub fn finish_with<T>(&self, result: ObstoreResult<T>) -> ObstoreResult<T> {
        let reported = self.finish(result.is_ok());
        let value = result?;
        reported.map(|()| value)
    }

    /// Like [`Self::finish_with`], for an optional tracker.
    pub fn finish_opt<T>(progress: Option<&Self>, result: ObstoreResult<T>) -> ObstoreResult<T> {
        match progress {
            Some(progress) => progress.finish_with(result),
            None => result,
        }
    }
}

impl Tracker {
    /// Waits for an intermediate report made from another thread to end. That report may be
    /// waiting for the GIL, which this thread may hold: the wait lets go of it.
    fn wait_for_report_in_flight(&self) {
        if !self.reporting.swap(true, Ordering::Acquire) {
            return;
        }
        Python::attach(|py| {
            py.detach(|| {
                while self.reporting.swap(true, Ordering::Acquire) {
                    std::thread::sleep(Duration::from_micros(200));
                }
            })
        });
    }

    /// Calls the callable with the state now (the caller holds `reporting`).
    fn report(&self, done: bool, succeeded: bool) -> ObstoreResult<()> {
        static PROGRESS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let bytes_done = self.bytes_done.load(Ordering::Relaxed);
        let bytes_total = match self.bytes_total.load(Ordering::Relaxed) {
            UNKNOWN if done && succeeded => Some(bytes_done),
            UNKNOWN => None,
            total => Some(total),
        };
        Python::attach(|py| -> PyResult<()> {
            let class = PROGRESS.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
                Ok(py.import("obstore.progress")?.getattr("Progress")?.unbind())
            })?;
            // The fields of the dataclass, in order: bytes_done, bytes_total, objects_done,
            // objects_total, path, done.
            let progress = class.bind(py).call1((
                bytes_done,
                bytes_total,
                u8::from(done),
                1u8,
                self.path.as_str(),
                done,
            ))?;
            self.callback.bind(py).call1((progress,))?;
            Ok(())
        })
        .map_err(|err| {
            self.failed.store(true, Ordering::Relaxed);
            ObstoreError::Python(err)
        })
    }
}

impl Drop for Tracker {
    /// An operation dropped before it ended (a `GetResult` never read, a writer never closed)
    /// still gets its final report; an exception from it has no caller to go to.
    fn drop(&mut self) {
        if *self.finished.get_mut() {
            return;
        }
        Python::try_attach(|py| {
            if let Err(ObstoreError::Python(err)) = self.report(true, false) {
                err.write_unraisable(py, None);
            }
        });
    }
}
