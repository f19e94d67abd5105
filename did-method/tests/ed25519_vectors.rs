//! Ed25519 handling checked against RFC 8032 and Wycheproof: every node and verifier must
//! accept exactly the same signatures, alone or in a batch (the ZIP 215 rule of
//! `did_method::crypto`, ADR 0012).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

use did_method::crypto::{BatchVerifier, PublicKey, SecretKey, Signature};

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

#[test]
fn rfc8032_pure_ed25519_vectors() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("vectors/rfc8032-ed25519.json")).unwrap();
    let mut n = 0;
    for v in doc["vectors"].as_array().unwrap() {
        if v["alg"] != "Ed25519" {
            continue;
        }
        let seed: [u8; 32] = unhex(v["secret"].as_str().unwrap()).try_into().unwrap();
        let sk = SecretKey::from_seed(&seed);
        let pk = sk.public_key();
        assert_eq!(
            hex::encode(pk.to_bytes()),
            v["public"].as_str().unwrap(),
            "{}",
            v["name"]
        );
        let msg = unhex(v["message"].as_str().unwrap());
        let sig = sk.sign(&msg);
        assert_eq!(
            hex::encode(sig.to_bytes()),
            v["signature"].as_str().unwrap(),
            "{}",
            v["name"]
        );
        pk.verify(&msg, &sig).unwrap();
        n += 1;
    }
    assert!(n >= 4, "expected the RFC 8032 Ed25519 vectors, ran {n}");
}

#[test]
fn wycheproof_ed25519() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("vectors/ed25519_test.json")).unwrap();
    let (mut valid, mut invalid) = (0, 0);
    let mut beyond_wycheproof = Vec::new();
    let mut all_valid = BatchVerifier::new();
    for group in doc["testGroups"].as_array().unwrap() {
        let pk_bytes = unhex(group["publicKey"]["pk"].as_str().unwrap());
        let pk = PublicKey::from_slice(&pk_bytes);
        for t in group["tests"].as_array().unwrap() {
            let msg = unhex(t["msg"].as_str().unwrap());
            let sig_bytes = unhex(t["sig"].as_str().unwrap());
            let (accepted, in_batch) = match (&pk, Signature::from_slice(&sig_bytes)) {
                (Ok(pk), Ok(sig)) => {
                    let mut b = BatchVerifier::new();
                    let queued = b.queue(pk, &msg, &sig).is_ok();
                    (pk.verify(&msg, &sig).is_ok(), queued && b.verify().is_ok())
                }
                _ => (false, false),
            };
            assert_eq!(
                accepted, in_batch,
                "tcId {}: alone and in a batch",
                t["tcId"]
            );
            let expected = t["result"] == "valid";
            if accepted != expected {
                beyond_wycheproof.push(t["tcId"].as_u64().unwrap());
            }
            if expected {
                valid += 1;
                let (Ok(pk), Ok(sig)) = (&pk, Signature::from_slice(&sig_bytes)) else {
                    panic!("tcId {} is valid", t["tcId"]);
                };
                all_valid.queue(pk, &msg, &sig).unwrap();
            } else {
                invalid += 1
            }
        }
    }
    // ZIP 215 accepts `R` in a non-canonical encoding: tcId 151 encodes y = 1 with the sign
    // bit of x set, a signature only the key's holder could make. Every other answer is
    // Wycheproof's.
    assert_eq!(beyond_wycheproof, [151]);
    assert!(
        valid > 50 && invalid > 50,
        "valid {valid}, invalid {invalid}"
    );
    // All the valid signatures, under their many keys, verify together.
    assert_eq!(all_valid.len(), valid);
    all_valid.verify().unwrap();
}
