//! `HTTPStore`: plain HTTP(S) servers (WebDAV for listing, copying and deleting). The URL's path
//! is the prefix.

mod webdav;

use std::sync::Arc;

use object_store::http::{HttpBuilder, HttpStore};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};

use super::cloud::{py_objects_equal, with_prefix, LazyClient};
use super::NewArgs;
use crate::config::client::{allows_http, ClientConfig};
use crate::config::retry::PyRetryConfig;
use crate::config::values::check_url;
use crate::config::{bad_url, http_not_allowed};
use crate::error::{redact, ObstoreError};
use crate::runtime::lane::LaneConnector;
use crate::runtime::observe::{self, StoreObserver};
use crate::stores::context::StoreLabel;
use crate::stores::handle::AnyStore;

#[doc = crate::pydoc!(HTTPStore)]
#[pyclass(name = "HTTPStore", module = "obstore._store", subclass, frozen)]
#[derive(Debug)]
pub struct PyHTTPStore {
    url: url::Url,
    prefix: Option<object_store::path::Path>,
    client_options: ClientConfig,
    retry: Option<PyRetryConfig>,
    client: LazyClient<HttpStore>,
    /// How errors name this store.
    label: Arc<StoreLabel>,
    /// The `request_hook`, if given.
    request_hook: Option<Py<PyAny>>,
    /// What request hooks and logs learn of this store.
    observer: Arc<StoreObserver>,
}

impl PyHTTPStore {
    fn build(&self) -> Result<HttpStore, ObstoreError> {
        let options = self.client_options.build(&[])?;
        if self.url.scheme() == "http" && !allows_http(&options) {
            return Err(http_not_allowed("The URL", self.url.as_str()).into());
        }
        // The client addresses the server root; the URL path is applied as a `PrefixStore`
        // prefix, so listed paths come back relative to the store URL.
        let mut root = self.url.clone();
        root.set_path("/");
        root.set_query(None);
        let mut builder = HttpBuilder::new()
            .with_url(root.as_str())
            .with_client_options(options)
            .with_http_connector(webdav::WebDavConnector(LaneConnector::new(
                self.client_options.max_concurrent_requests(),
                self.client_options.root_certificates()?,
            )));
        if let Some(retry) = &self.retry {
            builder = builder.with_retry(retry.to_object_store());
        }
        Ok(builder.build()?)
    }

    /// The URL for display: a password in it is masked.
    fn display_url(&self) -> String {
        redact(self.url.as_str())
    }

    /// The handle operations use (the client is rebuilt after a fork).
    pub fn any_store(&self, py: Python<'_>) -> Result<AnyStore, ObstoreError> {
        let inner = with_prefix(self.client.get(|| self.build())?, self.prefix.as_ref());
        Ok(AnyStore::for_call(py, inner, &self.label, &self.observer))
    }
}

/// How errors name an HTTP store: its URL, password masked, without the query.
fn label(url: &url::Url) -> StoreLabel {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    StoreLabel::new(redact(url.as_str()))
}

#[pymethods]
impl PyHTTPStore {
    #[new]
    #[pyo3(signature = (url, *, client_options=None, retry_config=None, request_hook=None))]
    fn new(
        py: Python<'_>,
        url: &str,
        client_options: Option<Bound<'_, PyAny>>,
        retry_config: Option<Bound<'_, PyAny>>,
        request_hook: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let parsed = url::Url::parse(url).map_err(|err| bad_url(url, err))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad_url(url, "HTTPStore needs an http:// or https:// URL"));
        }
        // The normalized URL is what requests use (a space in its path is percent-encoded).
        check_url(parsed.as_str()).map_err(|why| bad_url(url, why))?;
        let prefix = object_store::path::Path::from_url_path(parsed.path())
            .map_err(|err| bad_url(url, err))?;
        let request_hook = observe::check_hook(request_hook.as_ref())?;
        let label = label(&parsed);
        let store = Self {
            prefix: (!prefix.as_ref().is_empty()).then_some(prefix),
            observer: StoreObserver::new(py, label.url_of(None), request_hook.as_ref()),
            request_hook,
            label: Arc::new(label),
            url: parsed,
            client_options: ClientConfig::from_py(client_options.as_ref())?,
            retry: PyRetryConfig::from_py(retry_config.as_ref())?,
            client: LazyClient::default(),
        };
        let built = store.build()?;
        Ok(Self {
            client: LazyClient::with(built),
            ..store
        })
    }

    #[doc = crate::pydoc!(HTTPStore.from_url)]
    #[classmethod]
    #[pyo3(signature = (url, *, client_options=None, retry_config=None, request_hook=None))]
    fn from_url<'py>(
        cls: &Bound<'py, PyType>,
        url: &str,
        client_options: Option<Bound<'py, PyAny>>,
        retry_config: Option<Bound<'py, PyAny>>,
        request_hook: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let kwargs = PyDict::new(cls.py());
        kwargs.set_item("client_options", client_options)?;
        kwargs.set_item("retry_config", retry_config)?;
        kwargs.set_item("request_hook", request_hook)?;
        cls.call((url,), Some(&kwargs))
    }

    #[doc = crate::pydoc!(HTTPStore.url)]
    #[getter]
    fn url(&self) -> String {
        self.display_url()
    }

    #[doc = crate::pydoc!(HTTPStore.client_options)]
    #[getter]
    fn client_options<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        if self.client_options.is_empty() {
            return Ok(None);
        }
        self.client_options.to_py(py).map(Some)
    }

    #[doc = crate::pydoc!(HTTPStore.retry_config)]
    #[getter]
    fn retry_config<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.retry.as_ref().map(|r| r.to_py(py)).transpose()
    }

    #[doc = crate::pydoc!(HTTPStore.request_hook)]
    #[getter]
    fn request_hook<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        self.request_hook.as_ref().map(|h| h.bind(py).clone())
    }

    #[doc = crate::pydoc!(HTTPStore.__getnewargs_ex__)]
    fn __getnewargs_ex__<'py>(&self, py: Python<'py>) -> PyResult<NewArgs<'py>> {
        let kwargs = PyDict::new(py);
        if !self.client_options.is_empty() {
            kwargs.set_item("client_options", self.client_options.to_py(py)?)?;
        }
        if let Some(retry) = &self.retry {
            kwargs.set_item("retry_config", retry.to_py(py)?)?;
        }
        if let Some(hook) = &self.request_hook {
            kwargs.set_item("request_hook", observe::picklable_hook(hook.bind(py))?)?;
        }
        Ok((PyTuple::new(py, [self.url.to_string()])?, kwargs))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<PyHTTPStore>() {
            Ok(other) => {
                let py = other.py();
                let other = other.get();
                self.url == other.url
                    && self.client_options == other.client_options
                    && self.retry == other.retry
                    && py_objects_equal(self.request_hook.as_ref(), other.request_hook.as_ref(), py)
            }
            Err(_) => false,
        }
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let name = slf.get_type().name()?;
        Ok(format!("{name}(\"{}\")", slf.get().display_url()))
    }
}
