//! Registry evidence from proofs made by the real node code (`did_registry::app::App` over a
//! real redb store, in process, blocks committed with certificates signed by 4 test
//! validators): what a verifier learns from stapled proofs, and every way it refuses them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

mod common;

use common::*;
use did_method::state::{self, recovery_commitment};
use did_method::*;
use verifier_lib::registry::EvidenceError;
use verifier_lib::{CheckKind, Outcome, RegistryEvidence};

/// An accredited issuer with an anchored status list; returns (chain, issuer, update key, list bytes).
fn issuer_setup() -> (Chain, Did, SecretKey, Vec<u8>) {
    let c = Chain::new();
    let key = sk(10);
    let recovery = sk(11);
    let commitment = recovery_commitment(&recovery.public_key());
    let (did, create) =
        Operation::create_single_key(&c.genesis.chain_id, &key.public_key(), commitment);
    let create = create.sign(&[&key, &sk(50)]);
    c.block(vec![create]);
    let accredit = c
        .op(
            0,
            OperationBody::AccreditIssuer {
                issuer: did.clone(),
                credential_types: vec!["DriverLicense".into()],
                valid_until_ms: None,
            },
        )
        .sign(&[&sk(100)]);
    let list = br#"{"type":"BitstringStatusListCredential","encodedList":"uH4sI"}"#.to_vec();
    let anchor = c
        .op(
            0,
            OperationBody::AnchorStatusList {
                issuer: did.clone(),
                list_id: "https://issuer.example/status/1".into(),
                list_hash: Hash::digest(&list),
            },
        )
        .sign(&[&key]);
    c.block(vec![accredit, anchor]);
    (c, did, key, list)
}

#[test]
fn stapled_proofs_give_the_issuer_document_accreditation_and_status_anchor() {
    let (c, did, key, list) = issuer_setup();
    let proofs = vec![
        c.prove(&state::did_key(&did)),
        c.prove(&state::issuer_key(&did)),
        c.prove(&state::status_key(&did, "https://issuer.example/status/1")),
    ];
    let now = T0 + c.app.height() * 1000 + 500;
    let mut checks = vec![];
    let ev = RegistryEvidence::verify(&proofs, &policy(&c), now, &mut checks);
    assert_eq!(checks.len(), 3);
    assert!(
        checks.iter().all(|c| c.outcome == Outcome::Pass),
        "{checks:?}"
    );
    let doc = ev.did_document(&did).unwrap();
    assert!(doc.can_assert(&key.public_key()));
    ev.accreditation(&did, "DriverLicense", now).unwrap();
    let err = ev.accreditation(&did, "Passport", now).unwrap_err();
    assert!(
        matches!(&err, EvidenceError::NotAccreditedFor { credential_type, .. } if credential_type == "Passport")
    );
    assert!(err.to_string().contains("not for Passport"), "{err}");
    ev.status_anchor(&did, "https://issuer.example/status/1", &list)
        .unwrap();
    let err = ev
        .status_anchor(&did, "https://issuer.example/status/1", b"{}")
        .unwrap_err()
        .to_string();
    assert!(err.contains("hashes to"), "{err}");
    // Without a stapled proof, nothing is known.
    let err = ev
        .did_document(&Did::derive(
            &c.genesis.chain_id,
            &sk(77).public_key(),
            &[0; 32],
        ))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no valid registry proof"), "{err}");
}

#[test]
fn invalid_stale_or_future_proofs_are_refused_with_reasons() {
    let (c, did, _, _) = issuer_setup();
    let good = c.prove(&state::did_key(&did));
    let now = good.header.time_ms + 500;

    let mut tampered = good.clone();
    tampered.value.as_mut().unwrap()["deactivated"] = serde_json::json!(true);
    let mut under_quorum = good.clone();
    under_quorum.certificate.signatures.truncate(2);
    let mut checks = vec![];
    let ev = RegistryEvidence::verify(&[tampered, under_quorum], &policy(&c), now, &mut checks);
    assert_eq!(checks.len(), 2);
    assert!(
        checks
            .iter()
            .all(|c| c.kind == CheckKind::RegistryProof && c.outcome == Outcome::Fail),
        "{checks:?}"
    );
    assert!(checks[0].reason.contains("Merkle"), "{}", checks[0].reason);
    assert!(
        checks[1].reason.contains("not enough voting power"),
        "{}",
        checks[1].reason
    );
    assert!(
        ev.did_document(&did).is_err(),
        "nothing from an invalid proof is believed"
    );

    // Stale: older than the policy allows.
    let mut checks = vec![];
    let ev = RegistryEvidence::verify(
        std::slice::from_ref(&good),
        &policy(&c),
        now + 61_000,
        &mut checks,
    );
    assert_eq!(checks[0].kind, CheckKind::ProofFreshness);
    assert!(
        checks[0].reason.contains("policy accepts at most 60 s"),
        "{}",
        checks[0].reason
    );
    assert!(ev.did_document(&did).is_err());

    // From the future (beyond the clock skew).
    let mut checks = vec![];
    RegistryEvidence::verify(
        std::slice::from_ref(&good),
        &policy(&c),
        good.header.time_ms - 10_000,
        &mut checks,
    );
    assert_eq!(checks[0].kind, CheckKind::ProofFreshness);
    assert!(checks[0].reason.contains("future"), "{}", checks[0].reason);

    // Another network's anchor.
    let other = Chain::new();
    let mut p = policy(&other);
    p.anchor.chain_id = ChainId::new("elsewhere").unwrap();
    let mut checks = vec![];
    RegistryEvidence::verify(std::slice::from_ref(&good), &p, now, &mut checks);
    assert!(checks[0].reason.contains("chain"), "{}", checks[0].reason);
}

#[test]
fn withdrawn_accreditation_and_deactivated_issuer_are_refused() {
    let (c, did, _, _) = issuer_setup();
    let withdraw = c
        .op(
            1,
            OperationBody::WithdrawAccreditation {
                issuer: did.clone(),
                reason: "audit failed".into(),
            },
        )
        .sign(&[&sk(100)]);
    c.block(vec![withdraw]);
    let deactivate = c
        .op(
            1,
            OperationBody::DeactivateDid {
                did: did.clone(),
                recovery_key: sk(11).public_key(),
            },
        )
        .sign(&[&sk(11)]);
    c.block(vec![deactivate]);
    let proofs = vec![
        c.prove(&state::did_key(&did)),
        c.prove(&state::issuer_key(&did)),
    ];
    let now = proofs[0].header.time_ms + 100;
    let mut checks = vec![];
    let ev = RegistryEvidence::verify(&proofs, &policy(&c), now, &mut checks);
    assert!(checks.iter().all(|c| c.outcome == Outcome::Pass));
    let err = ev
        .accreditation(&did, "DriverLicense", now)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("withdrawn by root") && err.contains("audit failed"),
        "{err}"
    );
    let err = ev.did_document(&did).unwrap_err();
    assert!(matches!(err, EvidenceError::Deactivated { .. }), "{err}");
    assert!(err.to_string().contains("deactivated"), "{err}");
}

#[test]
fn the_newest_of_several_proofs_of_a_key_wins() {
    let (c, did, key, _) = issuer_setup();
    let old = c.prove(&state::did_key(&did));
    let mut doc = DidDocument::with_single_key(&did, &sk(20).public_key());
    doc.service.push(document::Service {
        id: did.url("vci"),
        type_: "OpenID4VCI".into(),
        service_endpoint: "https://issuer.example".into(),
    });
    c.block(vec![
        c.op(
            1,
            OperationBody::UpdateDid {
                did: did.clone(),
                document: doc.clone(),
            },
        )
        .sign(&[&key]),
    ]);
    let new = c.prove(&state::did_key(&did));
    let now = new.header.time_ms + 100;
    let mut checks = vec![];
    let ev = RegistryEvidence::verify(&[new, old], &policy(&c), now, &mut checks);
    assert_eq!(ev.did_document(&did).unwrap(), &doc);
}

#[test]
fn a_cached_proof_is_not_believed_under_another_anchor() {
    use verifier_lib::registry::ProofCache;
    let (c, did, _, _) = issuer_setup();
    let good = c.prove(&state::did_key(&did));
    let now = good.header.time_ms + 500;
    let cache = ProofCache::default();
    let verify = |p: &verifier_lib::RegistryPolicy| {
        let mut checks = vec![];
        RegistryEvidence::verify_cached([&good], p, now, &mut checks, Some(&cache));
        checks
    };
    // Each time from the cache once it holds the proof, and in turns with an anchor of
    // other validators: the other anchor never gets the first one's verdict.
    let mut other = policy(&c);
    other.anchor.validators = ValidatorSet::new(
        (200..204)
            .map(|n| Validator {
                name: format!("other-{n}"),
                public_key: sk(n).public_key(),
                power: 10,
                registrar_key: sk(n).public_key(),
                operator_did: None,
            })
            .collect(),
    )
    .unwrap();
    for _ in 0..3 {
        let checks = verify(&policy(&c));
        assert_eq!(checks[0].outcome, Outcome::Pass, "{checks:?}");
        let checks = verify(&other);
        assert_eq!(checks[0].outcome, Outcome::Fail, "{checks:?}");
    }
}
