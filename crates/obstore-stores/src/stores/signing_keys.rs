//! The crypto provider of S3 stores: aws-lc, as `object_store`'s default, keeping the set-up of
//! each HMAC key and the HMACs of short messages. It signs presigned URLs, and the requests of
//! the stores whose client signs them (S3 Express); the others are signed in the connector
//! (`crate::sigv4`), which keeps the day's signing key itself.
//!
//! SigV4 derives the day's signing key from the secret through four HMACs (of the date, the
//! region, the service and `aws4_request`), then signs the request with a fifth.
//! `object_store` derives the key again for every request, and each HMAC sets its key up from
//! scratch (the inner and outer pads: two SHA-256 blocks). In `async_get_64` those five HMACs were
//! about 6% of the client's CPU, and SigV4 as a whole 16%. Here the four derivation steps, whose
//! messages are short and repeat all day, are answered from memory, and the fifth starts from the
//! signing key's kept set-up: one HMAC of the string to sign per request.
//!
//! Nothing here ever waits: the caches are taken with `try_lock`, and a cache that is busy (or
//! was held by another thread when the process forked) is passed over and the HMAC computed.
//! Both caches are bounded, so rotating credentials replace the keys they derived.

use std::fmt;
use std::sync::{Arc, Mutex};

use aws_lc_rs::{digest, hmac, rand, signature};
use object_store::client::{
    CryptoProvider, DigestAlgorithm, DigestContext, HmacContext, Signer, SigningAlgorithm,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivateKeyDer;

/// HMAC keys kept per store: the secret and the three keys derived from it, for two credentials
/// (one rotating in while the other is still used).
const KEYS: usize = 8;

/// Messages remembered per key: a SigV4 derivation step sees one (a date, a region, a service),
/// two around midnight UTC.
const TAGS_PER_KEY: usize = 4;

/// The longest message whose HMAC is remembered. A derivation step's message is at most a
/// region's name; a string to sign (over 100 bytes, different for every request) is never kept.
const SHORT: usize = 64;

/// The [`CryptoProvider`] of one S3 store (`AmazonS3Builder::with_crypto_provider`).
#[derive(Default)]
pub struct SigningKeys {
    /// The most recently used key first.
    keys: Mutex<Vec<Arc<KeyEntry>>>,
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The keys are secrets: only their number is shown.
        let kept = self.keys.try_lock().map(|keys| keys.len()).ok();
        f.debug_struct("SigningKeys").field("kept", &kept).finish()
    }
}

/// One HMAC key, set up once, and the HMACs of short messages made with it.
struct KeyEntry {
    secret: Box<[u8]>,
    key: hmac::Key,
    /// The most recently used message first.
    tags: Mutex<Vec<(Box<[u8]>, hmac::Tag)>>,
}

impl SigningKeys {
    /// The entry of `secret`: the kept one, or a new one (kept when the cache is free).
    fn entry(&self, secret: &[u8]) -> Arc<KeyEntry> {
        recent(
            &self.keys,
            KEYS,
            |e| *e.secret == *secret,
            || {
                Arc::new(KeyEntry {
                    secret: secret.into(),
                    key: hmac::Key::new(hmac::HMAC_SHA256, secret),
                    tags: Mutex::new(Vec::new()),
                })
            },
            Arc::clone,
        )
    }
}

impl KeyEntry {
    /// The HMAC of a short `message`: remembered, or computed (and remembered when the cache is
    /// free).
    fn tag(&self, message: &[u8]) -> hmac::Tag {
        recent(
            &self.tags,
            TAGS_PER_KEY,
            |(m, _)| **m == *message,
            || (message.into(), hmac::sign(&self.key, message)),
            |(_, tag)| *tag,
        )
    }
}

/// What `get` reads of the item of `list` (most recently used first) that `hit` picks, moved to
/// the front; on a miss, of the item `make` makes, kept in front with the list cut to `bound`.
/// A busy list is passed over: the item is made and not kept.
fn recent<T, R>(
    list: &Mutex<Vec<T>>,
    bound: usize,
    hit: impl Fn(&T) -> bool,
    make: impl FnOnce() -> T,
    get: impl Fn(&T) -> R,
) -> R {
    let Ok(mut list) = list.try_lock() else {
        return get(&make());
    };
    if let Some(at) = list.iter().position(hit) {
        list[..=at].rotate_right(1);
        return get(&list[0]);
    }
    list.insert(0, make());
    list.truncate(bound);
    get(&list[0])
}

impl CryptoProvider for SigningKeys {
    fn digest(&self, algorithm: DigestAlgorithm) -> object_store::Result<Box<dyn DigestContext>> {
        let algorithm = match algorithm {
            DigestAlgorithm::Sha256 => &digest::SHA256,
            other => return Err(unsupported(format!("digest {other:?}"))),
        };
        Ok(Box::new(Digest {
            ctx: Some(digest::Context::new(algorithm)),
            out: None,
        }))
    }

    fn hmac(
        &self,
        algorithm: DigestAlgorithm,
        secret: &[u8],
    ) -> object_store::Result<Box<dyn HmacContext>> {
        match algorithm {
            DigestAlgorithm::Sha256 => {}
            other => return Err(unsupported(format!("HMAC with {other:?}"))),
        }
        Ok(Box::new(Hmac {
            entry: self.entry(secret),
            short: [0; SHORT],
            short_len: 0,
            long: None,
            out: None,
        }))
    }

    fn sign(
        &self,
        algorithm: SigningAlgorithm,
        pem: &[u8],
    ) -> object_store::Result<Box<dyn Signer>> {
        match algorithm {
            SigningAlgorithm::RS256 => Ok(Box::new(RsaSigner::from_pem(pem)?)),
            other => Err(unsupported(format!("signing with {other:?}"))),
        }
    }
}

fn unsupported(what: String) -> object_store::Error {
    object_store::Error::NotSupported {
        source: format!("{what} is not supported by this crypto provider").into(),
    }
}

fn generic(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> object_store::Error {
    object_store::Error::Generic {
        store: "SigningKeys",
        source: source.into(),
    }
}

/// A SHA-256 digest, as `object_store`'s aws-lc provider computes it.
struct Digest {
    ctx: Option<digest::Context>,
    out: Option<digest::Digest>,
}

impl DigestContext for Digest {
    fn update(&mut self, data: &[u8]) {
        if let Some(ctx) = self.ctx.as_mut() {
            ctx.update(data);
        }
    }

    fn finish(&mut self) -> object_store::Result<&[u8]> {
        match self.ctx.take() {
            Some(ctx) => Ok(digest::Digest::as_ref(self.out.insert(ctx.finish()))),
            None => Err(generic("the digest was already finished")),
        }
    }
}

/// An HMAC: a message of up to [`SHORT`] bytes is held until `finish` (whose tag may be
/// remembered); a longer one streams into a context started from the key's kept set-up.
struct Hmac {
    entry: Arc<KeyEntry>,
    short: [u8; SHORT],
    short_len: usize,
    long: Option<hmac::Context>,
    out: Option<hmac::Tag>,
}

impl HmacContext for Hmac {
    fn update(&mut self, data: &[u8]) {
        if let Some(ctx) = self.long.as_mut() {
            ctx.update(data);
            return;
        }
        let end = self.short_len + data.len();
        if end <= SHORT {
            self.short[self.short_len..end].copy_from_slice(data);
            self.short_len = end;
            return;
        }
        let mut ctx = hmac::Context::with_key(&self.entry.key);
        ctx.update(&self.short[..self.short_len]);
        ctx.update(data);
        self.long = Some(ctx);
    }

    fn finish(&mut self) -> object_store::Result<&[u8]> {
        if self.out.is_some() {
            return Err(generic("the HMAC was already finished"));
        }
        let tag = match self.long.take() {
            Some(ctx) => ctx.sign(),
            None => self.entry.tag(&self.short[..self.short_len]),
        };
        Ok(hmac::Tag::as_ref(self.out.insert(tag)))
    }
}

/// RS256 (RSASSA-PKCS1-v1_5 with SHA-256) with a PEM private key, PKCS#8 or PKCS#1.
struct RsaSigner(signature::RsaKeyPair);

impl RsaSigner {
    fn from_pem(pem: &[u8]) -> object_store::Result<Self> {
        let key = match PrivateKeyDer::from_pem_slice(pem) {
            Ok(PrivateKeyDer::Pkcs8(key)) => {
                signature::RsaKeyPair::from_pkcs8(key.secret_pkcs8_der())
            }
            Ok(PrivateKeyDer::Pkcs1(key)) => {
                signature::RsaKeyPair::from_der(key.secret_pkcs1_der())
            }
            Ok(_) => return Err(generic("the PEM file holds no RSA private key")),
            Err(err) => return Err(generic(format!("cannot read the PEM private key: {err}"))),
        };
        key.map(Self)
            .map_err(|err| generic(format!("invalid RSA private key: {err}")))
    }
}

impl Signer for RsaSigner {
    fn sign(&self, string_to_sign: &[u8]) -> object_store::Result<Vec<u8>> {
        let mut signature = vec![0; self.0.public_modulus_len()];
        self.0
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &rand::SystemRandom::new(),
                string_to_sign,
                &mut signature,
            )
            .map_err(|err| generic(format!("RSA signing failed: {err}")))?;
        Ok(signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::KeyPair;
    use base64::prelude::{Engine, BASE64_STANDARD};
    use object_store::aws::{AwsAuthorizer, AwsCredential};

    fn hmac_of(provider: &dyn CryptoProvider, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let mut ctx = provider.hmac(DigestAlgorithm::Sha256, key).unwrap();
        for part in parts {
            ctx.update(part);
        }
        ctx.finish().unwrap().to_vec()
    }

    fn reference(key: &[u8], message: &[u8]) -> Vec<u8> {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message)
            .as_ref()
            .to_vec()
    }

    #[test]
    fn remembered_and_streamed_hmacs_equal_a_fresh_hmac() {
        let provider = SigningKeys::default();
        let long = vec![7u8; 300];
        for _ in 0..3 {
            for key in [&b"AWS4secret"[..], &[1u8; 32], &[2u8; 100]] {
                for message in [&b""[..], b"20261205", b"us-east-1", &[9; SHORT], &long] {
                    let expected = reference(key, message);
                    assert_eq!(hmac_of(&provider, key, &[message]), expected);
                    // Split across updates, short parts crossing into a long message included.
                    let (a, b) = message.split_at(message.len() / 2);
                    assert_eq!(hmac_of(&provider, key, &[a, b]), expected);
                    let (a, b) = message.split_at(message.len().min(SHORT - 1));
                    assert_eq!(hmac_of(&provider, key, &[a, b]), expected);
                }
            }
        }
    }

    #[test]
    fn both_caches_stay_bounded() {
        let provider = SigningKeys::default();
        for i in 0..100u32 {
            let key = i.to_be_bytes();
            for j in 0..10u32 {
                let message = j.to_be_bytes();
                assert_eq!(
                    hmac_of(&provider, &key, &[&message]),
                    reference(&key, &message)
                );
            }
        }
        let keys = provider.keys.lock().unwrap();
        assert_eq!(keys.len(), KEYS);
        // The most recently used first.
        assert_eq!(*keys[0].secret, 99u32.to_be_bytes());
        assert!(keys
            .iter()
            .all(|e| e.tags.lock().unwrap().len() == TAGS_PER_KEY));
    }

    #[test]
    fn a_busy_cache_is_passed_over_not_waited_for() {
        let provider = SigningKeys::default();
        let expected = reference(b"k", b"m");
        assert_eq!(hmac_of(&provider, b"k", &[b"m"]), expected);
        let held = provider.keys.lock().unwrap();
        assert_eq!(hmac_of(&provider, b"k", &[b"m"]), expected);
        assert_eq!(
            hmac_of(&provider, b"other", &[b"m"]),
            reference(b"other", b"m")
        );
        drop(held);
        assert_eq!(provider.keys.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_finished_context_refuses_a_second_finish() {
        let provider = SigningKeys::default();
        let mut ctx = provider.hmac(DigestAlgorithm::Sha256, b"k").unwrap();
        ctx.finish().unwrap();
        assert!(ctx.finish().is_err());
        let mut ctx = provider.digest(DigestAlgorithm::Sha256).unwrap();
        ctx.update(b"abc");
        assert_eq!(
            ctx.finish().unwrap(),
            digest::digest(&digest::SHA256, b"abc").as_ref()
        );
        assert!(ctx.finish().is_err());
    }

    /// Requests signed through this provider carry the signature `object_store`'s own
    /// provider gives them, the first time and from the kept keys.
    #[test]
    fn sigv4_signatures_equal_those_of_the_default_provider() {
        let provider = SigningKeys::default();
        let credential = AwsCredential {
            key_id: "AKIDEXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            token: Some("session-token".into()),
        };
        let mut compared = 0;
        for path in [
            "/bucket/a",
            "/bucket/a",
            "/bucket/b?x-id=GetObject",
            "/bucket/a",
        ] {
            let request = || {
                http::Request::builder()
                    .uri(format!("http://127.0.0.1:9000{path}"))
                    .header("x-amz-meta-owner", "me")
                    .body(object_store::client::HttpRequestBody::empty())
                    .unwrap()
            };
            // Signed within one second, the two signatures share their date.
            for _ in 0..3 {
                let (mut ours, mut theirs) = (request(), request());
                AwsAuthorizer::new(&credential, "s3", "eu-west-3")
                    .with_crypto(&provider)
                    .try_authorize(&mut ours, None)
                    .unwrap();
                AwsAuthorizer::new(&credential, "s3", "eu-west-3")
                    .try_authorize(&mut theirs, None)
                    .unwrap();
                if ours.headers()["x-amz-date"] == theirs.headers()["x-amz-date"] {
                    assert_eq!(ours.headers(), theirs.headers(), "{path}");
                    compared += 1;
                    break;
                }
            }
        }
        assert_eq!(compared, 4);
    }

    #[test]
    fn rs256_signatures_verify_with_the_public_key() {
        let pair = signature::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let der =
            aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).unwrap();
        let body = BASE64_STANDARD.encode(der.as_ref());
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n");
        let provider = SigningKeys::default();
        let signer = provider
            .sign(SigningAlgorithm::RS256, pem.as_bytes())
            .unwrap();
        let sig = signer.sign(b"payload").unwrap();
        signature::UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            pair.public_key().as_ref(),
        )
        .verify(b"payload", &sig)
        .unwrap();
        assert!(provider
            .sign(SigningAlgorithm::RS256, b"not a key")
            .is_err());
    }
}
