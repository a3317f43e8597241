//! A second runtime thread for a host whose cores other processes take.
//!
//! The default runtime has one worker fewer than the cores (see `worker_threads`). The kernel
//! shares a core per runnable thread, so beside a CPU-bound process that worker gets half a core
//! where two threads would get more; on a quiet host a second worker only preempts the event
//! loop and the server (docs/performance.md measures both). The worker count therefore follows
//! the host:
//!
//! - Each runtime worker reads its own `/proc/thread-self/schedstat` at most every [`WINDOW`]
//!   (one `pread`, when a request starts): the share of its runnable time it spent waiting for a
//!   core. On this 2-core machine, in 50 ms windows, that share measured 0–38% with 64 or 256
//!   GETs in flight on a quiet host (90% of windows under 20%, never two in a row at 30%), and
//!   beside a busy loop a median of 50% with 64 in flight and 36% with 256 (docs/performance.md).
//!   In 20 ms windows a quiet host reached 35% three times in a row often enough to spill in a
//!   quarter of `async_get_64`'s rounds, each then 25–40% slower.
//! - At [`ON_SHARE`] or more in [`WINDOWS_TO_SPILL`] windows in a row, new tasks alternate
//!   between the runtime and a spill thread, a single-threaded runtime driven forever. Its
//!   requests go through the store's one connection pool, so the sockets stay within the
//!   store's limit of requests in flight (a pool of its own measured 987 sockets for a limit of
//!   512); a connection it opens does its I/O on it.
//! - Every [`PROBE_EVERY`] spilling, one window sends everything to the runtime again and measures
//!   the share without the spill thread (which itself takes a core's share): below [`ON_SHARE`],
//!   spilling stops; the spill thread then stays parked and idle.
//!
//! Only with the default worker count: a count set by `OBSTORE_WORKER_THREADS` is kept as set.

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::future::Future;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::PerGeneration;

/// How long one measurement of a worker's waiting share lasts (at least).
pub const WINDOW: Duration = Duration::from_millis(50);
/// The waiting share at which the host counts as contended.
pub const ON_SHARE: f64 = 0.3;
/// Contended windows in a row before spilling starts (a single busy moment does not count).
pub const WINDOWS_TO_SPILL: u32 = 3;
/// How long spilling lasts before a window without the spill thread checks it is still needed.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);
/// A window in which the worker was runnable for less than this share of it says nothing.
const MIN_BUSY_SHARE: f64 = 0.1;

const OFF: u8 = 0;
const SPILLING: u8 = 1;
const PROBING: u8 = 2;

/// The spill state of one process generation.
struct Spill {
    /// [`OFF`], [`SPILLING`] or [`PROBING`].
    mode: AtomicU8,
    /// Contended windows in a row while [`OFF`].
    contended_windows: AtomicU64,
    /// When spilling last started or was confirmed, in ms since [`Spill::epoch`].
    spilling_since_ms: AtomicU64,
    /// Tasks spawned while spilling: odd ones go to the spill thread.
    spawned: AtomicU64,
    epoch: Instant,
    thread: OnceLock<Option<Handle>>,
}

static SPILL: PerGeneration<Spill> = PerGeneration::new();

fn spill() -> &'static Spill {
    SPILL.get(|_| Spill::new())
}

/// Whether the worker count follows the host (the default) or was set.
fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os(super::WORKER_THREADS.name).is_none())
}

/// Spawns `future` on the runtime, or on the spill thread every other time while spilling.
pub fn spawn<F>(runtime: &'static tokio::runtime::Runtime, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if enabled() {
        spawn_on(spill(), runtime, future)
    } else {
        runtime.spawn(future)
    }
}

/// [`spawn`] with the spill state `spill`. A task spawned from inside a runtime (a sync call
/// made by code obstore runs, such as a credential provider) stays on `runtime`: the spill thread
/// may be the one waiting for it.
fn spawn_on<F>(
    spill: &Spill,
    runtime: &'static tokio::runtime::Runtime,
    future: F,
) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if spill.mode.load(Ordering::Relaxed) == SPILLING
        && spill.spawned.fetch_add(1, Ordering::Relaxed) % 2 == 1
        && Handle::try_current().is_err()
    {
        if let Some(handle) = spill.handle() {
            return handle.spawn(future);
        }
    }
    runtime.spawn(future)
}

impl Spill {
    fn new() -> Self {
        Self {
            mode: AtomicU8::new(OFF),
            contended_windows: AtomicU64::new(0),
            spilling_since_ms: AtomicU64::new(0),
            spawned: AtomicU64::new(0),
            epoch: Instant::now(),
            thread: OnceLock::new(),
        }
    }

    /// The spill thread's runtime, started on first use (None if no thread could be started:
    /// the tasks then stay on the runtime).
    fn handle(&self) -> Option<&Handle> {
        self.thread.get_or_init(start_thread).as_ref()
    }

    /// Takes the waiting share of a window of a runtime worker that ended `now_ms` after
    /// [`Spill::epoch`]. Workers judge one at a time or at once: a lost update delays a change
    /// by one window at most.
    fn judge(&self, share: f64, now_ms: u64) {
        let contended = share >= ON_SHARE;
        match self.mode.load(Ordering::Relaxed) {
            OFF => {
                if !contended {
                    self.contended_windows.store(0, Ordering::Relaxed);
                } else if self.contended_windows.fetch_add(1, Ordering::Relaxed) + 1
                    >= u64::from(WINDOWS_TO_SPILL)
                {
                    self.contended_windows.store(0, Ordering::Relaxed);
                    self.spilling_since_ms.store(now_ms, Ordering::Relaxed);
                    self.mode.store(SPILLING, Ordering::Relaxed);
                }
            }
            SPILLING => {
                let since = self.spilling_since_ms.load(Ordering::Relaxed);
                if now_ms.saturating_sub(since) >= PROBE_EVERY.as_millis() as u64 {
                    self.mode.store(PROBING, Ordering::Relaxed);
                }
            }
            _ => {
                // The window just measured ran without the spill thread.
                if contended {
                    self.spilling_since_ms.store(now_ms, Ordering::Relaxed);
                    self.mode.store(SPILLING, Ordering::Relaxed);
                } else {
                    self.mode.store(OFF, Ordering::Relaxed);
                }
            }
        }
    }
}

/// Starts the spill thread: a single-threaded runtime driven until the process ends.
fn start_thread() -> Option<Handle> {
    let (sender, receiver) = mpsc::sync_channel(1);
    let started = std::thread::Builder::new()
        .name("obstore-spill".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(_) => {
                    let _ = sender.send(None);
                    return;
                }
            };
            let _ = sender.send(Some(runtime.handle().clone()));
            runtime.block_on(std::future::pending::<()>());
        });
    started.ok()?;
    receiver.recv().ok().flatten()
}

/// What a runtime worker thread last read of its own scheduling.
struct Sample {
    file: File,
    at: Instant,
    running_ns: u64,
    waiting_ns: u64,
}

thread_local! {
    /// Whether this thread is a worker of the shared runtime (set when the runtime starts it).
    static WORKER: Cell<bool> = const { Cell::new(false) };
    static LAST: RefCell<Option<Sample>> = const { RefCell::new(None) };
}

/// Marks the calling thread as one of the shared runtime's threads (its `on_thread_start`).
pub(crate) fn mark_worker() {
    WORKER.with(|worker| worker.set(true));
}

/// Called as a request starts: on a runtime worker, measures the last window once it is over.
pub(crate) fn tick() {
    if !WORKER.with(Cell::get) || !enabled() {
        return;
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        let now = Instant::now();
        if let Some(sample) = last.as_ref() {
            if now.duration_since(sample.at) < WINDOW {
                return;
            }
        }
        let Some(sample) = last.take() else {
            *last = first_sample();
            return;
        };
        let Some((running_ns, waiting_ns)) = read_schedstat(&sample.file) else {
            return;
        };
        let wall_ns = now.duration_since(sample.at).as_nanos() as f64;
        let ran = running_ns.saturating_sub(sample.running_ns) as f64;
        let waited = waiting_ns.saturating_sub(sample.waiting_ns) as f64;
        if ran + waited >= MIN_BUSY_SHARE * wall_ns {
            let spill = spill();
            spill.judge(
                waited / (ran + waited),
                now.duration_since(spill.epoch).as_millis() as u64,
            );
        }
        *last = Some(Sample {
            file: sample.file,
            at: now,
            running_ns,
            waiting_ns,
        });
    });
}

fn first_sample() -> Option<Sample> {
    let file = File::open("/proc/thread-self/schedstat").ok()?;
    let (running_ns, waiting_ns) = read_schedstat(&file)?;
    Some(Sample {
        file,
        at: Instant::now(),
        running_ns,
        waiting_ns,
    })
}

/// The thread's time on a core and its time runnable but waiting for one, in ns.
fn read_schedstat(file: &File) -> Option<(u64, u64)> {
    let mut buf = [0u8; 96];
    let n = file.read_at(&mut buf, 0).ok()?;
    let text = std::str::from_utf8(&buf[..n]).ok()?;
    let mut fields = text.split_ascii_whitespace().map(str::parse::<u64>);
    Some((fields.next()?.ok()?, fields.next()?.ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUIET: f64 = 0.1;
    const BUSY: f64 = 0.5;

    fn mode(spill: &Spill) -> u8 {
        spill.mode.load(Ordering::Relaxed)
    }

    #[test]
    fn spills_after_contended_windows_in_a_row_only() {
        let spill = Spill::new();
        let mut now = 0;
        for _ in 1..WINDOWS_TO_SPILL {
            now += 20;
            spill.judge(BUSY, now);
        }
        // A quiet window between busy ones starts the count again.
        spill.judge(QUIET, now + 20);
        for _ in 1..WINDOWS_TO_SPILL {
            now += 20;
            spill.judge(BUSY, now);
        }
        assert_eq!(mode(&spill), OFF);
        spill.judge(BUSY, now + 20);
        assert_eq!(mode(&spill), SPILLING);
    }

    #[test]
    fn spilling_is_probed_and_stops_on_a_quiet_host() {
        let spill = Spill::new();
        for n in 1..=u64::from(WINDOWS_TO_SPILL) {
            spill.judge(BUSY, n * 20);
        }
        let start = spill.spilling_since_ms.load(Ordering::Relaxed);
        let probe_at = start + PROBE_EVERY.as_millis() as u64;
        // While spilling, the share says nothing (the spill thread takes a share itself).
        spill.judge(QUIET, probe_at - 1);
        assert_eq!(mode(&spill), SPILLING);
        spill.judge(BUSY, probe_at);
        assert_eq!(mode(&spill), PROBING);
        // Still contended without the spill thread: spilling goes on, probed again later.
        spill.judge(BUSY, probe_at + 20);
        assert_eq!(mode(&spill), SPILLING);
        spill.judge(BUSY, probe_at + 20 + PROBE_EVERY.as_millis() as u64);
        assert_eq!(mode(&spill), PROBING);
        spill.judge(QUIET, probe_at + 40 + PROBE_EVERY.as_millis() as u64);
        assert_eq!(mode(&spill), OFF);
    }

    #[test]
    fn schedstat_is_read_from_the_thread_itself() {
        let file = File::open("/proc/thread-self/schedstat").expect("schedstat");
        let (running, _) = read_schedstat(&file).expect("two numbers");
        let spin = Instant::now();
        while spin.elapsed() < Duration::from_millis(5) {
            std::hint::black_box(0);
        }
        let (later, _) = read_schedstat(&file).expect("two numbers");
        assert!(later > running, "{later} <= {running}");
    }

    fn thread_name() -> Option<String> {
        std::thread::current().name().map(str::to_owned)
    }

    #[test]
    fn spilling_alternates_tasks_from_outside_a_runtime_only() {
        let runtime: &'static tokio::runtime::Runtime = Box::leak(Box::new(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("test-runtime")
                .build()
                .expect("a runtime"),
        ));
        let spill: &'static Spill = Box::leak(Box::new(Spill::new()));
        fn ran_on<T>(task: JoinHandle<T>) -> T {
            futures::executor::block_on(task).expect("the task ran")
        }
        let outside: Vec<_> = (0..4)
            .map(|_| ran_on(spawn_on(spill, runtime, async { thread_name() })))
            .collect();
        assert_eq!(outside, vec![Some("test-runtime".to_owned()); 4]);

        spill.mode.store(SPILLING, Ordering::Relaxed);
        let outside: Vec<_> = (0..4)
            .map(|_| ran_on(spawn_on(spill, runtime, async { thread_name() })))
            .collect();
        let spilled = outside
            .iter()
            .filter(|name| name.as_deref() == Some("obstore-spill"))
            .count();
        assert_eq!(spilled, 2, "{outside:?}");

        // From a task on the spill thread (as a nested sync call would), never onto itself.
        let handle = spill.handle().expect("a spill thread").clone();
        let nested = ran_on(handle.spawn(async move {
            let mut names = Vec::new();
            for _ in 0..4 {
                let task = spawn_on(spill, runtime, async { thread_name() });
                names.push(task.await.expect("the nested task ran"));
            }
            names
        }));
        assert_eq!(nested, vec![Some("test-runtime".to_owned()); 4]);
    }

    #[test]
    fn spill_tasks_send_through_the_shared_clients() {
        let spill = Spill::new();
        let handle = spill.handle().expect("a spill thread").clone();
        let (name, on_lane) = futures::executor::block_on(handle.spawn(async {
            (
                thread_name(),
                !super::super::polling::current().lane.is_null(),
            )
        }))
        .expect("the task ran");
        assert_eq!(name.as_deref(), Some("obstore-spill"));
        // One connection pool per store client keeps the sockets within its limit of requests
        // in flight: a pool of the spill thread's own would hold idle sockets of its own.
        assert!(
            !on_lane,
            "a spill task must send through the store's shared client"
        );
    }
}
