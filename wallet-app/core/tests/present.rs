//! Presentations the wallet builds, checked by the verifier a business runs (verifier-lib):
//! a Data Integrity presentation signed by the holder's did:key for the business's challenge
//! and domain, and an SD-JWT VC that discloses only the claims asked for, bound to the
//! holder's key for the business's nonce and audience. The credentials are signed here by a
//! did:key issuer (no registry involved; stapling is `staple.rs`'s).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

mod common;

use common::{T0, sk};
use serde_json::{Value, json};
use verifier_lib::contexts::{ALLIANCE_CREDENTIALS_V1, PinnedContexts};
use verifier_lib::dids::{did_key, jwk_of};
use verifier_lib::rdfc::{ProofOptions, Rdfc2022};
use verifier_lib::{CheckKind, Policy, Verdict, Verifier};
use wallet_core::present;

/// When the holder presents: an hour after the credentials were issued.
const NOW: u64 = T0 + 3_600_000;

fn rfc3339(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The business's verifier: its challenge (or nonce) and domain (or audience); the issuer is
/// a did:key, so no accreditation or status anchor can be asked for.
fn verify(presentation: Value, challenge: &str, domain: &str) -> Verdict {
    let policy = Policy {
        challenge: Some(challenge.into()),
        domain: Some(domain.into()),
        require_accreditation: false,
        require_status_anchor: false,
        ..Policy::default()
    };
    let bundle = json!({"presentation": presentation, "registryProofs": [], "statusLists": {}});
    Verifier::new(policy, None).verify_bytes(&serde_json::to_vec(&bundle).unwrap(), NOW)
}

/// A library card for the holder (seed 20), signed by a did:key issuer (seed 10).
fn library_card(rdfc: &Rdfc2022) -> Value {
    let issuer = sk(10);
    let (issuer_did, issuer_vm) = did_key(&issuer.public_key());
    let (holder_did, _) = did_key(&sk(20).public_key());
    rdfc.sign(
        &json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", ALLIANCE_CREDENTIALS_V1],
            "id": "urn:uuid:0b7a4c3e-2f61-4d2a-9d7e-5c1e8f3a9b20",
            "type": ["VerifiableCredential", "LibraryCard"],
            "issuer": issuer_did,
            "validFrom": rfc3339(T0),
            "credentialSubject": {"id": holder_did, "name": "Ada Lovelace"},
        }),
        &issuer,
        &ProofOptions {
            verification_method: issuer_vm,
            proof_purpose: "assertionMethod".into(),
            created: rfc3339(T0),
            challenge: None,
            domain: None,
            nonce: None,
        },
    )
    .unwrap()
}

#[test]
fn a_data_integrity_presentation_verifies_for_its_challenge_and_domain_only() {
    let rdfc = Rdfc2022::new(PinnedContexts::standard());
    let vc = library_card(&rdfc);
    let holder = sk(20);
    let (holder_did, holder_vm) = did_key(&holder.public_key());
    let vp = present::data_integrity(
        &rdfc,
        std::slice::from_ref(&vc),
        &holder,
        "c-1",
        "shop.example",
        NOW,
    )
    .unwrap();
    assert_eq!(vp["holder"], holder_did.as_str());
    assert_eq!(
        vp["verifiableCredential"],
        json!([vc]),
        "the credential as issued"
    );
    let proof = &vp["proof"];
    assert_eq!(proof["proofPurpose"], "authentication");
    assert_eq!(proof["verificationMethod"], holder_vm.as_str());
    assert_eq!(proof["challenge"], "c-1");
    assert_eq!(proof["domain"], "shop.example");
    assert_eq!(proof["created"], rfc3339(NOW));

    let v = verify(vp.clone(), "c-1", "shop.example");
    assert!(v.accepted(), "{:#?}", v.failures().collect::<Vec<_>>());
    for kind in [
        CheckKind::Signature,
        CheckKind::HolderBinding,
        CheckKind::Challenge,
    ] {
        assert!(v.checks.iter().any(|c| c.kind == kind), "no {kind:?} check");
    }
    // Replayed to another business, or for another challenge: refused.
    let v = verify(vp.clone(), "c-2", "shop.example");
    assert!(
        v.failures().any(|c| c.kind == CheckKind::Challenge),
        "{v:#?}"
    );
    let v = verify(vp.clone(), "c-1", "other.example");
    assert!(
        v.failures().any(|c| c.kind == CheckKind::Challenge),
        "{v:#?}"
    );
    // A credential altered after it was issued: its issuer's signature fails.
    let mut altered = vp;
    altered["verifiableCredential"][0]["credentialSubject"]["name"] = json!("Eve");
    let v = verify(altered, "c-1", "shop.example");
    assert!(
        v.failures().any(|c| c.kind == CheckKind::Signature),
        "{v:#?}"
    );

    // Someone else's key: the presentation verifies as signed, but not as the subject's.
    let vp = present::data_integrity(
        &rdfc,
        std::slice::from_ref(&vc),
        &sk(21),
        "c-1",
        "shop.example",
        NOW,
    )
    .unwrap();
    let v = verify(vp, "c-1", "shop.example");
    assert!(
        v.failures().any(|c| c.kind == CheckKind::HolderBinding),
        "{v:#?}"
    );
}

/// An SD-JWT VC of the holder (seed 20) with three concealed claims.
fn sd_jwt_card() -> String {
    let issuer = sk(10);
    let (issuer_did, issuer_vm) = did_key(&issuer.public_key());
    let claims = json!({
        "iss": issuer_did, "vct": "urn:test:library-card",
        "iat": T0 / 1000, "exp": T0 / 1000 + 86_400,
        "cnf": {"jwk": jwk_of(&sk(20).public_key())},
        "given_name": "Ada", "family_name": "Lovelace", "birthdate": "1815-12-10",
    });
    verifier_lib::sdjwt::issue(
        claims.as_object().unwrap(),
        &["/given_name", "/family_name", "/birthdate"],
        &issuer_vm,
        &issuer,
    )
    .unwrap()
}

/// The claims a presentation discloses, as the business reads them.
fn disclosed(p: &str) -> Vec<String> {
    let claims = verifier_lib::sdjwt::disclosed_claims(p).unwrap();
    let mut names: Vec<String> = ["given_name", "family_name", "birthdate"]
        .iter()
        .filter(|n| claims.contains_key(**n))
        .map(|n| n.to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn an_sd_jwt_presentation_discloses_only_what_is_asked_and_is_bound_to_the_holder() {
    let card = sd_jwt_card();
    let holder = sk(20);
    let p = present::sd_jwt(
        &card,
        Some(&["birthdate"]),
        &holder,
        "shop.example",
        "n-1",
        NOW,
    )
    .unwrap();
    assert_eq!(disclosed(&p), ["birthdate"]);
    // One disclosure and the key-binding JWT after the issuer's JWT, nothing else.
    let parts: Vec<&str> = p.split('~').collect();
    assert_eq!(parts.len(), 3, "{p}");
    let kb = parts[2];
    let kb_claims: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            kb.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(kb_claims["aud"], "shop.example");
    assert_eq!(kb_claims["nonce"], "n-1");
    assert_eq!(kb_claims["iat"], NOW / 1000);

    let v = verify(Value::String(p.clone()), "n-1", "shop.example");
    assert!(v.accepted(), "{:#?}", v.failures().collect::<Vec<_>>());
    let v = verify(Value::String(p), "n-2", "shop.example");
    assert!(
        v.failures().any(|c| c.kind == CheckKind::Challenge),
        "{v:#?}"
    );

    // Nothing asked: nothing disclosed. Everything (None): every claim.
    let none = present::sd_jwt(&card, Some(&[]), &holder, "shop.example", "n-1", NOW).unwrap();
    assert!(disclosed(&none).is_empty());
    let v = verify(Value::String(none), "n-1", "shop.example");
    assert!(v.accepted(), "{:#?}", v.failures().collect::<Vec<_>>());
    let all = present::sd_jwt(&card, None, &holder, "shop.example", "n-1", NOW).unwrap();
    assert_eq!(disclosed(&all), ["birthdate", "family_name", "given_name"]);

    // Bound by another key than the credential's `cnf`: refused.
    let stolen = present::sd_jwt(&card, None, &sk(21), "shop.example", "n-1", NOW).unwrap();
    let v = verify(Value::String(stolen), "n-1", "shop.example");
    assert!(!v.accepted(), "{v:#?}");
}
