//! Differential test: documents canonicalized through expansion templates (learned from
//! json-ld, replayed for documents of the same shape) give exactly the canonical N-Quads that
//! json-ld gives for each document on its own, whatever values they carry: values that are
//! terms, compact IRIs, blank node labels, keywords, the templates' own placeholder marks,
//! IRIs equal to the vocabulary's, values equal to each other, and relative IRIs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

use serde_json::{Value, json};
use verifier_lib::contexts::{ALLIANCE_CREDENTIALS_V1, PinnedContexts};
use verifier_lib::rdfc::{Rdfc2022, RdfcError};

const HOLDER: &str = "did:key:z6MkhTNL7i2etLerDK8Acz5t528giE5KA4p75T6ka1E1D74r";

fn credential() -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", ALLIANCE_CREDENTIALS_V1],
        "id": "urn:uuid:6f1c1a2e-5d0b-4a57-9b7e-3c1f4a3b2d10",
        "type": ["VerifiableCredential", "DriverLicense"],
        "issuer": "did:alliance:7Hq2kPzXbV4mYcR1sT9wQe",
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2046-01-01T00:00:00Z",
        "credentialSubject": {"id": HOLDER, "name": "Ada Lovelace", "licenseClass": "B",
                              "birthDate": "1815-12-10",
                              "address": {"locality": "London", "country": "GB"}},
        "credentialStatus": {"id": "https://issuer.example/status/1#42",
                             "type": "BitstringStatusListEntry",
                             "statusPurpose": "revocation", "statusListIndex": "42",
                             "statusListCredential": "https://issuer.example/status/1"},
        "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022",
                  "created": "2026-01-01T00:00:00Z",
                  "verificationMethod": "did:alliance:7Hq2kPzXbV4mYcR1sT9wQe#key-1",
                  "proofPurpose": "assertionMethod",
                  "proofValue": "z3yUuWbFsLUp2CUrSZRaRbTk1UnkhpoJgJYu1SdMqa3AcMKdDXGK7CnHUzfKQ3JgZWSmp8S5ebWtjCMWGYtMx2uG5"},
    })
}

fn presentation() -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": HOLDER,
        "verifiableCredential": [credential()],
        "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022",
                  "created": "2026-02-01T00:00:00Z",
                  "verificationMethod": format!("{HOLDER}#{}", &HOLDER[8..]),
                  "proofPurpose": "authentication", "challenge": "c-1",
                  "domain": "verifier.example",
                  "proofValue": "z3yUuWbFsLUp2CUrSZRaRbTk1UnkhpoJgJYu1SdMqa3AcMKdDXGK7CnHUzfKQ3JgZWSmp8S5ebWtjCMWGYtMx2uG5"},
    })
}

/// Values chosen to probe each rule of the templates.
fn probes() -> Vec<String> {
    [
        "Grace Hopper",
        "",
        "Ünïcödé ✓ \"quoted\" \\ back",
        "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH",
        "did:alliance:7Hq2kPzXbV4mYcR1sT9wQe",
        "https://example.org/things/1",
        "urn:uuid:00000000-0000-4000-8000-000000000001",
        "_:b0",
        "_:c14n0",
        "@id",
        "@type",
        "@vocab",
        "VerifiableCredential",
        "VerifiablePresentation",
        "DriverLicense",
        "name",
        "credentialSubject",
        "id",
        "type",
        "xsd:string",
        "xsd:dateTime",
        "sec:proof",
        "cred:issuer",
        "urn:x-alliance-slot:0",
        "urn:x-alliance-slot:1",
        "xallianceslot0",
        "xallianceslot3",
        "https://www.w3.org/2018/credentials#VerifiableCredential",
        "https://www.w3.org/2018/credentials#issuer",
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#type",
        "https://w3id.org/alliance-id/credentials#name",
        "https://w3id.org/security#proof",
        "relative/path",
        "#fragment",
        "https:",
        "https://",
        "a:b:c",
        "mailto:ada@example.org",
        "revocation",
        "assertionMethod",
        "authentication",
        "2026-01-01T00:00:00Z",
        "42",
        "London",
        HOLDER,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The JSON pointers of the string values of `doc`.
fn string_paths(doc: &Value, at: String, out: &mut Vec<String>) {
    match doc {
        Value::String(_) => out.push(at),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                string_paths(x, format!("{at}/{i}"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                if k != "@context" && k != "proofValue" {
                    string_paths(x, format!("{at}/{k}"), out);
                }
            }
        }
        _ => {}
    }
}

type Forms = Result<(Vec<String>, Vec<String>), RdfcError>;

/// One canonicalizer with templates and one without, over the standard pinned contexts.
fn verifiers() -> (Rdfc2022, Rdfc2022) {
    let contexts = PinnedContexts::standard();
    (
        Rdfc2022::new(contexts.clone()),
        Rdfc2022::without_templates(contexts),
    )
}

fn forms(rdfc: &Rdfc2022, doc: &Value) -> Forms {
    rdfc.canonical_forms(doc)
}

fn check(templated: &Rdfc2022, plain: &Rdfc2022, doc: &Value) {
    let expected = forms(plain, doc);
    let got = forms(templated, doc);
    match (&expected, &got) {
        (Ok(e), Ok(g)) => assert_eq!(e, g, "canonical forms differ for\n{doc:#}"),
        // Both refuse: the reason may differ in wording, never in the outcome.
        (Err(_), Err(_)) => {}
        _ => panic!(
            "templates changed the outcome: json-ld {expected:?}, templates {got:?}\n{doc:#}"
        ),
    }
}

fn sweep(base: Value) {
    let (templated, plain) = verifiers();
    check(&templated, &plain, &base);
    let mut paths = vec![];
    string_paths(&base, String::new(), &mut paths);
    for path in &paths {
        for value in probes() {
            let mut doc = base.clone();
            *doc.pointer_mut(path).unwrap() = Value::String(value);
            check(&templated, &plain, &doc);
            // And once more, now that this shape has been seen: the template's answer.
            check(&templated, &plain, &doc);
        }
    }
    let stats = templated.template_stats();
    assert!(stats.learned > 0, "no template was learned");
    assert!(stats.hits > 0, "no document was expanded from a template");
}

#[test]
fn a_credential_from_templates_equals_json_ld_whatever_its_values() {
    sweep(credential());
}

#[test]
fn a_presentation_from_templates_equals_json_ld_whatever_its_values() {
    sweep(presentation());
}

#[test]
fn a_new_credential_of_a_known_shape_is_expanded_from_its_template() {
    let (templated, plain) = verifiers();
    check(&templated, &plain, &credential());
    let learned = templated.template_stats();
    for (i, name) in ["Grace Hopper", "Alan Turing", "Emmy Noether"]
        .iter()
        .enumerate()
    {
        let mut doc = credential();
        doc["credentialSubject"]["name"] = json!(name);
        doc["credentialSubject"]["id"] = json!(format!("did:key:z6Mk{i}"));
        doc["id"] = json!(format!("urn:uuid:{i}"));
        doc["proof"]["created"] = json!(format!("2026-01-0{}T00:00:00Z", i + 2));
        check(&templated, &plain, &doc);
    }
    let now = templated.template_stats();
    assert_eq!(now.learned, learned.learned, "the same shape learned again");
    assert!(now.hits >= learned.hits + 6, "{now:?} after {learned:?}");
}

#[test]
fn equal_values_and_values_equal_to_the_vocabulary_keep_their_meaning() {
    let (templated, plain) = verifiers();
    check(&templated, &plain, &credential());
    // The subject is the issuer (nodes merge in json-ld's node map).
    let mut doc = credential();
    doc["credentialSubject"]["id"] = doc["issuer"].clone();
    check(&templated, &plain, &doc);
    // The status entry's id is the list itself.
    let mut doc = credential();
    doc["credentialStatus"]["id"] = doc["credentialStatus"]["statusListCredential"].clone();
    check(&templated, &plain, &doc);
    // An id equal to a class IRI of the template's constants.
    let mut doc = credential();
    doc["id"] = json!("https://www.w3.org/2018/credentials#VerifiableCredential");
    check(&templated, &plain, &doc);
    // A literal equal to another literal.
    let mut doc = credential();
    doc["credentialSubject"]["address"]["locality"] = json!("GB");
    check(&templated, &plain, &doc);
}

#[test]
fn documents_templates_do_not_handle_are_expanded_by_json_ld() {
    let (templated, plain) = verifiers();
    let mut nested = credential();
    nested["credentialSubject"]["@context"] = json!({"extra": "https://example.org/extra"});
    nested["credentialSubject"]["extra"] = json!("x");
    let mut keyword = credential();
    keyword["credentialSubject"]["@id"] = json!("did:example:1");
    let mut inline = credential();
    inline["@context"] =
        json!(["https://www.w3.org/ns/credentials/v2", {"@vocab": "https://example.org/#"}]);
    for doc in [nested, keyword, inline] {
        check(&templated, &plain, &doc);
        check(&templated, &plain, &doc);
    }
    // Only their proof configurations (plain, contexts by URL) came from a template: the
    // first two documents share one, the third's inline context is never templated.
    assert_eq!(templated.template_stats().hits, 3);
}
