//! Credential types: the OpenID4VCI credential configurations an agency defines (the
//! metadata that announces them is [`super::metadata`]'s).

use serde::{Deserialize, Serialize};

use super::{IssueError, Issuer};

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
}
