//! Data Integrity presentations, end to end and offline: an accredited `did:alliance` issuer on
//! a registry run by the real node code signs a credential and a status list (anchored on
//! chain); a `did:key` holder presents the credential with the verifier's challenge; the
//! verifier accepts the bundle, and refuses each kind of fault with the right check.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

mod common;

use common::*;
use did_method::state::{self, recovery_commitment};
use did_method::*;
use serde_json::{Value, json};
use ssi::status::bitstring_status_list::{StatusList, StatusPurpose, StatusSize, TimeToLive};
use verifier_lib::contexts::{ALLIANCE_CREDENTIALS_V1, PinnedContexts};
use verifier_lib::dids::did_key;
use verifier_lib::rdfc::{ProofOptions, Rdfc2022};
use verifier_lib::{CheckKind, Outcome, Policy, Verdict, Verifier};

const LIST: &str = "https://issuer.example/status/1";
const REVOKED_LIST: &str = "https://issuer.example/status/2";
const INDEX: usize = 4242;

fn rfc3339(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

struct Fixture {
    chain: Chain,
    rdfc: Rdfc2022,
    issuer: Did,
    issuer_key: SecretKey,
    holder_key: SecretKey,
    lists: Vec<(String, String)>,
    now: u64,
}

impl Fixture {
    fn new() -> Self {
        let chain = Chain::new();
        let rdfc = Rdfc2022::new(PinnedContexts::standard());
        let issuer_key = sk(10);
        let commitment = recovery_commitment(&sk(11).public_key());
        let (issuer, create) = Operation::create_single_key(
            &chain.genesis.chain_id,
            &issuer_key.public_key(),
            commitment,
        );
        chain.block(vec![create.sign(&[&issuer_key, &sk(50)])]);
        let mut f = Self {
            chain,
            rdfc,
            issuer,
            issuer_key,
            holder_key: sk(20),
            lists: vec![],
            now: 0,
        };
        let clear = f.status_list(LIST, None);
        let revoked = f.status_list(REVOKED_LIST, Some(INDEX));
        let accredit = f
            .chain
            .op(
                0,
                OperationBody::AccreditIssuer {
                    issuer: f.issuer.clone(),
                    credential_types: vec!["DriverLicense".into()],
                    valid_until_ms: None,
                },
            )
            .sign(&[&sk(100)]);
        let mut ops = vec![accredit];
        // Each list's anchors have their own sequence.
        for (url, text) in [(LIST, &clear), (REVOKED_LIST, &revoked)] {
            ops.push(
                f.chain
                    .op(
                        0,
                        OperationBody::AnchorStatusList {
                            issuer: f.issuer.clone(),
                            list_id: url.into(),
                            list_hash: Hash::digest(text.as_bytes()),
                        },
                    )
                    .sign(&[&f.issuer_key]),
            );
        }
        let h = f.chain.block(ops);
        f.lists = vec![(LIST.into(), clear), (REVOKED_LIST.into(), revoked)];
        f.now = T0 + h * 1000 + 500;
        f
    }

    fn issuer_vm(&self) -> String {
        self.issuer.url("key-1")
    }

    fn holder(&self) -> (String, String) {
        did_key(&self.holder_key.public_key())
    }

    /// A signed Bitstring status list credential (as the issuer serves it).
    fn status_list(&self, url: &str, set: Option<usize>) -> String {
        let one = StatusSize::try_from(1u8).unwrap();
        let mut list = StatusList::from_bytes(vec![0u8; 16 * 1024], TimeToLive::default());
        if let Some(i) = set {
            list.set(one, i, 1).unwrap();
        }
        let subject =
            serde_json::to_value(list.to_credential_subject(None, StatusPurpose::Revocation))
                .unwrap();
        let unsigned = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": self.issuer.to_string(),
            "validFrom": rfc3339(T0),
            "credentialSubject": subject,
        });
        let signed = self
            .rdfc
            .sign(&unsigned, &self.issuer_key, &self.assert_opts())
            .unwrap();
        serde_json::to_string(&signed).unwrap()
    }

    fn assert_opts(&self) -> ProofOptions {
        ProofOptions {
            verification_method: self.issuer_vm(),
            proof_purpose: "assertionMethod".into(),
            created: rfc3339(T0),
            challenge: None,
            domain: None,
            nonce: None,
        }
    }

    fn unsigned_credential(&self) -> Value {
        json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", ALLIANCE_CREDENTIALS_V1],
            "id": "urn:uuid:6f1c1a2e-5d0b-4a57-9b7e-3c1f4a3b2d10",
            "type": ["VerifiableCredential", "DriverLicense"],
            "issuer": self.issuer.to_string(),
            "validFrom": rfc3339(T0),
            "validUntil": rfc3339(T0 + 365 * 86_400_000),
            "credentialSubject": {"id": self.holder().0, "name": "Ada Lovelace", "licenseClass": "B"},
            "credentialStatus": {
                "id": format!("{LIST}#{INDEX}"),
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": INDEX.to_string(),
                "statusListCredential": LIST,
            },
        })
    }

    fn sign_credential(&self, vc: &Value) -> Value {
        self.rdfc
            .sign(vc, &self.issuer_key, &self.assert_opts())
            .unwrap()
    }

    fn present_with(
        &self,
        vcs: Vec<Value>,
        key: &SecretKey,
        challenge: &str,
        domain: &str,
    ) -> Value {
        self.present_using(&self.rdfc, vcs, key, challenge, domain)
    }

    fn present_using(
        &self,
        rdfc: &Rdfc2022,
        vcs: Vec<Value>,
        key: &SecretKey,
        challenge: &str,
        domain: &str,
    ) -> Value {
        let (holder, vm) = did_key(&key.public_key());
        let vp = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiablePresentation"],
            "holder": holder,
            "verifiableCredential": vcs,
        });
        let opts = ProofOptions {
            verification_method: vm,
            proof_purpose: "authentication".into(),
            created: rfc3339(self.now - 1000),
            challenge: Some(challenge.into()),
            domain: Some(domain.into()),
            nonce: None,
        };
        rdfc.sign(&vp, key, &opts).unwrap()
    }

    fn present(&self, vcs: Vec<Value>) -> Value {
        self.present_with(vcs, &self.holder_key, "c-123", "verifier.example")
    }

    fn bundle(&self, vp: Value) -> Vec<u8> {
        let proofs: Vec<RegistryProof> = [
            state::did_key(&self.issuer),
            state::issuer_key(&self.issuer),
            state::status_key(&self.issuer, LIST),
            state::status_key(&self.issuer, REVOKED_LIST),
        ]
        .iter()
        .map(|k| self.chain.prove(k))
        .collect();
        let lists: serde_json::Map<String, Value> = self
            .lists
            .iter()
            .map(|(u, t)| (u.clone(), Value::String(t.clone())))
            .collect();
        serde_json::to_vec(
            &json!({"presentation": vp, "registryProofs": proofs, "statusLists": lists}),
        )
        .unwrap()
    }

    fn policy(&self) -> Policy {
        Policy {
            challenge: Some("c-123".into()),
            domain: Some("verifier.example".into()),
            accepted_types: vec!["DriverLicense".into()],
            ..Policy::default()
        }
    }

    fn verify_with(&self, bytes: &[u8], policy: Policy) -> Verdict {
        Verifier::new(policy, Some(self.chain.genesis.trust_anchor())).verify_bytes(bytes, self.now)
    }

    fn verify(&self, bytes: &[u8]) -> Verdict {
        self.verify_with(bytes, self.policy())
    }
}

#[track_caller]
fn assert_fails(v: &Verdict, kind: CheckKind, reason: &str) {
    assert!(!v.accepted(), "accepted: {v:#?}");
    assert!(
        v.failures()
            .any(|c| c.kind == kind && c.reason.contains(reason)),
        "no {kind:?} failure containing {reason:?}: {:#?}",
        v.failures().collect::<Vec<_>>()
    );
}

#[test]
fn a_good_presentation_is_accepted_with_every_check_listed() {
    let f = Fixture::new();
    let vc = f.sign_credential(&f.unsigned_credential());
    let v = f.verify(&f.bundle(f.present(vec![vc])));
    assert!(v.accepted(), "{:#?}", v.failures().collect::<Vec<_>>());
    for kind in [
        CheckKind::Input,
        CheckKind::RegistryProof,
        CheckKind::Signature,
        CheckKind::ProofPurpose,
        CheckKind::Challenge,
        CheckKind::HolderBinding,
        CheckKind::IssuerBinding,
        CheckKind::CredentialType,
        CheckKind::Validity,
        CheckKind::Accreditation,
        CheckKind::StatusAnchor,
        CheckKind::StatusFreshness,
        CheckKind::Status,
    ] {
        assert!(
            v.checks
                .iter()
                .any(|c| c.kind == kind && c.outcome == Outcome::Pass),
            "no passing {kind:?} check"
        );
    }
    // The verdict serializes for `--json` and for the VC-API.
    let json = serde_json::to_value(&v).unwrap();
    assert!(json["checks"].as_array().unwrap().len() > 15);
}

#[test]
fn every_signed_field_tampered_is_refused() {
    let f = Fixture::new();
    let vc = f.sign_credential(&f.unsigned_credential());
    for (path, value) in [
        ("/credentialSubject/name", json!("Eve")),
        ("/credentialSubject/licenseClass", json!("C")),
        ("/validUntil", json!(rfc3339(T0 + 900 * 86_400_000))),
        (
            "/id",
            json!("urn:uuid:00000000-0000-0000-0000-000000000000"),
        ),
        ("/credentialStatus/statusListIndex", json!("1")),
        ("/proof/created", json!(rfc3339(T0 + 1000))),
    ] {
        let mut t = vc.clone();
        *t.pointer_mut(path).unwrap() = value;
        let v = f.verify(&f.bundle(f.present(vec![t])));
        assert_fails(&v, CheckKind::Signature, "does not verify");
    }
    // A tampered presentation (its challenge) fails its own signature too.
    let mut vp = f.present(vec![vc]);
    vp["proof"]["challenge"] = "c-999".into();
    let v = f.verify(&f.bundle(vp));
    assert_fails(&v, CheckKind::Signature, "does not verify");
}

#[test]
fn wrong_challenge_or_domain_is_refused() {
    let f = Fixture::new();
    let vc = f.sign_credential(&f.unsigned_credential());
    let v = f.verify(&f.bundle(f.present_with(
        vec![vc.clone()],
        &f.holder_key,
        "old-challenge",
        "verifier.example",
    )));
    assert_fails(&v, CheckKind::Challenge, "expected c-123");
    let v = f.verify(&f.bundle(f.present_with(vec![vc], &f.holder_key, "c-123", "evil.example")));
    assert_fails(&v, CheckKind::Challenge, "expected verifier.example");
}

#[test]
fn a_key_the_issuer_does_not_control_is_refused() {
    let f = Fixture::new();
    // Signed by some did:key, claiming the accredited issuer.
    let other = sk(30);
    let opts = ProofOptions {
        verification_method: did_key(&other.public_key()).1,
        ..f.assert_opts()
    };
    let vc = f
        .rdfc
        .sign(&f.unsigned_credential(), &other, &opts)
        .unwrap();
    let v = f.verify(&f.bundle(f.present(vec![vc])));
    assert_fails(
        &v,
        CheckKind::IssuerBinding,
        "signing key belongs to did:key:",
    );
}

#[test]
fn a_presentation_by_someone_else_is_refused() {
    let f = Fixture::new();
    let vc = f.sign_credential(&f.unsigned_credential());
    let v = f.verify(&f.bundle(f.present_with(vec![vc], &sk(31), "c-123", "verifier.example")));
    assert_fails(
        &v,
        CheckKind::HolderBinding,
        "is not the presentation's signer",
    );
}

#[test]
fn expired_and_not_yet_valid_credentials_are_refused() {
    let f = Fixture::new();
    let mut c = f.unsigned_credential();
    c["validFrom"] = rfc3339(T0 - 2 * 86_400_000).into();
    c["validUntil"] = rfc3339(T0 - 86_400_000).into();
    let v = f.verify(&f.bundle(f.present(vec![f.sign_credential(&c)])));
    assert_fails(&v, CheckKind::Validity, "expired");
    let mut c = f.unsigned_credential();
    c["validFrom"] = rfc3339(f.now + 3_600_000).into();
    let v = f.verify(&f.bundle(f.present(vec![f.sign_credential(&c)])));
    assert_fails(&v, CheckKind::Validity, "not yet valid");
}

#[test]
fn a_revoked_credential_is_refused() {
    let f = Fixture::new();
    let mut c = f.unsigned_credential();
    c["credentialStatus"]["statusListCredential"] = REVOKED_LIST.into();
    let v = f.verify(&f.bundle(f.present(vec![f.sign_credential(&c)])));
    assert_fails(&v, CheckKind::Status, "revoked");
}

#[test]
fn a_status_list_older_than_the_policy_allows_is_refused() {
    let f = Fixture::new();
    let vc = f.sign_credential(&f.unsigned_credential());
    let policy = Policy {
        max_status_age_s: 1,
        ..f.policy()
    };
    let v = f.verify_with(&f.bundle(f.present(vec![vc])), policy);
    assert_fails(
        &v,
        CheckKind::StatusFreshness,
        "the policy accepts at most 1 s",
    );
}

#[test]
fn a_status_list_that_is_not_the_anchored_one_is_refused() {
    let f = Fixture::new();
    let vc = f.sign_credential(&f.unsigned_credential());
    let mut bundle: Value = serde_json::from_slice(&f.bundle(f.present(vec![vc]))).unwrap();
    // The issuer's revoked list, re-served under the first URL: signed, but not anchored.
    bundle["statusLists"][LIST] = bundle["statusLists"][REVOKED_LIST].clone();
    let v = f.verify(&serde_json::to_vec(&bundle).unwrap());
    assert!(!v.accepted());
}

#[test]
fn unaccredited_issuers_and_types_are_refused() {
    let f = Fixture::new();
    let mut c = f.unsigned_credential();
    c["type"] = json!(["VerifiableCredential", "Passport"]);
    let policy = Policy {
        accepted_types: vec![],
        ..f.policy()
    };
    let v = f.verify_with(&f.bundle(f.present(vec![f.sign_credential(&c)])), policy);
    assert_fails(&v, CheckKind::Accreditation, "not for Passport");
    // Not in the policy's accepted types either.
    let v = f.verify(&f.bundle(f.present(vec![f.sign_credential(&c)])));
    assert_fails(&v, CheckKind::CredentialType, "not one the policy accepts");
}

#[test]
fn a_tampered_registry_proof_leaves_the_issuer_unknown() {
    let f = Fixture::new();
    let vc = f.sign_credential(&f.unsigned_credential());
    let mut bundle: Value = serde_json::from_slice(&f.bundle(f.present(vec![vc]))).unwrap();
    bundle["registryProofs"][0]["header"]["height"] = json!(99);
    let v = f.verify(&serde_json::to_vec(&bundle).unwrap());
    assert_fails(&v, CheckKind::RegistryProof, "invalid");
    assert_fails(&v, CheckKind::IssuerBinding, "no valid registry proof");
}

#[test]
fn unknown_contexts_duplicates_oversize_and_deep_inputs_are_refused() {
    let f = Fixture::new();
    let mut c = f.unsigned_credential();
    c["@context"] = json!([
        "https://www.w3.org/ns/credentials/v2",
        "https://evil.example/ctx"
    ]);
    // Sign over a context set that knows it, verify with the standard set.
    let permissive = Rdfc2022::new(
        PinnedContexts::standard()
            .with_context(
                "https://evil.example/ctx",
                r#"{"@context":{"@vocab":"https://evil.example/#"}}"#,
            )
            .unwrap(),
    );
    let vc = permissive
        .sign(&c, &f.issuer_key, &f.assert_opts())
        .unwrap();
    let vp = f.present_using(
        &permissive,
        vec![vc],
        &f.holder_key,
        "c-123",
        "verifier.example",
    );
    let v = f.verify(&f.bundle(vp));
    assert_fails(
        &v,
        CheckKind::Signature,
        "unknown JSON-LD context https://evil.example/ctx",
    );

    let vc = f.sign_credential(&f.unsigned_credential());
    let text = String::from_utf8(f.bundle(f.present(vec![vc]))).unwrap();
    let dup = text.replacen("\"holder\":", "\"holder\":\"did:key:z6MkX\",\"holder\":", 1);
    assert_fails(
        &f.verify(dup.as_bytes()),
        CheckKind::Input,
        "duplicate JSON key `holder`",
    );
    let big = vec![b' '; 20 * 1024 * 1024];
    assert_fails(&f.verify(&big), CheckKind::Input, "bytes; at most");
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    assert_fails(&f.verify(deep.as_bytes()), CheckKind::Input, "nests deeper");
}

#[test]
fn a_credential_proof_with_the_wrong_purpose_is_refused() {
    let f = Fixture::new();
    let opts = ProofOptions {
        proof_purpose: "authentication".into(),
        ..f.assert_opts()
    };
    let vc = f
        .rdfc
        .sign(&f.unsigned_credential(), &f.issuer_key, &opts)
        .unwrap();
    let v = f.verify(&f.bundle(f.present(vec![vc])));
    assert_fails(&v, CheckKind::ProofPurpose, "expected assertionMethod");
}

#[test]
fn one_verifier_reused_never_lets_cached_results_turn_a_bad_bundle_good() {
    let f = Fixture::new();
    let verifier = Verifier::new(f.policy(), Some(f.chain.genesis.trust_anchor()));
    let vc = f.sign_credential(&f.unsigned_credential());
    let good = f.bundle(f.present(vec![vc.clone()]));
    assert!(verifier.verify_bytes(&good, f.now).accepted());
    // Same issuer material, now with a tampered registry proof.
    let mut b: Value = serde_json::from_slice(&good).unwrap();
    b["registryProofs"][0]["header"]["height"] = json!(99);
    assert!(
        !verifier
            .verify_bytes(&serde_json::to_vec(&b).unwrap(), f.now)
            .accepted()
    );
    // The revoked list stapled under the good list's URL: its signature is cached as valid,
    // but it is not the anchored list.
    let mut b: Value = serde_json::from_slice(&good).unwrap();
    b["statusLists"][LIST] = b["statusLists"][REVOKED_LIST].clone();
    assert!(
        !verifier
            .verify_bytes(&serde_json::to_vec(&b).unwrap(), f.now)
            .accepted()
    );
    // A revoked credential stays revoked however often its list was seen.
    let mut c = f.unsigned_credential();
    c["credentialStatus"]["statusListCredential"] = REVOKED_LIST.into();
    let revoked = f.bundle(f.present(vec![f.sign_credential(&c)]));
    for _ in 0..2 {
        assert!(!verifier.verify_bytes(&revoked, f.now).accepted());
    }
    // Freshness is checked on every use: the cached proofs are too old an hour later.
    let later = Policy {
        max_proof_age_s: 60,
        ..f.policy()
    };
    assert!(
        !verifier
            .with_policy(later)
            .verify_bytes(&good, f.now + 3_600_000)
            .accepted()
    );
    assert!(verifier.verify_bytes(&good, f.now).accepted());
}

#[test]
fn a_bundle_read_part_by_part_gets_the_verdict_of_the_whole_document() {
    // `verify_bytes` reads a plain bundle part by part (reusing proofs it parsed before);
    // `verify_parsed` reads the whole document. Both must say the same, for good and bad
    // bundles, and odd bundles must be refused with the whole document's reason.
    let f = Fixture::new();
    let verifier = Verifier::new(f.policy(), Some(f.chain.genesis.trust_anchor()));
    let vc = f.sign_credential(&f.unsigned_credential());
    let good = f.bundle(f.present(vec![vc.clone()]));
    let whole = |bytes: &[u8]| match verifier_lib::input::parse_json(bytes, verifier.limits()) {
        Ok(doc) => verifier.verify_parsed(&doc, f.now),
        Err(e) => panic!("test input must parse: {e}"),
    };
    let base: Value = serde_json::from_slice(&good).unwrap();
    let mut variants: Vec<Vec<u8>> = vec![good.clone()];
    let mut edit = |change: &dyn Fn(&mut Value)| {
        let mut b = base.clone();
        change(&mut b);
        variants.push(serde_json::to_vec(&b).unwrap());
    };
    edit(&|b| b["registryProofs"][0]["header"]["height"] = json!(99));
    edit(&|b| b["registryProofs"] = json!(null));
    edit(&|b| b["registryProofs"] = json!([{"not": "a proof"}]));
    edit(&|b| b["statusLists"] = json!({"https://x.example/1": 5}));
    edit(&|b| {
        b.as_object_mut().unwrap().remove("statusLists");
    });
    edit(&|b| b["extra"] = json!("unknown top-level key"));
    edit(&|b| b["presentation"]["proof"]["challenge"] = json!("other"));
    for bytes in &variants {
        // Twice: the second time the proofs come from the parsed-proof cache.
        for _ in 0..2 {
            let v = verifier.verify_bytes(bytes, f.now);
            // The whole-document verdict without the input check that reading adds.
            assert_eq!(v.checks[0].kind, CheckKind::Input);
            assert_eq!(v.checks[0].outcome, Outcome::Pass);
            assert_eq!(v.checks[1..], whole(bytes).checks[..]);
        }
    }
    assert!(verifier.verify_bytes(&good, f.now).accepted());

    // A duplicate key anywhere (a stapled proof, the status lists, the top level) is refused
    // even after the same proof was read cleanly before.
    let text = String::from_utf8(good).unwrap();
    // The first key of the first proof's header, written again before it.
    let at = text.find(r#""header":{""#).unwrap() + r#""header":{"#.len();
    let first_key = &text[at..at + 1 + text[at + 1..].find('"').unwrap() + 1];
    let header_dup = format!("{}{first_key}:0,{}", &text[..at], &text[at..]);
    for dup in [
        header_dup,
        text.replacen(
            r#""statusLists":{"#,
            r#""statusLists":{"a":"1","a":"2","#,
            1,
        ),
        text.replacen(
            r#"{"presentation":"#,
            r#"{"registryProofs":[],"presentation":"#,
            1,
        ),
    ] {
        assert_ne!(dup, text);
        let v = verifier.verify_bytes(dup.as_bytes(), f.now);
        assert!(!v.accepted());
        assert_fails(&v, CheckKind::Input, "duplicate JSON key");
    }
}
