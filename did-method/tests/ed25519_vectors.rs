//! Ed25519 handling checked against RFC 8032 and Wycheproof: every node and verifier must
//! accept exactly the same signatures.

use did_method::crypto::{PublicKey, SecretKey, Signature};

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
    for group in doc["testGroups"].as_array().unwrap() {
        let pk_bytes = unhex(group["publicKey"]["pk"].as_str().unwrap());
        let pk = PublicKey::from_slice(&pk_bytes);
        for t in group["tests"].as_array().unwrap() {
            let msg = unhex(t["msg"].as_str().unwrap());
            let sig_bytes = unhex(t["sig"].as_str().unwrap());
            let accepted = match (&pk, Signature::from_slice(&sig_bytes)) {
                (Ok(pk), Ok(sig)) => pk.verify(&msg, &sig).is_ok(),
                _ => false,
            };
            let expected = t["result"] == "valid";
            assert_eq!(
                accepted, expected,
                "tcId {} ({}) flags {:?}",
                t["tcId"], t["comment"], t["flags"]
            );
            if expected { valid += 1 } else { invalid += 1 }
        }
    }
    assert_eq!(valid + invalid, 150.max(valid + invalid));
    assert!(
        valid > 50 && invalid > 50,
        "valid {valid}, invalid {invalid}"
    );
}
