//! The credential endpoint: an access token, one proof of possession per key (an
//! `openid4vci-proof+jwt` over this issuer's nonce), at most a batch of them, and one
//! credential per key, each recorded (its status index claimed) before any is returned.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use did_method::PublicKey;
use serde_json::{Map, Value, json};
use verifier_lib::dids;

use super::build::{INDEX_TAKEN, no_free_index, settle};
use super::{IssueError, Issuer, sha256_hex};
use crate::store::now_ms;

/// The JWT `typ` of an OpenID4VCI proof of possession.
const PROOF_TYP: &str = "openid4vci-proof+jwt";

impl Issuer {
    /// Checks one `openid4vci-proof+jwt`; returns the key it proves possession of and its nonce.
    fn check_proof(&self, jwt: &str) -> Result<(PublicKey, String), IssueError> {
        let bad = |m: &str| IssueError::new(400, "invalid_proof", m.to_owned());
        let mut parts = jwt.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("the proof is not a compact JWS"));
        };
        let decode = |x: &str| {
            URL_SAFE_NO_PAD
                .decode(x)
                .map_err(|_| bad("the proof is not base64url"))
        };
        let header: Value =
            serde_json::from_slice(&decode(h)?).map_err(|_| bad("the proof header is not JSON"))?;
        let claims: Value = serde_json::from_slice(&decode(p)?)
            .map_err(|_| bad("the proof claims are not JSON"))?;
        if header["typ"] != PROOF_TYP {
            return Err(bad("proof typ must be openid4vci-proof+jwt"));
        }
        if !matches!(header["alg"].as_str(), Some("EdDSA" | "Ed25519")) {
            return Err(bad("proof alg must be EdDSA"));
        }
        let key = match (header.get("kid").and_then(Value::as_str), header.get("jwk")) {
            (Some(kid), None) => {
                dids::resolve(
                    kid,
                    dids::Relationship::Authentication,
                    &verifier_lib::RegistryEvidence::default(),
                )
                .map_err(|e| bad(&format!("proof kid: {e}")))?
                .key
            }
            (None, Some(jwk)) => {
                dids::public_key_from_jwk(jwk).map_err(|e| bad(&format!("proof jwk: {e}")))?
            }
            _ => return Err(bad("the proof header must have exactly one of kid and jwk")),
        };
        let sig = did_method::Signature::from_slice(&decode(s)?)
            .map_err(|_| bad("the proof signature is malformed"))?;
        key.verify(format!("{h}.{p}").as_bytes(), &sig)
            .map_err(|_| bad("the proof signature does not verify"))?;
        if claims["aud"] != self.config.issuer_url.as_str() {
            return Err(bad("the proof's aud is not this issuer"));
        }
        if claims.get("iss").is_some() {
            return Err(bad("an anonymous pre-authorized proof must not carry iss"));
        }
        let iat = claims["iat"]
            .as_i64()
            .ok_or_else(|| bad("the proof has no iat"))?;
        let now_s = now_ms() / 1000;
        if iat > now_s + 60 || iat < now_s - self.config.nonce_ttl_s as i64 {
            return Err(bad("the proof's iat is outside the accepted window"));
        }
        let nonce = claims["nonce"]
            .as_str()
            .ok_or_else(|| bad("the proof has no nonce"))?;
        Ok((key, nonce.to_owned()))
    }

    /// The credential endpoint: one credential per proven key, recorded before it is returned.
    pub async fn credential(
        &self,
        bearer: Option<&str>,
        body: &Value,
    ) -> Result<Value, IssueError> {
        let token = bearer
            .ok_or_else(|| IssueError::new(401, "invalid_token", "an access token is required"))?;
        let granted = self
            .store
            .access_token(&sha256_hex(token))
            .await?
            .ok_or_else(|| IssueError::new(401, "invalid_token", "unknown access token"))?;
        let (offer_id, expires) = (granted.offer_id, granted.expires_ms);
        if expires < now_ms() {
            return Err(IssueError::new(
                401,
                "invalid_token",
                "the access token has expired",
            ));
        }
        let offer = self.store.offer_to_issue(&offer_id).await?;
        let (type_id, claims, state) = (offer.credential_type, offer.claims, offer.state);
        if state != "redeemed" {
            return Err(IssueError::new(
                400,
                "credential_request_denied",
                "the credentials of this offer were already issued",
            ));
        }
        let requested = body
            .get("credential_configuration_id")
            .and_then(Value::as_str);
        if body.get("credential_identifier").is_some() || requested.is_none() {
            return Err(IssueError::new(
                400,
                "invalid_credential_request",
                "give credential_configuration_id",
            ));
        }
        if requested != Some(type_id.as_str()) {
            return Err(IssueError::new(
                400,
                "unknown_credential_configuration",
                format!("this offer is for {type_id}"),
            ));
        }
        let proofs: Vec<&str> = match body.get("proofs").and_then(|p| p.as_object()) {
            Some(m) if m.len() == 1 => m
                .get("jwt")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .ok_or_else(|| {
                    IssueError::new(400, "invalid_proof", "only jwt proofs are supported")
                })?,
            _ => {
                return Err(IssueError::new(
                    400,
                    "invalid_proof",
                    "proofs must hold one proof type",
                ));
            }
        };
        if proofs.is_empty() {
            return Err(IssueError::new(
                400,
                "invalid_proof",
                "no proof of possession",
            ));
        }
        if proofs.len() as u64 > self.config.batch_size {
            return Err(IssueError::new(
                400,
                "invalid_credential_request",
                format!("at most {} proofs", self.config.batch_size),
            ));
        }
        let mut keys = vec![];
        let mut nonce = None;
        for p in proofs {
            let (k, n) = self.check_proof(p)?;
            if nonce.as_ref().is_some_and(|x| *x != n) {
                return Err(IssueError::new(
                    400,
                    "invalid_proof",
                    "the proofs of one request carry one nonce",
                ));
            }
            nonce = Some(n);
            if keys.contains(&k) {
                return Err(IssueError::new(
                    400,
                    "invalid_proof",
                    "each proof must be for a different key",
                ));
            }
            keys.push(k);
        }
        let nonce = nonce.unwrap_or_default();
        let nonce_expires = self.check_nonce(&nonce).ok_or_else(|| {
            IssueError::new(
                400,
                "invalid_nonce",
                "the nonce is unknown or expired; fetch a new one",
            )
        })?;
        let t = self.get_type(&type_id).await?;
        let claims: Map<String, Value> = serde_json::from_str(&claims)
            .map_err(|e| IssueError::new(500, "server_error", e.to_string()))?;
        // Signing (a JSON-LD canonicalization for `ldp_vc`, about a millisecond) happens
        // before the transaction, so the database's single writer is held only for the
        // writes and the commit. The status index each credential carries is claimed by the
        // insert (a unique constraint); if another issuance took it meanwhile, everything is
        // rolled back and signed again with fresh indices.
        for _attempt in 0..8 {
            let mut prepared = Vec::with_capacity(keys.len());
            for k in &keys {
                prepared.push(self.prepare(&t, &claims, k).await?);
            }
            let (offer_id, type_id, nonce) = (offer_id.clone(), type_id.clone(), nonce.clone());
            let size = self.config.status_list_size as i64;
            let (t_id, t_format) = (t.id.clone(), t.format.clone());
            let written = self
                .store
                .write(move |mut tx| {
                    Box::pin(async move {
                        if !tx.mark_offer_issued(&offer_id).await? {
                            return Err(IssueError::new(
                                400,
                                "credential_request_denied",
                                "the credentials of this offer were already issued",
                            ));
                        }
                        // The nonce is used up with this issuance (a second use is refused).
                        if !tx.use_nonce(&nonce, nonce_expires).await? {
                            return Err(IssueError::new(
                                400,
                                "invalid_nonce",
                                "the nonce was already used; fetch a new one",
                            ));
                        }
                        for p in &prepared {
                            if !p.record(&mut tx, &t_id, &t_format, Some(&offer_id)).await? {
                                // Rolled back (the savepoint): signed again with other indices.
                                return Err(IssueError::new(503, INDEX_TAKEN, "status index taken"));
                            }
                            tx.audit(
                                "wallet",
                                "credential.issue",
                                &p.id,
                                &json!({"offer": offer_id, "type": type_id, "statusList": p.index / size, "statusIndex": p.index % size}),
                            )
                            .await?;
                        }
                        Ok(prepared)
                    })
                })
                .await;
            if let Some(done) = settle(written) {
                let prepared = done?;
                self.counted(prepared.iter().map(|p| p.index));
                return Ok(json!({"credentials": prepared
                    .into_iter()
                    .map(|p| json!({"credential": p.credential}))
                    .collect::<Vec<_>>()}));
            }
        }
        Err(no_free_index())
    }
}

#[cfg(test)]
mod tests;
