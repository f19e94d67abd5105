//! Authenticated encryption of records (XChaCha20-Poly1305) and keys derived from
//! passphrases (Argon2id with the parameters stored beside what they protect).
//!
//! Every sealed record is bound to where it lives by its associated data (the table and the
//! record's id): a record copied into another slot, or another profile's record, fails to
//! open instead of being read as something else.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::VaultError;

const NONCE_LEN: usize = 24;

/// A 256-bit symmetric key, zeroized on drop.
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    pub fn generate() -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(&mut *k);
        Self(k)
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(Self(Zeroizing::new(arr)))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `nonce ‖ ciphertext` of `plaintext`, authenticated together with `aad`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new((&*self.0).into());
        // Encryption fails only for plaintexts beyond 256 GiB.
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| VaultError::Storage("a record too large to encrypt".into()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// The plaintext of a [`DataKey::seal`] output, or `None` if it was sealed under another
    /// key or other associated data, or altered.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE_LEN + 16 {
            return None;
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new((&*self.0).into());
        cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .ok()
            .map(Zeroizing::new)
    }
}

/// Why a key could not be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KdfError {
    #[error("memory {0} KiB is out of range")]
    Memory(u32),
    #[error("passes or lanes out of range")]
    Cost,
    #[error("Argon2id: {0}")]
    Argon2(String),
}

/// Argon2id parameters, stored with what they protect so a file stays readable when the
/// defaults change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// For backups: 64 MiB, 3 passes (a second or so on a laptop, per guess).
    pub const BACKUP: Self = Self {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };
    /// For the PIN verifier: 19 MiB, 2 passes (OWASP's minimum for Argon2id), so unlocking
    /// stays quick; the throttle, not the hash, bounds online guessing.
    pub const PIN: Self = Self {
        m_kib: 19 * 1024,
        t: 2,
        p: 1,
    };

    /// Refuses parameters a file could use to make opening it take forever or too little.
    pub fn check(&self) -> Result<(), KdfError> {
        if !(8 * 1024..=1024 * 1024).contains(&self.m_kib) {
            return Err(KdfError::Memory(self.m_kib));
        }
        if !(1..=16).contains(&self.t) || !(1..=8).contains(&self.p) {
            return Err(KdfError::Cost);
        }
        Ok(())
    }

    /// A 32-byte key from `secret` and `salt`.
    pub fn derive(&self, secret: &[u8], salt: &[u8]) -> Result<Zeroizing<[u8; 32]>, KdfError> {
        self.check()?;
        let params = Params::new(self.m_kib, self.t, self.p, Some(32))
            .map_err(|e| KdfError::Argon2(e.to_string()))?;
        let mut out = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(secret, salt, &mut *out)
            .map_err(|e| KdfError::Argon2(e.to_string()))?;
        Ok(out)
    }
}

/// 16 random bytes.
pub fn salt() -> [u8; 16] {
    let mut s = [0u8; 16];
    OsRng.fill_bytes(&mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_record_opens_only_with_its_key_and_place() {
        let k = DataKey::generate();
        let sealed = k.seal(b"credentials/1", b"the claims").unwrap();
        assert_eq!(
            &*k.open(b"credentials/1", &sealed).unwrap(),
            b"the claims".as_slice()
        );
        assert!(k.open(b"credentials/2", &sealed).is_none(), "moved record");
        assert!(
            DataKey::generate()
                .open(b"credentials/1", &sealed)
                .is_none()
        );
        let mut altered = sealed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(k.open(b"credentials/1", &altered).is_none());
        assert!(k.open(b"credentials/1", &sealed[..10]).is_none());
        // Two seals of the same text differ (fresh nonces).
        assert_ne!(sealed, k.seal(b"credentials/1", b"the claims").unwrap());
    }

    #[test]
    fn derivation_is_repeatable_and_bounded() {
        let p = KdfParams {
            m_kib: 8 * 1024,
            t: 1,
            p: 1,
        };
        let s = salt();
        assert_eq!(*p.derive(b"pw", &s).unwrap(), *p.derive(b"pw", &s).unwrap());
        assert_ne!(
            *p.derive(b"pw", &s).unwrap(),
            *p.derive(b"pw2", &s).unwrap()
        );
        let huge = KdfParams {
            m_kib: 64 * 1024 * 1024,
            ..p
        };
        assert!(huge.derive(b"pw", &s).is_err());
    }
}
