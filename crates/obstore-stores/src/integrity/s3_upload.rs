//! S3 upload checksums that `object_store` does not send (CRC32C), added by the connector and
//! signed again with the store's own credential.
//!
//! A single-part upload (PutObject) gets `x-amz-checksum-<name>`. A multipart upload declares the
//! algorithm when it is created (`x-amz-checksum-algorithm`), each part (UploadPart) carries its
//! checksum, which is noted by upload id and part number, and the completion lists each part's
//! checksum in its body (`<Checksum<NAME>>`), as S3 requires of an upload created with one; a
//! part copied from another object (UploadPartCopy) gets the checksum the server computed, read
//! from its response. S3 signs every `x-amz-*` header, and a signed payload covers the body: each
//! request changed here is signed again with the store's credential, keeping its payload-signing
//! mode. A request that cannot carry the checksum fails with a [`S3UploadError`] rather than
//! being sent without it.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use base64::prelude::{Engine, BASE64_STANDARD};
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_LENGTH};
use http::Method;
use object_store::aws::{AwsAuthorizer, AwsCredentialProvider};
use object_store::client::{HttpError, HttpErrorKind, HttpRequest, HttpRequestBody, HttpResponse};

use super::{body_digest, Algorithm};

/// Uploads whose part checksums are kept at once; beyond it, the one least recently used is
/// forgotten (an upload neither completed nor aborted must not hold memory for ever).
const MAX_UPLOADS: usize = 1024;

/// The payload hash of a request whose body the signature does not cover.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The credential the S3 client signs with, shared with the connector once the client is built
/// (the connector is built first). Cloning shares the handle.
#[derive(Clone, Default)]
pub struct S3Credentials(Arc<OnceLock<AwsCredentialProvider>>);

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("S3Credentials")
    }
}

impl S3Credentials {
    /// Hands over the client's credential provider (`AmazonS3::credentials`); a second call
    /// keeps the first.
    pub fn set(&self, provider: AwsCredentialProvider) {
        let _ = self.0.set(provider);
    }
}

/// Why an upload request cannot carry its checksum; the request is not sent.
#[derive(Debug, thiserror::Error)]
pub enum S3UploadError {
    /// The body is not in memory, so no checksum of it can be computed before it is sent.
    #[error("the {0} checksum of this upload cannot be computed: its body is not in memory")]
    BodyNotInMemory(Algorithm),
    /// The completion names a part whose checksum is not known.
    #[error(
        "the {algorithm} checksum of part {part} of multipart upload {upload_id} is not known \
         (more than {MAX_UPLOADS} multipart uploads in progress at once, or a part uploaded by \
         another client): the upload cannot be completed with its checksums"
    )]
    UnknownPart {
        /// The algorithm.
        algorithm: Algorithm,
        /// The upload.
        upload_id: String,
        /// The part number.
        part: u32,
    },
    /// The completion body is not a `CompleteMultipartUpload` document with numbered parts.
    #[error("the completion of multipart upload {0} has no part list to add checksums to")]
    UnexpectedCompletion(String),
    /// The request carries a signature this code cannot make again.
    #[error(
        "the {algorithm} checksum of this upload cannot be signed: {why}; choose \
         checksum_algorithm \"crc64nvme\" or \"sha256\" (signed by the S3 client itself)"
    )]
    CannotSign {
        /// The algorithm.
        algorithm: Algorithm,
        /// What stands in the way.
        why: String,
    },
    /// The store's credential could not be obtained.
    #[error("the store's credential, needed to sign the {algorithm} checksum of this upload, could not be obtained")]
    Credential {
        /// The algorithm.
        algorithm: Algorithm,
        /// The credential provider's error.
        source: object_store::Error,
    },
}

impl From<S3UploadError> for HttpError {
    fn from(error: S3UploadError) -> Self {
        // Not retried: trying again changes nothing.
        HttpError::new(HttpErrorKind::Unknown, error)
    }
}

/// The S3 request kinds an upload checksum concerns.
#[derive(Debug, PartialEq, Eq)]
enum S3Request {
    /// PutObject.
    PutObject,
    /// UploadPart.
    UploadPart { upload_id: String, part: u32 },
    /// UploadPartCopy: the part's bytes are copied on the server.
    UploadPartCopy { upload_id: String, part: u32 },
    /// CreateMultipartUpload.
    Create,
    /// CompleteMultipartUpload.
    Complete { upload_id: String },
    /// AbortMultipartUpload.
    Abort { upload_id: String },
    /// Anything else (reads, listings, copies of whole objects, deletions).
    Other,
}

impl S3Request {
    fn of(req: &HttpRequest) -> Self {
        let mut upload_id = None;
        let mut part = None;
        let mut uploads = false;
        let mut other_query = false;
        for (name, value) in url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        {
            match name.as_ref() {
                "uploadId" => upload_id = Some(value.into_owned()),
                "partNumber" => part = value.parse::<u32>().ok(),
                "uploads" => uploads = true,
                _ => other_query = true,
            }
        }
        let copy = req.headers().contains_key("x-amz-copy-source");
        let method = req.method();
        match (upload_id, part) {
            (Some(upload_id), Some(part)) if method == Method::PUT && copy => {
                Self::UploadPartCopy { upload_id, part }
            }
            (Some(upload_id), Some(part)) if method == Method::PUT => {
                Self::UploadPart { upload_id, part }
            }
            (Some(upload_id), None) if method == Method::POST => Self::Complete { upload_id },
            (Some(upload_id), None) if method == Method::DELETE => Self::Abort { upload_id },
            (None, None) if method == Method::POST && uploads => Self::Create,
            (None, None) if method == Method::PUT && !copy && !uploads && !other_query => {
                Self::PutObject
            }
            _ => Self::Other,
        }
    }
}

/// The checksums of the parts of the multipart uploads in progress, by upload id and part number.
#[derive(Debug, Default)]
struct PartBook {
    uploads: HashMap<String, Upload>,
    clock: u64,
}

#[derive(Debug, Default)]
struct Upload {
    parts: HashMap<u32, Vec<u8>>,
    used: u64,
}

impl PartBook {
    fn note(&mut self, upload_id: &str, part: u32, digest: Vec<u8>) {
        self.clock += 1;
        if !self.uploads.contains_key(upload_id) && self.uploads.len() >= MAX_UPLOADS {
            let oldest = self
                .uploads
                .iter()
                .min_by_key(|(_, upload)| upload.used)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                self.uploads.remove(&oldest);
            }
        }
        let upload = self.uploads.entry(upload_id.to_string()).or_default();
        upload.used = self.clock;
        upload.parts.insert(part, digest);
    }

    fn part(&self, upload_id: &str, part: u32) -> Option<&[u8]> {
        self.uploads
            .get(upload_id)?
            .parts
            .get(&part)
            .map(Vec::as_slice)
    }

    fn forget(&mut self, upload_id: &str) {
        self.uploads.remove(upload_id);
    }
}

/// What is left to do once the response to a request is in.
#[derive(Debug)]
pub(super) enum FollowUp {
    /// Note the checksum the server computed for a copied part (in its `CopyPartResult`).
    CopiedPart { upload_id: String, part: u32 },
    /// Forget the upload's parts once it completed.
    Completed { upload_id: String },
    /// Forget the upload's parts once it is aborted.
    Aborted { upload_id: String },
}

/// The S3 upload checksum one client's connector adds: its algorithm, the store's credential
/// and the part checksums of its multipart uploads.
#[derive(Debug)]
pub(super) struct S3Uploads {
    algorithm: Algorithm,
    credentials: S3Credentials,
    book: Mutex<PartBook>,
}

impl S3Uploads {
    pub(super) fn new(algorithm: Algorithm, credentials: S3Credentials) -> Self {
        Self {
            algorithm,
            credentials,
            book: Mutex::default(),
        }
    }

    fn book(&self) -> std::sync::MutexGuard<'_, PartBook> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Gives `req` its checksum (header or completion body), signed again; returns what to do
    /// with its response.
    pub(super) async fn prepare(
        &self,
        req: &mut HttpRequest,
    ) -> Result<Option<FollowUp>, S3UploadError> {
        let algorithm = self.algorithm;
        let header = HeaderName::try_from(format!("x-amz-checksum-{}", algorithm.name()))
            .expect("a checksum header name is a valid header name");
        let add_checksum = |req: &mut HttpRequest| {
            let digest = body_digest(req.body(), algorithm)
                .ok_or(S3UploadError::BodyNotInMemory(algorithm))?;
            let value = HeaderValue::from_str(&BASE64_STANDARD.encode(&digest))
                .expect("base64 is a valid header value");
            req.headers_mut().insert(header.clone(), value);
            Ok::<_, S3UploadError>(digest)
        };
        let mut body_changed = false;
        let follow_up = match S3Request::of(req) {
            S3Request::PutObject => {
                add_checksum(req)?;
                None
            }
            S3Request::UploadPart { upload_id, part } => {
                let digest = add_checksum(req)?;
                self.book().note(&upload_id, part, digest);
                None
            }
            S3Request::Create => {
                let value = HeaderValue::from_static(s3_name(algorithm));
                req.headers_mut()
                    .insert(HeaderName::from_static("x-amz-checksum-algorithm"), value);
                None
            }
            S3Request::Complete { upload_id } => {
                let body = req
                    .body()
                    .as_bytes()
                    .and_then(|b| std::str::from_utf8(b).ok());
                let rewritten = {
                    let book = self.book();
                    let element = format!("Checksum{}", s3_name(algorithm));
                    with_part_checksums(body.unwrap_or_default(), &element, |part| {
                        book.part(&upload_id, part)
                            .map(|digest| BASE64_STANDARD.encode(digest))
                    })
                };
                let rewritten = match rewritten {
                    Ok(body) => body,
                    Err(Some(part)) => {
                        return Err(S3UploadError::UnknownPart {
                            algorithm,
                            upload_id,
                            part,
                        })
                    }
                    Err(None) => return Err(S3UploadError::UnexpectedCompletion(upload_id)),
                };
                if req.headers().contains_key(CONTENT_LENGTH) {
                    req.headers_mut()
                        .insert(CONTENT_LENGTH, HeaderValue::from(rewritten.len()));
                }
                *req.body_mut() = HttpRequestBody::from(Bytes::from(rewritten));
                body_changed = true;
                Some(FollowUp::Completed { upload_id })
            }
            S3Request::UploadPartCopy { upload_id, part } => {
                return Ok(Some(FollowUp::CopiedPart { upload_id, part }))
            }
            S3Request::Abort { upload_id } => return Ok(Some(FollowUp::Aborted { upload_id })),
            S3Request::Other => return Ok(None),
        };
        self.sign_again(req, body_changed).await?;
        Ok(follow_up)
    }

    /// Notes what the response to a request of `follow_up` says; hands the response on.
    pub(super) async fn finish(
        &self,
        follow_up: FollowUp,
        response: HttpResponse,
    ) -> Result<HttpResponse, HttpError> {
        let status = response.status();
        match follow_up {
            FollowUp::Aborted { upload_id } => {
                if status.is_success() || status == http::StatusCode::NOT_FOUND {
                    self.book().forget(&upload_id);
                }
                Ok(response)
            }
            FollowUp::CopiedPart { .. } | FollowUp::Completed { .. } if !status.is_success() => {
                Ok(response)
            }
            FollowUp::CopiedPart { upload_id, part } => {
                // A small XML document, read here and handed on whole.
                let (parts, body) = response.into_parts();
                let body = body.bytes().await?;
                let element = format!("Checksum{}", s3_name(self.algorithm));
                let digest = std::str::from_utf8(&body)
                    .ok()
                    .and_then(|text| element_text(text, &element))
                    .and_then(|value| BASE64_STANDARD.decode(value.trim()).ok());
                if let Some(digest) = digest {
                    self.book().note(&upload_id, part, digest);
                }
                Ok(HttpResponse::from_parts(parts, body.into()))
            }
            FollowUp::Completed { upload_id } => {
                // S3 may answer 200 with an error in the body, and the completion is then sent
                // again: the parts are forgotten only once the body says it completed.
                let (parts, body) = response.into_parts();
                let body = body.bytes().await?;
                let text = String::from_utf8_lossy(&body);
                if text.contains("<CompleteMultipartUploadResult") && !text.contains("<Error>") {
                    self.book().forget(&upload_id);
                }
                Ok(HttpResponse::from_parts(parts, body.into()))
            }
        }
    }

    /// Signs `req` again with the store's credential, as `object_store` signed it (same region,
    /// service and payload-signing mode; the payload hash kept unless `body_changed`). A request
    /// without a signature (`skip_signature`) is left unsigned.
    async fn sign_again(
        &self,
        req: &mut HttpRequest,
        body_changed: bool,
    ) -> Result<(), S3UploadError> {
        let algorithm = self.algorithm;
        let cannot = |why: &str| S3UploadError::CannotSign {
            algorithm,
            why: why.to_string(),
        };
        let Some(authorization) = req.headers().get(AUTHORIZATION) else {
            return Ok(());
        };
        let scope = authorization
            .to_str()
            .ok()
            .and_then(SigningScope::parse)
            .ok_or_else(|| cannot("its signature is not an AWS SigV4 header signature"))?;
        if req.headers().contains_key("x-amz-s3session-token") {
            return Err(cannot(
                "it is signed with S3 Express session credentials, which the store does not share",
            ));
        }
        let provider = self
            .credentials
            .0
            .get()
            .ok_or_else(|| cannot("the store's credential is not known to its connector"))?;
        let credential = provider
            .get_credential()
            .await
            .map_err(|source| S3UploadError::Credential { algorithm, source })?;
        let payload = req
            .headers()
            .get("x-amz-content-sha256")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let (sign_payload, digest) = match payload.as_deref() {
            Some(UNSIGNED_PAYLOAD) => (false, None),
            Some(hash) if !body_changed => (true, hex_digest(hash)),
            // A changed body is hashed again; any other mode is made again from the body.
            _ => (true, None),
        };
        AwsAuthorizer::new(&credential, &scope.service, &scope.region)
            .with_sign_payload(sign_payload)
            .try_authorize(req, digest.as_ref().map(|d| d.as_slice()))
            .map_err(|e| cannot(&e.to_string()))
    }
}

/// The region and service of a SigV4 `Authorization` header
/// (`AWS4-HMAC-SHA256 Credential=<key id>/<date>/<region>/<service>/aws4_request, ...`).
#[derive(Debug, PartialEq, Eq)]
struct SigningScope {
    region: String,
    service: String,
}

impl SigningScope {
    fn parse(authorization: &str) -> Option<Self> {
        let rest = authorization.strip_prefix("AWS4-HMAC-SHA256 ")?;
        let credential = rest
            .split(',')
            .find_map(|item| item.trim().strip_prefix("Credential="))?;
        let mut fields = credential.rsplitn(4, '/');
        (fields.next()? == "aws4_request").then_some(())?;
        let service = fields.next()?.to_string();
        let region = fields.next()?.to_string();
        fields.next()?;
        Some(Self { region, service })
    }
}

/// The 32 bytes of a hex SHA-256, or `None` when `hex` is not one.
fn hex_digest(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (i, byte) in digest.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(digest)
}

/// The name S3 gives `algorithm` (`x-amz-checksum-algorithm`, `<Checksum...>` elements).
fn s3_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::Crc32c => "CRC32C",
        Algorithm::Crc64Nvme => "CRC64NVME",
        Algorithm::Sha256 => "SHA256",
        Algorithm::Md5 => "MD5",
    }
}

/// The text of the first `<element>` of `xml`.
fn element_text<'a>(xml: &'a str, element: &str) -> Option<&'a str> {
    let open = format!("<{element}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{element}>"))? + start;
    Some(&xml[start..end])
}

/// The CompleteMultipartUpload document `body` with `<element>checksum</element>` added to each
/// `<Part>` that has none, `checksum_of` giving the checksum by part number. `Err(Some(n))` when
/// part `n` has no known checksum, `Err(None)` when `body` lists no numbered part.
fn with_part_checksums(
    body: &str,
    element: &str,
    checksum_of: impl Fn(u32) -> Option<String>,
) -> Result<String, Option<u32>> {
    const CLOSE: &str = "</Part>";
    let mut out = String::with_capacity(body.len() + body.len() / 2);
    let mut rest = body;
    let mut parts = 0;
    while let Some(start) = rest.find("<Part>") {
        let end = start + rest[start..].find(CLOSE).ok_or(None)?;
        let part = &rest[start..end];
        let number = element_text(part, "PartNumber")
            .and_then(|n| n.trim().parse::<u32>().ok())
            .ok_or(None)?;
        out.push_str(&rest[..end]);
        if element_text(part, element).is_none() {
            let checksum = checksum_of(number).ok_or(Some(number))?;
            out.push_str(&format!("<{element}>{checksum}</{element}>"));
        }
        out.push_str(CLOSE);
        rest = &rest[end + CLOSE.len()..];
        parts += 1;
    }
    if parts == 0 {
        return Err(None);
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::aws::AwsCredential;
    use object_store::StaticCredentialProvider;

    const REGION: &str = "eu-west-3";

    fn credential(token: Option<&str>) -> AwsCredential {
        AwsCredential {
            key_id: "AKIDEXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            token: token.map(str::to_string),
        }
    }

    fn uploads(token: Option<&str>) -> S3Uploads {
        let credentials = S3Credentials::default();
        credentials.set(Arc::new(StaticCredentialProvider::new(credential(token))));
        S3Uploads::new(Algorithm::Crc32c, credentials)
    }

    fn request(method: &str, uri: &str, body: &'static [u8]) -> HttpRequest {
        http::Request::builder()
            .method(method)
            .uri(uri)
            .header("content-length", body.len())
            .header("x-amz-checksum-mode", "ENABLED")
            .header("x-amz-meta-owner", "me")
            .body(HttpRequestBody::from(Bytes::from_static(body)))
            .unwrap()
    }

    /// `req` signed by `object_store`'s own authorizer, its payload signed or not, as the S3
    /// client signs it (the hash of a signed payload computed beforehand).
    fn signed_by_object_store(
        mut req: HttpRequest,
        sign_payload: bool,
        token: Option<&str>,
    ) -> HttpRequest {
        let credential = credential(token);
        let hash = ring::digest::digest(
            &ring::digest::SHA256,
            req.body()
                .as_bytes()
                .map(|b| b.as_ref())
                .unwrap_or_default(),
        );
        AwsAuthorizer::new(&credential, "s3", REGION)
            .with_sign_payload(sign_payload)
            .try_authorize(&mut req, sign_payload.then_some(hash.as_ref()))
            .unwrap();
        req
    }

    const URL: &str = "http://127.0.0.1:9000/bucket/dir/file%20name.bin";

    #[test]
    fn signing_again_without_a_change_reproduces_object_stores_signature() {
        for (sign_payload, token) in [
            (true, None),
            (false, None),
            (true, Some("session")),
            (false, Some("session")),
        ] {
            for req in [
                request("PUT", URL, b"some bytes"),
                request(
                    "PUT",
                    &format!("{URL}?partNumber=2&uploadId=a%2Fb%3D"),
                    b"part",
                ),
                request("POST", &format!("{URL}?uploads"), b""),
            ] {
                let uploads = uploads(token);
                // Signed within one second, the two signatures share their date.
                let (theirs, ours) = loop {
                    let theirs = signed_by_object_store(req.clone(), sign_payload, token);
                    let mut ours = theirs.clone();
                    futures::executor::block_on(uploads.sign_again(&mut ours, false)).unwrap();
                    if ours.headers()["x-amz-date"] == theirs.headers()["x-amz-date"] {
                        break (theirs, ours);
                    }
                };
                assert_eq!(ours.headers(), theirs.headers(), "{sign_payload} {token:?}");
            }
        }
    }

    #[test]
    fn an_upload_gets_its_crc32c_and_a_signature_that_covers_it() {
        let uploads = uploads(None);
        for sign_payload in [true, false] {
            let mut req =
                signed_by_object_store(request("PUT", URL, b"123456789"), sign_payload, None);
            let before = req.headers().clone();
            let follow_up = futures::executor::block_on(uploads.prepare(&mut req)).unwrap();
            assert!(follow_up.is_none());
            assert_eq!(req.headers()["x-amz-checksum-crc32c"], "4waSgw==");
            assert_eq!(
                req.headers()["x-amz-content-sha256"],
                before["x-amz-content-sha256"]
            );
            let signed = req.headers()[AUTHORIZATION].to_str().unwrap();
            assert!(signed.contains("x-amz-checksum-crc32c"), "{signed}");
            // The same signature as object_store's own over the request with the header.
            let mut expected = request("PUT", URL, b"123456789");
            expected.headers_mut().insert(
                "x-amz-checksum-crc32c",
                HeaderValue::from_static("4waSgw=="),
            );
            let expected = signed_by_object_store(expected, sign_payload, None);
            if expected.headers()["x-amz-date"] == req.headers()["x-amz-date"] {
                assert_eq!(req.headers(), expected.headers());
            }
        }
    }

    #[test]
    fn an_unsigned_request_stays_unsigned() {
        let uploads = uploads(None);
        let mut req = request("PUT", URL, b"123456789");
        futures::executor::block_on(uploads.prepare(&mut req)).unwrap();
        assert_eq!(req.headers()["x-amz-checksum-crc32c"], "4waSgw==");
        assert!(!req.headers().contains_key(AUTHORIZATION));
    }

    #[test]
    fn a_multipart_upload_declares_the_algorithm_and_lists_each_parts_checksum() {
        let uploads = uploads(None);
        let run = |req| {
            let mut req = signed_by_object_store(req, true, None);
            let follow_up = futures::executor::block_on(uploads.prepare(&mut req)).unwrap();
            (req, follow_up)
        };
        let (create, _) = run(request("POST", &format!("{URL}?uploads"), b""));
        assert_eq!(create.headers()["x-amz-checksum-algorithm"], "CRC32C");
        for (part, body) in [(1, &b"123456789"[..]), (2, &b""[..])] {
            let body: &'static [u8] = if body.is_empty() { b"" } else { b"123456789" };
            let (sent, _) = run(request(
                "PUT",
                &format!("{URL}?partNumber={part}&uploadId=u%2B1"),
                body,
            ));
            assert!(sent.headers().contains_key("x-amz-checksum-crc32c"));
        }
        let complete = b"<CompleteMultipartUpload><Part><ETag>&quot;e1&quot;</ETag><PartNumber>1</PartNumber></Part><Part><ETag>&quot;e2&quot;</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>";
        let (sent, follow_up) = run(request("POST", &format!("{URL}?uploadId=u%2B1"), complete));
        let body = std::str::from_utf8(sent.body().as_bytes().unwrap()).unwrap();
        assert_eq!(
            body,
            "<CompleteMultipartUpload><Part><ETag>&quot;e1&quot;</ETag><PartNumber>1</PartNumber><ChecksumCRC32C>4waSgw==</ChecksumCRC32C></Part><Part><ETag>&quot;e2&quot;</ETag><PartNumber>2</PartNumber><ChecksumCRC32C>AAAAAA==</ChecksumCRC32C></Part></CompleteMultipartUpload>"
        );
        assert_eq!(
            sent.headers()[CONTENT_LENGTH],
            body.len().to_string().as_str()
        );
        // The signed payload hash is the hash of the new body.
        let hash = ring::digest::digest(&ring::digest::SHA256, body.as_bytes());
        let hex: String = hash.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(sent.headers()["x-amz-content-sha256"], hex.as_str());
        assert!(
            matches!(follow_up, Some(FollowUp::Completed { ref upload_id }) if upload_id == "u+1")
        );
    }

    /// A response of `status` with `body`.
    fn response(status: u16, body: &'static str) -> HttpResponse {
        http::Response::builder()
            .status(status)
            .body(object_store::client::HttpResponseBody::from(
                body.to_string(),
            ))
            .unwrap()
    }

    #[test]
    fn a_copied_part_gets_the_checksum_the_server_computed() {
        let uploads = uploads(None);
        let mut copy = request("PUT", &format!("{URL}?partNumber=1&uploadId=u"), b"");
        copy.headers_mut()
            .insert("x-amz-copy-source", HeaderValue::from_static("bucket/src"));
        let follow_up = futures::executor::block_on(uploads.prepare(&mut copy)).unwrap();
        assert!(!copy.headers().contains_key("x-amz-checksum-crc32c"));
        let body = "<CopyPartResult><ETag>&quot;e&quot;</ETag><ChecksumCRC32C>4waSgw==</ChecksumCRC32C></CopyPartResult>";
        let answer =
            futures::executor::block_on(uploads.finish(follow_up.unwrap(), response(200, body)))
                .unwrap();
        // The response is handed on whole.
        let text = futures::executor::block_on(answer.into_body().bytes()).unwrap();
        assert_eq!(text, body.as_bytes());
        assert_eq!(
            uploads.book().part("u", 1),
            Some(&[0xE3, 0x06, 0x92, 0x83][..])
        );
    }

    #[test]
    fn an_upload_is_forgotten_once_completed_or_aborted_not_before() {
        let uploads = uploads(None);
        let finish = |follow_up, status, body| {
            futures::executor::block_on(uploads.finish(follow_up, response(status, body))).unwrap();
        };
        let completed = || FollowUp::Completed {
            upload_id: "u".into(),
        };
        uploads.book().note("u", 1, vec![1]);
        // 200 with an error in the body: the completion is sent again, with the parts.
        finish(
            completed(),
            200,
            "<Error><Code>InternalError</Code></Error>",
        );
        finish(completed(), 503, "<Error><Code>SlowDown</Code></Error>");
        assert!(uploads.book().part("u", 1).is_some());
        finish(
            completed(),
            200,
            "<CompleteMultipartUploadResult><ETag>e</ETag></CompleteMultipartUploadResult>",
        );
        assert!(uploads.book().part("u", 1).is_none());
        uploads.book().note("v", 1, vec![1]);
        finish(
            FollowUp::Aborted {
                upload_id: "v".into(),
            },
            500,
            "",
        );
        assert!(uploads.book().part("v", 1).is_some());
        finish(
            FollowUp::Aborted {
                upload_id: "v".into(),
            },
            204,
            "",
        );
        assert!(uploads.book().part("v", 1).is_none());
    }

    #[test]
    fn completing_with_a_part_of_unknown_checksum_fails() {
        let uploads = uploads(None);
        let complete = b"<CompleteMultipartUpload><Part><ETag>e</ETag><PartNumber>3</PartNumber></Part></CompleteMultipartUpload>";
        let mut req = request("POST", &format!("{URL}?uploadId=nope"), complete);
        let error = futures::executor::block_on(uploads.prepare(&mut req)).unwrap_err();
        assert!(
            matches!(error, S3UploadError::UnknownPart { part: 3, .. }),
            "{error}"
        );
        assert!(error
            .to_string()
            .contains("part 3 of multipart upload nope"));
    }

    #[test]
    fn the_completion_body_gets_a_checksum_per_part() {
        let checksum_of = |n: u32| (n < 3).then(|| format!("c{n}"));
        let body = "<?xml?><CompleteMultipartUpload><Part><ETag>a</ETag><PartNumber>1</PartNumber></Part>\
                    <Part><ETag>b</ETag><PartNumber> 2 </PartNumber><ChecksumX>kept</ChecksumX></Part></CompleteMultipartUpload>";
        assert_eq!(
            with_part_checksums(body, "ChecksumX", checksum_of).unwrap(),
            "<?xml?><CompleteMultipartUpload><Part><ETag>a</ETag><PartNumber>1</PartNumber><ChecksumX>c1</ChecksumX></Part>\
             <Part><ETag>b</ETag><PartNumber> 2 </PartNumber><ChecksumX>kept</ChecksumX></Part></CompleteMultipartUpload>"
        );
        let third = "<CompleteMultipartUpload><Part><PartNumber>3</PartNumber></Part></CompleteMultipartUpload>";
        assert_eq!(
            with_part_checksums(third, "ChecksumX", checksum_of),
            Err(Some(3))
        );
        assert_eq!(
            with_part_checksums("<Nothing/>", "ChecksumX", checksum_of),
            Err(None)
        );
        let unnumbered =
            "<CompleteMultipartUpload><Part><ETag>a</ETag></Part></CompleteMultipartUpload>";
        assert_eq!(
            with_part_checksums(unnumbered, "ChecksumX", checksum_of),
            Err(None)
        );
    }

    #[test]
    fn requests_are_told_apart_by_method_query_and_copy_source() {
        let kind = |method: &str, query: &str, copy: bool| {
            let mut req = request(method, &format!("{URL}{query}"), b"");
            if copy {
                req.headers_mut()
                    .insert("x-amz-copy-source", HeaderValue::from_static("b/k"));
            }
            S3Request::of(&req)
        };
        let id = || "a b".to_string();
        assert_eq!(kind("PUT", "", false), S3Request::PutObject);
        assert_eq!(kind("PUT", "", true), S3Request::Other);
        assert_eq!(kind("PUT", "?tagging", false), S3Request::Other);
        assert_eq!(
            kind("PUT", "?partNumber=4&uploadId=a%20b", false),
            S3Request::UploadPart {
                upload_id: id(),
                part: 4
            }
        );
        assert_eq!(
            kind("PUT", "?partNumber=4&uploadId=a%20b", true),
            S3Request::UploadPartCopy {
                upload_id: id(),
                part: 4
            }
        );
        assert_eq!(kind("POST", "?uploads", false), S3Request::Create);
        assert_eq!(kind("POST", "?uploads=", false), S3Request::Create);
        assert_eq!(
            kind("POST", "?uploadId=a+b", false),
            S3Request::Complete { upload_id: id() }
        );
        assert_eq!(
            kind("DELETE", "?uploadId=a%20b", false),
            S3Request::Abort { upload_id: id() }
        );
        assert_eq!(kind("POST", "?delete", false), S3Request::Other);
        assert_eq!(kind("GET", "", false), S3Request::Other);
    }

    #[test]
    fn s3_express_requests_are_refused_not_sent_unsigned() {
        let uploads = uploads(None);
        let mut req = request("PUT", URL, b"x");
        req.headers_mut()
            .insert("x-amz-s3session-token", HeaderValue::from_static("t"));
        let mut req = signed_by_object_store(req, false, None);
        let error = futures::executor::block_on(uploads.prepare(&mut req)).unwrap_err();
        assert!(error.to_string().contains("S3 Express"), "{error}");
    }

    #[test]
    fn the_signing_scope_is_read_from_the_authorization_header() {
        let header = "AWS4-HMAC-SHA256 Credential=AK/ID/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=ab";
        assert_eq!(
            SigningScope::parse(header),
            Some(SigningScope {
                region: "us-east-1".into(),
                service: "s3".into()
            })
        );
        assert_eq!(SigningScope::parse("Bearer x"), None);
        assert_eq!(
            SigningScope::parse("AWS4-HMAC-SHA256 Credential=AK/20250101/r/s3/other, x"),
            None
        );
    }

    #[test]
    fn the_book_forgets_the_least_recently_used_upload_beyond_its_bound() {
        let mut book = PartBook::default();
        for i in 0..MAX_UPLOADS {
            book.note(&format!("u{i}"), 1, vec![1]);
        }
        book.note("u0", 2, vec![2]);
        book.note("new", 1, vec![3]);
        assert_eq!(book.uploads.len(), MAX_UPLOADS);
        assert!(book.part("u0", 2).is_some() && book.part("u1", 1).is_none());
        book.forget("new");
        assert!(book.part("new", 1).is_none());
    }

    #[test]
    fn hex_digests_are_read_back() {
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(hex_digest(hex).unwrap()[..2], [0xe3, 0xb0]);
        assert_eq!(hex_digest("STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), None);
    }
}
