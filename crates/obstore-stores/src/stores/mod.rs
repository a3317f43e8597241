//! The store classes and the one dispatch over them: [`PyStore`] (an enum over the six classes),
//! [`AnyStore`] (the handle every operation receives), [`from_url`] (the one place where a URL
//! becomes a store) and [`sign_target`].
//!
//! - [`memory`], [`local`]: the stores that need no server.
//! - [`aws`], [`gcp`], [`azure`]: the cloud stores, sharing [`cloud`] (settings, client, methods).
//! - [`http`]: plain HTTP(S) and WebDAV.
//! - [`handle`]: [`AnyStore`], and how a store's futures are driven.
//! - [`context`]: the wrapper that puts every error of an operation in context.
//! - [`credential`]: Python credential providers for the cloud stores.
//! - [`signing_keys`]: the crypto provider S3 signs with, keeping SigV4's derived keys.

pub mod aws;
pub mod azure;
pub mod cloud;
pub mod context;
pub mod credential;
pub mod gcp;
pub mod handle;
pub mod http;
pub mod local;
pub mod memory;
pub mod signing_keys;

use std::sync::Arc;

use object_store::path::Path;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};

use crate::error::{new_error, ExceptionKind, ObstoreError};
use crate::integrity::{Listing, UploadChoice};
use crate::url::scheme_name;
pub use handle::{AnyStore, Executor, INLINE_IO_LIMIT};

use aws::PyS3Store;
use azure::PyAzureStore;
use gcp::PyGCSStore;
use http::PyHTTPStore;
use local::PyLocalStore;
use memory::PyMemoryStore;

/// What `__getnewargs_ex__` returns: the positional and the keyword arguments of the constructor.
pub type NewArgs<'py> = (Bound<'py, PyTuple>, Bound<'py, PyDict>);

/// The names of the store classes, for the "same library" error message.
const STORE_CLASS_NAMES: [&str; 6] = [
    "S3Store",
    "GCSStore",
    "AzureStore",
    "HTTPStore",
    "LocalStore",
    "MemoryStore",
];

/// Any store object of this library, by class.
pub enum PyStore<'py> {
    /// `S3Store`.
    S3(Bound<'py, PyS3Store>),
    /// `GCSStore`.
    Gcs(Bound<'py, PyGCSStore>),
    /// `AzureStore`.
    Azure(Bound<'py, PyAzureStore>),
    /// `HTTPStore`.
    Http(Bound<'py, PyHTTPStore>),
    /// `LocalStore`.
    Local(Bound<'py, PyLocalStore>),
    /// `MemoryStore`.
    Memory(Bound<'py, PyMemoryStore>),
}

impl<'py> PyStore<'py> {
    /// The handle operations use; its errors name the operation, the store URL and the path.
    pub fn any_store(&self) -> Result<AnyStore, ObstoreError> {
        match self {
            Self::S3(s) => s.get().0.any_store(s.py()),
            Self::Gcs(s) => s.get().0.any_store(s.py()),
            Self::Azure(s) => s.get().0.any_store(s.py()),
            Self::Http(s) => s.get().any_store(s.py()),
            // Labelled once, when built.
            Self::Local(s) => Ok(s.get().any_store()),
            Self::Memory(s) => Ok(s.get().any_store()),
        }
    }

    /// What the connector is to read from the pages of a listing of this store: for a stream
    /// of objects (`stream`) from S3 or GCS, the pages' objects (read by the connector's own
    /// scan, `integrity/list_pages.rs`); from Azure, for dicts (not `arrow`), each blob's
    /// checksums, which only Azure's listings report.
    pub fn listing(&self, stream: bool, arrow: bool) -> Option<Listing> {
        match self {
            Self::S3(s) if stream => Some(Listing::with_objects(s.get().0.prefix_path())),
            Self::Gcs(s) if stream => Some(Listing::with_objects(s.get().0.prefix_path())),
            Self::Azure(s) if !arrow => Some(Listing::with_checksums(s.get().0.prefix_path())),
            _ => None,
        }
    }

    /// The handle of an upload with the checksum `choice` asks for (`checksum=`). Memory and
    /// local stores move no bytes over a network and take any choice; an HTTP (WebDAV) server
    /// takes no upload checksum, so an algorithm there is a `ValueError`.
    pub fn upload_store(&self, choice: UploadChoice) -> Result<AnyStore, ObstoreError> {
        match self {
            Self::S3(s) => s.get().0.upload_store(s.py(), choice),
            Self::Gcs(s) => s.get().0.upload_store(s.py(), choice),
            Self::Azure(s) => s.get().0.upload_store(s.py(), choice),
            Self::Http(_) => match choice {
                UploadChoice::Use(algorithm) => Err(ObstoreError::value(format!(
                    "checksum={:?} is not supported for uploads by HTTPStore: it sends no \
                     upload checksum; use None or \"default\"",
                    algorithm.name()
                ))),
                UploadChoice::Store | UploadChoice::Off => self.any_store(),
            },
            Self::Local(_) | Self::Memory(_) => self.any_store(),
        }
    }
}

/// The error for an object that is not a store of this library, saying when it is one of
/// another library's (a second copy of the extension, or obstore itself).
fn not_a_store(obj: &Bound<'_, PyAny>) -> PyErr {
    let class_name = match obj.get_type().name() {
        Ok(name) => name.to_string(),
        Err(err) => return err,
    };
    let foreign = STORE_CLASS_NAMES.contains(&class_name.as_str())
        || obj.get_type().mro().iter().any(|c| {
            c.getattr("__name__").is_ok_and(|n| {
                n.extract::<String>()
                    .is_ok_and(|n| STORE_CLASS_NAMES.contains(&n.as_str()))
            })
        });
    if foreign {
        return PyValueError::new_err(format!(
            "You must use an object store instance exported from the same library as this \
             function; got a {class_name} from another library. Construct stores from \
             obstore.store."
        ));
    }
    match obj.repr() {
        Ok(repr) => PyValueError::new_err(format!("Expected an object store instance, got {repr}")),
        Err(err) => err,
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for PyStore<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        macro_rules! cast_to {
            ($($class:ty => $variant:ident),*) => {$(
                if let Ok(s) = obj.cast::<$class>() {
                    return Ok(Self::$variant(s.to_owned()));
                }
            )*};
        }
        cast_to!(
            PyS3Store => S3,
            PyMemoryStore => Memory,
            PyLocalStore => Local,
            PyGCSStore => Gcs,
            PyAzureStore => Azure,
            PyHTTPStore => Http
        );
        Err(not_a_store(&obj))
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for AnyStore {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        // The stores that run in-process first, borrowed: their calls take a few hundred
        // nanoseconds, of which a new reference and the other classes' checks are a visible part.
        if let Ok(store) = obj.cast::<PyMemoryStore>() {
            return Ok(store.get().any_store());
        }
        if let Ok(store) = obj.cast::<PyLocalStore>() {
            return Ok(store.get().any_store());
        }
        Ok(obj.extract::<PyStore<'py>>()?.any_store()?)
    }
}

/// What `sign` needs from a store: its signer and its prefix.
pub struct SignTarget {
    /// The store's URL signer.
    pub signer: Arc<dyn object_store::signer::Signer>,
    /// The store prefix, prepended to every signed path.
    pub prefix: Option<Path>,
}

/// The signer of an S3, GCS or Azure store object; `ValueError` for anything else.
pub fn sign_target(obj: &Bound<'_, PyAny>) -> PyResult<SignTarget> {
    let py = obj.py();
    let (signer, prefix): (Arc<dyn object_store::signer::Signer>, Option<Path>) =
        match obj.extract::<PyStore<'_>>() {
            Ok(PyStore::S3(s)) => (s.get().0.client(py)?, s.get().0.prefix_path().cloned()),
            Ok(PyStore::Gcs(s)) => (s.get().0.client(py)?, s.get().0.prefix_path().cloned()),
            Ok(PyStore::Azure(s)) => (s.get().0.client(py)?, s.get().0.prefix_path().cloned()),
            _ => {
                return Err(PyValueError::new_err(format!(
                    "Expected an S3Store, GCSStore, or AzureStore instance, got {}",
                    obj.repr()?
                )))
            }
        };
    Ok(SignTarget { signer, prefix })
}

/// What [`from_url`] takes beside the URL, in its Python functions' order: `config`,
/// `client_options`, `retry_config`, `credential_provider` and the keyword settings.
pub type UrlSettings<'py> = (
    Option<Bound<'py, PyAny>>,
    Option<Bound<'py, PyAny>>,
    Option<Bound<'py, PyAny>>,
    Option<Bound<'py, PyAny>>,
    Option<Bound<'py, PyDict>>,
);

/// The class `from_url` builds for each kind of URL: the raw classes of `obstore._store`, or
/// the `obstore.store` subclasses.
pub struct StoreClasses<'py> {
    s3: Bound<'py, PyType>,
    gcs: Bound<'py, PyType>,
    azure: Bound<'py, PyType>,
    http: Bound<'py, PyType>,
    local: Bound<'py, PyType>,
    memory: Bound<'py, PyType>,
}

impl<'py> StoreClasses<'py> {
    /// The raw classes.
    pub fn raw(py: Python<'py>) -> Self {
        Self {
            s3: py.get_type::<PyS3Store>(),
            gcs: py.get_type::<PyGCSStore>(),
            azure: py.get_type::<PyAzureStore>(),
            http: py.get_type::<PyHTTPStore>(),
            local: py.get_type::<PyLocalStore>(),
            memory: py.get_type::<PyMemoryStore>(),
        }
    }
}

/// Whether an optional argument was given with a value Python finds true (`{}` is not).
fn given(value: Option<&Bound<'_, PyAny>>) -> bool {
    value.is_some_and(|v| !v.is_none() && v.is_truthy().unwrap_or(true))
}

fn refuse(store: &str, what: &str) -> PyErr {
    new_error(
        ExceptionKind::Base,
        format!("{store} does not accept {what}"),
    )
}

/// The store `url` points to, as an instance of the matching class of `classes`. The cloud
/// classes' `from_url` parse the URL's settings and prefix; the others take only what they use.
#[allow(clippy::too_many_arguments)]
pub fn from_url<'py>(
    classes: &StoreClasses<'py>,
    url: &str,
    settings: UrlSettings<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let (config, client_options, retry_config, credential_provider, kwargs) = settings;
    let py = classes.s3.py();
    let has_provider = credential_provider.as_ref().is_some_and(|c| !c.is_none());
    let call_kwargs = match &kwargs {
        Some(k) => k.copy()?,
        None => PyDict::new(py),
    };
    // Every store takes a request hook; stores without HTTP (memory, local) never call it.
    let request_hook = call_kwargs.get_item("request_hook")?;
    if request_hook.is_some() {
        call_kwargs.del_item("request_hook")?;
    }
    let has_kwargs = !call_kwargs.is_empty();
    let class = match scheme_name(url)? {
        "s3" => &classes.s3,
        "gcs" => &classes.gcs,
        "azure" => &classes.azure,
        "http" => {
            if given(config.as_ref()) || has_kwargs || has_provider {
                return Err(refuse("HTTPStore", "any configuration"));
            }
            let kw = PyDict::new(py);
            kw.set_item("client_options", client_options)?;
            kw.set_item("retry_config", retry_config)?;
            kw.set_item("request_hook", request_hook)?;
            return classes.http.call_method("from_url", (url,), Some(&kw));
        }
        "local" => {
            if has_provider {
                return Err(refuse("LocalStore", "a credential provider"));
            }
            // Other settings mean nothing for a directory and are ignored.
            let kw = PyDict::new(py);
            for key in ["automatic_cleanup", "mkdir", "allow_symlinks_outside"] {
                if let Some(value) = call_kwargs.get_item(key)? {
                    kw.set_item(key, value)?;
                }
            }
            return classes.local.call_method("from_url", (url,), Some(&kw));
        }
        "memory" => {
            if given(config.as_ref()) || has_kwargs {
                return Err(refuse("MemoryStore", "any configuration"));
            }
            if has_provider {
                return Err(refuse("MemoryStore", "a credential provider"));
            }
            return classes.memory.call0();
        }
        other => {
            return Err(new_error(
                ExceptionKind::GenericError,
                format!("Unable to recognise URL \"{url}\" (scheme {other})"),
            ))
        }
    };
    call_kwargs.set_item("config", config)?;
    call_kwargs.set_item("client_options", client_options)?;
    call_kwargs.set_item("retry_config", retry_config)?;
    call_kwargs.set_item("credential_provider", credential_provider)?;
    if let Some(hook) = request_hook {
        call_kwargs.set_item("request_hook", hook)?;
    }
    class.call_method("from_url", (url,), Some(&call_kwargs))
}

#[doc = crate::pydoc!(from_url)]
#[pyfunction(name = "from_url")]
#[pyo3(signature = (url, *, config = None, client_options = None, retry_config = None, credential_provider = None, **kwargs))]
pub fn py_from_url<'py>(
    py: Python<'py>,
    url: &str,
    config: Option<Bound<'py, PyAny>>,
    client_options: Option<Bound<'py, PyAny>>,
    retry_config: Option<Bound<'py, PyAny>>,
    credential_provider: Option<Bound<'py, PyAny>>,
    kwargs: Option<Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let settings = (
        config,
        client_options,
        retry_config,
        credential_provider,
        kwargs,
    );
    from_url(&StoreClasses::raw(py), url, settings)
}

/// `from_url` building instances of the given classes (`obstore.store.from_url` passes its
/// subclasses, in the order s3, gcs, azure, http, local, memory).
#[pyfunction(name = "_from_url_as")]
#[pyo3(signature = (classes, url, *settings))]
pub fn py_from_url_as<'py>(
    classes: &Bound<'py, PyTuple>,
    url: &str,
    settings: &Bound<'py, PyTuple>,
) -> PyResult<Bound<'py, PyAny>> {
    let (s3, gcs, azure, http, local, memory) = classes.extract()?;
    let classes = StoreClasses {
        s3,
        gcs,
        azure,
        http,
        local,
        memory,
    };
    from_url(&classes, url, settings.extract()?)
}
