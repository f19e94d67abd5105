//! Compact JWS with Ed25519 (`EdDSA`), as the request object uses it: signing, and reading
//! one apart without trusting it (the key to check it with is the caller's to find).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use did_method::{PublicKey, SecretKey, Signature};
use serde_json::{Map, Value};

/// `base64url(header).base64url(payload).base64url(signature)`, signed with `key`.
pub fn sign(header: &Value, payload: &Value, key: &SecretKey) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", sig.to_base64url())
}

/// A compact JWS read apart; nothing in it is trusted until [`Compact::verify`].
#[derive(Clone, Debug)]
pub struct Compact {
    pub header: Map<String, Value>,
    pub payload: Map<String, Value>,
    signing_input: String,
    signature: Signature,
}

impl Compact {
    /// Splits and decodes `text` (already bounded by the caller). Header and payload must be
    /// JSON objects; the signature 64 bytes.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let mut parts = text.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("a compact JWS has three parts separated by dots".into());
        };
        let object = |part: &str, name: &str| -> Result<Map<String, Value>, String> {
            let bytes = URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| format!("its {name} is not base64url"))?;
            match serde_json::from_slice(&bytes) {
                Ok(Value::Object(o)) => Ok(o),
                _ => Err(format!("its {name} is not a JSON object")),
            }
        };
        let header = object(h, "header")?;
        // RFC 7515 §4.1.11: extensions marked critical that we do not understand (we understand
        // none) make the JWS invalid.
        if header.contains_key("crit") {
            return Err("its header marks extensions critical (crit)".into());
        }
        let payload = object(p, "payload")?;
        let signature = Signature::from_base64url(s)
            .map_err(|_| "its signature is not a base64url Ed25519 signature".to_owned())?;
        Ok(Self {
            header,
            payload,
            signing_input: format!("{h}.{p}"),
            signature,
        })
    }

    /// Whether `key` made the signature over the header and payload as sent.
    pub fn verify(&self, key: &PublicKey) -> bool {
        key.verify(self.signing_input.as_bytes(), &self.signature)
            .is_ok()
    }
}
