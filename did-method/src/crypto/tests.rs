//! Tests of the key and signature primitives: multibase and multikey encodings (and their
//! memos), weak and small-order keys, signing and verification alone and in a batch.

use super::*;

/// Whether dalek, decompressing, finds the bytes a point of small order.
fn small_order_by_decompression(bytes: &[u8; 32]) -> Option<bool> {
    curve25519_dalek::edwards::CompressedEdwardsY(*bytes)
        .decompress()
        .map(|p| p.is_small_order())
}

#[test]
fn small_order_is_told_from_the_encoding_as_decompression_tells_it() {
    let mut p = [0xff; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    let mut cases: Vec<[u8; 32]> = Vec::new();
    // Every encoding of a small-order point: canonical, sign bit flipped, y + p.
    for point in curve25519_dalek::constants::EIGHT_TORSION {
        let canonical = point.compress().to_bytes();
        for sign in [0, 0x80] {
            let mut b = canonical;
            b[31] = (b[31] & 0x7f) | sign;
            cases.push(b);
            if b[1..31].iter().all(|x| *x == 0) && b[31] & 0x7f == 0 && b[0] < 19 {
                let mut beyond = p;
                beyond[0] += b[0];
                beyond[31] |= sign;
                cases.push(beyond);
            }
        }
    }
    let small = cases.len();
    // Every y from p to 2^255 - 1 (the non-canonical ones), both signs, and keys
    // around them; real keys; random bytes (about half do not decode).
    for y0 in 0..19u8 {
        for sign in [0, 0x80] {
            let mut b = p;
            b[0] += y0;
            b[31] |= sign;
            cases.push(b);
        }
    }
    for i in 0..=255u8 {
        cases.push(SecretKey::from_seed(&[i; 32]).public_key().to_bytes());
        let mut b = [i; 32];
        b[0] = i.wrapping_mul(7);
        cases.push(b);
        let mut b = [0; 32];
        b[0] = i;
        cases.push(b);
    }
    let mut seen_small = 0;
    for b in &cases {
        let by_encoding = PublicKey::has_small_order_encoding(b);
        match small_order_by_decompression(b) {
            Some(is_small) => assert_eq!(by_encoding, is_small, "{}", hex::encode(b)),
            // Not a point: nothing of small order either.
            None => assert!(!by_encoding, "{}", hex::encode(b)),
        }
        seen_small += usize::from(by_encoding);
    }
    assert!(seen_small >= small, "{seen_small} of {small}");
    // validate refuses exactly those as weak, the rest as it did.
    for b in &cases {
        let expected = PublicKey::validate_uncached(b);
        let key = PublicKey(*b);
        assert_eq!(key.validate(), expected);
        if PublicKey::has_small_order_encoding(b) {
            assert_eq!(key.screen(), Err(CryptoError::WeakPublicKey));
        }
    }
}

#[test]
fn a_key_that_does_not_decode_fails_its_batch_and_is_named_alone() {
    // y = 2 is not on the curve.
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    assert!(small_order_by_decompression(&not_a_point).is_none());
    let key = PublicKey(not_a_point);
    let good = SecretKey::from_seed(&[5; 32]);
    let sig = good.sign(b"m");
    let mut batch = BatchVerifier::new();
    batch.queue(&good.public_key(), b"m", &sig).unwrap();
    batch.queue(&key, b"m", &sig).unwrap();
    assert_eq!(batch.verify(), Err(CryptoError::BadSignature));
    assert_eq!(key.verify(b"m", &sig), Err(CryptoError::InvalidPublicKey));
    assert_eq!(key.validate(), Err(CryptoError::InvalidPublicKey));
    // A batch that verifies makes its keys known valid: what validate then says.
    let fresh = SecretKey::from_seed(&[6; 32]);
    let mut batch = BatchVerifier::new();
    batch
        .queue(&fresh.public_key(), b"n", &fresh.sign(b"n"))
        .unwrap();
    batch.verify().unwrap();
    assert_eq!(fresh.public_key().validate(), Ok(()));
}

#[test]
fn multikey_round_trip_matches_did_key_vector() {
    // did:key test vector (w3c-ccg/did-method-key): the multikey is the did:key suffix.
    let mk = "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";
    let pk = PublicKey::from_multibase(mk).unwrap();
    assert_eq!(pk.to_multibase(), mk);
    // The second time the text comes from the memo, and is the same.
    assert_eq!(pk.to_multibase(), mk);
    assert_eq!(serde_json::to_string(&pk).unwrap(), format!("\"{mk}\""));
}

#[test]
fn remembered_multibase_texts_are_the_encodings_of_their_keys() {
    // More keys than the memo holds, each written twice: every text, fresh or
    // remembered, decodes back to its key.
    for i in 0..(MULTIBASE_MEMO_CAPACITY + 100) as u32 {
        let mut bytes = [7u8; 32];
        bytes[..4].copy_from_slice(&i.to_be_bytes());
        let key = PublicKey(bytes);
        for _ in 0..2 {
            let text = key.to_multibase();
            assert_eq!(text.len(), 48);
            assert_eq!(PublicKey::from_multibase(&text).unwrap(), key);
            assert_eq!(PublicKey::decode_multibase(&text).unwrap(), key);
        }
    }
}

#[test]
fn remembered_decodings_give_what_decoding_gives_and_refusals_are_never_remembered() {
    let key = SecretKey::from_seed(&[9; 32]).public_key();
    let text = key.to_multibase();
    let mut other = text.clone().into_bytes();
    other[10] = if other[10] == b'A' { b'B' } else { b'A' };
    let other = String::from_utf8(other).unwrap();
    let long = format!("z{}", "2".repeat(60));
    for t in [&text, &other, "z0OIl", "", "zz", "m12345", long.as_str()] {
        for _ in 0..3 {
            assert_eq!(
                PublicKey::from_multibase(t),
                PublicKey::decode_multibase(t),
                "{t}"
            );
        }
    }
    assert!(PublicKey::from_multibase("z0OIl").is_err());
    assert_ne!(PublicKey::from_multibase(&other).ok(), Some(key));
}

#[test]
fn secret_key_multibase_matches_vc_di_eddsa_vector() {
    let sk = SecretKey::from_multibase("z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq").unwrap();
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
        good.validate().unwrap();
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
    assert!(PublicKey::from_multibase("6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp").is_err());
    assert!(PublicKey::from_multibase("z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq").is_err());
    assert!(PublicKey::from_multibase("z0OIl").is_err());
    assert!(Signature::from_base64url("AAAA").is_err());
    // The right prefix with a key one byte short or one byte long.
    let key = SecretKey::from_seed(&[5; 32]).public_key();
    for len in [33, 35] {
        let mut raw = ED25519_PUB_MULTICODEC.to_vec();
        raw.extend(std::iter::repeat_n(key.as_bytes()[0], len - 2));
        let text = format!("z{}", bs58::encode(&raw).into_string());
        let e = PublicKey::from_multibase(&text).unwrap_err();
        assert!(matches!(e, CryptoError::Encoding(_)), "{len}: {e}");
    }
    // Round trips, and the text is what base58btc of (0xed01 ‖ key) gives.
    let mut raw = ED25519_PUB_MULTICODEC.to_vec();
    raw.extend_from_slice(key.as_bytes());
    assert_eq!(
        key.to_multibase(),
        format!("z{}", bs58::encode(&raw).into_string())
    );
    assert_eq!(PublicKey::from_multibase(&key.to_multibase()).unwrap(), key);
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

/// A signature by `seed` over `msg` whose `R` has `torsion` (a point of small order)
/// added: only the key's holder can make one. RFC 8032's strict check refuses it; ZIP
/// 215's cofactored check accepts it.
fn signature_with_torsion_in_r(
    seed: &[u8; 32],
    msg: &[u8],
    torsion: curve25519_dalek::EdwardsPoint,
) -> Signature {
    use curve25519_dalek::{EdwardsPoint, Scalar};
    use sha2::{Digest, Sha512};
    let h = Sha512::digest(seed);
    let mut lower = [0u8; 32];
    lower.copy_from_slice(&h[..32]);
    let a = Scalar::from_bytes_mod_order(curve25519_dalek::scalar::clamp_integer(lower));
    let public = EdwardsPoint::mul_base(&a).compress();
    assert_eq!(public.0, SecretKey::from_seed(seed).public_key().to_bytes());
    let r = Scalar::from_bytes_mod_order_wide(&Sha512::digest(msg).into());
    let big_r = (EdwardsPoint::mul_base(&r) + torsion).compress();
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(big_r.as_bytes())
            .chain_update(public.as_bytes())
            .chain_update(msg),
    );
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(big_r.as_bytes());
    bytes[32..].copy_from_slice((r + k * a).as_bytes());
    Signature::from_bytes(&bytes)
}

#[test]
fn one_signature_gets_the_same_answer_alone_and_in_a_batch() {
    let seed = [5u8; 32];
    let pk = SecretKey::from_seed(&seed).public_key();
    let strict = |msg: &[u8], sig: &Signature| {
        ed25519_dalek::VerifyingKey::from_bytes(pk.as_bytes())
            .unwrap()
            .verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&sig.to_bytes()))
            .is_ok()
    };
    let in_batch = |msg: &[u8], sig: &Signature| {
        let mut b = BatchVerifier::new();
        // A good signature beside it, so the batch is a real one.
        let other = SecretKey::from_seed(&[6; 32]);
        b.queue(&other.public_key(), b"x", &other.sign(b"x"))
            .unwrap();
        b.queue(&pk, msg, sig).unwrap();
        b.verify().is_ok()
    };
    let torsion = curve25519_dalek::constants::EIGHT_TORSION;
    for t in torsion {
        let sig = signature_with_torsion_in_r(&seed, b"op", t);
        // Alone and in a batch the answer is the same, whatever the torsion point.
        assert!(pk.verify(b"op", &sig).is_ok());
        assert!(in_batch(b"op", &sig));
        // RFC 8032's strict check accepts it only without torsion.
        assert_eq!(strict(b"op", &sig), t == torsion[0], "{t:?}");
        // Over another message it is refused alone and in a batch.
        assert!(pk.verify(b"oq", &sig).is_err());
        assert!(!in_batch(b"oq", &sig));
    }
}

#[test]
fn a_batch_passes_only_when_every_signature_verifies() {
    let keys: Vec<SecretKey> = (0u8..20).map(|i| SecretKey::from_seed(&[i; 32])).collect();
    let msgs: Vec<Vec<u8>> = (0..40)
        .map(|i| format!("operation {i}").into_bytes())
        .collect();
    // 40 signatures by 20 keys, each key signing twice (their terms are shared).
    let sigs: Vec<(PublicKey, Signature)> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| (keys[i % 20].public_key(), keys[i % 20].sign(m)))
        .collect();
    let batch = |bad: Option<usize>| {
        let mut b = BatchVerifier::new();
        for (i, (pk, sig)) in sigs.iter().enumerate() {
            let msg: &[u8] = if bad == Some(i) { b"forged" } else { &msgs[i] };
            b.queue(pk, msg, sig).unwrap();
        }
        assert_eq!(b.len(), 40);
        b.verify()
    };
    batch(None).unwrap();
    for bad in [0, 17, 39] {
        assert_eq!(batch(Some(bad)), Err(CryptoError::BadSignature));
    }
    assert!(BatchVerifier::new().verify().is_ok());
    // A weak key is refused when queued.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = PublicKey::from_bytes(&identity).unwrap();
    let mut b = BatchVerifier::new();
    assert_eq!(
        b.queue(&weak, b"m", &sigs[0].1),
        Err(CryptoError::WeakPublicKey)
    );
    assert!(b.is_empty());
}

#[test]
fn secret_debug_does_not_leak_seed() {
    let sk = SecretKey::from_seed(&[9u8; 32]);
    let shown = format!("{sk:?}");
    assert!(!shown.contains("9, 9"));
    assert!(shown.contains("z6Mk"));
}
