//! Python exception classes of `obstore.exceptions` and the mapping from `object_store` errors:
//! one line naming the operation, the store URL, the path and the cause, the whole cause chain in
//! a `details` attribute, and no secret in either.

use std::error::Error as StdError;
use std::fmt;

use pyo3::exceptions::{
    PyException, PyFileNotFoundError, PyNotImplementedError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

macro_rules! exception_classes {
    ($( $name:ident ),* $(,)?) => {
        /// The exception classes of `obstore.exceptions`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ExceptionKind { Base, $( $name ),* }

        impl ExceptionKind {
            /// Every kind, `Base` first (it is the parent of the others).
            pub const ALL: &'static [ExceptionKind] = &[ExceptionKind::Base, $( ExceptionKind::$name ),*];

            /// The class name, as exported in `obstore.exceptions`.
            pub fn name(self) -> &'static str {
                match self { ExceptionKind::Base => "BaseError", $( ExceptionKind::$name => stringify!($name) ),* }
            }

            /// The class docstring, from `exceptions.pyi`.
            fn doc(self) -> &'static str {
                match self {
                    ExceptionKind::Base => crate::pydoc!(BaseError),
                    $( ExceptionKind::$name => crate::pydoc!($name) ),*
                }
            }
        }
    };
}

exception_classes! {
    GenericError,
    NotFoundError,
    InvalidPathError,
    JoinError,
    NotSupportedError,
    AlreadyExistsError,
    PreconditionError,
    NotModifiedError,
    PermissionDeniedError,
    UnauthenticatedError,
    UnknownConfigurationKeyError,
    ChecksumMismatchError,
}

static CLASSES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

/// The attributes a store error carries, `None` on the class (errors raised outside an operation
/// have none of them).
const ERROR_ATTRIBUTES: [&str; 5] = ["operation", "url", "status", "code", "details"];

fn new_class<'py>(
    py: Python<'py>,
    kind: ExceptionKind,
    base: &Bound<'py, PyType>,
) -> Bound<'py, PyType> {
    if kind == ExceptionKind::NotFoundError {
        // A missing bucket is also a `FileNotFoundError`, as a missing object is, so that code
        // catching that keeps working; `PyErr::new_type` takes one base only.
        let namespace = PyDict::new(py);
        namespace
            .set_item("__doc__", kind.doc())
            .and_then(|_| namespace.set_item("__module__", "obstore.exceptions"))
            .expect("setting str items cannot fail");
        let bases = PyTuple::new(py, [base.clone(), py.get_type::<PyFileNotFoundError>()])
            .expect("a tuple of two classes");
        return py
            .get_type::<PyType>()
            .call1((kind.name(), bases, namespace))
            .and_then(|c| Ok(c.cast_into::<PyType>()?))
            .expect("creating an exception class cannot fail");
    }
    let name = std::ffi::CString::new(format!("obstore.exceptions.{}", kind.name()))
        .expect("class names have no NUL");
    let doc = std::ffi::CString::new(kind.doc()).expect("docs have no NUL");
    let namespace = (kind == ExceptionKind::Base).then(|| {
        let namespace = PyDict::new(py);
        for attribute in ERROR_ATTRIBUTES {
            namespace
                .set_item(attribute, py.None())
                .expect("setting a str item cannot fail");
        }
        namespace
    });
    // `new_type` drops its own reference to the dict before using it: `namespace` keeps it alive.
    let dict = namespace.as_ref().map(|n| n.clone().into_any().unbind());
    let class = PyErr::new_type(py, &name, Some(&doc), Some(base), dict)
        .expect("creating an exception class cannot fail")
        .into_bound(py);
    drop(namespace);
    class
}

fn classes(py: Python<'_>) -> &Vec<Py<PyType>> {
    CLASSES.get_or_init(py, || {
        let mut out: Vec<Py<PyType>> = Vec::with_capacity(ExceptionKind::ALL.len());
        for kind in ExceptionKind::ALL {
            let base = match kind {
                ExceptionKind::Base => py.get_type::<PyException>(),
                _ => out[0].bind(py).clone(),
            };
            out.push(new_class(py, *kind, &base).unbind());
        }
        out
    })
}

/// The Python class object of `kind`.
pub fn exception_class(py: Python<'_>, kind: ExceptionKind) -> Bound<'_, PyType> {
    let index = ExceptionKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(0);
    classes(py)[index].bind(py).clone()
}

/// A `PyErr` of the given obstore exception class.
pub fn new_error(kind: ExceptionKind, message: impl Into<String>) -> PyErr {
    let message = message.into();
    Python::attach(|py| PyErr::from_type(exception_class(py, kind), message))
}

/// Adds every exception class to `module` (the `obstore.exceptions` submodule).
pub fn register_exceptions_module(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    let mut names = Vec::new();
    for kind in ExceptionKind::ALL {
        module.add(kind.name(), exception_class(py, *kind))?;
        names.push(kind.name());
    }
    module.add("__all__", names)?;
    Ok(())
}

/// Every error an obstore operation can produce, converted to a Python exception at the boundary.
#[derive(Debug, thiserror::Error)]
pub enum ObstoreError {
    /// An error reported by the `object_store` crate.
    #[error(transparent)]
    Store(#[from] object_store::Error),
    /// An error that is already a Python exception (for example raised by a callback).
    #[error(transparent)]
    Python(#[from] PyErr),
    /// Invalid input from the caller: a `ValueError`.
    #[error("{0}")]
    Value(String),
    /// Wrong argument type: a `TypeError`.
    #[error("{0}")]
    Type(String),
    /// A local I/O failure: the matching builtin `OSError` subclass.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// An obstore exception class with a message.
    #[error("{1}")]
    Obstore(ExceptionKind, String),
}

/// Result type of obstore operations.
pub type ObstoreResult<T> = Result<T, ObstoreError>;

impl ObstoreError {
    /// A `ValueError` with `message`.
    pub fn value(message: impl Into<String>) -> Self {
        Self::Value(message.into())
    }

    /// A `GenericError` with `message`.
    pub fn generic(message: impl Into<String>) -> Self {
        Self::Obstore(ExceptionKind::GenericError, message.into())
    }
}

/// What an operation was doing: the operation, the URLs of its paths and the store's bucket.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The operation name, as in the Python API (`get`, `put`, `list`, ...).
    pub name: &'static str,
    /// The URL of the path (the store URL joined with the path); never holds a secret.
    pub url: String,
    /// The URL of the destination path (`copy`, `rename`).
    pub destination: Option<String>,
    /// The store's bucket, as the noun the service uses ("bucket", "container") and the name.
    pub bucket: Option<(&'static str, String)>,
}

/// An `object_store` error's source with the [`Operation`] it happened in. It displays as its
/// source and has its source's source, so the error reads as before; [`with_context`] puts it in
/// and the mapping to Python reads it back.
#[derive(Debug)]
pub struct ErrorContext {
    operation: Operation,
    source: Box<dyn StdError + Send + Sync>,
}

impl fmt::Display for ErrorContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.source.fmt(f)
    }
}

impl StdError for ErrorContext {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.source()
    }
}

/// The `store` of an error whose variant cannot hold the context (it is wrapped whole).
const CONTEXT_STORE: &str = "obstore";

/// The source of `err`, when its variant has one.
fn variant_source(err: &object_store::Error) -> Option<&(dyn StdError + 'static)> {
    use object_store::Error as E;
    match err {
        E::Generic { source, .. }
        | E::NotFound { source, .. }
        | E::NotSupported { source }
        | E::AlreadyExists { source, .. }
        | E::Precondition { source, .. }
        | E::NotModified { source, .. }
        | E::PermissionDenied { source, .. }
        | E::Unauthenticated { source, .. } => Some(source.as_ref() as &(dyn StdError + 'static)),
        E::InvalidPath { source } => Some(source),
        E::JoinError { source } => Some(source),
        _ => None,
    }
}

/// The operation context `err` carries, if any.
pub fn error_context(err: &object_store::Error) -> Option<&Operation> {
    variant_source(err)
        .and_then(|s| s.downcast_ref::<ErrorContext>())
        .map(|c| &c.operation)
}

/// `err` with `operation` attached, keeping its variant (callers match on variants) wherever the
/// variant has a boxed source; other variants are wrapped whole in a `Generic` error. An error
/// that already has a context keeps it.
pub fn with_context(err: object_store::Error, operation: Operation) -> object_store::Error {
    use object_store::Error as E;
    if error_context(&err).is_some() {
        return err;
    }
    let wrap = |source: Box<dyn StdError + Send + Sync>| -> Box<dyn StdError + Send + Sync> {
        Box::new(ErrorContext {
            operation: operation.clone(),
            source,
        })
    };
    // Each variant with a boxed source keeps its other fields as they are.
    macro_rules! wrap_sources {
        ($($variant:ident { $($field:ident),* }),*) => {
            match err {
                $(E::$variant { $($field,)* source } => E::$variant {
                    $($field,)*
                    source: wrap(source),
                },)*
                other => E::Generic {
                    store: CONTEXT_STORE,
                    source: wrap(Box::new(other)),
                },
            }
        };
    }
    wrap_sources!(
        Generic { store },
        NotFound { path },
        NotSupported {},
        AlreadyExists { path },
        Precondition { path },
        NotModified { path },
        PermissionDenied { path },
        Unauthenticated { path }
    )
}

/// Whether `err` says that the bucket or container does not exist.
pub fn is_missing_bucket(err: &object_store::Error) -> bool {
    describe(err).missing_bucket
}

/// The Python class of a store error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ErrorClass {
    FileNotFound,
    NotImplemented,
    Obstore(ExceptionKind),
}

/// What the HTTP layer says about a failed request, read from the error chain.
#[derive(Default, Debug)]
struct HttpFailure {
    /// `scheme://host[:port]` of the request, without user information.
    endpoint: Option<String>,
    retries: Option<u32>,
    status: Option<u16>,
    body: Option<String>,
    transport: Option<object_store::client::HttpErrorKind>,
}

/// What an error response body says: the service's code, message and bucket name.
#[derive(Default, Debug)]
struct ServiceError {
    code: Option<String>,
    message: Option<String>,
    bucket: Option<String>,
}

/// A store error, ready to become a Python exception.
#[derive(Debug)]
struct Description {
    class: ErrorClass,
    message: String,
    details: String,
    operation: Option<&'static str>,
    url: Option<String>,
    status: Option<u16>,
    code: Option<String>,
    missing_bucket: bool,
}

/// The longest cause text kept in the one-line message (the whole is in `details`).
const MAX_CAUSE_CHARS: usize = 300;

fn describe(err: &object_store::Error) -> Description {
    let context = variant_source(err).and_then(|s| s.downcast_ref::<ErrorContext>());
    // The error that decides the class: an error wrapped whole stands for itself.
    let wrapped_whole =
        matches!(err, object_store::Error::Generic { store, .. } if *store == CONTEXT_STORE);
    let (decisive, chain_start): (&object_store::Error, Option<&(dyn StdError + 'static)>) =
        match context {
            Some(c) => match c.source.downcast_ref::<object_store::Error>() {
                Some(inner) if wrapped_whole => (inner, variant_source(inner)),
                _ => (err, Some(c.source.as_ref() as &(dyn StdError + 'static))),
            },
            None => (err, variant_source(err)),
        };
    let mut chain: Vec<&(dyn StdError + 'static)> =
        std::iter::successors(chain_start, |e| (*e).source()).collect();
    // A generic failure whose chain holds an error of `object_store`'s own kind (a credential
    // provider's, raised while the connector signs the request) is that error, as it would be
    // had the client fetched the credential itself.
    let mut decisive = decisive;
    if matches!(decisive, object_store::Error::Generic { .. }) {
        let inner = chain
            .iter()
            .filter_map(|e| e.downcast_ref::<object_store::Error>())
            .find(|e| !matches!(e, object_store::Error::Generic { .. }));
        if let Some(inner) = inner {
            decisive = inner;
            chain = std::iter::successors(variant_source(inner), |e| (*e).source()).collect();
        }
    }
    let (http, service) = http_failure(&chain);

    use object_store::Error as E;
    let mut class = match decisive {
        E::NotFound { .. } => ErrorClass::FileNotFound,
        E::NotImplemented { .. } => ErrorClass::NotImplemented,
        E::InvalidPath { .. } => ErrorClass::Obstore(ExceptionKind::InvalidPathError),
        E::JoinError { .. } => ErrorClass::Obstore(ExceptionKind::JoinError),
        E::NotSupported { .. } => ErrorClass::Obstore(ExceptionKind::NotSupportedError),
        E::AlreadyExists { .. } => ErrorClass::Obstore(ExceptionKind::AlreadyExistsError),
        E::Precondition { .. } => ErrorClass::Obstore(ExceptionKind::PreconditionError),
        E::NotModified { .. } => ErrorClass::Obstore(ExceptionKind::NotModifiedError),
        E::PermissionDenied { .. } => ErrorClass::Obstore(ExceptionKind::PermissionDeniedError),
        E::Unauthenticated { .. } => ErrorClass::Obstore(ExceptionKind::UnauthenticatedError),
        E::UnknownConfigurationKey { .. } => {
            ErrorClass::Obstore(ExceptionKind::UnknownConfigurationKeyError)
        }
        _ => ErrorClass::Obstore(ExceptionKind::GenericError),
    };
    // Listing and bulk requests come back as generic errors whatever the status: classify them
    // by status as `object_store` does for single-object requests, or by the service's code
    // where a bulk answer has no status of its own.
    if class == ErrorClass::Obstore(ExceptionKind::GenericError) {
        class = match http.status {
            Some(404) => ErrorClass::FileNotFound,
            Some(403) => ErrorClass::Obstore(ExceptionKind::PermissionDeniedError),
            Some(401) => ErrorClass::Obstore(ExceptionKind::UnauthenticatedError),
            Some(_) => class,
            None => service
                .code
                .as_deref()
                .and_then(class_of_code)
                .unwrap_or(class),
        };
    }
    // A download that failed its checksum, or an upload the server refused for its checksum.
    if chain
        .iter()
        .any(|e| e.is::<crate::integrity::ChecksumMismatch>())
        || service.code.as_deref().is_some_and(is_checksum_code)
    {
        class = ErrorClass::Obstore(ExceptionKind::ChecksumMismatchError);
    }
    let missing_bucket = class == ErrorClass::FileNotFound && says_missing_bucket(&service);
    if missing_bucket {
        class = ErrorClass::Obstore(ExceptionKind::NotFoundError);
    }

    let operation = context.map(|c| &c.operation);
    let summary = summary(
        class,
        decisive,
        missing_bucket,
        operation,
        &service,
        http.status,
    );
    let cause = cause(class, &summary, &http, &service, &chain);
    let message = match operation {
        Some(op) => {
            let mut message = format!("{} {}", op.name, op.url);
            if let Some(destination) = &op.destination {
                message.push_str(" to ");
                message.push_str(destination);
            }
            message.push_str(": ");
            message.push_str(&cause);
            message
        }
        None => one_line(&err.to_string(), usize::MAX),
    };
    let details = std::iter::once(err.to_string())
        .chain(chain.iter().map(|e| format!("caused by: {e}")))
        .collect::<Vec<_>>()
        .join("\n");
    Description {
        class,
        message: redact(&message),
        details: redact(&details),
        operation: operation.map(|o| o.name),
        url: operation.map(|o| o.url.clone()),
        status: http.status,
        code: service.code.clone(),
        missing_bucket,
    }
}

/// Whether a service error code says the body received does not match its checksum (the
/// payload hash of an S3 signature included).
fn is_checksum_code(code: &str) -> bool {
    matches!(
        code,
        "BadDigest"
            | "XAmzContentChecksumMismatch"
            | "XAmzContentSHA256Mismatch"
            | "Md5Mismatch"
            | "Crc64Mismatch"
            | "CrcMismatch"
    )
}

/// The class of a service error code, for answers without an HTTP status of their own.
fn class_of_code(code: &str) -> Option<ErrorClass> {
    Some(match code {
        "NoSuchKey" | "BlobNotFound" | "NoSuchBucket" | "ContainerNotFound" => {
            ErrorClass::FileNotFound
        }
        "AccessDenied"
        | "AllAccessDisabled"
        | "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "InvalidTokenId"
        | "ExpiredToken"
        | "AuthorizationFailure"
        | "AuthenticationFailed"
        | "AuthorizationPermissionMismatch" => {
            ErrorClass::Obstore(ExceptionKind::PermissionDeniedError)
        }
        _ => return None,
    })
}

fn says_missing_bucket(service: &ServiceError) -> bool {
    if matches!(
        service.code.as_deref(),
        Some("NoSuchBucket" | "ContainerNotFound")
    ) {
        return true;
    }
    service.message.as_deref().is_some_and(|m| {
        let m = m.to_ascii_lowercase();
        m.contains("specified bucket does not exist")
            || m.contains("specified container does not exist")
    })
}

/// What went wrong, in a few words.
fn summary(
    class: ErrorClass,
    decisive: &object_store::Error,
    missing_bucket: bool,
    operation: Option<&Operation>,
    service: &ServiceError,
    status: Option<u16>,
) -> String {
    if missing_bucket {
        let (noun, name) = match operation.and_then(|o| o.bucket.as_ref()) {
            Some((noun, name)) => (*noun, Some(name.clone())),
            None => {
                let noun = match service.code.as_deref() {
                    Some("ContainerNotFound") => "container",
                    _ => "bucket",
                };
                (noun, service.bucket.clone())
            }
        };
        return match name {
            Some(name) => format!("{noun} \"{name}\" does not exist"),
            None => format!("the {noun} does not exist"),
        };
    }
    match class {
        ErrorClass::FileNotFound => "not found".into(),
        ErrorClass::NotImplemented => match decisive {
            object_store::Error::NotImplemented {
                operation,
                implementer,
            } => format!("{operation} is not implemented by {implementer}"),
            _ => "not implemented".into(),
        },
        ErrorClass::Obstore(kind) => match kind {
            ExceptionKind::PermissionDeniedError => "permission denied".into(),
            ExceptionKind::UnauthenticatedError => "not authenticated".into(),
            ExceptionKind::AlreadyExistsError => "already exists".into(),
            ExceptionKind::PreconditionError => "precondition failed".into(),
            ExceptionKind::NotModifiedError => "not modified".into(),
            ExceptionKind::NotSupportedError => "not supported".into(),
            ExceptionKind::InvalidPathError => "invalid path".into(),
            ExceptionKind::JoinError => "background task failed".into(),
            ExceptionKind::UnknownConfigurationKeyError => "unknown configuration key".into(),
            ExceptionKind::ChecksumMismatchError => "checksum mismatch".into(),
            _ if status.is_some_and(|s| s >= 500) => "server error".into(),
            _ => "failed".into(),
        },
    }
}

/// The cause part of the one-line message: the summary and what the service or the system said.
fn cause(
    class: ErrorClass,
    summary: &str,
    http: &HttpFailure,
    service: &ServiceError,
    chain: &[&(dyn StdError + 'static)],
) -> String {
    use object_store::client::HttpErrorKind as K;
    let retries = match http.retries {
        Some(n) if n > 0 => format!(" after {n} retries"),
        _ => String::new(),
    };
    if http.status.is_some() || service.code.is_some() {
        let status = http.status.map(|s| s.to_string());
        let mut said: Vec<String> = Vec::new();
        if let Some(status) = &status {
            said.push(format!("HTTP {status}"));
        }
        if let Some(code) = service
            .code
            .as_ref()
            .filter(|c| Some(*c) != status.as_ref())
        {
            said.push(code.clone());
        }
        let mut said = said.join(" ") + &retries;
        if let Some(message) = service.message.as_deref().filter(|m| !m.is_empty()) {
            said.push_str(": ");
            said.push_str(&one_line(message, MAX_CAUSE_CHARS));
        }
        return format!("{summary} ({said})");
    }
    if let Some(kind) = http.transport {
        let endpoint = http.endpoint.as_deref().unwrap_or("the server");
        let what = match kind {
            K::Connect => format!("cannot connect to {endpoint}"),
            K::Timeout => format!("request to {endpoint} timed out"),
            K::Interrupted => format!("connection to {endpoint} was interrupted"),
            K::Decode => format!("cannot read the response of {endpoint}"),
            _ => format!("request to {endpoint} failed"),
        };
        let root = chain.last().map(|e| e.to_string()).unwrap_or_default();
        return format!("{what}{retries}: {}", one_line(&root, MAX_CAUSE_CHARS));
    }
    // No HTTP exchange: what the first error of the chain says (and the last, when the first
    // does not repeat it), unless the summary says it all.
    let mut said = chain.first().map(|e| e.to_string()).unwrap_or_default();
    if let Some(last) = chain.last().map(|e| e.to_string()) {
        if !said.contains(&last) {
            said = format!("{said}: {last}");
        }
    }
    let said = one_line(&said, MAX_CAUSE_CHARS);
    match class {
        ErrorClass::FileNotFound => summary.to_string(),
        _ if said.is_empty() => summary.to_string(),
        ErrorClass::Obstore(ExceptionKind::GenericError) => said,
        _ => format!("{summary}: {said}"),
    }
}

/// The request, status and body of a failed HTTP exchange, and what the service said, read from
/// the error chain (`object_store` keeps its retry error type private, so its messages are
/// parsed).
fn http_failure(chain: &[&(dyn StdError + 'static)]) -> (HttpFailure, ServiceError) {
    let mut failure = HttpFailure::default();
    let mut bulk: Option<ServiceError> = None;
    for error in chain {
        if let Some(http) = error.downcast_ref::<object_store::client::HttpError>() {
            failure.transport.get_or_insert(http.kind());
        }
        let text = error.to_string();
        if let Some(rest) = text.strip_prefix("Error performing ") {
            // "Error performing GET http://host/path in 2ms[, after 3 retries, ...] - cause"
            if failure.endpoint.is_none() {
                failure.endpoint = rest.split(' ').nth(1).and_then(endpoint_of);
            }
            if let Some(after) = rest.split(", after ").nth(1) {
                failure.retries = after.split(' ').next().and_then(|n| n.parse().ok());
            }
        }
        if failure.status.is_none() {
            if let Some((status, body)) = status_and_body(&text) {
                failure.status = Some(status);
                failure.body = Some(body);
            }
        }
        if bulk.is_none() && failure.body.is_none() {
            bulk = bulk_failure(&text);
        }
    }
    let service = match (&failure.body, bulk) {
        (Some(body), _) => service_error(body),
        (None, Some(bulk)) => bulk,
        (None, None) => ServiceError::default(),
    };
    (failure, service)
}

/// What one key's failure in a bulk delete says: "... failed for key k: <message> (code: <code>)",
/// the code an HTTP status (Azure) or a service code (S3).
fn bulk_failure(text: &str) -> Option<ServiceError> {
    let (message, code) = text.strip_suffix(')')?.rsplit_once(" (code: ")?;
    let message = message.split_once(": ").map_or(message, |(_, m)| m);
    Some(ServiceError {
        code: Some(code.to_string()),
        message: Some(message.to_string()),
        bucket: None,
    })
}

/// `scheme://host[:port]` of a URL, without user information.
fn endpoint_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    Some(match parsed.port() {
        Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
        None => format!("{}://{host}", parsed.scheme()),
    })
}

/// The status and body of "Server returned non-2xx status code: 404 Not Found: <body>", or of an
/// Azure bulk-delete failure "... (code: 404)" (its body the message).
fn status_and_body(text: &str) -> Option<(u16, String)> {
    const MARKER: &str = "Server returned non-2xx status code: ";
    if let Some(index) = text.find(MARKER) {
        let rest = &text[index + MARKER.len()..];
        let status = rest.get(..3)?.parse().ok()?;
        let body = rest.split_once(": ").map(|(_, b)| b).unwrap_or("");
        return Some((status, body.to_string()));
    }
    let bulk = bulk_failure(text)?;
    Some((bulk.code?.parse().ok()?, bulk.message.unwrap_or_default()))
}

/// The code, message and bucket of an S3/GCS/Azure XML or a GCS JSON error body; else the body's
/// text as the message.
fn service_error(body: &str) -> ServiceError {
    let body = body.trim();
    if body.is_empty() {
        return ServiceError::default();
    }
    if body.starts_with('<') {
        // Azure appends the request id and time to its messages: noise in a one-line message.
        let message = xml_element(body, "Message").map(|m| match m.split_once("RequestId:") {
            Some((message, _)) => message.trim_end().to_string(),
            None => m,
        });
        return ServiceError {
            code: xml_element(body, "Code"),
            message,
            bucket: xml_element(body, "BucketName"),
        };
    }
    if body.starts_with('{') {
        return ServiceError {
            code: json_string(body, "reason"),
            message: json_string(body, "message"),
            bucket: None,
        };
    }
    ServiceError {
        message: Some(body.to_string()),
        ..Default::default()
    }
}

fn xml_element(body: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find("</")? + start;
    let value = body[start..end].trim();
    (!value.is_empty()).then(|| value.to_string())
}

fn json_string(body: &str, key: &str) -> Option<String> {
    let quoted = format!("\"{key}\"");
    let after_key = &body[body.find(&quoted)? + quoted.len()..];
    let after_colon = after_key.trim_start().strip_prefix(':')?.trim_start();
    let value = after_colon.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    None
}

/// `text` on one line (whitespace runs collapsed) and at most `limit` characters.
fn one_line(text: &str, limit: usize) -> String {
    let mut out = String::with_capacity(text.len().min(limit));
    for (count, word) in text.split_whitespace().enumerate() {
        if count > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
    match out.char_indices().nth(limit) {
        Some((cut, _)) => {
            out.truncate(cut);
            out.push('…');
            out
        }
        None => out,
    }
}

/// Query parameters whose values are credentials (pre-signed URLs, SAS tokens, OAuth).
const SECRET_QUERY_KEYS: &[&str] = &[
    "sig",
    "signature",
    "x-amz-signature",
    "x-amz-security-token",
    "x-amz-credential",
    "x-goog-signature",
    "x-goog-credential",
    "access_token",
    "token",
    "password",
    "client_secret",
];

/// Elements of S3 error bodies that echo the signed request, session token included.
const SECRET_XML_ELEMENTS: &[&str] = &[
    "CanonicalRequest",
    "CanonicalRequestBytes",
    "StringToSign",
    "StringToSignBytes",
    "SignatureProvided",
];

/// The mask put in place of a secret.
pub const MASK: &str = "***";

/// `text` with every secret a URL or an error body may carry masked: passwords in URLs
/// (`user:***@host`), credential query parameters (`sig=***`) and the signed request S3 echoes.
pub fn redact(text: &str) -> String {
    let text = redact_userinfo(text);
    let text = redact_query(&text);
    redact_xml(&text)
}

fn is_url_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>' | ')' | '`')
}

fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(index) = rest.find("://") {
        let (head, tail) = rest.split_at(index + 3);
        out.push_str(head);
        let end = tail.find(is_url_delimiter).unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                if let Some((user, _)) = userinfo.split_once(':') {
                    out.push_str(user);
                    out.push(':');
                }
                out.push_str(MASK);
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn redact_query(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(index) = rest.find(['?', '&', ';']) {
        let (head, tail) = rest.split_at(index + 1);
        out.push_str(head);
        let name_end = tail.find('=').unwrap_or(0);
        let name = &tail[..name_end];
        let is_secret = name_end > 0
            && !name.contains(is_url_delimiter)
            && SECRET_QUERY_KEYS
                .iter()
                .any(|k| k.eq_ignore_ascii_case(name));
        if is_secret {
            out.push_str(name);
            out.push('=');
            out.push_str(MASK);
            let value = &tail[name_end + 1..];
            let end = value
                .find(|c: char| c == '&' || is_url_delimiter(c) && c != '/')
                .unwrap_or(value.len());
            rest = &value[end..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

fn redact_xml(text: &str) -> String {
    let mut text = text.to_string();
    for name in SECRET_XML_ELEMENTS {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        let mut from = 0;
        while let Some(start) = text[from..].find(&open).map(|i| i + from + open.len()) {
            let Some(end) = text[start..].find(&close).map(|i| i + start) else {
                text.replace_range(start.., MASK);
                break;
            };
            text.replace_range(start..end, MASK);
            from = start + MASK.len() + close.len();
        }
    }
    text
}

/// The Python exception for a store error, its attributes set.
fn store_error(err: &object_store::Error) -> PyErr {
    let description = describe(err);
    let message = description.message.clone();
    let error = match description.class {
        ErrorClass::FileNotFound => PyFileNotFoundError::new_err(message),
        ErrorClass::NotImplemented => PyNotImplementedError::new_err(message),
        ErrorClass::Obstore(kind) => new_error(kind, message),
    };
    set_attributes(error, &description)
}

fn set_attributes(error: PyErr, description: &Description) -> PyErr {
    Python::attach(|py| {
        let value = error.value(py);
        // Attribute failures leave the exception as it is: the message says it all.
        let _ = value.setattr("operation", description.operation);
        let _ = value.setattr("url", description.url.as_deref());
        let _ = value.setattr("status", description.status);
        let _ = value.setattr("code", description.code.as_deref());
        let _ = value.setattr("details", description.details.as_str());
    });
    error
}

/// A local I/O error, in its `OSError` subclass; one that wraps a store error gets that error's
/// message and attributes.
fn io_error(err: std::io::Error) -> PyErr {
    let store = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<object_store::Error>());
    match store {
        Some(store) => {
            let description = describe(store);
            let error = PyErr::from(std::io::Error::new(err.kind(), description.message.clone()));
            set_attributes(error, &description)
        }
        None => PyErr::from(err),
    }
}

impl From<ObstoreError> for PyErr {
    fn from(err: ObstoreError) -> PyErr {
        match err {
            ObstoreError::Python(err) => err,
            ObstoreError::Value(message) => PyValueError::new_err(message),
            ObstoreError::Type(message) => PyTypeError::new_err(message),
            ObstoreError::Io(err) => io_error(err),
            ObstoreError::Obstore(kind, message) => new_error(kind, message),
            ObstoreError::Store(err) => store_error(&err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_masks_url_passwords_and_credential_parameters() {
        assert_eq!(
            redact("GET http://user:hunter2@host:1/p?list-type=2&sig=abc%2F&x=1 failed"),
            "GET http://user:***@host:1/p?list-type=2&sig=***&x=1 failed"
        );
        assert_eq!(redact("https://tok3n@host/x"), "https://***@host/x");
        assert_eq!(
            redact(
                "<Error><CanonicalRequest>x-amz-security-token:t0k\n</CanonicalRequest></Error>"
            ),
            "<Error><CanonicalRequest>***</CanonicalRequest></Error>"
        );
        assert_eq!(redact("no secrets here: a=b"), "no secrets here: a=b");
    }

    #[test]
    fn service_errors_are_read_from_xml_and_json_bodies() {
        let xml = service_error(
            "<?xml version=\"1.0\"?>\n<Error><Code>NoSuchBucket</Code><Message>The specified \
             bucket does not exist</Message><BucketName>b</BucketName></Error>",
        );
        assert_eq!(xml.code.as_deref(), Some("NoSuchBucket"));
        assert_eq!(xml.bucket.as_deref(), Some("b"));
        assert!(says_missing_bucket(&xml));
        let json = service_error(
            r#"{"error":{"code":404,"message":"The specified bucket does not exist.","errors":[{"reason":"notFound"}]}}"#,
        );
        assert_eq!(json.code.as_deref(), Some("notFound"));
        assert!(says_missing_bucket(&json));
    }

    #[test]
    fn statuses_are_read_from_request_and_bulk_delete_errors() {
        assert_eq!(
            status_and_body("Server returned non-2xx status code: 404 Not Found: <x/>"),
            Some((404, "<x/>".to_string()))
        );
        assert_eq!(
            status_and_body(
                "Bulk delete request failed for key k: The specified container does not exist. (code: 404)"
            ),
            Some((404, "The specified container does not exist.".to_string()))
        );
    }

    fn copy_operation() -> Operation {
        Operation {
            name: "copy",
            url: "s3://b/a".into(),
            destination: Some("s3://b/c".into()),
            bucket: Some(("bucket", "b".into())),
        }
    }

    #[test]
    fn context_keeps_the_class_of_the_error() {
        // S3's copy-if-not-exists reports AlreadyExists with the Precondition error as source.
        let precondition = object_store::Error::Precondition {
            path: "c".into(),
            source: "412".into(),
        };
        let err = object_store::Error::AlreadyExists {
            path: "c".into(),
            source: Box::new(precondition),
        };
        let described = describe(&with_context(err, copy_operation()));
        assert_eq!(
            described.class,
            ErrorClass::Obstore(ExceptionKind::AlreadyExistsError)
        );
        assert!(described
            .message
            .starts_with("copy s3://b/a to s3://b/c: already exists"));
        // A variant without a boxed source is wrapped whole and still decides the class.
        let err = object_store::Error::NotImplemented {
            operation: "copy".into(),
            implementer: "X".into(),
        };
        let err = with_context(err, copy_operation());
        assert!(matches!(err, object_store::Error::Generic { .. }));
        assert_eq!(describe(&err).class, ErrorClass::NotImplemented);
    }

    #[test]
    fn bulk_delete_failures_carry_the_service_code() {
        let failure = bulk_failure(
            "DeleteObjects request failed for key p/k: The security token included in the \
             request is invalid (code: InvalidTokenId)",
        )
        .expect("a bulk failure");
        assert_eq!(failure.code.as_deref(), Some("InvalidTokenId"));
        assert_eq!(
            class_of_code("InvalidTokenId"),
            Some(ErrorClass::Obstore(ExceptionKind::PermissionDeniedError))
        );
    }

    #[test]
    fn one_line_collapses_whitespace_and_truncates() {
        assert_eq!(one_line("a\n  b\tc", 10), "a b c");
        assert_eq!(one_line("abcdef", 3), "abc…");
    }
}
