//! Signed metadata as a wallet reads it: the JWT's header and claims, its signature under the
//! key of the issuer's DID, and the key that signs it after a rotation.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use did_method::{PublicKey, SecretKey, Signature};
use serde_json::{Value, json};
use verifier_lib::dids::{self, Relationship};
use verifier_lib::registry::RegistryEvidence;

use super::super::testing::issuer;
use super::SIGNED_METADATA_TYP;
use crate::store::now_ms;

/// A compact JWS: its header, its claims, and whether `key` signed it.
struct Jws {
    header: Value,
    claims: Value,
    input: String,
    signature: Signature,
}

impl Jws {
    fn parse(jwt: &str) -> Self {
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3, "{jwt}");
        let json = |p: &str| -> Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
        };
        Self {
            header: json(parts[0]),
            claims: json(parts[1]),
            input: format!("{}.{}", parts[0], parts[1]),
            signature: Signature::from_base64url(parts[2]).unwrap(),
        }
    }

    fn signed_by(&self, key: &PublicKey) -> bool {
        key.verify(self.input.as_bytes(), &self.signature).is_ok()
    }
}

#[tokio::test]
async fn signed_metadata_is_the_metadata_signed_by_the_issuers_did() {
    let f = issuer(|_| {}).await;
    let i = &f.issuer;
    let before_s = now_ms() / 1000;
    let jws = Jws::parse(&i.signed_metadata().await.unwrap());
    let after_s = now_ms() / 1000;

    let vm = i.signer().verification_method().to_owned();
    assert_eq!(
        jws.header,
        json!({"alg": "EdDSA", "typ": SIGNED_METADATA_TYP, "kid": vm})
    );
    assert_eq!(SIGNED_METADATA_TYP, "openidvci-issuer-metadata+jwt");
    assert_eq!(jws.claims["iss"], json!(i.did));
    assert_eq!(jws.claims["sub"], json!(i.config.issuer_url));
    let iat = jws.claims["iat"].as_i64().unwrap();
    assert!((before_s..=after_s).contains(&iat), "iat {iat}");
    // Every metadata parameter is a top-level claim, and nothing else is added.
    let mut params = jws.claims.as_object().unwrap().clone();
    for c in ["iss", "sub", "iat"] {
        params.remove(c);
    }
    assert_eq!(Value::Object(params), i.metadata().await.unwrap());
    assert_eq!(jws.claims["credential_issuer"], json!(i.config.issuer_url));
    assert!(jws.claims["credential_configurations_supported"]["Pass"].is_object());

    // The key its kid resolves to, by the verifier's rules for the issuer's DID, verifies it.
    let kid = jws.header["kid"].as_str().unwrap();
    let resolved = dids::resolve(
        kid,
        Relationship::AssertionMethod,
        &RegistryEvidence::default(),
    )
    .unwrap();
    assert_eq!(resolved.controller, i.did);
    assert!(jws.signed_by(&resolved.key));
    assert!(!jws.signed_by(&SecretKey::from_seed(&[99; 32]).public_key()));
    // Changed claims do not verify.
    let forged = format!(
        "{}.{}",
        jws.input.split('.').next().unwrap(),
        URL_SAFE_NO_PAD.encode(
            json!({"sub": i.config.issuer_url, "credential_issuer": "https://evil.example"})
                .to_string()
        )
    );
    assert!(
        resolved
            .key
            .verify(forged.as_bytes(), &jws.signature)
            .is_err()
    );
}

#[tokio::test]
async fn metadata_is_signed_by_the_key_that_signs_now() {
    let f = issuer(|_| {}).await;
    let i = &f.issuer;
    let old = Jws::parse(&i.signed_metadata().await.unwrap());
    let old_key = dids::resolve(
        old.header["kid"].as_str().unwrap(),
        Relationship::AssertionMethod,
        &RegistryEvidence::default(),
    )
    .unwrap()
    .key;

    // What a live rotation does once the registry has committed the new key.
    let next = SecretKey::from_seed(&[42; 32]);
    let next_vm = format!("{}#key-2", i.did);
    i.use_signer(next.clone(), next_vm.clone());

    let new = Jws::parse(&i.signed_metadata().await.unwrap());
    assert_eq!(new.header["kid"], json!(next_vm));
    assert!(new.signed_by(&next.public_key()));
    assert!(!new.signed_by(&old_key));
    assert_eq!(
        new.claims["iss"],
        json!(i.did),
        "the issuer stays the same DID"
    );
}
