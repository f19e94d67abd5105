//! The invariants the `query` fuzz target checks, shared with `../tests/fuzz_corpus.rs`,
//! which replays the corpus on stable Rust in CI.
//!
//! Any input: reading it never panics and stays within the limits. A query that reads back
//! is valid, survives a round trip through JSON unchanged, and matching it against a few
//! credentials (including ones shaped from the input's own JSON) never panics; the verifier's
//! check accepts what the wallet's selection says answers the query.

use dcql::{Candidate, Query};
use serde_json::{Value, json};

pub fn query(data: &[u8]) {
    let Ok(q) = Query::parse(data) else {
        return;
    };
    let again = Query::parse(&serde_json::to_vec(&q).unwrap_or_default())
        .unwrap_or_else(|e| panic!("a valid query does not read back: {e}"));
    assert_eq!(q, again, "a query changed through a round trip");

    let own: Value = serde_json::from_slice(data).unwrap_or(Value::Null);
    let held_claims = [
        json!({"vct": "urn:alliance:vct:residence-permit", "city": "Hangzhou", "age_over_18": true,
               "address": {"locality": "Xihu"}, "list": [1, "a", {"b": [true]}]}),
        own.clone(),
        own["credentials"][0].clone(),
    ];
    let vcts: Vec<String> = q
        .credentials
        .iter()
        .flat_map(|c| {
            c.meta
                .get("vct_values")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let types: Vec<String> = q
        .credentials
        .iter()
        .flat_map(|c| {
            c.meta
                .get("type_values")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .flat_map(|alt| alt.as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let mut held = Vec::new();
    for claims in &held_claims {
        for vct in vcts.iter().map(String::as_str).chain(["urn:other"]) {
            held.push(Candidate {
                format: "dc+sd-jwt",
                vct: Some(vct),
                types: &[],
                claims,
                holder_binding: true,
            });
        }
        held.push(Candidate {
            format: "ldp_vc",
            vct: None,
            types: &types,
            claims,
            holder_binding: true,
        });
    }
    let selection = q.select(&held);
    for (_, matches) in &selection.matches {
        for m in matches {
            assert!(m.candidate < held.len());
        }
    }
    if selection.satisfiable() {
        // What the wallet would send (its first match per answered query) answers the query.
        let presented: Vec<(&str, Vec<Candidate<'_>>)> = selection
            .matches
            .iter()
            .filter_map(|(id, m)| m.first().map(|m| (id.as_str(), vec![held[m.candidate]])))
            .collect();
        if let Err(e) = q.check_response(&presented) {
            panic!("the wallet's selection does not answer the query: {e}");
        }
    }
}
