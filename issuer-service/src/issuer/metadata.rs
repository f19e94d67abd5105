//! The documents that announce the issuer to wallets: its Credential Issuer Metadata, as
//! plain JSON or signed (OpenID4VCI 1.0 §12.2.2–12.2.3), and its authorization server
//! metadata.
//!
//! Signed metadata is how a wallet learns, before it accepts an offer, *who* stands behind
//! the web address that made it: the JWT's `kid` is a verification method of the issuer's
//! DID and `iss` that DID, so a wallet that proves the DID document on the registry can check
//! the signature with a key the registry lists, and the document's `OpenID4VCI` service
//! (written at `init`) names this address back. It is signed on every request with the key
//! the issuer signs credentials with at that moment, so a live key rotation changes it at
//! once.

use serde_json::{Map, Value, json};
use verifier_lib::contexts::ALLIANCE_CREDENTIALS_V1;

use super::{FORMAT_DI, IssueError, Issuer, PRE_AUTH_GRANT};
use crate::store::now_ms;

/// The JOSE `typ` of signed Credential Issuer Metadata (OpenID4VCI 1.0 §12.2.3).
pub const SIGNED_METADATA_TYP: &str = "openidvci-issuer-metadata+jwt";

impl Issuer {
    /// The credential issuer metadata (`/.well-known/openid-credential-issuer`).
    pub async fn metadata(&self) -> Result<Value, IssueError> {
        Ok(Value::Object(self.metadata_parameters().await?))
    }

    /// The credential issuer metadata as a signed JWT (`application/jwt`): every metadata
    /// parameter a top-level claim, with `sub` the credential issuer identifier, `iss` the
    /// issuer's DID and `iat` now; header `typ` [`SIGNED_METADATA_TYP`], `alg` `EdDSA`, `kid`
    /// the verification method of the key that signs credentials now.
    pub async fn signed_metadata(&self) -> Result<String, IssueError> {
        let claims = self.metadata_parameters().await?;
        Ok(self.sign_metadata(claims, now_ms() / 1000))
    }

    fn sign_metadata(&self, mut claims: Map<String, Value>, iat_s: i64) -> String {
        claims.insert("iss".into(), json!(self.did));
        claims.insert("sub".into(), json!(self.config.issuer_url));
        claims.insert("iat".into(), json!(iat_s));
        // Key and method read together: never one key under the other's name.
        let signer = self.signer();
        let header = json!({
            "alg": "EdDSA",
            "typ": SIGNED_METADATA_TYP,
            "kid": signer.verification_method,
        });
        oid4vp::jws::sign(&header, &Value::Object(claims), &signer.key)
    }

    /// The metadata parameters (OpenID4VCI 1.0 §12.2.4): endpoints, batch size, display, and
    /// one credential configuration per credential type.
    async fn metadata_parameters(&self) -> Result<Map<String, Value>, IssueError> {
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
        let mut m = Map::new();
        m.insert("credential_issuer".into(), json!(base));
        m.insert(
            "credential_endpoint".into(),
            json!(format!("{base}/credential")),
        );
        m.insert("nonce_endpoint".into(), json!(format!("{base}/nonce")));
        m.insert(
            "batch_credential_issuance".into(),
            json!({"batch_size": self.config.batch_size}),
        );
        m.insert(
            "display".into(),
            json!([{"name": self.config.display_name, "locale": "en"}]),
        );
        m.insert(
            "credential_configurations_supported".into(),
            Value::Object(configs),
        );
        Ok(m)
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

#[cfg(test)]
mod tests;
