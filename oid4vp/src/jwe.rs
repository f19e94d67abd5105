//! Encrypted responses (`direct_post.jwt`, OpenID4VP 1.0 §8.3): the wallet encrypts its answer
//! to a key the verifier put in the request's `client_metadata.jwks`, as a JWE (RFC 7516) in
//! compact serialization: key agreement `ECDH-ES` on P-256 with a fresh ephemeral key of the
//! wallet (RFC 7518 §4.6; the Concat KDF's output is the content key), content encryption
//! `A128GCM` or `A256GCM`. The verifier keeps one such key per request, so an answer sniffed
//! on the way (a proxy that terminates TLS, a log of request bodies) reveals nothing.
//!
//! Only this profile is read: another `alg`, an `enc` not offered, a `kid` not the request's,
//! a `zip`, a `crit`, or a header too large are refused before any key agreement.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::elliptic_curve::sec1::{EncodedPoint, FromEncodedPoint, ToEncodedPoint};
use p256::{NistP256, PublicKey, SecretKey};
use rand_core::CryptoRngCore;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::MessageError;

/// The key agreement of this profile.
pub const ALG: &str = "ECDH-ES";
/// The longest protected header read.
const MAX_HEADER: usize = 4096;

/// A content encryption algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enc {
    A128Gcm,
    A256Gcm,
}

impl Enc {
    pub fn name(self) -> &'static str {
        match self {
            Self::A128Gcm => "A128GCM",
            Self::A256Gcm => "A256GCM",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "A128GCM" => Some(Self::A128Gcm),
            "A256GCM" => Some(Self::A256Gcm),
            _ => None,
        }
    }

    fn key_len(self) -> usize {
        match self {
            Self::A128Gcm => 16,
            Self::A256Gcm => 32,
        }
    }
}

fn bad(why: impl Into<String>) -> MessageError {
    MessageError::malformed("encrypted response", why)
}

/// The content key: Concat KDF (NIST SP 800-56A, one SHA-256 round per 256 bits) over the
/// shared secret `z`, with RFC 7518 §4.6.2's other info (`enc` as the algorithm id, `apu`,
/// `apv`, the key length in bits).
fn content_key(
    z: &[u8],
    enc: Enc,
    apu: &[u8],
    apv: &[u8],
) -> Result<Zeroizing<Vec<u8>>, MessageError> {
    let field = |b: &[u8]| {
        let mut out = (b.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(b);
        out
    };
    let mut info = field(enc.name().as_bytes());
    info.extend(field(apu));
    info.extend(field(apv));
    info.extend(((enc.key_len() * 8) as u32).to_be_bytes());
    let mut key = Zeroizing::new(vec![0u8; enc.key_len()]);
    concat_kdf::derive_key_into::<sha2::Sha256>(z, &info, &mut key)
        .map_err(|_| bad("the key derivation failed"))?;
    Ok(key)
}

fn seal(enc: Enc, key: &[u8], iv: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Option<Vec<u8>> {
    let payload = Payload {
        msg: plaintext,
        aad,
    };
    match enc {
        Enc::A128Gcm => Aes128Gcm::new_from_slice(key)
            .ok()?
            .encrypt(Nonce::from_slice(iv), payload)
            .ok(),
        Enc::A256Gcm => Aes256Gcm::new_from_slice(key)
            .ok()?
            .encrypt(Nonce::from_slice(iv), payload)
            .ok(),
    }
}

fn open(enc: Enc, key: &[u8], iv: &[u8], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if iv.len() != 12 {
        return None;
    }
    let payload = Payload { msg: sealed, aad };
    match enc {
        Enc::A128Gcm => Aes128Gcm::new_from_slice(key)
            .ok()?
            .decrypt(Nonce::from_slice(iv), payload)
            .ok(),
        Enc::A256Gcm => Aes256Gcm::new_from_slice(key)
            .ok()?
            .decrypt(Nonce::from_slice(iv), payload)
            .ok(),
    }
}

/// A P-256 public key as a JWK's members.
fn public_jwk(key: &PublicKey) -> Value {
    let point = key.to_encoded_point(false);
    json!({
        "kty": "EC",
        "crv": "P-256",
        "x": B64.encode(point.x().map(|x| x.as_slice()).unwrap_or_default()),
        "y": B64.encode(point.y().map(|y| y.as_slice()).unwrap_or_default()),
    })
}

/// A P-256 public key from a JWK (`kty` EC, `crv` P-256); a point not on the curve is refused.
pub fn jwk_public_key(jwk: &Value) -> Result<PublicKey, MessageError> {
    if jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
        return Err(bad("the key is not an EC P-256 key"));
    }
    let coordinate = |name: &str| -> Result<[u8; 32], MessageError> {
        let text = jwk[name]
            .as_str()
            .ok_or_else(|| bad(format!("the key has no {name}")))?;
        let bytes = B64
            .decode(text)
            .map_err(|_| bad(format!("the key's {name} is not base64url")))?;
        bytes
            .try_into()
            .map_err(|_| bad(format!("the key's {name} is not 32 bytes")))
    };
    let (x, y) = (coordinate("x")?, coordinate("y")?);
    let point = EncodedPoint::<NistP256>::from_affine_coordinates(&x.into(), &y.into(), false);
    Option::from(PublicKey::from_encoded_point(&point))
        .ok_or_else(|| bad("the key is not a point of P-256"))
}

/// Encrypts `plaintext` to `recipient` (a JWK from the request's `jwks`, with its `kid`), with
/// a fresh ephemeral key.
pub fn encrypt(
    plaintext: &[u8],
    recipient: &Value,
    enc: Enc,
    rng: &mut impl CryptoRngCore,
) -> Result<String, MessageError> {
    let public = jwk_public_key(recipient)?;
    let ephemeral = p256::ecdh::EphemeralSecret::random(rng);
    let z = ephemeral.diffie_hellman(&public);
    let key = content_key(z.raw_secret_bytes(), enc, b"", b"")?;
    let mut header =
        json!({"alg": ALG, "enc": enc.name(), "epk": public_jwk(&ephemeral.public_key())});
    if let Some(kid) = recipient["kid"].as_str() {
        header["kid"] = json!(kid);
    }
    let protected = B64.encode(serde_json::to_vec(&header).map_err(|e| bad(e.to_string()))?);
    let mut iv = [0u8; 12];
    rng.fill_bytes(&mut iv);
    let sealed = seal(enc, &key, &iv, protected.as_bytes(), plaintext)
        .ok_or_else(|| bad("the encryption failed"))?;
    let (ciphertext, tag) = sealed.split_at(sealed.len() - 16);
    Ok(format!(
        "{protected}..{}.{}.{}",
        B64.encode(iv),
        B64.encode(ciphertext),
        B64.encode(tag)
    ))
}

/// The verifier's key for the encrypted answers to one request.
pub struct DecryptionKey {
    secret: SecretKey,
    kid: String,
}

impl DecryptionKey {
    pub fn generate(kid: impl Into<String>, rng: &mut impl CryptoRngCore) -> Self {
        Self {
            secret: SecretKey::random(rng),
            kid: kid.into(),
        }
    }

    /// The public key as a JWK for `client_metadata.jwks` (`use` enc, `alg` ECDH-ES, `kid`).
    pub fn public_jwk(&self) -> Value {
        let mut jwk = public_jwk(&self.secret.public_key());
        jwk["use"] = json!("enc");
        jwk["alg"] = json!(ALG);
        jwk["kid"] = json!(self.kid);
        jwk
    }

    /// The plaintext of `compact`, encrypted to this key with one of `accepted`, at most
    /// `max_len` bytes of JWE read.
    pub fn decrypt(
        &self,
        compact: &str,
        accepted: &[Enc],
        max_len: usize,
    ) -> Result<Vec<u8>, MessageError> {
        if compact.len() > max_len {
            return Err(MessageError::TooLarge {
                what: "encrypted response",
                size: compact.len(),
                max: max_len,
            });
        }
        let parts: Vec<&str> = compact.split('.').collect();
        let [protected, encrypted_key, iv, ciphertext, tag] = parts[..] else {
            return Err(bad("a JWE in compact serialization has five parts"));
        };
        if protected.len() > MAX_HEADER {
            return Err(bad("the header is too large"));
        }
        if !encrypted_key.is_empty() {
            return Err(bad(
                "ECDH-ES (direct key agreement) carries no encrypted key",
            ));
        }
        let decode = |what: &str, s: &str| {
            B64.decode(s)
                .map_err(|_| bad(format!("its {what} is not base64url")))
        };
        let header: Value = serde_json::from_slice(&decode("header", protected)?)
            .map_err(|_| bad("its header is not JSON"))?;
        if header["alg"] != ALG {
            return Err(bad(format!("alg must be {ALG}")));
        }
        let enc = header["enc"]
            .as_str()
            .and_then(Enc::from_name)
            .filter(|e| accepted.contains(e))
            .ok_or_else(|| bad("its enc is not one this request offered"))?;
        if header.get("zip").is_some() || header.get("crit").is_some() {
            return Err(bad("zip and crit are not accepted"));
        }
        if header.get("kid").is_some_and(|k| k != self.kid.as_str()) {
            return Err(bad("it names another key than this request's"));
        }
        let epk = jwk_public_key(&header["epk"])?;
        let z = p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), epk.as_affine());
        let apu = match header["apu"].as_str() {
            Some(a) => decode("apu", a)?,
            None => vec![],
        };
        let apv = match header["apv"].as_str() {
            Some(a) => decode("apv", a)?,
            None => vec![],
        };
        let key = content_key(z.raw_secret_bytes(), enc, &apu, &apv)?;
        let mut sealed = decode("ciphertext", ciphertext)?;
        let tag = decode("tag", tag)?;
        if tag.len() != 16 {
            return Err(bad("its tag is not 16 bytes"));
        }
        sealed.extend_from_slice(&tag);
        open(enc, &key, &decode("iv", iv)?, protected.as_bytes(), &sealed)
            .ok_or(MessageError::Decryption)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng() -> impl CryptoRngCore {
        rand_core::OsRng
    }

    /// RFC 7518 Appendix C: the example ECDH-ES key agreement (P-256, A128GCM, apu "Alice",
    /// apv "Bob") derives `VqqN6vgjbSBcIijNcacQGg`.
    #[test]
    fn the_key_agreement_of_rfc_7518_appendix_c() {
        let d = |s: &str| SecretKey::from_slice(&B64.decode(s).unwrap()).unwrap();
        let alice = d("0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo");
        let bob = d("VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw");
        let bob_public = jwk_public_key(&json!({"kty": "EC", "crv": "P-256",
            "x": "weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ",
            "y": "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck"}))
        .unwrap();
        assert_eq!(bob_public, bob.public_key());
        let alice_public = public_jwk(&alice.public_key());
        assert_eq!(
            alice_public["x"],
            "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0"
        );
        assert_eq!(
            alice_public["y"],
            "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"
        );
        let z = p256::ecdh::diffie_hellman(alice.to_nonzero_scalar(), bob_public.as_affine());
        let key = content_key(z.raw_secret_bytes(), Enc::A128Gcm, b"Alice", b"Bob").unwrap();
        assert_eq!(B64.encode(&key[..]), "VqqN6vgjbSBcIijNcacQGg");
    }

    #[test]
    fn an_answer_encrypted_to_the_requests_key_decrypts_only_with_it() {
        let key = DecryptionKey::generate("req-1", &mut rng());
        let other = DecryptionKey::generate("req-1", &mut rng());
        for enc in [Enc::A128Gcm, Enc::A256Gcm] {
            let jwe = encrypt(b"vp_token=...", &key.public_jwk(), enc, &mut rng()).unwrap();
            assert_eq!(key.decrypt(&jwe, &[enc], 1 << 20).unwrap(), b"vp_token=...");
            assert_eq!(
                other.decrypt(&jwe, &[enc], 1 << 20),
                Err(MessageError::Decryption)
            );
            let offered = if enc == Enc::A128Gcm {
                Enc::A256Gcm
            } else {
                Enc::A128Gcm
            };
            assert!(key.decrypt(&jwe, &[offered], 1 << 20).is_err());
            assert!(matches!(
                key.decrypt(&jwe, &[enc], 10),
                Err(MessageError::TooLarge { .. })
            ));
        }
    }

    #[test]
    fn a_changed_header_iv_ciphertext_or_tag_is_refused() {
        let key = DecryptionKey::generate("k", &mut rng());
        let jwe = encrypt(
            b"secret answer",
            &key.public_jwk(),
            Enc::A128Gcm,
            &mut rng(),
        )
        .unwrap();
        let parts: Vec<&str> = jwe.split('.').collect();
        for i in [0usize, 2, 3, 4] {
            let mut changed: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
            let mut bytes = B64.decode(&changed[i]).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
            changed[i] = B64.encode(bytes);
            assert!(
                key.decrypt(&changed.join("."), &[Enc::A128Gcm], 1 << 20)
                    .is_err(),
                "part {i}"
            );
        }
        let mut wrong_kid: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
        let mut header: Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
        header["kid"] = json!("another");
        wrong_kid[0] = B64.encode(serde_json::to_vec(&header).unwrap());
        assert!(
            key.decrypt(&wrong_kid.join("."), &[Enc::A128Gcm], 1 << 20)
                .is_err()
        );
        assert!(key.decrypt("a.b.c", &[Enc::A128Gcm], 1 << 20).is_err());
        // A point off the curve as the ephemeral key.
        assert!(
            jwk_public_key(&json!({"kty": "EC", "crv": "P-256",
            "x": B64.encode([1u8; 32]), "y": B64.encode([2u8; 32])}))
            .is_err()
        );
    }
}
