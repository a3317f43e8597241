//! [`ContextStore`]: a store's `object_store` implementation as operations see it, the one layer
//! between an operation and the store's client. It adds to every error the operation, the store
//! URL and the path (see [`crate::error::with_context`]), tells a missing bucket from a missing
//! object where the service's answer does not, polls each operation inside its request
//! observation scope while anything listens (see [`crate::runtime::observe`]), and keeps the paths
//! of a confined store below its root (see [`Confinement`]).

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, LazyLock, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt, TryFutureExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
    UploadPart,
};
use pyo3::Python;

use crate::error::{is_missing_bucket, with_context, Operation};
use crate::runtime::observe::{self, Listener, Scope, Scoped, StoreObserver};

/// The bucket (or container) a store addresses.
#[derive(Debug, Clone)]
pub struct BucketLabel {
    /// What the service calls it: "bucket" or "container".
    pub noun: &'static str,
    /// Its name.
    pub name: String,
    /// What identifies it across stores: the service endpoint and account with the name.
    pub key: String,
}

/// How a store names itself in errors: its URL (scheme, bucket, prefix; never a secret) and its
/// bucket, if it has one.
#[derive(Debug, Clone)]
pub struct StoreLabel {
    url: String,
    bucket: Option<BucketLabel>,
    /// Whether response bodies can fail while they are read (not so in memory): only then is
    /// a body stream wrapped, which costs an allocation per read.
    body_errors: bool,
}

impl StoreLabel {
    /// A store known by `url` (a trailing `/` is dropped: paths are joined with one).
    pub fn new(url: impl Into<String>) -> Self {
        let mut url = url.into();
        while url.ends_with('/') && !url.ends_with("://") {
            url.pop();
        }
        Self {
            url,
            bucket: None,
            body_errors: true,
        }
    }

    /// The same store, whose response bodies never fail once a read has begun.
    pub fn with_infallible_bodies(mut self) -> Self {
        self.body_errors = false;
        self
    }

    /// The same store, in a bucket.
    pub fn with_bucket(mut self, bucket: BucketLabel) -> Self {
        self.bucket = Some(bucket);
        self
    }

    /// The URL of `path` in this store.
    pub fn url_of(&self, path: Option<&Path>) -> String {
        match path.map(Path::as_ref).filter(|p| !p.is_empty()) {
            Some(path) => format!("{}/{path}", self.url),
            None => self.url.clone(),
        }
    }
}

/// Paths a store keeps below its root (a local directory whose links may lead out of it): checked
/// before each operation, and listings filtered to what stays inside.
pub trait Confinement: fmt::Debug + Send + Sync {
    /// `Ok` when `location` stays below the root; else the error to give (`PermissionDenied`).
    fn check(&self, location: &Path) -> Result<()>;

    /// `listing` without the entries that lead outside the root.
    fn filter(
        &self,
        listing: BoxStream<'static, Result<ObjectMeta>>,
    ) -> BoxStream<'static, Result<ObjectMeta>>;

    /// `result` without the entries that lead outside the root.
    fn filter_result(&self, result: &mut ListResult);
}

/// A store's `object_store` implementation with its errors put in context, its operations
/// observed while anything listens, and its paths confined where the store is.
#[derive(Debug)]
pub struct ContextStore {
    inner: Arc<dyn ObjectStore>,
    label: Arc<StoreLabel>,
    confinement: Option<Arc<dyn Confinement>>,
    /// Who listens to this call's requests (network stores, while anything listens).
    listener: Option<Listener>,
}

/// Buckets that a check has found to exist, by [`BucketLabel::key`]: a bare 404 to a HEAD request
/// in one of them means the object is missing, without asking again.
static KNOWN_BUCKETS: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Default::default);

impl ContextStore {
    /// `inner`, whose errors name `label`: a store that sends no HTTP request (memory, local
    /// files), wrapped once when built.
    pub fn wrap(
        inner: Arc<dyn ObjectStore>,
        label: Arc<StoreLabel>,
        confinement: Option<Arc<dyn Confinement>>,
    ) -> Arc<dyn ObjectStore> {
        Arc::new(Self {
            inner,
            label,
            confinement,
            listener: None,
        })
    }

    /// `inner` as one call of the calling Python code sees it: its errors name `label`, and its
    /// requests are observed while anything listens to `observer`. Called with the GIL held at
    /// the call's entry (see [`observe::listener`]).
    pub fn for_call(
        py: Python<'_>,
        inner: Arc<dyn ObjectStore>,
        label: Arc<StoreLabel>,
        observer: &Arc<StoreObserver>,
    ) -> Arc<dyn ObjectStore> {
        Arc::new(Self {
            inner,
            label,
            confinement: None,
            listener: observe::listener(py, observer),
        })
    }

    fn operation(name: &'static str, label: &StoreLabel, path: Option<&Path>) -> Operation {
        Operation {
            name,
            url: label.url_of(path),
            destination: None,
            bucket: label.bucket.as_ref().map(|b| (b.noun, b.name.clone())),
        }
    }

    fn error<'a>(
        &'a self,
        name: &'static str,
        path: Option<&'a Path>,
    ) -> impl Fn(object_store::Error) -> object_store::Error + 'a {
        move |err| with_context(err, Self::operation(name, &self.label, path))
    }

    fn error_between<'a>(
        &'a self,
        name: &'static str,
        from: &'a Path,
        to: &'a Path,
    ) -> impl Fn(object_store::Error) -> object_store::Error + 'a {
        move |err| {
            let mut operation = Self::operation(name, &self.label, Some(from));
            operation.destination = Some(self.label.url_of(Some(to)));
            with_context(err, operation)
        }
    }

    /// The observation scope of one operation, named as request events show it.
    fn scope(&self, operation: &'static str) -> Option<Arc<Scope>> {
        self.listener.as_ref().map(|l| l.scope(operation))
    }

    /// `inner`, polled inside the scope of `operation`.
    fn scoped<T>(&self, operation: &'static str, inner: T) -> Scoped<T> {
        Scoped::new(self.scope(operation), inner)
    }

    /// `Ok` when every one of `paths` stays inside a confined store's root.
    fn check(&self, paths: &[&Path]) -> Result<()> {
        match &self.confinement {
            Some(confinement) => paths.iter().try_for_each(|p| confinement.check(p)),
            None => Ok(()),
        }
    }

    /// A listing, checked and filtered for a confined store, with its errors in context, polled
    /// inside its scope.
    fn listing(
        &self,
        prefix: Option<&Path>,
        list: impl FnOnce(&dyn ObjectStore) -> BoxStream<'static, Result<ObjectMeta>>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let operation = Self::operation("list", &self.label, prefix);
        let listing = match (&self.confinement, prefix.map(|p| self.check(&[p]))) {
            (_, Some(Err(err))) => futures::stream::once(async move { Err(err) }).boxed(),
            (Some(confinement), _) => confinement.filter(list(self.inner.as_ref())),
            (None, _) => list(self.inner.as_ref()),
        };
        self.scoped("list", listing)
            .map_err(move |err| with_context(err, operation.clone()))
            .boxed()
    }

    /// A HEAD request answers a bare 404 for a missing bucket as for a missing object; listing
    /// below the path tells them apart, once per bucket that exists.
    async fn missing_bucket_error(&self, location: &Path) -> Option<object_store::Error> {
        let bucket = self.label.bucket.as_ref()?;
        let known = |buckets: &HashSet<String>| buckets.contains(&bucket.key);
        if known(&KNOWN_BUCKETS.lock().unwrap_or_else(|e| e.into_inner())) {
            return None;
        }
        match self
            .inner
            .as_ref()
            .list_with_delimiter(Some(location))
            .await
        {
            Err(err) if is_missing_bucket(&err) => Some(err),
            // Listed, or refused for another reason (a key that may read but not list): either
            // way the bucket is there, or at least not known to be missing.
            _ => {
                KNOWN_BUCKETS
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(bucket.key.clone());
                None
            }
        }
    }
}

impl fmt::Display for ContextStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

// Each method calls the inner store through `as_ref()`: `Arc<dyn ObjectStore>` itself implements
// `ObjectStore`, and calling through it boxes one more future per call.
#[async_trait]
impl ObjectStore for ContextStore {
    // Written out instead of as `async fn` (which `async_trait` boxes with its arguments): the box
    // holds the inner call's future, whose own box holds the arguments, and is a few words.
    fn put_opts<'life0, 'life1, 'async_trait>(
        &'life0 self,
        location: &'life1 Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> BoxFuture<'async_trait, Result<PutResult>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        let put = self.inner.as_ref().put_opts(location, payload, opts);
        let scoped = self.scoped("put", put);
        Box::pin(async move {
            let error = self.error("put", Some(location));
            self.check(&[location]).map_err(&error)?;
            scoped.await.map_err(error)
        })
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let error = self.error("put", Some(location));
        self.check(&[location]).map_err(&error)?;
        let scope = self.scope("put_multipart");
        let upload = Scoped::new(
            scope.clone(),
            self.inner.as_ref().put_multipart_opts(location, opts),
        )
        .await
        .map_err(error)?;
        Ok(Box::new(ContextUpload {
            inner: upload,
            operation: Self::operation("put", &self.label, Some(location)),
            scope,
        }))
    }

    // Written out as `put_opts` is.
    fn get_opts<'life0, 'life1, 'async_trait>(
        &'life0 self,
        location: &'life1 Path,
        options: GetOptions,
    ) -> BoxFuture<'async_trait, Result<GetResult>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        let head = options.head;
        let scope = self.scope(match (head, options.range.is_some()) {
            (true, _) => "head",
            (false, true) => "get_range",
            (false, false) => "get",
        });
        let get = Scoped::new(
            scope.clone(),
            self.inner.as_ref().get_opts(location, options),
        );
        Box::pin(async move {
            let name = if head { "head" } else { "get" };
            let error = self.error(name, Some(location));
            self.check(&[location]).map_err(&error)?;
            let got = get.await;
            let mut result = match got {
                Ok(result) => result,
                Err(err @ object_store::Error::NotFound { .. }) if head => {
                    // The check's listing belongs to the same operation (a rare path: boxed here).
                    let check = Scoped::new(scope, self.missing_bucket_error(location).boxed());
                    return Err(error(check.await.unwrap_or(err)));
                }
                Err(err) => return Err(error(err)),
            };
            // A HEAD result's body is never read. A body read later may send requests again
            // (object_store resumes a broken body), and may fail unless the store is in memory.
            let errors = self.label.body_errors && !head;
            if errors || scope.is_some() {
                if let GetResultPayload::Stream(stream) = result.payload {
                    let operation = Self::operation(name, &self.label, Some(location));
                    let stream = Scoped::new(scope, stream);
                    result.payload = GetResultPayload::Stream(if errors {
                        stream
                            .map_err(move |err| with_context(err, operation.clone()))
                            .boxed()
                    } else {
                        stream.boxed()
                    });
                }
            }
            Ok(result)
        })
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let error = self.error("get_ranges", Some(location));
        self.check(&[location]).map_err(&error)?;
        let ranges = self.inner.as_ref().get_ranges(location, ranges);
        self.scoped("get_ranges", ranges).await.map_err(error)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        // Errors of a bulk delete name the path when only one was asked for.
        let asked: Arc<Mutex<(usize, Option<Path>)>> = Arc::default();
        let record = asked.clone();
        let confinement = self.confinement.clone();
        let locations = locations
            .inspect(move |location| {
                if let Ok(location) = location {
                    let mut asked = record.lock().unwrap_or_else(|e| e.into_inner());
                    asked.0 += 1;
                    asked.1 = (asked.0 == 1).then(|| location.clone());
                }
            })
            .map(move |location| match &confinement {
                Some(confinement) => location.and_then(|l| confinement.check(&l).map(|_| l)),
                None => location,
            })
            .boxed();
        let label = self.label.clone();
        let deleted = self.inner.as_ref().delete_stream(locations);
        self.scoped("delete", deleted)
            .map_err(move |err| {
                let asked = asked.lock().unwrap_or_else(|e| e.into_inner());
                with_context(err, Self::operation("delete", &label, asked.1.as_ref()))
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.listing(prefix, |inner| inner.list(prefix))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.listing(prefix, |inner| inner.list_with_offset(prefix, offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let error = self.error("list_with_delimiter", prefix);
        self.check(prefix.as_slice()).map_err(&error)?;
        let listed = self.inner.as_ref().list_with_delimiter(prefix);
        let mut result = self
            .scoped("list_with_delimiter", listed)
            .await
            .map_err(error)?;
        if let Some(confinement) = &self.confinement {
            confinement.filter_result(&mut result);
        }
        Ok(result)
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        let error = self.error_between("copy", from, to);
        self.check(&[from, to]).map_err(&error)?;
        let copied = self.inner.as_ref().copy_opts(from, to, options);
        self.scoped("copy", copied).await.map_err(error)
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        let error = self.error_between("rename", from, to);
        self.check(&[from, to]).map_err(&error)?;
        let renamed = self.inner.as_ref().rename_opts(from, to, options);
        self.scoped("rename", renamed).await.map_err(error)
    }
}

/// A multipart upload whose errors name the `put` they belong to, and whose part, complete and
/// abort requests belong to its `put_multipart` scope.
#[derive(Debug)]
struct ContextUpload {
    inner: Box<dyn MultipartUpload>,
    operation: Operation,
    scope: Option<Arc<Scope>>,
}

#[async_trait]
impl MultipartUpload for ContextUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let operation = self.operation.clone();
        Scoped::new(self.scope.clone(), self.inner.put_part(data))
            .map_err(move |err| with_context(err, operation))
            .boxed()
    }

    async fn complete(&mut self) -> Result<PutResult> {
        let operation = self.operation.clone();
        Scoped::new(self.scope.clone(), self.inner.complete())
            .await
            .map_err(|err| with_context(err, operation))
    }

    async fn abort(&mut self) -> Result<()> {
        let operation = self.operation.clone();
        Scoped::new(self.scope.clone(), self.inner.abort())
            .await
            .map_err(|err| with_context(err, operation))
    }
}

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;
    use object_store::{ObjectStoreExt, PutPayload};

    use super::*;
    use crate::error::error_context;

    fn memory(confinement: Option<Arc<dyn Confinement>>) -> (Arc<InMemory>, Arc<dyn ObjectStore>) {
        let inner = Arc::new(InMemory::new());
        let label = Arc::new(StoreLabel::new("memory://").with_infallible_bodies());
        (inner.clone(), ContextStore::wrap(inner, label, confinement))
    }

    #[test]
    fn a_missing_object_error_names_the_operation_and_the_url_of_the_path() {
        let (_, store) = memory(None);
        let err = futures::executor::block_on(store.head(&Path::from("a/b.txt"))).unwrap_err();
        assert!(matches!(err, object_store::Error::NotFound { .. }));
        let operation = error_context(&err).unwrap();
        assert_eq!(operation.name, "head");
        assert_eq!(operation.url, "memory:///a/b.txt");
    }

    #[test]
    fn a_copy_error_names_both_paths() {
        let (_, store) = memory(None);
        let (from, to) = (Path::from("from"), Path::from("to"));
        let copy = store.copy(&from, &to);
        let err = futures::executor::block_on(copy).unwrap_err();
        let operation = error_context(&err).unwrap();
        assert_eq!(operation.name, "copy");
        assert_eq!(operation.url, "memory:///from");
        assert_eq!(operation.destination.as_deref(), Some("memory:///to"));
    }

    /// Refuses every path below `private/`, and lists nothing there.
    #[derive(Debug)]
    struct NoPrivate;

    impl Confinement for NoPrivate {
        fn check(&self, location: &Path) -> Result<()> {
            match location.as_ref().starts_with("private/") {
                true => Err(object_store::Error::PermissionDenied {
                    path: location.to_string(),
                    source: "private".into(),
                }),
                false => Ok(()),
            }
        }

        fn filter(
            &self,
            listing: BoxStream<'static, Result<ObjectMeta>>,
        ) -> BoxStream<'static, Result<ObjectMeta>> {
            listing
                .try_filter(|meta| {
                    std::future::ready(!meta.location.as_ref().starts_with("private/"))
                })
                .boxed()
        }

        fn filter_result(&self, result: &mut ListResult) {
            result
                .objects
                .retain(|meta| !meta.location.as_ref().starts_with("private/"));
        }
    }

    #[test]
    fn a_confined_store_refuses_a_path_before_the_store_is_asked_and_lists_only_what_it_allows() {
        let (inner, store) = memory(Some(Arc::new(NoPrivate)));
        let private = Path::from("private/key");
        let put = store.put(&private, PutPayload::from_static(b"x"));
        let err = futures::executor::block_on(put).unwrap_err();
        assert!(matches!(err, object_store::Error::PermissionDenied { .. }));
        assert_eq!(error_context(&err).unwrap().name, "put");
        assert!(futures::executor::block_on(inner.head(&private)).is_err());

        let put = inner.put(&private, PutPayload::from_static(b"x"));
        futures::executor::block_on(put).unwrap();
        let public = Path::from("public");
        futures::executor::block_on(store.put(&public, PutPayload::from_static(b"y"))).unwrap();
        let listed: Vec<_> = futures::executor::block_on(store.list(None).try_collect::<Vec<_>>())
            .unwrap()
            .into_iter()
            .map(|meta| meta.location)
            .collect();
        assert_eq!(listed, vec![public]);
    }
}
