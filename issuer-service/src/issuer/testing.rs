//! For the unit tests of the endpoints' decisions: a real issuer on a SQLite file in a
//! temporary directory (no registry, so status lists are signed but not anchored), its
//! credential types and offers, and wallets' proofs of possession.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use did_method::SecretKey;
use serde_json::{Map, Value, json};
use verifier_lib::dids;

use super::{CredentialType, FORMAT_DI, FORMAT_SD_JWT, IssueError, Issuer, PRE_AUTH_GRANT};
use crate::config::IssuerConfig;
use crate::store::now_ms;

/// The SD-JWT VC type every fixture defines.
pub(super) const PASS: &str = "Pass";
/// The Data Integrity type every fixture defines.
pub(super) const CARD: &str = "Card";

pub(crate) struct Fixture {
    pub(crate) issuer: Arc<Issuer>,
    _dir: tempfile::TempDir,
}

/// An issuer with the defaults `init` writes (but small status lists), changed by `tweak`,
/// with the types [`PASS`] and [`CARD`] defined.
pub(crate) async fn issuer(tweak: impl FnOnce(&mut IssuerConfig)) -> Fixture {
    issuer_with_key(7, tweak).await
}

/// [`issuer`], signing with the key of seed `[seed; 32]`.
pub(super) async fn issuer_with_key(seed: u8, tweak: impl FnOnce(&mut IssuerConfig)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let key = SecretKey::from_seed(&[seed; 32]);
    let (did, vm) = dids::did_key(&key.public_key());
    let mut config = IssuerConfig {
        issuer_url: "http://127.0.0.1:9".into(),
        listen: "127.0.0.1:0".into(),
        database_url: format!("sqlite://{}", dir.path().join("issuer.db").display()),
        did,
        verification_method: vm,
        key_file: "issuer-key.json".into(),
        recovery_key_file: None,
        registry_api: None,
        ca_certs: vec![],
        display_name: "Test agency".into(),
        offer_ttl_s: 3600,
        token_ttl_s: 300,
        nonce_ttl_s: 300,
        max_tx_code_attempts: 3,
        batch_size: 3,
        status_list_size: 1024,
        status_refresh_s: 3600,
    };
    tweak(&mut config);
    let issuer = Issuer::new(config, key).await.unwrap();
    for (id, format) in [(PASS, FORMAT_SD_JWT), (CARD, FORMAT_DI)] {
        let t = CredentialType {
            id: id.into(),
            format: format.into(),
            credential_type: format!("{id}Credential"),
            claims: vec!["name".into()],
            validity_days: 30,
            name: id.into(),
        };
        issuer.define_type("admin", t).await.unwrap();
    }
    Fixture { issuer, _dir: dir }
}

impl Fixture {
    /// A new offer of `type_id`; its pre-authorized code and transaction code.
    pub(super) async fn offer(
        &self,
        type_id: &str,
        with_tx_code: bool,
    ) -> (String, Option<String>) {
        let mut claims = Map::new();
        claims.insert("name".into(), json!("Ada"));
        let o = self
            .issuer
            .create_offer("admin", type_id, claims, with_tx_code)
            .await
            .unwrap();
        let code = o.credential_offer["grants"][PRE_AUTH_GRANT]["pre-authorized_code"]
            .as_str()
            .unwrap()
            .to_owned();
        (code, o.tx_code)
    }

    /// Asks the token endpoint with these form fields.
    pub(super) async fn token(&self, fields: &[(&str, &str)]) -> Result<Value, IssueError> {
        let form: HashMap<String, String> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.issuer.token(&form).await
    }

    /// Redeems a new offer of `type_id` (no transaction code): its access token.
    pub(super) async fn access_token(&self, type_id: &str) -> String {
        let (code, _) = self.offer(type_id, false).await;
        let granted = self
            .token(&[
                ("grant_type", PRE_AUTH_GRANT),
                ("pre-authorized_code", &code),
            ])
            .await
            .unwrap();
        granted["access_token"].as_str().unwrap().to_owned()
    }

    pub(super) async fn nonce(&self) -> String {
        self.issuer.nonce().await.unwrap()["c_nonce"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// A holder's key (a different one for each `n`).
pub(super) fn holder(n: u8) -> SecretKey {
    SecretKey::from_seed(&[n; 32])
}

/// A compact JWS of `header` and `claims`, signed by `key`.
pub(super) fn jws(key: &SecretKey, header: &Value, claims: &Value) -> String {
    let h = URL_SAFE_NO_PAD.encode(header.to_string());
    let p = URL_SAFE_NO_PAD.encode(claims.to_string());
    let sig = key.sign(format!("{h}.{p}").as_bytes());
    format!("{h}.{p}.{}", sig.to_base64url())
}

/// The header and claims of a proof a wallet following the specification sends.
pub(super) fn proof_parts(issuer: &Issuer, key: &SecretKey, nonce: &str) -> (Value, Value) {
    (
        json!({"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "jwk": dids::jwk_of(&key.public_key())}),
        json!({"aud": issuer.config.issuer_url, "iat": now_ms() / 1000, "nonce": nonce}),
    )
}

/// A good proof of possession of `key` over `nonce`.
pub(super) fn proof(issuer: &Issuer, key: &SecretKey, nonce: &str) -> String {
    let (header, claims) = proof_parts(issuer, key, nonce);
    jws(key, &header, &claims)
}

/// A credential request for `type_id` with these JWT proofs.
pub(super) fn request(type_id: &str, proofs: &[String]) -> Value {
    json!({"credential_configuration_id": type_id, "proofs": {"jwt": proofs}})
}

/// The error code of a refusal (panics on success: the test expected a refusal).
pub(super) fn refused(r: Result<Value, IssueError>) -> IssueError {
    match r {
        Ok(v) => panic!("expected a refusal, got {v}"),
        Err(e) => e,
    }
}
