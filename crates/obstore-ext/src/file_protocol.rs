//! The `with` and `async with` protocol of the readers and writers, once for both.

use pyo3::prelude::*;

/// A file object that a `with` or `async with` block opens and ends.
pub trait FileObject {
    /// `ValueError` once the file is closed (as Python's `io` files do).
    fn check_open(&self) -> PyResult<()>;
    /// Ends the file at the end of a `with` block (`failed` when an exception propagates):
    /// `False`, so that the exception goes on.
    fn exit(&self, py: Python<'_>, failed: bool) -> PyResult<bool>;
    /// Ends the file at the end of an `async with` block: an awaitable of `False`.
    fn exit_async<'py>(&self, py: Python<'py>, failed: bool) -> PyResult<Bound<'py, PyAny>>;
}

/// Whether a `__exit__` call's exception type says an exception propagates.
pub fn failed(exc_type: Option<&Bound<'_, PyAny>>) -> bool {
    exc_type.is_some_and(|t| !t.is_none())
}

/// The `#[pymethods]` of a [`FileObject`] class: the methods given, then `__enter__`,
/// `__exit__`, `__aenter__` and `__aexit__`, documented as the stubs' `$sync` and `$async_`
/// classes document them.
macro_rules! file_methods {
    ($class:ident, $sync:ident, $async_:ident, { $($methods:tt)* }) => {
        $crate::file_protocol::file_methods!(@impl $class, $sync, $async_, { $($methods)* },
            ($sync, __exit__, bool, exit), ($async_, __aexit__, Bound<'py, PyAny>, exit_async));
    };
    (@impl $class:ident, $sync:ident, $async_:ident, { $($methods:tt)* },
        $(($doc_class:ident, $exit:ident, $ret:ty, $end:ident)),*) => {
        #[pymethods]
        impl $class {
            $($methods)*

            #[doc = obstore_stores::pydoc!($sync.__enter__)]
            fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
                $crate::file_protocol::FileObject::check_open(slf.get())?;
                Ok(slf)
            }

            #[doc = obstore_stores::pydoc!($async_.__aenter__)]
            fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
                $crate::file_protocol::FileObject::check_open(slf.get())?;
                let py = slf.py();
                let value = slf.into_any().unbind();
                obstore_stores::runtime::asyncio::ready_future::<Py<PyAny>, PyErr>(py, Ok(value))
            }

            $(
                #[doc = obstore_stores::pydoc!($doc_class.$exit)]
                #[pyo3(signature = (exc_type, exc_value, traceback))]
                fn $exit<'py>(
                    &self,
                    py: Python<'py>,
                    exc_type: Option<Bound<'py, PyAny>>,
                    exc_value: Option<Bound<'py, PyAny>>,
                    traceback: Option<Bound<'py, PyAny>>,
                ) -> PyResult<$ret> {
                    let _ = (exc_value, traceback);
                    let failed = $crate::file_protocol::failed(exc_type.as_ref());
                    $crate::file_protocol::FileObject::$end(self, py, failed)
                }
            )*
        }
    };
}
pub(crate) use file_methods;
