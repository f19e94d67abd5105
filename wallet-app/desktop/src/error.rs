//! Failures as the interface shows them: a stable `code` the UI translates (English and
//! Simplified Chinese), the values it needs (`params`), and an English `message` as a
//! fallback and for logs. Each says what went wrong and what the holder can do.

use serde::Serialize;
use serde_json::{Map, Value, json};
use wallet_core::WalletError;
use wallet_vault::{ErrorKind, VaultError};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Failure {
    pub code: &'static str,
    pub message: String,
    pub params: Map<String, Value>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

impl Failure {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            params: Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.params.insert(key.to_owned(), value.into());
        self
    }

    pub fn locked() -> Self {
        Self::new("locked", "the wallet is locked: enter your PIN")
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {e}");
        Self::new(
            "internal",
            format!("something went wrong inside the wallet: {e}"),
        )
    }
}

impl From<VaultError> for Failure {
    fn from(e: VaultError) -> Self {
        let message = e.to_string();
        match &e {
            VaultError::WrongPin { tries_left } => {
                Self::new("wrong_pin", message).with("triesLeft", *tries_left)
            }
            VaultError::Throttled { wait_s } => {
                Self::new("pin_throttled", message).with("waitS", *wait_s)
            }
            VaultError::PinTooShort { min } => {
                Self::new("pin_too_short", message).with("min", *min)
            }
            VaultError::PinTooLong { max } => Self::new("pin_too_long", message).with("max", *max),
            _ => {
                let code = match e.kind() {
                    ErrorKind::NoKeyring => "no_keyring",
                    ErrorKind::Keyring => "keyring",
                    ErrorKind::KeyLost => "key_lost",
                    ErrorKind::Storage => "storage",
                    ErrorKind::Corrupt => "corrupt",
                    ErrorKind::NotFound => "not_found",
                    ErrorKind::WrongPin => "wrong_pin",
                    ErrorKind::Throttled => "pin_throttled",
                    ErrorKind::BadPin => "no_pin",
                    ErrorKind::WrongPassphrase => "wrong_passphrase",
                    ErrorKind::BadBackup => "bad_backup",
                    ErrorKind::NotEmpty => "wallet_not_empty",
                };
                Self::new(code, message)
            }
        }
    }
}

impl From<WalletError> for Failure {
    fn from(e: WalletError) -> Self {
        let message = e.to_string();
        match e {
            WalletError::BadOffer(m) => Self::new("bad_offer", message).with("detail", m),
            WalletError::Network { url, message: m } => Self::new("network", message)
                .with("url", url)
                .with("detail", m),
            WalletError::Refused { code, description } => {
                // OpenID4VCI gives one code for most refusals of a token request
                // (invalid_grant); the issuer's description tells which it was.
                let d = description.to_ascii_lowercase();
                let ui = match code.as_str() {
                    "invalid_grant" | "invalid_request" if d.contains("locked") => "offer_locked",
                    "invalid_grant" | "invalid_request"
                        if d.contains("transaction code") || d.contains("tx_code") =>
                    {
                        "wrong_tx_code"
                    }
                    "invalid_grant" if d.contains("already used") => "offer_used",
                    "invalid_grant" if d.contains("expired") => "offer_expired",
                    "invalid_grant" => "offer_unknown",
                    _ => "issuer_refused",
                };
                Self::new(ui, message)
                    .with("issuerCode", code)
                    .with("detail", description)
            }
            WalletError::BadResponse(m) => Self::new("bad_response", message).with("detail", m),
            WalletError::BadRequest(m) => Self::new("bad_request", message).with("detail", m),
            WalletError::Https(h) => Self::new("insecure_url", h.to_string()),
            WalletError::Other(m) => Self::new("wallet", message).with("detail", m),
        }
    }
}

/// A failure as the JSON the web view receives (for tests).
pub fn to_json(f: &Failure) -> Value {
    json!({"code": f.code, "message": f.message, "params": f.params})
}
