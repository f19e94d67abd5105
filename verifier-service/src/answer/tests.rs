//! Answers built as a wallet builds them (an SD-JWT VC of a did:key issuer, disclosed claim by
//! claim, with a key binding for the request's nonce and client), verified by the service.

use did_method::SecretKey;
use serde_json::{Map, Value, json};
use verifier_lib::contexts::PinnedContexts;
use verifier_lib::dids::{did_key, jwk_of};
use verifier_lib::rdfc::Rdfc2022;
use verifier_lib::{Policy, Verifier, sdjwt};

use super::verify_answer;
use crate::ledger::Answering;

const CLIENT: &str = "decentralized_identifier:did:alliance:z6MkShop";
const VCT: &str = "urn:alliance:vct:residence-permit";
const NOW_S: u64 = 1_796_000_000;

fn holder() -> SecretKey {
    SecretKey::from_seed(&[2; 32])
}

/// A residence permit for the holder, its name, birth date and city disclosable.
fn permit() -> String {
    let issuer_key = SecretKey::from_seed(&[1; 32]);
    let (did, kid) = did_key(&issuer_key.public_key());
    let claims: Map<String, Value> = json!({
        "iss": did, "vct": VCT, "iat": NOW_S - 100, "exp": NOW_S + 86_400,
        "cnf": {"jwk": jwk_of(&holder().public_key())},
        "name": "Ada", "birthdate": "1990-12-10", "city": "Hangzhou"
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    sdjwt::issue(
        &claims,
        &["/name", "/birthdate", "/city"],
        &kid,
        &issuer_key,
    )
    .unwrap()
}

fn request() -> Answering {
    Answering {
        id: "r1".into(),
        nonce: "n-7Hq2".into(),
        query: dcql::Query::parse(
            json!({"credentials": [{"id": "permit", "format": "dc+sd-jwt", "meta": {"vct_values": [VCT]},
                   "claims": [{"path": ["city"]}]}]})
            .to_string()
            .as_bytes(),
        )
        .unwrap(),
    }
}

/// A did:key issuer is not on the registry: the business's policy for this test asks for no
/// registry evidence (the stapled proofs of a did:alliance issuer are the end-to-end test's).
fn verifier() -> Verifier {
    let policy = Policy {
        require_accreditation: false,
        require_status_anchor: false,
        ..Policy::default()
    };
    Verifier::new(policy, None)
}

fn answer(presentation: String) -> oid4vp::DirectPost {
    let mut token = oid4vp::VpToken::default();
    token
        .0
        .insert("permit".into(), vec![Value::String(presentation)]);
    oid4vp::DirectPost {
        vp_token: token,
        state: Some("r1".into()),
        staples: None,
    }
}

fn verdict(post: &oid4vp::DirectPost) -> crate::Outcome {
    let rdfc = Rdfc2022::new(PinnedContexts::standard());
    verify_answer(
        &verifier(),
        &rdfc,
        &request(),
        CLIENT,
        post,
        &oid4vp::Limits::default(),
        NOW_S * 1000,
    )
}

#[test]
fn an_answer_disclosing_what_was_asked_is_accepted_and_the_business_sees_only_that() {
    let p = sdjwt::present(
        &permit(),
        Some(&["city"]),
        &holder(),
        CLIENT,
        "n-7Hq2",
        NOW_S,
    )
    .unwrap();
    let o = verdict(&answer(p));
    assert!(o.accepted, "{o:?}");
    let shown = &o.claims["permit"][0];
    assert_eq!(shown["claims"], json!({"city": "Hangzhou"}));
    assert_eq!(shown["type"], VCT);
}

#[test]
fn answers_that_do_not_answer_or_do_not_verify_are_refused_with_the_reason() {
    // The city not disclosed: DCQL says so.
    let p = sdjwt::present(
        &permit(),
        Some(&["name"]),
        &holder(),
        CLIENT,
        "n-7Hq2",
        NOW_S,
    )
    .unwrap();
    let o = verdict(&answer(p));
    assert!(!o.accepted);
    assert_eq!(
        o.reason.as_deref(),
        Some("the credential presented for \"permit\" does not match its query: it has no city")
    );
    assert_eq!(o.claims, json!({}), "nothing of a refused answer is shown");

    // Another request's nonce (a replay from elsewhere), another audience, another key.
    for (nonce, aud, key) in [
        ("n-other", CLIENT, holder()),
        (
            "n-7Hq2",
            "decentralized_identifier:did:alliance:z6MkThief",
            holder(),
        ),
        ("n-7Hq2", CLIENT, SecretKey::from_seed(&[9; 32])),
    ] {
        let p = sdjwt::present(&permit(), Some(&["city"]), &key, aud, nonce, NOW_S).unwrap();
        let o = verdict(&answer(p));
        assert!(!o.accepted, "{nonce} {aud}");
        assert!(
            o.reason
                .as_deref()
                .unwrap_or_default()
                .starts_with("the presentation for \"permit\" was refused"),
            "{o:?}"
        );
    }

    // The wrong shape, and another request's state.
    let mut post = answer("x".into());
    post.vp_token.0.insert("passport".into(), vec![json!("y")]);
    assert!(
        verdict(&post)
            .reason
            .unwrap_or_default()
            .contains("\"passport\" is not an id of the query")
    );
    let p = sdjwt::present(
        &permit(),
        Some(&["city"]),
        &holder(),
        CLIENT,
        "n-7Hq2",
        NOW_S,
    )
    .unwrap();
    let mut post = answer(p);
    post.state = Some("r2".into());
    assert_eq!(
        verdict(&post).reason.as_deref(),
        Some("the response's state is not this request's")
    );
}
