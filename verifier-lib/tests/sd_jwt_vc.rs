//! IETF SD-JWT VC end to end and offline: an accredited `did:alliance` issuer (on a registry
//! run by the real node code) issues a `dc+sd-jwt` credential bound to the holder's key; the
//! holder discloses some claims with a key-binding JWT for the verifier's nonce and audience;
//! the verifier accepts it, and refuses each fault with the right check.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

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

const TOKEN_LIST: &str = "https://issuer.example/status/token";

/// A Status List Token of 1,000 two-bit statuses with `set` applied.
fn token(s: &Setup, key: &SecretKey, sub: &str, iat_s: u64, set: &[(usize, u8)]) -> String {
    use ssi::status::token_status_list::{BitString, StatusSize};
    let mut list = BitString::new_valid(StatusSize::try_from(2u8).unwrap(), 1000);
    for (i, v) in set {
        list.set(*i, *v).unwrap();
    }
    verifier_lib::token_status::sign(
        &verifier_lib::token_status::TokenClaims {
            iss: &s.issuer.to_string(),
            sub,
            iat_s,
            exp_s: iat_s + 3600,
            ttl_s: 300,
            list: &list,
        },
        &s.issuer.url("key-1"),
        key,
    )
    .unwrap()
}

impl Setup {
    /// Anchors `text` as the issuer's list `uri` (anchor sequence `seq`).
    fn anchor(&mut self, uri: &str, text: &str, seq: u64) {
        let op = self
            .chain
            .op(
                seq,
                OperationBody::AnchorStatusList {
                    issuer: self.issuer.clone(),
                    list_id: uri.into(),
                    list_hash: Hash::digest(text.as_bytes()),
                },
            )
            .sign(&[&self.issuer_key]);
        let h = self.chain.block(vec![op]);
        self.now_s = (T0 + h * 1000) / 1000 + 1;
    }

    fn verify_with_list(&self, presentation: &str, list: &str, policy: Policy) -> Verdict {
        let proofs: Vec<RegistryProof> = [
            state::did_key(&self.issuer),
            state::issuer_key(&self.issuer),
            state::status_key(&self.issuer, TOKEN_LIST),
        ]
        .iter()
        .map(|k| self.chain.prove(k))
        .collect();
        let bundle = json!({
            "presentation": presentation,
            "registryProofs": proofs,
            "statusLists": {TOKEN_LIST: list},
        });
        Verifier::new(policy, Some(self.chain.genesis.trust_anchor()))
            .verify_bytes(&serde_json::to_vec(&bundle).unwrap(), self.now_s * 1000)
    }
}

fn strict() -> Policy {
    Policy {
        challenge: Some("n-1".into()),
        domain: Some("https://shop.example".into()),
        require_status: true,
        ..Policy::default()
    }
}

#[test]
fn token_status_list_valid_revoked_suspended_and_every_fault() {
    let mut s = setup();
    let idx = 421;
    let mut claims = s.claims(VCT);
    claims.insert(
        "status".into(),
        json!({"status_list": {"idx": idx, "uri": TOKEN_LIST}}),
    );
    let sd = s.issue(&claims);
    let key = s.issuer_key.clone();
    let iat = s.now_s;
    let valid = token(&s, &key, TOKEN_LIST, iat, &[(idx + 1, 1)]);
    s.anchor(TOKEN_LIST, &valid, 0);
    let p = s.present(&sd, &s.holder_key, "n-1", "https://shop.example", s.now_s);
    let v = s.verify_with_list(&p, &valid, strict());
    assert!(v.accepted(), "{:#?}", v.failures().collect::<Vec<_>>());
    for kind in [
        CheckKind::Status,
        CheckKind::StatusAnchor,
        CheckKind::StatusFreshness,
    ] {
        assert!(
            v.checks
                .iter()
                .any(|c| c.kind == kind && c.outcome == verifier_lib::Outcome::Pass),
            "no passing {kind:?}"
        );
    }

    // Not anchored (a list the issuer signed but never published on the registry).
    let other = token(&s, &key, TOKEN_LIST, iat, &[]);
    assert_fails(
        &s.verify_with_list(&p, &other, strict()),
        CheckKind::StatusAnchor,
        "",
    );
    // Not stapled at all.
    let proofs: Vec<RegistryProof> = [state::did_key(&s.issuer), state::issuer_key(&s.issuer)]
        .iter()
        .map(|k| s.chain.prove(k))
        .collect();
    let bare = serde_json::to_vec(&json!({"presentation": p, "registryProofs": proofs})).unwrap();
    let v = Verifier::new(strict(), Some(s.chain.genesis.trust_anchor()))
        .verify_bytes(&bare, s.now_s * 1000);
    assert_fails(&v, CheckKind::Status, "is not stapled");
    // Signed by a key that is not the issuer's.
    let forged = token(&s, &sk(77), TOKEN_LIST, iat, &[]);
    assert_fails(
        &s.verify_with_list(&p, &forged, strict()),
        CheckKind::Status,
        "does not verify",
    );
    // A token for another list.
    let elsewhere = token(&s, &key, "https://issuer.example/status/other", iat, &[]);
    assert_fails(
        &s.verify_with_list(&p, &elsewhere, strict()),
        CheckKind::Status,
        "not https://issuer.example/status/token",
    );
    // Tampered payload (one status flipped without re-signing).
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    let mut payload: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &parts[1])
            .unwrap(),
    )
    .unwrap();
    payload["status_list"] = verifier_lib::token_status::encode_list(
        &ssi::status::token_status_list::BitString::new_valid(
            ssi::status::token_status_list::StatusSize::try_from(2u8).unwrap(),
            1000,
        ),
    );
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        serde_json::to_vec(&payload).unwrap(),
    );
    let tampered = parts.join(".");
    assert_fails(
        &s.verify_with_list(&p, &tampered, strict()),
        CheckKind::Status,
        "does not verify",
    );
    // Older than the policy allows.
    let s_old = Policy {
        max_status_age_s: 0,
        ..strict()
    };
    let later = Setup {
        now_s: s.now_s + 10,
        ..s
    };
    let p2 = later.present(
        &sd,
        &later.holder_key,
        "n-1",
        "https://shop.example",
        later.now_s,
    );
    assert_fails(
        &later.verify_with_list(&p2, &valid, s_old),
        CheckKind::StatusFreshness,
        "old",
    );
    let mut s = later;

    // Revoked, then (a new list) suspended: each anchored in turn.
    let revoked = token(&s, &key, TOKEN_LIST, s.now_s, &[(idx, 1)]);
    s.anchor(TOKEN_LIST, &revoked, 1);
    let p = s.present(&sd, &s.holder_key, "n-1", "https://shop.example", s.now_s);
    assert_fails(
        &s.verify_with_list(&p, &revoked, strict()),
        CheckKind::Status,
        "revoked (index 421",
    );
    let suspended = token(&s, &key, TOKEN_LIST, s.now_s, &[(idx, 2)]);
    s.anchor(TOKEN_LIST, &suspended, 2);
    let p = s.present(&sd, &s.holder_key, "n-1", "https://shop.example", s.now_s);
    assert_fails(
        &s.verify_with_list(&p, &suspended, strict()),
        CheckKind::Status,
        "suspended",
    );

    // An index beyond the list.
    let mut claims = s.claims(VCT);
    claims.insert(
        "status".into(),
        json!({"status_list": {"idx": 5000, "uri": TOKEN_LIST}}),
    );
    let far = s.issue(&claims);
    let p = s.present(&far, &s.holder_key, "n-1", "https://shop.example", s.now_s);
    assert_fails(
        &s.verify_with_list(&p, &suspended, strict()),
        CheckKind::Status,
        "beyond the end",
    );

    // No status at all, under a policy that requires one.
    let plain = s.issue(&s.claims(VCT));
    let p = s.present(
        &plain,
        &s.holder_key,
        "n-1",
        "https://shop.example",
        s.now_s,
    );
    assert_fails(
        &s.verify_with_list(&p, &suspended, strict()),
        CheckKind::Status,
        "requires a status",
    );
}

#[test]
fn a_reused_verifier_caches_status_tokens_without_letting_a_bad_one_through() {
    let mut s = setup();
    let mut claims = s.claims(VCT);
    claims.insert(
        "status".into(),
        json!({"status_list": {"idx": 7, "uri": TOKEN_LIST}}),
    );
    let sd = s.issue(&claims);
    let key = s.issuer_key.clone();
    let iat = s.now_s;
    let valid = token(&s, &key, TOKEN_LIST, iat, &[]);
    s.anchor(TOKEN_LIST, &valid, 0);
    let forged = token(&s, &sk(77), TOKEN_LIST, iat, &[]);
    let p = s.present(&sd, &s.holder_key, "n-1", "https://shop.example", s.now_s);
    let proofs: Vec<RegistryProof> = [
        state::did_key(&s.issuer),
        state::issuer_key(&s.issuer),
        state::status_key(&s.issuer, TOKEN_LIST),
    ]
    .iter()
    .map(|k| s.chain.prove(k))
    .collect();
    let bundle = |list: &str| {
        serde_json::to_vec(&json!({
            "presentation": p,
            "registryProofs": proofs,
            "statusLists": {TOKEN_LIST: list},
        }))
        .unwrap()
    };
    let verifier = Verifier::new(strict(), Some(s.chain.genesis.trust_anchor()));
    for round in 0..3 {
        let v = verifier.verify_bytes(&bundle(&valid), s.now_s * 1000);
        assert!(
            v.accepted(),
            "round {round}: {:#?}",
            v.failures().collect::<Vec<_>>()
        );
        let v = verifier.verify_bytes(&bundle(&forged), s.now_s * 1000);
        assert_fails(&v, CheckKind::Status, "does not verify");
    }
}

#[test]
fn a_bundle_gets_one_verdict_however_it_is_read() {
    let s = setup();
    let sd = s.issue(&s.claims(VCT));
    let p = s.present(&sd, &s.holder_key, "n-1", "https://shop.example", s.now_s);
    let bytes = s.bundle(&p);
    let policy = Policy {
        challenge: Some("n-1".into()),
        domain: Some("https://shop.example".into()),
        ..Policy::default()
    };
    let verifier = Verifier::new(policy, Some(s.chain.genesis.trust_anchor()));
    let now = s.now_s * 1000;
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let whole = verifier.verify_parsed(&doc, now);
    assert!(whole.accepted(), "{whole:#?}");
    // Read part by part, the second time with the proofs from the cache, and laid out
    // differently: the same checks, after the one that the input was read.
    let pretty = serde_json::to_vec_pretty(&doc).unwrap();
    for bytes in [&bytes, &bytes, &pretty] {
        let v = verifier.verify_bytes(bytes, now);
        assert_eq!(v.checks[0].kind, CheckKind::Input);
        assert_eq!(v.checks[1..], whole.checks[..]);
    }
    // A proof that differs from a cached one is checked, not taken from the cache.
    let mut forged = doc.clone();
    let sigs = &mut forged["registryProofs"][0]["certificate"]["signatures"];
    sigs[0]["signature"] = sigs[1]["signature"].clone();
    let v = verifier.verify_bytes(&serde_json::to_vec(&forged).unwrap(), now);
    assert_fails(&v, CheckKind::RegistryProof, "registry proof is invalid");
    // A repeated member is left to the whole-document reading, which names it.
    let text = String::from_utf8(bytes.clone()).unwrap();
    let doubled = text.replacen(
        "{\"presentation\"",
        "{\"presentation\":1,\"presentation\"",
        1,
    );
    let v = verifier.verify_bytes(doubled.as_bytes(), now);
    assert_fails(&v, CheckKind::Input, "duplicate JSON key `presentation`");
}
