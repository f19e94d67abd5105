//! IETF SD-JWT VC end to end and offline: an accredited `did:alliance` issuer (on a registry
//! run by the real node code) issues a `dc+sd-jwt` credential bound to the holder's key; the
//! holder discloses some claims with a key-binding JWT for the verifier's nonce and audience;
//! the verifier accepts it, and refuses each fault with the right check.

mod common;

use common::*;
use did_method::state::{self, recovery_commitment};
use did_method::*;
use serde_json::{Value, json};
use verifier_lib::dids::jwk_of;
use verifier_lib::sdjwt;
use verifier_lib::{CheckKind, Policy, Verdict, Verifier};

struct Setup {
    chain: Chain,
    issuer: Did,
    issuer_key: SecretKey,
    holder_key: SecretKey,
    now_s: u64,
}

fn setup() -> Setup {
    let chain = Chain::new();
    let issuer_key = sk(10);
    let (issuer, create) = Operation::create_single_key(
        &chain.genesis.chain_id,
        &issuer_key.public_key(),
        recovery_commitment(&sk(11).public_key()),
    );
    chain.block(vec![create.sign(&[&issuer_key, &sk(50)])]);
    let accredit = chain
        .op(
            0,
            OperationBody::AccreditIssuer {
                issuer: issuer.clone(),
                credential_types: vec!["urn:alliance:vct:driver-license".into()],
                valid_until_ms: None,
            },
        )
        .sign(&[&sk(100)]);
    let h = chain.block(vec![accredit]);
    let now_s = (T0 + h * 1000) / 1000 + 1;
    Setup {
        chain,
        issuer,
        issuer_key,
        holder_key: sk(20),
        now_s,
    }
}

impl Setup {
    fn claims(&self, vct: &str) -> serde_json::Map<String, Value> {
        let v = json!({
            "iss": self.issuer.to_string(),
            "vct": vct,
            "iat": self.now_s - 100,
            "exp": self.now_s + 86_400,
            "cnf": {"jwk": jwk_of(&self.holder_key.public_key())},
            "given_name": "Ada",
            "family_name": "Lovelace",
            "birthdate": "1815-12-10",
        });
        v.as_object().unwrap().clone()
    }

    fn issue(&self, claims: &serde_json::Map<String, Value>) -> String {
        sdjwt::issue(
            claims,
            &["/given_name", "/family_name", "/birthdate"],
            &self.issuer.url("key-1"),
            &self.issuer_key,
        )
        .unwrap()
    }

    fn present(&self, sd: &str, key: &SecretKey, nonce: &str, aud: &str, iat: u64) -> String {
        sdjwt::present(sd, Some(&["given_name"]), key, aud, nonce, iat).unwrap()
    }

    fn bundle(&self, presentation: &str) -> Vec<u8> {
        let proofs: Vec<RegistryProof> = [
            state::did_key(&self.issuer),
            state::issuer_key(&self.issuer),
        ]
        .iter()
        .map(|k| self.chain.prove(k))
        .collect();
        serde_json::to_vec(&json!({"presentation": presentation, "registryProofs": proofs}))
            .unwrap()
    }

    fn verify(&self, presentation: &str) -> Verdict {
        let policy = Policy {
            challenge: Some("n-1".into()),
            domain: Some("https://shop.example".into()),
            ..Policy::default()
        };
        Verifier::new(policy, Some(self.chain.genesis.trust_anchor()))
            .verify_bytes(&self.bundle(presentation), self.now_s * 1000)
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

const VCT: &str = "urn:alliance:vct:driver-license";

#[test]
fn a_selectively_disclosed_key_bound_credential_is_accepted() {
    let s = setup();
    let sd = s.issue(&s.claims(VCT));
    let p = s.present(&sd, &s.holder_key, "n-1", "https://shop.example", s.now_s);
    let v = s.verify(&p);
    assert!(v.accepted(), "{:#?}", v.failures().collect::<Vec<_>>());
    for kind in [
        CheckKind::Signature,
        CheckKind::IssuerBinding,
        CheckKind::HolderBinding,
        CheckKind::Challenge,
        CheckKind::Accreditation,
        CheckKind::CredentialType,
    ] {
        assert!(v.checks.iter().any(|c| c.kind == kind), "no {kind:?} check");
    }
    // Only the disclosed claim is revealed.
    let mut verdict = Verdict::default();
    let ev_policy = Policy {
        require_accreditation: false,
        challenge: Some("n-1".into()),
        domain: Some("https://shop.example".into()),
        ..Policy::default()
    };
    let proofs = vec![s.chain.prove(&state::did_key(&s.issuer))];
    let mut checks = vec![];
    let ev = verifier_lib::RegistryEvidence::verify(
        &proofs,
        &policy(&s.chain),
        s.now_s * 1000,
        &mut checks,
    );
    let claims = sdjwt::verify(
        &p,
        sdjwt::IssuerKey::Did(&ev),
        &ev_policy,
        true,
        s.now_s * 1000,
        &mut verdict,
    )
    .unwrap();
    assert_eq!(claims["given_name"], "Ada");
    assert!(!claims.contains_key("family_name") && !claims.contains_key("birthdate"));
}

#[test]
fn replayed_or_misdirected_key_binding_is_refused() {
    let s = setup();
    let sd = s.issue(&s.claims(VCT));
    // Made for another verifier's nonce (a replay here) or audience.
    assert_fails(
        &s.verify(&s.present(&sd, &s.holder_key, "n-0", "https://shop.example", s.now_s)),
        CheckKind::Challenge,
        "nonce is n-0",
    );
    assert_fails(
        &s.verify(&s.present(&sd, &s.holder_key, "n-1", "https://evil.example", s.now_s)),
        CheckKind::Challenge,
        "aud is https://evil.example",
    );
    // An old key-binding JWT.
    assert_fails(
        &s.verify(&s.present(
            &sd,
            &s.holder_key,
            "n-1",
            "https://shop.example",
            s.now_s - 3600,
        )),
        CheckKind::Validity,
        "policy accepts at most 300 s",
    );
}

#[test]
fn a_presenter_without_the_holder_key_is_refused() {
    let s = setup();
    let sd = s.issue(&s.claims(VCT));
    let p = s.present(&sd, &sk(21), "n-1", "https://shop.example", s.now_s);
    assert_fails(
        &s.verify(&p),
        CheckKind::HolderBinding,
        "not signed by the credential's cnf key",
    );
}

#[test]
fn unaccredited_type_expired_and_foreign_key_are_refused() {
    let s = setup();
    let p = |c: &serde_json::Map<String, Value>| {
        s.present(
            &s.issue(c),
            &s.holder_key,
            "n-1",
            "https://shop.example",
            s.now_s,
        )
    };
    assert_fails(
        &s.verify(&p(&s.claims("urn:alliance:vct:passport"))),
        CheckKind::Accreditation,
        "not for urn:alliance:vct:passport",
    );
    let mut c = s.claims(VCT);
    c.insert("exp".into(), json!(s.now_s - 3600));
    assert_fails(&s.verify(&p(&c)), CheckKind::Validity, "expired");
    // Signed by a key that is not the issuer's.
    let sd = sdjwt::issue(
        &s.claims(VCT),
        &["/given_name"],
        &s.issuer.url("key-1"),
        &sk(30),
    )
    .unwrap();
    let pr = s.present(&sd, &s.holder_key, "n-1", "https://shop.example", s.now_s);
    assert_fails(&s.verify(&pr), CheckKind::Signature, "does not verify");
    // An issuer that claims a key of another DID.
    let mut c = s.claims(VCT);
    c.insert(
        "iss".into(),
        json!("did:key:z6MkhTNL7i2etLerDK8Acz5t528giE5KA4p75T6ka1E1D74r"),
    );
    assert_fails(&s.verify(&p(&c)), CheckKind::IssuerBinding, "belongs to");
}
