//! The one check of configuration values, applied where a value enters: the constructor (and so
//! `from_url`), the environment, and the results of credential providers.
//!
//! `object_store` builds request headers and URLs from these values with `unwrap()` at the first
//! request, so a newline in a token or a space in a bucket name would panic there. Each key has a
//! [`ValueKind`] saying where its value ends up, and a value that cannot go there is a
//! `ValueError` naming the key, before any request. Secret values are never shown in the message.

use pyo3::exceptions::PyValueError;
use pyo3::PyErr;

/// Where a configuration value ends up, which decides what it may contain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// Sent in an HTTP header, a signature or a query (keys, tokens, ids), or a flag or name
    /// parsed by `object_store`: printable ASCII. A header value cannot hold control characters,
    /// `object_store` reads some headers back as ASCII text (and panics on other bytes), and a
    /// trailing newline copied from a file is a mistake wherever it goes.
    Text,
    /// Read or parsed locally and never sent as it is: a file path, a JSON service account key
    /// or a PEM certificate, which legitimately span lines. Any text.
    Local,
    /// A bucket, container, account, region or tenant name: part of a request URL's host or path,
    /// which `object_store` does not percent-encode everywhere. Letters, digits, '.', '-', '_',
    /// and '$' (Azure's `$web`, `$root` and `$logs` containers).
    Name,
    /// A URL requests are sent to: it must parse, with an http or https scheme and a host.
    Url,
    /// A path appended to a fixed URL (the ECS task credential endpoint): it must start with
    /// '/' and be valid in an HTTP request target.
    UrlPath,
    /// A customer-provided AES-256 key (S3 SSE-C, Azure CPK): the base64 of exactly 32 bytes.
    /// `object_store` takes any string, then fails at the first request (Azure) or sends it for
    /// the server to refuse (S3).
    AesKey,
}

/// Where a checked value came from; the error message names it.
#[derive(Clone, Copy, Debug)]
pub enum Origin<'a> {
    /// A configuration key, by the name `.config` shows (`session_token`).
    Key(&'a str),
    /// An environment variable (`AWS_ENDPOINT`).
    EnvVar(&'a str),
    /// An item of the dict a credential provider returned (`token`).
    ProviderResult(&'a str),
}

impl std::fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Key(name) => write!(f, "configuration key '{name}'"),
            Origin::EnvVar(name) => write!(f, "environment variable {name}"),
            Origin::ProviderResult(name) => {
                write!(f, "'{name}' returned by the credential provider")
            }
        }
    }
}

fn control_character(value: &str) -> Option<char> {
    value.chars().find(|c| c.is_control())
}

fn describe_char(c: char) -> String {
    if c.is_control() {
        format!("the control character U+{:04X}", c as u32)
    } else if c.is_ascii() {
        format!("{c:?}")
    } else {
        format!("the character U+{:04X}", c as u32)
    }
}

fn check_text(value: &str) -> Result<(), String> {
    match value.chars().find(|c| !(' '..='~').contains(c)) {
        Some(c) => Err(format!(
            "it contains {}, which cannot be sent in an HTTP header (only printable ASCII can)",
            describe_char(c)
        )),
        None => Ok(()),
    }
}

fn check_name(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("it is empty".into());
    }
    match value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '$')))
    {
        Some(c) => Err(format!(
            "it contains {}; a name in a request URL may only hold letters, digits, '.', '-', '_' \
             and '$'",
            describe_char(c)
        )),
        None => Ok(()),
    }
}

/// Checks `value` as an http(s) URL with a host, by both parsers that will read it: `url::Url`
/// (the store builders) and `http::Uri` (every request).
pub fn check_url(value: &str) -> Result<(), String> {
    if let Some(c) = control_character(value) {
        return Err(format!("it contains {}", describe_char(c)));
    }
    let url = url::Url::parse(value).map_err(|err| format!("it is not a valid URL ({err})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "its scheme is \"{}\", expected http or https",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("it has no host".into());
    }
    value
        .parse::<::http::Uri>()
        .map_err(|err| format!("it is not a valid HTTP request URL ({err})"))?;
    Ok(())
}

fn check_url_path(value: &str) -> Result<(), String> {
    if !value.starts_with('/') {
        return Err("it must start with '/'".into());
    }
    check_url(&format!("http://localhost{value}"))
}

/// Why `value` is not acceptable as a value of `kind`, if it is not.
pub fn check(kind: ValueKind, value: &str) -> Result<(), String> {
    match kind {
        ValueKind::Text => check_text(value),
        ValueKind::Local => Ok(()),
        ValueKind::Name => check_name(value),
        ValueKind::Url => check_url(value),
        ValueKind::UrlPath => check_url_path(value),
        ValueKind::AesKey => check_aes_key(value),
    }
}

fn check_aes_key(value: &str) -> Result<(), String> {
    use base64::prelude::{Engine, BASE64_STANDARD};
    check_text(value)?;
    match BASE64_STANDARD.decode(value) {
        Ok(key) if key.len() == 32 => Ok(()),
        Ok(key) => Err(format!(
            "it must be the base64 of a 32-byte (AES-256) key; it decodes to {} bytes",
            key.len()
        )),
        Err(_) => Err("it must be the base64 of a 32-byte (AES-256) key; it is not base64".into()),
    }
}

/// `url` for a message, with what may be secret hidden: the user information (a password) and
/// the query (a SAS token, a signature).
pub fn redact_url(url: &str) -> String {
    let (url, query) = match url.split_once('?') {
        Some((base, _)) => (base, "?***"),
        None => (url, ""),
    };
    let base = match url.split_once("://") {
        Some((scheme, rest)) => match rest.rfind('@') {
            Some(at) => format!("{scheme}://***{}", &rest[at..]),
            None => url.to_string(),
        },
        None => url.to_string(),
    };
    format!("{base}{query}")
}

/// The `ValueError` for a bad value: the origin, the reason, and `shown` (the value as the
/// message may show it; `None` for a secret).
pub fn invalid_value(origin: Origin<'_>, reason: &str, shown: Option<&str>) -> PyErr {
    let message = match shown {
        Some(value) => format!("Invalid value for the {origin}: {reason}: {value:?}"),
        None => {
            format!("Invalid value for the {origin}: {reason} (the value is secret and not shown)")
        }
    };
    PyValueError::new_err(message)
}

/// Checks `value` as a value of `kind` from `origin`; a `ValueError` when it is not acceptable,
/// showing the value unless it is `secret` (and a URL without its password and query).
pub fn validate(
    origin: Origin<'_>,
    kind: ValueKind,
    value: &str,
    secret: bool,
) -> Result<(), PyErr> {
    check(kind, value).map_err(|reason| {
        let shown = match kind {
            _ if secret => None,
            ValueKind::Url => Some(redact_url(value)),
            _ => Some(value.to_string()),
        };
        invalid_value(origin, &reason, shown.as_deref())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_printable_ascii() {
        assert!(check(ValueKind::Text, "tok").is_ok());
        assert!(check(ValueKind::Text, "t ok/+=~").is_ok());
        assert!(check(ValueKind::Text, "é").is_err());
        assert!(check(ValueKind::Text, "tok\n").is_err());
        assert!(check(ValueKind::Text, "a\tb").is_err());
        assert!(check(ValueKind::Text, "\u{7f}").is_err());
        assert!(check(ValueKind::Local, "{\n\"a\": 1\n}").is_ok());
    }

    #[test]
    fn an_aes_key_is_the_base64_of_32_bytes() {
        assert!(check(
            ValueKind::AesKey,
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
        )
        .is_ok());
        assert!(check(ValueKind::AesKey, "bm90MzI=")
            .unwrap_err()
            .contains("5 bytes"));
        assert!(check(ValueKind::AesKey, "not base64!")
            .unwrap_err()
            .contains("not base64"));
    }

    #[test]
    fn names_are_url_safe() {
        for good in [
            "bucket",
            "my.bucket-1_x",
            "devstoreaccount1",
            "us-east-1",
            "$web",
        ] {
            assert!(check(ValueKind::Name, good).is_ok(), "{good}");
        }
        for bad in ["", "buck et", "a/b", "a?b", "a#b", "a%20b", "a\nb", "é"] {
            assert!(check(ValueKind::Name, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn urls_need_an_http_scheme_and_a_host() {
        for good in [
            "http://127.0.0.1:9",
            "https://s3.amazonaws.com/",
            "http://h:1/p?q=1",
        ] {
            assert!(check(ValueKind::Url, good).is_ok(), "{good}");
        }
        for bad in [
            "http://",
            ":::: ",
            "ftp://h",
            "h:1",
            "http://h /",
            "http://h\n",
            "http://[::1",
        ] {
            assert!(check(ValueKind::Url, bad).is_err(), "{bad:?}");
        }
        assert!(check(ValueKind::UrlPath, "/v2/credentials/x").is_ok());
        assert!(check(ValueKind::UrlPath, "v2").is_err());
        assert!(check(ValueKind::UrlPath, "/a b").is_err());
    }

    #[test]
    fn redact_url_hides_passwords_and_queries() {
        assert_eq!(redact_url("http://u:p@h/x"), "http://***@h/x");
        assert_eq!(redact_url("https://a/c?sv=1&sig=s"), "https://a/c?***");
        assert_eq!(redact_url("https://a/c"), "https://a/c");
    }
}
