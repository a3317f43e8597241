//! Lanes: sync network calls done entirely on the calling thread.
//!
//! A lane is a single-threaded tokio runtime with its own HTTP connection pools (one per store
//! client). A sync call whose requests finish within the call (`head`, `get_range`, `put`, ...)
//! checks a lane out of a process-wide pool, drives its future on the calling thread, and puts the
//! lane back. Request, connection task and response then all live on one thread: no wake-up of a
//! runtime worker and back per request, which is what a pool of Python threads pays otherwise.
//!
//! Store clients are built with [`LaneConnector`]: their HTTP service sends through the lane's own
//! client when called inside a lane, and through the shared client (the multi-threaded runtime's)
//! everywhere else. Lanes are not used for calls that hand back a body to read later (`get`,
//! readers, list streams): a connection owned by a lane makes progress only while a call drives
//! that lane.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use async_trait::async_trait;
use object_store::client::HttpResponseBody;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse, HttpService,
};
use object_store::ClientOptions;
use pyo3::prelude::*;
use tokio::runtime::Runtime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use rustls::pki_types::CertificateDer;

use crate::runtime::{self, client, observe, polling};

/// Idle lanes kept for reuse; a lane returned beyond this is dropped.
const MAX_IDLE_LANES: usize = 64;

/// A single-threaded runtime and the HTTP clients built on it, one per store client.
pub(crate) struct Lane {
    runtime: Runtime,
    clients: RefCell<HashMap<usize, (Weak<()>, HttpClient)>>,
}

// SAFETY: a lane is used by one thread at a time (checked out of the pool, or the thread-local
// pointer while that thread drives it); `RefCell` is only touched during that use.
unsafe impl Send for Lane {}

impl Lane {
    fn new() -> std::io::Result<Self> {
        Ok(Self {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
            clients: RefCell::new(HashMap::new()),
        })
    }

    /// This lane's client for `service`, built on first use.
    fn client(&self, service: &LaneService) -> Result<HttpClient, HttpError> {
        let key = Arc::as_ptr(&service.identity) as usize;
        let mut clients = self.clients.borrow_mut();
        if let Some((identity, client)) = clients.get(&key) {
            if identity.strong_count() > 0 {
                return Ok(client.clone());
            }
        }
        clients.retain(|_, (identity, _)| identity.strong_count() > 0);
        let client = client::connect(&service.options, &service.roots)
            .map_err(|err| HttpError::new(HttpErrorKind::Unknown, err))?;
        clients.insert(key, (Arc::downgrade(&service.identity), client.clone()));
        Ok(client)
    }
}

/// The idle lanes of one process generation (a forked child starts a new pool: the parent's
/// connections are not its own).
struct Pool {
    generation: u64,
    /// Boxed: a lane (a runtime and its clients) moves in and out of the pool as one pointer.
    #[allow(clippy::vec_box)]
    idle: Mutex<Vec<Box<Lane>>>,
}

static POOL: runtime::PerGeneration<Pool> = runtime::PerGeneration::new();

fn pool() -> &'static Pool {
    POOL.get(|generation| Pool {
        generation,
        idle: Mutex::new(Vec::new()),
    })
}

impl Pool {
    fn checkout(&self) -> std::io::Result<Box<Lane>> {
        // A plain lock is fork-safe here: a child never locks its parent's pool (see `pool`).
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match idle {
            Some(lane) => Ok(lane),
            None => Lane::new().map(Box::new),
        }
    }

    fn checkin(&self, lane: Box<Lane>) {
        if runtime::generation() != self.generation {
            // Forked during the call: the lane's connections are shared with the parent.
            std::mem::forget(lane);
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE_LANES {
            idle.push(lane);
        }
    }
}

/// Marks the calling thread as driving `lane` until dropped.
struct Driving(*const Lane);

impl Driving {
    fn enter(lane: &Lane) -> Self {
        let lane: *const Lane = lane;
        Self(polling::set_lane(lane.cast()).cast())
    }
}

impl Drop for Driving {
    fn drop(&mut self) {
        polling::set_lane(self.0.cast());
    }
}

/// Sync network calls in flight that could have used a lane (driving one or not).
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Lanes are used while at most this many such calls are in flight: the number of cores. Beyond
/// that, threads doing their own I/O compete for the cores with each other, and runtime tasks
/// (whose workers batch the I/O of many calls) measured faster; see docs/performance.md.
fn max_in_flight() -> usize {
    static MAX: OnceLock<usize> = OnceLock::new();
    *MAX.get_or_init(|| runtime::SYNC_LANES.get(runtime::cores))
}

/// One sync call counted in [`IN_FLIGHT`] until dropped; `lane` says whether it may drive a lane.
pub struct Slot {
    /// Whether few enough calls are in flight for this one to drive a lane.
    pub lane: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Counts a sync call from this thread, and says whether it may drive a lane: not inside a tokio
/// runtime (a nested runtime cannot be driven there), not with `OBSTORE_SYNC_LANES=0`, and not
/// while more calls than cores are in flight.
pub fn slot() -> Slot {
    let in_flight = IN_FLIGHT.fetch_add(1, Ordering::AcqRel) + 1;
    Slot {
        lane: in_flight <= max_in_flight() && tokio::runtime::Handle::try_current().is_err(),
    }
}

/// Drives `future` to completion on a lane, on the calling thread, with the GIL released. On the
/// main thread, a pending KeyboardInterrupt (or any exception raised by a signal handler) stops
/// the call. The future must finish its requests (bodies included) before it completes.
pub fn block_on<F, T, E>(py: Python<'_>, _slot: Slot, future: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>> + Send,
    T: Send,
    E: From<PyErr> + Send,
{
    let pool = pool();
    let lane = match pool.checkout() {
        Ok(lane) => lane,
        Err(err) => {
            return Err(E::from(pyo3::exceptions::PyRuntimeError::new_err(format!(
                "could not start a runtime for this call: {err}"
            ))))
        }
    };
    let on_main_thread = runtime::is_main_thread();
    let blocked = runtime::BlockedThread::enter();
    let (lane, result) = py.detach(move || {
        let _driving = Driving::enter(&lane);
        let result = lane.runtime.block_on(async {
            // Let the lane's connection tasks see what happened since its last call (a server
            // that closed an idle connection) before a request picks a connection.
            tokio::task::yield_now().await;
            if on_main_thread {
                runtime::interruptible(runtime::catch_panics(future)).await
            } else {
                runtime::catch_panics(future).await
            }
        });
        drop(_driving);
        (lane, result)
    });
    drop(blocked);
    pool.checkin(lane);
    crate::buffer::release_deferred(py);
    result
}

/// An [`HttpConnector`] whose clients send through the calling lane's own client inside a lane,
/// and through one shared client otherwise. A client keeps at most `max_in_flight` requests in
/// flight, each counted until its response body is read or dropped (it holds a socket until
/// then); further requests wait for a place instead of opening more sockets than the process
/// may have.
#[derive(Debug, Clone)]
pub struct LaneConnector {
    max_in_flight: usize,
    /// The `root_certificate`s its clients trust.
    roots: Arc<[CertificateDer<'static>]>,
}

impl LaneConnector {
    /// A connector whose clients keep at most `max_in_flight` requests in flight and trust
    /// `roots` too.
    pub fn new(max_in_flight: usize, roots: Vec<CertificateDer<'static>>) -> Self {
        Self {
            max_in_flight: max_in_flight.clamp(1, Semaphore::MAX_PERMITS),
            roots: roots.into(),
        }
    }
}

impl HttpConnector for LaneConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        Ok(HttpClient::new(LaneService {
            shared: client::connect(options, &self.roots)?,
            options: options.clone(),
            roots: self.roots.clone(),
            identity: Arc::new(()),
            in_flight: Arc::new(Semaphore::new(self.max_in_flight)),
        }))
    }
}

#[derive(Debug)]
struct LaneService {
    shared: HttpClient,
    options: ClientOptions,
    roots: Arc<[CertificateDer<'static>]>,
    /// Identifies this service in the lanes' client maps (and tells them when it is gone).
    identity: Arc<()>,
    /// One permit per request in flight, held by its response body.
    in_flight: Arc<Semaphore>,
}

#[async_trait]
impl HttpService for LaneService {
    async fn call(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let permit = self
            .in_flight
            .clone()
            .acquire_owned()
            .await
            .map_err(|err| HttpError::new(HttpErrorKind::Unknown, err))?;
        // Read once, before the request is sent: the lane and scope of this poll.
        let (client, scope) = {
            let polling = polling::current();
            let client = match unsafe { polling.lane.cast::<Lane>().as_ref() } {
                None => self.shared.clone(),
                // SAFETY (above): the pointer is set only while this thread drives the lane (see
                // `block_on`), and this poll runs inside that drive.
                Some(lane) => lane.client(self)?,
            };
            (client, observe::scope_of(polling.scope.cast()))
        };
        let response = observe::execute(&client, req, scope).await?;
        Ok(response.map(|body| {
            HttpResponseBody::new(PermitBody {
                body,
                permit: Some(permit),
            })
        }))
    }
}

/// A response body that holds its request's place in flight until it ends or is dropped.
#[derive(Debug)]
struct PermitBody {
    body: HttpResponseBody,
    permit: Option<OwnedSemaphorePermit>,
}

impl http_body::Body for PermitBody {
    type Data = bytes::Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.body).poll_frame(cx);
        if matches!(polled, std::task::Poll::Ready(None | Some(Err(_)))) {
            self.permit = None;
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
