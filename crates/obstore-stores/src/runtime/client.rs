//! The HTTP client every network store sends through: an [`HttpService`] directly on hyper-util's
//! pooled client, built from the store's [`ClientOptions`].
//!
//! `object_store`'s own client is reqwest's, whose layers between `object_store` and hyper (the
//! URL parsed again, tower's retry and redirect services, boxed timeouts, the connector cloned
//! per request) measured 8–15% of all CPU in `async_get_*`. This service does the same work in
//! one function: fills in the default headers, enforces `allow_http`, bounds the request with
//! `timeout` and `read_timeout`, follows redirects as reqwest does, and maps failures to the
//! [`HttpErrorKind`]s `object_store`'s retries read. An A/B of `async_get_64` on 2 cores (medians
//! of six repetitions): 46.0k req/s at 0.0258 ms CPU per request, against 40.2k at 0.0302
//! through reqwest.
//!
//! A proxy (`proxy_url`, or the `HTTP(S)_PROXY` / `ALL_PROXY` variables that reqwest reads) is
//! reqwest's to do: such a client is reqwest's, built by `object_store`.

use std::future::{poll_fn, Future};
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::header::{
    Entry, ACCEPT, AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, LOCATION,
    PROXY_AUTHORIZATION, TRANSFER_ENCODING, USER_AGENT, WWW_AUTHENTICATE,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use http_body::{Body, Frame, SizeHint};
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use object_store::client::{
    HttpClient, HttpConnector as Connector, HttpError, HttpErrorKind, HttpRequest, HttpRequestBody,
    HttpResponse, HttpResponseBody, HttpService, ReqwestConnector,
};
use object_store::{ClientConfigKey, ClientOptions};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::time::{Instant, Sleep};

/// The user agent of a client without `user_agent`: `object_store`'s own, which it does not export.
const DEFAULT_USER_AGENT: &str = concat!("object_store/", env!("OBJECT_STORE_VERSION"));

/// Redirects followed before a request fails, as reqwest's default policy.
const MAX_REDIRECTS: usize = 10;

/// The environment variables through which reqwest picks up a proxy.
const PROXY_VARIABLES: [&str; 6] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// A client for `options`, trusting `roots` beside (or, with `disable_system_certificates`,
/// instead of) the system's certificates.
pub fn connect(
    options: &ClientOptions,
    roots: &[CertificateDer<'static>],
) -> object_store::Result<HttpClient> {
    if uses_proxy(options) {
        return ReqwestConnector::default().connect(options);
    }
    Ok(HttpClient::new(HyperService::new(options, roots)?))
}

fn uses_proxy(options: &ClientOptions) -> bool {
    options
        .get_config_value(&ClientConfigKey::ProxyUrl)
        .is_some()
        || PROXY_VARIABLES
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}

/// Reads one option as `object_store` does, with its error for a value that does not parse.
fn read<T>(
    options: &ClientOptions,
    key: ClientConfigKey,
    what: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> object_store::Result<Option<T>> {
    let Some(value) = options.get_config_value(&key) else {
        return Ok(None);
    };
    match parse(&value) {
        Some(parsed) => Ok(Some(parsed)),
        None => Err(object_store::Error::Generic {
            store: "Config",
            source: format!("failed to parse \"{value}\" as {what}").into(),
        }),
    }
}

fn flag(options: &ClientOptions, key: ClientConfigKey) -> object_store::Result<bool> {
    let value = read(options, key, "boolean", |v| {
        match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "on" | "yes" | "y" => Some(true),
            "0" | "false" | "off" | "no" | "n" => Some(false),
            _ => None,
        }
    })?;
    Ok(value.unwrap_or(false))
}

fn duration(
    options: &ClientOptions,
    key: ClientConfigKey,
) -> object_store::Result<Option<Duration>> {
    read(options, key, "Duration", |v| {
        humantime::parse_duration(v).ok()
    })
}

fn number<T: FromStr>(
    options: &ClientOptions,
    key: ClientConfigKey,
    what: &str,
) -> object_store::Result<Option<T>> {
    read(options, key, what, |v| v.parse().ok())
}

/// What every request of a client carries and is bounded by.
#[derive(Debug)]
struct Settings {
    /// `Accept`, `User-Agent` and `default_headers`: set where a request has no such header.
    headers: HeaderMap,
    allow_http: bool,
    timeout: Option<Duration>,
    read_timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
struct HyperService {
    client: Client<Timed<HttpsConnector<HttpConnector<Resolver>>>, HttpRequestBody>,
    settings: Arc<Settings>,
}

impl HyperService {
    fn new(
        options: &ClientOptions,
        roots: &[CertificateDer<'static>],
    ) -> object_store::Result<Self> {
        use ClientConfigKey as K;
        let mut headers = options.get_default_headers().cloned().unwrap_or_default();
        let user_agent = read(options, K::UserAgent, "HeaderValue", |v| {
            HeaderValue::from_str(v).ok()
        })?
        .unwrap_or(HeaderValue::from_static(DEFAULT_USER_AGENT));
        if let Entry::Vacant(entry) = headers.entry(USER_AGENT) {
            entry.insert(user_agent);
        }
        if let Entry::Vacant(entry) = headers.entry(ACCEPT) {
            entry.insert(HeaderValue::from_static("*/*"));
        }

        let mut tcp = HttpConnector::new_with_resolver(Resolver {
            shuffle: flag(options, K::RandomizeAddresses)?,
        });
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let connect_timeout = duration(options, K::ConnectTimeout)?;
        tcp.set_connect_timeout(connect_timeout);
        // reqwest's TCP settings: a dead peer is noticed within about a minute.
        tcp.set_keepalive(Some(Duration::from_secs(15)));
        tcp.set_keepalive_interval(Some(Duration::from_secs(15)));
        tcp.set_keepalive_retries(Some(3));
        #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
        tcp.set_tcp_user_timeout(Some(Duration::from_secs(30)));

        let http1_only = flag(options, K::Http1Only)?;
        let http2_only = flag(options, K::Http2Only)?;
        let tls = tls_config(options, roots)?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http();
        let https = if http2_only {
            https.enable_http2().wrap_connector(tcp)
        } else if http1_only {
            https.enable_http1().wrap_connector(tcp)
        } else {
            https.enable_all_versions().wrap_connector(tcp)
        };

        let mut builder = Client::builder(TokioExecutor::new());
        builder.timer(TokioTimer::new());
        builder.pool_timer(TokioTimer::new());
        builder.pool_idle_timeout(
            duration(options, K::PoolIdleTimeout)?.or(Some(Duration::from_secs(90))),
        );
        if let Some(max) = number::<usize>(options, K::PoolMaxIdlePerHost, "usize")? {
            builder.pool_max_idle_per_host(max);
        }
        if http2_only {
            builder.http2_only(true);
        }
        if let Some(interval) = duration(options, K::Http2KeepAliveInterval)? {
            builder.http2_keep_alive_interval(interval);
        }
        if let Some(timeout) = duration(options, K::Http2KeepAliveTimeout)? {
            builder.http2_keep_alive_timeout(timeout);
        }
        if flag(options, K::Http2KeepAliveWhileIdle)? {
            builder.http2_keep_alive_while_idle(true);
        }
        if let Some(size) = number::<u32>(options, K::Http2MaxFrameSize, "u32")? {
            builder.http2_max_frame_size(size);
        }

        Ok(Self {
            client: builder.build(Timed {
                inner: https,
                timeout: connect_timeout,
            }),
            settings: Arc::new(Settings {
                headers,
                allow_http: flag(options, K::AllowHttp)?,
                timeout: duration(options, K::Timeout)?,
                read_timeout: duration(options, K::ReadTimeout)?,
            }),
        })
    }
}

/// rustls as reqwest sets it up: the process's default crypto provider (else aws-lc-rs), the
/// platform's verifier with `roots` added, or `roots` alone, or no verification at all.
fn tls_config(
    options: &ClientOptions,
    roots: &[CertificateDer<'static>],
) -> object_store::Result<rustls::ClientConfig> {
    let provider = crypto_provider();
    let tls_error = |err: rustls::Error| object_store::Error::Generic {
        store: "HTTP client",
        source: Box::new(err),
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(tls_error)?;
    let config = if flag(options, ClientConfigKey::AllowInvalidCertificates)? {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
    } else if flag(options, ClientConfigKey::NoSystemCertificates)? {
        let mut store = rustls::RootCertStore::empty();
        for root in roots {
            store.add(root.clone()).map_err(tls_error)?;
        }
        builder.with_root_certificates(store)
    } else {
        builder.dangerous().with_custom_certificate_verifier(
            platform_verifier(&provider, roots).map_err(tls_error)?,
        )
    };
    Ok(config.with_no_client_auth())
}

/// The process's default crypto provider, else one aws-lc-rs provider for the whole process (the
/// same `Arc`, so that [`platform_verifier`] finds its verifiers again).
fn crypto_provider() -> Arc<CryptoProvider> {
    static AWS_LC: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    match CryptoProvider::get_default() {
        Some(provider) => provider.clone(),
        None => AWS_LC
            .get_or_init(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .clone(),
    }
}

/// A platform verifier and what it was built with.
struct CachedVerifier {
    provider: Arc<CryptoProvider>,
    roots: Vec<CertificateDer<'static>>,
    verifier: Arc<rustls_platform_verifier::Verifier>,
}

/// The platform verifiers built so far, the newest last, at most [`CACHED_VERIFIERS`]. Building
/// one reads and parses the system's whole CA bundle: 2.7 ms per client here, a hundred times the
/// rest of a store's construction, paid by every store and by each lane's client of it. So the
/// system's certificates are read once per process for each set of `roots`; a process started
/// after they change sees the change. Per generation: a child forked while another thread held
/// the lock starts with a cache of its own.
static VERIFIERS: super::PerGeneration<Mutex<Vec<CachedVerifier>>> = super::PerGeneration::new();

/// Sets of `root_certificate`s whose verifiers are kept: a process uses one or a few.
const CACHED_VERIFIERS: usize = 16;

/// The platform's verifier with `roots` added, built once per provider and set of roots.
fn platform_verifier(
    provider: &Arc<CryptoProvider>,
    roots: &[CertificateDer<'static>],
) -> Result<Arc<rustls_platform_verifier::Verifier>, rustls::Error> {
    // Held while a verifier is built: clients made at once wait for the one load.
    let mut cache = VERIFIERS
        .get(|_| Mutex::new(Vec::new()))
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(cached) = cache
        .iter()
        .find(|cached| Arc::ptr_eq(&cached.provider, provider) && cached.roots == roots)
    {
        return Ok(cached.verifier.clone());
    }
    let verifier = Arc::new(rustls_platform_verifier::Verifier::new_with_extra_roots(
        roots.iter().cloned(),
        provider.clone(),
    )?);
    if cache.len() == CACHED_VERIFIERS {
        cache.remove(0);
    }
    cache.push(CachedVerifier {
        provider: provider.clone(),
        roots: roots.to_vec(),
        verifier: verifier.clone(),
    });
    Ok(verifier)
}

/// `allow_invalid_certificates`: every certificate and signature accepted.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verify_tls12_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Name resolution with the system's resolver on a blocking thread; with `randomize_addresses`
/// (`object_store`'s default) the addresses come in random order, spreading connections over a
/// service's hosts.
#[derive(Debug, Clone, Copy)]
struct Resolver {
    shuffle: bool,
}

impl tower_service::Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let shuffle = self.shuffle;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let mut addrs = tokio::task::spawn_blocking(move || {
                (host.as_str(), 0).to_socket_addrs().map(Vec::from_iter)
            })
            .await
            .map_err(std::io::Error::other)??;
            if shuffle {
                shuffle_in_place(&mut addrs);
            }
            Ok(addrs.into_iter())
        })
    }
}

/// Fisher–Yates with a per-call random seed (std's hasher keys): no generator to keep.
fn shuffle_in_place<T>(items: &mut [T]) {
    use std::hash::{BuildHasher, Hasher};
    let mut state = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
        | 1;
    for i in (1..items.len()).rev() {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        items.swap(i, (state % (i as u64 + 1)) as usize);
    }
}

/// A connector whose connections, TLS handshake included, are made within `connect_timeout`, and
/// then [tuned](Tune).
#[derive(Debug, Clone)]
struct Timed<C> {
    inner: C,
    timeout: Option<Duration>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a connection is set up with once it is made.
trait Tune {
    fn tune(&mut self);
}

/// Plaintext that rustls takes in per write, and ciphertext it holds for the socket: 256 KiB,
/// where its default is 64 KiB. Each write of a body becomes one `writev` of the records made so
/// far, so the limit sets the size of each write to the socket. A 1 GiB multipart upload over
/// https (5 MiB parts, 12 in flight, to MinIO on loopback) made 16.7k `writev`s and 31k TCP
/// segments at 64 KiB: each write's ciphertext is 169 bytes more than one 65,483-byte segment
/// holds, so every write left a runt. At 256 KiB: 4.5k writes, 20.6k segments, and 0.40–0.44 s
/// of CPU per GiB against 0.50 (medians of fresh processes, alternated). 1 MiB cut the segments
/// to one PUT's 17.5k, but one PUT then cost 0.31 s per GiB against 0.20–0.25 at 128–512 KiB.
const TLS_WRITE_BUFFER: usize = 256 << 10;

impl Tune for MaybeHttpsStream<TokioIo<tokio::net::TcpStream>> {
    fn tune(&mut self) {
        if let MaybeHttpsStream::Https(tls) = self {
            let (_, connection) = tls.inner_mut().get_mut();
            connection.set_buffer_limit(Some(TLS_WRITE_BUFFER));
        }
    }
}

impl<C> tower_service::Service<Uri> for Timed<C>
where
    C: tower_service::Service<Uri>,
    C::Response: Tune,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let timeout = self.timeout;
        Box::pin(async move {
            let mut connection = match timeout {
                None => connecting.await.map_err(Into::into)?,
                Some(timeout) => match tokio::time::timeout(timeout, connecting).await {
                    Ok(connected) => connected.map_err(Into::into)?,
                    Err(_) => {
                        return Err(Box::new(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "connect timed out",
                        )) as BoxError)
                    }
                },
            };
            connection.tune();
            Ok(connection)
        })
    }
}

/// A request, kept to be sent again when the answer is a redirect.
struct Replay {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: HttpRequestBody,
}

#[async_trait]
impl HttpService for HyperService {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let settings = &*self.settings;
        let (mut parts, body) = request.into_parts();
        for (name, value) in &settings.headers {
            if let Entry::Vacant(entry) = parts.headers.entry(name) {
                entry.insert(value.clone());
            }
        }
        let mut timers = Timers::new(settings.timeout, settings.read_timeout);
        let mut replay = Replay {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            body,
        };
        let mut redirects = 0;
        loop {
            self.allowed(&replay.uri)?;
            let mut request = http::Request::new(replay.body.clone());
            *request.method_mut() = replay.method.clone();
            *request.uri_mut() = replay.uri.clone();
            *request.headers_mut() = replay.headers.clone();
            let sent = self.client.request(request);
            let response = respond(sent, &mut timers).await?;
            let Some(next) = redirect(&replay, &response)? else {
                return Ok(
                    response.map(|body| HttpResponseBody::new(ResponseBody { body, timers }))
                );
            };
            redirects += 1;
            if redirects > MAX_REDIRECTS {
                return Err(HttpError::new(
                    HttpErrorKind::Unknown,
                    Refused::TooManyRedirects,
                ));
            }
            redirect_to(&mut replay, next, response.status());
        }
    }
}

impl HyperService {
    /// `allow_http`: a plain-http URL is refused before anything is sent, as reqwest's
    /// `https_only` does (an error the retries do not repeat).
    fn allowed(&self, uri: &Uri) -> Result<(), HttpError> {
        match uri.scheme_str() {
            Some("https") => Ok(()),
            Some("http") if self.settings.allow_http => Ok(()),
            _ => Err(HttpError::new(
                HttpErrorKind::Unknown,
                Refused::Scheme(uri.scheme_str().unwrap_or_default().to_string()),
            )),
        }
    }
}

/// The two bounds of a request: `timeout` over all of it, `read_timeout` over each wait for the
/// server (restarted by every response head and body frame). One timer each, for every hop and
/// the body.
struct Timers {
    deadline: Option<Pin<Box<Sleep>>>,
    read: Option<(Duration, Pin<Box<Sleep>>)>,
}

impl Timers {
    fn new(timeout: Option<Duration>, read_timeout: Option<Duration>) -> Self {
        Self {
            deadline: timeout.map(|timeout| Box::pin(tokio::time::sleep(timeout))),
            read: read_timeout.map(|timeout| (timeout, Box::pin(tokio::time::sleep(timeout)))),
        }
    }

    /// The server answered: the wait for its next bytes starts now.
    fn progressed(&mut self) {
        if let Some((timeout, read)) = self.read.as_mut() {
            read.as_mut().reset(Instant::now() + *timeout);
        }
    }

    /// Whether either bound has passed (and if not, a wake-up when one does).
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline
            .as_mut()
            .is_some_and(|deadline| deadline.as_mut().poll(cx).is_ready())
            || self
                .read
                .as_mut()
                .is_some_and(|(_, read)| read.as_mut().poll(cx).is_ready())
    }
}

/// The response's head, within the request's [`Timers`] (the wait for it starts now).
async fn respond(
    sent: impl Future<
        Output = Result<http::Response<hyper::body::Incoming>, hyper_util::client::legacy::Error>,
    >,
    timers: &mut Timers,
) -> Result<http::Response<hyper::body::Incoming>, HttpError> {
    let mut sent = std::pin::pin!(sent);
    timers.progressed();
    poll_fn(|cx| match sent.as_mut().poll(cx) {
        Poll::Ready(result) => {
            timers.progressed();
            Poll::Ready(result.map_err(|err| classify(Box::new(err))))
        }
        Poll::Pending if timers.expired(cx) => Poll::Ready(Err(timed_out())),
        Poll::Pending => Poll::Pending,
    })
    .await
}

/// Where a redirect response sends the request next, if it is one to follow (301, 302, 303, 307,
/// 308 with a `Location`); a `Location` that is not a URL fails the request.
fn redirect(
    request: &Replay,
    response: &http::Response<hyper::body::Incoming>,
) -> Result<Option<Uri>, HttpError> {
    if !matches!(
        response.status(),
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    ) {
        return Ok(None);
    }
    let Some(location) = response.headers().get(LOCATION) else {
        return Ok(None);
    };
    let bad = |reason: String| HttpError::new(HttpErrorKind::Unknown, Refused::BadRedirect(reason));
    let location = location
        .to_str()
        .map_err(|_| bad("a Location header that is not text".into()))?;
    let base = url::Url::parse(&request.uri.to_string())
        .map_err(|err| bad(format!("a request URL that is not one ({err})")))?;
    let next = base
        .join(location)
        .map_err(|err| bad(format!("Location {location:?} ({err})")))?;
    if !matches!(next.scheme(), "http" | "https") {
        return Err(bad(format!("Location {location:?} (not http or https)")));
    }
    Uri::try_from(next.as_str())
        .map(Some)
        .map_err(|err| bad(format!("Location {location:?} ({err})")))
}

/// The request to send to `next`: 303 (and 301 or 302 after a POST) turn it into a bodiless GET
/// (HEAD stays HEAD); credentials are not sent on to another origin.
fn redirect_to(replay: &mut Replay, next: Uri, status: StatusCode) {
    let to_get = match status {
        StatusCode::SEE_OTHER => replay.method != Method::HEAD,
        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND => replay.method == Method::POST,
        _ => false,
    };
    if to_get {
        replay.method = Method::GET;
        replay.body = HttpRequestBody::empty();
        for name in [
            CONTENT_TYPE,
            CONTENT_LENGTH,
            CONTENT_ENCODING,
            TRANSFER_ENCODING,
        ] {
            replay.headers.remove(name);
        }
    }
    let origin = |uri: &Uri| {
        (
            uri.scheme_str().map(str::to_owned),
            uri.host().map(str::to_owned),
            uri.port_u16().or(match uri.scheme_str() {
                Some("https") => Some(443),
                _ => Some(80),
            }),
        )
    };
    if origin(&replay.uri) != origin(&next) {
        for name in [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION, WWW_AUTHENTICATE] {
            replay.headers.remove(name);
        }
        replay.headers.remove("cookie2");
    }
    replay.uri = next;
}

/// A response body within the request's [`Timers`].
struct ResponseBody {
    body: hyper::body::Incoming,
    timers: Timers,
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.timers.progressed();
                Poll::Ready(frame.map(|frame| frame.map_err(|err| classify(Box::new(err)))))
            }
            Poll::Pending if this.timers.expired(cx) => Poll::Ready(Some(Err(timed_out()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The kind of a failure, as `object_store` reads reqwest's: any timeout on the way is
/// `Timeout`, a connection not made `Connect`, a connection closed or cut mid-message `Request`
/// or `Interrupted`.
fn classify(error: BoxError) -> HttpError {
    let chain = || {
        std::iter::successors(Some(&*error as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
    };
    let timed_out = chain().any(|err| {
        err.downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_timeout)
            || err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|err| err.kind() == std::io::ErrorKind::TimedOut)
    });
    let connect = error
        .downcast_ref::<hyper_util::client::legacy::Error>()
        .is_some_and(hyper_util::client::legacy::Error::is_connect);
    let kind = if timed_out {
        HttpErrorKind::Timeout
    } else if connect {
        HttpErrorKind::Connect
    } else {
        chain()
            .find_map(|err| {
                if let Some(err) = err.downcast_ref::<hyper::Error>() {
                    if err.is_closed() || err.is_incomplete_message() || err.is_body_write_aborted()
                    {
                        return Some(HttpErrorKind::Request);
                    }
                }
                match err.downcast_ref::<std::io::Error>()?.kind() {
                    std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof => Some(HttpErrorKind::Interrupted),
                    _ => None,
                }
            })
            .unwrap_or(HttpErrorKind::Unknown)
    };
    HttpError::new_boxed(kind, error)
}

fn timed_out() -> HttpError {
    HttpError::new(
        HttpErrorKind::Timeout,
        std::io::Error::new(std::io::ErrorKind::TimedOut, "operation timed out"),
    )
}

/// What this client refuses to do, in words for the error message.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error("too many redirects (more than {MAX_REDIRECTS})")]
    TooManyRedirects,
    #[error("cannot follow a redirect with {0}")]
    BadRedirect(String),
    #[error("URL scheme {0:?} is not allowed (plain http needs the client option allow_http)")]
    Scheme(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_keeps_every_item() {
        let mut items: Vec<u32> = (0..50).collect();
        shuffle_in_place(&mut items);
        let mut sorted = items.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        shuffle_in_place(&mut [0u8; 0]);
    }

    fn replay(method: Method, uri: &str) -> Replay {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static("secret"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        Replay {
            method,
            uri: uri.parse().unwrap(),
            headers,
            body: HttpRequestBody::from(Bytes::from_static(b"body")),
        }
    }

    #[test]
    fn a_redirect_to_another_origin_drops_credentials() {
        let mut r = replay(Method::GET, "http://a.test/x");
        redirect_to(
            &mut r,
            "http://b.test/y".parse().unwrap(),
            StatusCode::FOUND,
        );
        assert!(r.headers.get(AUTHORIZATION).is_none());
        let mut r = replay(Method::GET, "http://a.test/x");
        redirect_to(
            &mut r,
            "http://a.test:80/y".parse().unwrap(),
            StatusCode::FOUND,
        );
        assert!(r.headers.get(AUTHORIZATION).is_some());
    }

    #[test]
    fn see_other_turns_a_put_into_a_bodiless_get() {
        let mut r = replay(Method::PUT, "http://a.test/x");
        redirect_to(
            &mut r,
            "http://a.test/y".parse().unwrap(),
            StatusCode::SEE_OTHER,
        );
        assert_eq!(r.method, Method::GET);
        assert!(r.body.is_empty());
        assert!(r.headers.get(CONTENT_TYPE).is_none());
        let mut r = replay(Method::PUT, "http://a.test/x");
        redirect_to(
            &mut r,
            "http://a.test/y".parse().unwrap(),
            StatusCode::TEMPORARY_REDIRECT,
        );
        assert_eq!(r.method, Method::PUT);
        assert_eq!(r.body.content_length(), 4);
    }

    #[test]
    fn timeouts_are_the_timeout_kind() {
        assert_eq!(timed_out().kind(), HttpErrorKind::Timeout);
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(classify(Box::new(reset)).kind(), HttpErrorKind::Interrupted);
    }
}
