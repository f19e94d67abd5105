//! The issuer's logic, behind the HTTP layer, one concern a file:
//!
//! - [`types`]: credential types (the OpenID4VCI configurations);
//! - [`metadata`]: the documents that announce the issuer (credential issuer metadata, plain
//!   or signed by the issuer's DID; authorization server metadata);
//! - [`offers`]: offers, their pre-authorized codes and transaction codes, their links;
//! - [`token`]: the token endpoint (redeeming a code) and the nonce endpoint;
//! - [`credential`]: the credential endpoint (access token, key proofs, batch, recording);
//! - [`build`]: building and signing credentials in both formats, and the VC-API issue;
//! - [`status`]: status indices and the lists they live in (random, rolled over when full);
//! - [`publish`]: revocation and suspension, signing and anchoring the lists, serving them;
//! - [`admin`]: the issued-credentials record, key rotation, admin API keys.
//!
//! The database is reached only through [`crate::store`]'s named statements.

mod admin;
mod build;
mod credential;
mod error;
mod metadata;
mod offers;
mod publish;
mod status;
mod token;
mod types;

#[cfg(test)]
pub(crate) mod testing;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use did_method::SecretKey;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use verifier_lib::contexts::PinnedContexts;
use verifier_lib::rdfc::Rdfc2022;

use crate::config::IssuerConfig;
use crate::store::Store;

pub use error::{IssueError, StartError};
pub use metadata::SIGNED_METADATA_TYP;
pub use offers::CreatedOffer;
pub use status::{TOKEN_LIST, is_token_list, list_id};
pub use types::{CredentialType, FORMAT_DI, FORMAT_SD_JWT};

/// The OpenID4VCI grant this issuer supports.
const PRE_AUTH_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

pub struct Issuer {
    /// The configuration as loaded at start (after a live key rotation, the signing key
    /// and its verification method are [`Issuer::signer`]'s, and the file on disk).
    pub config: IssuerConfig,
    pub store: Store,
    signer: std::sync::RwLock<Arc<Signer>>,
    /// Key of the MAC on `c_nonce` values, derived from the signing key at start (a key
    /// rotation does not invalidate nonces in flight).
    nonce_key: zeroize::Zeroizing<[u8; 32]>,
    /// Where and how to seal a new key when rotating while serving (`serve` sets it).
    live_rotation: std::sync::OnceLock<LiveRotation>,
    pub did: String,
    rdfc: Rdfc2022,
    registry: Option<registry_client::RegistryClient>,
    /// One status publication at a time (anchor sequences stay in order).
    publish: tokio::sync::Mutex<()>,
    /// The number of the status lists new credentials go to (0, 1, …): when it is nearly
    /// full, the next is opened.
    open_list: std::sync::atomic::AtomicI64,
    /// How many credentials this process knows the open list holds (counted at start and
    /// when a list opens, then kept up to date); the next list opens at
    /// [`status::ROLLOVER_PERCENT`].
    open_count: std::sync::atomic::AtomicI64,
}

/// The key the issuer signs with now, and its verification method: read together, so a
/// credential is never signed by one key and labelled with another.
pub struct Signer {
    key: SecretKey,
    verification_method: String,
}

impl Signer {
    pub fn verification_method(&self) -> &str {
        &self.verification_method
    }
}

struct LiveRotation {
    dir: std::path::PathBuf,
    passphrase: zeroize::Zeroizing<String>,
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn random_token(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

fn random_digits(n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + (OsRng.next_u32() % 10) as u8))
        .collect()
}

pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Percent-encodes a query value.
fn query_value(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl Issuer {
    pub async fn new(config: IssuerConfig, key: SecretKey) -> Result<Arc<Self>, StartError> {
        registry_client::https::require_tls_or_loopback(
            "the issuer URL (issuerUrl in config.json)",
            &config.issuer_url,
        )?;
        let store = Store::open(&config.database_url).await?;
        let registry = match &config.registry_api {
            Some(api) => Some(registry_client::RegistryClient::with_trust(
                api,
                &config.trust(),
            )?),
            None => None,
        };
        let did = config.did.clone();
        let nonce_key = zeroize::Zeroizing::new(
            Sha256::new()
                .chain_update(b"alliance-issuer/nonce/v1\0")
                .chain_update(key.to_seed_bytes())
                .finalize()
                .into(),
        );
        let issuer = Arc::new(Self {
            rdfc: Rdfc2022::new(PinnedContexts::standard()),
            store,
            signer: std::sync::RwLock::new(Arc::new(Signer {
                key,
                verification_method: config.verification_method.clone(),
            })),
            nonce_key,
            live_rotation: std::sync::OnceLock::new(),
            did,
            registry,
            publish: tokio::sync::Mutex::new(()),
            open_list: std::sync::atomic::AtomicI64::new(0),
            open_count: std::sync::atomic::AtomicI64::new(0),
            config,
        });
        issuer.ensure_status_lists().await?;
        Ok(issuer)
    }

    /// The key the issuer signs with now.
    pub fn signer(&self) -> Arc<Signer> {
        self.signer
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Signs with `key`, the verification method `verification_method`, from the next
    /// credential, status list and metadata on (after a live rotation).
    fn use_signer(&self, key: SecretKey, verification_method: String) {
        *self
            .signer
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(Signer {
            key,
            verification_method,
        });
    }

    /// Lets `POST /admin/keys/rotate` rotate the key while serving: new keys are sealed
    /// with `passphrase` into `dir`, and the configuration there is updated.
    pub fn enable_live_rotation(
        &self,
        dir: std::path::PathBuf,
        passphrase: zeroize::Zeroizing<String>,
    ) {
        let _ = self.live_rotation.set(LiveRotation { dir, passphrase });
    }

    pub fn status_url(&self, purpose: &str) -> String {
        format!("{}/status/{purpose}", self.config.issuer_url)
    }
}
