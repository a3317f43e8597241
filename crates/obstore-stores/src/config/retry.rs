//! `retry_config` (`RetryConfig` / `BackoffConfig`) ↔ `object_store::RetryConfig`.
//!
//! Missing keys take the `object_store` defaults (backoff 100 ms → 15 s, base 2, 10 retries,
//! 3 min retry timeout); an unknown key is a `ValueError` naming it (a misspelt `max_retry` would
//! otherwise leave the default in force unnoticed); wrong value types raise `TypeError`.

use std::time::Duration;

use object_store::{BackoffConfig, RetryConfig};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt};

use super::timedelta;

/// A complete retry configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct PyRetryConfig {
    /// First backoff delay.
    pub init_backoff: Duration,
    /// Largest backoff delay.
    pub max_backoff: Duration,
    /// Growth factor of the backoff.
    pub base: f64,
    /// Retries before giving up (0 disables retries).
    pub max_retries: usize,
    /// Time after which no retry is attempted.
    pub retry_timeout: Duration,
}

impl Default for PyRetryConfig {
    fn default() -> Self {
        let retry = RetryConfig::default();
        Self {
            init_backoff: retry.backoff.init_backoff,
            max_backoff: retry.backoff.max_backoff,
            base: retry.backoff.base,
            max_retries: retry.max_retries,
            retry_timeout: retry.retry_timeout,
        }
    }
}

fn number(key: &str, value: &Bound<'_, PyAny>) -> PyResult<f64> {
    if value.cast::<PyBool>().is_err()
        && (value.cast::<PyInt>().is_ok() || value.cast::<PyFloat>().is_ok())
    {
        let v: f64 = value.extract()?;
        if v.is_finite() && v >= 1.0 {
            return Ok(v);
        }
        return Err(PyValueError::new_err(format!(
            "'{key}' must be a finite number >= 1"
        )));
    }
    Err(PyTypeError::new_err(format!(
        "'{}' object is not an instance of 'int' or 'float' (key '{key}')",
        value.get_type().name()?
    )))
}

fn count(key: &str, value: &Bound<'_, PyAny>) -> PyResult<usize> {
    if value.cast::<PyBool>().is_err() && value.cast::<PyInt>().is_ok() {
        return value
            .extract()
            .map_err(|_| PyValueError::new_err(format!("'{key}' must be a non-negative int")));
    }
    Err(PyTypeError::new_err(format!(
        "'{}' object is not an instance of 'int' (key '{key}')",
        value.get_type().name()?
    )))
}

/// The keys of `retry_config`.
const RETRY_KEYS: [&str; 3] = ["backoff", "max_retries", "retry_timeout"];
/// The keys of `retry_config["backoff"]`.
const BACKOFF_KEYS: [&str; 3] = ["init_backoff", "max_backoff", "base"];

/// The items of `dict` (named `what` in messages), each key one of `known`.
fn items<'py>(
    dict: &Bound<'py, PyDict>,
    what: &str,
    known: &[&str],
) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
    let mut out = Vec::with_capacity(dict.len());
    for (key, value) in dict.iter() {
        let key: String = key
            .extract()
            .map_err(|_| PyTypeError::new_err(format!("{what} keys must be str")))?;
        if !known.contains(&key.as_str()) {
            return Err(PyValueError::new_err(format!(
                "Unknown key '{key}' in {what}; the keys are {}",
                known.join(", ")
            )));
        }
        out.push((key, value));
    }
    Ok(out)
}

impl PyRetryConfig {
    /// Parses the `retry_config` argument; `None` → `None`.
    pub fn from_py(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Self>> {
        let Some(value) = value.filter(|v| !v.is_none()) else {
            return Ok(None);
        };
        let dict = value
            .cast::<PyDict>()
            .map_err(|_| PyTypeError::new_err("retry_config must be a dict"))?;
        let mut out = Self::default();
        for (key, value) in items(dict, "retry_config", &RETRY_KEYS)? {
            match key.as_str() {
                "backoff" => {
                    let backoff = value.cast::<PyDict>().map_err(|_| {
                        PyTypeError::new_err("retry_config['backoff'] must be a dict")
                    })?;
                    for (key, value) in items(backoff, "retry_config['backoff']", &BACKOFF_KEYS)? {
                        match key.as_str() {
                            "init_backoff" => out.init_backoff = timedelta(&key, &value)?,
                            "max_backoff" => out.max_backoff = timedelta(&key, &value)?,
                            _ => out.base = number(&key, &value)?,
                        }
                    }
                }
                "max_retries" => out.max_retries = count(&key, &value)?,
                _ => out.retry_timeout = timedelta(&key, &value)?,
            }
        }
        out.check_backoff()?;
        Ok(Some(out))
    }

    /// `object_store` draws each wait from `init_backoff..previous * base`, and panics when that
    /// range is empty: a zero `init_backoff`, a `base` of 1 or less (or not finite), or a
    /// `max_backoff` below `init_backoff` (which pulls the previous wait under the start).
    fn check_backoff(&self) -> PyResult<()> {
        let bad = |why: &str| {
            Err(PyValueError::new_err(format!(
                "retry_config['backoff'] {why} (init_backoff={:?}, max_backoff={:?}, base={})",
                self.init_backoff, self.max_backoff, self.base
            )))
        };
        if self.init_backoff.is_zero() {
            return bad("needs an init_backoff above zero");
        }
        if !(self.base.is_finite() && self.base > 1.0) {
            return bad("needs a finite base above 1");
        }
        if self.max_backoff < self.init_backoff {
            return bad("needs a max_backoff of at least init_backoff");
        }
        Ok(())
    }

    /// The `object_store` configuration.
    pub fn to_object_store(&self) -> RetryConfig {
        RetryConfig {
            backoff: BackoffConfig {
                init_backoff: self.init_backoff,
                max_backoff: self.max_backoff,
                base: self.base,
            },
            max_retries: self.max_retries,
            retry_timeout: self.retry_timeout,
        }
    }

    /// The complete dict (the `retry_config` getter, and pickling).
    pub fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let backoff = PyDict::new(py);
        backoff.set_item("init_backoff", self.init_backoff)?;
        backoff.set_item("max_backoff", self.max_backoff)?;
        backoff.set_item("base", self.base)?;
        let dict = PyDict::new(py);
        dict.set_item("backoff", backoff)?;
        dict.set_item("max_retries", self.max_retries)?;
        dict.set_item("retry_timeout", self.retry_timeout)?;
        Ok(dict)
    }
}

impl super::ToPyDict for PyRetryConfig {
    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        PyRetryConfig::to_py(self, py)
    }
}
