//! The token endpoint's and the nonce's decisions, on a real issuer (SQLite in a temporary
//! directory): what is refused, what is counted, and that a refusal changes nothing.

use super::super::testing::{PASS, issuer, issuer_with_key, refused};
use super::*;

fn grant(code: &str) -> [(&str, &str); 2] {
    [
        ("grant_type", PRE_AUTH_GRANT),
        ("pre-authorized_code", code),
    ]
}

fn with_pin<'a>(code: &'a str, pin: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("grant_type", PRE_AUTH_GRANT),
        ("pre-authorized_code", code),
        ("tx_code", pin),
    ]
}

#[tokio::test]
async fn only_the_pre_authorized_code_grant_with_a_known_code_is_taken() {
    let f = issuer(|_| {}).await;
    let (code, _) = f.offer(PASS, false).await;
    let before = f.issuer.store.dump().await;
    let e = refused(f.token(&[("pre-authorized_code", &code)]).await);
    assert_eq!((e.status, e.code), (400, "unsupported_grant_type"));
    let e = refused(
        f.token(&[
            ("grant_type", "authorization_code"),
            ("pre-authorized_code", &code),
        ])
        .await,
    );
    assert_eq!(e.code, "unsupported_grant_type");
    let e = refused(f.token(&[("grant_type", PRE_AUTH_GRANT)]).await);
    assert_eq!(e.code, "invalid_request");
    let e = refused(f.token(&grant("not-a-code-this-issuer-made")).await);
    assert_eq!(
        (e.code, e.description.as_str()),
        ("invalid_grant", "unknown pre-authorized code")
    );
    assert_eq!(
        f.issuer.store.dump().await,
        before,
        "a refusal changed the store"
    );
    // The offer is still good after all that.
    f.token(&grant(&code)).await.unwrap();
}

#[tokio::test]
async fn a_code_is_redeemed_once_for_a_token_that_expires() {
    let f = issuer(|c| c.token_ttl_s = 120).await;
    let (code, _) = f.offer(PASS, false).await;
    let t = f.token(&grant(&code)).await.unwrap();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 120);
    let token = t["access_token"].as_str().unwrap();
    let granted = f
        .issuer
        .store
        .access_token(&sha256_hex(token))
        .await
        .unwrap()
        .unwrap();
    let left = granted.expires_ms - now_ms();
    assert!((110_000..=120_000).contains(&left), "{left}");
    let offer = f
        .issuer
        .store
        .offer_by_code(&sha256_hex(&code))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(offer.state, "redeemed");
    // The by-reference link is gone with the code.
    assert_eq!(
        refused(f.issuer.offer_by_reference(&offer.id).await).status,
        404
    );

    let before = f.issuer.store.dump().await;
    let e = refused(f.token(&grant(&code)).await);
    assert_eq!(
        (e.code, e.description.as_str()),
        ("invalid_grant", "the pre-authorized code was already used")
    );
    assert_eq!(f.issuer.store.dump().await, before);
}

#[tokio::test]
async fn wrong_transaction_codes_are_counted_and_lock_the_offer() {
    let f = issuer(|c| c.max_tx_code_attempts = 3).await;
    let (code, pin) = f.offer(PASS, true).await;
    let pin = pin.unwrap();
    let wrong = if pin == "000000" { "111111" } else { "000000" };
    let offer = || async {
        f.issuer
            .store
            .offer_by_code(&sha256_hex(&code))
            .await
            .unwrap()
            .unwrap()
    };

    // Without its code: refused, and not counted.
    let before = f.issuer.store.dump().await;
    let e = refused(f.token(&grant(&code)).await);
    assert_eq!(e.code, "invalid_request");
    assert_eq!(f.issuer.store.dump().await, before);

    let e = refused(f.token(&with_pin(&code, wrong)).await);
    assert_eq!(
        (e.code, e.description.as_str()),
        ("invalid_grant", "wrong transaction code (2 attempts left)")
    );
    assert_eq!(
        (offer().await.failed_attempts, offer().await.state.as_str()),
        (1, "offered")
    );
    refused(f.token(&with_pin(&code, wrong)).await);
    let e = refused(f.token(&with_pin(&code, wrong)).await);
    assert_eq!(
        e.description,
        "wrong transaction code; the offer is now locked"
    );
    assert_eq!(
        (offer().await.failed_attempts, offer().await.state.as_str()),
        (3, "locked")
    );

    // Locked: even the right code is refused now, and nothing more is counted.
    let before = f.issuer.store.dump().await;
    let e = refused(f.token(&with_pin(&code, &pin)).await);
    assert_eq!(
        (e.code, e.description.as_str()),
        (
            "invalid_grant",
            "too many wrong transaction codes; ask the agency for a new offer"
        )
    );
    assert_eq!(f.issuer.store.dump().await, before);
}

#[tokio::test]
async fn the_right_transaction_code_redeems_and_a_needless_one_is_refused() {
    let f = issuer(|_| {}).await;
    let (code, pin) = f.offer(PASS, true).await;
    let pin = pin.unwrap();
    let granted = f.token(&with_pin(&code, &pin)).await.unwrap();
    assert!(granted["access_token"].is_string());

    let (plain, _) = f.offer(PASS, false).await;
    let before = f.issuer.store.dump().await;
    let e = refused(f.token(&with_pin(&plain, "123456")).await);
    assert_eq!(
        (e.code, e.description.as_str()),
        ("invalid_request", "this offer has no transaction code")
    );
    assert_eq!(f.issuer.store.dump().await, before);
}

#[tokio::test]
async fn an_expired_offer_is_refused_and_then_erased() {
    let f = issuer(|c| c.offer_ttl_s = 0).await;
    let (code, _) = f.offer(PASS, false).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let before = f.issuer.store.dump().await;
    let e = refused(f.token(&grant(&code)).await);
    assert_eq!(
        (e.code, e.description.as_str()),
        ("invalid_grant", "the offer has expired")
    );
    assert_eq!(f.issuer.store.dump().await, before);

    assert_eq!(f.issuer.expire_offers().await.unwrap(), 1);
    let e = refused(f.token(&grant(&code)).await);
    assert_eq!(e.description, "the offer has expired");
    let offer = f
        .issuer
        .store
        .offer_by_code(&sha256_hex(&code))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(offer.state, "expired");
}

#[tokio::test]
async fn a_nonce_is_this_issuers_and_holds_until_it_expires() {
    let f = issuer(|_| {}).await;
    let n = f.nonce().await;
    let expires = f.issuer.check_nonce(&n).unwrap();
    let left = expires - now_ms();
    assert!((290_000..=300_000).contains(&left), "{left}");
    // Made by an issuer with another key, or altered, or expired: not a nonce of ours.
    let stranger = issuer_with_key(8, |_| {}).await;
    assert_eq!(stranger.issuer.check_nonce(&n), None);
    assert_eq!(f.issuer.check_nonce(&stranger.nonce().await), None);
    let mut raw = URL_SAFE_NO_PAD.decode(&n).unwrap();
    raw[12] ^= 1;
    assert_eq!(f.issuer.check_nonce(&URL_SAFE_NO_PAD.encode(&raw)), None);
    assert_eq!(f.issuer.check_nonce("short"), None);
    let stale = f.issuer.nonce_until(now_ms() - 1);
    assert_eq!(f.issuer.check_nonce(&stale), None);
    // Issuing a nonce writes nothing.
    let before = f.issuer.store.dump().await;
    f.nonce().await;
    assert_eq!(f.issuer.store.dump().await, before);
}
