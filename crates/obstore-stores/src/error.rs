//! Python exception classes of `obstore.exceptions` and the mapping from `object_store` errors.

use pyo3::exceptions::{
    PyException, PyFileNotFoundError, PyNotImplementedError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

macro_rules! exception_classes {
    ($( $name:ident => $doc:literal ),* $(,)?) => {
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

            fn doc(self) -> &'static str {
                match self {
                    ExceptionKind::Base => "The base class of every error raised by obstore's stores.",
                    $( ExceptionKind::$name => $doc ),*
                }
            }
        }
    };
}

exception_classes! {
    GenericError => "A store error that no more specific class describes.",
    NotFoundError => "Deprecated: a missing object raises the builtin FileNotFoundError instead.",
    InvalidPathError => "The store returned or was given an invalid path.",
    JoinError => "A background task failed to complete.",
    NotSupportedError => "The store does not support the requested operation or option.",
    AlreadyExistsError => "The destination object already exists.",
    PreconditionError => "A request precondition (if_match, if_unmodified_since, e_tag) failed.",
    NotModifiedError => "The object was not modified (if_none_match / if_modified_since).",
    PermissionDeniedError => "The credentials lack the permission for the operation.",
    UnauthenticatedError => "The credentials are missing or invalid.",
    UnknownConfigurationKeyError => "A configuration key is not valid for the store.",
}

static CLASSES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

fn classes(py: Python<'_>) -> &Vec<Py<PyType>> {
    CLASSES.get_or_init(py, || {
        let mut out: Vec<Py<PyType>> = Vec::with_capacity(ExceptionKind::ALL.len());
        for kind in ExceptionKind::ALL {
            let base = match kind {
                ExceptionKind::Base => py.get_type::<PyException>(),
                _ => out[0].bind(py).clone(),
            };
            let name = std::ffi::CString::new(format!("obstore.exceptions.{}", kind.name()))
                .expect("class names have no NUL");
            let doc = std::ffi::CString::new(kind.doc()).expect("docs have no NUL");
            let ty = PyErr::new_type(py, &name, Some(&doc), Some(&base), None)
                .expect("creating an exception class cannot fail");
            out.push(ty);
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

fn store_message(err: &object_store::Error) -> String {
    format!("{err}\n\nDebug source:\n{err:#?}")
}

impl From<ObstoreError> for PyErr {
    fn from(err: ObstoreError) -> PyErr {
        use object_store::Error as E;
        match err {
            ObstoreError::Python(err) => err,
            ObstoreError::Value(message) => PyValueError::new_err(message),
            ObstoreError::Type(message) => PyTypeError::new_err(message),
            ObstoreError::Io(err) => PyErr::from(err),
            ObstoreError::Obstore(kind, message) => new_error(kind, message),
            ObstoreError::Store(err) => {
                let message = store_message(&err);
                match &err {
                    E::NotFound { .. } => PyFileNotFoundError::new_err(message),
                    E::NotImplemented { .. } => PyNotImplementedError::new_err(message),
                    E::InvalidPath { .. } => new_error(ExceptionKind::InvalidPathError, message),
                    E::JoinError { .. } => new_error(ExceptionKind::JoinError, message),
                    E::NotSupported { .. } => new_error(ExceptionKind::NotSupportedError, message),
                    E::AlreadyExists { .. } => {
                        new_error(ExceptionKind::AlreadyExistsError, message)
                    }
                    E::Precondition { .. } => new_error(ExceptionKind::PreconditionError, message),
                    E::NotModified { .. } => new_error(ExceptionKind::NotModifiedError, message),
                    E::PermissionDenied { .. } => {
                        new_error(ExceptionKind::PermissionDeniedError, message)
                    }
                    E::Unauthenticated { .. } => {
                        new_error(ExceptionKind::UnauthenticatedError, message)
                    }
                    E::UnknownConfigurationKey { .. } => {
                        new_error(ExceptionKind::UnknownConfigurationKeyError, message)
                    }
                    _ => new_error(ExceptionKind::GenericError, message),
                }
            }
        }
    }
}
