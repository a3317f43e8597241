//! `_download_into_async`: an object (or a byte range of it) written into a local file by the
//! runtime, every body chunk written with `pwrite` where it arrives, with the GIL released and
//! no Python per chunk. The private core of `obstore.transfer`'s downloads.
//!
//! Two targets:
//! - a file descriptor (`int`): the bytes go at `offset` in it, through a duplicate of the
//!   descriptor (the caller's may be closed meanwhile: its number is never written to);
//! - a destination path with a temporary path beside it: the temporary file is created (its
//!   directories too when missing), filled, given the object's modification time and renamed
//!   onto the destination. Until then nothing has the destination's name; a failed or
//!   cancelled download removes the temporary file.
//!
//! With `part_size`, a network object comes in ranged GETs of that size, up to
//! `max_concurrency` at once, each written in place: the first response tells the size, ETag
//! and version, and every other part is pinned to them (`If-Match`, version), so a change of
//! the object during the download fails with `PreconditionError` instead of mixing versions.
//!
//! Cancelling (dropping the future) stops every request at once; a chunk being copied into the
//! file on the blocking pool at that moment still lands (at most one per part in flight).

use std::fs::{File, FileTimes, OpenOptions};
use std::ops::Range;
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::StreamExt;
use object_store::{GetOptions, GetRange, GetResultPayload, ObjectMeta};
use obstore_stores::{AnyStore, Executor, ObstoreError, ObstoreResult, PyPath};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use tokio::task::JoinSet;

use crate::body::checked_stream;
use crate::convert::meta_to_dict;
use crate::download::part_options;
use crate::get::{get_result, PyGetOptions};

/// Writes from this size on go to the blocking pool (see [`Sink::write`]).
const BLOCKING_WRITE: usize = 64 * 1024;

/// A body is written in batches of chunks of about this many bytes (see [`Sink::write`]).
const WRITE_BATCH: u64 = 1024 * 1024;

/// Local files copy this much per `copy_file_range` call.
const LOCAL_COPY_CHUNK: u64 = 8 * 1024 * 1024;

/// A byte count shared with the runtime: every chunk written is added as it lands, and Python
/// takes what has accumulated when it reports progress (so no callback runs off its thread).
#[pyclass(name = "_ByteCounter", module = "obstore._obstore", frozen)]
pub struct ByteCounter(Arc<AtomicU64>);

#[pymethods]
impl ByteCounter {
    #[new]
    fn new() -> Self {
        Self(Arc::new(AtomicU64::new(0)))
    }

    /// The bytes counted since the last call.
    fn take(&self) -> u64 {
        self.0.swap(0, Ordering::Relaxed)
    }
}

/// Where the bytes go, and how to report a failure to write them.
#[derive(Clone)]
struct Sink {
    file: Arc<File>,
    /// The file offset of the first byte of the object's range.
    offset: u64,
    /// The first byte of the object's range.
    start: u64,
    /// The file's name in messages (a path, or `fd N`).
    name: Arc<str>,
    counter: Option<Arc<AtomicU64>>,
}

impl Sink {
    /// Writes `chunks`, the bytes from byte `at` of the object on, in place: on the blocking
    /// pool from [`BLOCKING_WRITE`] bytes on, else on the calling thread. The runtime has few
    /// workers (one on 2 cores), and a copy into the page cache costs about as much CPU as
    /// receiving the bytes (and can wait for writeback): done inline, large downloads measured
    /// one core's worth of throughput and a wall time well above s5cmd's. Small bodies are not
    /// worth the hand-off, and large ones go in batches of [`WRITE_BATCH`] bytes: a hand-off
    /// per network chunk (about 370 KiB) measured 5 futex calls each.
    async fn write(&self, at: u64, chunks: Vec<Bytes>) -> ObstoreResult<()> {
        let total: usize = chunks.iter().map(Bytes::len).sum();
        if total < BLOCKING_WRITE || tokio::runtime::Handle::try_current().is_err() {
            return self.write_all_here(at, &chunks);
        }
        let sink = self.clone();
        tokio::task::spawn_blocking(move || sink.write_all_here(at, &chunks))
            .await
            .map_err(|err| ObstoreError::Store(object_store::Error::from(err)))?
    }

    fn write_all_here(&self, mut at: u64, chunks: &[Bytes]) -> ObstoreResult<()> {
        for chunk in chunks {
            self.write_here(at, chunk)?;
            at += chunk.len() as u64;
        }
        Ok(())
    }

    fn write_here(&self, at: u64, data: &[u8]) -> ObstoreResult<()> {
        let position = self.offset + (at - self.start);
        self.file.write_all_at(data, position).map_err(|err| {
            io_context(
                err,
                format!("cannot write {} bytes to {}", data.len(), self.name),
            )
        })?;
        self.count(data.len() as u64);
        Ok(())
    }

    fn count(&self, n: u64) {
        if let Some(counter) = &self.counter {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// `err` with `context` in front of its message, its kind kept (so the `OSError` subclass).
fn io_context(err: std::io::Error, context: String) -> ObstoreError {
    ObstoreError::Io(std::io::Error::new(err.kind(), format!("{context}: {err}")))
}

/// Writes the body of `result` (whose range starts at or after the sink's start); with `limit`,
/// stops after that many bytes and drops the rest of the body. The number of bytes written.
async fn write_result(
    result: object_store::GetResult,
    sink: &Sink,
    limit: Option<u64>,
) -> ObstoreResult<u64> {
    let range = result.range.clone();
    let len = limit.unwrap_or(range.end - range.start);
    if let GetResultPayload::File(source, path) = result.payload {
        return copy_local(source, path, range.start, len, sink.clone()).await;
    }
    let mut stream = checked_stream(result);
    let mut written = 0;
    let mut batch = Vec::new();
    let mut batch_start = range.start;
    while written < len {
        let Some(chunk) = stream.next().await.transpose()? else {
            break;
        };
        let take = (chunk.len() as u64).min(len - written);
        batch.push(chunk.slice(..take as usize));
        written += take;
        let end = range.start + written;
        if end - batch_start >= WRITE_BATCH {
            sink.write(batch_start, std::mem::take(&mut batch)).await?;
            batch_start = end;
        }
    }
    if !batch.is_empty() {
        sink.write(batch_start, batch).await?;
    }
    if written != len {
        return Err(ObstoreError::generic(format!(
            "received {written} of the {len} bytes of {} at offset {}",
            sink.name, range.start
        )));
    }
    Ok(written)
}

/// A range of a local file (a `LocalStore` object) into the sink by `copy_file_range` (the
/// kernel copies, or shares the blocks), on the blocking pool.
async fn copy_local(
    source: File,
    path: PathBuf,
    start: u64,
    len: u64,
    sink: Sink,
) -> ObstoreResult<u64> {
    let copy = move || -> ObstoreResult<u64> {
        use std::os::fd::AsRawFd;
        let mut done = 0u64;
        while done < len {
            let mut from = (start + done) as libc::loff_t;
            let mut to = (sink.offset + (start + done - sink.start)) as libc::loff_t;
            let want = (len - done).min(LOCAL_COPY_CHUNK) as usize;
            // SAFETY: two open descriptors and offsets owned by this call.
            let copied = unsafe {
                libc::copy_file_range(
                    source.as_raw_fd(),
                    &mut from,
                    sink.file.as_raw_fd(),
                    &mut to,
                    want,
                    0,
                )
            };
            if copied < 0 {
                return Err(io_context(
                    std::io::Error::last_os_error(),
                    format!("cannot copy {} into {}", path.display(), sink.name),
                ));
            }
            if copied == 0 {
                return Err(ObstoreError::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("{} ended after {done} of {len} bytes", path.display()),
                )));
            }
            done += copied as u64;
            sink.count(copied as u64);
        }
        Ok(done)
    };
    tokio::task::spawn_blocking(copy)
        .await
        .map_err(|err| ObstoreError::Store(object_store::Error::from(err)))?
}

/// One part after the first: a ranged GET, checked to answer exactly `range`.
async fn fetch_part(
    store: AnyStore,
    path: object_store::path::Path,
    options: GetOptions,
    range: Range<u64>,
    sink: Sink,
) -> ObstoreResult<u64> {
    let result = store.inner.get_opts(&path, options).await?;
    if result.range != range {
        return Err(ObstoreError::generic(format!(
            "asked for bytes {range:?} of {path}, the server sent {:?}",
            result.range
        )));
    }
    write_result(result, &sink, None).await
}

/// How the object comes: in one GET, or in parts.
#[derive(Clone, Copy)]
struct Parts {
    size: Option<u64>,
    max_concurrency: usize,
}

/// What a download did: the object's metadata and the bytes written.
pub struct Downloaded {
    meta: ObjectMeta,
    range: Range<u64>,
}

impl<'py> IntoPyObject<'py> for Downloaded {
    type Target = pyo3::types::PyTuple;
    type Output = Bound<'py, pyo3::types::PyTuple>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let meta = meta_to_dict(py, &self.meta)?;
        (meta, self.range.end - self.range.start).into_pyobject(py)
    }
}

/// The file being downloaded, not yet under the destination's name.
///
/// Where the filesystem can (Linux, `O_TMPFILE`), it has no name at all until complete: it is
/// then linked under the destination's name, so nothing is ever visible half-written, and a
/// failed, cancelled or killed download leaves nothing behind. A temporary name beside the
/// destination serves otherwise, and when the destination exists already (a link never
/// replaces a file; the rename from the temporary name does, in one step).
/// Measured on ext4 with 10,000 files of 16 KiB: the kernel's share of creating a file is
/// most of a small download's CPU, and a link instead of a named file and a rename saves
/// one directory insertion and one removal per file.
struct TempFile {
    /// Whether the file has a name yet; `None` once committed.
    named: Option<bool>,
    temp: PathBuf,
    destination: PathBuf,
}

/// Whether `/proc/self/fd` exists: the way to link an anonymous file without privileges.
fn proc_fd_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| std::path::Path::new("/proc/self/fd").is_dir())
}

impl TempFile {
    /// Creates the file in the destination's directory (and the directories when missing):
    /// anonymous where possible, else under `temp` (never an existing file).
    fn create(temp: PathBuf, destination: PathBuf) -> ObstoreResult<(Self, File)> {
        let directory = match destination.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let anonymous = || {
            OpenOptions::new()
                .write(true)
                .mode(0o666)
                .custom_flags(libc::O_TMPFILE)
                .open(&directory)
        };
        let named = || {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o666)
                .open(&temp)
        };
        let open = || -> std::io::Result<(bool, File)> {
            if proc_fd_available() {
                match anonymous() {
                    Ok(file) => return Ok((false, file)),
                    // Filesystems without O_TMPFILE answer EOPNOTSUPP (older kernels EISDIR or
                    // EINVAL); a missing directory is NotFound, for the caller to handle.
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(err),
                    Err(_) => {}
                }
            }
            named().map(|file| (true, file))
        };
        let (is_named, file) = match open() {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&directory).map_err(|err| {
                    io_context(err, format!("cannot create {}", directory.display()))
                })?;
                open()
            }
            other => other,
        }
        .map_err(|err| io_context(err, format!("cannot create {}", temp.display())))?;
        Ok((
            Self {
                named: Some(is_named),
                temp,
                destination,
            },
            file,
        ))
    }

    /// Gives the file the modification (and access) time `mtime` and puts it under the
    /// destination's name.
    fn commit(mut self, file: &File, mtime: SystemTime) -> ObstoreResult<()> {
        let named = self.named.take().expect("committed once");
        file.set_times(FileTimes::new().set_accessed(mtime).set_modified(mtime))
            .map_err(|err| {
                io_context(
                    err,
                    format!("cannot set the times of {}", self.destination.display()),
                )
            })?;
        if !named {
            match link_anonymous(file, &self.destination) {
                Ok(()) => return Ok(()),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    link_anonymous(file, &self.temp).map_err(|err| {
                        io_context(err, format!("cannot create {}", self.temp.display()))
                    })?;
                }
                Err(err) => {
                    return Err(io_context(
                        err,
                        format!("cannot create {}", self.destination.display()),
                    ))
                }
            }
        }
        std::fs::rename(&self.temp, &self.destination).map_err(|err| {
            let _ = std::fs::remove_file(&self.temp);
            io_context(
                err,
                format!(
                    "cannot rename {} to {}",
                    self.temp.display(),
                    self.destination.display()
                ),
            )
        })
    }
}

/// Gives the anonymous (`O_TMPFILE`) `file` the name `path`; fails if `path` exists.
fn link_anonymous(file: &File, path: &std::path::Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let from = std::ffi::CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
    let to = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: two NUL-terminated paths that outlive the call.
    let done = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if done == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

impl Drop for TempFile {
    /// An uncommitted named file is removed; an anonymous one goes with its last descriptor.
    fn drop(&mut self) {
        if self.named == Some(true) {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// The object's modification time as the transfer planner sees it: whole microseconds (what a
/// Python `datetime` holds), so that a later sync finds the file up to date.
fn planner_time(meta: &ObjectMeta) -> SystemTime {
    let micros = meta.last_modified.timestamp_micros();
    if micros >= 0 {
        UNIX_EPOCH + Duration::from_micros(micros as u64)
    } else {
        UNIX_EPOCH - Duration::from_micros(micros.unsigned_abs())
    }
}

/// Where the bytes go, before the first response (the temporary file is created only once the
/// object is known to exist).
enum Destination {
    Fd { fd: RawFd, file: File, offset: u64 },
    Path { temp: PathBuf, destination: PathBuf },
}

async fn download_into(
    store: AnyStore,
    path: PyPath,
    destination: Destination,
    options: GetOptions,
    parts: Parts,
    counter: Option<Arc<AtomicU64>>,
) -> ObstoreResult<Downloaded> {
    let in_parts = parts.size.filter(|_| store.executor == Executor::Runtime);
    let first_options = match in_parts {
        Some(size) => GetOptions {
            range: Some(GetRange::Bounded(0..size)),
            ..options.clone()
        },
        None => options.clone(),
    };
    let first = get_result(&store, &path, first_options).await?;
    let meta = first.meta.clone();
    // The range of the object to write: what the response covers, or the whole object in parts.
    let range = match in_parts {
        Some(_) => 0..meta.size,
        None => first.range.clone(),
    };
    let (guard, file, offset, name) = match destination {
        Destination::Fd { fd, file, offset } => (None, Arc::new(file), offset, format!("fd {fd}")),
        Destination::Path { temp, destination } => {
            let name = temp.display().to_string();
            let (guard, file) = TempFile::create(temp, destination)?;
            if in_parts.is_some() {
                // The final length at once: the parts fill it in any order.
                file.set_len(meta.size)
                    .map_err(|err| io_context(err, format!("cannot size {name}")))?;
            }
            (Some(guard), Arc::new(file), 0, name)
        }
    };
    let sink = Sink {
        file: file.clone(),
        offset,
        start: range.start,
        name: name.into(),
        counter,
    };
    match in_parts {
        None => {
            write_result(first, &sink, None).await?;
        }
        Some(part_size) => {
            write_parts(&store, first, &options, &meta, part_size, parts, &sink).await?;
        }
    }
    if let Some(guard) = guard {
        let mtime = planner_time(&meta);
        guard.commit(&file, mtime)?;
    }
    Ok(Downloaded { meta, range })
}

/// The first part's body and every other part, at most `max_concurrency` at once, each as a
/// runtime task (the copies spread over the worker threads). The first failure aborts the rest.
async fn write_parts(
    store: &AnyStore,
    first: object_store::GetResult,
    options: &GetOptions,
    meta: &ObjectMeta,
    part_size: u64,
    parts: Parts,
    sink: &Sink,
) -> ObstoreResult<()> {
    let size = meta.size;
    let first_len = first.range.end - first.range.start;
    if first.range.start != 0 || first_len != part_size.min(size) {
        return Err(ObstoreError::generic(format!(
            "asked for bytes 0..{} of {}, the server sent {:?}",
            part_size.min(size),
            meta.location,
            first.range
        )));
    }
    let mut tasks = JoinSet::new();
    {
        let sink = sink.clone();
        tasks.spawn(async move { write_result(first, &sink, None).await });
    }
    let mut next = first_len;
    loop {
        while next < size && tasks.len() < parts.max_concurrency {
            let end = (next + part_size).min(size);
            tasks.spawn(fetch_part(
                store.clone(),
                meta.location.clone(),
                part_options(options, meta, next..end),
                next..end,
                sink.clone(),
            ));
            next = end;
        }
        match tasks.join_next().await {
            None => return Ok(()),
            Some(Ok(Ok(_))) => {}
            // Dropping the set aborts the other parts.
            Some(Ok(Err(err))) => return Err(err),
            Some(Err(err)) => return Err(ObstoreError::Store(object_store::Error::from(err))),
        }
    }
}

/// A duplicate of the caller's descriptor `fd`, owned by the download.
fn duplicate(fd: RawFd) -> PyResult<File> {
    // SAFETY: F_DUPFD_CLOEXEC on any integer either fails or returns a new descriptor we own.
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if copy < 0 {
        let err = std::io::Error::last_os_error();
        return Err(PyOSError::new_err((
            err.raw_os_error().unwrap_or(0),
            format!("fd {fd} is not an open file descriptor: {err}"),
        )));
    }
    // SAFETY: `copy` is a fresh descriptor owned by nothing else.
    Ok(unsafe { File::from_raw_fd(copy) })
}

/// The `target` argument: a descriptor, or a destination path (with `temp`).
fn destination(
    target: &Bound<'_, PyAny>,
    temp: Option<PathBuf>,
    offset: u64,
) -> PyResult<Destination> {
    if let Ok(fd) = target.extract::<RawFd>() {
        if temp.is_some() {
            return Err(PyValueError::new_err(
                "temp is for a destination path, not a file descriptor",
            ));
        }
        return Ok(Destination::Fd {
            fd,
            file: duplicate(fd)?,
            offset,
        });
    }
    let destination: PathBuf = target.extract().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(format!(
            "target must be a file descriptor (int) or a path, not '{}'",
            target
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    let Some(temp) = temp else {
        return Err(PyValueError::new_err(format!(
            "a temporary path beside {} is needed (temp=)",
            destination.display()
        )));
    };
    if offset != 0 {
        return Err(PyValueError::new_err(
            "offset is for a file descriptor: a destination path is written from its start",
        ));
    }
    if temp.parent() != destination.parent() || temp == destination {
        return Err(PyValueError::new_err(format!(
            "temp {} must be another name in the directory of {}",
            temp.display(),
            destination.display()
        )));
    }
    Ok(Destination::Path { temp, destination })
}

/// Downloads the object `path` of `store` (or the range in `options`) into `target`: a file
/// descriptor, written from `offset`, or a destination path, written through `temp` and renamed
/// once complete with the object's modification time. Returns `(meta, bytes written)`.
/// `part_size` fetches a network object in ranged GETs of that size (no range in `options`
/// then), `max_concurrency` at once. `counter` (a `_ByteCounter`) counts the bytes as written.
#[pyfunction]
#[pyo3(signature = (store, path, target, *, temp = None, offset = 0, options = None, part_size = None, max_concurrency = 8, counter = None))]
#[allow(clippy::too_many_arguments)]
pub fn _download_into_async<'py>(
    py: Python<'py>,
    store: AnyStore,
    path: PyPath,
    target: &Bound<'py, PyAny>,
    temp: Option<PathBuf>,
    offset: u64,
    options: Option<PyGetOptions>,
    part_size: Option<u64>,
    max_concurrency: usize,
    counter: Option<Bound<'py, ByteCounter>>,
) -> PyResult<Bound<'py, PyAny>> {
    let options = options.unwrap_or_default().0;
    if options.head {
        return Err(PyValueError::new_err(
            "a download reads the body: GetOptions[\"head\"] must not be True",
        ));
    }
    if part_size == Some(0) {
        return Err(PyValueError::new_err("part_size must be at least 1"));
    }
    if max_concurrency == 0 {
        return Err(PyValueError::new_err("max_concurrency must be at least 1"));
    }
    if part_size.is_some() && options.range.is_some() {
        return Err(PyValueError::new_err(
            "part_size downloads the whole object: GetOptions[\"range\"] must not be given with it",
        ));
    }
    let destination = destination(target, temp, offset)?;
    let counter = counter.map(|counter| counter.get().0.clone());
    let parts = Parts {
        size: part_size,
        max_concurrency,
    };
    let future = download_into(store.clone(), path, destination, options, parts, counter);
    // Every target is a local file: in-process stores run on the runtime too, never on the
    // event loop's thread.
    store.into_py_future_runtime(py, future)
}

/// Adds the download function and its counter class to the module.
pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<ByteCounter>()?;
    module.add_function(wrap_pyfunction!(_download_into_async, module)?)
}
