//! Reading and checking an issuer's metadata: what a signed one must carry, what is refused,
//! and when a proven DID document binds it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use did_method::document::Service;
use did_method::{ChainId, Did, DidDocument, SecretKey};
use serde_json::{Value, json};

use super::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const URL: &str = "https://issuer.agency.example";

fn signing_key() -> SecretKey {
    SecretKey::from_seed(&[5; 32])
}

/// The issuer's DID (derived from its key on a test chain) and its document as `init`
/// registers it: one key, and the OpenID4VCI service naming [`URL`].
fn issuer_did() -> (Did, DidDocument) {
    let chain = ChainId::new("alliance-test").unwrap();
    let did = Did::derive(&chain, &signing_key().public_key(), &[9; 32]);
    let mut doc = DidDocument::with_single_key(&did, &signing_key().public_key());
    doc.service.push(Service {
        id: did.url("oid4vci"),
        type_: OID4VCI_SERVICE_TYPE.into(),
        service_endpoint: URL.into(),
    });
    (did, doc)
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn jws(key: &SecretKey, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    format!("{input}.{}", key.sign(input.as_bytes()).to_base64url())
}

/// The header and claims `alliance-issuer` signs.
fn parts() -> (Value, Value) {
    let (did, _) = issuer_did();
    (
        json!({"alg": "EdDSA", "typ": SIGNED_METADATA_TYP, "kid": did.url("key-1")}),
        json!({
            "iss": did.to_string(), "sub": URL, "iat": 1_700_000_000,
            "credential_issuer": URL,
            "credential_endpoint": format!("{URL}/credential"),
            "credential_configurations_supported": {"Card": {"format": "ldp_vc"}},
        }),
    )
}

fn good() -> String {
    let (h, c) = parts();
    jws(&signing_key(), &h, &c)
}

#[test]
fn signed_metadata_gives_its_parameters_signer_and_a_signature_to_check() {
    let (did, _) = issuer_did();
    let m = IssuerMetadata::from_jwt(&good(), URL).unwrap();
    assert_eq!(m.credential_issuer, URL);
    let s = m.signed.as_ref().unwrap();
    assert_eq!(s.kid, did.url("key-1"));
    assert_eq!(s.did(), did.to_string());
    assert_eq!(s.iss.as_deref(), Some(did.to_string().as_str()));
    assert_eq!(s.iat, 1_700_000_000);
    // The metadata parameters, without the JWT's own claims.
    assert_eq!(
        m.metadata,
        json!({
            "credential_issuer": URL,
            "credential_endpoint": format!("{URL}/credential"),
            "credential_configurations_supported": {"Card": {"format": "ldp_vc"}},
        })
    );
    assert!(s.verify_signature(&signing_key().public_key()));
    assert!(!s.verify_signature(&SecretKey::from_seed(&[6; 32]).public_key()));

    // Claims changed after signing do not verify.
    let (h, mut c) = parts();
    let jwt = good();
    c["credential_endpoint"] = json!("https://evil.example/credential");
    let sig = jwt.rsplit('.').next().unwrap();
    let forged = format!("{}.{}.{sig}", b64(&h), b64(&c));
    let m = IssuerMetadata::from_jwt(&forged, URL).unwrap();
    assert!(
        !m.signed
            .unwrap()
            .verify_signature(&signing_key().public_key())
    );
    // `iss` is optional, and a future `exp` is fine.
    let (h, mut c) = parts();
    c.as_object_mut().unwrap().remove("iss");
    c["exp"] = json!(now_s() + 3600);
    let m = IssuerMetadata::from_jwt(&jws(&signing_key(), &h, &c), URL).unwrap();
    assert_eq!(m.signed.unwrap().iss, None);
}

#[test]
fn signed_metadata_that_breaks_a_rule_is_refused() {
    let key = signing_key();
    type Edit = Box<dyn Fn(&mut Value, &mut Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("alg none", Box::new(|h, _| h["alg"] = json!("none"))),
        ("only EdDSA", Box::new(|h, _| h["alg"] = json!("ES256"))),
        (
            "no alg",
            Box::new(|h, _| drop(h.as_object_mut().unwrap().remove("alg"))),
        ),
        ("typ", Box::new(|h, _| h["typ"] = json!("JWT"))),
        (
            "typ",
            Box::new(|h, _| drop(h.as_object_mut().unwrap().remove("typ"))),
        ),
        ("crit", Box::new(|h, _| h["crit"] = json!(["exp"]))),
        (
            "kid",
            Box::new(|h, _| drop(h.as_object_mut().unwrap().remove("kid"))),
        ),
        ("kid", Box::new(|h, _| h["kid"] = json!("key-1"))),
        (
            "sub",
            Box::new(|_, c| c["sub"] = json!("https://other.example")),
        ),
        (
            "sub",
            Box::new(|_, c| drop(c.as_object_mut().unwrap().remove("sub"))),
        ),
        (
            "not for",
            Box::new(|_, c| c["credential_issuer"] = json!("https://other.example")),
        ),
        (
            "not for",
            Box::new(|_, c| drop(c.as_object_mut().unwrap().remove("credential_issuer"))),
        ),
        (
            "iat",
            Box::new(|_, c| drop(c.as_object_mut().unwrap().remove("iat"))),
        ),
        ("iat", Box::new(|_, c| c["iat"] = json!("yesterday"))),
        ("expired", Box::new(|_, c| c["exp"] = json!(1_700_000_100))),
        ("exp is not", Box::new(|_, c| c["exp"] = json!("soon"))),
        (
            "is not the DID",
            Box::new(|_, c| c["iss"] = json!("did:alliance:other")),
        ),
        ("iss is not", Box::new(|_, c| c["iss"] = json!(7))),
    ];
    for (reason, edit) in cases {
        let (mut h, mut c) = parts();
        edit(&mut h, &mut c);
        let e = IssuerMetadata::from_jwt(&jws(&key, &h, &c), URL).unwrap_err();
        assert!(
            matches!(e, WalletError::BadResponse(_)) && e.to_string().contains(reason),
            "{reason}: {e}"
        );
    }
    let jwt = good();
    let (h, rest) = jwt.split_once('.').unwrap();
    let (p, _) = rest.split_once('.').unwrap();
    for (bad, reason) in [
        (format!("{h}.{p}"), "three"),
        (format!("{jwt}.x"), "three"),
        (format!("{h}.{p}.!!"), "base64url"),
        (format!("{h}.{p}.AAAA"), "Ed25519 signature"),
        (
            format!("{h}.{}.{}", b64(&json!([1])), "AAAA"),
            "not a JSON object",
        ),
    ] {
        let e = IssuerMetadata::from_jwt(&bad, URL).unwrap_err();
        assert!(e.to_string().contains(reason), "{reason}: {e}");
    }
    // The identifier is compared exactly: no normalization.
    assert!(IssuerMetadata::from_jwt(&good(), &format!("{URL}/")).is_err());
}

#[test]
fn json_metadata_must_name_the_issuer_asked() {
    let v = json!({"credential_issuer": URL, "credential_endpoint": format!("{URL}/credential")});
    let m = IssuerMetadata::from_json(v.clone(), URL).unwrap();
    assert_eq!(m.metadata, v);
    assert!(m.signed.is_none());
    for bad in [
        json!({"credential_issuer": "https://other.example"}),
        json!({"credential_endpoint": "x"}),
        json!([URL]),
    ] {
        assert!(IssuerMetadata::from_json(bad, URL).is_err());
    }
}

#[test]
fn a_proven_document_binds_metadata_its_key_signed_for_the_address_it_names() {
    let (_, doc) = issuer_did();
    let signed = IssuerMetadata::from_jwt(&good(), URL).unwrap();
    signed.check_binding(&doc).unwrap();

    let refused = |doc: &DidDocument, m: &IssuerMetadata, reason: &str| {
        let e = m.check_binding(doc).unwrap_err();
        assert!(e.to_string().contains(reason), "{reason}: {e}");
    };
    // Unsigned metadata proves nothing.
    let plain = IssuerMetadata::from_json(signed.metadata.clone(), URL).unwrap();
    refused(&doc, &plain, "not signed");
    // Another DID's document.
    let other = Did::derive(
        &ChainId::new("alliance-test").unwrap(),
        &SecretKey::from_seed(&[8; 32]).public_key(),
        &[9; 32],
    );
    let mut d = DidDocument::with_single_key(&other, &signing_key().public_key());
    d.service = doc.service.clone();
    refused(&d, &signed, "not by");
    // The key is not (or no longer) an assertion method.
    let mut d = doc.clone();
    d.assertion_method.clear();
    refused(&d, &signed, "not an assertion method");
    // The document lists another key under that method.
    let mut d = doc.clone();
    d.verification_method[0].public_key_multibase = SecretKey::from_seed(&[6; 32]).public_key();
    refused(&d, &signed, "does not verify");
    // The document names another address, or none.
    let mut d = doc.clone();
    d.service[0].service_endpoint = "https://other.example".into();
    refused(&d, &signed, "does not name");
    let mut d = doc.clone();
    d.service[0].type_ = "LinkedDomains".into();
    refused(&d, &signed, "does not name");
    let mut d = doc.clone();
    d.service.clear();
    refused(&d, &signed, "does not name");
}
