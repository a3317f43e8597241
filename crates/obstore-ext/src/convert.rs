//! Conversions between `object_store` values and the dicts Python sees (ObjectMeta, PutResult, attributes).

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use object_store::{Attribute, AttributeValue, Attributes, ObjectMeta, PutResult};
use obstore_stores::integrity::ServerChecksums;
use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString};

/// Implements `IntoPyObject` for `$type`, which Python sees as a `$target` built by `$body`
/// (with `$value` the value converted and `$py` the GIL token): the trait's associated types are
/// the same for every value returned to Python.
macro_rules! impl_into_pyobject {
    ($type:ty, $target:ty, |$value:ident, $py:ident| $body:block) => {
        impl<'py> pyo3::IntoPyObject<'py> for $type {
            type Target = $target;
            type Output = pyo3::Bound<'py, $target>;
            type Error = pyo3::PyErr;

            fn into_pyobject(self, $py: pyo3::Python<'py>) -> pyo3::PyResult<Self::Output> {
                let $value = self;
                $body
            }
        }
    };
}
pub(crate) use impl_into_pyobject;

/// The `#[pymethods]` of a class that is its own iterator for `for` and `async for`: the
/// methods given (`__next__`, `__anext__`, ...) and `__iter__` and `__aiter__`.
macro_rules! iterator_methods {
    ($class:ident, { $($methods:tt)* }) => {
        $crate::convert::iterator_methods!(@impl $class, { $($methods)* }, __iter__, __aiter__);
    };
    (@impl $class:ident, { $($methods:tt)* }, $($iter:ident),*) => {
        #[pymethods]
        impl $class {
            $(
                fn $iter(slf: Bound<'_, Self>) -> Bound<'_, Self> {
                    slf
                }
            )*

            $($methods)*
        }
    };
}
pub(crate) use iterator_methods;

/// Builds the ObjectMeta dict.
pub fn meta_to_dict<'py>(py: Python<'py>, meta: &ObjectMeta) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    set_meta(py, &dict, meta)?;
    Ok(dict)
}

/// Sets the ObjectMeta keys of `dict`, in their order.
fn set_meta(py: Python<'_>, dict: &Bound<'_, PyDict>, meta: &ObjectMeta) -> PyResult<()> {
    dict.set_item(intern!(py, "path"), meta.location.as_ref())?;
    dict.set_item(intern!(py, "last_modified"), meta.last_modified)?;
    dict.set_item(intern!(py, "size"), meta.size)?;
    dict.set_item(intern!(py, "e_tag"), meta.e_tag.as_deref())?;
    dict.set_item(intern!(py, "version"), meta.version.as_deref())?;
    Ok(())
}

/// The ObjectMeta dict of `head` and `GetResult.meta`, with `checksums`: what the server
/// announced for the whole object, `{algorithm: base64 digest}` (empty when it announced none).
pub struct PyObjectMetaChecksums(pub ObjectMeta, pub Option<ServerChecksums>);

impl_into_pyobject!(PyObjectMetaChecksums, PyDict, |value, py| {
    meta_with_checksums(py, &value.0, value.1.as_ref())
});

/// Builds the ObjectMeta dict with its `checksums`.
pub fn meta_with_checksums<'py>(
    py: Python<'py>,
    meta: &ObjectMeta,
    checksums: Option<&ServerChecksums>,
) -> PyResult<Bound<'py, PyDict>> {
    // A new dict has room for five keys, so a sixth resizes it; a copy of a dict with the same
    // six keys comes sized for them, and setting them keeps their order.
    static KEYS: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
    let keys = KEYS.get_or_try_init(py, || -> PyResult<Py<PyDict>> {
        let keys = PyDict::new(py);
        for key in [
            "path",
            "last_modified",
            "size",
            "e_tag",
            "version",
            "checksums",
        ] {
            keys.set_item(PyString::intern(py, key), py.None())?;
        }
        Ok(keys.unbind())
    })?;
    let dict = keys.bind(py).copy()?;
    set_meta(py, &dict, meta)?;
    let found = PyDict::new(py);
    if let Some(checksums) = checksums {
        for (name, digest) in checksums.encoded() {
            found.set_item(name, digest)?;
        }
    }
    dict.set_item(intern!(py, "checksums"), found)?;
    Ok(dict)
}

/// `PutResult` as a Python dict: e_tag, version.
pub struct PyPutResult(pub PutResult);

impl_into_pyobject!(PyPutResult, PyDict, |result, py| {
    let dict = PyDict::new(py);
    dict.set_item(intern!(py, "e_tag"), result.0.e_tag)?;
    dict.set_item(intern!(py, "version"), result.0.version)?;
    Ok(dict)
});

/// The canonical name of an attribute, as returned to Python.
fn attribute_name(attribute: &Attribute) -> &str {
    match attribute {
        Attribute::ContentDisposition => "Content-Disposition",
        Attribute::ContentEncoding => "Content-Encoding",
        Attribute::ContentLanguage => "Content-Language",
        Attribute::ContentType => "Content-Type",
        Attribute::CacheControl => "Cache-Control",
        Attribute::StorageClass => "Storage-Class",
        Attribute::Metadata(name) => name,
        _ => "Unknown",
    }
}

/// Parses an attribute name: the six standard names match case-insensitively, with or without
/// the hyphen; anything else is user metadata kept verbatim.
fn parse_attribute(name: &str) -> Attribute {
    let folded: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    match folded.as_str() {
        "contentdisposition" => Attribute::ContentDisposition,
        "contentencoding" => Attribute::ContentEncoding,
        "contentlanguage" => Attribute::ContentLanguage,
        "contenttype" => Attribute::ContentType,
        "cachecontrol" => Attribute::CacheControl,
        "storageclass" => Attribute::StorageClass,
        _ => Attribute::Metadata(Cow::Owned(name.to_string())),
    }
}

/// Attributes given from Python: `dict[str, str]`.
pub struct PyAttributes(pub Attributes);

impl<'a, 'py> FromPyObject<'a, 'py> for PyAttributes {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let dict = expect_dict(obj, "attributes must be a dict of str to str")?;
        let mut attributes = Attributes::with_capacity(dict.len());
        for (key, value) in dict.iter() {
            let key = key.cast::<PyString>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "attribute names must be str, got {}",
                    key.repr().map(|r| r.to_string()).unwrap_or_default()
                ))
            })?;
            let key = key.to_cow()?;
            let value: String = value.extract().map_err(|_| {
                PyTypeError::new_err(format!("the value of attribute {key:?} must be a str"))
            })?;
            attributes.insert(parse_attribute(&key), AttributeValue::from(value));
        }
        Ok(Self(attributes))
    }
}

/// Attributes as a Python dict with canonical names.
pub fn attributes_to_dict<'py>(
    py: Python<'py>,
    attributes: &Attributes,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (key, value) in attributes.iter() {
        dict.set_item(attribute_name(key), value.as_ref())?;
    }
    Ok(dict)
}

/// A datetime given from Python: aware datetimes are converted to UTC, naive ones are taken as UTC.
pub struct PyUtcDateTime(pub DateTime<Utc>);

impl<'a, 'py> FromPyObject<'a, 'py> for PyUtcDateTime {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(aware) = obj.extract::<DateTime<chrono::FixedOffset>>() {
            return Ok(Self(aware.with_timezone(&Utc)));
        }
        if let Ok(naive) = obj.extract::<chrono::NaiveDateTime>() {
            return Ok(Self(naive.and_utc()));
        }
        Err(PyTypeError::new_err(format!(
            "expected a datetime, got {}",
            obj.get_type().name()?
        )))
    }
}

/// Checks a value that is sent as an HTTP header (`if_match`, `if_none_match`, an `e_tag`):
/// `object_store` panics on a header value it cannot build, so such a value is refused here.
pub fn header_value(what: &str, value: String) -> PyResult<String> {
    if value
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
    {
        Ok(value)
    } else {
        Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{what} must be printable ASCII (it is sent as an HTTP header)"
        )))
    }
}

/// `obj` as a dict; otherwise a `TypeError` with `message`, which says what is expected.
pub fn expect_dict<'a, 'py>(
    obj: Borrowed<'a, 'py, PyAny>,
    message: &'static str,
) -> PyResult<Borrowed<'a, 'py, PyDict>> {
    obj.cast::<PyDict>()
        .map_err(|_| PyTypeError::new_err(message))
}

/// `value` of the argument `name`, refused when it is 0.
pub fn greater_than_zero(name: &str, value: usize) -> PyResult<usize> {
    if value == 0 {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{name} must be greater than 0"
        )));
    }
    Ok(value)
}

/// Rejects keys of an options dict that are not in `allowed`, naming the bad key.
pub fn check_keys(dict: &Bound<'_, PyDict>, what: &str, allowed: &[&str]) -> PyResult<()> {
    for key in dict.keys() {
        let name: String = key
            .extract()
            .map_err(|_| PyTypeError::new_err(format!("{what} keys must be str")))?;
        if !allowed.contains(&name.as_str()) {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "Unknown key {name:?} in {what}; expected one of: {}",
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}
