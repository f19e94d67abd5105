//! The wallet's OpenID4VCI client against an issuer written here (axum on loopback) that
//! records every request: what the wallet sends (the offer fetched by reference, a
//! form-encoded token request with the transaction code, one JWT proof per key with the
//! right header, audience, nonce and signature), its one retry on `invalid_nonce`, the
//! issuer's refusals surfaced with their code, and plain `http://` refused outside loopback
//! before any request. The issuer's answers are minimal but shaped as OpenID4VCI 1.0 says;
//! the real issuer is run against this client in the e2e tests (`tests/`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Log, recorded, sk};
use did_method::Signature;
use registry_client::https::HttpsError;
use serde_json::{Value, json};
use wallet_core::oid4vci::{self, Offer};
use wallet_core::{Net, Trust, WalletError};

const PRE_AUTH: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
/// A code with characters that must be escaped in a form body.
const CODE: &str = "c0de+/=&x y";

/// How the test issuer behaves.
#[derive(Clone, Default)]
struct Script {
    /// Its base URL, the credential issuer identifier.
    base: String,
    /// The token endpoint its authorization server metadata names (default: `{base}/token`).
    token_endpoint: Option<String>,
    /// The `credential_issuer` its metadata claims (default: `base`).
    metadata_issuer: Option<String>,
    /// The token endpoint refuses with this error body.
    refuse_token: Option<Value>,
    /// The first this many credential requests are refused with `invalid_nonce`.
    invalid_nonces: usize,
    nonces: Arc<AtomicUsize>,
    credential_requests: Arc<AtomicUsize>,
}

fn router(script: Script) -> axum::Router {
    axum::Router::new()
        .route(
            "/offers/1",
            get(|State(s): State<Script>| async move {
                Json(json!({
                    "credential_issuer": s.base,
                    "credential_configuration_ids": ["LibraryCard"],
                    "grants": {PRE_AUTH: {"pre-authorized_code": CODE,
                               "tx_code": {"input_mode": "numeric", "length": 6}}},
                }))
            }),
        )
        .route(
            "/.well-known/openid-credential-issuer",
            get(|State(s): State<Script>| async move {
                let base = &s.base;
                Json(json!({
                    "credential_issuer": s.metadata_issuer.as_ref().unwrap_or(base),
                    "authorization_servers": [base],
                    "credential_endpoint": format!("{base}/credential"),
                    "nonce_endpoint": format!("{base}/nonce"),
                    "credential_configurations_supported": {"LibraryCard": {"format": "ldp_vc"}},
                }))
            }),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(|State(s): State<Script>| async move {
                let base = &s.base;
                Json(json!({
                    "issuer": base,
                    "token_endpoint": s.token_endpoint.clone().unwrap_or(format!("{base}/token")),
                }))
            }),
        )
        .route(
            "/offers/gone",
            get(|| async {
                (
                    StatusCode::NOT_FOUND,
                    Json(json!({"error": "not_found", "error_description": "no such offer"})),
                )
            }),
        )
        .route(
            "/token",
            post(|State(s): State<Script>| async move {
                match s.refuse_token {
                    Some(e) => (StatusCode::BAD_REQUEST, Json(e)),
                    None => (
                        StatusCode::OK,
                        Json(json!({"access_token": "at-1", "token_type": "Bearer"})),
                    ),
                }
            }),
        )
        .route(
            "/nonce",
            post(|State(s): State<Script>| async move {
                let n = s.nonces.fetch_add(1, Ordering::SeqCst) + 1;
                Json(json!({"c_nonce": format!("n-{n}")}))
            }),
        )
        .route(
            "/credential",
            post(
                |State(s): State<Script>, Json(body): Json<Value>| async move {
                    let n = s.credential_requests.fetch_add(1, Ordering::SeqCst);
                    if n < s.invalid_nonces {
                        return (
                            StatusCode::BAD_REQUEST,
                            Json(json!({"error": "invalid_nonce", "error_description": "stale"})),
                        );
                    }
                    // One credential per proof, numbered, so the test can tell them apart.
                    let proofs = body["proofs"]["jwt"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    let credentials: Vec<Value> = (0..proofs.len())
                        .map(|i| json!({"credential": {"id": format!("urn:test:{i}")}}))
                        .collect();
                    (StatusCode::OK, Json(json!({"credentials": credentials})))
                },
            ),
        )
        .with_state(script)
}

/// An issuer following `script` (its `base` filled in) on loopback, with its request log.
async fn issuer(mut script: Script) -> (Script, Log) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    script.base = format!("http://{}", listener.local_addr().unwrap());
    let (router, log) = recorded(router(script.clone()));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (script, log)
}

fn net() -> Net {
    Net::new(&Trust::system()).unwrap()
}

fn offer_link(base: &str) -> String {
    format!(
        "openid-credential-offer://?credential_offer_uri={}",
        url::form_urlencoded::byte_serialize(format!("{base}/offers/1").as_bytes())
            .collect::<String>()
    )
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A JWT's header and claims, and the signature over its first two parts.
fn decode_jwt(jwt: &str) -> (Value, Value, String, Signature) {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "{jwt}");
    let part = |p: &str| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
    let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
    (
        part(parts[0]),
        part(parts[1]),
        format!("{}.{}", parts[0], parts[1]),
        sig,
    )
}

#[tokio::test]
async fn receive_sends_a_form_encoded_token_request_and_one_signed_proof_per_key() {
    let (script, log) = issuer(Script::default()).await;
    let base = script.base.clone();
    let net = net();
    let offer = Offer::resolve(&net, &offer_link(&base)).await.unwrap();
    assert_eq!(offer.credential_issuer, base);
    assert_eq!(offer.configuration_ids, ["LibraryCard"]);
    assert_eq!(offer.pre_authorized_code, CODE);
    assert_eq!(offer.tx_code.as_ref().unwrap()["length"], 6);

    let keys = [sk(7), sk(8)];
    let got = oid4vci::receive(&net, &offer, Some("493201"), &[&keys[0], &keys[1]])
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r.configuration_id, "LibraryCard");
        assert_eq!(r.format, "ldp_vc", "the format is the metadata's");
        assert_eq!(r.credential["id"], format!("urn:test:{i}"));
    }
    assert_eq!(
        log.lines(),
        [
            "GET /offers/1",
            "GET /.well-known/openid-credential-issuer",
            "GET /.well-known/oauth-authorization-server",
            "POST /token",
            "POST /nonce",
            "POST /credential",
        ]
    );

    // The token request: a form, escaped, with the pre-authorized code and the PIN.
    let token = &log.matching("POST /token")[0];
    assert_eq!(
        token.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    let form: Vec<(String, String)> = url::form_urlencoded::parse(token.body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(
        form,
        [
            ("grant_type".to_owned(), PRE_AUTH.to_owned()),
            ("pre-authorized_code".to_owned(), CODE.to_owned()),
            ("tx_code".to_owned(), "493201".to_owned()),
        ]
    );
    assert!(!token.body.contains(' '), "not escaped: {}", token.body);

    // The credential request: the access token, the configuration, one proof per key.
    let cred = &log.matching("POST /credential")[0];
    assert_eq!(cred.headers["authorization"], "Bearer at-1");
    let body: Value = serde_json::from_str(&cred.body).unwrap();
    assert_eq!(body["credential_configuration_id"], "LibraryCard");
    let proofs = body["proofs"]["jwt"].as_array().unwrap();
    assert_eq!(proofs.len(), 2);
    for (proof, key) in proofs.iter().zip(&keys) {
        let (header, claims, signed, sig) = decode_jwt(proof.as_str().unwrap());
        let (_, kid) = verifier_lib::dids::did_key(&key.public_key());
        assert_eq!(
            header,
            json!({"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "kid": kid})
        );
        assert_eq!(claims["aud"], base.as_str());
        assert_eq!(claims["nonce"], "n-1", "the nonce the issuer gave");
        assert!(claims["iat"].as_u64().unwrap().abs_diff(now_s()) < 60);
        key.public_key()
            .verify(signed.as_bytes(), &sig)
            .expect("each proof is signed by the key it names");
    }
}

#[tokio::test]
async fn an_invalid_nonce_is_retried_once_with_a_fresh_nonce() {
    // Refused once: the wallet fetches another nonce and proves with it.
    let (script, log) = issuer(Script {
        invalid_nonces: 1,
        ..Script::default()
    })
    .await;
    let net = net();
    let offer = Offer::resolve(&net, &offer_link(&script.base))
        .await
        .unwrap();
    let got = oid4vci::receive(&net, &offer, Some("1"), &[&sk(7)])
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    let creds = log.matching("POST /credential");
    assert_eq!(creds.len(), 2);
    assert_eq!(log.matching("POST /nonce").len(), 2);
    let nonce_of = |seen: &common::Seen| {
        let body: Value = serde_json::from_str(&seen.body).unwrap();
        decode_jwt(body["proofs"]["jwt"][0].as_str().unwrap()).1["nonce"].clone()
    };
    assert_eq!(nonce_of(&creds[0]), "n-1");
    assert_eq!(nonce_of(&creds[1]), "n-2");

    // Refused every time: one retry only, then the issuer's refusal.
    let (script, log) = issuer(Script {
        invalid_nonces: usize::MAX,
        ..Script::default()
    })
    .await;
    let offer = Offer::resolve(&net, &offer_link(&script.base))
        .await
        .unwrap();
    let err = oid4vci::receive(&net, &offer, Some("1"), &[&sk(7)])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, WalletError::Refused { code, .. } if code == "invalid_nonce"),
        "{err:?}"
    );
    assert_eq!(log.matching("POST /credential").len(), 2);
}

#[tokio::test]
async fn the_issuers_refusals_are_surfaced_with_their_code() {
    let (script, log) = issuer(Script {
        refuse_token: Some(json!({"error": "invalid_grant",
                                  "error_description": "wrong transaction code, 4 attempts left"})),
        ..Script::default()
    })
    .await;
    let net = net();
    let offer = Offer::resolve(&net, &offer_link(&script.base))
        .await
        .unwrap();
    let err = oid4vci::receive(&net, &offer, Some("000000"), &[&sk(7)])
        .await
        .unwrap_err();
    match err {
        WalletError::Refused { code, description } => {
            assert_eq!(code, "invalid_grant");
            assert_eq!(description, "wrong transaction code, 4 attempts left");
        }
        e => panic!("{e:?}"),
    }
    assert!(log.matching("POST /credential").is_empty());

    // An offer link the issuer no longer knows (redeemed, expired): its 404 is a refusal.
    let link = offer_link(&script.base).replace("offers%2F1", "offers%2Fgone");
    let err = Offer::resolve(&net, &link).await.unwrap_err();
    assert!(
        matches!(&err, WalletError::Refused { code, .. } if code == "not_found"),
        "{err:?}"
    );

    // Metadata that names another issuer than the offer's.
    let (script, _) = issuer(Script {
        metadata_issuer: Some("https://someone-else.example".into()),
        ..Script::default()
    })
    .await;
    let offer = Offer::resolve(&net, &offer_link(&script.base))
        .await
        .unwrap();
    let err = oid4vci::receive(&net, &offer, Some("1"), &[&sk(7)])
        .await
        .unwrap_err();
    assert!(matches!(err, WalletError::BadResponse(_)), "{err:?}");
}

#[tokio::test]
async fn a_missing_transaction_code_is_asked_for_before_the_token_request() {
    let (script, log) = issuer(Script::default()).await;
    let net = net();
    let offer = Offer::resolve(&net, &offer_link(&script.base))
        .await
        .unwrap();
    let err = oid4vci::receive(&net, &offer, None, &[&sk(7)])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("transaction code"),
        "{err}: the citizen is told what is missing"
    );
    assert!(log.matching("POST /token").is_empty());
}

/// Plain `http://` is for this computer only: a remote issuer, offer URI or token endpoint
/// is refused with the rule in words (an `HttpsError`, not a failed connection: no request
/// was sent).
#[tokio::test]
async fn plain_http_outside_loopback_is_refused_before_any_request() {
    let net = net();
    let plain = |e: &WalletError| matches!(e, WalletError::Https(HttpsError::PlainHttp { .. }));

    let offer = json!({
        "credential_issuer": "http://issuer.example",
        "credential_configuration_ids": ["LibraryCard"],
        "grants": {PRE_AUTH: {"pre-authorized_code": "c"}},
    });
    let err = Offer::from_json(&offer).unwrap_err();
    assert!(plain(&err), "{err:?}");
    assert!(err.to_string().contains("https://"), "{err}");
    let err = Offer::resolve(
        &net,
        "openid-credential-offer://?credential_offer_uri=http%3A%2F%2Fissuer.example%2Foffers%2F1",
    )
    .await
    .unwrap_err();
    assert!(plain(&err), "{err:?}");
    // An offer built by hand (not parsed) is checked again before the flow starts.
    let forged = Offer {
        credential_issuer: "http://issuer.example".into(),
        configuration_ids: vec!["LibraryCard".into()],
        pre_authorized_code: "c".into(),
        tx_code: None,
    };
    let err = oid4vci::receive(&net, &forged, None, &[&sk(7)])
        .await
        .unwrap_err();
    assert!(plain(&err), "{err:?}");

    // A loopback issuer whose authorization server sends the code to a remote http:// URL.
    let (script, log) = issuer(Script {
        token_endpoint: Some("http://issuer.example/token".into()),
        ..Script::default()
    })
    .await;
    let offer = Offer::resolve(&net, &offer_link(&script.base))
        .await
        .unwrap();
    let err = oid4vci::receive(&net, &offer, Some("1"), &[&sk(7)])
        .await
        .unwrap_err();
    assert!(plain(&err), "{err:?}");
    assert!(err.to_string().contains("token endpoint"), "{err}");
    assert!(log.matching("POST").is_empty(), "{:?}", log.lines());
}

#[test]
fn offers_by_value_parse_and_malformed_links_are_refused() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let net = net();
    let resolve = |link: &str| rt.block_on(Offer::resolve(&net, link));
    let json = json!({
        "credential_issuer": "https://issuer.example",
        "credential_configuration_ids": ["LibraryCard", "LibraryCardSdJwt"],
        "grants": {PRE_AUTH: {"pre-authorized_code": "abc"}},
    });
    let by_value = format!(
        "openid-credential-offer://?credential_offer={}",
        url::form_urlencoded::byte_serialize(json.to_string().as_bytes()).collect::<String>()
    );
    let offer = resolve(&by_value).unwrap();
    assert_eq!(offer.credential_issuer, "https://issuer.example");
    assert_eq!(offer.configuration_ids, ["LibraryCard", "LibraryCardSdJwt"]);
    assert_eq!(offer.pre_authorized_code, "abc");
    assert_eq!(offer.tx_code, None, "no PIN asked");
    // The offer JSON itself, pasted.
    assert_eq!(resolve(&json.to_string()).unwrap(), offer);

    let bad_offer = |e: Result<Offer, WalletError>| matches!(e, Err(WalletError::BadOffer(_)));
    assert!(bad_offer(resolve(&format!(
        "{by_value}&credential_offer_uri=https%3A%2F%2Fissuer.example%2Fo"
    ))));
    assert!(bad_offer(resolve("openid-credential-offer://?other=1")));
    assert!(bad_offer(resolve("not a link")));
    let mut no_ids = json.clone();
    no_ids["credential_configuration_ids"] = json!([]);
    assert!(bad_offer(Offer::from_json(&no_ids)));
    let mut authorization_code = json.clone();
    authorization_code["grants"] = json!({"authorization_code": {"issuer_state": "x"}});
    assert!(bad_offer(Offer::from_json(&authorization_code)));
}
