//! `AzureStore`: Azure Blob Storage, ADLS Gen2 and Microsoft Fabric OneLake.

use std::sync::Arc;
use std::time::Duration;

use object_store::azure::{
    split_sas, AzureAccessKey, AzureConfigKey, AzureCredential, MicrosoftAzure,
    MicrosoftAzureBuilder,
};
use object_store::ClientConfigKey;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};

use crate::config::cloud::{with_prefix, CloudCore, CoreArgs};
use crate::config::{
    bad_url, call_from_url, http_not_allowed, url_prefix, FromUrlArgs, LazyClient, StoreFamily,
    UrlSettings,
};
use crate::credential::PyCredentialProvider;
use crate::error::ObstoreError;
use crate::store::{AnyStore, Executor};

/// The Azure configuration keys.
pub struct AzureFamily;

impl StoreFamily for AzureFamily {
    type Key = AzureConfigKey;
    const ENV_PREFIX: &'static str = "AZURE_";

    fn client_key(key: &Self::Key) -> Option<ClientConfigKey> {
        match key {
            AzureConfigKey::Client(k) => Some(*k),
            _ => None,
        }
    }

    fn public_name(canonical: &str) -> &str {
        canonical
            .strip_prefix("azure_storage_")
            .or_else(|| canonical.strip_prefix("azure_"))
            .unwrap_or(canonical)
    }

    fn is_secret(canonical: &str) -> bool {
        matches!(
            canonical,
            "azure_storage_account_key"
                | "azure_storage_client_secret"
                | "azure_storage_sas_key"
                | "azure_storage_token"
                | "azure_storage_encryption_key"
                | "azure_fabric_session_token"
        )
    }
}

fn convert_credential(result: &Bound<'_, PyAny>) -> PyResult<AzureCredential> {
    if let Ok(key) = result.get_item("access_key") {
        let key: String = key.extract()?;
        let key = AzureAccessKey::try_new(&key)
            .map_err(|err| PyValueError::new_err(format!("invalid access_key: {err}")))?;
        return Ok(AzureCredential::AccessKey(key));
    }
    if let Ok(sas) = result.get_item("sas_token") {
        let pairs = match sas.cast::<PyString>() {
            Ok(text) => split_sas(text.to_str()?)
                .map_err(|err| PyValueError::new_err(format!("invalid sas_token: {err}")))?,
            Err(_) => sas.extract::<Vec<(String, String)>>()?,
        };
        return Ok(AzureCredential::SASToken(pairs));
    }
    if let Ok(token) = result.get_item("token") {
        return Ok(AzureCredential::BearerToken(token.extract()?));
    }
    Err(pyo3::exceptions::PyKeyError::new_err(
        "expected one of 'access_key', 'sas_token' or 'token'",
    ))
}

fn no_dot<'a>(url: &str, what: &str, name: &'a str) -> PyResult<&'a str> {
    if name.is_empty() || name.contains('.') {
        return Err(bad_url(
            url,
            format!("\"{name}\" is not a valid {what} name"),
        ));
    }
    Ok(name)
}

fn parse_azure_url(url: &str) -> PyResult<UrlSettings> {
    let parsed = url::Url::parse(url).map_err(|err| bad_url(url, err))?;
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad_url(url, "it has no container or account (host) part"))?;
    let first_segment = parsed
        .path_segments()
        .and_then(|mut s| s.find(|s| !s.is_empty()).map(str::to_string));
    let mut settings: Vec<(&'static str, String)> = Vec::new();
    let mut skip = 0;
    let account_host = |settings: &mut Vec<(&'static str, String)>, host: &str| -> PyResult<()> {
        if let Some((workspace, rest)) = host.split_once('.') {
            if rest.starts_with('z') && rest.ends_with("fabric.microsoft.com") {
                let zone = rest.split_once('.').map_or(rest, |(z, _)| z);
                settings.push(("azure_storage_account_name", format!("{workspace}.{zone}")));
                settings.push(("azure_storage_endpoint", format!("https://{host}")));
                settings.push(("azure_use_fabric_endpoint", "true".into()));
                return Ok(());
            }
            match rest {
                "dfs.core.windows.net" | "blob.core.windows.net" => {
                    settings.push((
                        "azure_storage_account_name",
                        no_dot(url, "account", workspace)?.into(),
                    ));
                    return Ok(());
                }
                "dfs.fabric.microsoft.com" | "blob.fabric.microsoft.com" => {
                    settings.push((
                        "azure_storage_account_name",
                        no_dot(url, "account", workspace)?.into(),
                    ));
                    settings.push(("azure_use_fabric_endpoint", "true".into()));
                    return Ok(());
                }
                _ => {}
            }
        }
        Err(bad_url(
            url,
            "the host must be <account>.{blob,dfs}.core.windows.net or <account>.{blob,dfs}.fabric.microsoft.com",
        ))
    };
    match parsed.scheme() {
        "adl" | "azure" => {
            settings.push((
                "azure_container_name",
                no_dot(url, "container", host)?.into(),
            ));
        }
        "az" | "abfs" | "abfss" => {
            if parsed.username().is_empty() {
                settings.push((
                    "azure_container_name",
                    no_dot(url, "container", host)?.into(),
                ));
            } else {
                account_host(&mut settings, host)?;
                settings.push((
                    "azure_container_name",
                    no_dot(url, "container", parsed.username())?.into(),
                ));
            }
        }
        "https" => {
            account_host(&mut settings, host)?;
            if let Some(container) = first_segment {
                settings.push(("azure_container_name", container));
                skip = 1;
            }
        }
        other => {
            return Err(bad_url(
                url,
                format!(
                "scheme \"{other}\" is not an Azure scheme (az, adl, azure, abfs, abfss, https)"
            ),
            ))
        }
    }
    Ok((settings, url_prefix(&parsed, skip)?))
}

/// An Azure container as an object store (the raw class of `obstore._store`).
#[pyclass(name = "AzureStore", module = "obstore._store", subclass, frozen)]
#[derive(Debug)]
pub struct PyAzureStore {
    core: CloudCore,
    client: LazyClient<MicrosoftAzure>,
}

fn truthy(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "1" | "true" | "on" | "yes" | "y"
    )
}

impl PyAzureStore {
    fn build(&self) -> Result<MicrosoftAzure, ObstoreError> {
        let core = &self.core;
        let options = core.client_options()?;
        let allow_http = CloudCore::allow_http(&options);
        let mut builder = MicrosoftAzureBuilder::new()
            .with_client_options(options)
            .with_http_connector(crate::lane::LaneConnector);
        for (key, value) in core
            .env
            .store
            .iter()
            .map(|(k, v)| (k, v))
            .chain(core.settings.store.iter())
        {
            let key: AzureConfigKey = key.parse()?;
            builder = builder.with_config(key, value.clone());
        }
        if let Some(retry) = &core.retry {
            builder = builder.with_retry(retry.to_object_store());
        }
        if let Some(provider) = &core.provider {
            builder = builder.with_credentials(Arc::new(PyCredentialProvider::new(
                provider.clone(),
                "Azure",
                convert_credential,
            )));
        }
        let emulator = builder
            .get_config_value(&AzureConfigKey::UseEmulator)
            .is_some_and(|v| truthy(&v));
        if !allow_http && !emulator {
            if let Some(endpoint) = builder.get_config_value(&AzureConfigKey::Endpoint) {
                if endpoint.to_ascii_lowercase().starts_with("http://") {
                    return Err(http_not_allowed("The Azure endpoint", &endpoint).into());
                }
            }
        }
        Ok(builder.build()?)
    }

    /// The client of this process (built again after a fork).
    pub fn client(&self, py: Python<'_>) -> Result<Arc<MicrosoftAzure>, ObstoreError> {
        self.core.note_loop(py);
        self.client.get(|| self.build())
    }

    /// The handle operations use: the client below the prefix.
    pub fn any_store(&self, py: Python<'_>) -> Result<AnyStore, ObstoreError> {
        Ok(AnyStore {
            inner: with_prefix(self.client(py)?, self.core.prefix_path.as_ref()),
            executor: Executor::Runtime,
        })
    }

    /// The store prefix, for signing.
    pub fn prefix_path(&self) -> Option<&object_store::path::Path> {
        self.core.prefix_path.as_ref()
    }
}

#[pymethods]
impl PyAzureStore {
    #[new]
    #[pyo3(signature = (container_name=None, *, prefix=None, config=None, client_options=None, retry_config=None, credential_provider=None, **kwargs))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        container_name: Option<Bound<'_, PyAny>>,
        prefix: Option<String>,
        config: Option<Bound<'_, PyAny>>,
        client_options: Option<Bound<'_, PyAny>>,
        retry_config: Option<Bound<'_, PyAny>>,
        credential_provider: Option<Bound<'_, PyAny>>,
        kwargs: Option<Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let core = CloudCore::new::<AzureFamily>(CoreArgs {
            positional: container_name.as_ref().map(|c| ("container_name", c)),
            prefix,
            config: config.as_ref(),
            client_options: client_options.as_ref(),
            retry_config: retry_config.as_ref(),
            credential_provider: credential_provider.as_ref(),
            kwargs: kwargs.as_ref(),
            provider_config: true,
            provider_prefix: true,
            default_refresh_threshold: Duration::from_secs(5 * 60),
        })?;
        let store = Self {
            core,
            client: LazyClient::default(),
        };
        let built = store.build()?;
        Ok(Self {
            client: LazyClient::with(built),
            ..store
        })
    }

    /// Builds a store from an Azure URL; the path after the container becomes the prefix.
    #[classmethod]
    #[pyo3(signature = (url, *, config=None, client_options=None, retry_config=None, credential_provider=None, **kwargs))]
    #[allow(clippy::too_many_arguments)]
    fn from_url<'py>(
        cls: &Bound<'py, PyType>,
        url: &str,
        config: Option<Bound<'py, PyAny>>,
        client_options: Option<Bound<'py, PyAny>>,
        retry_config: Option<Bound<'py, PyAny>>,
        credential_provider: Option<Bound<'py, PyAny>>,
        kwargs: Option<Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args = FromUrlArgs {
            config,
            client_options,
            retry_config,
            credential_provider,
            kwargs,
        };
        call_from_url::<AzureFamily>(cls, url, parse_azure_url, args)
    }

    /// The key prefix prepended to every path, if any.
    #[getter]
    fn prefix(&self) -> Option<String> {
        self.core.prefix.clone()
    }

    /// The explicit settings (not environment ones), values as strings, secrets masked.
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.core.settings.public_dict::<AzureFamily>(py)
    }

    /// The HTTP client options, if any were given.
    #[getter]
    fn client_options<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.core.client_options_py(py)
    }

    /// The retry settings with defaults filled in, if given.
    #[getter]
    fn retry_config<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.core.retry_config_py(py)
    }

    /// The credential provider given at construction, if any.
    #[getter]
    fn credential_provider<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        self.core.credential_provider_py(py)
    }

    fn __getnewargs_ex__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyTuple>, Bound<'py, PyDict>)> {
        self.core.getnewargs(py)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<PyAzureStore>() {
            Ok(other) => self.core.equals(&other.get().core, other.py()),
            Err(_) => false,
        }
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let name = slf.get_type().name()?;
        let core = &slf.get().core;
        let container = core.effective("azure_container_name").unwrap_or_default();
        let account = core
            .effective("azure_storage_account_name")
            .unwrap_or_default();
        Ok(format!(
            "{name}(container_name=\"{container}\", account_name=\"{account}\"{})",
            core.repr_prefix()
        ))
    }
}
