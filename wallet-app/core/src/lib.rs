//! # wallet-core: the holder side of Alliance ID
//!
//! What a citizen's wallet does, without its user interface or storage: receive credentials
//! from an agency over OpenID4VCI 1.0 (pre-authorized code with a transaction code, JWT proof
//! of possession) ([`oid4vci`]); build presentations (Data Integrity presentations, SD-JWT VC
//! with selective disclosure and key binding) ([`present`]); staple to them, while online,
//! the registry proofs and status lists a verifier needs to decide offline ([`staple`], on
//! `evidence-fetch`); and answer a business's OpenID4VP request after proving who asks and
//! its registration as a relying party ([`oid4vp`]).
//!
//! It is not a wallet application: it holds no key store and no credential store, and every
//! function takes the keys and credentials it works on from its caller. Three callers exist
//! today: `alliance-wallet` (`src/bin`), a command-line holder for desks, scripts and the
//! demo, which keeps keys and credentials in plain files (a key file written owner-only);
//! the desktop wallet (`wallet-app/desktop`), which adds what a citizen's wallet needs on
//! top (keys in the OS keyring, credentials in an encrypted store, backups); and the
//! end-to-end tests.

#![forbid(unsafe_code)]

use std::time::Duration;

pub use registry_client::Trust;
use registry_client::https;

pub mod oid4vci;
pub mod oid4vp;
pub mod present;
pub mod staple;

/// How long one request to an issuer or a registry node may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The wallet's connection to the network: one HTTPS client (the platform's verifier,
/// Mozilla's roots and the CA files of [`Trust`]) shared by every request.
#[derive(Clone)]
pub struct Net {
    http: reqwest::Client,
    trust: Trust,
}

impl Net {
    pub fn new(trust: &Trust) -> Result<Self, WalletError> {
        Ok(Self {
            http: trust.client(REQUEST_TIMEOUT)?,
            trust: trust.clone(),
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A registry client sharing this connection.
    pub fn registry(&self, api: &str) -> Result<registry_client::RegistryClient, WalletError> {
        registry_client::RegistryClient::with_http(api, self.http.clone()).map_err(|e| {
            WalletError::Network {
                url: api.to_owned(),
                message: e.to_string(),
            }
        })
    }

    pub fn trust(&self) -> &Trust {
        &self.trust
    }
}

/// Why a wallet operation failed, in words for the citizen's support desk.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("the offer is not valid: {0}")]
    BadOffer(String),
    #[error("cannot reach {url}: {message}")]
    Network { url: String, message: String },
    #[error("the issuer refused: {code}: {description}")]
    Refused { code: String, description: String },
    #[error("the issuer's answer is not valid: {0}")]
    BadResponse(String),
    #[error("the business's request is not valid: {0}")]
    BadRequest(String),
    #[error(transparent)]
    Https(#[from] https::HttpsError),
    #[error("{0}")]
    Other(String),
}

impl WalletError {
    fn network(url: &str, e: &reqwest::Error) -> Self {
        Self::Network {
            url: url.to_owned(),
            message: https::describe(e),
        }
    }
}

/// A response's body, at most `max` bytes ([`https::read_bounded`]).
pub(crate) async fn read_bounded(
    resp: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, WalletError> {
    https::read_bounded(resp, max).await.map_err(|e| match e {
        https::BodyError::Read { url, source } => WalletError::network(&url, &source),
        too_large => WalletError::BadResponse(too_large.to_string()),
    })
}
