//! Presentations: a Data Integrity presentation of W3C credentials, signed by the holder's
//! did:key for the verifier's challenge and domain; or an SD-JWT VC with the chosen claims
//! disclosed and a key-binding JWT for the verifier's nonce and audience.

use did_method::SecretKey;
use serde_json::{Value, json};
use verifier_lib::dids;
use verifier_lib::rdfc::{ProofOptions, Rdfc2022};

use crate::WalletError;

fn rfc3339(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// A `VerifiablePresentation` of `credentials`, signed by `key` (whose did:key is the holder).
pub fn data_integrity(
    rdfc: &Rdfc2022,
    credentials: &[Value],
    key: &SecretKey,
    challenge: &str,
    domain: &str,
    now_ms: u64,
) -> Result<Value, WalletError> {
    let (holder, vm) = dids::did_key(&key.public_key());
    let vp = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": credentials,
    });
    let opts = ProofOptions {
        verification_method: vm,
        proof_purpose: "authentication".into(),
        created: rfc3339(now_ms),
        challenge: Some(challenge.into()),
        domain: Some(domain.into()),
        nonce: None,
    };
    rdfc.sign(&vp, key, &opts)
        .map_err(|e| WalletError::Other(format!("signing the presentation: {e}")))
}

/// An SD-JWT VC presentation disclosing only `reveal` (top-level claim names), bound to
/// `key` (the credential's `cnf` key) for `aud` and `nonce`.
pub fn sd_jwt(
    credential: &str,
    reveal: Option<&[&str]>,
    key: &SecretKey,
    aud: &str,
    nonce: &str,
    now_ms: u64,
) -> Result<String, WalletError> {
    verifier_lib::sdjwt::present(credential, reveal, key, aud, nonce, now_ms / 1000)
        .map_err(|e| WalletError::Other(e.to_string()))
}
