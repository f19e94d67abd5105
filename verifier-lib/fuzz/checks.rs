//! The invariants each fuzz target checks, shared by the libFuzzer targets and the corpus
//! replay test (`tests/fuzz_corpus.rs`), which runs them on stable Rust in CI.

use verifier_lib::input::{Limits, parse_json};
use verifier_lib::{Policy, Verdict, Verifier};

pub type Check = fn(&[u8]);

pub const TARGETS: &[(&str, Check)] = &[
    ("bundle", bundle),
    ("sd_jwt", sd_jwt),
    ("canonical_nquads", canonical_nquads),
    ("input_json", input_json),
    ("status_list_token", status_list_token),
    ("presentation_hashes", presentation_hashes),
    ("expansion_templates", expansion_templates),
];

/// Any bytes given as a bundle: a verdict, never a panic, and never an acceptance under the
/// default policy without a trust anchor (nothing random carries valid signatures).
///
/// The verdict is the one the whole-document path gives (a bundle's parts are read apart,
/// and stapled proofs are taken from a cache by their exact bytes, only on the fast path).
pub fn bundle(data: &[u8]) {
    let verifier = Verifier::new(Policy::default(), None);
    let now = 1_800_000_000_000;
    let v = verifier.verify_bytes(data, now);
    assert!(
        !v.accepted()
            || v.checks
                .iter()
                .any(|c| c.kind == verifier_lib::CheckKind::Signature)
    );
    match parse_json(data, Limits::default()) {
        Ok(doc) => {
            let whole = verifier.verify_parsed(&doc, now);
            assert_eq!(
                v.checks.first().map(|c| c.kind),
                Some(verifier_lib::CheckKind::Input)
            );
            assert_eq!(v.checks[1..], whole.checks[..]);
        }
        Err(e) => assert_eq!(
            v.checks
                .iter()
                .map(|c| (c.kind, c.reason.as_str()))
                .collect::<Vec<_>>(),
            [(verifier_lib::CheckKind::Input, e.to_string().as_str())]
        ),
    }
}

/// Any text as an SD-JWT presentation, with the specification vectors' issuer key: a verdict,
/// never a panic, and the same disclosed claims as ssi's reveal wherever ssi reads it.
pub fn sd_jwt(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let jwk: ssi::JWK = match serde_json::from_str(
        r#"{"kty":"EC","crv":"P-256","x":"b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ","y":"Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"}"#,
    ) {
        Ok(j) => j,
        Err(_) => return,
    };
    // Where ssi's own reveal reads the text too, both disclose the same claims.
    if let Ok(ours) = verifier_lib::sdjwt::disclosed_claims(text)
        && let Ok(sd) = ssi::claims::sd_jwt::SdJwt::new(text.trim())
        && let Ok(decoded) = sd.decode()
        && let Ok(revealed) = decoded.reveal_any()
        && let Ok(serde_json::Value::Object(mut theirs)) = serde_json::to_value(revealed.claims())
    {
        theirs.remove("_sd_alg");
        // Numbers compared by value: ssi passes registered claims (iat, exp, …) through its
        // own types, which rewrite `1.830` as `1.83`; the text here is the issuer's.
        assert_eq!(
            same_numbers(serde_json::Value::Object(ours)),
            same_numbers(serde_json::Value::Object(theirs))
        );
    }
    let mut v = Verdict::default();
    let _ = verifier_lib::sdjwt::verify(
        text,
        verifier_lib::sdjwt::IssuerKey::Jwk(&jwk),
        &Policy::default(),
        true,
        1_800_000_000_000,
        &mut v,
    );
}

/// `v` with every number as the double it denotes.
fn same_numbers(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Number(n) => n.as_f64().map_or(Value::Null, Value::from),
        Value::Array(a) => Value::Array(a.into_iter().map(same_numbers).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, same_numbers(v))).collect())
        }
        other => other,
    }
}

/// A dataset built from the bytes (blank nodes, IRIs and literals of every kind, graph
/// names, repeats): our canonical lines are exactly ssi's (ADR 0017).
pub fn canonical_nquads(data: &[u8]) {
    use rdf_types::{BlankIdBuf, Id, IriBuf, Literal, LiteralType, Quad, Term};
    let texts = [
        "a",
        "\"q\" \\",
        "l\nr\rt\t",
        "é 漢 \u{1F600}",
        "",
        "\u{7}\u{1f}\u{7f}",
    ];
    let blank = |n: u8| Id::Blank(BlankIdBuf::from_suffix(&format!("b{}", n % 8)).unwrap());
    let iri = |n: u8| IriBuf::new(format!("https://example.org/v#p{}", n % 5)).unwrap();
    let quads: Vec<rdf_types::LexicalQuad> = data
        .chunks_exact(4)
        .take(64)
        .map(|c| {
            let subject = if c[0] & 1 == 0 {
                blank(c[0] >> 1)
            } else {
                Id::Iri(iri(c[0] >> 1))
            };
            let object = match c[2] % 4 {
                0 => Term::Id(blank(c[2] >> 2)),
                1 => Term::Id(Id::Iri(iri(c[2] >> 2))),
                2 => Term::Literal(Literal::new(
                    texts[usize::from(c[2] >> 2) % texts.len()].to_owned(),
                    LiteralType::Any(
                        IriBuf::new("http://www.w3.org/2001/XMLSchema#string".into()).unwrap(),
                    ),
                )),
                _ => Term::Literal(Literal::new(
                    texts[usize::from(c[2] >> 2) % texts.len()].to_owned(),
                    LiteralType::LangString("en-GB".parse().unwrap()),
                )),
            };
            let graph = match c[3] % 3 {
                0 => None,
                1 => Some(blank(c[3] >> 2)),
                _ => Some(Id::Iri(iri(c[3] >> 2))),
            };
            Quad(subject, iri(c[1]), object, graph)
        })
        .collect();
    let ours = verifier_lib::rdfc::canonical_nquads(&quads);
    // ssi's n-degree step can panic on some datasets; where it does, ours (which falls back
    // to it) reports an error instead.
    let theirs = std::panic::catch_unwind(|| {
        ssi::rdf::urdna2015::normalize(quads.iter().map(|q| q.as_lexical_quad_ref()))
            .into_nquads_lines()
    });
    if let (Ok(ours), Ok(theirs)) = (&ours, &theirs) {
        assert_eq!(ours, theirs);
    }
    assert!(ours.is_ok() || theirs.is_err());
}

/// The bounded parser agrees with serde_json on what it accepts (minus duplicates, depth and
/// size), and never panics.
pub fn input_json(data: &[u8]) {
    let limits = Limits {
        max_bytes: 1 << 20,
        max_depth: 64,
    };
    if let Ok(v) = parse_json(data, limits) {
        let plain: serde_json::Value =
            serde_json::from_slice(data).expect("accepted input is JSON");
        assert_eq!(v, plain);
    }
}

/// Any text as a Status List Token: parsed or refused, never a panic, never more than the
/// decompression bound allocated; a token that parses answers every index in range and none
/// beyond, and its statuses fit its width.
pub fn status_list_token(data: &[u8]) {
    use verifier_lib::token_status::{MAX_LIST_BYTES, StatusListToken};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(t) = StatusListToken::parse(text) else {
        return;
    };
    assert!(t.len() as u64 <= MAX_LIST_BYTES * 8);
    assert!(!t.signing_input.is_empty());
    for i in [0, 1, t.len() / 2, t.len().saturating_sub(1)] {
        if i < t.len() {
            assert!(t.status(i).is_some(), "index {i} of {} is missing", t.len());
        }
    }
    assert_eq!(t.status(t.len()), None);
}

/// Any JSON as a presentation: where the hash data of an embedded credential is taken from
/// the presentation's quads, it is exactly what that credential alone gives (the split can
/// never make a signature check pass or fail differently).
pub fn presentation_hashes(data: &[u8]) {
    use std::sync::OnceLock;
    use verifier_lib::contexts::PinnedContexts;
    use verifier_lib::rdfc::Rdfc2022;
    static RDFC: OnceLock<Rdfc2022> = OnceLock::new();
    let Ok(vp) = parse_json(data, Limits::default()) else {
        return;
    };
    let rdfc = RDFC.get_or_init(|| Rdfc2022::new(PinnedContexts::standard()));
    let Ok(hashes) = rdfc.presentation_hashes(&vp) else {
        return;
    };
    let credentials: Vec<&serde_json::Value> = match vp.get("verifiableCredential") {
        Some(serde_json::Value::Array(a)) => a.iter().collect(),
        Some(one) => vec![one],
        None => vec![],
    };
    for (c, h) in credentials.iter().zip(&hashes.credentials) {
        if let Some(h) = h {
            assert_eq!(
                Some(*h),
                rdfc.hash_data(c).ok(),
                "split hash differs for {c}"
            );
        }
    }
}

/// Any JSON as a secured document: canonicalized through expansion templates (one cache
/// shared by every input, so documents of a shape seen before are replayed from it) and by
/// json-ld alone, the outcome and the canonical N-Quads are the same.
pub fn expansion_templates(data: &[u8]) {
    use std::sync::OnceLock;
    use verifier_lib::contexts::PinnedContexts;
    use verifier_lib::rdfc::Rdfc2022;
    static TEMPLATED: OnceLock<Rdfc2022> = OnceLock::new();
    static PLAIN: OnceLock<Rdfc2022> = OnceLock::new();
    let Ok(doc) = parse_json(data, Limits::default()) else {
        return;
    };
    let templated = TEMPLATED.get_or_init(|| Rdfc2022::new(PinnedContexts::standard()));
    let plain = PLAIN.get_or_init(|| Rdfc2022::without_templates(PinnedContexts::standard()));
    let expected = plain.canonical_forms(&doc).ok();
    // Twice: the first may learn the shape, the second then comes from its template.
    for _ in 0..2 {
        assert_eq!(
            templated.canonical_forms(&doc).ok(),
            expected,
            "templates disagree with json-ld on {doc}"
        );
    }
}
