//! DCQL as the wallet and the verifier use it: queries in the shapes OpenID4VP 1.0's
//! examples show (alternatives of credentials, alternatives of claims, value matching, W3C
//! types), against credentials like the consortium's.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on failure

use dcql::{Candidate, ClaimsPath, Disclosure, ErrorKind, Query, QueryError, Unsatisfied};
use serde_json::{Value, json};

const PERMIT: &str = "urn:alliance:vct:residence-permit";
const CITIZEN: &str = "urn:alliance:vct:citizen-id";
const VC: &str = "https://www.w3.org/2018/credentials#VerifiableCredential";
const LICENCE: &str = "https://w3id.org/alliance-id/credentials#DriverLicense";

fn query(v: Value) -> Query {
    Query::parse(v.to_string().as_bytes()).unwrap()
}

fn refused(v: Value) -> QueryError {
    Query::parse(v.to_string().as_bytes()).unwrap_err()
}

fn sd_jwt<'a>(vct: &'a str, claims: &'a Value) -> Candidate<'a> {
    Candidate {
        format: "dc+sd-jwt",
        vct: Some(vct),
        types: &[],
        claims,
        holder_binding: true,
    }
}

fn ldp<'a>(types: &'a [String], doc: &'a Value) -> Candidate<'a> {
    Candidate {
        format: "ldp_vc",
        vct: None,
        types,
        claims: doc,
        holder_binding: true,
    }
}

fn permit_claims() -> Value {
    json!({"vct": PERMIT, "name": "Ada", "birthdate": "1990-12-10", "city": "Hangzhou", "address": {"locality": "Xihu"}})
}

/// A shop asks for a residence permit's city, or else a citizen ID's address; a loyalty card
/// would be nice.
fn shop_query() -> Query {
    query(json!({
        "credentials": [
            {"id": "permit", "format": "dc+sd-jwt", "meta": {"vct_values": [PERMIT]},
             "claims": [{"path": ["city"]}]},
            {"id": "citizen", "format": "dc+sd-jwt", "meta": {"vct_values": [CITIZEN]},
             "claims": [{"path": ["address", "locality"]}]},
            {"id": "loyalty", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:shop:loyalty"]}}
        ],
        "credential_sets": [
            {"options": [["permit"], ["citizen"]]},
            {"options": [["loyalty"]], "required": false}
        ],
        "unknown_member": "ignored, as the specification says"
    }))
}

#[test]
fn a_wallet_finds_which_credentials_answer_a_query_with_alternatives() {
    let q = shop_query();
    let permit = permit_claims();
    let other = json!({"vct": "urn:other", "city": "Elsewhere"});
    let held = [sd_jwt("urn:other", &other), sd_jwt(PERMIT, &permit)];
    let s = q.select(&held);
    assert!(s.satisfiable(), "{:?}", s.unmet);
    assert_eq!(s.for_query("permit").len(), 1);
    assert_eq!(s.for_query("permit")[0].candidate, 1);
    assert_eq!(
        s.for_query("permit")[0].disclose,
        Disclosure::Claims(vec![ClaimsPath::keys(["city"])])
    );
    assert_eq!(s.for_query("permit")[0].disclose.top_level(), vec!["city"]);
    assert!(s.for_query("citizen").is_empty());
    assert!(s.for_query("loyalty").is_empty(), "optional, and not held");
    assert_eq!(s.needed, vec!["permit"]);

    // Holding every alternative and the optional card, an answer needs only the first
    // alternative held: the citizen shares no more than the query requires.
    let citizen = json!({"vct": CITIZEN, "address": {"locality": "Xihu"}});
    let loyalty = json!({"vct": "urn:shop:loyalty"});
    let all = [
        sd_jwt(CITIZEN, &citizen),
        sd_jwt(PERMIT, &permit),
        sd_jwt("urn:shop:loyalty", &loyalty),
    ];
    let s = q.select(&all);
    assert_eq!(s.needed, vec!["permit"]);
    assert!(s.is_needed("permit") && !s.is_needed("citizen") && !s.is_needed("loyalty"));

    // Holding nothing that answers the required set: the wallet says what is missing.
    let s = q.select(&held[..1]);
    assert!(!s.satisfiable());
    assert!(
        matches!(&s.unmet[..], [Unsatisfied::SetUnanswered { index: 0, options }] if options == "permit | citizen")
    );
}

#[test]
fn without_credential_sets_every_credential_query_must_be_answered() {
    let q = query(json!({"credentials": [
        {"id": "permit", "format": "dc+sd-jwt", "meta": {"vct_values": [PERMIT]}},
        {"id": "licence", "format": "ldp_vc", "meta": {"type_values": [[VC, LICENCE]]}}
    ]}));
    let permit = permit_claims();
    let s = q.select(&[sd_jwt(PERMIT, &permit)]);
    assert_eq!(s.unmet, vec![Unsatisfied::Missing("licence".into())]);
    assert_eq!(s.needed, vec!["permit", "licence"]);
    // No claims asked of an SD-JWT: only what it always shows.
    assert_eq!(s.for_query("permit")[0].disclose, Disclosure::Mandatory);
}

#[test]
fn the_first_claim_set_the_credential_can_answer_is_disclosed() {
    // An age check prefers "over 18" to the birth date (least disclosure first).
    let q = query(json!({"credentials": [{
        "id": "age", "format": "dc+sd-jwt", "meta": {"vct_values": [CITIZEN]},
        "claims": [
            {"id": "over18", "path": ["age_over_18"], "values": [true]},
            {"id": "birth", "path": ["birthdate"]}
        ],
        "claim_sets": [["over18"], ["birth"]]
    }]}));
    let with_predicate = json!({"age_over_18": true, "birthdate": "2001-01-01"});
    let without = json!({"birthdate": "2001-01-01"});
    let under_age = json!({"age_over_18": false});
    let held = [
        sd_jwt(CITIZEN, &with_predicate),
        sd_jwt(CITIZEN, &without),
        sd_jwt(CITIZEN, &under_age),
    ];
    let m = q.select(&held);
    let m = m.for_query("age");
    assert_eq!(m.len(), 2, "the third answers neither set: {m:?}");
    assert_eq!(m[0].disclose.top_level(), vec!["age_over_18"]);
    assert_eq!(m[1].disclose.top_level(), vec!["birthdate"]);
}

#[test]
fn values_restrict_which_credentials_match_by_type_and_value() {
    let q = query(json!({"credentials": [{
        "id": "licence", "format": "ldp_vc", "meta": {"type_values": [[VC, LICENCE]]},
        "claims": [{"path": ["credentialSubject", "licenseClass"], "values": ["A", "B"]}]
    }]}));
    let types = vec![VC.to_owned(), LICENCE.to_owned()];
    let b = json!({"credentialSubject": {"licenseClass": "B"}});
    let c = json!({"credentialSubject": {"licenseClass": "C"}});
    let one = json!({"credentialSubject": {"licenseClass": 1}});
    let held = [ldp(&types, &b), ldp(&types, &c), ldp(&types, &one)];
    let m = q.select(&held);
    assert_eq!(m.for_query("licence").len(), 1);
    assert_eq!(m.for_query("licence")[0].candidate, 0);
    // The types of another credential do not match, whatever its claims.
    let library = vec![
        VC.to_owned(),
        "https://w3id.org/alliance-id/credentials#LibraryCard".into(),
    ];
    assert!(
        q.select(&[ldp(&library, &b)])
            .for_query("licence")
            .is_empty()
    );
    // Any one of the alternatives of type_values is enough.
    let q = query(json!({"credentials": [{
        "id": "any", "format": "ldp_vc", "meta": {"type_values": [["urn:x"], [LICENCE]]}
    }]}));
    assert_eq!(q.select(&[ldp(&types, &b)]).for_query("any").len(), 1);
}

#[test]
fn a_verifier_accepts_a_response_that_answers_the_query() {
    let q = shop_query();
    let disclosed = json!({"vct": PERMIT, "city": "Hangzhou"});
    assert_eq!(
        q.check_response(&[("permit", vec![sd_jwt(PERMIT, &disclosed)])]),
        Ok(())
    );
    // The optional set may be answered too.
    let card = json!({"vct": "urn:shop:loyalty"});
    assert_eq!(
        q.check_response(&[
            (
                "citizen",
                vec![sd_jwt(CITIZEN, &json!({"address": {"locality": "Xihu"}}))]
            ),
            ("loyalty", vec![sd_jwt("urn:shop:loyalty", &card)])
        ]),
        Ok(())
    );
}

#[test]
fn a_verifier_refuses_a_response_that_does_not_answer_the_query_and_says_why() {
    let q = shop_query();
    let disclosed = json!({"vct": PERMIT, "city": "Hangzhou"});
    let hidden_city = json!({"vct": PERMIT, "name": "Ada"});
    let permit = sd_jwt(PERMIT, &disclosed);

    assert_eq!(
        q.check_response(&[("passport", vec![permit])]),
        Err(Unsatisfied::UnknownId("passport".into()))
    );
    assert_eq!(
        q.check_response(&[("permit", vec![permit, permit])]),
        Err(Unsatisfied::NotMultiple {
            id: "permit".into(),
            count: 2
        })
    );
    let e = q
        .check_response(&[("permit", vec![sd_jwt(PERMIT, &hidden_city)])])
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the credential presented for \"permit\" does not match its query: it has no city"
    );
    let e = q
        .check_response(&[("permit", vec![sd_jwt(CITIZEN, &disclosed)])])
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("its type urn:alliance:vct:citizen-id is not one asked for"),
        "{e}"
    );
    let e = q
        .check_response(&[("loyalty", vec![sd_jwt("urn:shop:loyalty", &json!({}))])])
        .unwrap_err();
    assert!(
        matches!(e, Unsatisfied::SetUnanswered { index: 0, .. }),
        "{e}"
    );
    assert_eq!(
        q.check_response(&[]).unwrap_err().to_string(),
        "no option of the required credential set 0 is answered (options: permit | citizen)"
    );
    // A credential without holder binding, where the query requires it (the default).
    let unbound = Candidate {
        holder_binding: false,
        ..permit
    };
    let e = q.check_response(&[("permit", vec![unbound])]).unwrap_err();
    assert!(
        e.to_string().contains("not bound to its holder's key"),
        "{e}"
    );
}

#[test]
fn queries_that_break_a_rule_are_refused_with_the_member_named() {
    let vct = json!({"vct_values": [PERMIT]});
    let cases: Vec<(Value, &str)> = vec![
        (json!({"credentials": []}), "credentials: must not be empty"),
        (
            json!({"credentials": [{"id": "a b", "format": "dc+sd-jwt", "meta": vct}]}),
            "credentials[0].id",
        ),
        (
            json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": vct}, {"id": "a", "format": "dc+sd-jwt", "meta": vct}]}),
            "credentials[1].id: \"a\" is used by two credential queries",
        ),
        (
            json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {}}]}),
            "credentials[0].meta.vct_values",
        ),
        (
            json!({"credentials": [{"id": "a", "format": "ldp_vc", "meta": {"type_values": [[]]}}]}),
            "credentials[0].meta.type_values[0]",
        ),
        (
            json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": vct, "claim_sets": [["x"]]}]}),
            "credentials[0].claim_sets: must not be present without claims",
        ),
        (
            json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": vct, "claims": [{"path": ["x"]}], "claim_sets": [["x"]]}]}),
            "credentials[0].claims[0].id: is required when claim_sets is present",
        ),
        (
            json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": vct, "claims": [{"id": "x", "path": ["x"]}], "claim_sets": [["y"]]}]}),
            "credentials[0].claim_sets[0]: \"y\" is not the id of one of its claims",
        ),
        (
            json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": vct, "claims": [{"id": "x", "path": ["x"]}, {"id": "x", "path": ["y"]}]}]}),
            "credentials[0].claims[1].id: \"x\" is used by two claims queries",
        ),
        (
            json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": vct, "claims": [{"path": []}]}]}),
            "credentials[0].claims[0].path: must not be empty",
        ),
        (
            json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": vct, "claims": [{"path": ["x"], "values": [{"a": 1}]}]}]}),
            "credentials[0].claims[0].values",
        ),
        (
            json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": vct}], "credential_sets": [{"options": [["b"]]}]}),
            "credential_sets[0].options[0]: \"b\" is not the id of a credential query",
        ),
        (
            json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": vct, "trusted_authorities": [{"type": "aki", "values": []}]}]}),
            "credentials[0].trusted_authorities[0].values",
        ),
    ];
    for (q, named) in cases {
        let e = refused(q.clone());
        assert_eq!(e.kind(), ErrorKind::Invalid, "{q}: {e}");
        assert!(
            e.to_string().contains(named),
            "{q}: {e} should name {named}"
        );
    }
    for bad in [
        json!({"credentials": [{"id": "a", "format": "dc+sd-jwt"}]}),
        json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": vct, "claims": [{"path": ["x", -1]}]}]}),
        json!([]),
    ] {
        assert_eq!(refused(bad.clone()).kind(), ErrorKind::Syntax, "{bad}");
    }
}

#[test]
fn a_hostile_query_is_refused_before_it_costs_anything() {
    let big = json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {"vct_values": ["x".repeat(70_000)]}}]});
    assert_eq!(refused(big).kind(), ErrorKind::TooLarge);
    let many: Vec<Value> = (0..40)
        .map(|i| json!({"id": format!("c{i}"), "format": "dc+sd-jwt", "meta": {"vct_values": [PERMIT]}}))
        .collect();
    assert_eq!(
        refused(json!({"credentials": many})).kind(),
        ErrorKind::TooLarge
    );
    let long_path: Vec<Value> = (0..40).map(|_| json!(null)).collect();
    let q = json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {"vct_values": [PERMIT]}, "claims": [{"path": long_path}]}]});
    assert_eq!(refused(q).kind(), ErrorKind::TooLarge);
    // Nesting deeper than the JSON reader allows is an error, not a crash.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(
        Query::parse(deep.as_bytes()).unwrap_err().kind(),
        ErrorKind::Syntax
    );
}

#[test]
fn a_query_survives_a_round_trip_through_json() {
    let q = shop_query();
    let again = Query::parse(serde_json::to_vec(&q).unwrap().as_slice()).unwrap();
    assert_eq!(q, again);
    let v = serde_json::to_value(&q).unwrap();
    assert_eq!(v["credential_sets"][1]["required"], false);
    assert_eq!(
        v["credentials"][0]["require_cryptographic_holder_binding"],
        true
    );
}
