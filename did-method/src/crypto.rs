//! Ed25519 keys and signatures, and their `Multikey` / multibase text forms.
//!
//! One rule judges every signature, so a signature that one node accepts every other node
//! and every verifier accepts too, whether it is checked alone or in a batch:
//!
//! - the public key must decode to a curve point that is not of small order (a weak key
//!   would let anyone sign for it); [`PublicKey::validate`] checks this wherever a key
//!   enters the registry, and every verification checks it again;
//! - the signature must satisfy the **ZIP 215** rules (Zcash's consensus rules for Ed25519,
//!   also CometBFT's): `S` canonical, `R` any point encoding, and the cofactored equation
//!   `[8][S]B = [8]R + [8][k]A`. Unlike the cofactorless check of RFC 8032, these rules give
//!   the same answer for one signature and for a batch, and a batch costs about 60 % of
//!   checking its signatures one by one ([`BatchVerifier`]). ADR 0012 gives the why.
//!
//! Every signature RFC 8032 accepts, this rule accepts. What it accepts beyond that can only
//! be made by the key's holder (a point of small order added to `R`, or `R` in a
//! non-canonical encoding), so it forges nothing.

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

/// A bounded, process-wide memo of [`PublicKey::validate`]: key bytes → why the key was
/// refused, or that it is valid and, once a signature has been checked alone with it, its
/// decompressed form. Pure memoization (the result depends on the bytes alone), so it
/// changes no outcome. When full it is emptied; a flood of fresh keys makes it no slower
/// than no memo at all.
struct KeyMemo;

/// Keys remembered at most (a few MB at most): enough for every key in flight in a
/// registry node's mempool at saturation, so a key validated at admission is still known
/// when its block executes.
const KEY_MEMO_CAPACITY: usize = 16_384;

type KeyMemoMap = std::collections::HashMap<
    [u8; 32],
    Result<Option<ed25519_zebra::VerificationKey>, CryptoError>,
>;

static KEY_MEMO: std::sync::LazyLock<std::sync::Mutex<KeyMemoMap>> =
    std::sync::LazyLock::new(|| std::sync::Mutex::new(KeyMemoMap::new()));

impl KeyMemo {
    fn remembered(
        bytes: &[u8; 32],
    ) -> Option<Result<Option<ed25519_zebra::VerificationKey>, CryptoError>> {
        KEY_MEMO.lock().ok()?.get(bytes).cloned()
    }

    fn remember(
        bytes: &[u8; 32],
        known: Result<Option<ed25519_zebra::VerificationKey>, CryptoError>,
    ) {
        if let Ok(mut memo) = KEY_MEMO.lock() {
            if memo.len() >= KEY_MEMO_CAPACITY {
                memo.clear();
            }
            memo.insert(*bytes, known);
        }
    }

    /// What can be said of a key without decompressing it, for a batch about to check a
    /// signature by it: the memo's verdict if it has one; else a weak key (of small order)
    /// is refused from its encoding alone; else `Ok(false)`: whether the key decodes is
    /// left to the batch, which fails if it does not (the signature is then checked alone,
    /// with [`KeyMemo::check`], for its reason).
    fn screen(bytes: &[u8; 32]) -> Result<bool, CryptoError> {
        if let Some(known) = Self::remembered(bytes) {
            return known.map(|_| true);
        }
        if PublicKey::has_small_order_encoding(bytes) {
            Self::remember(bytes, Err(CryptoError::WeakPublicKey));
            return Err(CryptoError::WeakPublicKey);
        }
        Ok(false)
    }

    /// Remembers as valid keys a batch has just verified: the batch decompressed each (it
    /// fails on one that does not decode), and [`KeyMemo::screen`] refused those of small
    /// order. What is known already is kept.
    fn remember_verified(keys: &[[u8; 32]]) {
        if let Ok(mut memo) = KEY_MEMO.lock() {
            if memo.len() + keys.len() > KEY_MEMO_CAPACITY {
                memo.clear();
            }
            for k in keys {
                memo.entry(*k).or_insert(Ok(None));
            }
        }
    }

    /// Whether the key is valid (one point decompression the first time).
    fn check(bytes: &[u8; 32]) -> Result<(), CryptoError> {
        if let Some(known) = Self::remembered(bytes) {
            return known.map(|_| ());
        }
        let result = PublicKey::validate_uncached(bytes);
        Self::remember(bytes, result.clone().map(|()| None));
        result
    }

    /// The decompressed key for checking a signature alone.
    fn verifying_key(bytes: &[u8; 32]) -> Result<ed25519_zebra::VerificationKey, CryptoError> {
        match Self::remembered(bytes) {
            Some(Ok(Some(vk))) => return Ok(vk),
            Some(Err(e)) => return Err(e),
            Some(Ok(None)) => {}
            None => PublicKey::validate_uncached(bytes).inspect_err(|e| {
                Self::remember(bytes, Err(e.clone()));
            })?,
        }
        let vk = ed25519_zebra::VerificationKey::try_from(*bytes)
            .map_err(|_| CryptoError::InvalidPublicKey)?;
        Self::remember(bytes, Ok(Some(vk)));
        Ok(vk)
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
    pub fn validate(&self) -> Result<(), CryptoError> {
        KeyMemo::check(&self.0)
    }

    /// What [`BatchVerifier::queue`] checks of a key: refused when weak or known invalid;
    /// whether it decodes is left to the batch.
    pub fn screen(&self) -> Result<(), CryptoError> {
        KeyMemo::screen(&self.0).map(|_| ())
    }

    /// Whether `bytes` encode one of the eight points of small order (the weak keys
    /// [`PublicKey::validate`] refuses), decided from the encoding alone. A point's order
    /// divides 8 exactly when its y coordinate is one of theirs (x only picks the sign), so
    /// the sign bit is ignored and y is compared, in each encoding that decodes to it
    /// (y + p too, for the y below 19 that have one). Checked against decompression in
    /// the tests.
    pub fn has_small_order_encoding(bytes: &[u8; 32]) -> bool {
        static SMALL_ORDER_Y: std::sync::LazyLock<Vec<[u8; 32]>> = std::sync::LazyLock::new(|| {
            // p = 2^255 - 19, little-endian.
            let mut p = [0xff; 32];
            p[0] = 0xed;
            p[31] = 0x7f;
            let mut ys: Vec<[u8; 32]> = Vec::new();
            for point in curve25519_dalek::constants::EIGHT_TORSION {
                let mut y = point.compress().to_bytes();
                y[31] &= 0x7f;
                if !ys.contains(&y) {
                    ys.push(y);
                }
                if y[1..].iter().all(|b| *b == 0) && y[0] < 19 {
                    let mut beyond = p;
                    beyond[0] += y[0];
                    ys.push(beyond);
                }
            }
            ys
        });
        let mut y = *bytes;
        y[31] &= 0x7f;
        SMALL_ORDER_Y.contains(&y)
    }

    fn validate_uncached(bytes: &[u8; 32]) -> Result<(), CryptoError> {
        let vk = VerifyingKey::from_bytes(bytes).map_err(|_| CryptoError::InvalidPublicKey)?;
        if vk.is_weak() {
            return Err(CryptoError::WeakPublicKey);
        }
        Ok(())
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

    /// Verifies `sig` over `msg` under the rule of this module (a valid key not of small
    /// order, then ZIP 215). To check many signatures, [`BatchVerifier`] is faster and
    /// gives the same answer.
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> Result<(), CryptoError> {
        let vk = KeyMemo::verifying_key(&self.0)?;
        vk.verify(&ed25519_zebra::Signature::from(sig.0), msg)
            .map_err(|_| CryptoError::BadSignature)
    }

    /// `z` + base58btc(0xed01 ‖ key): the `publicKeyMultibase` of a `Multikey`.
    pub fn to_multibase(&self) -> String {
        self.with_multibase(str::to_owned)
    }

    /// Calls `f` with the multibase text of this key. Base58 costs about a microsecond per
    /// key, and the same keys are written again and again (a document's keys at admission,
    /// at execution, in every stored record), so recent texts are remembered
    /// ([`MultibaseMemo`]).
    pub fn with_multibase<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        let text = MultibaseMemo::text(&self.0);
        f(text.as_str())
    }
}

/// The multibase text of an Ed25519 key, on the stack (47 bytes; room for 50). Bytes past
/// `len` are zero, so equal texts are equal values.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct MultibaseText {
    len: u8,
    bytes: [u8; 50],
}

impl MultibaseText {
    fn encode(key: &[u8; 32]) -> Self {
        let mut buf = [0u8; 34];
        buf[..2].copy_from_slice(&ED25519_PUB_MULTICODEC);
        buf[2..].copy_from_slice(key);
        let mut bytes = [0u8; 50];
        bytes[0] = b'z';
        // base58 of 34 bytes is at most 47 characters, so it always fits.
        let n = bs58::encode(buf).onto(&mut bytes[1..]).unwrap_or(0);
        Self {
            len: (n + 1) as u8,
            bytes,
        }
    }

    /// `text` held as a value, if it fits.
    fn of(text: &str) -> Option<Self> {
        let mut bytes = [0u8; 50];
        bytes
            .get_mut(..text.len())?
            .copy_from_slice(text.as_bytes());
        Some(Self {
            len: text.len() as u8,
            bytes,
        })
    }

    fn as_str(&self) -> &str {
        // Only 'z' and base58 characters were written, or a `&str` copied whole: UTF-8.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

/// A bounded, process-wide memo of key → multibase text, emptied when full. Pure
/// memoization: the text depends on the key alone.
struct MultibaseMemo;

const MULTIBASE_MEMO_CAPACITY: usize = 16_384;

static MULTIBASE_MEMO: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<[u8; 32], MultibaseText>>,
> = std::sync::LazyLock::new(Default::default);

/// The other way: multibase text → key, for texts that decoded to a key. The same keys are
/// read again and again (an operation names its controller key as `initialKey`, in its
/// document and beside its signature; a registrar's key is in every create it endorses).
static MULTIBASE_DECODED: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<MultibaseText, [u8; 32]>>,
> = std::sync::LazyLock::new(Default::default);

impl MultibaseMemo {
    fn key(
        text: &str,
        decode: impl FnOnce() -> Result<PublicKey, CryptoError>,
    ) -> Result<PublicKey, CryptoError> {
        let Some(t) = MultibaseText::of(text) else {
            return decode();
        };
        if let Some(k) = MULTIBASE_DECODED
            .lock()
            .ok()
            .and_then(|m| m.get(&t).copied())
        {
            return Ok(PublicKey(k));
        }
        let key = decode()?;
        if let Ok(mut memo) = MULTIBASE_DECODED.lock() {
            if memo.len() >= MULTIBASE_MEMO_CAPACITY {
                memo.clear();
            }
            memo.insert(t, key.0);
        }
        Ok(key)
    }

    fn text(key: &[u8; 32]) -> MultibaseText {
        if let Some(t) = MULTIBASE_MEMO.lock().ok().and_then(|m| m.get(key).copied()) {
            return t;
        }
        let t = MultibaseText::encode(key);
        if let Ok(mut memo) = MULTIBASE_MEMO.lock() {
            if memo.len() >= MULTIBASE_MEMO_CAPACITY {
                memo.clear();
            }
            memo.insert(*key, t);
        }
        t
    }
}

impl PublicKey {
    /// Reads a `z`-prefixed base58btc `ed25519-pub` multikey (remembered: see
    /// [`MultibaseMemo`]).
    pub fn from_multibase(s: &str) -> Result<Self, CryptoError> {
        MultibaseMemo::key(s, || Self::decode_multibase(s))
    }

    fn decode_multibase(s: &str) -> Result<Self, CryptoError> {
        let rest = s.strip_prefix('z').ok_or_else(|| {
            CryptoError::Encoding("multibase key must start with 'z' (base58btc)".into())
        })?;
        // Decoded on the stack: an Ed25519 multikey is 34 bytes.
        let mut buf = [0u8; 34];
        let len = match bs58::decode(rest).onto(&mut buf[..]) {
            Ok(n) => n,
            Err(bs58::decode::Error::BufferTooSmall) => {
                return Err(CryptoError::Encoding(
                    "an ed25519-pub multikey is 34 bytes; this one is longer".into(),
                ));
            }
            Err(e) => return Err(CryptoError::Encoding(format!("base58btc: {e}"))),
        };
        match buf[..len].split_first_chunk::<2>() {
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
        self.with_multibase(|t| s.serialize_str(t))
    }
}

/// Reads a text form from a JSON string without copying it first.
struct TextVisitor<T>(&'static str, fn(&str) -> Result<T, CryptoError>);

impl<T> serde::de::Visitor<'_> for TextVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        (self.1)(v).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(TextVisitor(
            "a multibase Ed25519 public key",
            Self::from_multibase,
        ))
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
        d.deserialize_str(TextVisitor(
            "a base64url Ed25519 signature",
            Self::from_base64url,
        ))
    }
}

/// Checks many signatures at once: one multi-scalar multiplication instead of one
/// double-scalar multiplication per signature, and signatures by the same key share its
/// term (a registrar endorses every create it forwards).
///
/// The answer is all-or-nothing and is the same as [`PublicKey::verify`] on each signature
/// (ZIP 215 makes single and batch checks agree); when a batch fails, check its signatures
/// one by one to learn which. The batch's random coefficients come from a hash of
/// everything queued, so the outcome is deterministic and needs no random source.
pub struct BatchVerifier {
    inner: ed25519_zebra::batch::Verifier,
    transcript: sha2::Sha256,
    len: usize,
    /// Keys queued that were not known valid: remembered as valid if the batch verifies.
    unproven_keys: Vec<[u8; 32]>,
}

impl Default for BatchVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchVerifier {
    pub fn new() -> Self {
        use sha2::Digest as _;
        Self {
            inner: ed25519_zebra::batch::Verifier::new(),
            transcript: sha2::Sha256::new_with_prefix(b"alliance-id ed25519 batch v1"),
            len: 0,
            unproven_keys: Vec::new(),
        }
    }

    /// Queues `sig` over `msg` by `key`. A weak key (of small order), or one known to be
    /// invalid, is refused here and not queued. A key whose encoding does not decode to a
    /// point at all makes [`BatchVerifier::verify`] fail: the caller then checks each
    /// signature alone ([`PublicKey::verify`]), which names it. (Decompressing each new key
    /// here as well as in the batch was 2 % of a registry node's work.)
    pub fn queue(
        &mut self,
        key: &PublicKey,
        msg: &[u8],
        sig: &Signature,
    ) -> Result<(), CryptoError> {
        use sha2::Digest as _;
        if !KeyMemo::screen(&key.0)? {
            self.unproven_keys.push(key.0);
        }
        self.transcript.update(key.0);
        self.transcript.update(sig.0);
        self.transcript.update((msg.len() as u64).to_le_bytes());
        self.transcript.update(msg);
        self.inner.queue((
            ed25519_zebra::VerificationKeyBytes::from(key.0),
            ed25519_zebra::Signature::from(sig.0),
            msg,
        ));
        self.len += 1;
        Ok(())
    }

    /// Signatures queued.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `Ok` when every queued signature verifies (an empty batch verifies).
    pub fn verify(self) -> Result<(), CryptoError> {
        use rand_core::SeedableRng as _;
        use sha2::Digest as _;
        if self.len == 0 {
            return Ok(());
        }
        let seed: [u8; 32] = self.transcript.finalize().into();
        self.inner
            .verify(rand_chacha::ChaCha20Rng::from_seed(seed))
            .map_err(|_| CryptoError::BadSignature)?;
        KeyMemo::remember_verified(&self.unproven_keys);
        Ok(())
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
mod tests;
