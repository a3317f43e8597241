//! [`CloudCore`]: what `S3Store`, `GCSStore` and `AzureStore` share — merged settings, environment
//! snapshot, prefix, retry configuration, credential provider, equality and pickling.

use std::sync::Arc;
use std::time::Duration;

use object_store::path::Path;
use object_store::{ClientConfigKey, ClientOptions};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::retry::PyRetryConfig;
use super::{
    parse_prefix, provider_attr, py_objects_equal, EnvSettings, StoreFamily, StoreSettings,
};
use crate::credential::ProviderHandle;

/// The settings of one cloud store object.
#[derive(Debug)]
pub struct CloudCore {
    /// Explicit settings (config + positional + kwargs + URL + provider `config`).
    pub settings: StoreSettings,
    /// Environment settings read at construction (never shown, never pickled).
    pub env: EnvSettings,
    /// The prefix as given.
    pub prefix: Option<String>,
    /// The parsed prefix (`None` when absent or empty).
    pub prefix_path: Option<Path>,
    /// The retry configuration, if given.
    pub retry: Option<PyRetryConfig>,
    /// The credential provider, if given.
    pub provider: Option<Arc<ProviderHandle>>,
}

/// The constructor arguments of a cloud store.
pub struct CoreArgs<'a, 'py> {
    /// The positional argument and the key it stands for (`("bucket", value)`).
    pub positional: Option<(&'static str, &'a Bound<'py, PyAny>)>,
    /// `prefix=`.
    pub prefix: Option<String>,
    /// `config=`.
    pub config: Option<&'a Bound<'py, PyAny>>,
    /// `client_options=`.
    pub client_options: Option<&'a Bound<'py, PyAny>>,
    /// `retry_config=`.
    pub retry_config: Option<&'a Bound<'py, PyAny>>,
    /// `credential_provider=`.
    pub credential_provider: Option<&'a Bound<'py, PyAny>>,
    /// `**kwargs`.
    pub kwargs: Option<&'a Bound<'py, PyDict>>,
    /// Whether the provider's `config` attribute fills missing settings (S3, Azure).
    pub provider_config: bool,
    /// Whether the provider's `prefix` attribute is the default prefix (Azure).
    pub provider_prefix: bool,
    /// The refresh threshold when the provider has none.
    pub default_refresh_threshold: Duration,
}

impl CloudCore {
    /// Merges and validates the constructor arguments of family `F`.
    pub fn new<F: StoreFamily>(args: CoreArgs<'_, '_>) -> PyResult<Self> {
        let mut settings = StoreSettings {
            client: super::client::ClientConfig::from_py(args.client_options)?,
            ..Default::default()
        };
        settings.insert_all::<F>(args.config)?;
        if let Some((key, value)) = args.positional.filter(|(_, v)| !v.is_none()) {
            settings.insert::<F>(key, value)?;
        }
        if let Some(kwargs) = args.kwargs {
            settings.insert_all::<F>(Some(kwargs.as_any()))?;
        }
        let provider_obj = args.credential_provider.filter(|p| !p.is_none());
        let provider = provider_obj
            .map(|p| ProviderHandle::new(p, args.default_refresh_threshold).map(Arc::new))
            .transpose()?;
        if args.provider_config {
            if let Some(config) = provider_attr(provider_obj, "config") {
                settings.fill_from::<F>(&config)?;
            }
        }
        let mut prefix = args.prefix;
        if prefix.is_none() && args.provider_prefix {
            if let Some(p) = provider_attr(provider_obj, "prefix") {
                prefix = Some(p.extract()?);
            }
        }
        let prefix_path = parse_prefix(prefix.as_deref())?;
        Ok(Self {
            settings,
            env: EnvSettings::read::<F>(),
            prefix,
            prefix_path,
            retry: PyRetryConfig::from_py(args.retry_config)?,
            provider,
        })
    }

    /// An effective store setting (explicit, else from the environment).
    pub fn effective(&self, canonical: &str) -> Option<&str> {
        self.settings
            .store
            .get(canonical)
            .map(String::as_str)
            .or_else(|| self.env.get(canonical))
    }

    /// The HTTP client options: environment first, then the explicit ones.
    pub fn client_options(&self) -> PyResult<ClientOptions> {
        self.settings.client.build(&self.env.client)
    }

    /// Whether plain `http://` is allowed by the effective client options.
    pub fn allow_http(options: &ClientOptions) -> bool {
        options
            .get_config_value(&ClientConfigKey::AllowHttp)
            .is_some_and(|v| {
                matches!(
                    v.to_ascii_lowercase().as_str(),
                    "1" | "true" | "on" | "yes" | "y"
                )
            })
    }

    /// Records the running event loop for an async credential provider.
    pub fn note_loop(&self, py: Python<'_>) {
        if let Some(provider) = &self.provider {
            provider.note_running_loop(py);
        }
    }

    /// Value equality (never raises).
    pub fn equals(&self, other: &Self, py: Python<'_>) -> bool {
        self.prefix_path == other.prefix_path
            && self.settings == other.settings
            && self.retry == other.retry
            && py_objects_equal(
                self.provider.as_ref().map(|p| &p.callable),
                other.provider.as_ref().map(|p| &p.callable),
                py,
            )
    }

    /// `__getnewargs_ex__`: `((), {prefix?, config, client_options?, retry_config?, credential_provider?})`
    /// with the real (unmasked) values under canonical key names.
    pub fn getnewargs<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyTuple>, Bound<'py, PyDict>)> {
        let kwargs = PyDict::new(py);
        if let Some(prefix) = &self.prefix {
            kwargs.set_item("prefix", prefix)?;
        }
        kwargs.set_item("config", self.settings.canonical_dict(py)?)?;
        if !self.settings.client.is_empty() {
            kwargs.set_item("client_options", self.settings.client.to_py(py)?)?;
        }
        if let Some(retry) = &self.retry {
            kwargs.set_item("retry_config", retry.to_py(py)?)?;
        }
        if let Some(provider) = &self.provider {
            kwargs.set_item("credential_provider", provider.callable.bind(py))?;
        }
        Ok((PyTuple::empty(py), kwargs))
    }

    /// The `client_options` getter.
    pub fn client_options_py<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        if self.settings.client.is_empty() {
            return Ok(None);
        }
        self.settings.client.to_py(py).map(Some)
    }

    /// The `retry_config` getter.
    pub fn retry_config_py<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.retry.as_ref().map(|r| r.to_py(py)).transpose()
    }

    /// The `credential_provider` getter.
    pub fn credential_provider_py<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        self.provider.as_ref().map(|p| p.callable.bind(py).clone())
    }

    /// `.prefix` as given, `repr`-quoted fragment `, prefix="p"` when set.
    pub fn repr_prefix(&self) -> String {
        match &self.prefix {
            Some(p) => format!(", prefix=\"{p}\""),
            None => String::new(),
        }
    }
}

/// Wraps a built client with the store prefix, as operations see it.
pub fn with_prefix<T: object_store::ObjectStore>(
    client: Arc<T>,
    prefix: Option<&Path>,
) -> Arc<dyn object_store::ObjectStore> {
    match prefix {
        Some(prefix) => Arc::new(object_store::prefix::PrefixStore::new(
            client,
            prefix.clone(),
        )),
        None => client,
    }
}
