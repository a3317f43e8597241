//! Hands Rust futures to asyncio: one `asyncio.Future` per call, completed with batched wake-ups.
//!
//! A call first polls its future once on the event-loop thread; stores that answer at once (memory,
//! small local reads) return an already-completed future with no thread hop at all. Otherwise the
//! future runs on the tokio runtime and, when done, pushes its result onto the loop's completion queue;
//! when the queue was empty, one byte goes to a socket the loop watches once the worker has run the
//! other tasks ready on it, so a batch of completions costs one wake-up. Worker threads
//! never take the GIL to deliver a result; the loop thread drains every completion of a batch in one
//! callback and converts the results to Python objects there.

use std::cell::RefCell;
use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::IntoPyObjectExt;

use super::runtime;

/// Converts a finished operation's output to a Python object, on the event-loop thread.
pub type Deliver = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

/// The Python `None`, for operations that return nothing (`()` would convert to an empty tuple).
#[derive(Clone, Copy, Debug, Default)]
pub struct PyNone;

impl<'py> IntoPyObject<'py> for PyNone {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = std::convert::Infallible;

    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
        Ok(py.None().into_bound(py))
    }
}

/// Turns an operation result into a [`Deliver`] closure.
pub fn deliver<T, E>(result: Result<T, E>) -> Deliver
where
    T: for<'py> IntoPyObject<'py> + Send + 'static,
    E: Into<PyErr> + Send + 'static,
{
    Box::new(move |py| {
        let value = result.map_err(Into::into)?;
        value.into_py_any(py)
    })
}

struct Completion {
    future: Py<PyAny>,
    deliver: Deliver,
}

#[derive(Default)]
struct Queue {
    items: Vec<Completion>,
    notified: bool,
}

/// The completion queue of one event loop.
struct LoopBridge {
    queue: Mutex<Queue>,
    reader: UnixStream,
    writer: UnixStream,
}

impl LoopBridge {
    fn push(self: &Arc<Self>, completion: Completion) {
        let must_wake = {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            queue.items.push(completion);
            !std::mem::replace(&mut queue.notified, true)
        };
        if must_wake {
            // The loop is woken once the tasks ready on this thread have run, so that their
            // completions share one wake-up: tokio wakes a deferred waker after its run queue
            // is empty and the driver has been polled, or at its maintenance every 61 polls
            // (at once outside a runtime). Woken at once, the loop thread preempted the worker
            // on a busy host after each write: beside a busy loop, one worker measured 1.2
            // context switches and 29 µs of CPU per GET so, 0.38 and 23 µs deferred.
            let waker = Waker::from(self.clone());
            let mut deferred = std::pin::pin!(tokio::task::yield_now());
            let _ = deferred.as_mut().poll(&mut Context::from_waker(&waker));
        }
    }

    fn take(&self) -> Vec<Completion> {
        // Drain the socket first: a producer that writes after this point finds `notified` reset
        // below and writes again, so no completion waits without a wake-up.
        let mut buf = [0u8; 256];
        loop {
            match (&self.reader).read(&mut buf) {
                Ok(n) if n == buf.len() => continue,
                Ok(_) => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.notified = false;
        std::mem::take(&mut queue.items)
    }
}

/// The deferred wake-up of [`LoopBridge::push`]: one byte to the socket the loop watches.
impl Wake for LoopBridge {
    fn wake(self: Arc<Self>) {
        // A full socket buffer means a wake-up is already pending: nothing is lost.
        let _ = (&self.writer).write(&[1]);
    }
}

/// Sets the result (or exception) of one asyncio future, unless it was cancelled meanwhile.
fn resolve(py: Python<'_>, future: &Bound<'_, PyAny>, deliver: Deliver) -> PyResult<()> {
    if future.call_method0(intern!(py, "done"))?.is_truthy()? {
        return Ok(());
    }
    match deliver(py) {
        Ok(value) => future.call_method1(intern!(py, "set_result"), (value,))?,
        Err(err) => future.call_method1(intern!(py, "set_exception"), (err.into_value(py),))?,
    };
    Ok(())
}

/// The loop callback: resolves every queued completion.
#[pyclass(frozen, name = "_LoopWaker", module = "obstore._obstore")]
struct LoopWaker {
    bridge: Arc<LoopBridge>,
}

#[pymethods]
impl LoopWaker {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        for completion in self.bridge.take() {
            let future = completion.future.bind(py);
            if let Err(err) = resolve(py, future, completion.deliver) {
                // Never lose an error: hand it to the future if possible, else to the loop's handler.
                if future
                    .call_method1(
                        intern!(py, "set_exception"),
                        (err.clone_ref(py).into_value(py),),
                    )
                    .is_err()
                {
                    err.restore(py);
                    unsafe { pyo3::ffi::PyErr_WriteUnraisable(std::ptr::null_mut()) };
                }
            }
        }
        crate::buffer::release_deferred(py);
        Ok(())
    }
}

/// Done-callback of a pending call's future: aborts the tokio task when the future was cancelled.
#[pyclass(frozen, name = "_AbortOnCancel", module = "obstore._obstore")]
struct AbortOnCancel {
    task: tokio::task::AbortHandle,
}

#[pymethods]
impl AbortOnCancel {
    fn __call__(&self, py: Python<'_>, future: &Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0(intern!(py, "cancelled"))?.is_truthy()? {
            self.task.abort();
        }
        Ok(())
    }
}

struct CachedLoop {
    loop_ptr: usize,
    _loop: Py<PyAny>,
    bridge: Arc<LoopBridge>,
}

thread_local! {
    static CACHED: RefCell<Option<CachedLoop>> = const { RefCell::new(None) };
}

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The running event loop, or `RuntimeError: no running event loop`.
pub fn running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    GET_RUNNING_LOOP
        .get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            Ok(py.import("asyncio")?.getattr("get_running_loop")?.unbind())
        })?
        .bind(py)
        .call0()
}

const BRIDGE_ATTRIBUTE: &str = "_obstore_loop_waker";

fn bridge_for(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<LoopBridge>> {
    let loop_ptr = event_loop.as_ptr() as usize;
    let cached = CACHED.with(|cell| {
        cell.borrow()
            .as_ref()
            .filter(|c| c.loop_ptr == loop_ptr)
            .map(|c| c.bridge.clone())
    });
    if let Some(bridge) = cached {
        return Ok(bridge);
    }
    // A loop this thread used before keeps its waker as an attribute (when the loop allows one).
    let bridge = match event_loop.getattr(BRIDGE_ATTRIBUTE) {
        Ok(existing) => match existing.cast::<LoopWaker>() {
            Ok(waker) => waker.get().bridge.clone(),
            Err(_) => new_bridge(py, event_loop)?,
        },
        Err(_) => new_bridge(py, event_loop)?,
    };
    CACHED.with(|cell| {
        *cell.borrow_mut() = Some(CachedLoop {
            loop_ptr,
            _loop: event_loop.clone().unbind(),
            bridge: bridge.clone(),
        })
    });
    Ok(bridge)
}

fn new_bridge(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<LoopBridge>> {
    let (reader, writer) = UnixStream::pair()?;
    reader.set_nonblocking(true)?;
    writer.set_nonblocking(true)?;
    let bridge = Arc::new(LoopBridge {
        queue: Mutex::new(Queue::default()),
        reader,
        writer,
    });
    let waker = Bound::new(
        py,
        LoopWaker {
            bridge: bridge.clone(),
        },
    )?;
    event_loop.call_method1(
        intern!(py, "add_reader"),
        (bridge.reader.as_raw_fd(), waker.clone()),
    )?;
    let _ = event_loop.setattr(BRIDGE_ATTRIBUTE, waker);
    Ok(bridge)
}

/// How the first poll of an async call runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstPoll {
    /// Poll once on the calling thread without a tokio context (memory, local filesystem: the
    /// work then happens inline and the call usually completes without a thread hop).
    Inline,
    /// Poll once inside the runtime context, on the calling thread (local transfers and uploads
    /// that spawn tasks: the first poll is cheap and may finish the work).
    Runtime,
    /// Hand the future to the runtime without polling it here (network stores): request signing
    /// and the first send then happen on a worker, not on the event-loop thread under the GIL.
    Spawn,
}

/// A future that asyncio can await: it yields a value Python can take or an error that becomes
/// a Python exception, and runs on any thread.
pub trait PyFuture: Future<Output = Result<Self::Value, Self::Error>> + Send + 'static {
    /// What the asyncio future resolves to.
    type Value: for<'a> IntoPyObject<'a> + Send + 'static;
    /// What its exception is made from.
    type Error: Into<PyErr> + Send + 'static;
}

impl<F, T, E> PyFuture for F
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
    E: Into<PyErr> + Send + 'static,
{
    type Value = T;
    type Error = E;
}

/// Returns an `asyncio.Future` for `future`, which must be called on the event-loop thread.
pub fn future_into_py<'py>(
    py: Python<'py>,
    first_poll: FirstPoll,
    future: impl PyFuture,
) -> PyResult<Bound<'py, PyAny>> {
    let event_loop = running_loop(py)?;
    let py_future = event_loop.call_method0(intern!(py, "create_future"))?;
    // Errors become `PyErr` here so that a panic, on the first poll or later, resolves the
    // asyncio future with an exception instead of unwinding into the event loop (or leaving the
    // awaiter waiting forever).
    let mut boxed = Box::pin(super::catch_panics(async move {
        future.await.map_err(Into::<PyErr>::into)
    }));
    let mut cx = Context::from_waker(Waker::noop());
    let first = match first_poll {
        FirstPoll::Inline => boxed.as_mut().poll(&mut cx),
        FirstPoll::Runtime => {
            let _guard = runtime().enter();
            boxed.as_mut().poll(&mut cx)
        }
        FirstPoll::Spawn => Poll::Pending,
    };
    match first {
        Poll::Ready(result) => {
            resolve(py, &py_future, deliver(result))?;
        }
        Poll::Pending => {
            let bridge = bridge_for(py, &event_loop)?;
            let handle = py_future.clone().unbind();
            let task = runtime().spawn(async move {
                let delivered = deliver(boxed.await);
                bridge.push(Completion {
                    future: handle,
                    deliver: delivered,
                });
            });
            // Cancelling the asyncio future (task.cancel(), wait_for timeouts) stops the Rust work.
            let on_done = Bound::new(
                py,
                AbortOnCancel {
                    task: task.abort_handle(),
                },
            )?;
            py_future.call_method1(intern!(py, "add_done_callback"), (on_done,))?;
        }
    }
    Ok(py_future)
}

/// An `asyncio.Future` that is already resolved with `result` (for argument errors raised lazily).
pub fn ready_future<'py, T, E>(py: Python<'py>, result: Result<T, E>) -> PyResult<Bound<'py, PyAny>>
where
    T: for<'a> IntoPyObject<'a> + Send + 'static,
    E: Into<PyErr> + Send + 'static,
{
    let event_loop = running_loop(py)?;
    let py_future = event_loop.call_method0(intern!(py, "create_future"))?;
    resolve(py, &py_future, deliver(result))?;
    Ok(py_future)
}
