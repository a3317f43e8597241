//! `client_options` (`ClientConfig`): the HTTP client settings every network store accepts.
//!
//! Input keys are matched case-insensitively (an unknown one is a `ValueError`); values are `str`,
//! `bool` or `timedelta` (timeouts), plus `default_headers` (`dict[str, str | bytes]`) and
//! `root_certificate` (PEM `str | bytes`, each certificate loaded once to check it).
//! The `.client_options` getter returns lower-cased keys and string values, with the headers and
//! the certificate as `bytes`. `max_concurrent_requests` is ours, not `object_store`'s: the limit
//! of one store's requests in flight (see [`crate::runtime::lane::LaneConnector`]).

use std::collections::BTreeMap;
use std::str::FromStr;

use object_store::{Certificate, ClientConfigKey, ClientOptions};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use super::config_value;
use super::values::{validate, Origin, ValueKind};
use crate::error::{new_error, ExceptionKind};

/// One client option value.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientValue {
    /// A `ClientConfigKey` value, as text.
    Text(String),
    /// `default_headers`: name → raw value.
    Headers(Vec<(String, Vec<u8>)>),
    /// `root_certificate`: PEM bytes (one certificate or a bundle).
    Pem(Vec<u8>),
}

/// The client option that bounds one store's requests in flight.
pub const MAX_CONCURRENT_REQUESTS: &str = "max_concurrent_requests";

/// Requests one store keeps in flight at most, unless `max_concurrent_requests` says otherwise.
/// Each holds a socket until its body is read: 512 stays well under the usual 1,024 open files
/// per process, and above the 256 in flight at which one store saturates two cores.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 512;

fn positive_count(key: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    let count = match value.extract::<u64>() {
        Ok(n) if !value.is_instance_of::<pyo3::types::PyBool>() => Some(n),
        _ => value
            .cast::<PyString>()
            .ok()
            .and_then(|s| s.to_str().ok()?.trim().parse::<u64>().ok()),
    };
    match count {
        Some(n) if n >= 1 => Ok(n.to_string()),
        _ => Err(PyValueError::new_err(format!(
            "client option '{key}' must be a whole number of at least 1, got {}",
            value.repr()?
        ))),
    }
}

/// Validated client options, by lower-cased key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClientConfig {
    entries: BTreeMap<String, ClientValue>,
}

fn bytes_or_str(key: &str, value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(s.to_str()?.as_bytes().to_vec());
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    Err(PyTypeError::new_err(format!(
        "'{}' object is not an instance of 'str' or 'bytes' (client option '{key}')",
        value.get_type().name()?
    )))
}

/// Checks the text value of client option `key`, given under `origin`: a PEM certificate spans
/// lines; every other option is a flag, a duration, a URL or a header value.
pub fn check_text(origin: Origin<'_>, key: &ClientConfigKey, value: &str) -> PyResult<()> {
    let kind = match key {
        ClientConfigKey::ProxyCaCertificate => ValueKind::Local,
        _ => ValueKind::Text,
    };
    validate(origin, kind, value, false)
}

fn unknown_key(key: &str) -> PyErr {
    PyValueError::new_err(format!(
        "Invalid key: {key}. client_options has no key '{key}' (its keys are those of \
         obstore.store.ClientConfig)"
    ))
}

/// The error for a `root_certificate` that is PEM but not a certificate: the library's own error,
/// as for any certificate the HTTP client refuses.
fn bad_certificate(index: usize, err: &dyn std::error::Error) -> PyErr {
    let mut cause = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    new_error(
        ExceptionKind::GenericError,
        format!(
            "Invalid certificate in `root_certificate` (PEM block {}): the HTTP client cannot \
             use it ({cause})",
            index + 1
        ),
    )
}

fn parse_certificates(pem: &[u8]) -> PyResult<Vec<Certificate>> {
    let certs = Certificate::from_pem_bundle(pem).map_err(|err| {
        PyValueError::new_err(format!("Invalid PEM in `root_certificate` input: {err}"))
    })?;
    if certs.is_empty() {
        return Err(PyValueError::new_err(
            "No certificates found in `root_certificate` input; expected one or more PEM \
             `-----BEGIN CERTIFICATE-----` blocks",
        ));
    }
    Ok(certs)
}

/// Parses `root_certificate` and decodes each certificate as the HTTP client does when it trusts
/// it: PEM armour around bytes that are not a certificate fails here rather than at the first
/// request.
fn check_certificates(pem: &[u8]) -> PyResult<()> {
    parse_certificates(pem)?;
    for (index, cert) in certificate_ders(pem)?.into_iter().enumerate() {
        rustls::RootCertStore::empty()
            .add(cert)
            .map_err(|err| bad_certificate(index, &err))?;
    }
    Ok(())
}

/// The DER bytes of each certificate of a PEM bundle.
fn certificate_ders(pem: &[u8]) -> PyResult<Vec<CertificateDer<'static>>> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| {
            PyValueError::new_err(format!("Invalid PEM in `root_certificate` input: {err}"))
        })
}

/// Checks a `default_headers` value: S3 signs every header as text, and panics on one that is
/// not, so header values are held to the rule of every other header-bound value.
fn check_header_value(name: &str, value: &[u8]) -> PyResult<()> {
    let origin = format!("default_headers[{name:?}]");
    match std::str::from_utf8(value) {
        Ok(text) => validate(Origin::Key(&origin), ValueKind::Text, text, false),
        Err(_) => Err(PyValueError::new_err(format!(
            "Invalid value for the configuration key '{origin}': it is not text (it has bytes \
             that are not UTF-8), which cannot be sent in an HTTP header (only printable ASCII \
             can)"
        ))),
    }
}

fn header_map(headers: &[(String, Vec<u8>)]) -> PyResult<::http::HeaderMap> {
    let mut map = ::http::HeaderMap::new();
    for (name, value) in headers {
        let name = ::http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|err| PyValueError::new_err(format!("Invalid header name {name:?}: {err}")))?;
        let value = ::http::HeaderValue::from_bytes(value).map_err(|err| {
            PyValueError::new_err(format!("Invalid value for header {name}: {err}"))
        })?;
        map.append(name, value);
    }
    Ok(map)
}

impl ClientConfig {
    /// Parses the `client_options` argument (`None` → empty).
    pub fn from_py(value: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let mut out = Self::default();
        for (key, value) in super::dict_items(value, "client_options", "client_options")? {
            let key = key.to_ascii_lowercase();
            let parsed = match key.as_str() {
                "default_headers" => {
                    let headers = value.cast::<PyDict>().map_err(|_| {
                        PyTypeError::new_err("client option 'default_headers' must be a dict")
                    })?;
                    let mut list = Vec::new();
                    for (name, v) in headers.iter() {
                        let name: String = name.extract().map_err(|_| {
                            PyTypeError::new_err("default_headers names must be str")
                        })?;
                        let value = bytes_or_str("default_headers", &v)?;
                        check_header_value(&name, &value)?;
                        list.push((name, value));
                    }
                    header_map(&list)?;
                    ClientValue::Headers(list)
                }
                "root_certificate" => {
                    let pem = bytes_or_str("root_certificate", &value)?;
                    check_certificates(&pem)?;
                    ClientValue::Pem(pem)
                }
                MAX_CONCURRENT_REQUESTS => ClientValue::Text(positive_count(&key, &value)?),
                other => {
                    let parsed =
                        ClientConfigKey::from_str(other).map_err(|_| unknown_key(other))?;
                    let text = config_value(other, &value)?;
                    check_text(Origin::Key(other), &parsed, &text)?;
                    ClientValue::Text(text)
                }
            };
            out.entries.insert(key, parsed);
        }
        Ok(out)
    }

    /// Whether `key` (lower-cased) is set.
    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// Sets `key` (lower-cased).
    pub fn set(&mut self, key: String, value: ClientValue) {
        self.entries.insert(key, value);
    }

    /// Whether no option is set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The text value of `key`, if set.
    pub fn text(&self, key: &str) -> Option<&str> {
        match self.entries.get(key) {
            Some(ClientValue::Text(v)) => Some(v),
            _ => None,
        }
    }

    /// The limit of requests in flight (`max_concurrent_requests`, else the default).
    pub fn max_concurrent_requests(&self) -> usize {
        self.text(MAX_CONCURRENT_REQUESTS)
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_MAX_CONCURRENT_REQUESTS)
    }

    /// The `root_certificate` certificates, for the HTTP client to trust.
    pub fn root_certificates(&self) -> PyResult<Vec<CertificateDer<'static>>> {
        let Some(ClientValue::Pem(pem)) = self.entries.get("root_certificate") else {
            return Ok(Vec::new());
        };
        certificate_ders(pem)
    }

    /// The options as a dict (the `client_options` getter, and pickling).
    pub fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (key, value) in &self.entries {
            match value {
                ClientValue::Text(v) => dict.set_item(key, v)?,
                ClientValue::Pem(pem) => dict.set_item(key, PyBytes::new(py, pem))?,
                ClientValue::Headers(headers) => {
                    let h = PyDict::new(py);
                    for (name, v) in headers {
                        h.set_item(name, PyBytes::new(py, v))?;
                    }
                    dict.set_item(key, h)?;
                }
            }
        }
        Ok(dict)
    }

    /// Applies the options on top of `options` (environment-derived ones, usually).
    pub fn apply(&self, mut options: ClientOptions) -> PyResult<ClientOptions> {
        for (key, value) in &self.entries {
            options = match value {
                ClientValue::Text(_) if key == MAX_CONCURRENT_REQUESTS => options,
                ClientValue::Text(v) => {
                    let key = ClientConfigKey::from_str(key)
                        .map_err(|_| PyValueError::new_err(format!("Invalid key: {key}.")))?;
                    options.with_config(key, v.clone())
                }
                ClientValue::Headers(headers) => options.with_default_headers(header_map(headers)?),
                ClientValue::Pem(pem) => {
                    let mut options = options;
                    for cert in parse_certificates(pem)? {
                        options = options.with_root_certificate(cert);
                    }
                    options
                }
            };
        }
        Ok(options)
    }

    /// The `ClientOptions` of a store: environment options first, then these.
    pub fn build(&self, env: &[(ClientConfigKey, String)]) -> PyResult<ClientOptions> {
        let mut options = ClientOptions::new();
        for (key, value) in env {
            options = options.with_config(*key, value.clone());
        }
        self.apply(options)
    }
}

/// Whether plain `http://` is allowed by the effective client options.
pub fn allows_http(options: &ClientOptions) -> bool {
    options
        .get_config_value(&ClientConfigKey::AllowHttp)
        .is_some_and(|v| super::is_truthy(&v))
}

impl super::ToPyDict for ClientConfig {
    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        ClientConfig::to_py(self, py)
    }
}
