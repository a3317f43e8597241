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

use std::fs::{File, FileTimes, OpenOptions};
use std::ops::Range;
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use object_store::{GetOptions, GetRange, GetResultPayload, ObjectMeta};
use obstore_stores::{AnyStore, Executor, ObstoreError, ObstoreResult, PyPath};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use tokio::task::JoinSet;

use crate::body::checked_stream;
use crate::convert::meta_to_dict;
use crate::get::{get_result, PyGetOptions};

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
    /// Writes `data`, byte `at` of the object, in place.
    fn write(&self, at: u64, data: &[u8]) -> ObstoreResult<()> {
        let position = self.offset + (at - self.start);
        self.file.write_all_at(data, position).map_err(|err| {
            io_context(err, format!("cannot write {} bytes to {}", data.len(), self.name))
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
    while written < len {
        let Some(chunk) = stream.next().await.transpose()? else {
            break;
        };
        let take = (chunk.len() as u64).min(len - written);
        sink.write(range.start + written, &chunk[..take as usize])?;
        written += take;
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

/// The options every part after the first is fetched with: the same object version as the first
/// (as `get_parallel` pins its parts).
fn part_options(first: &GetOptions, meta: &ObjectMeta, range: Range<u64>) -> GetOptions {
    GetOptions {
        if_match: meta.e_tag.clone().or_else(|| first.if_match.clone()),
        if_unmodified_since: first.if_unmodified_since,
        version: first.version.clone().or_else(|| meta.version.clone()),
        range: Some(GetRange::Bounded(range)),
        ..GetOptions::default()
    }
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

/// A temporary file beside the destination: removed when dropped uncommitted (a failure, or the
/// download's future dropped on cancellation).
struct TempFile {
    temp: Option<PathBuf>,
    destination: PathBuf,
}

impl TempFile {
    /// Creates `temp` (never an existing file), and its directories when missing.
    fn create(temp: PathBuf, destination: PathBuf) -> ObstoreResult<(Self, File)> {
        let open = || {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o666)
                .open(&temp)
        };
        let file = match open() {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = temp.parent() {
                    std::fs::create_dir_all(parent).map_err(|err| {
                        io_context(err, format!("cannot create {}", parent.display()))
                    })?;
                }
                open()
            }
            other => other,
        }
        .map_err(|err| io_context(err, format!("cannot create {}", temp.display())))?;
        Ok((
            Self {
                temp: Some(temp),
                destination,
            },
            file,
        ))
    }

    /// Gives the file the modification (and access) time `mtime` and renames it onto the
    /// destination.
    fn commit(mut self, file: &File, mtime: SystemTime) -> ObstoreResult<()> {
        let temp = self.temp.take().expect("committed once");
        let result = file
            .set_times(FileTimes::new().set_accessed(mtime).set_modified(mtime))
            .map_err(|err| io_context(err, format!("cannot set the times of {}", temp.display())))
            .and_then(|()| {
                std::fs::rename(&temp, &self.destination).map_err(|err| {
                    io_context(
                        err,
                        format!(
                            "cannot rename {} to {}",
                            temp.display(),
                            self.destination.display()
                        ),
                    )
                })
            });
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = std::fs::remove_file(temp);
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
            target.get_type().name().map(|n| n.to_string()).unwrap_or_default()
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
