//! Configuration of the network stores: the merge of `config`, positional and keyword settings,
//! environment fallbacks, value conversion and validation. It knows nothing of the store classes.
//!
//! - [`families`]: the key set of each cloud (S3, GCS, Azure): aliases, public names, secrets.
//! - [`client`]: `client_options` (`ClientConfig`) ↔ `object_store::ClientOptions`.
//! - [`retry`]: `retry_config` (`RetryConfig` / `BackoffConfig`) ↔ `object_store::RetryConfig`.
//! - [`values`]: the check of every value where it enters (constructor, environment, credential
//!   providers), so that none reaches `object_store` that it would panic on.
//!
//! Keys are kept under their canonical `object_store` name (e.g. `aws_bucket`): that name is what
//! duplicate-key errors report and what pickling passes back to the constructor. `.config` shows
//! the short public names and masks secrets.

pub mod client;
pub mod families;
pub mod retry;
pub mod values;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use object_store::path::Path;
use object_store::ClientConfigKey;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDelta, PyDict, PyString};

use crate::error::{new_error, ExceptionKind};
use values::{validate, Origin, ValueKind};

/// Whether a configuration text means "on", as `object_store` reads booleans.
pub fn is_truthy(value: &str) -> bool {
    parse_flag(value) == Some(true)
}

/// A configuration flag as `object_store` reads booleans: `None` where it refuses the text.
pub fn parse_flag(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" | "y" => Some(true),
        "0" | "false" | "off" | "no" | "n" => Some(false),
        _ => None,
    }
}

/// What `.config` shows instead of a secret value.
pub const MASK: &str = "********";

/// Converts a configuration value: `str` as is, `bool` → `"true"`/`"false"`, `timedelta` →
/// humantime text (`"1s 500ms"`); anything else is a `TypeError` naming the key.
pub fn config_value(key: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(s.to_str()?.to_string());
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(if b.is_true() { "true" } else { "false" }.to_string());
    }
    if value.cast::<PyDelta>().is_ok() {
        return Ok(humantime::format_duration(timedelta(key, value)?).to_string());
    }
    Err(PyTypeError::new_err(format!(
        "'{}' object is not an instance of 'str' (configuration key '{key}' expects a str, bool or timedelta)",
        value.get_type().name()?
    )))
}

/// A non-negative `timedelta` as a `Duration`; `TypeError` naming `key` otherwise.
pub fn timedelta(key: &str, value: &Bound<'_, PyAny>) -> PyResult<Duration> {
    if value.cast::<PyDelta>().is_err() {
        return Err(PyTypeError::new_err(format!(
            "'{}' object is not an instance of 'timedelta' (key '{key}')",
            value.get_type().name()?
        )));
    }
    value
        .extract::<Duration>()
        .map_err(|_| PyValueError::new_err(format!("'{key}' must be a non-negative timedelta")))
}

/// One network store family: how its configuration keys are parsed and shown.
pub trait StoreFamily: 'static {
    /// The `object_store` key enum (its `FromStr` accepts every alias).
    type Key: FromStr<Err = object_store::Error> + AsRef<str>;
    /// The prefix of the environment variables read at construction (`"AWS_"`).
    const ENV_PREFIX: &'static str;
    /// The prefixes `.config` leaves out of canonical key names, longest first.
    const NAME_PREFIXES: &'static [&'static str];
    /// The canonical keys whose values `.config` masks.
    const SECRET_KEYS: &'static [&'static str];

    /// The client option behind a key, when the key is a client option: its name is then the
    /// client option's (every store key's name carries the family's prefix, no client option's
    /// does).
    fn client_key(key: &Self::Key) -> Option<ClientConfigKey> {
        ClientConfigKey::from_str(key.as_ref()).ok()
    }

    /// The name `.config` shows for a canonical key.
    fn public_name(canonical: &str) -> &str {
        Self::NAME_PREFIXES
            .iter()
            .find_map(|prefix| canonical.strip_prefix(prefix))
            .unwrap_or(canonical)
    }

    /// Whether `.config` must mask the value of a canonical key.
    fn is_secret(canonical: &str) -> bool {
        Self::SECRET_KEYS.contains(&canonical)
    }

    /// What the value of a canonical key may contain (where it ends up).
    fn value_kind(canonical: &str) -> ValueKind;
    /// The environment variables that, set to true, forbid the instance metadata service.
    const METADATA_DISABLED_VARS: &'static [&'static str];
}

/// Checks the value of canonical store key `name` of family `F`, given under `origin`.
fn check_store_value<F: StoreFamily>(origin: Origin<'_>, name: &str, value: &str) -> PyResult<()> {
    validate(origin, F::value_kind(name), value, F::is_secret(name))
}

/// The name an error shows for key `raw` (canonical `name`): as the user spelt it, or the public
/// name for a canonical one (which `from_url` and pickling pass).
fn shown_key<'a, F: StoreFamily>(raw: &'a str, name: &'a str) -> &'a str {
    if raw.eq_ignore_ascii_case(name) {
        F::public_name(name)
    } else {
        raw
    }
}

/// A parsed key: a store setting (canonical name) or a client option.
pub enum ParsedKey {
    /// A setting of the store itself, by canonical name.
    Store(String),
    /// A client option given among the store settings.
    Client(ClientConfigKey),
}

/// Parses one key (case-insensitive, every alias) of family `F`.
pub fn parse_key<F: StoreFamily>(raw: &str) -> PyResult<ParsedKey> {
    let lower = raw.to_ascii_lowercase();
    let key = match F::Key::from_str(&lower) {
        Ok(key) => key,
        // obstore's own settings, where `object_store` has no key of that name.
        Err(_)
            if lower == crate::integrity::VERIFY_KEY
                || lower == crate::integrity::ALGORITHM_KEY =>
        {
            return Ok(ParsedKey::Store(lower));
        }
        Err(err) => {
            return Err(new_error(
                ExceptionKind::UnknownConfigurationKeyError,
                err.to_string(),
            ))
        }
    };
    Ok(match F::client_key(&key) {
        Some(client) => ParsedKey::Client(client),
        None => ParsedKey::Store(key.as_ref().to_string()),
    })
}

fn duplicate(name: &str) -> PyErr {
    new_error(
        ExceptionKind::GenericError,
        format!("Duplicate key {name} provided"),
    )
}

/// The explicit settings of a store, merged from `config`, positional and keyword arguments.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoreSettings {
    /// Store settings by canonical key.
    pub store: BTreeMap<String, String>,
    /// Client options, from `client_options` and client keys given among the settings.
    pub client: client::ClientConfig,
}

impl StoreSettings {
    /// Adds one explicitly given setting; a key given twice is a `GenericError`.
    pub fn insert<F: StoreFamily>(&mut self, raw: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        match parse_key::<F>(raw)? {
            ParsedKey::Store(name) => {
                let value = config_value(&name, value)?;
                check_store_value::<F>(Origin::Key(shown_key::<F>(raw, &name)), &name, &value)?;
                if self.store.insert(name.clone(), value).is_some() {
                    return Err(duplicate(&name));
                }
            }
            ParsedKey::Client(key) => {
                let name = key.as_ref().to_string();
                let value = config_value(&name, value)?;
                client::check_text(Origin::Key(raw), &key, &value)?;
                if self.client.contains(&name) {
                    return Err(duplicate(&name));
                }
                self.client.set(name, client::ClientValue::Text(value));
            }
        }
        Ok(())
    }

    /// Adds every item of a mapping (`config=` or `**kwargs`).
    pub fn insert_all<F: StoreFamily>(
        &mut self,
        mapping: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        for (key, value) in dict_items(mapping, "config", "configuration")? {
            self.insert::<F>(&key, &value)?;
        }
        Ok(())
    }

    /// Adds the settings of a credential provider's `config` attribute where not already set.
    pub fn fill_from<F: StoreFamily>(&mut self, mapping: &Bound<'_, PyAny>) -> PyResult<()> {
        if mapping.is_none() {
            return Ok(());
        }
        let dict = mapping
            .cast::<PyDict>()
            .map_err(|_| PyTypeError::new_err("credential_provider.config must be a dict"))?;
        for (key, value) in dict.iter() {
            let key: String = key.extract()?;
            match parse_key::<F>(&key)? {
                ParsedKey::Store(name) => {
                    if let std::collections::btree_map::Entry::Vacant(slot) = self.store.entry(name)
                    {
                        let value = config_value(slot.key(), &value)?;
                        let name = slot.key();
                        check_store_value::<F>(
                            Origin::Key(shown_key::<F>(&key, name)),
                            name,
                            &value,
                        )?;
                        slot.insert(value);
                    }
                }
                ParsedKey::Client(client_key) => {
                    let name = client_key.as_ref().to_string();
                    if !self.client.contains(&name) {
                        let value = config_value(&name, &value)?;
                        client::check_text(Origin::Key(&key), &client_key, &value)?;
                        self.client.set(name, client::ClientValue::Text(value));
                    }
                }
            }
        }
        Ok(())
    }

    /// `.config`: public names, values as strings, secrets masked.
    pub fn public_dict<'py, F: StoreFamily>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in &self.store {
            let shown = if F::is_secret(name) {
                MASK
            } else {
                value.as_str()
            };
            dict.set_item(F::public_name(name), shown)?;
        }
        Ok(dict)
    }

    /// The settings with their real values under canonical names (for pickling).
    pub fn canonical_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in &self.store {
            dict.set_item(name, value)?;
        }
        Ok(dict)
    }
}

/// The environment variables of family `F` (those whose lower-cased name is a key), split into
/// store settings and client options. Read once, at construction.
#[derive(Clone, Debug, Default)]
pub struct EnvSettings {
    /// Store settings by canonical key.
    pub store: Vec<(String, String)>,
    /// Client options.
    pub client: Vec<(ClientConfigKey, String)>,
    /// The first of the family's `METADATA_DISABLED_VARS` set to true, if any.
    pub metadata_disabled: Option<&'static str>,
}

impl EnvSettings {
    /// Reads the environment. Variables that `explicit` overrides are skipped; the values of the
    /// others are checked, and a bad one is a `ValueError` naming the variable.
    pub fn read<F: StoreFamily>(explicit: &StoreSettings) -> PyResult<Self> {
        let mut out = Self {
            metadata_disabled: metadata_disabled(F::METADATA_DISABLED_VARS)?,
            ..Self::default()
        };
        for (key, value) in std::env::vars_os() {
            let (Some(key), Some(value)) = (key.to_str(), value.to_str()) else {
                continue;
            };
            if !key.starts_with(F::ENV_PREFIX) {
                continue;
            }
            match parse_key::<F>(key) {
                Ok(ParsedKey::Store(name)) if !explicit.store.contains_key(&name) => {
                    check_store_value::<F>(Origin::EnvVar(key), &name, value)?;
                    out.store.push((name, value.to_string()));
                }
                Ok(ParsedKey::Client(client)) if !explicit.client.contains(client.as_ref()) => {
                    client::check_text(Origin::EnvVar(key), &client, value)?;
                    out.client.push((client, value.to_string()));
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// The value of a canonical store key from the environment.
    pub fn get(&self, canonical: &str) -> Option<&str> {
        self.store
            .iter()
            .rev()
            .find(|(k, _)| k == canonical)
            .map(|(_, v)| v.as_str())
    }
}

/// The first of `vars` set to a true value (`true`, `1`, `yes`, `on`), if any; a value that is
/// neither true nor false is a `ValueError` naming the variable.
pub fn metadata_disabled(vars: &[&'static str]) -> PyResult<Option<&'static str>> {
    let mut disabled = None;
    for name in vars {
        let Ok(raw) = std::env::var(name) else {
            continue;
        };
        let value = raw.trim();
        if is_truthy(value) {
            disabled = disabled.or(Some(*name));
        } else if !matches!(
            value.to_ascii_lowercase().as_str(),
            "" | "0" | "false" | "off" | "no" | "n"
        ) {
            return Err(PyValueError::new_err(format!(
                "Invalid value for the environment variable {name}: expected true or false, got \
                 {raw:?}"
            )));
        }
    }
    Ok(disabled)
}

/// Parses a store prefix given from Python.
pub fn parse_prefix(prefix: Option<&str>) -> PyResult<Option<Path>> {
    match prefix {
        None => Ok(None),
        Some(p) => {
            let path = Path::parse(p)
                .map_err(|err| PyValueError::new_err(format!("Could not parse prefix: {err}")))?;
            Ok((!path.as_ref().is_empty()).then_some(path))
        }
    }
}

/// `path` below `prefix`.
pub fn join_prefix(prefix: Option<&Path>, path: &Path) -> Path {
    match prefix {
        Some(prefix) => prefix.parts().chain(path.parts()).collect(),
        None => path.clone(),
    }
}

/// The URL path of a store URL as a prefix (percent-decoded), skipping `skip` leading segments.
pub fn url_prefix(url: &url::Url, skip: usize) -> PyResult<Option<String>> {
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).skip(skip).collect())
        .unwrap_or_default();
    if segments.is_empty() {
        return Ok(None);
    }
    let path = Path::from_url_path(segments.join("/")).map_err(|err| {
        PyValueError::new_err(format!("Could not parse the URL path as a prefix: {err}"))
    })?;
    Ok((!path.as_ref().is_empty()).then(|| path.to_string()))
}

/// The settings a store URL implies (canonical or alias key, value), and the prefix from its path.
pub type UrlSettings = (Vec<(&'static str, String)>, Option<String>);

/// Error for a URL a store cannot use, saying why (its password and query, which may hold a
/// SAS token, are not shown).
pub fn bad_url(url: &str, why: impl std::fmt::Display) -> PyErr {
    new_error(
        ExceptionKind::GenericError,
        format!("Unable to use URL \"{}\": {why}", values::redact_url(url)),
    )
}

/// The error for a plain `http://` endpoint without `allow_http`.
pub fn http_not_allowed(setting: &str, endpoint: &str) -> PyErr {
    new_error(
        ExceptionKind::GenericError,
        format!(
            "{setting} \"{endpoint}\" uses plain http://, which is refused unless allowed: pass \
             client_options={{\"allow_http\": True}} (or set allow_http) to use it"
        ),
    )
}

/// Settings that Python sees as a dict (the `client_options` and `retry_config` getters).
pub trait ToPyDict {
    /// The settings as a new dict.
    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>>;
}

/// Borrowed settings, converted to their dict when returned to Python.
pub struct AsDict<'a, T>(pub &'a T);

impl<'py, T: ToPyDict> IntoPyObject<'py> for AsDict<'_, T> {
    type Target = PyDict;
    type Output = Bound<'py, PyDict>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.0.to_py(py)
    }
}

/// The items of an optional dict argument, keys as `str`: none for `None`; else a `TypeError`
/// naming the argument (`name`) when it is not a dict, or its keys (`keys`) when one is not a str.
pub fn dict_items<'py>(
    value: Option<&Bound<'py, PyAny>>,
    name: &str,
    keys: &str,
) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(Vec::new());
    };
    let dict = value
        .cast::<PyDict>()
        .map_err(|_| PyTypeError::new_err(format!("{name} must be a dict")))?;
    dict.iter()
        .map(|(key, value)| {
            let key: String = key
                .extract()
                .map_err(|_| PyTypeError::new_err(format!("{keys} keys must be str")))?;
            Ok((key, value))
        })
        .collect()
}

/// `Err` ([`http_not_allowed`]) when `endpoint`, the value of `setting`, is plain HTTP.
pub fn refuse_plain_http(setting: &str, endpoint: Option<String>) -> PyResult<()> {
    match endpoint {
        Some(endpoint) if endpoint.to_ascii_lowercase().starts_with("http://") => {
            Err(http_not_allowed(setting, &endpoint))
        }
        _ => Ok(()),
    }
}

/// Inserts URL-derived settings into a copy of `config` where `config` lacks them (compared by
/// canonical key), for `from_url`.
pub fn merge_url_settings<'py, F: StoreFamily>(
    py: Python<'py>,
    config: Option<&Bound<'py, PyAny>>,
    url_settings: &[(&str, String)],
) -> PyResult<Bound<'py, PyDict>> {
    let merged = PyDict::new(py);
    let mut present = std::collections::BTreeSet::new();
    if let Some(config) = config.filter(|c| !c.is_none()) {
        let dict = config
            .cast::<PyDict>()
            .map_err(|_| PyTypeError::new_err("config must be a dict"))?;
        for (key, value) in dict.iter() {
            if let Ok(k) = key.extract::<String>() {
                if let Ok(ParsedKey::Store(name)) = parse_key::<F>(&k) {
                    present.insert(name);
                }
            }
            merged.set_item(key, value)?;
        }
    }
    for (key, value) in url_settings {
        if let ParsedKey::Store(name) = parse_key::<F>(key)? {
            if !present.contains(&name) {
                merged.set_item(name, value)?;
            }
        }
    }
    Ok(merged)
}
