//! `LocalStore`: a directory of the local filesystem as an object store, following symbolic links
//! wherever they lead, or, with `allow_symlinks_outside=False`, confined to the directory by
//! [`ConfinedRoot`].

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Component, PathBuf};
use std::sync::Arc;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ListResult, ObjectMeta, ObjectStore, Result};
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};

use super::context::{Confinement, ContextStore, StoreLabel};
use super::handle::{AnyStore, Executor};
use super::NewArgs;
use crate::config::bad_url;
use crate::error::ObstoreError;

#[doc = crate::pydoc!(LocalStore)]
#[pyclass(name = "LocalStore", module = "obstore._store", subclass, frozen)]
#[derive(Debug)]
pub struct PyLocalStore {
    /// The filesystem store (confined when asked), its errors naming the directory's URL.
    inner: Arc<dyn ObjectStore>,
    prefix: Option<PathBuf>,
    automatic_cleanup: bool,
    mkdir: bool,
    allow_symlinks_outside: bool,
}

impl PyLocalStore {
    /// The handle operations use.
    pub fn any_store(&self) -> AnyStore {
        AnyStore {
            inner: self.inner.clone(),
            executor: Executor::LocalFiles,
        }
    }
}

/// The `file://` URL of a directory, for error messages.
fn directory_url(directory: Option<&std::path::Path>) -> String {
    match directory {
        Some(dir) => url::Url::from_file_path(dir)
            .map(String::from)
            .unwrap_or_else(|_| format!("file://{}", dir.display())),
        None => "file:///".to_string(),
    }
}

/// The reason a `file://` URL has no directory: an empty path segment, which a filesystem path
/// would silently drop, is refused as `object_store`'s URL parsing refuses it.
fn check_url_path(url: &str, parsed: &url::Url) -> PyResult<()> {
    if let Some(segments) = parsed.path_segments() {
        let segments: Vec<&str> = segments.collect();
        let inner = &segments[..segments.len().saturating_sub(1)];
        if inner.iter().any(|s| s.is_empty()) {
            return Err(bad_url(
                url,
                "its path has an empty segment (\"//\"); write each directory once",
            ));
        }
    }
    Ok(())
}

/// The keyword arguments of the constructor besides the directory.
fn options_kwargs(
    py: Python<'_>,
    automatic_cleanup: bool,
    mkdir: bool,
    allow_symlinks_outside: bool,
) -> PyResult<Bound<'_, PyDict>> {
    let kwargs = PyDict::new(py);
    kwargs.set_item(intern!(py, "automatic_cleanup"), automatic_cleanup)?;
    kwargs.set_item(intern!(py, "mkdir"), mkdir)?;
    kwargs.set_item(
        intern!(py, "allow_symlinks_outside"),
        allow_symlinks_outside,
    )?;
    Ok(kwargs)
}

#[pymethods]
impl PyLocalStore {
    #[new]
    #[pyo3(signature = (prefix=None, *, automatic_cleanup=false, mkdir=false, allow_symlinks_outside=true))]
    fn new(
        prefix: Option<PathBuf>,
        automatic_cleanup: bool,
        mkdir: bool,
        allow_symlinks_outside: bool,
    ) -> PyResult<Self> {
        let (store, prefix) = match prefix {
            Some(prefix) => {
                if mkdir {
                    std::fs::create_dir_all(&prefix).map_err(ObstoreError::from)?;
                }
                let store =
                    LocalFileSystem::new_with_prefix(&prefix).map_err(ObstoreError::from)?;
                let absolute = std::fs::canonicalize(&prefix).unwrap_or(prefix);
                (store, Some(absolute))
            }
            None => (LocalFileSystem::new(), None),
        };
        let store = Arc::new(store.with_automatic_cleanup(automatic_cleanup));
        let confinement: Option<Arc<dyn Confinement>> = match (&prefix, allow_symlinks_outside) {
            (Some(root), false) => Some(Arc::new(ConfinedRoot { root: root.clone() })),
            // Without a prefix the root is `/`, which no path leaves.
            _ => None,
        };
        let label = StoreLabel::new(directory_url(prefix.as_deref()));
        Ok(Self {
            inner: ContextStore::wrap(store, Arc::new(label), confinement),
            prefix,
            automatic_cleanup,
            mkdir,
            allow_symlinks_outside,
        })
    }

    #[doc = crate::pydoc!(LocalStore.from_url)]
    #[classmethod]
    #[pyo3(signature = (url, *, automatic_cleanup=false, mkdir=false, allow_symlinks_outside=true))]
    fn from_url<'py>(
        cls: &Bound<'py, PyType>,
        url: &str,
        automatic_cleanup: bool,
        mkdir: bool,
        allow_symlinks_outside: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        let parsed = url::Url::parse(url)
            .map_err(|err| PyValueError::new_err(format!("Invalid URL {url:?}: {err}")))?;
        if parsed.scheme() != "file" {
            return Err(PyValueError::new_err("Not a `file://` URL"));
        }
        check_url_path(url, &parsed)?;
        let path = parsed
            .to_file_path()
            .map_err(|_| PyValueError::new_err(format!("Not a local file path: {url}")))?;
        let kwargs = options_kwargs(py, automatic_cleanup, mkdir, allow_symlinks_outside)?;
        cls.call((path,), Some(&kwargs))
    }

    #[doc = crate::pydoc!(LocalStore.prefix)]
    #[getter]
    fn prefix(&self) -> Option<PathBuf> {
        self.prefix.clone()
    }

    #[doc = crate::pydoc!(LocalStore.__getnewargs_ex__)]
    fn __getnewargs_ex__<'py>(&self, py: Python<'py>) -> PyResult<NewArgs<'py>> {
        let kwargs = options_kwargs(
            py,
            self.automatic_cleanup,
            self.mkdir,
            self.allow_symlinks_outside,
        )?;
        Ok((PyTuple::new(py, [self.prefix.clone()])?, kwargs))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<PyLocalStore>() {
            Ok(other) => {
                let other = other.get();
                self.prefix == other.prefix
                    && self.automatic_cleanup == other.automatic_cleanup
                    && self.mkdir == other.mkdir
                    && self.allow_symlinks_outside == other.allow_symlinks_outside
            }
            Err(_) => false,
        }
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let name = slf.get_type().name()?;
        let store = slf.get();
        let confined = match store.allow_symlinks_outside {
            true => "",
            false => ", allow_symlinks_outside=False",
        };
        Ok(match &store.prefix {
            Some(prefix) => format!("{name}({:?}{confined})", prefix.display().to_string()),
            None => name.to_string(),
        })
    }
}

/// The confinement of a [`LocalFileSystem`]: every path whose symbolic links lead outside its
/// root is refused, and such entries are left out of listings. Paths are resolved before each
/// operation; a link changed between that check and the operation is not caught (the check
/// guards against links in the tree, not against a concurrent writer of it).
#[derive(Debug)]
pub struct ConfinedRoot {
    /// The canonical root directory.
    root: PathBuf,
}

/// Why a path is refused: where it leads.
#[derive(Debug, thiserror::Error)]
#[error(
    "\"{path}\" resolves to {}, outside the store root {} (allow_symlinks_outside=False)",
    resolved.display(),
    root.display()
)]
struct OutsideRoot {
    path: String,
    resolved: PathBuf,
    root: PathBuf,
}

/// Why a path is refused: it cannot be resolved.
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve the symbolic links of \"{path}\" (allow_symlinks_outside=False): {source}")]
struct Unresolvable {
    path: String,
    source: std::io::Error,
}

/// The most symbolic links one path may go through (as Linux's `MAXSYMLINKS`).
const MAX_LINKS: u32 = 40;

/// One step of a path walk.
enum Step {
    Root,
    Parent,
    Name(OsString),
}

fn steps_of(path: &std::path::Path) -> impl Iterator<Item = Step> + '_ {
    path.components().filter_map(|c| match c {
        Component::RootDir => Some(Step::Root),
        Component::ParentDir => Some(Step::Parent),
        Component::Normal(name) => Some(Step::Name(name.to_os_string())),
        Component::CurDir | Component::Prefix(_) => None,
    })
}

/// Where `steps` lead from the resolved directory `base`, every symbolic link followed; past the
/// first missing component the walk is lexical (nothing below it can be a link).
fn resolve(
    base: &std::path::Path,
    steps: impl IntoIterator<Item = Step>,
) -> std::io::Result<PathBuf> {
    let mut resolved = base.to_path_buf();
    let mut pending: VecDeque<Step> = steps.into_iter().collect();
    let mut links = 0;
    let mut exists = true;
    while let Some(step) = pending.pop_front() {
        match step {
            Step::Root => resolved = PathBuf::from("/"),
            Step::Parent => {
                resolved.pop();
            }
            Step::Name(name) => {
                let next = resolved.join(&name);
                if !exists {
                    resolved = next;
                    continue;
                }
                match std::fs::symlink_metadata(&next) {
                    Ok(meta) if meta.file_type().is_symlink() => {
                        links += 1;
                        if links > MAX_LINKS {
                            return Err(std::io::Error::other("too many levels of symbolic links"));
                        }
                        let target = std::fs::read_link(&next)?;
                        let target: Vec<Step> = steps_of(&target).collect();
                        for step in target.into_iter().rev() {
                            pending.push_front(step);
                        }
                    }
                    Ok(_) => resolved = next,
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                        exists = false;
                        resolved = next;
                    }
                    Err(err) if err.raw_os_error() == Some(libc::ENOTDIR) => {
                        exists = false;
                        resolved = next;
                    }
                    Err(err) => return Err(err),
                }
            }
        }
    }
    Ok(resolved)
}

fn steps_of_location(location: &Path) -> impl Iterator<Item = Step> + '_ {
    location
        .parts()
        .map(|part| Step::Name(OsString::from(part.as_ref())))
}

/// `Ok` when `location` stays below `root` once its links are followed.
fn check(root: &std::path::Path, location: &Path) -> Result<()> {
    let refuse =
        |source: Box<dyn std::error::Error + Send + Sync>| object_store::Error::PermissionDenied {
            path: location.to_string(),
            source,
        };
    match resolve(root, steps_of_location(location)) {
        Ok(resolved) if resolved.starts_with(root) => Ok(()),
        Ok(resolved) => Err(refuse(Box::new(OutsideRoot {
            path: location.to_string(),
            resolved,
            root: root.to_path_buf(),
        }))),
        Err(source) => Err(refuse(Box::new(Unresolvable {
            path: location.to_string(),
            source,
        }))),
    }
}

/// Decides for listed paths whether they stay below the root, resolving each directory once
/// while the listing stays in it.
struct ListingFilter {
    root: PathBuf,
    directory: Option<(Path, Option<PathBuf>)>,
}

impl ListingFilter {
    fn new(root: PathBuf) -> Self {
        Self {
            root,
            directory: None,
        }
    }

    fn inside(&mut self, location: &Path) -> bool {
        let parts: Vec<_> = location.parts().collect();
        let Some((name, parent)) = parts.split_last() else {
            return true;
        };
        let parent = Path::from_iter(parent.iter().cloned());
        if self
            .directory
            .as_ref()
            .is_none_or(|(dir, _)| *dir != parent)
        {
            let resolved = resolve(&self.root, steps_of_location(&parent))
                .ok()
                .filter(|r| r.starts_with(&self.root));
            self.directory = Some((parent, resolved));
        }
        let Some((_, Some(base))) = &self.directory else {
            return false;
        };
        resolve(base, [Step::Name(OsString::from(name.as_ref()))])
            .is_ok_and(|r| r.starts_with(&self.root))
    }
}

impl Confinement for ConfinedRoot {
    fn check(&self, location: &Path) -> Result<()> {
        check(&self.root, location)
    }

    fn filter(
        &self,
        listing: BoxStream<'static, Result<ObjectMeta>>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let mut filter = ListingFilter::new(self.root.clone());
        listing
            .try_filter(move |meta| std::future::ready(filter.inside(&meta.location)))
            .boxed()
    }

    fn filter_result(&self, result: &mut ListResult) {
        let mut filter = ListingFilter::new(self.root.clone());
        result
            .common_prefixes
            .retain(|directory| filter.inside(directory));
        result.objects.retain(|meta| filter.inside(&meta.location));
    }
}
