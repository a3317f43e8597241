//! `AzureStore`: Azure Blob Storage, ADLS Gen2 and Microsoft Fabric OneLake.

use std::sync::Arc;
use std::time::Duration;

use object_store::azure::{
    split_sas, AzureAccessKey, AzureConfigKey, AzureCredential, MicrosoftAzure,
    MicrosoftAzureBuilder,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use super::cloud::{cloud_backend, cloud_store_class, Cloud, CloudCore};
use super::credential::{check_credential, required_str, MetadataDisabled};
use crate::config::families::AzureFamily;
use crate::config::{bad_url, is_truthy, refuse_plain_http, url_prefix, UrlSettings};
use crate::error::ObstoreError;
use crate::integrity;

fn convert_credential(result: &Bound<'_, PyAny>) -> PyResult<AzureCredential> {
    if let Ok(key) = result.get_item("access_key") {
        let key: String = key.extract()?;
        let key = AzureAccessKey::try_new(&key)
            .map_err(|err| PyValueError::new_err(format!("invalid access_key: {err}")))?;
        return Ok(AzureCredential::AccessKey(key));
    }
    if let Ok(sas) = result.get_item("sas_token") {
        let pairs = match sas.cast::<PyString>() {
            Ok(text) => {
                let text = text.to_str()?;
                check_credential("sas_token", text)?;
                split_sas(text)
                    .map_err(|err| PyValueError::new_err(format!("invalid sas_token: {err}")))?
            }
            Err(_) => sas.extract::<Vec<(String, String)>>()?,
        };
        for (name, value) in &pairs {
            check_credential("sas_token", name)?;
            check_credential("sas_token", value)?;
        }
        return Ok(AzureCredential::SASToken(pairs));
    }
    if result.get_item("token").is_ok() {
        return Ok(AzureCredential::BearerToken(required_str(result, "token")?));
    }
    Err(pyo3::exceptions::PyKeyError::new_err(
        "expected one of 'access_key', 'sas_token' or 'token'",
    ))
}

fn no_dot<'a>(url: &str, what: &str, name: &'a str) -> PyResult<&'a str> {
    if name.is_empty() || name.contains('.') {
        return Err(bad_url(
            url,
            format!("\"{name}\" is not a valid {what} name"),
        ));
    }
    Ok(name)
}

fn parse_azure_url(url: &str) -> PyResult<UrlSettings> {
    let parsed = url::Url::parse(url).map_err(|err| bad_url(url, err))?;
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad_url(url, "it has no container or account (host) part"))?;
    let first_segment = parsed
        .path_segments()
        .and_then(|mut s| s.find(|s| !s.is_empty()).map(str::to_string));
    let mut settings: Vec<(&'static str, String)> = Vec::new();
    let mut skip = 0;
    let account_host = |settings: &mut Vec<(&'static str, String)>, host: &str| -> PyResult<()> {
        if let Some((workspace, rest)) = host.split_once('.') {
            if rest.starts_with('z') && rest.ends_with("fabric.microsoft.com") {
                let zone = rest.split_once('.').map_or(rest, |(z, _)| z);
                settings.push(("azure_storage_account_name", format!("{workspace}.{zone}")));
                settings.push(("azure_storage_endpoint", format!("https://{host}")));
                settings.push(("azure_use_fabric_endpoint", "true".into()));
                return Ok(());
            }
            match rest {
                "dfs.core.windows.net" | "blob.core.windows.net" => {
                    settings.push((
                        "azure_storage_account_name",
                        no_dot(url, "account", workspace)?.into(),
                    ));
                    return Ok(());
                }
                "dfs.fabric.microsoft.com" | "blob.fabric.microsoft.com" => {
                    settings.push((
                        "azure_storage_account_name",
                        no_dot(url, "account", workspace)?.into(),
                    ));
                    settings.push(("azure_use_fabric_endpoint", "true".into()));
                    return Ok(());
                }
                _ => {}
            }
        }
        Err(bad_url(
            url,
            "the host must be <account>.{blob,dfs}.core.windows.net or <account>.{blob,dfs}.fabric.microsoft.com",
        ))
    };
    match parsed.scheme() {
        "adl" | "azure" => {
            settings.push((
                "azure_container_name",
                no_dot(url, "container", host)?.into(),
            ));
        }
        "az" | "abfs" | "abfss" => {
            if parsed.username().is_empty() {
                settings.push((
                    "azure_container_name",
                    no_dot(url, "container", host)?.into(),
                ));
            } else {
                account_host(&mut settings, host)?;
                settings.push((
                    "azure_container_name",
                    no_dot(url, "container", parsed.username())?.into(),
                ));
            }
        }
        "https" => {
            account_host(&mut settings, host)?;
            if let Some(container) = first_segment {
                settings.push(("azure_container_name", container));
                skip = 1;
            }
        }
        other => {
            return Err(bad_url(
                url,
                format!(
                "scheme \"{other}\" is not an Azure scheme (az, adl, azure, abfs, abfss, https)"
            ),
            ))
        }
    }
    if let Some(sas) = parsed.query().filter(|q| !q.is_empty()) {
        // A URL copied from the portal or from a signing tool carries its SAS token as the query.
        if !parsed.query_pairs().any(|(name, _)| name == "sig") {
            return Err(bad_url(
                url,
                "its query string is not a SAS token (it has no sig parameter)",
            ));
        }
        settings.push(("azure_storage_sas_key", sas.to_string()));
    }
    Ok((settings, url_prefix(&parsed, skip)?))
}

/// The well-known account key of Azurite and the Azure Storage Emulator, which the builder signs
/// with when `use_emulator` is on and no credential is given.
const EMULATOR_ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// What differs between Azure and the other clouds.
const AZURE: Cloud<MicrosoftAzureBuilder> = Cloud {
    label: "Azure",
    url_scheme: "az",
    bucket_noun: "container",
    bucket_key: "azure_container_name",
    service_keys: &["azure_storage_account_name", "azure_storage_endpoint"],
    repr_keys: &["azure_container_name", "azure_storage_account_name"],
    provider_config: true,
    provider_prefix: true,
    refresh_threshold: Duration::from_secs(5 * 60),
    convert: convert_credential,
    integrity: integrity::Service::Azure,
    checksum_key: integrity::ALGORITHM_KEY,
    custom_endpoint_keys: &["azure_storage_endpoint", "azure_storage_use_emulator"],
    parse_url: parse_azure_url,
    refuse_metadata,
    check_http,
    with_defaults: None,
    upload_signer: Some(upload_signer),
    build_signed: None,
};

/// Azure's [`Cloud::refuse_metadata`].
fn refuse_metadata(
    builder: MicrosoftAzureBuilder,
    has_provider: bool,
    variable: &str,
) -> MicrosoftAzureBuilder {
    // The order of `MicrosoftAzureBuilder::build` with credential_type "auto": Fabric, a
    // bearer token, an access key, workload identity, a client secret, a SAS, the Azure CLI,
    // and only then managed identity (the metadata service); the emulator has fixed keys.
    let get = |key: AzureConfigKey| builder.get_config_value(&key);
    let set = |key: AzureConfigKey| get(key).is_some();
    let on = |key: AzureConfigKey| get(key).is_some_and(|v| is_truthy(&v));
    let managed_identity = match get(AzureConfigKey::CredentialType).as_deref() {
        None | Some("auto") => {
            let fabric = set(AzureConfigKey::FabricTokenServiceUrl)
                && set(AzureConfigKey::FabricWorkloadHost)
                && set(AzureConfigKey::FabricSessionToken)
                && set(AzureConfigKey::FabricClusterIdentifier);
            let client = set(AzureConfigKey::ClientId) && set(AzureConfigKey::AuthorityId);
            !(fabric
                || set(AzureConfigKey::Token)
                || set(AzureConfigKey::AccessKey)
                || (client && set(AzureConfigKey::FederatedTokenFile))
                || (client && set(AzureConfigKey::ClientSecret))
                || set(AzureConfigKey::SasKey)
                || on(AzureConfigKey::UseAzureCli))
        }
        Some(kind) => kind == "managed_identity",
    };
    if has_provider || on(AzureConfigKey::UseEmulator) || !managed_identity {
        return builder;
    }
    builder.with_credentials(Arc::new(MetadataDisabled::new(
        "Azure",
        variable,
        "pass account_key, sas_key, bearer_token, client_id with client_secret and \
         tenant_id, a credential_provider, or skip_signature=True for anonymous access",
    )))
}

/// Azure's [`Cloud::check_http`]: the endpoint, unless it is the emulator's.
fn check_http(builder: &MicrosoftAzureBuilder) -> Result<(), ObstoreError> {
    // The emulator is plain HTTP by design.
    let emulator = builder
        .get_config_value(&AzureConfigKey::UseEmulator)
        .is_some_and(|v| is_truthy(&v));
    if !emulator {
        let endpoint = builder.get_config_value(&AzureConfigKey::Endpoint);
        refuse_plain_http("The Azure endpoint", endpoint)?;
    }
    Ok(())
}

/// Azure's [`Cloud::upload_signer`].
fn upload_signer(core: &CloudCore) -> Option<integrity::UploadSigner> {
    // The static key the builder signs with: the configured one, else the emulator's. A
    // credential provider's key replaces it (except on the emulator, whose credentials come
    // from the settings alone), and may change: its requests are not signed again.
    let emulator = core
        .effective("azure_storage_use_emulator")
        .is_some_and(is_truthy);
    if core.provider.is_some() && !emulator {
        return None;
    }
    let key = match core.effective("azure_storage_account_key") {
        Some(key) => integrity::SharedKey::from_base64(key),
        None if emulator => integrity::SharedKey::from_base64(EMULATOR_ACCOUNT_KEY),
        None => None,
    };
    key.map(integrity::UploadSigner::Azure)
}

cloud_backend!(
    MicrosoftAzureBuilder,
    AzureFamily,
    MicrosoftAzure,
    AzureCredential,
    AZURE
);
cloud_store_class!(
    PyAzureStore,
    "AzureStore",
    MicrosoftAzureBuilder,
    container_name
);
