//! What a verifier accepts: trust anchor and evidence age, credential types, accreditation,
//! status, challenge / domain / nonce / audience, and clock skew. Readable from a JSON file.

use serde::{Deserialize, Serialize};

use crate::registry::RegistryPolicy;

/// A verifier's policy. The defaults are strict: holder binding, accreditation and a
/// registry-anchored status list are required, status lists older than a day and registry
/// proofs older than a day are refused, and 60 s of clock skew is tolerated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Policy {
    /// Credential types accepted (beyond `VerifiableCredential`); empty: any type.
    pub accepted_types: Vec<String>,
    /// The issuer must be accredited in the registry for the credential's type.
    pub require_accreditation: bool,
    /// A credential's subject must be the presentation's signer (or `cnf` key holder).
    pub require_holder_binding: bool,
    /// A credential without a status entry is refused.
    pub require_status: bool,
    /// A status list must be anchored in the registry.
    pub require_status_anchor: bool,
    /// Oldest status list accepted (its `validFrom`), in seconds.
    pub max_status_age_s: u64,
    /// Oldest registry proof accepted (its block time), in seconds.
    pub max_proof_age_s: u64,
    /// Tolerated clock difference, in seconds.
    pub clock_skew_s: u64,
    /// Expected presentation challenge (Data Integrity) or nonce (SD-JWT key binding).
    pub challenge: Option<String>,
    /// Expected presentation domain (Data Integrity) or audience (SD-JWT key binding).
    pub domain: Option<String>,
    /// Oldest key-binding JWT accepted (`iat`), in seconds.
    pub max_key_binding_age_s: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            accepted_types: vec![],
            require_accreditation: true,
            require_holder_binding: true,
            require_status: false,
            require_status_anchor: true,
            max_status_age_s: 24 * 3600,
            max_proof_age_s: 24 * 3600,
            clock_skew_s: 60,
            challenge: None,
            domain: None,
            max_key_binding_age_s: 300,
        }
    }
}

/// A policy file that cannot be read: not JSON, an unknown field, a value of the wrong type.
#[derive(Debug, thiserror::Error)]
#[error("policy: {0}")]
pub struct PolicyError(#[from] serde_json::Error);

impl Policy {
    /// Reads a policy file (JSON; unknown fields are an error, missing ones take defaults).
    pub fn from_json(text: &str) -> Result<Self, PolicyError> {
        Ok(serde_json::from_str(text)?)
    }

    /// The registry part of the policy, given the trust anchor.
    pub fn registry(&self, anchor: did_method::TrustAnchor) -> RegistryPolicy {
        RegistryPolicy {
            anchor,
            max_proof_age_ms: self.max_proof_age_s.saturating_mul(1000),
            clock_skew_ms: self.clock_skew_s.saturating_mul(1000),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_file_fills_defaults_and_refuses_unknown_fields() {
        let p =
            Policy::from_json(r#"{"challenge":"c-1","acceptedTypes":["DriverLicense"]}"#).unwrap();
        assert_eq!(p.challenge.as_deref(), Some("c-1"));
        assert!(p.require_accreditation);
        assert!(
            Policy::from_json(r#"{"chalenge":"typo"}"#)
                .unwrap_err()
                .to_string()
                .starts_with("policy: unknown field `chalenge`")
        );
    }
}
