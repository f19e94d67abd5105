//! What the issuer refuses in the OpenID4VCI flow, on the real `alliance-issuer` binary over
//! loopback: replayed pre-authorized codes, wrong transaction codes (and the lockout after
//! five), forged, misaddressed, stale or nonce-less proofs, replayed nonces, offers past their
//! lifetime (whose personal data is then erased); the replays and the lockout on PostgreSQL
//! too.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

use did_method::SecretKey;
use e2e::{Issuer, fresh_postgres_database, holder_net, now_ms, token};
use serde_json::{Value, json};
use wallet_core::WalletError;
use wallet_core::oid4vci::{self, Offer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_codes_wrong_pins_and_bad_proofs_are_refused() {
    let issuer = Issuer::start();
    issuer.define_types().await;
    let net = holder_net();
    let holder = SecretKey::from_seed(&[7; 32]);

    // A code works once.
    let (link, pin) = issuer.offer("LibraryCard").await;
    let offer = Offer::resolve(&net, &link).await.unwrap();
    oid4vci::receive(&net, &offer, Some(&pin), &[&holder])
        .await
        .unwrap();
    let (s, v) = token(&issuer.url, &offer.pre_authorized_code, Some(&pin)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("invalid_grant")),
        "{v}"
    );
    // The by-reference link is gone once redeemed.
    assert!(matches!(
        Offer::resolve(&net, &link).await,
        Err(WalletError::Refused { .. })
    ));

    // Wrong PINs count down, then lock the offer even for the right PIN.
    let (link, pin) = issuer.offer("LibraryCard").await;
    let offer = Offer::resolve(&net, &link).await.unwrap();
    let wrong = if pin == "000000" { "111111" } else { "000000" };
    let (s, v) = token(&issuer.url, &offer.pre_authorized_code, Some(wrong)).await;
    assert_eq!(s, 400);
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .contains("4 attempts left"),
        "{v}"
    );
    for _ in 0..4 {
        token(&issuer.url, &offer.pre_authorized_code, Some(wrong)).await;
    }
    let (_, v) = token(&issuer.url, &offer.pre_authorized_code, Some(&pin)).await;
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .contains("too many wrong"),
        "{v}"
    );
    let (s, v) = token(&issuer.url, "no-such-code", Some(&pin)).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_grant")));

    // Bad proofs of possession.
    let (link, pin) = issuer.offer("LibraryCard").await;
    let offer = Offer::resolve(&net, &link).await.unwrap();
    let (_, t) = token(&issuer.url, &offer.pre_authorized_code, Some(&pin)).await;
    let access = t["access_token"].as_str().unwrap().to_owned();
    let client = reqwest::Client::new();
    let nonce = || async {
        let v: Value = client
            .post(format!("{}/nonce", issuer.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["c_nonce"].as_str().unwrap().to_owned()
    };
    let send = |proof: String| {
        let client = client.clone();
        let url = issuer.url.clone();
        let access = access.clone();
        async move {
            let r = client
                .post(format!("{url}/credential"))
                .bearer_auth(access)
                .json(&json!({"credential_configuration_id": "LibraryCard", "proofs": {"jwt": [proof]}}))
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            let v: Value = r.json().await.unwrap();
            (
                s,
                v["error"].as_str().unwrap_or("").to_owned(),
                v["error_description"].as_str().unwrap_or("").to_owned(),
            )
        }
    };
    let now = now_ms() / 1000;
    // Signed by another key than the one it names.
    let p = oid4vci::proof_jwt(&holder, &issuer.url, &nonce().await, now);
    let (h, rest) = p.split_once('.').unwrap();
    let other = oid4vci::proof_jwt(&SecretKey::from_seed(&[8; 32]), &issuer.url, "x", now);
    let forged = format!(
        "{h}.{}.{}",
        rest.split('.').next().unwrap(),
        other.rsplit('.').next().unwrap()
    );
    assert_eq!(send(forged).await.1, "invalid_proof");
    // For another issuer.
    assert_eq!(
        send(oid4vci::proof_jwt(
            &holder,
            "https://other.example",
            &nonce().await,
            now
        ))
        .await
        .1,
        "invalid_proof"
    );
    // A nonce the issuer never gave.
    assert_eq!(
        send(oid4vci::proof_jwt(&holder, &issuer.url, "made-up", now))
            .await
            .1,
        "invalid_nonce"
    );
    // An old proof.
    let (_, code, d) = send(oid4vci::proof_jwt(
        &holder,
        &issuer.url,
        &nonce().await,
        now - 3600,
    ))
    .await;
    assert_eq!(code, "invalid_proof", "{d}");
    // Without a token.
    let r = client
        .post(format!("{}/credential", issuer.url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // A good proof still works after the refusals, once.
    let used = nonce().await;
    let (s, code, d) = send(oid4vci::proof_jwt(&holder, &issuer.url, &used, now)).await;
    assert_eq!((s, code.as_str()), (200, ""), "{d}");
    let (_, code, _) = send(oid4vci::proof_jwt(
        &holder,
        &issuer.url,
        &nonce().await,
        now,
    ))
    .await;
    assert_eq!(code, "credential_request_denied");
    // A nonce is good for one issuance: replayed on another offer, it is refused.
    let (link, pin) = issuer.offer("LibraryCard").await;
    let offer = Offer::resolve(&net, &link).await.unwrap();
    let (_, t) = token(&issuer.url, &offer.pre_authorized_code, Some(&pin)).await;
    let replay = oid4vci::proof_jwt(&holder, &issuer.url, &used, now);
    let r = client
        .post(format!("{}/credential", issuer.url))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .json(&json!({"credential_configuration_id": "LibraryCard", "proofs": {"jwt": [replay]}}))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_nonce", "{v}");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_and_lockout_hold_on_postgresql() {
    let Some(db) = fresh_postgres_database().await else {
        return;
    };
    let issuer = Issuer::start_with(Some(&db));
    issuer.define_types().await;
    let net = holder_net();
    let (link, pin) = issuer.offer("LibraryCard").await;
    let offer = Offer::resolve(&net, &link).await.unwrap();
    let code = offer.pre_authorized_code.clone();
    let token_url = issuer.url.clone();
    // Wrong PINs lock the offer after five attempts; then even the right PIN is refused.
    for _ in 0..5 {
        let (s, body) = token(&token_url, &code, Some("000000")).await;
        assert_eq!(s, 400, "{body}");
    }
    let (s, body) = token(&token_url, &code, Some(&pin)).await;
    assert_eq!(s, 400, "{body}");
    // A fresh offer: the code works once, never twice.
    let (link, pin) = issuer.offer("LibraryCard").await;
    let offer = Offer::resolve(&net, &link).await.unwrap();
    let (s, _) = token(&token_url, &offer.pre_authorized_code, Some(&pin)).await;
    assert_eq!(s, 200);
    let (s, body) = token(&token_url, &offer.pre_authorized_code, Some(&pin)).await;
    assert_eq!(s, 400, "{body}");
}

/// An offer never redeemed is expired at the next refresh (here: the next start) and the
/// citizen's claims it held are erased; the code is then refused with that reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_offers_lose_their_personal_data() {
    let mut issuer = Issuer::start();
    issuer.define_types().await;
    let net = holder_net();
    // Offers live one second from now on.
    let cfg = issuer.path().join("config.json");
    let mut c: Value = serde_json::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
    c["offerTtlS"] = json!(1);
    std::fs::write(&cfg, serde_json::to_string_pretty(&c).unwrap()).unwrap();
    issuer.kill();
    issuer.serve();
    let (link, pin) = issuer.offer("LibraryCard").await;
    let offer = Offer::resolve(&net, &link).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    issuer.kill();
    issuer.serve();

    sqlx::any::install_default_drivers();
    let db = format!("sqlite://{}", issuer.path().join("issuer.db").display());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&db)
        .await
        .unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT state, claims FROM offers")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows, vec![("expired".to_string(), "{}".to_string())]);
    let (s, body) = token(&issuer.url, &offer.pre_authorized_code, Some(&pin)).await;
    assert_eq!(s, 400);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
    let log = issuer.get_admin("/admin/audit").await;
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "offer.expire"),
        "{log}"
    );
}
