//! What `S3Store`, `GCSStore` and `AzureStore` share: [`CloudCore`] (merged settings, environment
//! snapshot, prefix, retry configuration, credential provider, equality, pickling), the generic
//! [`CloudStore`] that builds a client from it through a [`CloudBackend`] (a cloud's builder and
//! its [`Cloud`], what sets the cloud apart), and the one set of Python methods every cloud class
//! gets from [`cloud_store_class!`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, RetryConfig};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};

use super::context::{BucketLabel, StoreLabel};
use super::credential::{Convert, ProviderHandle, PyCredentialProvider};
use super::handle::AnyStore;
use super::NewArgs;
use crate::config::client::{allows_http, ClientConfig};
use crate::config::retry::PyRetryConfig;
use crate::config::{
    merge_url_settings, parse_key, parse_prefix, AsDict, EnvSettings, StoreFamily, StoreSettings,
    UrlSettings,
};
use crate::error::ObstoreError;
use crate::integrity::{self, Algorithm, IntegrityConnector, Policy, UploadChoice};
use crate::runtime;
use crate::runtime::lane::LaneConnector;
use crate::runtime::observe::{self, StoreObserver};
use crate::sigv4::{S3Signer, SigningConnector};

/// The connector every cloud client sends through: the lanes, S3's signatures, and the checksum
/// policy.
pub type Connector = IntegrityConnector<SigningConnector<LaneConnector>>;

/// A client built on first use and rebuilt after `os.fork()` (a forked child cannot use the
/// parent's pooled connections, which belong to the parent's runtime).
#[derive(Debug)]
pub struct LazyClient<T> {
    cell: Mutex<Option<(u64, Arc<T>)>>,
}

impl<T> Default for LazyClient<T> {
    fn default() -> Self {
        Self {
            cell: Mutex::new(None),
        }
    }
}

impl<T> LazyClient<T> {
    /// A cell already holding `value` for the current generation.
    pub fn with(value: T) -> Self {
        Self {
            cell: Mutex::new(Some((runtime::generation(), Arc::new(value)))),
        }
    }

    /// The client of this process generation, built by `build` when missing or stale.
    pub fn get(
        &self,
        build: impl FnOnce() -> Result<T, ObstoreError>,
    ) -> Result<Arc<T>, ObstoreError> {
        let generation = runtime::generation();
        {
            let cell = self.cell.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((built_in, client)) = cell.as_ref() {
                if *built_in == generation {
                    return Ok(client.clone());
                }
            }
        }
        // Built without holding the lock: a fork during a build must not leave it locked.
        let client = Arc::new(build()?);
        let mut cell = self.cell.lock().unwrap_or_else(|e| e.into_inner());
        *cell = Some((generation, client.clone()));
        Ok(client)
    }
}

/// Wraps a built client with the store prefix, as operations see it.
pub fn with_prefix<T: ObjectStore>(client: Arc<T>, prefix: Option<&Path>) -> Arc<dyn ObjectStore> {
    match prefix {
        Some(prefix) => Arc::new(object_store::prefix::PrefixStore::new(
            client,
            prefix.clone(),
        )),
        None => client,
    }
}

/// Whether two optional Python objects are equal (`==`), never raising.
pub fn py_objects_equal(a: Option<&Py<PyAny>>, b: Option<&Py<PyAny>>, py: Python<'_>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.bind(py).eq(b.bind(py)).unwrap_or(false),
        _ => false,
    }
}

/// The `config` and `prefix` attributes a credential provider may carry.
fn provider_attr<'py>(
    provider: Option<&Bound<'py, PyAny>>,
    name: &str,
) -> Option<Bound<'py, PyAny>> {
    provider
        .and_then(|p| p.getattr(name).ok())
        .filter(|v| !v.is_none())
}

/// One cloud, implemented on its `object_store` builder by `cloud_backend!`: the builder's
/// steps (the three builders have them under the same names, but no trait), the client and
/// credential it yields, its keys, and [`Cloud`], what else differs between clouds.
pub trait CloudBackend: Sized + 'static {
    /// The configuration keys.
    type Family: StoreFamily;
    /// The built client.
    type Client: ObjectStore + object_store::signer::Signer;
    /// What the Python credential provider's result converts to.
    type Credential: std::fmt::Debug + Send + Sync + 'static;
    /// What differs between this cloud and the others.
    const CLOUD: Cloud<Self>;

    /// A builder with the client options and the connector.
    fn connect(options: ClientOptions, connector: Connector) -> Self;
    /// Applies one setting by canonical key.
    fn with_setting(self, key: &str, value: &str) -> Result<Self, ObstoreError>;
    /// Applies the retry configuration.
    fn with_retry_config(self, retry: RetryConfig) -> Self;
    /// Uses a Python credential provider.
    fn with_provider(self, provider: Arc<PyCredentialProvider<Self::Credential>>) -> Self;
    /// Builds the client.
    fn build_client(self) -> Result<Self::Client, ObstoreError>;
}

/// Implements [`CloudBackend`] for the `object_store` builder `$builder`, whose keys are
/// `$family`'s, which builds a `$client` signing with a `$credential`, and whose other
/// differences are the [`Cloud`] `$cloud`.
macro_rules! cloud_backend {
    ($builder:ty, $family:ty, $client:ty, $credential:ty, $cloud:expr) => {
        impl $crate::stores::cloud::CloudBackend for $builder {
            type Family = $family;
            type Client = $client;
            type Credential = $credential;
            const CLOUD: $crate::stores::cloud::Cloud<Self> = $cloud;

            fn connect(
                options: object_store::ClientOptions,
                connector: $crate::stores::cloud::Connector,
            ) -> Self {
                Self::new()
                    .with_client_options(options)
                    .with_http_connector(connector)
            }

            fn with_setting(
                self,
                key: &str,
                value: &str,
            ) -> Result<Self, $crate::error::ObstoreError> {
                let key = key.parse::<<$family as $crate::config::StoreFamily>::Key>()?;
                Ok(self.with_config(key, value))
            }

            fn with_retry_config(self, retry: object_store::RetryConfig) -> Self {
                self.with_retry(retry)
            }

            fn with_provider(
                self,
                provider: std::sync::Arc<
                    $crate::stores::credential::PyCredentialProvider<$credential>,
                >,
            ) -> Self {
                self.with_credentials(provider)
            }

            fn build_client(self) -> Result<$client, $crate::error::ObstoreError> {
                Ok(self.build()?)
            }
        }
    };
}

pub(crate) use cloud_backend;

/// What differs between clouds besides their builder's types: names, keys and defaults, and
/// the steps of building a client that only some clouds take. `B` is the cloud's builder.
pub struct Cloud<B: CloudBackend> {
    /// The label of credential errors ("AWS").
    pub label: &'static str,
    /// The URL scheme errors name the store by ("s3").
    pub url_scheme: &'static str,
    /// What the service calls a bucket ("bucket", "container").
    pub bucket_noun: &'static str,
    /// The canonical key of the bucket name.
    pub bucket_key: &'static str,
    /// The settings that tell two services apart (endpoint, account), so that a bucket known
    /// to exist on one is not taken to exist on another.
    pub service_keys: &'static [&'static str],
    /// The settings `repr` shows before the prefix, under their public names.
    pub repr_keys: &'static [&'static str],
    /// Whether the provider's `config` attribute fills missing settings.
    pub provider_config: bool,
    /// Whether the provider's `prefix` attribute is the default prefix.
    pub provider_prefix: bool,
    /// The refresh threshold when the provider has none.
    pub refresh_threshold: Duration,
    /// Converts the result of a Python credential provider.
    pub convert: Convert<B::Credential>,
    /// Where this cloud's checksums travel (see [`integrity`]).
    pub integrity: integrity::Service,
    /// The canonical key of the upload checksum setting.
    pub checksum_key: &'static str,
    /// The settings that point the store at an endpoint other than the cloud's own (an
    /// S3-compatible server, an emulator): upload checksums are off there unless configured.
    pub custom_endpoint_keys: &'static [&'static str],
    /// The settings a URL of this cloud implies, and its prefix.
    pub parse_url: fn(&str) -> PyResult<UrlSettings>,
    /// Keeps a store away from the instance metadata service (the `&str` variable is set to
    /// true): where the builder would fall back to it for credentials (none configured, and no
    /// Python provider when the `bool` is false), installs a provider that fails with an
    /// explanation instead.
    pub refuse_metadata: fn(B, bool, &str) -> B,
    /// Refuses a plain `http://` endpoint when HTTP is not allowed.
    pub check_http: fn(&B) -> Result<(), ObstoreError>,
    /// Applies the defaults that depend on other settings (the endpoint), once every setting is
    /// on the builder.
    pub with_defaults: Option<fn(B, &CloudCore) -> B>,
    /// The credential the store's requests are signed with, when a checksum header the
    /// connector adds to an upload must be signed too (Azure's account key; S3's credential,
    /// handed over by `build_signed` once the client is built).
    pub upload_signer: Option<fn(&CloudCore) -> Option<integrity::UploadSigner>>,
    /// Builds the client of a cloud whose requests the connector can sign (S3): decides who
    /// signs, sets the connector's [`S3Signer`] when it does, and hands the credential to the
    /// upload signer. Without it, the builder builds the client.
    pub build_signed: Option<BuildSigned<B>>,
}

/// [`Cloud::build_signed`]: the builder, the connector's signer, and the upload signer.
pub type BuildSigned<B> = fn(
    B,
    &S3Signer,
    Option<&integrity::UploadSigner>,
) -> Result<<B as CloudBackend>::Client, ObstoreError>;

/// The settings of one cloud store object.
#[derive(Debug)]
pub struct CloudCore {
    /// Explicit settings (config + positional + kwargs + URL + provider `config`).
    pub settings: StoreSettings,
    /// Environment settings read at construction (never shown, never pickled).
    pub env: EnvSettings,
    /// The prefix as given.
    pub prefix: Option<String>,
    /// The parsed prefix (`None` when absent or empty).
    pub prefix_path: Option<Path>,
    /// The retry configuration, if given.
    pub retry: Option<PyRetryConfig>,
    /// The credential provider, if given.
    pub provider: Option<Arc<ProviderHandle>>,
    /// The `request_hook`, if given.
    pub request_hook: Option<Py<PyAny>>,
}

/// The constructor arguments of a cloud store.
pub struct CoreArgs<'a, 'py> {
    /// The positional argument and the key it stands for (`("bucket", value)`).
    pub positional: Option<(&'static str, &'a Bound<'py, PyAny>)>,
    /// `prefix=`.
    pub prefix: Option<String>,
    /// `config=`.
    pub config: Option<&'a Bound<'py, PyAny>>,
    /// `client_options=`.
    pub client_options: Option<&'a Bound<'py, PyAny>>,
    /// `retry_config=`.
    pub retry_config: Option<&'a Bound<'py, PyAny>>,
    /// `credential_provider=`.
    pub credential_provider: Option<&'a Bound<'py, PyAny>>,
    /// `request_hook=`.
    pub request_hook: Option<&'a Bound<'py, PyAny>>,
    /// `**kwargs`.
    pub kwargs: Option<&'a Bound<'py, PyDict>>,
}

impl CloudCore {
    /// Merges and validates the constructor arguments of backend `B`.
    pub fn new<B: CloudBackend>(args: CoreArgs<'_, '_>) -> PyResult<Self> {
        let mut settings = StoreSettings {
            client: ClientConfig::from_py(args.client_options)?,
            ..Default::default()
        };
        settings.insert_all::<B::Family>(args.config)?;
        if let Some((key, value)) = args.positional.filter(|(_, v)| !v.is_none()) {
            settings.insert::<B::Family>(key, value)?;
        }
        if let Some(kwargs) = args.kwargs {
            settings.insert_all::<B::Family>(Some(kwargs.as_any()))?;
        }
        let provider_obj = args.credential_provider.filter(|p| !p.is_none());
        let provider = provider_obj
            .map(|p| ProviderHandle::new(p, B::CLOUD.refresh_threshold).map(Arc::new))
            .transpose()?;
        if B::CLOUD.provider_config {
            if let Some(config) = provider_attr(provider_obj, "config") {
                settings.fill_from::<B::Family>(&config)?;
            }
        }
        let mut prefix = args.prefix;
        if prefix.is_none() && B::CLOUD.provider_prefix {
            if let Some(p) = provider_attr(provider_obj, "prefix") {
                prefix = Some(p.extract()?);
            }
        }
        let prefix_path = parse_prefix(prefix.as_deref())?;
        Ok(Self {
            env: EnvSettings::read::<B::Family>(&settings)?,
            settings,
            prefix,
            prefix_path,
            retry: PyRetryConfig::from_py(args.retry_config)?,
            provider,
            request_hook: observe::check_hook(args.request_hook)?,
        })
    }

    /// An effective store setting (explicit, else from the environment).
    pub fn effective(&self, canonical: &str) -> Option<&str> {
        self.settings
            .store
            .get(canonical)
            .map(String::as_str)
            .or_else(|| self.env.get(canonical))
    }

    /// The HTTP client options: environment first, then the explicit ones.
    pub fn client_options(&self) -> PyResult<ClientOptions> {
        self.settings.client.build(&self.env.client)
    }

    /// Records the running event loop for an async credential provider.
    pub fn note_loop(&self, py: Python<'_>) {
        if let Some(provider) = &self.provider {
            provider.note_running_loop(py);
        }
    }

    /// Value equality (never raises).
    pub fn equals(&self, other: &Self, py: Python<'_>) -> bool {
        self.prefix_path == other.prefix_path
            && self.settings == other.settings
            && self.retry == other.retry
            && py_objects_equal(
                self.provider.as_ref().map(|p| &p.callable),
                other.provider.as_ref().map(|p| &p.callable),
                py,
            )
            && py_objects_equal(self.request_hook.as_ref(), other.request_hook.as_ref(), py)
    }

    /// `__getnewargs_ex__`: `((), {prefix?, config, client_options?, retry_config?,
    /// credential_provider?, request_hook?})`
    /// with the real (unmasked) values under canonical key names.
    pub fn getnewargs<'py>(&self, py: Python<'py>) -> PyResult<NewArgs<'py>> {
        let kwargs = PyDict::new(py);
        if let Some(prefix) = &self.prefix {
            kwargs.set_item("prefix", prefix)?;
        }
        kwargs.set_item("config", self.settings.canonical_dict(py)?)?;
        if !self.settings.client.is_empty() {
            kwargs.set_item("client_options", self.settings.client.to_py(py)?)?;
        }
        if let Some(retry) = &self.retry {
            kwargs.set_item("retry_config", retry.to_py(py)?)?;
        }
        if let Some(provider) = &self.provider {
            kwargs.set_item("credential_provider", provider.callable.bind(py))?;
        }
        if let Some(hook) = &self.request_hook {
            kwargs.set_item("request_hook", observe::picklable_hook(hook.bind(py))?)?;
        }
        Ok((PyTuple::empty(py), kwargs))
    }

    /// The `client_options` getter: the options, if any were given.
    pub fn given_client_options(&self) -> Option<AsDict<'_, ClientConfig>> {
        Some(&self.settings.client)
            .filter(|client| !client.is_empty())
            .map(AsDict)
    }

    /// The `retry_config` getter.
    pub fn given_retry_config(&self) -> Option<AsDict<'_, PyRetryConfig>> {
        self.retry.as_ref().map(AsDict)
    }

    /// The `credential_provider` getter.
    pub fn given_credential_provider(&self) -> Option<&Py<PyAny>> {
        self.provider.as_ref().map(|p| &p.callable)
    }

    /// The `request_hook` getter.
    pub fn given_request_hook(&self) -> Option<&Py<PyAny>> {
        self.request_hook.as_ref()
    }

    /// `.prefix` as given, `repr`-quoted fragment `, prefix="p"` when set.
    pub fn repr_prefix(&self) -> String {
        match &self.prefix {
            Some(p) => format!(", prefix=\"{p}\""),
            None => String::new(),
        }
    }
}

/// A cloud store object: its settings and its lazily built client.
#[derive(Debug)]
pub struct CloudStore<B: CloudBackend> {
    /// The merged settings.
    pub core: CloudCore,
    client: LazyClient<B::Client>,
    /// The upload checksum of the store's settings (what `client` sends).
    upload: Option<Algorithm>,
    /// The clients of calls that ask for another upload checksum, by [`variant_index`], built
    /// on first use: the checksum is part of a client's configuration (S3 signs it; the
    /// connector adds GCS's and Azure's to every upload request of the client, a multipart
    /// upload's parts included, which carry no per-call options).
    variants: [LazyClient<B::Client>; 1 + Algorithm::ALL.len()],
    /// How errors name this store: `scheme://bucket/prefix`, and its bucket.
    label: Arc<StoreLabel>,
    /// What request hooks and logs learn of this store.
    observer: Arc<StoreObserver>,
}

/// The checksum policy of a store of backend `B` from its settings. A bad value is a
/// `ValueError` naming the setting.
fn checksum_policy<B: CloudBackend>(core: &CloudCore) -> Result<Policy, ObstoreError> {
    let bad = |key: &str, why: String| {
        ObstoreError::value(format!(
            "{}: {why}",
            <B::Family as StoreFamily>::public_name(key)
        ))
    };
    let verify = match core.effective(integrity::VERIFY_KEY) {
        Some(value) => integrity::parse_verify(value).map_err(|e| bad(integrity::VERIFY_KEY, e))?,
        None => true,
    };
    let upload = match core.effective(B::CLOUD.checksum_key) {
        Some(value) => integrity::parse_upload(B::CLOUD.integrity, value)
            .map_err(|e| bad(B::CLOUD.checksum_key, e))?,
        None => {
            let custom = B::CLOUD.custom_endpoint_keys.iter().any(|key| {
                core.effective(key)
                    .is_some_and(|v| !v.is_empty() && v != "false")
            });
            integrity::default_upload(B::CLOUD.integrity, custom)
        }
    };
    Ok(Policy {
        service: B::CLOUD.integrity,
        upload,
        verify,
    })
}

/// The place of the client that sends `upload` in [`CloudStore`]'s variants.
fn variant_index(upload: Option<Algorithm>) -> usize {
    match upload {
        None => 0,
        Some(algorithm) => {
            1 + Algorithm::ALL
                .iter()
                .position(|a| *a == algorithm)
                .unwrap_or_default()
        }
    }
}

impl<B: CloudBackend> CloudStore<B> {
    /// Validates the constructor arguments and builds the client once, so that a bad setting
    /// fails the constructor rather than the first request.
    pub fn new(args: CoreArgs<'_, '_>) -> PyResult<Self> {
        let core = CloudCore::new::<B>(args)?;
        let label = label::<B>(&core);
        let upload = checksum_policy::<B>(&core)?.upload;
        let store = Self {
            // Constructors run with the GIL held: `attach` only borrows it.
            observer: Python::attach(|py| {
                StoreObserver::new(py, label.url_of(None), core.request_hook.as_ref())
            }),
            label: Arc::new(label),
            core,
            client: LazyClient::default(),
            upload,
            variants: Default::default(),
        };
        let built = store.build(upload)?;
        Ok(Self {
            client: LazyClient::with(built),
            ..store
        })
    }

    /// A client from the store's settings whose uploads carry the checksum `upload`.
    fn build(&self, upload: Option<Algorithm>) -> Result<B::Client, ObstoreError> {
        let core = &self.core;
        let mut options = core.client_options()?;
        let allow_http = allows_http(&options);
        let policy = Policy {
            upload,
            ..checksum_policy::<B>(core)?
        };
        // The S3 checksums `object_store` sends itself, signed with the request.
        let s3_checksum = upload.filter(|a| B::CLOUD.integrity.sent_by_object_store(*a));
        if policy.verify && B::CLOUD.integrity == integrity::Service::S3 {
            // A default header is added before signing: S3 refuses unsigned `x-amz-*` headers.
            let mut headers = options.get_default_headers().cloned().unwrap_or_default();
            headers.insert(
                "x-amz-checksum-mode",
                http::HeaderValue::from_static("ENABLED"),
            );
            options = options.with_default_headers(headers);
        }
        let lanes = LaneConnector::new(
            core.settings.client.max_concurrent_requests(),
            core.settings.client.root_certificates()?,
        );
        let signer = policy
            .upload
            .filter(|a| !B::CLOUD.integrity.sent_by_object_store(*a))
            .and(B::CLOUD.upload_signer)
            .and_then(|signer| signer(core));
        let sigv4 = B::CLOUD.build_signed.map(|_| S3Signer::default());
        let connector =
            IntegrityConnector::new(SigningConnector::new(lanes, sigv4.clone()), policy)
                .with_signer(signer.clone());
        let mut builder = B::connect(options, connector);
        for (key, value) in core
            .env
            .store
            .iter()
            .map(|(k, v)| (k, v))
            .chain(core.settings.store.iter())
        {
            if key == B::CLOUD.checksum_key || key == integrity::VERIFY_KEY {
                continue;
            }
            builder = builder.with_setting(key, value)?;
        }
        if let Some(algorithm) = s3_checksum {
            builder = builder.with_setting(B::CLOUD.checksum_key, algorithm.name())?;
        }
        if let Some(retry) = &core.retry {
            builder = builder.with_retry_config(retry.to_object_store());
        }
        if let Some(provider) = &core.provider {
            builder = builder.with_provider(Arc::new(PyCredentialProvider::new(
                provider.clone(),
                B::CLOUD.label,
                B::CLOUD.convert,
            )));
        }
        if let Some(variable) = core.env.metadata_disabled {
            builder = (B::CLOUD.refuse_metadata)(builder, core.provider.is_some(), variable);
        }
        if let Some(with_defaults) = B::CLOUD.with_defaults {
            builder = with_defaults(builder, core);
        }
        if !allow_http {
            (B::CLOUD.check_http)(&builder)?;
        }
        match (B::CLOUD.build_signed, &sigv4) {
            (Some(build_signed), Some(sigv4)) => build_signed(builder, sigv4, signer.as_ref()),
            _ => builder.build_client(),
        }
    }

    /// The client of this process (built again after a fork).
    pub fn client(&self, py: Python<'_>) -> Result<Arc<B::Client>, ObstoreError> {
        self.core.note_loop(py);
        self.client.get(|| self.build(self.upload))
    }

    /// The handle of an upload whose requests carry the checksum `choice` asks for: the store's
    /// own client when that is the store's setting, else a client built for it once. An
    /// algorithm the service cannot take is a `ValueError` naming it.
    pub fn upload_store(
        &self,
        py: Python<'_>,
        choice: UploadChoice,
    ) -> Result<AnyStore, ObstoreError> {
        let upload = choice
            .resolve(B::CLOUD.integrity, self.upload)
            .map_err(ObstoreError::value)?;
        if upload == self.upload {
            return self.any_store(py);
        }
        self.core.note_loop(py);
        let client = self.variants[variant_index(upload)].get(|| self.build(upload))?;
        let inner = with_prefix(client, self.core.prefix_path.as_ref());
        Ok(AnyStore::for_call(py, inner, &self.label, &self.observer))
    }

    /// The handle operations use: the client below the prefix.
    pub fn any_store(&self, py: Python<'_>) -> Result<AnyStore, ObstoreError> {
        let inner = with_prefix(self.client(py)?, self.core.prefix_path.as_ref());
        Ok(AnyStore::for_call(py, inner, &self.label, &self.observer))
    }

    /// The store prefix, for signing.
    pub fn prefix_path(&self) -> Option<&Path> {
        self.core.prefix_path.as_ref()
    }

    /// `repr()` of a store of the class `name`: `S3Store(bucket="b", prefix="p")`.
    pub fn repr(&self, name: &str) -> String {
        let fields: Vec<String> = B::CLOUD
            .repr_keys
            .iter()
            .map(|key| {
                let value = self.core.effective(key).unwrap_or_default();
                format!(
                    "{}=\"{value}\"",
                    <B::Family as StoreFamily>::public_name(key)
                )
            })
            .collect();
        format!("{name}({}{})", fields.join(", "), self.core.repr_prefix())
    }
}

/// The label of a cloud store: `scheme://bucket/prefix`, its bucket identified by the settings
/// that tell services apart.
fn label<B: CloudBackend>(core: &CloudCore) -> StoreLabel {
    let bucket = core.effective(B::CLOUD.bucket_key).unwrap_or_default();
    let mut url = format!("{}://{bucket}", B::CLOUD.url_scheme);
    let mut key = url.clone();
    if let Some(prefix) = &core.prefix_path {
        url.push('/');
        url.push_str(prefix.as_ref());
    }
    for setting in B::CLOUD.service_keys {
        key.push('|');
        key.push_str(core.effective(setting).unwrap_or_default());
    }
    StoreLabel::new(url).with_bucket(BucketLabel {
        noun: B::CLOUD.bucket_noun,
        name: bucket.to_string(),
        key,
    })
}

/// The arguments of a cloud store's `from_url`, besides the URL.
pub struct FromUrlArgs<'py> {
    /// `config=`.
    pub config: Option<Bound<'py, PyAny>>,
    /// `client_options=`.
    pub client_options: Option<Bound<'py, PyAny>>,
    /// `retry_config=`.
    pub retry_config: Option<Bound<'py, PyAny>>,
    /// `credential_provider=`.
    pub credential_provider: Option<Bound<'py, PyAny>>,
    /// `**kwargs`.
    pub kwargs: Option<Bound<'py, PyDict>>,
}

/// The body of every cloud `from_url`: a `prefix` keyword is rejected (the URL path is the
/// prefix), the URL is parsed, its settings are merged under `config`, and `cls(...)` is called
/// so that Python subclasses are preserved.
pub fn call_from_url<'py, B: CloudBackend>(
    cls: &Bound<'py, PyType>,
    url: &str,
    args: FromUrlArgs<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    if args
        .kwargs
        .as_ref()
        .is_some_and(|k| k.contains("prefix").unwrap_or(false))
    {
        parse_key::<B::Family>("prefix")?;
    }
    let (settings, prefix) = (B::CLOUD.parse_url)(url)?;
    let call_kwargs = match &args.kwargs {
        Some(k) => k.copy()?,
        None => PyDict::new(py),
    };
    call_kwargs.set_item("prefix", prefix)?;
    call_kwargs.set_item(
        "config",
        merge_url_settings::<B::Family>(py, args.config.as_ref(), &settings)?,
    )?;
    call_kwargs.set_item("client_options", args.client_options)?;
    call_kwargs.set_item("retry_config", args.retry_config)?;
    call_kwargs.set_item("credential_provider", args.credential_provider)?;
    cls.call((), Some(&call_kwargs))
}

/// Defines the Python class `$class` (named `$name` in `obstore._store`) over
/// `CloudStore<$backend>` (`$backend` the cloud's builder), with the class docstring and the
/// methods every cloud store has; `$positional` names the positional constructor argument
/// (`bucket`, `container_name`).
macro_rules! cloud_store_class {
    // `$name` is a `tt`: `pydoc!` matches the class name, which a forwarded `literal` hides.
    ($class:ident, $name:tt, $backend:ty, $positional:ident) => {
        #[doc = $crate::pydoc!($name)]
        #[pyo3::pyclass(name = $name, module = "obstore._store", subclass, frozen)]
        #[derive(Debug)]
        pub struct $class(pub $crate::stores::cloud::CloudStore<$backend>);

        #[pyo3::pymethods]
        impl $class {
            #[new]
            #[pyo3(signature = ($positional=None, *, prefix=None, config=None, client_options=None, retry_config=None, credential_provider=None, request_hook=None, **kwargs))]
            #[allow(clippy::too_many_arguments)]
            fn new(
                $positional: Option<pyo3::Bound<'_, pyo3::PyAny>>,
                prefix: Option<String>,
                config: Option<pyo3::Bound<'_, pyo3::PyAny>>,
                client_options: Option<pyo3::Bound<'_, pyo3::PyAny>>,
                retry_config: Option<pyo3::Bound<'_, pyo3::PyAny>>,
                credential_provider: Option<pyo3::Bound<'_, pyo3::PyAny>>,
                request_hook: Option<pyo3::Bound<'_, pyo3::PyAny>>,
                kwargs: Option<pyo3::Bound<'_, pyo3::types::PyDict>>,
            ) -> pyo3::PyResult<Self> {
                $crate::stores::cloud::CloudStore::new($crate::stores::cloud::CoreArgs {
                    positional: $positional.as_ref().map(|v| (stringify!($positional), v)),
                    prefix,
                    config: config.as_ref(),
                    client_options: client_options.as_ref(),
                    retry_config: retry_config.as_ref(),
                    credential_provider: credential_provider.as_ref(),
                    request_hook: request_hook.as_ref(),
                    kwargs: kwargs.as_ref(),
                })
                .map(Self)
            }

            #[doc = $crate::pydoc!($name.from_url)]
            #[classmethod]
            #[pyo3(signature = (url, *, config=None, client_options=None, retry_config=None, credential_provider=None, **kwargs))]
            #[allow(clippy::too_many_arguments)]
            fn from_url<'py>(
                cls: &pyo3::Bound<'py, pyo3::types::PyType>,
                url: &str,
                config: Option<pyo3::Bound<'py, pyo3::PyAny>>,
                client_options: Option<pyo3::Bound<'py, pyo3::PyAny>>,
                retry_config: Option<pyo3::Bound<'py, pyo3::PyAny>>,
                credential_provider: Option<pyo3::Bound<'py, pyo3::PyAny>>,
                kwargs: Option<pyo3::Bound<'py, pyo3::types::PyDict>>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::PyAny>> {
                let args = $crate::stores::cloud::FromUrlArgs {
                    config,
                    client_options,
                    retry_config,
                    credential_provider,
                    kwargs,
                };
                $crate::stores::cloud::call_from_url::<$backend>(cls, url, args)
            }

            #[doc = $crate::pydoc!($name.prefix)]
            #[getter]
            fn prefix(&self) -> Option<String> {
                self.0.core.prefix.clone()
            }

            #[doc = $crate::pydoc!($name.config)]
            #[getter]
            fn config<'py>(
                &self,
                py: pyo3::Python<'py>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::types::PyDict>> {
                self.0
                    .core
                    .settings
                    .public_dict::<<$backend as $crate::stores::cloud::CloudBackend>::Family>(py)
            }

            #[doc = $crate::pydoc!($name.client_options)]
            #[getter]
            fn client_options(&self) -> Option<$crate::config::AsDict<'_, $crate::config::client::ClientConfig>> {
                self.0.core.given_client_options()
            }

            #[doc = $crate::pydoc!($name.retry_config)]
            #[getter]
            fn retry_config(&self) -> Option<$crate::config::AsDict<'_, $crate::config::retry::PyRetryConfig>> {
                self.0.core.given_retry_config()
            }

            #[doc = $crate::pydoc!($name.request_hook)]
            #[getter]
            fn request_hook(&self) -> Option<&pyo3::Py<pyo3::PyAny>> {
                self.0.core.given_request_hook()
            }

            #[doc = $crate::pydoc!($name.credential_provider)]
            #[getter]
            fn credential_provider(&self) -> Option<&pyo3::Py<pyo3::PyAny>> {
                self.0.core.given_credential_provider()
            }

            #[doc = $crate::pydoc!($name.__getnewargs_ex__)]
            fn __getnewargs_ex__<'py>(
                &self,
                py: pyo3::Python<'py>,
            ) -> pyo3::PyResult<$crate::stores::NewArgs<'py>> {
                self.0.core.getnewargs(py)
            }

            fn __eq__(&self, other: &pyo3::Bound<'_, pyo3::PyAny>) -> bool {
                match other.cast::<$class>() {
                    Ok(other) => self.0.core.equals(&other.get().0.core, other.py()),
                    Err(_) => false,
                }
            }

            fn __repr__(slf: &pyo3::Bound<'_, Self>) -> pyo3::PyResult<String> {
                use pyo3::types::{PyAnyMethods, PyTypeMethods};
                Ok(slf.get().0.repr(&slf.get_type().name()?.to_string()))
            }
        }
    };
}

pub(crate) use cloud_store_class;
