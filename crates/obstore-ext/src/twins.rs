//! Sync and async twins of the module functions, declared together.

/// Declares a module function and its `_async` twin from one Python signature and one parameter
/// list, with a body each: the twins take the same arguments and differ only in how they run
/// the operation's one async core (blocking with the GIL released, or as an awaitable).
/// Statements both twins begin with go in `shared`. `$py` names the GIL token both bodies
/// receive; each function's docstring is the stub's. The
/// parameters pass through as they are written (not as `ty` fragments, which would hide an
/// `Option` type from PyO3's defaults).
macro_rules! twins {
    (
        $(#[pyo3(signature = $signature:tt)])?
        fn $sync:ident / $async_:ident ($py:ident, $($params:tt)*)
        $(shared { $($shared:tt)* })?
        sync -> $sync_ret:ty $sync_body:block
        async -> $async_ret:ty $async_body:block
    ) => {
        twins!(@one $sync, [$(#[pyo3(signature = $signature)])?],
            ($py: pyo3::Python<'py>, $($params)*), $sync_ret, { $($($shared)*)? $sync_body });
        twins!(@one $async_, [$(#[pyo3(signature = $signature)])?],
            ($py: pyo3::Python<'py>, $($params)*), $async_ret, { $($($shared)*)? $async_body });
    };
    (@one $name:ident, [$($attrs:tt)*], ($($params:tt)*), $ret:ty, $body:block) => {
        #[doc = obstore_stores::pydoc!($name)]
        #[pyo3::pyfunction]
        $($attrs)*
        #[allow(clippy::too_many_arguments)]
        pub fn $name<'py>($($params)*) -> $ret $body
    };
}
pub(crate) use twins;
