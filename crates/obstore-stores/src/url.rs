//! URL parsing shared by `parse_scheme` and `from_url`: which kind of store a URL names.

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
