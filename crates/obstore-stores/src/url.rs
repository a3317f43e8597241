//! `parse_scheme` and the URL dispatch of `obstore._store.from_url`.

use object_store::ObjectStoreScheme;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::error::ObstoreError;

/// Parses `url` into a `url::Url`, with the messages users see for malformed input.
pub fn parse_url(url: &str) -> PyResult<url::Url> {
    url::Url::parse(url).map_err(|err| PyValueError::new_err(err.to_string()))
}

/// Classifies a URL: one of "s3", "gcs", "azure", "http", "local", "memory".
pub fn scheme_name(url: &str) -> PyResult<&'static str> {
    let parsed = parse_url(url)?;
    let (scheme, _) = ObjectStoreScheme::parse(&parsed)
        .map_err(|_| ObstoreError::generic(format!("Unable to recognise URL \"{url}\"")))?;
    Ok(match scheme {
        ObjectStoreScheme::Local => "local",
        ObjectStoreScheme::Memory => "memory",
        ObjectStoreScheme::AmazonS3 => "s3",
        ObjectStoreScheme::GoogleCloudStorage => "gcs",
        ObjectStoreScheme::MicrosoftAzure => "azure",
        ObjectStoreScheme::Http => "http",
        _ => {
            return Err(ObstoreError::generic(format!("Unable to recognise URL \"{url}\"")).into())
        }
    })
}

use pyo3::types::{PyDict, PyType};

use crate::error::{new_error, ExceptionKind};
use crate::local::PyLocalStore;
use crate::memory::PyMemoryStore;

fn reject_config(
    store: &str,
    config: Option<&Bound<'_, PyAny>>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    if config.is_some_and(|c| !c.is_none()) || kwargs.is_some_and(|k| !k.is_empty()) {
        return Err(new_error(
            ExceptionKind::Base,
            format!("{store} does not accept any configuration"),
        ));
    }
    Ok(())
}

/// Builds the raw store class for `url` (`obstore._store.from_url`).
#[pyfunction]
#[pyo3(signature = (url, *, config = None, client_options = None, retry_config = None, credential_provider = None, **kwargs))]
pub fn from_url<'py>(
    py: Python<'py>,
    url: &str,
    config: Option<Bound<'py, PyAny>>,
    client_options: Option<Bound<'py, PyAny>>,
    retry_config: Option<Bound<'py, PyAny>>,
    credential_provider: Option<Bound<'py, PyAny>>,
    kwargs: Option<Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let _ = (&client_options, &retry_config);
    match scheme_name(url)? {
        "memory" => {
            reject_config("MemoryStore", config.as_ref(), kwargs.as_ref())?;
            if credential_provider.is_some_and(|c| !c.is_none()) {
                return Err(new_error(
                    ExceptionKind::Base,
                    "MemoryStore does not accept a credential provider",
                ));
            }
            py.get_type::<PyMemoryStore>().call0()
        }
        "local" => {
            if credential_provider.is_some_and(|c| !c.is_none()) {
                return Err(new_error(
                    ExceptionKind::Base,
                    "LocalStore does not accept a credential provider",
                ));
            }
            let local_kwargs = PyDict::new(py);
            if let Some(kwargs) = &kwargs {
                for key in ["automatic_cleanup", "mkdir"] {
                    if let Some(value) = kwargs.get_item(key)? {
                        local_kwargs.set_item(key, value)?;
                    }
                }
            }
            let class: Bound<'py, PyType> = py.get_type::<PyLocalStore>();
            class.call_method("from_url", (url,), Some(&local_kwargs))
        }
        other => crate::store::cloud_from_url(
            py,
            other,
            url,
            config,
            client_options,
            retry_config,
            credential_provider,
            kwargs,
        ),
    }
}
