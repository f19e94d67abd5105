//! Credential types (the OpenID4VCI credential configurations an agency defines) and the
//! metadata documents that announce them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use verifier_lib::contexts::ALLIANCE_CREDENTIALS_V1;

use super::{IssueError, Issuer, PRE_AUTH_GRANT};

/// W3C VC 2.0 with Data Integrity `eddsa-rdfc-2022`.
pub const FORMAT_DI: &str = "ldp_vc";
/// IETF SD-JWT VC.
pub const FORMAT_SD_JWT: &str = "dc+sd-jwt";

/// A credential type the agency issues (one OpenID4VCI credential configuration).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialType {
    /// Configuration id, e.g. `DriverLicense`.
    pub id: String,
    /// `ldp_vc` (W3C VC 2.0 + eddsa-rdfc-2022) or `dc+sd-jwt` (IETF SD-JWT VC).
    pub format: String,
    /// The VC type (`ldp_vc`) or `vct` (`dc+sd-jwt`) — also what the issuer is accredited for.
    pub credential_type: String,
    /// The claim names every credential of this type carries.
    pub claims: Vec<String>,
    /// Validity period of an issued credential, in days.
    pub validity_days: u64,
    /// Display name.
    pub name: String,
}

impl CredentialType {
    fn validate(&self) -> Result<(), IssueError> {
        let bad = |m: String| Err(IssueError::new(400, "invalid_request", m));
        if self.id.is_empty()
            || !self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        {
            return bad("id must be letters, digits, '_', '-' or '.'".into());
        }
        if self.format != FORMAT_DI && self.format != FORMAT_SD_JWT {
            return bad(format!("format must be {FORMAT_DI} or {FORMAT_SD_JWT}"));
        }
        if self.credential_type.is_empty() || self.credential_type == "VerifiableCredential" {
            return bad("credentialType must name the specific type".into());
        }
        const RESERVED: [&str; 12] = [
            "id", "iss", "vct", "iat", "exp", "nbf", "cnf", "sub", "status", "_sd", "_sd_alg",
            "type",
        ];
        if let Some(c) = self
            .claims
            .iter()
            .find(|c| c.is_empty() || RESERVED.contains(&c.as_str()) || c.starts_with('@'))
        {
            return bad(format!("claim name {c:?} is reserved"));
        }
        if self.validity_days == 0 || self.validity_days > 36_500 {
            return bad("validityDays must be 1..=36500".into());
        }
        Ok(())
    }
}

impl Issuer {
    /// Defines a credential type, or replaces its definition (credentials already issued
    /// keep theirs).
    pub async fn define_type(&self, actor: &str, t: CredentialType) -> Result<(), IssueError> {
        t.validate()?;
        let def = serde_json::to_string(&t)
            .map_err(|e| IssueError::new(400, "invalid_request", e.to_string()))?;
        let exists = self.store.save_credential_type(&t.id, &def).await?;
        self.store
            .audit(
                actor,
                if exists {
                    "credential_type.update"
                } else {
                    "credential_type.define"
                },
                &t.id,
                &serde_json::to_value(&t).unwrap_or_default(),
            )
            .await?;
        Ok(())
    }

    pub async fn types(&self) -> Result<Vec<CredentialType>, IssueError> {
        Ok(self
            .store
            .credential_types()
            .await?
            .iter()
            .filter_map(|d| serde_json::from_str(d).ok())
            .collect())
    }

    pub async fn get_type(&self, id: &str) -> Result<CredentialType, IssueError> {
        let def = self.store.credential_type(id).await?.ok_or_else(|| {
            IssueError::new(
                400,
                "unknown_credential_configuration",
                format!("no credential type {id}"),
            )
        })?;
        serde_json::from_str(&def).map_err(|e| IssueError::new(500, "server_error", e.to_string()))
    }

    /// The credential issuer metadata (`/.well-known/openid-credential-issuer`).
    pub async fn metadata(&self) -> Result<Value, IssueError> {
        let base = &self.config.issuer_url;
        let mut configs = Map::new();
        for t in self.types().await? {
            let claims: Vec<Value> = t
                .claims
                .iter()
                .map(|c| {
                    let path = if t.format == FORMAT_DI {
                        json!(["credentialSubject", c])
                    } else {
                        json!([c])
                    };
                    json!({"path": path, "mandatory": true})
                })
                .collect();
            let mut c = json!({
                "format": t.format,
                "scope": t.id,
                "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["EdDSA"]}},
                "credential_metadata": {"display": [{"name": t.name, "locale": "en"}], "claims": claims},
            });
            if t.format == FORMAT_DI {
                c["cryptographic_binding_methods_supported"] = json!(["did:key", "did:jwk"]);
                c["credential_signing_alg_values_supported"] = json!(["eddsa-rdfc-2022"]);
                c["credential_definition"] = json!({
                    "@context": ["https://www.w3.org/ns/credentials/v2", ALLIANCE_CREDENTIALS_V1],
                    "type": ["VerifiableCredential", t.credential_type],
                });
            } else {
                c["cryptographic_binding_methods_supported"] = json!(["jwk"]);
                c["credential_signing_alg_values_supported"] = json!(["EdDSA"]);
                c["vct"] = json!(t.credential_type);
            }
            configs.insert(t.id.clone(), c);
        }
        Ok(json!({
            "credential_issuer": base,
            "credential_endpoint": format!("{base}/credential"),
            "nonce_endpoint": format!("{base}/nonce"),
            "batch_credential_issuance": {"batch_size": self.config.batch_size},
            "display": [{"name": self.config.display_name, "locale": "en"}],
            "credential_configurations_supported": configs,
        }))
    }

    /// The authorization server metadata: this issuer is its own, for the pre-authorized
    /// code grant only.
    pub fn authorization_server_metadata(&self) -> Value {
        let base = &self.config.issuer_url;
        json!({
            "issuer": base,
            "token_endpoint": format!("{base}/token"),
            "grant_types_supported": [PRE_AUTH_GRANT],
            "pre-authorized_grant_anonymous_access_supported": true,
        })
    }
}
