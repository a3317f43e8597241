//! `copy` and `rename` (sync and async): server-side, optionally refusing to overwrite.

use object_store::path::Path;
use object_store::ObjectStoreExt;
use obstore_stores::runtime::asyncio::PyNone;
use obstore_stores::{AnyStore, ObstoreResult, PyPath};
use pyo3::prelude::*;

use crate::twins::twins;

/// Copying or renaming an object onto itself: no request that could change it (a memory store's
/// rename deletes the source after copying, S3 refuses a copy onto itself), only the answers the
/// operation gives for an existing destination. A missing source is `NotFound`; with
/// `overwrite=False` the destination exists, so `AlreadyExists`; otherwise nothing to do.
async fn onto_itself(store: &AnyStore, path: &Path, overwrite: bool) -> ObstoreResult<PyNone> {
    store.inner.head(path).await?;
    if overwrite {
        return Ok(PyNone);
    }
    Err(object_store::Error::AlreadyExists {
        path: path.to_string(),
        source: "the source and the destination are the same object".into(),
    }
    .into())
}

/// What `copy` and `rename` do once the destination is known to differ from the source.
#[derive(Clone, Copy)]
enum Transfer {
    Copy,
    Rename,
}

async fn transfer(
    store: AnyStore,
    from: PyPath,
    to: PyPath,
    overwrite: bool,
    transfer: Transfer,
) -> ObstoreResult<PyNone> {
    if from == to {
        return onto_itself(&store, &from.0, overwrite).await;
    }
    let (from, to) = (&from.0, &to.0);
    match (transfer, overwrite) {
        (Transfer::Copy, true) => store.inner.copy(from, to).await?,
        (Transfer::Copy, false) => store.inner.copy_if_not_exists(from, to).await?,
        (Transfer::Rename, true) => store.inner.rename(from, to).await?,
        (Transfer::Rename, false) => store.inner.rename_if_not_exists(from, to).await?,
    }
    Ok(PyNone)
}

/// `copy` and `rename` (and their async twins): the same arguments, one [`Transfer`] apart.
macro_rules! transfer_twins {
    ($sync:ident / $async_:ident, $transfer:expr) => {
        twins! {
            #[pyo3(signature = (store, from_, to, *, overwrite = true))]
            fn $sync / $async_(py, store: AnyStore, from_: PyPath, to: PyPath, overwrite: bool)
            shared {
                let future = transfer(store.clone(), from_, to, overwrite, $transfer);
            }
            sync -> PyResult<()> {
                store.block_on_complete(py, future)?;
                Ok(())
            }
            async -> PyResult<Bound<'py, PyAny>> {
                store.into_py_future(py, None, future)
            }
        }
    };
}

transfer_twins!(copy / copy_async, Transfer::Copy);
transfer_twins!(rename / rename_async, Transfer::Rename);
