//! `sign` / `sign_async`: presigned URLs for S3, GCS and Azure stores.

use std::time::Duration;

use object_store::path::Path;
use object_store::signer::Method;
use obstore_stores::config::join_prefix;
use obstore_stores::runtime::asyncio::{future_into_py, FirstPoll};
use obstore_stores::stores::{sign_target, SignTarget};
use obstore_stores::{runtime, ObstoreError, PyPath};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDelta, PyString};

use crate::convert::impl_into_pyobject;

/// The signed URL(s): one `str` for one path, a `list[str]` for a sequence.
pub enum Signed {
    One(String),
    Many(Vec<String>),
}

impl_into_pyobject!(Signed, PyAny, |signed, py| {
    match signed {
        Signed::One(url) => Ok(url.into_pyobject(py)?.into_any()),
        Signed::Many(urls) => Ok(urls.into_pyobject(py)?.into_any()),
    }
});

fn parse_method(method: &Bound<'_, PyAny>) -> PyResult<Method> {
    let text = method.str()?.to_string();
    let parsed = match text.as_str() {
        "GET" => Method::GET,
        "PUT" => Method::PUT,
        "POST" => Method::POST,
        "HEAD" => Method::HEAD,
        "PATCH" => Method::PATCH,
        "TRACE" => Method::TRACE,
        "DELETE" => Method::DELETE,
        "OPTIONS" => Method::OPTIONS,
        "CONNECT" => Method::CONNECT,
        _ => {
            return Err(PyValueError::new_err(format!(
                "Unsupported HTTP method {text}"
            )))
        }
    };
    Ok(parsed)
}

fn parse_expires_in(value: &Bound<'_, PyAny>) -> PyResult<Duration> {
    if value.cast::<PyDelta>().is_err() {
        return Err(PyTypeError::new_err(format!(
            "expires_in must be a datetime.timedelta, got {}",
            value.get_type().name()?
        )));
    }
    value
        .extract()
        .map_err(|_| PyValueError::new_err("expires_in must be a non-negative timedelta"))
}

/// The paths to sign and whether one `str` was given.
fn parse_paths(paths: &Bound<'_, PyAny>) -> PyResult<(Vec<Path>, bool)> {
    if let Ok(one) = paths.cast::<PyString>() {
        return Ok((vec![PyPath::parse(one.to_str()?)?.0], true));
    }
    let items: Vec<PyPath> = paths
        .extract()
        .map_err(|_| PyTypeError::new_err("paths must be a str or a sequence of str"))?;
    Ok((items.into_iter().map(|p| p.0).collect(), false))
}

struct SignRequest {
    target: SignTarget,
    method: Method,
    paths: Vec<Path>,
    single: bool,
    expires_in: Duration,
}

fn prepare(
    store: &Bound<'_, PyAny>,
    method: &Bound<'_, PyAny>,
    paths: &Bound<'_, PyAny>,
    expires_in: &Bound<'_, PyAny>,
) -> PyResult<SignRequest> {
    let target = sign_target(store)?;
    let method = parse_method(method)?;
    let (paths, single) = parse_paths(paths)?;
    let expires_in = parse_expires_in(expires_in)?;
    Ok(SignRequest {
        target,
        method,
        paths,
        single,
        expires_in,
    })
}

async fn sign_inner(request: SignRequest) -> Result<Signed, ObstoreError> {
    let paths: Vec<Path> = request
        .paths
        .iter()
        .map(|p| join_prefix(request.target.prefix.as_ref(), p))
        .collect();
    let urls = request
        .target
        .signer
        .signed_urls(request.method, &paths, request.expires_in)
        .await?;
    let mut urls: Vec<String> = urls.into_iter().map(String::from).collect();
    Ok(if request.single {
        Signed::One(urls.pop().unwrap_or_default())
    } else {
        Signed::Many(urls)
    })
}

#[doc = obstore_stores::pydoc!(sign)]
#[pyfunction]
#[pyo3(signature = (store, method, paths, expires_in))]
pub fn sign(
    py: Python<'_>,
    store: &Bound<'_, PyAny>,
    method: &Bound<'_, PyAny>,
    paths: &Bound<'_, PyAny>,
    expires_in: &Bound<'_, PyAny>,
) -> PyResult<Signed> {
    let request = prepare(store, method, paths, expires_in)?;
    Ok(runtime::block_on::<_, _, ObstoreError>(
        py,
        sign_inner(request),
    )?)
}

#[doc = obstore_stores::pydoc!(sign_async)]
#[pyfunction]
#[pyo3(signature = (store, method, paths, expires_in))]
pub fn sign_async<'py>(
    py: Python<'py>,
    store: &Bound<'py, PyAny>,
    method: &Bound<'py, PyAny>,
    paths: &Bound<'py, PyAny>,
    expires_in: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let request = prepare(store, method, paths, expires_in)?;
    future_into_py(py, FirstPoll::Runtime, sign_inner(request))
}
