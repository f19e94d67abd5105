//! The issuer's secret keys, encrypted at rest: Argon2id derives a key from the operator's
//! passphrase, XChaCha20-Poly1305 seals the 32-byte Ed25519 seed. A wrong passphrase or a
//! tampered file is an error, never a different key.

use argon2::Argon2;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::Aead;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use did_method::SecretKey;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The environment variable holding the passphrase.
pub const PASSPHRASE_ENV: &str = "ALLIANCE_ISSUER_PASSPHRASE";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the key file is malformed: {0}")]
    Malformed(String),
    #[error("wrong passphrase, or the key file was altered")]
    Decrypt,
    #[error("key derivation failed: {0}")]
    Kdf(String),
    #[error(
        "set {PASSPHRASE_ENV} to the passphrase that protects the issuer's keys (at least 12 characters)"
    )]
    NoPassphrase,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SealedKey {
    kdf: String,
    salt: String,
    nonce: String,
    ciphertext: String,
    /// The public key, in the clear, so the file can be identified without the passphrase.
    public_key: String,
}

/// Reads the passphrase from the environment.
pub fn passphrase_from_env() -> Result<Zeroizing<String>, KeyError> {
    match std::env::var(PASSPHRASE_ENV) {
        Ok(p) if p.chars().count() >= 12 => Ok(Zeroizing::new(p)),
        _ => Err(KeyError::NoPassphrase),
    }
}

fn derive(passphrase: &str, salt: &[u8]) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::default()
        .hash_password_into(passphrase.as_bytes(), salt, &mut *out)
        .map_err(|e| KeyError::Kdf(e.to_string()))?;
    Ok(out)
}

/// Seals `key` under `passphrase`; returns the file's JSON text.
pub fn seal(key: &SecretKey, passphrase: &str) -> Result<String, KeyError> {
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut salt);
    OsRng.fill_bytes(&mut nonce);
    let k = derive(passphrase, &salt)?;
    let cipher = XChaCha20Poly1305::new((&*k).into());
    let seed = Zeroizing::new(key.to_seed_bytes());
    let ciphertext = cipher
        .encrypt(XNonce::from_slice(&nonce), seed.as_slice())
        .map_err(|_| KeyError::Decrypt)?;
    let sealed = SealedKey {
        kdf: "argon2id".into(),
        salt: URL_SAFE_NO_PAD.encode(salt),
        nonce: URL_SAFE_NO_PAD.encode(nonce),
        ciphertext: URL_SAFE_NO_PAD.encode(ciphertext),
        public_key: key.public_key().to_multibase(),
    };
    serde_json::to_string_pretty(&sealed).map_err(|e| KeyError::Malformed(e.to_string()))
}

/// Opens a sealed key file's text.
pub fn open(text: &str, passphrase: &str) -> Result<SecretKey, KeyError> {
    let sealed: SealedKey =
        serde_json::from_str(text).map_err(|e| KeyError::Malformed(e.to_string()))?;
    if sealed.kdf != "argon2id" {
        return Err(KeyError::Malformed(format!("unknown kdf {}", sealed.kdf)));
    }
    let b64 = |s: &str| {
        URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|e| KeyError::Malformed(e.to_string()))
    };
    let (salt, nonce, ct) = (
        b64(&sealed.salt)?,
        b64(&sealed.nonce)?,
        b64(&sealed.ciphertext)?,
    );
    if nonce.len() != 24 {
        return Err(KeyError::Malformed("nonce must be 24 bytes".into()));
    }
    let k = derive(passphrase, &salt)?;
    let cipher = XChaCha20Poly1305::new((&*k).into());
    let seed = Zeroizing::new(
        cipher
            .decrypt(XNonce::from_slice(&nonce), ct.as_slice())
            .map_err(|_| KeyError::Decrypt)?,
    );
    let seed: [u8; 32] = seed
        .as_slice()
        .try_into()
        .map_err(|_| KeyError::Malformed("the sealed seed is not 32 bytes".into()))?;
    let key = SecretKey::from_seed(&seed);
    if key.public_key().to_multibase() != sealed.public_key {
        return Err(KeyError::Decrypt);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_the_passphrase() {
        let key = SecretKey::from_seed(&[4; 32]);
        let text = seal(&key, "correct horse battery").unwrap();
        assert!(
            !text.contains(&key.to_multibase()),
            "the secret is not in the file"
        );
        assert_eq!(open(&text, "correct horse battery").unwrap(), key);
        assert!(matches!(
            open(&text, "wrong passphrase!"),
            Err(KeyError::Decrypt)
        ));
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["ciphertext"] = "AAAA".into();
        assert!(open(&v.to_string(), "correct horse battery").is_err());
    }
}
