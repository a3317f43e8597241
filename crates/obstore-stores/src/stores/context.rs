//! [`ContextStore`]: a store's `object_store` implementation as operations see it, adding to every
//! error the operation, the store URL and the path (see [`crate::error::with_context`]), and telling
//! a missing bucket from a missing object where the service's answer does not.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, LazyLock, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt, TryFutureExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
    UploadPart,
};

use crate::error::{is_missing_bucket, with_context, Operation};

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

/// A store's `object_store` implementation with its errors put in context.
#[derive(Debug)]
pub struct ContextStore {
    inner: Arc<dyn ObjectStore>,
    label: Arc<StoreLabel>,
}

/// Buckets that a check has found to exist, by [`BucketLabel::key`]: a bare 404 to a HEAD request
/// in one of them means the object is missing, without asking again.
static KNOWN_BUCKETS: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Default::default);

impl ContextStore {
    /// `inner`, whose errors name `label`.
    pub fn wrap(inner: Arc<dyn ObjectStore>, label: Arc<StoreLabel>) -> Arc<dyn ObjectStore> {
        Arc::new(Self { inner, label })
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

    /// A HEAD request answers a bare 404 for a missing bucket as for a missing object; listing
    /// below the path tells them apart, once per bucket that exists.
    async fn missing_bucket_error(&self, location: &Path) -> Option<object_store::Error> {
        let bucket = self.label.bucket.as_ref()?;
        let known = |buckets: &HashSet<String>| buckets.contains(&bucket.key);
        if known(&KNOWN_BUCKETS.lock().unwrap_or_else(|e| e.into_inner())) {
            return None;
        }
        match self.inner.list_with_delimiter(Some(location)).await {
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

#[async_trait]
impl ObjectStore for ContextStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.inner
            .put_opts(location, payload, opts)
            .await
            .map_err(self.error("put", Some(location)))
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let upload = self
            .inner
            .put_multipart_opts(location, opts)
            .await
            .map_err(self.error("put", Some(location)))?;
        Ok(Box::new(ContextUpload {
            inner: upload,
            operation: Self::operation("put", &self.label, Some(location)),
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let name = if options.head { "head" } else { "get" };
        let result = match self.inner.get_opts(location, options).await {
            Ok(result) => result,
            Err(err @ object_store::Error::NotFound { .. }) if name == "head" => {
                let err = self.missing_bucket_error(location).await.unwrap_or(err);
                return Err(self.error(name, Some(location))(err));
            }
            Err(err) => return Err(self.error(name, Some(location))(err)),
        };
        let GetResult {
            payload,
            meta,
            range,
            attributes,
            extensions,
        } = result;
        let payload = match payload {
            // A HEAD result's body is never read.
            GetResultPayload::Stream(stream) if self.label.body_errors && name == "get" => {
                let operation = Self::operation(name, &self.label, Some(location));
                GetResultPayload::Stream(
                    stream
                        .map_err(move |err| with_context(err, operation.clone()))
                        .boxed(),
                )
            }
            other => other,
        };
        Ok(GetResult {
            payload,
            meta,
            range,
            attributes,
            extensions,
        })
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner
            .get_ranges(location, ranges)
            .await
            .map_err(self.error("get_ranges", Some(location)))
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        // Errors of a bulk delete name the path when only one was asked for.
        let asked: Arc<Mutex<(usize, Option<Path>)>> = Arc::default();
        let record = asked.clone();
        let locations = locations
            .inspect(move |location| {
                if let Ok(location) = location {
                    let mut asked = record.lock().unwrap_or_else(|e| e.into_inner());
                    asked.0 += 1;
                    asked.1 = (asked.0 == 1).then(|| location.clone());
                }
            })
            .boxed();
        let label = self.label.clone();
        self.inner
            .delete_stream(locations)
            .map_err(move |err| {
                let asked = asked.lock().unwrap_or_else(|e| e.into_inner());
                with_context(err, Self::operation("delete", &label, asked.1.as_ref()))
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let operation = Self::operation("list", &self.label, prefix);
        self.inner
            .list(prefix)
            .map_err(move |err| with_context(err, operation.clone()))
            .boxed()
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let operation = Self::operation("list", &self.label, prefix);
        self.inner
            .list_with_offset(prefix, offset)
            .map_err(move |err| with_context(err, operation.clone()))
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner
            .list_with_delimiter(prefix)
            .await
            .map_err(self.error("list_with_delimiter", prefix))
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner
            .copy_opts(from, to, options)
            .await
            .map_err(self.error_between("copy", from, to))
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.inner
            .rename_opts(from, to, options)
            .await
            .map_err(self.error_between("rename", from, to))
    }
}

/// A multipart upload whose errors name the `put` they belong to.
#[derive(Debug)]
struct ContextUpload {
    inner: Box<dyn MultipartUpload>,
    operation: Operation,
}

#[async_trait]
impl MultipartUpload for ContextUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let operation = self.operation.clone();
        self.inner
            .put_part(data)
            .map_err(move |err| with_context(err, operation))
            .boxed()
    }

    async fn complete(&mut self) -> Result<PutResult> {
        let operation = self.operation.clone();
        self.inner
            .complete()
            .await
            .map_err(|err| with_context(err, operation))
    }

    async fn abort(&mut self) -> Result<()> {
        let operation = self.operation.clone();
        self.inner
            .abort()
            .await
            .map_err(|err| with_context(err, operation))
    }
}
