//! Offers: what an agency creates for a citizen (the claims, a pre-authorized code and
//! optionally a transaction code given by another channel), its links and QR code, and its
//! expiry.

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{
    IssueError, Issuer, PRE_AUTH_GRANT, query_value, random_digits, random_token, sha256_hex,
};
use crate::store::{NewOffer, now_ms};

/// A created offer, as the admin API returns it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedOffer {
    pub offer_id: String,
    pub credential_offer: Value,
    /// `openid-credential-offer://?credential_offer=…` (by value).
    pub offer_uri: String,
    /// `openid-credential-offer://?credential_offer_uri=…` (by reference).
    pub offer_by_reference_uri: String,
    /// The transaction code (PIN) to give the citizen by another channel.
    pub tx_code: Option<String>,
    /// The by-reference link as an SVG QR code.
    pub qr_svg: String,
    pub expires_at_ms: i64,
}

impl Issuer {
    /// Creates an offer of a credential of type `type_id` with `claims` (exactly the type's),
    /// with a 6-digit transaction code if `with_tx_code`. Only the codes' hashes are stored.
    pub async fn create_offer(
        &self,
        actor: &str,
        type_id: &str,
        claims: Map<String, Value>,
        with_tx_code: bool,
    ) -> Result<CreatedOffer, IssueError> {
        let t = self.get_type(type_id).await?;
        for c in &t.claims {
            if !claims.contains_key(c) {
                return Err(IssueError::new(
                    400,
                    "invalid_request",
                    format!("claim {c} is missing"),
                ));
            }
        }
        if let Some(extra) = claims.keys().find(|k| !t.claims.contains(k)) {
            return Err(IssueError::new(
                400,
                "invalid_request",
                format!("claim {extra} is not defined for {type_id}"),
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let code = random_token(32);
        let tx_code = with_tx_code.then(|| random_digits(6));
        let expires = now_ms() + (self.config.offer_ttl_s as i64) * 1000;
        let mut grant = json!({"pre-authorized_code": code});
        if tx_code.is_some() {
            grant["tx_code"] = json!({"input_mode": "numeric", "length": 6, "description": "The 6-digit code the agency gave you"});
        }
        let offer = json!({
            "credential_issuer": self.config.issuer_url,
            "credential_configuration_ids": [type_id],
            "grants": {PRE_AUTH_GRANT: grant},
        });
        let now = now_ms();
        let code_hash = sha256_hex(&code);
        let tx_code_hash = tx_code.as_ref().map(|p| sha256_hex(&format!("{code}:{p}")));
        self.store
            .insert_offer(&NewOffer {
                id: &id,
                code_hash: &code_hash,
                tx_code_hash: tx_code_hash.as_deref(),
                credential_type: type_id,
                claims: &Value::Object(claims.clone()).to_string(),
                offer_json: &offer.to_string(),
                expires_ms: expires,
                created_ms: now,
            })
            .await?;
        let by_ref_url = format!("{}/offers/{id}", self.config.issuer_url);
        let offer_uri = format!(
            "openid-credential-offer://?credential_offer={}",
            query_value(&offer.to_string())
        );
        let by_ref = format!(
            "openid-credential-offer://?credential_offer_uri={}",
            query_value(&by_ref_url)
        );
        let qr_svg = qrcode::QrCode::new(by_ref.as_bytes())
            .map(|q| {
                q.render::<qrcode::render::svg::Color>()
                    .min_dimensions(256, 256)
                    .build()
            })
            .map_err(|e| IssueError::new(500, "server_error", format!("QR code: {e}")))?;
        // The audit log names the offer and what it is for, never the codes.
        self.store.audit(actor, "offer.create", &id, &json!({"credentialType": type_id, "txCode": tx_code.is_some(), "expiresAtMs": expires})).await?;
        Ok(CreatedOffer {
            offer_id: id,
            credential_offer: offer,
            offer_uri,
            offer_by_reference_uri: by_ref,
            tx_code,
            qr_svg,
            expires_at_ms: expires,
        })
    }

    /// Offers never redeemed (or locked by wrong PINs) whose time is up become `expired`, and
    /// the citizen's claims they held are erased: an agency keeps personal data only as long
    /// as an offer can still be used. The row stays (code hash and audit trail).
    pub async fn expire_offers(&self) -> Result<u64, IssueError> {
        let done = self.store.expire_offers(now_ms()).await?;
        if done > 0 {
            self.store
                .audit("issuer", "offer.expire", "offers", &json!({"count": done}))
                .await?;
        }
        Ok(done)
    }

    /// The offer object for a by-reference link (only while it can still be redeemed).
    pub async fn offer_by_reference(&self, id: &str) -> Result<Value, IssueError> {
        let link = self
            .store
            .offer_link(id)
            .await?
            .ok_or_else(|| IssueError::new(404, "not_found", "no such offer"))?;
        match link.offer_json {
            Some(j) if link.state == "offered" && link.expires_ms >= now_ms() => {
                serde_json::from_str(&j)
                    .map_err(|e| IssueError::new(500, "server_error", e.to_string()))
            }
            _ => Err(IssueError::new(
                404,
                "not_found",
                "the offer was used or has expired",
            )),
        }
    }
}
