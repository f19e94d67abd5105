//! W3C vc-di-eddsa test vectors (eddsa-rdfc-2022) at the proof layer: our cached-context
//! path must produce the vectors' canonical N-Quads, hashes and signature byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

use std::path::PathBuf;

use did_method::{PublicKey, SecretKey};
use serde_json::Value;
use verifier_lib::contexts::PinnedContexts;
use verifier_lib::rdfc::{ProofOptions, Rdfc2022, RdfcError};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/vc-di-eddsa")
}
fn text(rel: &str) -> String {
    std::fs::read_to_string(dir().join(rel)).unwrap()
}
fn json(rel: &str) -> Value {
    serde_json::from_str(&text(rel)).unwrap()
}
fn key_pair() -> (PublicKey, SecretKey) {
    let kp = json("keyPair.json");
    let public = PublicKey::from_multibase(kp["publicKeyMultibase"].as_str().unwrap()).unwrap();
    let secret = SecretKey::from_multibase(kp["privateKeyMultibase"].as_str().unwrap()).unwrap();
    assert_eq!(secret.public_key(), public);
    (public, secret)
}
fn rdfc() -> Rdfc2022 {
    // The vectors use the W3C examples context (a bare @vocab).
    Rdfc2022::new(PinnedContexts::standard().with_examples())
}

#[test]
fn canonical_forms_and_hashes_match_the_vector() {
    let r = rdfc();
    let signed = json("eddsa-rdfc-2022/signedDataInt.json");
    let (config, doc) = r.canonical_forms(&signed).unwrap();
    assert_eq!(doc.concat(), text("eddsa-rdfc-2022/canonDocDataInt.txt"));
    assert_eq!(
        config.concat(),
        text("eddsa-rdfc-2022/proofCanonDataInt.txt")
    );
    let hash = r.hash_data(&signed).unwrap();
    assert_eq!(
        hex(&hash),
        text("eddsa-rdfc-2022/combinedHashDataInt.txt").trim()
    );
    // A second run takes the cached context and gives the same bytes.
    assert_eq!(r.hash_data(&signed).unwrap(), hash);
}

#[test]
fn vector_signature_verifies_and_tampering_fails() {
    let r = rdfc();
    let (public, _) = key_pair();
    let signed = json("eddsa-rdfc-2022/signedDataInt.json");
    r.verify(&signed, &public).unwrap();

    let mut t = signed.clone();
    t["credentialSubject"]["alumniOf"] = "Evil University".into();
    assert_eq!(r.verify(&t, &public), Err(RdfcError::Signature));

    let mut t = signed.clone();
    t["proof"]["created"] = "2024-02-24T23:36:38Z".into();
    assert_eq!(r.verify(&t, &public), Err(RdfcError::Signature));

    let other = SecretKey::from_seed(&[9; 32]).public_key();
    assert_eq!(r.verify(&signed, &other), Err(RdfcError::Signature));

    let mut t = signed.clone();
    t["proof"]["proofValue"] = "uAAAA".into();
    assert_eq!(r.verify(&t, &public), Err(RdfcError::ProofValue));
}

#[test]
fn signing_the_unsigned_vector_reproduces_its_signature() {
    let r = rdfc();
    let (_, secret) = key_pair();
    let expected = json("eddsa-rdfc-2022/signedDataInt.json");
    let config = json("eddsa-rdfc-2022/proofConfigDataInt.json");
    let options = ProofOptions {
        verification_method: config["verificationMethod"].as_str().unwrap().into(),
        proof_purpose: "assertionMethod".into(),
        created: config["created"].as_str().unwrap().into(),
        challenge: None,
        domain: None,
        nonce: None,
    };
    let signed = r.sign(&json("unsigned.json"), &secret, &options).unwrap();
    assert_eq!(
        signed["proof"]["proofValue"], expected["proof"]["proofValue"],
        "Ed25519 is deterministic: same bytes, same signature"
    );
    assert_eq!(
        signed["proof"]["proofValue"].as_str().unwrap(),
        text("eddsa-rdfc-2022/sigBTC58DataInt.txt").trim()
    );
}

#[test]
fn an_unpinned_context_is_rejected_not_fetched() {
    let r = rdfc();
    let signed = json("eddsa-rdfc-2022/employ/signedDataInt.json");
    let (public, _) = key_pair();
    match r.verify(&signed, &public) {
        Err(RdfcError::Context(m)) => assert!(m.contains("citizenship/v4rc1"), "{m}"),
        other => panic!("expected a context error, got {other:?}"),
    }
}

#[test]
fn without_the_examples_context_the_vector_is_rejected() {
    let r = Rdfc2022::new(PinnedContexts::standard());
    let signed = json("eddsa-rdfc-2022/signedDataInt.json");
    assert!(matches!(r.hash_data(&signed), Err(RdfcError::Context(_))));
}

#[test]
fn undefined_terms_are_rejected_not_dropped() {
    // Without @vocab, a term no context defines would vanish from the RDF (and so from what
    // the signature covers): it must be an error.
    let r = Rdfc2022::new(PinnedContexts::standard());
    let (_, secret) = key_pair();
    let doc: Value = serde_json::json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": "did:example:1",
        "credentialSubject": {"notDefinedAnywhere": "x"}
    });
    let options = ProofOptions {
        verification_method: "did:example:1#k".into(),
        proof_purpose: "assertionMethod".into(),
        created: "2025-01-01T00:00:00Z".into(),
        challenge: None,
        domain: None,
        nonce: None,
    };
    assert!(matches!(
        r.sign(&doc, &secret, &options),
        Err(RdfcError::Expansion(_))
    ));
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
