//! The token endpoint (a pre-authorized code, with its transaction code, redeemed once for
//! an access token) and the nonce endpoint (stateless `c_nonce` values, used up by the
//! issuance that carries them).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{IssueError, Issuer, PRE_AUTH_GRANT, random_token, sha256_hex};
use crate::store::now_ms;

impl Issuer {
    /// The token endpoint: redeems a pre-authorized code (once) with its transaction code.
    pub async fn token(
        &self,
        form: &std::collections::HashMap<String, String>,
    ) -> Result<Value, IssueError> {
        let grant = form.get("grant_type").map(String::as_str);
        if grant != Some(PRE_AUTH_GRANT) {
            return Err(IssueError::new(
                400,
                "unsupported_grant_type",
                "only the pre-authorized code grant is supported",
            ));
        }
        let code = form.get("pre-authorized_code").ok_or_else(|| {
            IssueError::new(400, "invalid_request", "pre-authorized_code is missing")
        })?;
        let offer = self
            .store
            .offer_by_code(&sha256_hex(code))
            .await?
            .ok_or_else(|| IssueError::new(400, "invalid_grant", "unknown pre-authorized code"))?;
        let (id, tx_hash, state, expires) =
            (offer.id, offer.tx_code_hash, offer.state, offer.expires_ms);
        if state != "offered" {
            self.store
                .audit(
                    "wallet",
                    "token.refused",
                    &id,
                    &json!({"reason": format!("offer is {state}")}),
                )
                .await?;
            return Err(IssueError::new(
                400,
                "invalid_grant",
                match state.as_str() {
                    "locked" => "too many wrong transaction codes; ask the agency for a new offer"
                        .to_string(),
                    "expired" => "the offer has expired".to_string(),
                    _ => "the pre-authorized code was already used".to_string(),
                },
            ));
        }
        if expires < now_ms() {
            return Err(IssueError::new(
                400,
                "invalid_grant",
                "the offer has expired",
            ));
        }
        match (&tx_hash, form.get("tx_code")) {
            (Some(_), None) => {
                return Err(IssueError::new(
                    400,
                    "invalid_request",
                    "this offer needs its transaction code (tx_code)",
                ));
            }
            (None, Some(_)) => {
                return Err(IssueError::new(
                    400,
                    "invalid_request",
                    "this offer has no transaction code",
                ));
            }
            (Some(h), Some(pin)) => {
                let given = sha256_hex(&format!("{code}:{pin}"));
                if !bool::from(subtle::ConstantTimeEq::ct_eq(
                    given.as_bytes(),
                    h.as_bytes(),
                )) {
                    // Counted and locked atomically (one write job): concurrent wrong
                    // guesses can neither undo a lock nor reopen a redeemed offer.
                    let max = self.config.max_tx_code_attempts as i64;
                    let offer_id = id.clone();
                    let (failed, lock) = self
                        .store
                        .write(move |mut tx| {
                            Box::pin(async move {
                                let (failed, lock) = tx.count_wrong_tx_code(&offer_id, max).await?;
                                tx.audit(
                                    "wallet",
                                    "token.wrong_tx_code",
                                    &offer_id,
                                    &json!({"failedAttempts": failed, "locked": lock}),
                                )
                                .await?;
                                Ok::<_, IssueError>((failed, lock))
                            })
                        })
                        .await?;
                    let left = self
                        .config
                        .max_tx_code_attempts
                        .saturating_sub(failed as u64);
                    return Err(IssueError::new(
                        400,
                        "invalid_grant",
                        if lock {
                            "wrong transaction code; the offer is now locked".to_string()
                        } else {
                            format!("wrong transaction code ({left} attempts left)")
                        },
                    ));
                }
            }
            (None, None) => {}
        }
        let token = random_token(32);
        let token_hash = sha256_hex(&token);
        let expires_ms = now_ms() + (self.config.token_ttl_s as i64) * 1000;
        self.store
            .write(move |mut tx| {
                Box::pin(async move {
                    if !tx.redeem_offer(&id).await? {
                        return Err(IssueError::new(
                            400,
                            "invalid_grant",
                            "the pre-authorized code was already used",
                        ));
                    }
                    tx.insert_access_token(&token_hash, &id, expires_ms).await?;
                    tx.audit("wallet", "token.grant", &id, &json!({})).await?;
                    Ok(())
                })
            })
            .await?;
        Ok(
            json!({"access_token": token, "token_type": "Bearer", "expires_in": self.config.token_ttl_s}),
        )
    }

    /// A fresh `c_nonce`: its expiry and a MAC under a key derived from the issuer's key, so
    /// issuing one writes nothing; it is recorded as used in the transaction that issues
    /// credentials against it (single use).
    pub async fn nonce(&self) -> Result<Value, IssueError> {
        let expires_ms = now_ms() + (self.config.nonce_ttl_s as i64) * 1000;
        Ok(json!({"c_nonce": self.nonce_until(expires_ms)}))
    }

    /// A nonce valid until `expires_ms`: that time, 16 random bytes, and their MAC.
    pub(super) fn nonce_until(&self, expires_ms: i64) -> String {
        let mut body = [0u8; 24];
        body[..8].copy_from_slice(&expires_ms.to_be_bytes());
        OsRng.fill_bytes(&mut body[8..]);
        let mut out = body.to_vec();
        out.extend_from_slice(&self.nonce_mac(&body)[..16]);
        URL_SAFE_NO_PAD.encode(out)
    }

    fn nonce_mac(&self, body: &[u8]) -> [u8; 32] {
        use hmac::Mac;
        let mut mac = match hmac::Hmac::<Sha256>::new_from_slice(&self.nonce_key[..]) {
            Ok(m) => m,
            Err(_) => return [0; 32],
        };
        hmac::Mac::update(&mut mac, body);
        mac.finalize().into_bytes().into()
    }

    /// The nonce's expiry (ms) if this issuer made it and it has not expired.
    pub(super) fn check_nonce(&self, nonce: &str) -> Option<i64> {
        let raw = URL_SAFE_NO_PAD.decode(nonce).ok()?;
        if raw.len() != 40 {
            return None;
        }
        let (body, tag) = raw.split_at(24);
        let expected = self.nonce_mac(body);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(tag, &expected[..16])) {
            return None;
        }
        let expires = i64::from_be_bytes(body[..8].try_into().ok()?);
        (expires >= now_ms()).then_some(expires)
    }
}

#[cfg(test)]
mod tests;
