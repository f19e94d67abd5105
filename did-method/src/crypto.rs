//! Ed25519 keys and signatures, and their `Multikey` / multibase text forms.
//!
//! Verification is strict (RFC 8032 with the checks of `ed25519-dalek`'s `verify_strict`):
//! non-canonical `S`, small-order public keys and small-order `R` are rejected, so a
//! signature that one node accepts every other node accepts too.

use std::fmt;

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use base64::Engine as _;

/// Multicodec prefix of an Ed25519 public key (`ed25519-pub`, 0xed, as varint).
const ED25519_PUB_MULTICODEC: [u8; 2] = [0xed, 0x01];
/// Multicodec prefix of an Ed25519 seed (`ed25519-priv`, 0x1300, as varint).
const ED25519_PRIV_MULTICODEC: [u8; 2] = [0x80, 0x26];

/// Why a key or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("public key is not a valid Ed25519 point")]
    InvalidPublicKey,
    #[error("public key is of small order (weak key)")]
    WeakPublicKey,
    #[error("signature does not verify")]
    BadSignature,
    #[error("malformed encoding: {0}")]
    Encoding(String),
}

/// A bounded, process-wide memo of [`PublicKey::validate`]: key bytes → the decompressed
/// point or why it was refused. Pure memoization (the result depends on the bytes alone),
/// so it changes no outcome. When full it is emptied; a flood of fresh keys makes it no
/// slower than no memo at all.
struct KeyMemo;

/// Keys remembered at most.
const KEY_MEMO_CAPACITY: usize = 4096;

type KeyMemoMap = std::collections::HashMap<[u8; 32], Result<VerifyingKey, CryptoError>>;

static KEY_MEMO: std::sync::LazyLock<std::sync::Mutex<KeyMemoMap>> =
    std::sync::LazyLock::new(|| std::sync::Mutex::new(KeyMemoMap::new()));

impl KeyMemo {
    fn get_or_check(bytes: &[u8; 32]) -> Result<VerifyingKey, CryptoError> {
        if let Ok(memo) = KEY_MEMO.lock()
            && let Some(known) = memo.get(bytes)
        {
            return known.clone();
        }
        let result = PublicKey::validate_uncached(bytes);
        if let Ok(mut memo) = KEY_MEMO.lock() {
            if memo.len() >= KEY_MEMO_CAPACITY {
                memo.clear();
            }
            memo.insert(*bytes, result.clone());
        }
        result
    }
}

/// An Ed25519 public key. Its text form is a `Multikey` `publicKeyMultibase` (`z6Mk…`).
///
/// Decoding does not decompress the curve point (that costs as much as a fifth of a
/// signature check, and keys are decoded far more often than used): [`PublicKey::validate`]
/// checks it where a key enters the registry, and [`PublicKey::verify`] always does.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// Accepts 32 bytes as a key; see [`PublicKey::validate`].
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        Ok(Self(*bytes))
    }

    /// Checks that the key decodes to a curve point that is not of small order (not a
    /// weak key).
    ///
    /// The outcome for recently seen keys is remembered (see [`KeyMemo`]): the same keys
    /// (registrars, issuers, a key checked at admission and again when its block executes)
    /// come back again and again, and decompressing one costs about a tenth of a signature
    /// check.
    pub fn validate(&self) -> Result<VerifyingKey, CryptoError> {
        KeyMemo::get_or_check(&self.0)
    }

    fn validate_uncached(bytes: &[u8; 32]) -> Result<VerifyingKey, CryptoError> {
        let vk = VerifyingKey::from_bytes(bytes).map_err(|_| CryptoError::InvalidPublicKey)?;
        if vk.is_weak() {
            return Err(CryptoError::WeakPublicKey);
        }
        Ok(vk)
    }

    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| {
            CryptoError::Encoding(format!("public key must be 32 bytes, got {}", bytes.len()))
        })?;
        Self::from_bytes(&arr)
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Strict verification of `sig` over `msg`.
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> Result<(), CryptoError> {
        let vk = self.validate()?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig.0);
        vk.verify_strict(msg, &sig)
            .map_err(|_| CryptoError::BadSignature)
    }

    /// `z` + base58btc(0xed01 ‖ key): the `publicKeyMultibase` of a `Multikey`.
    pub fn to_multibase(&self) -> String {
        let mut buf = Vec::with_capacity(34);
        buf.extend_from_slice(&ED25519_PUB_MULTICODEC);
        buf.extend_from_slice(&self.0);
        format!("z{}", bs58::encode(buf).into_string())
    }

    pub fn from_multibase(s: &str) -> Result<Self, CryptoError> {
        let rest = s.strip_prefix('z').ok_or_else(|| {
            CryptoError::Encoding("multibase key must start with 'z' (base58btc)".into())
        })?;
        let raw = bs58::decode(rest)
            .into_vec()
            .map_err(|e| CryptoError::Encoding(format!("base58btc: {e}")))?;
        match raw.split_first_chunk::<2>() {
            Some((prefix, key)) if *prefix == ED25519_PUB_MULTICODEC => Self::from_slice(key),
            _ => Err(CryptoError::Encoding(
                "not an ed25519-pub multikey (expected prefix 0xed01)".into(),
            )),
        }
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_multibase())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_multibase())
    }
}

impl std::str::FromStr for PublicKey {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_multibase(s)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_multibase())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::from_multibase(&s).map_err(serde::de::Error::custom)
    }
}

/// An Ed25519 signature. Its text form is unpadded base64url.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 64]);

impl Signature {
    pub fn from_bytes(bytes: &[u8; 64]) -> Self {
        Self(*bytes)
    }

    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        let arr: [u8; 64] = bytes.try_into().map_err(|_| {
            CryptoError::Encoding(format!("signature must be 64 bytes, got {}", bytes.len()))
        })?;
        Ok(Self(arr))
    }

    pub fn to_bytes(&self) -> [u8; 64] {
        self.0
    }

    pub fn to_base64url(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.0)
    }

    pub fn from_base64url(s: &str) -> Result<Self, CryptoError> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|e| CryptoError::Encoding(format!("base64url: {e}")))?;
        Self::from_slice(&raw)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_base64url())
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base64url())
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::from_base64url(&s).map_err(serde::de::Error::custom)
    }
}

/// An Ed25519 secret key (its 32-byte seed). Zeroized on drop; compared in constant time;
/// never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(*seed)
    }

    /// A fresh key from the operating system's random source.
    pub fn generate<R: rand_core::CryptoRng + rand_core::RngCore + ?Sized>(rng: &mut R) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let key = Self(seed);
        seed.zeroize();
        key
    }

    pub fn to_seed_bytes(&self) -> [u8; 32] {
        self.0
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(SigningKey::from_bytes(&self.0).verifying_key().to_bytes())
    }

    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature(SigningKey::from_bytes(&self.0).sign(msg).to_bytes())
    }

    /// `z` + base58btc(0x8026 ‖ seed): the multibase secret-key form used in key files.
    pub fn to_multibase(&self) -> String {
        let mut buf = Vec::with_capacity(34);
        buf.extend_from_slice(&ED25519_PRIV_MULTICODEC);
        buf.extend_from_slice(&self.0);
        let s = format!("z{}", bs58::encode(&buf).into_string());
        buf.zeroize();
        s
    }

    pub fn from_multibase(s: &str) -> Result<Self, CryptoError> {
        let rest = s.trim().strip_prefix('z').ok_or_else(|| {
            CryptoError::Encoding("multibase secret key must start with 'z'".into())
        })?;
        let mut raw = bs58::decode(rest)
            .into_vec()
            .map_err(|e| CryptoError::Encoding(format!("base58btc: {e}")))?;
        let out = match raw.split_first_chunk::<2>() {
            Some((prefix, seed)) if *prefix == ED25519_PRIV_MULTICODEC && seed.len() == 32 => {
                let mut arr = [0u8; 32];
                arr.copy_from_slice(seed);
                let k = Self(arr);
                arr.zeroize();
                Ok(k)
            }
            _ => Err(CryptoError::Encoding(
                "not an ed25519-priv multibase secret key (expected prefix 0x8026 and 32 bytes)"
                    .into(),
            )),
        };
        raw.zeroize();
        out
    }
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}
impl Eq for SecretKey {}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public: {})", self.public_key())
    }
}

/// SHA-256.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multikey_round_trip_matches_did_key_vector() {
        // did:key test vector (w3c-ccg/did-method-key): the multikey is the did:key suffix.
        let mk = "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";
        let pk = PublicKey::from_multibase(mk).unwrap();
        assert_eq!(pk.to_multibase(), mk);
    }

    #[test]
    fn secret_key_multibase_matches_vc_di_eddsa_vector() {
        let sk =
            SecretKey::from_multibase("z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq").unwrap();
        assert_eq!(
            sk.public_key().to_multibase(),
            "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
        );
        assert_eq!(SecretKey::from_multibase(&sk.to_multibase()).unwrap(), sk);
    }

    #[test]
    fn weak_and_invalid_keys_are_refused() {
        // The identity point (small order) and a non-point encoding.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = PublicKey::from_bytes(&identity).unwrap();
        assert_eq!(weak.validate().unwrap_err(), CryptoError::WeakPublicKey);
        let sig = SecretKey::from_seed(&[1; 32]).sign(b"m");
        assert!(weak.verify(b"m", &sig).is_err());
        // About half of all y coordinates are not on the curve.
        let invalid = (2u8..40)
            .filter(|y| {
                let mut b = [0u8; 32];
                b[0] = *y;
                PublicKey::from_bytes(&b).unwrap().validate() == Err(CryptoError::InvalidPublicKey)
            })
            .count();
        assert!(invalid > 5);
    }

    #[test]
    fn a_remembered_key_check_gives_the_same_outcome() {
        // The second check of each key is answered from the memo.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = PublicKey::from_bytes(&identity).unwrap();
        let good = SecretKey::from_seed(&[9; 32]).public_key();
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        let off_curve = PublicKey::from_bytes(&off_curve).unwrap();
        for _ in 0..2 {
            assert_eq!(weak.validate().unwrap_err(), CryptoError::WeakPublicKey);
            assert_eq!(good.validate().unwrap().as_bytes(), good.as_bytes());
            assert_eq!(
                off_curve.validate(),
                PublicKey::validate_uncached(off_curve.as_bytes())
            );
        }
        // Verification with a remembered key still checks the signature.
        let sig = SecretKey::from_seed(&[9; 32]).sign(b"m");
        good.verify(b"m", &sig).unwrap();
        assert_eq!(good.verify(b"n", &sig), Err(CryptoError::BadSignature));
    }

    #[test]
    fn rejects_wrong_multicodec_and_bad_text() {
        assert!(
            PublicKey::from_multibase("6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp").is_err()
        );
        assert!(
            PublicKey::from_multibase("z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq").is_err()
        );
        assert!(PublicKey::from_multibase("z0OIl").is_err());
        assert!(Signature::from_base64url("AAAA").is_err());
    }

    #[test]
    fn sign_verify_and_tamper() {
        let sk = SecretKey::from_seed(&[7u8; 32]);
        let pk = sk.public_key();
        let sig = sk.sign(b"hello");
        pk.verify(b"hello", &sig).unwrap();
        assert_eq!(pk.verify(b"hellO", &sig), Err(CryptoError::BadSignature));
        let mut bytes = sig.to_bytes();
        bytes[0] ^= 1;
        assert!(pk.verify(b"hello", &Signature::from_bytes(&bytes)).is_err());
    }

    #[test]
    fn secret_debug_does_not_leak_seed() {
        let sk = SecretKey::from_seed(&[9u8; 32]);
        let shown = format!("{sk:?}");
        assert!(!shown.contains("9, 9"));
        assert!(shown.contains("z6Mk"));
    }
}
