//! The SD-JWT specification's generated test cases: every compact case verifies (issuer
//! signature, disclosures, and key binding where the case has it) and discloses exactly the
//! expected claims; tampering with any part is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

use std::path::PathBuf;

use serde_json::Value;
use ssi::JWK;
use verifier_lib::sdjwt::{self, IssuerKey};
use verifier_lib::{CheckKind, Policy, Verdict};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/sd-jwt")
}

fn issuer_jwk() -> JWK {
    serde_json::from_str(&std::fs::read_to_string(dir().join("issuer-public-jwk.json")).unwrap())
        .unwrap()
}

/// The vectors' key-binding JWTs were made at 1795479653 (2026-11-24): verify just after.
const NOW_MS: u64 = 1_795_479_653_000 + 10_000;

fn policy(key_binding: bool) -> Policy {
    Policy {
        challenge: Some("1234567890".into()),
        domain: Some("https://verifier.example.org".into()),
        require_holder_binding: key_binding,
        require_accreditation: false,
        ..Policy::default()
    }
}

fn cases() -> Vec<(String, String, Value, bool)> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir()).unwrap() {
        let p = e.unwrap().path();
        if !p.is_dir() {
            continue;
        }
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let presentation = std::fs::read_to_string(p.join("sd_jwt_presentation.txt")).unwrap();
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(p.join("verified_contents.json")).unwrap(),
        )
        .unwrap();
        let spec = std::fs::read_to_string(p.join("specification.yml")).unwrap();
        let kb = spec
            .lines()
            .any(|l| l.trim().eq_ignore_ascii_case("key_binding: true"));
        out.push((name, presentation, expected, kb));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn verify(text: &str, key_binding: bool) -> (Verdict, Option<serde_json::Map<String, Value>>) {
    let mut v = Verdict::default();
    let jwk = issuer_jwk();
    let claims = sdjwt::verify(
        text,
        IssuerKey::Jwk(&jwk),
        &policy(key_binding),
        false,
        NOW_MS,
        &mut v,
    );
    (v, claims)
}

#[test]
fn every_generated_case_verifies_and_discloses_the_expected_claims() {
    let cases = cases();
    assert_eq!(cases.len(), 13);
    for (name, presentation, expected, kb) in cases {
        let (v, claims) = verify(&presentation, kb);
        assert!(
            v.accepted(),
            "{name}: {:#?}",
            v.failures().collect::<Vec<_>>()
        );
        assert_eq!(Value::Object(claims.unwrap()), expected, "{name}");
        if kb {
            assert!(
                v.checks.iter().any(|c| c.kind == CheckKind::HolderBinding),
                "{name}"
            );
        }
    }
}

#[test]
fn tampered_parts_are_refused() {
    let (_, simple, _, _) = cases().into_iter().find(|c| c.0 == "simple").unwrap();
    let parts: Vec<&str> = simple.trim().split('~').collect();
    // Issuer JWT payload altered (one character of the base64url payload).
    let jws: Vec<&str> = parts[0].split('.').collect();
    let mut payload = jws[1].to_owned();
    let c = if payload.ends_with('A') { 'B' } else { 'A' };
    payload.pop();
    payload.push(c);
    let bad = [jws[0], &payload, jws[2]].join(".");
    let mut t = parts.clone();
    t[0] = &bad;
    let (v, _) = verify(&t.join("~"), true);
    assert!(
        v.failures()
            .any(|c| c.kind == CheckKind::Signature || c.kind == CheckKind::Format),
        "{v:#?}"
    );

    // A disclosure the issuer never made.
    let mut t = parts.clone();
    t.insert(1, "WyJzYWx0IiwgImFnZSIsIDk5XQ");
    let (v, _) = verify(&t.join("~"), true);
    assert!(!v.accepted());

    // A disclosure dropped after key binding: sd_hash no longer matches.
    let mut t = parts.clone();
    t.remove(1);
    let (v, _) = verify(&t.join("~"), true);
    assert!(
        v.failures()
            .any(|c| c.kind == CheckKind::HolderBinding && c.reason.contains("sd_hash")),
        "{v:#?}"
    );

    // A key-binding JWT that is not one: refused, and the reason says which part.
    for (kb, reason) in [
        (
            "a.b",
            "key-binding JWT does not have three dot-separated parts",
        ),
        ("e30.e30.AAAA", "key-binding JWT header"),
    ] {
        let mut t = parts.clone();
        *t.last_mut().unwrap() = kb;
        let (v, _) = verify(&t.join("~"), true);
        assert!(
            v.failures()
                .any(|c| c.kind == CheckKind::HolderBinding && c.reason.contains(reason)),
            "{reason}: {v:#?}"
        );
    }

    // Key binding stripped while the policy requires it.
    let mut t = parts.clone();
    *t.last_mut().unwrap() = "";
    let (v, _) = verify(&t.join("~"), true);
    assert!(
        v.failures()
            .any(|c| c.kind == CheckKind::HolderBinding && c.reason.contains("no key-binding")),
        "{v:#?}"
    );
}

#[test]
fn wrong_nonce_audience_or_stale_key_binding_is_refused() {
    let (_, simple, _, _) = cases().into_iter().find(|c| c.0 == "simple").unwrap();
    let jwk = issuer_jwk();
    let check = |policy: Policy, now: u64, reason: &str| {
        let mut v = Verdict::default();
        sdjwt::verify(&simple, IssuerKey::Jwk(&jwk), &policy, false, now, &mut v);
        assert!(
            v.failures().any(|c| c.reason.contains(reason)),
            "{reason}: {v:#?}"
        );
    };
    // A replayed key-binding JWT carries the old nonce.
    check(
        Policy {
            challenge: Some("fresh-nonce".into()),
            ..policy(true)
        },
        NOW_MS,
        "nonce is 1234567890, expected fresh-nonce",
    );
    check(
        Policy {
            domain: Some("https://other.example".into()),
            ..policy(true)
        },
        NOW_MS,
        "aud is https://verifier.example.org",
    );
    check(
        policy(true),
        NOW_MS + 3_600_000,
        "key-binding JWT is 3610 s old",
    );
    check(policy(true), NOW_MS - 3_600_000, "iat is in the future");
    // Wrong issuer key.
    let other: JWK = serde_json::from_str(
        r#"{"kty":"EC","crv":"P-256","x":"TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc","y":"ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"}"#,
    )
    .unwrap();
    let mut v = Verdict::default();
    sdjwt::verify(
        &simple,
        IssuerKey::Jwk(&other),
        &policy(true),
        false,
        NOW_MS,
        &mut v,
    );
    assert!(
        v.failures().any(|c| c.kind == CheckKind::Signature),
        "{v:#?}"
    );
}
