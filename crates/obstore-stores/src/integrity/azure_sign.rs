//! Azure SharedKey signatures, made again after the connector gives an upload its `Content-MD5`.
//!
//! `object_store` signs a request before the connector sees it, and a SharedKey signature covers
//! `Content-MD5`: a request given its checksum afterwards is signed again here with the store's
//! account key. A request is signed again only when this key reproduces the signature it carries
//! byte for byte, so a request this code would canonicalize differently, or one signed with
//! another credential, is sent as `object_store` made it.

use std::fmt;

use base64::prelude::{Engine, BASE64_STANDARD};
use http::header::{
    HeaderName, HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_LENGTH,
    CONTENT_TYPE, DATE, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_UNMODIFIED_SINCE, RANGE,
};
use object_store::client::HttpRequest;
use ring::hmac;

const SCHEME: &str = "SharedKey ";

/// An Azure storage account key, ready to sign. Its `Debug` shows no part of the key.
#[derive(Clone)]
pub struct SharedKey(hmac::Key);

impl fmt::Debug for SharedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedKey(<redacted>)")
    }
}

impl SharedKey {
    /// The key of a base64 account key as users give it; `None` when it is not base64 (the
    /// store's builder refuses such a key with its own error).
    pub fn from_base64(key: &str) -> Option<Self> {
        let decoded = BASE64_STANDARD.decode(key.trim()).ok()?;
        Some(Self(hmac::Key::new(hmac::HMAC_SHA256, &decoded)))
    }

    /// The account of the SharedKey signature `req` carries, when this key made that signature
    /// over `req` as it is now.
    pub fn signer_account(&self, req: &HttpRequest) -> Option<String> {
        let given = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
        let (account, _) = given.strip_prefix(SCHEME)?.rsplit_once(':')?;
        let ours = self.authorization(req, account)?;
        (ours == given).then(|| account.to_string())
    }

    /// Replaces the `Authorization` of `req` with this key's signature for `account`. Returns
    /// false, leaving `req` unchanged, when a signed header is not text.
    pub fn sign(&self, req: &mut HttpRequest, account: &str) -> bool {
        let Some(value) = self
            .authorization(req, account)
            .and_then(|v| HeaderValue::from_str(&v).ok())
        else {
            return false;
        };
        req.headers_mut().insert(AUTHORIZATION, value);
        true
    }

    /// `SharedKey <account>:<base64 HMAC-SHA256 of the string to sign>`.
    fn authorization(&self, req: &HttpRequest, account: &str) -> Option<String> {
        let text = string_to_sign(req, account)?;
        let signature = hmac::sign(&self.0, text.as_bytes());
        Some(format!(
            "{SCHEME}{account}:{}",
            BASE64_STANDARD.encode(signature.as_ref())
        ))
    }
}

/// What a SharedKey signature covers: the verb, the standard headers in their fixed order
/// (`Content-Length` empty when zero), the `x-ms-*` headers and the resource. `None` when a
/// signed header is not text or the URI is not a URL.
fn string_to_sign(req: &HttpRequest, account: &str) -> Option<String> {
    let headers = req.headers();
    let header = |name: &HeaderName| -> Option<&str> {
        match headers.get(name) {
            Some(value) => value.to_str().ok(),
            None => Some(""),
        }
    };
    let content_length = Some(header(&CONTENT_LENGTH)?).filter(|v| *v != "0");
    let mut text = String::with_capacity(512);
    text.push_str(req.method().as_str());
    text.push('\n');
    for name in [&CONTENT_ENCODING, &CONTENT_LANGUAGE] {
        text.push_str(header(name)?);
        text.push('\n');
    }
    text.push_str(content_length.unwrap_or_default());
    text.push('\n');
    for name in [
        &HeaderName::from_static("content-md5"),
        &CONTENT_TYPE,
        &DATE,
        &IF_MODIFIED_SINCE,
        &IF_MATCH,
        &IF_NONE_MATCH,
        &IF_UNMODIFIED_SINCE,
        &RANGE,
    ] {
        text.push_str(header(name)?);
        text.push('\n');
    }
    canonical_headers(req, &mut text)?;
    canonical_resource(req, account, &mut text)?;
    Some(text)
}

/// Each `x-ms-*` header as `name:value\n`, sorted by name, the values of a repeated header
/// joined with commas.
fn canonical_headers(req: &HttpRequest, text: &mut String) -> Option<()> {
    let mut names: Vec<&HeaderName> = req
        .headers()
        .keys()
        .filter(|name| name.as_str().starts_with("x-ms-"))
        .collect();
    names.sort_unstable_by_key(|name| name.as_str());
    for name in names {
        text.push_str(name.as_str());
        text.push(':');
        for (i, value) in req.headers().get_all(name).iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(value.to_str().ok()?);
        }
        text.push('\n');
    }
    Some(())
}

/// `/<account><path>`, then each query parameter (its name lowercased, URL-decoded) as
/// `\nname:value`, sorted by name, the values of a repeated one sorted and joined with commas.
fn canonical_resource(req: &HttpRequest, account: &str, text: &mut String) -> Option<()> {
    let url = url::Url::parse(&req.uri().to_string()).ok()?;
    text.push('/');
    text.push_str(account);
    text.push_str(url.path());
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(name, value)| (name.to_lowercase(), value.into_owned()))
        .collect();
    pairs.sort_unstable();
    let mut previous: Option<&str> = None;
    for (name, value) in &pairs {
        if previous == Some(name.as_str()) {
            text.push(',');
        } else {
            text.push('\n');
            text.push_str(name);
            text.push(':');
        }
        text.push_str(value);
        previous = Some(name);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::azure::{AzureAccessKey, AzureAuthorizer, AzureCredential};
    use object_store::client::HttpRequestBody;

    const ACCOUNT: &str = "devstoreaccount1";
    /// A key made up for these tests (base64 of 64 bytes, like a real account key).
    const KEY: &str =
        "dGVzdC1vbmx5LWtleS0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

    /// An upload request as `object_store` builds it for Azure, before signing.
    fn request(uri: &str, extra: &[(&str, &str)]) -> HttpRequest {
        let body = HttpRequestBody::from(bytes::Bytes::from_static(b"some bytes"));
        let mut builder = http::Request::builder()
            .method("PUT")
            .uri(uri)
            .header("content-length", "10")
            .header("x-ms-blob-type", "BlockBlob")
            .header("x-ms-blob-content-type", "application/octet-stream");
        for (name, value) in extra {
            builder = builder.header(*name, *value);
        }
        builder.body(body).unwrap()
    }

    /// `req` signed by `object_store`'s own SharedKey authorizer (which also sets `Date` and
    /// `x-ms-version`).
    fn signed_by_object_store(mut req: HttpRequest) -> HttpRequest {
        let credential = AzureCredential::AccessKey(AzureAccessKey::try_new(KEY).unwrap());
        AzureAuthorizer::new(&credential, ACCOUNT)
            .try_authorize(&mut req)
            .unwrap();
        req
    }

    fn key() -> SharedKey {
        SharedKey::from_base64(KEY).unwrap()
    }

    fn shapes() -> Vec<HttpRequest> {
        let base = "http://127.0.0.1:10000/devstoreaccount1/container/dir/file%20name.bin";
        vec![
            // Put Blob, with metadata and a condition.
            request(base, &[("x-ms-meta-owner", "me"), ("if-none-match", "*")]),
            // Put Block: a base64 block id, percent-encoded in the query.
            request(
                &format!("{base}?comp=block&blockid=AAAAAAAAAAE%2B%2F%3D"),
                &[],
            ),
            // Put Block List, with a repeated parameter.
            request(
                &format!("{base}?comp=blocklist&timeout=30&timeout=5"),
                &[("content-type", "application/xml")],
            ),
            // A request that has its Content-MD5 before it is signed.
            request(base, &[("content-md5", "XrY7u+Ae7tCTyyK7j1rNww==")]),
            // Nothing to send.
            request(base, &[("content-length", "0")]),
        ]
    }

    #[test]
    fn signing_a_request_reproduces_object_stores_authorization_byte_for_byte() {
        for req in shapes() {
            let req = signed_by_object_store(req);
            let theirs = req.headers()[AUTHORIZATION].clone();
            assert_eq!(key().signer_account(&req).as_deref(), Some(ACCOUNT));
            let mut resigned = req;
            assert!(key().sign(&mut resigned, ACCOUNT));
            assert_eq!(resigned.headers()[AUTHORIZATION], theirs);
        }
    }

    #[test]
    fn adding_content_md5_changes_the_signature_and_signing_again_covers_it() {
        for req in shapes() {
            let mut req = signed_by_object_store(req);
            let before = req.headers()[AUTHORIZATION].clone();
            req.headers_mut().insert(
                "content-md5",
                HeaderValue::from_static("1B2M2Y8AsgTpgAmY7PhCfg=="),
            );
            // The signature made without the header no longer covers the request.
            assert_eq!(key().signer_account(&req), None);
            assert!(key().sign(&mut req, ACCOUNT));
            assert_ne!(req.headers()[AUTHORIZATION], before);
            assert_eq!(key().signer_account(&req).as_deref(), Some(ACCOUNT));
        }
    }

    #[test]
    fn a_signature_made_with_another_key_is_not_claimed() {
        let req = signed_by_object_store(shapes().remove(0));
        let other = SharedKey::from_base64("b3RoZXIta2V5").unwrap();
        assert_eq!(other.signer_account(&req), None);
    }

    #[test]
    fn a_request_without_a_shared_key_signature_has_no_signer() {
        let mut req = shapes().remove(0);
        assert_eq!(key().signer_account(&req), None);
        req.headers_mut()
            .insert(AUTHORIZATION, HeaderValue::from_static("Bearer token"));
        assert_eq!(key().signer_account(&req), None);
    }

    #[test]
    fn the_key_is_not_shown() {
        let shown = format!("{:?}", key());
        assert_eq!(shown, "SharedKey(<redacted>)");
        assert!(!shown.contains(KEY));
    }

    #[test]
    fn a_key_that_is_not_base64_is_refused() {
        assert!(SharedKey::from_base64("not base64!").is_none());
    }
}
