//! The issuer's metadata, until wallet-core's signed-metadata client lands (same shape).

use did_method::PublicKey;
use serde_json::Value;
use wallet_core::{Net, WalletError};

pub struct IssuerMetadata {
    pub json: Value,
}

impl IssuerMetadata {
    pub fn issuer_did(&self) -> Option<String> {
        None
    }
    pub fn signing_kid(&self) -> Option<String> {
        None
    }
    pub fn verify_signature(&self, _key: &PublicKey) -> bool {
        false
    }
}

pub async fn issuer_metadata(net: &Net, issuer: &str) -> Result<IssuerMetadata, WalletError> {
    let url = format!(
        "{}/.well-known/openid-credential-issuer",
        issuer.trim_end_matches('/')
    );
    let resp = net
        .http()
        .get(&url)
        .send()
        .await
        .map_err(|e| WalletError::Network {
            url: url.clone(),
            message: e.to_string(),
        })?;
    let json: Value = resp
        .json()
        .await
        .map_err(|e| WalletError::BadResponse(format!("{url}: {e}")))?;
    Ok(IssuerMetadata { json })
}
