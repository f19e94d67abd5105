//! The service over real HTTP on loopback, driven as a business's software and a wallet drive
//! it: create a request, fetch and check its signed request object, answer it, read the
//! verdict; and every way of getting it wrong.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on failure

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{KEY, VCT, holder, now_s, permit, shop_key};
use verifier_service::LedgerConfig;

const DID: &str = support::DID;

/// The service with requests living `ttl_ms`.
async fn start(ttl_ms: u64) -> String {
    support::start(LedgerConfig {
        ttl_ms,
        ..LedgerConfig::default()
    })
    .await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn query() -> Value {
    json!({"credentials": [{"id": "permit", "format": "dc+sd-jwt", "meta": {"vct_values": [VCT]},
            "claims": [{"path": ["city"]}]}]})
}

/// The business creates a request; the wallet's view of it: the link read back.
async fn create(base: &str) -> (String, oid4vp::RequestLink) {
    let r = client()
        .post(format!("{base}/oid4vp/requests"))
        .bearer_auth(KEY)
        .json(&json!({"dcql_query": query(), "purpose": "Proof of residence for delivery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let qr = client()
        .get(created["qrUri"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(qr.headers()["content-type"], "image/svg+xml");
    assert!(qr.text().await.unwrap().starts_with("<?xml"));
    let link = oid4vp::RequestLink::parse(
        created["link"].as_str().unwrap(),
        &oid4vp::Limits::default(),
    )
    .unwrap();
    (created["id"].as_str().unwrap().to_owned(), link)
}

/// What a wallet does with the link: fetch the request object and check it.
async fn fetch(link: &oid4vp::RequestLink) -> oid4vp::SignedRequest {
    let r = client().get(&link.request_uri).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let signed =
        oid4vp::SignedRequest::parse(&r.bytes().await.unwrap(), &oid4vp::Limits::default())
            .unwrap();
    signed.verify_signature(&shop_key().public_key()).unwrap();
    signed.check_time(now_s() as i64).unwrap();
    assert_eq!(signed.request.client_id, link.client_id);
    signed
}

async fn answer(req: &oid4vp::AuthorizationRequest, reveal: &[&str]) -> reqwest::Response {
    let form = support::permit_post(&permit(), &holder(), req, reveal).to_form();
    client()
        .post(&req.response_uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap()
}

async fn state(base: &str, id: &str) -> Value {
    client()
        .get(format!("{base}/oid4vp/requests/{id}"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_business_asks_a_wallet_answers_and_the_business_sees_only_what_was_disclosed() {
    let base = start(300_000).await;
    let (id, link) = create(&base).await;
    assert_eq!(link.client_id, format!("decentralized_identifier:{DID}"));
    assert_eq!(state(&base, &id).await["state"], "created");

    let signed = fetch(&link).await;
    assert_eq!(signed.request.state.as_deref(), Some(id.as_str()));
    assert_eq!(
        signed.request.purpose.as_deref(),
        Some("Proof of residence for delivery")
    );
    assert_eq!(
        signed.request.client_metadata.as_ref().unwrap()["client_name"],
        "Example Shop"
    );
    assert_eq!(state(&base, &id).await["state"], "fetched");

    let r = answer(&signed.request, &["city"]).await;
    assert_eq!(r.status(), 200);
    let s = state(&base, &id).await;
    assert_eq!(s["state"], "answered");
    assert_eq!(s["outcome"]["accepted"], true);
    assert_eq!(
        s["outcome"]["claims"]["permit"][0]["claims"],
        json!({"city": "Hangzhou"})
    );

    // The same answer again (a replay), and the request object after the answer: refused.
    let again = answer(&signed.request, &["city"]).await;
    assert_eq!(again.status(), 400);
    let body: Value = again.json().await.unwrap();
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("already been answered")
    );
    assert_eq!(
        client()
            .get(&link.request_uri)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
}

#[tokio::test]
async fn an_answer_that_does_not_answer_is_recorded_as_refused_with_nothing_shown() {
    let base = start(300_000).await;
    let (id, link) = create(&base).await;
    let signed = fetch(&link).await;
    assert_eq!(answer(&signed.request, &["name"]).await.status(), 400);
    let s = state(&base, &id).await;
    assert_eq!(s["outcome"]["accepted"], false);
    assert!(
        s["outcome"]["reason"]
            .as_str()
            .unwrap()
            .contains("it has no city"),
        "{s}"
    );
    assert_eq!(s["outcome"]["claims"], json!({}));
}

#[tokio::test]
async fn bad_calls_are_refused_and_change_nothing() {
    let base = start(300_000).await;
    // No key, a wrong key: no request is made, none is shown.
    let r = client()
        .post(format!("{base}/oid4vp/requests"))
        .json(&json!({"dcql_query": query()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client()
        .post(format!("{base}/oid4vp/requests"))
        .bearer_auth("guess")
        .json(&json!({"dcql_query": query()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // An invalid query is refused with the member named.
    let r = client()
        .post(format!("{base}/oid4vp/requests"))
        .bearer_auth(KEY)
        .json(&json!({"dcql_query": {"credentials": []}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("credentials: must not be empty")
    );

    let (id, link) = create(&base).await;
    let signed = fetch(&link).await;
    // A malformed answer does not use the request up.
    let r = client()
        .post(&signed.request.response_uri)
        .body("vp_token=not-json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(state(&base, &id).await["state"], "fetched");
    assert_eq!(answer(&signed.request, &["city"]).await.status(), 200);
    // Unknown requests.
    assert_eq!(
        client()
            .get(format!("{base}/oid4vp/requests/nope/object"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let r = client()
        .post(format!("{base}/oid4vp/responses/nope"))
        .body("vp_token=%7B%7D")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // An oversized answer is refused before it is read.
    let big = format!("vp_token={}", "a".repeat(5 * 1024 * 1024));
    let r = client()
        .post(format!("{base}/oid4vp/responses/{id}"))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

#[tokio::test]
async fn a_request_expires() {
    let base = start(50).await;
    let (id, link) = create(&base).await;
    tokio::time::sleep(Duration::from_millis(120)).await;
    let r = client().get(&link.request_uri).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("expired"));
    assert_eq!(state(&base, &id).await["state"], "expired");
}

#[tokio::test]
async fn a_business_that_asks_for_encrypted_answers_takes_only_those() {
    let base = support::start_with(LedgerConfig::default(), true).await;
    let (id, link) = create(&base).await;
    let req = fetch(&link).await.request;
    assert_eq!(req.response_mode, oid4vp::ResponseMode::DirectPostJwt);
    let metadata = req.client_metadata.clone().unwrap();
    let jwk = metadata["jwks"]["keys"][0].clone();
    assert_eq!(
        (jwk["kty"].as_str(), jwk["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    assert!(jwk.get("d").is_none(), "the private key is not published");

    // A plain answer is refused, and the request can still be answered.
    let plain = answer(&req, &["city"]).await;
    assert_eq!(plain.status(), 400);
    assert_eq!(state(&base, &id).await["state"], "fetched");

    let form = support::permit_post(&permit(), &holder(), &req, &["city"])
        .to_encrypted_form(&jwk, oid4vp::jwe::Enc::A256Gcm, &mut rand_core::OsRng)
        .unwrap();
    let r = client()
        .post(&req.response_uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let s = state(&base, &id).await;
    assert_eq!(r.status(), 200, "{s}");
    assert_eq!(
        s["outcome"]["claims"]["permit"][0]["claims"],
        json!({"city": "Hangzhou"})
    );
}
