//! Stapling: what the wallet fetches while online so a business can decide offline.
//!
//! What is real here: the registry proofs, made by a chain in memory that runs did-method's
//! state transition and commits blocks with validator certificates (`common::Chain`), and
//! checked at the end by verifier-lib against that chain's genesis under the strict default
//! policy; the credentials, status lists and presentations, signed as the issuer and the
//! wallet sign them. What is written for the test: the two HTTP servers on loopback, an
//! issuer's status-list endpoints and a registry node's `GET /v1/proofs?key=…`, which answer
//! from that chain and record what they were asked.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use common::{Chain, Log, T0, recorded, sk};
use did_method::{Did, RegistryProof, SecretKey, state};
use serde_json::{Value, json};
use ssi::status::bitstring_status_list::{StatusList, StatusPurpose, TimeToLive};
use verifier_lib::contexts::{ALLIANCE_CREDENTIALS_V1, PinnedContexts};
use verifier_lib::dids::{did_key, jwk_of};
use verifier_lib::rdfc::{ProofOptions, Rdfc2022};
use verifier_lib::{CheckKind, Outcome, Policy, Verdict, Verifier};
use wallet_core::{Net, Trust, WalletError, present, staple};

fn rfc3339(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn net() -> Net {
    Net::new(&Trust::system()).unwrap()
}

/// A bound loopback listener and its base URL: URLs must be known before what names them is
/// signed.
async fn bind() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// An issuer's status-list endpoints: `path` → (media type, body), served byte for byte.
fn status_server(
    listener: tokio::net::TcpListener,
    lists: HashMap<String, (&'static str, String)>,
) -> Log {
    let lists = Arc::new(lists);
    let router = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let lists = lists.clone();
        async move {
            match lists.get(uri.path()) {
                Some((media, body)) => {
                    ([(header::CONTENT_TYPE, *media)], body.clone()).into_response()
                }
                None => StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    let (router, log) = recorded(router);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    log
}

/// Answers a registry node gives for a key, in turn; the last one again once the others
/// are used (a node that catches up and then stays current).
type Answers = Arc<Mutex<HashMap<String, Vec<RegistryProof>>>>;

/// A registry node's `GET /v1/proofs?key=…` on loopback, answering from `answers`; a key it
/// has no answer for fails the test.
async fn registry(answers: HashMap<String, Vec<RegistryProof>>) -> (String, Log) {
    async fn prove(
        State(answers): State<Answers>,
        Query(q): Query<HashMap<String, String>>,
    ) -> axum::response::Response {
        let key = &q["key"];
        let mut answers = answers.lock().unwrap();
        let Some(queue) = answers.get_mut(key) else {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("unexpected key {key}"),
            )
                .into_response();
        };
        let p = if queue.len() > 1 {
            queue.remove(0)
        } else {
            queue[0].clone()
        };
        axum::Json(p).into_response()
    }
    let (listener, url) = bind().await;
    let router = axum::Router::new()
        .route("/v1/proofs", get(prove))
        .with_state(Arc::new(Mutex::new(answers)));
    let (router, log) = recorded(router);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, log)
}

/// The state keys a registry was asked to prove, in order.
fn keys_asked(log: &Log) -> Vec<String> {
    log.matching("GET /v1/proofs?")
        .iter()
        .map(|s| {
            let query = s.line.split_once('?').unwrap().1;
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "key")
                .unwrap()
                .1
                .into_owned()
        })
        .collect()
}

/// The business's verifier under the strict default policy, trusting the chain's genesis.
fn verify(chain: &Chain, bundle: &Value, challenge: &str, now: u64) -> Verdict {
    let policy = Policy {
        challenge: Some(challenge.into()),
        domain: Some("shop.example".into()),
        ..Policy::default()
    };
    Verifier::new(policy, Some(chain.genesis.trust_anchor()))
        .verify_bytes(&serde_json::to_vec(bundle).unwrap(), now)
}

fn opts(vm: &str, purpose: &str, created: u64) -> ProofOptions {
    ProofOptions {
        verification_method: vm.into(),
        proof_purpose: purpose.into(),
        created: rfc3339(created),
        challenge: None,
        domain: None,
        nonce: None,
    }
}

/// A Bitstring status list credential at `url`, signed by `issuer`, pretty-printed with a
/// trailing newline: the bytes the wallet staples must be these, not a re-serialization.
fn bitstring_list(
    rdfc: &Rdfc2022,
    issuer: &Did,
    key: &SecretKey,
    url: &str,
    p: StatusPurpose,
) -> String {
    let subject = serde_json::to_value(
        StatusList::from_bytes(vec![0u8; 16 * 1024], TimeToLive::default())
            .to_credential_subject(None, p),
    )
    .unwrap();
    let list = rdfc
        .sign(
            &json!({
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "id": url,
                "type": ["VerifiableCredential", "BitstringStatusListCredential"],
                "issuer": issuer.to_string(),
                "validFrom": rfc3339(T0),
                "credentialSubject": subject,
            }),
            key,
            &opts(&issuer.url("key-1"), "assertionMethod", T0),
        )
        .unwrap();
    format!("{}\n", serde_json::to_string_pretty(&list).unwrap())
}

#[tokio::test]
async fn a_data_integrity_presentation_gets_its_issuers_proofs_and_lists_byte_for_byte() {
    let rdfc = Rdfc2022::new(PinnedContexts::standard());
    let (listener, issuer_url) = bind().await;
    let (revocation, suspension) = (
        format!("{issuer_url}/status/revocation"),
        format!("{issuer_url}/status/suspension"),
    );
    let (key_list_url, key_issuer) = (format!("{issuer_url}/other/status"), sk(30));

    // The registry: the agency's DID, its accreditation and the anchors of both its lists.
    let mut chain = Chain::new();
    let (did, key) = chain.create_issuer(10);
    let revocation_text = bitstring_list(&rdfc, &did, &key, &revocation, StatusPurpose::Revocation);
    let suspension_text = bitstring_list(&rdfc, &did, &key, &suspension, StatusPurpose::Suspension);
    let h = chain.block(vec![
        chain.accredit(&did, &["LibraryCard"]),
        chain.anchor(&did, &key, 0, &revocation, &revocation_text),
        chain.anchor(&did, &key, 0, &suspension, &suspension_text),
    ]);
    let now = T0 + h * 1000 + 500;
    let keys = [
        state::did_key(&did),
        state::issuer_key(&did),
        state::status_key(&did, &revocation),
        state::status_key(&did, &suspension),
    ];
    let proofs: HashMap<String, Vec<RegistryProof>> = keys
        .iter()
        .map(|k| (k.clone(), vec![chain.prove(k, h)]))
        .collect();
    let (registry_url, registry_log) = registry(proofs.clone()).await;

    // A did:key issuer's list too (seed 30): fetched, but no registry holds its anchor.
    let (key_did, key_vm) = did_key(&key_issuer.public_key());
    let key_list = rdfc
        .sign(
            &json!({
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "id": key_list_url,
                "type": ["VerifiableCredential", "BitstringStatusListCredential"],
                "issuer": key_did,
                "validFrom": rfc3339(T0),
                "credentialSubject": serde_json::to_value(
                    StatusList::from_bytes(vec![0u8; 16 * 1024], TimeToLive::default())
                        .to_credential_subject(None, StatusPurpose::Revocation)).unwrap(),
            }),
            &key_issuer,
            &opts(&key_vm, "assertionMethod", T0),
        )
        .unwrap()
        .to_string();
    let issuer_log = status_server(
        listener,
        HashMap::from([
            (
                "/status/revocation".into(),
                ("application/vc+ld+json", revocation_text.clone()),
            ),
            (
                "/status/suspension".into(),
                ("application/vc+ld+json", suspension_text.clone()),
            ),
            (
                "/other/status".into(),
                ("application/vc+ld+json", key_list.clone()),
            ),
        ]),
    );

    let holder = sk(20);
    let (holder_did, _) = did_key(&holder.public_key());
    let card = |issuer: String, vm: &str, key: &SecretKey, status: Value| {
        rdfc.sign(
            &json!({
                "@context": ["https://www.w3.org/ns/credentials/v2", ALLIANCE_CREDENTIALS_V1],
                "id": format!("urn:uuid:6f1c1a2e-5d0b-4a57-9b7e-3c1f4a3b2d1{}", status.as_array().map_or(0, Vec::len)),
                "type": ["VerifiableCredential", "LibraryCard"],
                "issuer": issuer,
                "validFrom": rfc3339(T0),
                "credentialSubject": {"id": holder_did, "name": "Ada Lovelace"},
                "credentialStatus": status,
            }),
            key,
            &opts(vm, "assertionMethod", T0),
        )
        .unwrap()
    };
    let entry = |list: &str, purpose: &str, i: u32| {
        json!({"id": format!("{list}#{i}"), "type": "BitstringStatusListEntry",
               "statusPurpose": purpose, "statusListIndex": i.to_string(), "statusListCredential": list})
    };
    let agency_card = card(
        did.to_string(),
        &did.url("key-1"),
        &key,
        json!([
            entry(&revocation, "revocation", 42),
            entry(&suspension, "suspension", 42)
        ]),
    );
    let other_card = card(
        key_did.clone(),
        &key_vm,
        &key_issuer,
        entry(&key_list_url, "revocation", 7),
    );

    // The agency's card alone: every proof asked for once, lists as served, and the business
    // accepts it offline under its strict policy.
    let vp = present::data_integrity(
        &rdfc,
        std::slice::from_ref(&agency_card),
        &holder,
        "c-1",
        "shop.example",
        now,
    )
    .unwrap();
    let bundle = staple::bundle(&net(), &registry_url, &vp, None)
        .await
        .unwrap();
    let bundle = serde_json::to_value(&bundle).unwrap();
    assert_eq!(bundle["presentation"], vp);
    let mut asked = keys_asked(&registry_log);
    asked.sort();
    let mut expected = keys.to_vec();
    expected.sort();
    assert_eq!(asked, expected, "each key once");
    let stapled = bundle["registryProofs"].as_array().unwrap();
    assert_eq!(stapled.len(), 4);
    for k in &keys {
        let proof = serde_json::to_value(&proofs[k][0]).unwrap();
        assert!(
            stapled.contains(&proof),
            "{k}: not stapled as the node served it"
        );
    }
    assert_eq!(
        bundle["statusLists"],
        json!({&revocation: revocation_text, &suspension: suspension_text}),
        "the lists byte for byte"
    );
    let fetched = issuer_log.matching("GET /status/");
    assert_eq!(fetched.len(), 2);
    for f in &fetched {
        let accept = f.headers["accept"].to_str().unwrap();
        assert!(accept.contains("application/vc+ld+json"), "{accept}");
    }
    let v = verify(&chain, &bundle, "c-1", now);
    assert!(v.accepted(), "{:#?}", v.failures().collect::<Vec<_>>());
    for kind in [
        CheckKind::RegistryProof,
        CheckKind::IssuerBinding,
        CheckKind::Accreditation,
        CheckKind::StatusAnchor,
        CheckKind::Status,
    ] {
        assert!(
            v.checks
                .iter()
                .any(|c| c.kind == kind && c.outcome == Outcome::Pass),
            "no {kind:?} check passed"
        );
    }

    // With a did:key issuer's card beside it: its list is stapled too, but the registry is
    // asked nothing more (a did:key is on no registry).
    let vp = present::data_integrity(
        &rdfc,
        &[agency_card, other_card],
        &holder,
        "c-2",
        "shop.example",
        now,
    )
    .unwrap();
    let bundle = serde_json::to_value(
        staple::bundle(&net(), &registry_url, &vp, None)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        keys_asked(&registry_log).len(),
        8,
        "the same 4 keys again, nothing for did:key"
    );
    assert!(
        keys_asked(&registry_log)
            .iter()
            .all(|k| k.contains(&did.to_string()))
    );
    assert_eq!(bundle["statusLists"][&key_list_url], key_list);
    assert_eq!(bundle["registryProofs"].as_array().unwrap().len(), 4);
}

/// An SD-JWT VC of the holder (seed 20) from `did`, with a Token Status List reference.
fn sd_jwt_card(did: &Did, key: &SecretKey, token_uri: &str) -> String {
    let claims = json!({
        "iss": did.to_string(), "vct": "urn:test:library-card",
        "iat": T0 / 1000, "exp": T0 / 1000 + 86_400,
        "cnf": {"jwk": jwk_of(&sk(20).public_key())},
        "given_name": "Ada", "birthdate": "1815-12-10",
        "status": {"status_list": {"idx": 4242, "uri": token_uri}},
    });
    verifier_lib::sdjwt::issue(
        claims.as_object().unwrap(),
        &["/given_name", "/birthdate"],
        &did.url("key-1"),
        key,
    )
    .unwrap()
}

/// A Token Status List at `uri` signed by `did`; `revoked` entries set to 1.
fn token_list(did: &Did, key: &SecretKey, uri: &str, revoked: &[usize], iat_s: u64) -> String {
    let mut list = ssi::status::token_status_list::BitString::new_valid(
        ssi::status::token_status_list::StatusSize::try_from(2u8).unwrap(),
        16_384,
    );
    for i in revoked {
        list.set(*i, 1).unwrap();
    }
    verifier_lib::token_status::sign(
        &verifier_lib::token_status::TokenClaims {
            iss: &did.to_string(),
            sub: uri,
            iat_s,
            exp_s: iat_s + 86_400,
            ttl_s: 300,
            list: &list,
        },
        &did.url("key-1"),
        key,
    )
    .unwrap()
}

/// The registry node the wallet asks may be a block behind the one that anchored the list
/// the issuer serves: the wallet asks again until the anchor matches (every 100 ms, for up to
/// 5 s), and staples that proof. If the node never catches up, it staples what it has after
/// 5 s, and the business's verifier says the list is not the anchored one.
#[tokio::test]
async fn an_sd_jwt_gets_its_token_list_and_waits_for_the_lists_anchor() {
    let (listener, issuer_url) = bind().await;
    let token_uri = format!("{issuer_url}/status/token");
    let mut chain = Chain::new();
    let (did, key) = chain.create_issuer(10);
    // Anchored at h1: the list before a revocation; at h2: the list the issuer now serves
    // (entry 7 revoked, not the holder's 4242).
    let old = token_list(&did, &key, &token_uri, &[], T0 / 1000);
    let new = token_list(&did, &key, &token_uri, &[7], T0 / 1000 + 1);
    let h1 = chain.block(vec![
        chain.accredit(&did, &["urn:test:library-card"]),
        chain.anchor(&did, &key, 0, &token_uri, &old),
    ]);
    let h2 = chain.block(vec![chain.anchor(&did, &key, 1, &token_uri, &new)]);
    let now = T0 + h2 * 1000 + 500;
    let issuer_log = status_server(
        listener,
        HashMap::from([(
            "/status/token".into(),
            ("application/statuslist+jwt", new.clone()),
        )]),
    );
    let status_key = state::status_key(&did, &token_uri);
    let answers = |status: Vec<RegistryProof>| {
        HashMap::from([
            (
                state::did_key(&did),
                vec![chain.prove(&state::did_key(&did), h2)],
            ),
            (
                state::issuer_key(&did),
                vec![chain.prove(&state::issuer_key(&did), h2)],
            ),
            (status_key.clone(), status),
        ])
    };

    let card = sd_jwt_card(&did, &key, &token_uri);
    let p = present::sd_jwt(
        &card,
        Some(&["given_name"]),
        &sk(20),
        "shop.example",
        "n-1",
        now,
    )
    .unwrap();
    let presentation = Value::String(p);

    // The node is a block behind for its first two answers, then current.
    let behind = chain.prove(&status_key, h1);
    let current = chain.prove(&status_key, h2);
    let (registry_url, registry_log) = registry(answers(vec![
        behind.clone(),
        behind.clone(),
        current.clone(),
    ]))
    .await;
    let start = Instant::now();
    let bundle = staple::bundle(&net(), &registry_url, &presentation, None)
        .await
        .unwrap();
    let waited = start.elapsed();
    let bundle = serde_json::to_value(&bundle).unwrap();
    let asked = keys_asked(&registry_log);
    assert_eq!(
        asked.iter().filter(|k| **k == status_key).count(),
        3,
        "{asked:?}"
    );
    assert_eq!(asked.len(), 5, "{asked:?}");
    assert!(
        waited >= Duration::from_millis(200),
        "asked again every 100 ms: {waited:?}"
    );
    let stapled = bundle["registryProofs"].as_array().unwrap();
    assert!(stapled.contains(&serde_json::to_value(&current).unwrap()));
    assert!(!stapled.contains(&serde_json::to_value(&behind).unwrap()));
    assert_eq!(bundle["statusLists"], json!({&token_uri: new}));
    let fetched = issuer_log.matching("GET /status/token");
    let accept = fetched[0].headers["accept"].to_str().unwrap();
    assert!(accept.starts_with("application/statuslist+jwt"), "{accept}");
    let v = verify(&chain, &bundle, "n-1", now);
    assert!(v.accepted(), "{:#?}", v.failures().collect::<Vec<_>>());

    // A node that never catches up: after 5 s the wallet staples what it has.
    let (registry_url, registry_log) = registry(answers(vec![behind.clone()])).await;
    let start = Instant::now();
    let bundle = staple::bundle(&net(), &registry_url, &presentation, None)
        .await
        .unwrap();
    let waited = start.elapsed();
    assert!(
        (Duration::from_secs(5)..Duration::from_secs(8)).contains(&waited),
        "{waited:?}"
    );
    let asked = keys_asked(&registry_log);
    assert!(
        asked.iter().filter(|k| **k == status_key).count() >= 10,
        "{asked:?}"
    );
    let bundle = serde_json::to_value(&bundle).unwrap();
    assert!(
        bundle["registryProofs"]
            .as_array()
            .unwrap()
            .contains(&serde_json::to_value(&behind).unwrap())
    );
    let v = verify(&chain, &bundle, "n-1", now);
    assert!(
        v.failures().any(|c| c.kind == CheckKind::StatusAnchor),
        "{v:#?}"
    );
}

#[tokio::test]
async fn a_status_list_the_issuer_does_not_serve_is_an_error() {
    let (listener, issuer_url) = bind().await;
    let _log = status_server(listener, HashMap::new());
    let key_issuer = sk(30);
    let (key_did, key_vm) = did_key(&key_issuer.public_key());
    let list = format!("{issuer_url}/status/1");
    let rdfc = Rdfc2022::new(PinnedContexts::standard());
    let vc = rdfc
        .sign(
            &json!({
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiableCredential"],
                "issuer": key_did,
                "credentialSubject": {"name": "Ada"},
                "credentialStatus": {"id": format!("{list}#1"), "type": "BitstringStatusListEntry",
                                     "statusPurpose": "revocation", "statusListIndex": "1", "statusListCredential": list},
            }),
            &key_issuer,
            &opts(&key_vm, "assertionMethod", T0),
        )
        .unwrap();
    let vp = present::data_integrity(&rdfc, &[vc], &sk(20), "c-1", "shop.example", T0).unwrap();
    let err = staple::bundle(&net(), "http://127.0.0.1:9", &vp, None)
        .await
        .unwrap_err();
    match err {
        WalletError::BadResponse(m) => assert!(m.contains(&list) && m.contains("404"), "{m}"),
        e => panic!("{e:?}"),
    }
}
