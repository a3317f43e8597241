//! End-to-end checksums: the checksums a server announces for a whole object (read from the
//! response and kept in its extensions), the verification of a body read to its end against
//! them, and the checksum headers added to uploads where no request signature covers them.
//!
//! Where each backend's checksum travels:
//!
//! * S3 signs every `x-amz-*` header (an unsigned one is refused). sha256 and crc64nvme are
//!   `object_store`'s own upload checksums (per part and for the whole multipart upload, inside
//!   its signature); crc32c, which it does not know, is added here (per part, and per part in
//!   the completion of a multipart upload) and the request signed again with the store's
//!   credential ([`s3_upload`]). Downloads ask for checksums with `x-amz-checksum-mode: ENABLED`,
//!   sent as a default header, which `object_store` signs.
//! * GCS authenticates with a bearer token that covers no header: `x-goog-hash` (crc32c or md5)
//!   is added here to every upload request with a body.
//! * Azure SharedKey signs `Content-MD5` and every `x-ms-*` header, and `object_store` signs
//!   before the connector sees a request, offering no way to add a header first. `Content-MD5`
//!   is added here to requests without a SharedKey signature (bearer token, SAS), and to those
//!   signed with the store's own account key, which are then signed again with it
//!   ([`azure_sign`]). A request signed with another key (a credential provider's) is sent
//!   without one.
//!
//! Listings: Azure's answer names each blob's stored MD5, which the connector reads from the
//! pages of a listing that asks for it ([`Listing`]). S3's and GCS's pages are read here too,
//! for speed rather than integrity: the objects of a page go straight to a streaming listing,
//! since this connector is where a page's bytes pass ([`list_pages`]).
//!
//! The upload checksum is a client's: a call that asks for another one ([`UploadChoice`],
//! `checksum=`) goes through a client of its store built with it, so that every request of the
//! upload carries it, a multipart upload's parts included (see `stores::cloud`).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use base64::prelude::{Engine, BASE64_STANDARD};
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use http::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_RANGE, RANGE};
use http::Method;
use http_body::Body as _;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpRequest, HttpRequestBody, HttpResponse, HttpService,
};
use object_store::path::Path;
use object_store::ClientOptions;

mod azure_sign;
mod list_pages;
mod listing;
mod s3_upload;
pub use azure_sign::SharedKey;
pub use listing::Listing;
pub use s3_upload::{S3Credentials, UNSIGNED_PAYLOAD};

/// The store setting that turns download verification off (`"false"`); on by default.
pub const VERIFY_KEY: &str = "verify_checksum";
/// The store setting naming the upload checksum of GCS and Azure stores (S3 stores use
/// `aws_checksum_algorithm`).
pub const ALGORITHM_KEY: &str = "checksum_algorithm";

/// A checksum algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// CRC-32C (Castagnoli), hardware-accelerated.
    Crc32c,
    /// CRC-64/NVME, hardware-accelerated.
    Crc64Nvme,
    /// SHA-256.
    Sha256,
    /// MD5.
    Md5,
}

impl Algorithm {
    /// Every algorithm, cheapest to compute first: the order a download picks one to verify.
    pub const ALL: [Algorithm; 4] = [Self::Crc32c, Self::Crc64Nvme, Self::Md5, Self::Sha256];

    /// The name users give and see.
    pub fn name(self) -> &'static str {
        match self {
            Self::Crc32c => "crc32c",
            Self::Crc64Nvme => "crc64nvme",
            Self::Sha256 => "sha256",
            Self::Md5 => "md5",
        }
    }

    /// Parses a name (case-insensitive); the error names the value and the choices.
    pub fn parse(value: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(value.trim()))
            .ok_or_else(|| {
                format!(
                    "{value:?} is not a checksum algorithm: expected one of \"crc32c\", \
                     \"crc64nvme\", \"sha256\", \"md5\""
                )
            })
    }

    /// The length of a digest in bytes.
    pub fn width(self) -> usize {
        match self {
            Self::Crc32c => 4,
            Self::Crc64Nvme => 8,
            Self::Sha256 => 32,
            Self::Md5 => 16,
        }
    }

    /// The digest of `data` (CRCs big-endian, as every service encodes them).
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut hasher = Hasher::new(self);
        hasher.update(data);
        hasher.finish()
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A running checksum.
pub enum Hasher {
    /// CRC-32C or CRC-64/NVME, and the width of the result in bytes.
    Crc(crc_fast::Digest, usize),
    /// SHA-256.
    Sha256(ring::digest::Context),
    /// MD5.
    Md5(md5::Md5),
}

impl Hasher {
    /// A hasher of `algorithm` over no bytes yet.
    pub fn new(algorithm: Algorithm) -> Self {
        use md5::Digest as _;
        match algorithm {
            Algorithm::Crc32c => {
                Self::Crc(crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32Iscsi), 4)
            }
            Algorithm::Crc64Nvme => {
                Self::Crc(crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64Nvme), 8)
            }
            Algorithm::Sha256 => Self::Sha256(ring::digest::Context::new(&ring::digest::SHA256)),
            Algorithm::Md5 => Self::Md5(md5::Md5::new()),
        }
    }

    /// Adds `data`.
    pub fn update(&mut self, data: &[u8]) {
        use md5::Digest as _;
        match self {
            Self::Crc(digest, _) => digest.update(data),
            Self::Sha256(context) => context.update(data),
            Self::Md5(md5) => md5.update(data),
        }
    }

    /// The digest of everything added.
    pub fn finish(self) -> Vec<u8> {
        use md5::Digest as _;
        match self {
            Self::Crc(digest, width) => digest.finalize().to_be_bytes()[8 - width..].to_vec(),
            Self::Sha256(context) => context.finish().as_ref().to_vec(),
            Self::Md5(md5) => md5.finalize().to_vec(),
        }
    }
}

/// The checksums a server announced for a whole object, by algorithm (the raw digests). Kept in
/// the extensions of a response to a GET or HEAD of a whole object (no `Range`), which
/// `object_store` hands on in `GetResult::extensions`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerChecksums(pub Vec<(Algorithm, Vec<u8>)>);

impl ServerChecksums {
    /// The checksums in the headers of a response.
    pub fn from_headers(headers: &http::HeaderMap) -> Self {
        let mut found = Vec::new();
        let mut add = |algorithm: Algorithm, encoded: &str| {
            let encoded = encoded.trim();
            // A multipart object's composite checksum ("...-3") is not the digest of its bytes.
            if encoded.contains('-') {
                return;
            }
            if let Ok(digest) = BASE64_STANDARD.decode(encoded) {
                // A value of another width is not this algorithm's digest (a server that
                // mislabels its checksums is not believed).
                if digest.len() == algorithm.width() && !found.iter().any(|(a, _)| *a == algorithm)
                {
                    found.push((algorithm, digest));
                }
            }
        };
        // An S3 multipart object (its ETag ends in "-<parts>") has a checksum of its whole bytes
        // only for CRC-64/NVME, or for a CRC declared FULL_OBJECT; its other checksums are
        // checksums of the parts' checksums, which some servers send without the "-<parts>".
        let checksum_type = headers
            .get("x-amz-checksum-type")
            .map(|v| v.as_bytes().to_ascii_uppercase());
        let multipart = headers
            .get(http::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim_matches('"').rsplit_once('-'))
            .is_some_and(|(_, parts)| parts.bytes().all(|b| b.is_ascii_digit()));
        let full_object = match checksum_type.as_deref() {
            Some(b"COMPOSITE") => false,
            Some(b"FULL_OBJECT") => true,
            _ => !multipart,
        };
        for (name, algorithm) in [
            ("x-amz-checksum-crc32c", Algorithm::Crc32c),
            ("x-amz-checksum-crc64nvme", Algorithm::Crc64Nvme),
            ("x-amz-checksum-sha256", Algorithm::Sha256),
        ] {
            let whole = match algorithm {
                Algorithm::Crc64Nvme => checksum_type.as_deref() != Some(b"COMPOSITE"),
                Algorithm::Sha256 => !multipart,
                _ => full_object,
            };
            if whole {
                if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
                    add(algorithm, value);
                }
            }
        }
        // GCS: "crc32c=<b64>,md5=<b64>", possibly over several headers. They are checksums of
        // the stored bytes: an object stored compressed and served decompressed (GCS
        // transcoding) is not checked against them.
        let header = |name: &str| headers.get(name).map(|v| v.as_bytes().to_ascii_lowercase());
        let stored_encoding = header("x-goog-stored-content-encoding");
        let transcoded = stored_encoding
            .as_deref()
            .is_some_and(|e| e != b"identity" && Some(e) != header("content-encoding").as_deref());
        for value in headers
            .get_all("x-goog-hash")
            .iter()
            .filter(|_| !transcoded)
        {
            let Ok(value) = value.to_str() else { continue };
            for item in value.split(',') {
                match item.trim().split_once('=') {
                    Some(("crc32c", v)) => add(Algorithm::Crc32c, v),
                    Some(("md5", v)) => add(Algorithm::Md5, v),
                    _ => {}
                }
            }
        }
        // Azure's stored MD5 of the blob (any server's Content-MD5 of the body).
        if let Some(value) = headers.get("content-md5").and_then(|v| v.to_str().ok()) {
            add(Algorithm::Md5, value);
        }
        Self(found)
    }

    /// The algorithm and digest a download verifies: the cheapest one announced.
    pub fn preferred(&self) -> Option<(Algorithm, &[u8])> {
        Algorithm::ALL.into_iter().find_map(|algorithm| {
            self.0
                .iter()
                .find(|(a, _)| *a == algorithm)
                .map(|(a, d)| (*a, d.as_slice()))
        })
    }

    /// The checksums as `(algorithm name, base64 digest)`, in [`Algorithm::ALL`] order.
    pub fn encoded(&self) -> Vec<(&'static str, String)> {
        Algorithm::ALL
            .into_iter()
            .filter_map(|algorithm| {
                self.0
                    .iter()
                    .find(|(a, _)| *a == algorithm)
                    .map(|(a, d)| (a.name(), BASE64_STANDARD.encode(d)))
            })
            .collect()
    }
}

/// The bytes of a download do not match the checksum the server announced.
#[derive(Debug)]
pub struct ChecksumMismatch {
    /// The object.
    pub location: String,
    /// The algorithm compared.
    pub algorithm: Algorithm,
    /// The digest the server announced, base64.
    pub expected: String,
    /// The digest of the bytes received, base64.
    pub actual: String,
}

impl fmt::Display for ChecksumMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "checksum mismatch on {}: the {} of the bytes received is {}, the server announced {} \
             (the data was corrupted in transit or at rest)",
            self.location, self.algorithm, self.actual, self.expected
        )
    }
}

impl std::error::Error for ChecksumMismatch {}

impl ChecksumMismatch {
    /// As an `object_store` error (how errors travel through body streams).
    pub fn into_store_error(self) -> object_store::Error {
        object_store::Error::Generic {
            store: "checksum",
            source: Box::new(self),
        }
    }
}

/// Compares `digest` with the server's; a mismatch is an error naming `location`.
fn compare(
    location: &str,
    algorithm: Algorithm,
    expected: &[u8],
    digest: Vec<u8>,
) -> object_store::Result<()> {
    if digest == expected {
        return Ok(());
    }
    Err(ChecksumMismatch {
        location: location.to_string(),
        algorithm,
        expected: BASE64_STANDARD.encode(expected),
        actual: BASE64_STANDARD.encode(&digest),
    }
    .into_store_error())
}

/// Verifies a whole object held in memory against the checksums of its response.
pub fn verify_bytes(
    location: &Path,
    checksums: Option<&ServerChecksums>,
    data: &[u8],
) -> object_store::Result<()> {
    match checksums.and_then(ServerChecksums::preferred) {
        Some((algorithm, expected)) => compare(
            location.as_ref(),
            algorithm,
            expected,
            algorithm.digest(data),
        ),
        None => Ok(()),
    }
}

/// `stream`, the body of a whole object of `len` bytes, hashed as it passes: when it ends after
/// exactly `len` bytes, a digest that differs from the server's ends it with a
/// [`ChecksumMismatch`] instead. A body that ends early or runs long passes unverified (the
/// length check downstream reports it). Without a checksum, `stream` is returned as it is.
pub fn verify_stream(
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    checksums: Option<&ServerChecksums>,
    location: &Path,
    len: u64,
) -> BoxStream<'static, object_store::Result<Bytes>> {
    let Some((algorithm, expected)) = checksums.and_then(ServerChecksums::preferred) else {
        return stream;
    };
    Verified {
        inner: stream,
        hasher: Some(Hasher::new(algorithm)),
        algorithm,
        expected: expected.to_vec(),
        location: location.to_string(),
        len,
        received: 0,
    }
    .boxed()
}

struct Verified {
    inner: BoxStream<'static, object_store::Result<Bytes>>,
    hasher: Option<Hasher>,
    algorithm: Algorithm,
    expected: Vec<u8>,
    location: String,
    len: u64,
    received: u64,
}

impl Stream for Verified {
    type Item = object_store::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match this.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.received += chunk.len() as u64;
                if let Some(hasher) = this.hasher.as_mut() {
                    hasher.update(&chunk);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(None) => match this.hasher.take() {
                Some(hasher) if this.received == this.len => {
                    let checked = compare(
                        &this.location,
                        this.algorithm,
                        &this.expected,
                        hasher.finish(),
                    );
                    Poll::Ready(checked.err().map(Err))
                }
                _ => Poll::Ready(None),
            },
            other => other,
        }
    }
}

/// Which service a connector talks to: where an upload checksum header goes, if anywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// S3: `object_store` sends (and signs) sha256 and crc64nvme; crc32c is added here, and
    /// the request signed again with the store's credential.
    S3,
    /// GCS: `x-goog-hash`.
    Gcs,
    /// Azure: `Content-MD5`, on requests without a SharedKey signature or signed with the
    /// store's account key (signed again with it).
    Azure,
}

/// What the connector does: the service, the upload checksum, whether downloads are checked.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// The service.
    pub service: Service,
    /// The checksum every upload request carries.
    pub upload: Option<Algorithm>,
    /// Whether whole-object responses carry their checksums on to be verified.
    pub verify: bool,
}

impl Policy {
    /// Whether `algorithm` can be sent as an upload checksum header of `service`.
    pub fn supports(service: Service, algorithm: Algorithm) -> bool {
        match service {
            Service::S3 => matches!(
                algorithm,
                Algorithm::Sha256 | Algorithm::Crc64Nvme | Algorithm::Crc32c
            ),
            Service::Gcs => matches!(algorithm, Algorithm::Crc32c | Algorithm::Md5),
            Service::Azure => algorithm == Algorithm::Md5,
        }
    }
}

impl Service {
    /// Whether `object_store` itself sends `algorithm` as this service's upload checksum (and
    /// signs it), rather than the connector.
    pub fn sent_by_object_store(self, algorithm: Algorithm) -> bool {
        self == Self::S3 && matches!(algorithm, Algorithm::Sha256 | Algorithm::Crc64Nvme)
    }

    /// The store class of the service, as errors name it.
    pub fn store_class(self) -> &'static str {
        match self {
            Self::S3 => "S3Store",
            Self::Gcs => "GCSStore",
            Self::Azure => "AzureStore",
        }
    }

    /// The upload checksums the service takes, as a message lists them.
    fn upload_choices(self) -> String {
        let names: Vec<_> = Algorithm::ALL
            .into_iter()
            .filter(|a| Policy::supports(self, *a))
            .map(|a| format!("{:?}", a.name()))
            .collect();
        names.join(", ")
    }
}

/// The upload checksum one call asks for (`checksum=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UploadChoice {
    /// `"default"`: the store's `checksum_algorithm` setting.
    Store,
    /// `None`: no checksum on this call's requests.
    Off,
    /// An algorithm.
    Use(Algorithm),
}

impl UploadChoice {
    /// The name of the store's own choice.
    pub const STORE: &'static str = "default";

    /// Parses `checksum=` (`None` is Python's `None`); the error names the value and the choices.
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        let Some(value) = value else {
            return Ok(Self::Off);
        };
        if value.eq_ignore_ascii_case(Self::STORE) {
            return Ok(Self::Store);
        }
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(value))
            .map(Self::Use)
            .ok_or_else(|| {
                format!(
                    "checksum={value:?} is not a checksum algorithm: expected one of \"crc32c\", \
                     \"crc64nvme\", \"sha256\", \"md5\", None or \"default\""
                )
            })
    }

    /// The upload checksum of a call on a store of `service` whose own setting is `store`; an
    /// algorithm the service cannot take is an error naming it, the store class and the choices.
    pub fn resolve(
        self,
        service: Service,
        store: Option<Algorithm>,
    ) -> Result<Option<Algorithm>, String> {
        match self {
            Self::Store => Ok(store),
            Self::Off => Ok(None),
            Self::Use(algorithm) if Policy::supports(service, algorithm) => Ok(Some(algorithm)),
            Self::Use(algorithm) => Err(format!(
                "checksum={:?} is not supported for uploads by {}: it takes {}, None or \"default\"",
                algorithm.name(),
                service.store_class(),
                service.upload_choices()
            )),
        }
    }
}

/// The store's own credential, with which the connector signs again the upload requests it
/// gives a checksum header that the signature covers.
#[derive(Clone, Debug)]
pub enum UploadSigner {
    /// The Azure account key (SharedKey).
    Azure(SharedKey),
    /// The S3 client's credential (SigV4), handed over once the client is built.
    S3(S3Credentials),
}

/// An [`HttpConnector`] that wraps another (the lanes') with the checksum [`Policy`].
#[derive(Debug, Clone)]
pub struct IntegrityConnector<C> {
    inner: C,
    policy: Policy,
    signer: Option<UploadSigner>,
}

impl<C> IntegrityConnector<C> {
    /// `inner` with `policy`.
    pub fn new(inner: C, policy: Policy) -> Self {
        Self {
            inner,
            policy,
            signer: None,
        }
    }

    /// Signs again with `signer` the signed uploads it gives a checksum header.
    pub fn with_signer(self, signer: Option<UploadSigner>) -> Self {
        Self { signer, ..self }
    }
}

impl<C: HttpConnector> HttpConnector for IntegrityConnector<C> {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let s3 = match (self.policy.service, self.policy.upload) {
            (Service::S3, Some(algorithm)) if !Service::S3.sent_by_object_store(algorithm) => {
                let credentials = match &self.signer {
                    Some(UploadSigner::S3(credentials)) => credentials.clone(),
                    _ => S3Credentials::default(),
                };
                Some(s3_upload::S3Uploads::new(algorithm, credentials))
            }
            _ => None,
        };
        let azure_key = match &self.signer {
            Some(UploadSigner::Azure(key)) => Some(key.clone()),
            _ => None,
        };
        Ok(HttpClient::new(IntegrityService {
            inner: self.inner.connect(options)?,
            policy: self.policy,
            azure_key,
            s3,
        }))
    }
}

#[derive(Debug)]
struct IntegrityService {
    inner: HttpClient,
    policy: Policy,
    azure_key: Option<SharedKey>,
    /// The S3 upload checksum the connector sends, and the state of its multipart uploads.
    s3: Option<s3_upload::S3Uploads>,
}

#[async_trait]
impl HttpService for IntegrityService {
    async fn call(&self, mut req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let mut follow_up = None;
        match (&self.s3, self.policy.upload) {
            (Some(s3), _) => follow_up = s3.prepare(&mut req).await?,
            (None, Some(algorithm)) => add_upload_checksum(
                &mut req,
                self.policy.service,
                algorithm,
                self.azure_key.as_ref(),
            ),
            (None, None) => {}
        }
        let whole_object_read = self.policy.verify
            && (req.method() == Method::GET || req.method() == Method::HEAD)
            && !req.headers().contains_key(RANGE);
        let listing = match self.policy.service {
            Service::Azure if is_azure_listing(&req) => Listing::current(),
            Service::S3 | Service::Gcs if is_s3_listing(&req) => Listing::current(),
            _ => None,
        };
        let mut response = self.inner.execute(req).await?;
        if let Some(listing) = listing.filter(|_| response.status() == http::StatusCode::OK) {
            // object_store reads a listing page whole before parsing it, so reading it here
            // first holds no more in memory.
            let (parts, body) = response.into_parts();
            let page = body.bytes().await?;
            let page = match self.policy.service {
                Service::Azure => {
                    listing.record_azure_page(&page);
                    page
                }
                Service::S3 | Service::Gcs => listing.read_s3_page(page),
            };
            return Ok(HttpResponse::from_parts(parts, page.into()));
        }
        if let (Some(s3), Some(follow_up)) = (&self.s3, follow_up) {
            response = s3.finish(follow_up, response).await?;
        }
        if whole_object_read
            && response.status() == http::StatusCode::OK
            && !response.headers().contains_key(CONTENT_RANGE)
        {
            let checksums = ServerChecksums::from_headers(response.headers());
            if !checksums.0.is_empty() {
                response.extensions_mut().insert(checksums);
            }
        }
        Ok(response)
    }
}

/// Whether `req` asks for a page of an S3 or GCS (XML API) ListObjectsV2 listing.
fn is_s3_listing(req: &HttpRequest) -> bool {
    req.method() == Method::GET
        && req
            .uri()
            .query()
            .is_some_and(|query| query.split('&').any(|p| p == "list-type=2"))
}

/// Whether `req` asks for a page of an Azure container's blob listing.
fn is_azure_listing(req: &HttpRequest) -> bool {
    req.method() == Method::GET
        && req.uri().query().is_some_and(|query| {
            let mut pairs = query.split('&');
            pairs.clone().any(|p| p == "comp=list") && pairs.any(|p| p == "restype=container")
        })
}

/// Adds the upload checksum header of GCS or Azure to an upload request with a body, computed
/// over the body (in memory: one pass, no copy), unless a signature covers the headers (an
/// Azure SharedKey signature made with `signing_key` is made again to cover it) or the request
/// already carries one. S3 requests are left as they are (see [`s3_upload`]).
fn add_upload_checksum(
    req: &mut HttpRequest,
    service: Service,
    algorithm: Algorithm,
    signing_key: Option<&SharedKey>,
) {
    // `content_length`, not `is_empty`: object_store 0.14.2's `is_empty` answers true for a
    // multi-chunk payload that has bytes.
    if req.method() != Method::PUT || req.body().content_length() == 0 {
        return;
    }
    // The account of the SharedKey signature to make again once the header is added.
    let mut resign: Option<String> = None;
    let header = match service {
        Service::S3 => return,
        Service::Gcs => "x-goog-hash",
        Service::Azure => {
            let signed = req
                .headers()
                .get(AUTHORIZATION)
                .is_some_and(|v| v.as_bytes().starts_with(b"SharedKey"));
            if signed {
                match signing_key.and_then(|key| key.signer_account(req)) {
                    Some(account) => resign = Some(account),
                    None => return,
                }
            }
            "content-md5"
        }
    };
    if !Policy::supports(service, algorithm) || req.headers().contains_key(header) {
        return;
    }
    let Some(digest) = body_digest(req.body(), algorithm) else {
        return;
    };
    let encoded = BASE64_STANDARD.encode(digest);
    let value = match service {
        Service::Gcs => format!("{algorithm}={encoded}"),
        _ => encoded,
    };
    let Ok(value) = HeaderValue::from_str(&value) else {
        return;
    };
    let name = HeaderName::from_static(header);
    req.headers_mut().insert(name.clone(), value);
    if let (Some(account), Some(key)) = (resign, signing_key) {
        if !key.sign(req, &account) {
            req.headers_mut().remove(name);
        }
    }
}

/// The digest of an in-memory request body (a body whose frames are not ready at once is left
/// without a checksum).
fn body_digest(body: &HttpRequestBody, algorithm: Algorithm) -> Option<Vec<u8>> {
    let mut hasher = Hasher::new(algorithm);
    for_each_chunk(body, |chunk| hasher.update(chunk)).then(|| hasher.finish())
}

/// Hands each chunk of `body` to `f`; whether the body ended. An `object_store` request body is
/// in memory (bytes, or a `PutPayload`'s chunks), so its frames are ready at once; one that is
/// not (or fails) ends the walk early.
pub fn for_each_chunk(body: &HttpRequestBody, mut f: impl FnMut(&[u8])) -> bool {
    let mut body = body.clone();
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    loop {
        match Pin::new(&mut body).poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    f(data);
                }
            }
            Poll::Ready(None) => return true,
            Poll::Ready(Some(Err(_))) | Poll::Pending => return false,
        }
    }
}

/// Whether a store of `service` sends upload checksums by default: on the cloud's own endpoint
/// (no `endpoint` setting), off on a custom endpoint (an S3-compatible server or an emulator may
/// not know the header).
pub fn default_upload(service: Service, custom_endpoint: bool) -> Option<Algorithm> {
    if custom_endpoint {
        return None;
    }
    Some(match service {
        Service::S3 => Algorithm::Crc64Nvme,
        Service::Gcs => Algorithm::Crc32c,
        Service::Azure => Algorithm::Md5,
    })
}

/// Checks an upload checksum setting of `service` (`"none"` or empty: none).
pub fn parse_upload(service: Service, value: &str) -> Result<Option<Algorithm>, String> {
    let value = value.trim();
    if value.is_empty() || value.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let algorithm = Algorithm::parse(value)?;
    if !Policy::supports(service, algorithm) {
        return Err(format!(
            "checksum algorithm {:?} is not supported by this store for uploads: expected {} \
             or None",
            algorithm.name(),
            service.upload_choices()
        ));
    }
    Ok(Some(algorithm))
}

/// Parses the `verify_checksum` setting.
pub fn parse_verify(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!(
            "verify_checksum must be true or false, got {value:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_of_a_known_string() {
        // CRC-32C check value of "123456789".
        assert_eq!(
            Algorithm::Crc32c.digest(b"123456789"),
            0xE306_9283u32.to_be_bytes().to_vec()
        );
    }

    #[test]
    fn crc64nvme_of_a_known_string() {
        assert_eq!(
            Algorithm::Crc64Nvme.digest(b"123456789"),
            0xAE8B_1486_0A79_9888u64.to_be_bytes().to_vec()
        );
    }

    /// The checksums of a response with these headers.
    fn checksums_of(headers: &[(&str, &str)]) -> ServerChecksums {
        let mut map = http::HeaderMap::new();
        for (name, value) in headers {
            let name: http::HeaderName = name.parse().unwrap();
            map.append(name, value.parse().unwrap());
        }
        ServerChecksums::from_headers(&map)
    }

    #[test]
    fn composite_s3_checksums_are_not_verified() {
        assert!(checksums_of(&[("x-amz-checksum-crc32c", "AAAAAA==-3")])
            .0
            .is_empty());
    }

    #[test]
    fn a_multipart_objects_sha256_is_not_taken_for_its_bytes() {
        let sha = BASE64_STANDARD.encode([1u8; 32]);
        let crc = BASE64_STANDARD.encode([2u8; 8]);
        let found = checksums_of(&[
            ("etag", "\"abc-2\""),
            ("x-amz-checksum-sha256", &sha),
            ("x-amz-checksum-crc64nvme", &crc),
        ]);
        assert_eq!(found.0, vec![(Algorithm::Crc64Nvme, vec![2u8; 8])]);
    }

    #[test]
    fn a_gcs_object_served_decompressed_is_not_checked_against_its_stored_hash() {
        let hash = ("x-goog-hash", "crc32c=4waSgw==");
        let stored = ("x-goog-stored-content-encoding", "gzip");
        assert!(checksums_of(&[hash, stored]).0.is_empty());
        let served = ("content-encoding", "gzip");
        assert_eq!(checksums_of(&[hash, stored, served]).0.len(), 1);
    }

    #[test]
    fn a_checksum_of_the_wrong_width_is_ignored() {
        assert!(checksums_of(&[("x-amz-checksum-crc64nvme", "rU3VPA==")])
            .0
            .is_empty());
    }

    /// A Put Blob request signed by `object_store` with the account key `key`.
    fn azure_put_signed_with(key: &str) -> HttpRequest {
        use object_store::azure::{AzureAccessKey, AzureAuthorizer, AzureCredential};
        let mut req = http::Request::builder()
            .method("PUT")
            .uri("http://127.0.0.1:10000/acct/container/obj")
            .header("content-length", "9")
            .header("x-ms-blob-type", "BlockBlob")
            .body(HttpRequestBody::from(Bytes::from_static(b"123456789")))
            .unwrap();
        let credential = AzureCredential::AccessKey(AzureAccessKey::try_new(key).unwrap());
        AzureAuthorizer::new(&credential, "acct")
            .try_authorize(&mut req)
            .unwrap();
        req
    }

    #[test]
    fn an_azure_upload_signed_with_the_store_key_gets_content_md5_and_a_new_signature() {
        let key = BASE64_STANDARD.encode(b"store key");
        let mut req = azure_put_signed_with(&key);
        let before = req.headers()[AUTHORIZATION].clone();
        let signing_key = SharedKey::from_base64(&key).unwrap();
        add_upload_checksum(&mut req, Service::Azure, Algorithm::Md5, Some(&signing_key));
        let md5 = BASE64_STANDARD.encode(Algorithm::Md5.digest(b"123456789"));
        assert_eq!(req.headers()["content-md5"], md5.as_str());
        assert_ne!(req.headers()[AUTHORIZATION], before);
        assert_eq!(signing_key.signer_account(&req).as_deref(), Some("acct"));
    }

    #[test]
    fn an_azure_upload_signed_with_another_key_is_left_as_it_is() {
        let mut req = azure_put_signed_with(&BASE64_STANDARD.encode(b"provider key"));
        let before = req.headers().clone();
        let store_key = SharedKey::from_base64(&BASE64_STANDARD.encode(b"store key")).unwrap();
        add_upload_checksum(&mut req, Service::Azure, Algorithm::Md5, Some(&store_key));
        assert_eq!(req.headers(), &before);
        add_upload_checksum(&mut req, Service::Azure, Algorithm::Md5, None);
        assert_eq!(req.headers(), &before);
    }

    #[test]
    fn a_per_call_choice_resolves_against_the_store_setting_and_the_service() {
        let parse = |v| UploadChoice::parse(v).unwrap();
        let store = Some(Algorithm::Crc64Nvme);
        assert_eq!(
            parse(Some("default")).resolve(Service::S3, store),
            Ok(store)
        );
        assert_eq!(parse(None).resolve(Service::S3, store), Ok(None));
        assert_eq!(
            parse(Some("SHA256")).resolve(Service::S3, store),
            Ok(Some(Algorithm::Sha256))
        );
        assert_eq!(
            parse(Some("crc32c")).resolve(Service::S3, store),
            Ok(Some(Algorithm::Crc32c))
        );
        let refused = parse(Some("md5")).resolve(Service::S3, store).unwrap_err();
        assert!(refused.contains("\"md5\"") && refused.contains("S3Store"));
        assert!(UploadChoice::parse(Some("crc33"))
            .unwrap_err()
            .contains("\"crc33\""));
    }

    #[test]
    fn goog_hash_lists_both_checksums() {
        let found = checksums_of(&[(
            "x-goog-hash",
            "crc32c=4waSgw==,md5=JfnnlDI7RTiF9RgfG2JNCw==",
        )]);
        assert_eq!(found.preferred().unwrap().0, Algorithm::Crc32c);
        assert_eq!(found.encoded().len(), 2);
    }
}
