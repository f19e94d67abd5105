use serde_json::json;

use super::*;

const T0: u64 = 1_796_000_000_000;

fn query() -> dcql::Query {
    dcql::Query::parse(
        br#"{"credentials":[{"id":"permit","format":"dc+sd-jwt","meta":{"vct_values":["urn:alliance:vct:residence-permit"]},"claims":[{"path":["city"]}]}]}"#,
    )
    .unwrap()
}

fn random(n: u8) -> [u8; 32] {
    let mut r = [0u8; 32];
    r[0] = n;
    r[31] = n.wrapping_add(1);
    r
}

fn ledger() -> Ledger {
    Ledger::new(LedgerConfig {
        ttl_ms: 60_000,
        retain_ms: 30_000,
        capacity: 3,
        max_purpose: 20,
    })
}

fn accepted() -> Outcome {
    Outcome {
        accepted: true,
        reason: None,
        claims: json!({"permit": {"city": "Hangzhou"}}),
    }
}

#[test]
fn a_request_lives_from_created_to_answered_and_is_answered_once() {
    let mut l = ledger();
    let (id, nonce) = l
        .create(query(), Some("age check".into()), T0, random(1))
        .unwrap();
    assert_eq!(id.len(), 22, "16 random bytes, base64url");
    assert_eq!(nonce.len(), 22);
    assert_ne!(id, nonce);
    assert_eq!(l.view(&id, T0).unwrap().state, RequestState::Created);

    let (n, q, purpose, expires) = l.fetch(&id, T0 + 1).unwrap();
    assert_eq!(
        (n.as_str(), purpose.as_deref(), expires),
        (nonce.as_str(), Some("age check"), T0 + 60_000)
    );
    assert_eq!(q, query());
    // A wallet may fetch again (a retry) until it answers.
    l.fetch(&id, T0 + 2).unwrap();
    assert_eq!(l.view(&id, T0 + 2).unwrap().state, RequestState::Fetched);

    let a = l.begin_answer(&id, T0 + 3).unwrap();
    assert_eq!(a.nonce, nonce);
    assert_eq!(l.view(&id, T0 + 3).unwrap().state, RequestState::Verifying);
    // A second response while the first is verified, and after: refused, nothing changes.
    assert_eq!(
        l.begin_answer(&id, T0 + 4),
        Err(LedgerError::AlreadyAnswered)
    );
    l.finish(&id, accepted());
    assert_eq!(
        l.begin_answer(&id, T0 + 5),
        Err(LedgerError::AlreadyAnswered)
    );
    assert_eq!(l.fetch(&id, T0 + 5), Err(LedgerError::AlreadyAnswered));
    let v = l.view(&id, T0 + 5).unwrap();
    assert_eq!(
        v.state,
        RequestState::Answered {
            outcome: accepted()
        }
    );
    let shown = serde_json::to_value(&v).unwrap();
    assert_eq!(shown["state"], "answered");
    assert_eq!(shown["outcome"]["claims"]["permit"]["city"], "Hangzhou");
}

#[test]
fn a_response_after_expiry_or_for_an_unknown_request_is_refused() {
    let mut l = ledger();
    let (id, _) = l.create(query(), None, T0, random(1)).unwrap();
    assert_eq!(
        l.begin_answer("no-such-request", T0),
        Err(LedgerError::Unknown)
    );
    assert_eq!(l.begin_answer(&id, T0 + 60_000), Err(LedgerError::Expired));
    assert_eq!(l.fetch(&id, T0 + 60_001), Err(LedgerError::Expired));
    assert_eq!(
        l.view(&id, T0 + 60_001).unwrap().state,
        RequestState::Expired
    );
    // Retained for a while for the business to see, then forgotten.
    assert_eq!(l.view(&id, T0 + 90_000), Err(LedgerError::Unknown));
}

#[test]
fn the_ledger_is_bounded_and_frees_room_as_requests_end() {
    let mut l = ledger();
    for n in 0..3 {
        l.create(query(), None, T0, random(n)).unwrap();
    }
    assert_eq!(
        l.create(query(), None, T0 + 1, random(9)),
        Err(LedgerError::Full(3))
    );
    assert_eq!(l.len(), 3);
    // Once expired and past their retention, they are swept to make room.
    l.create(query(), None, T0 + 90_000, random(9)).unwrap();
    assert_eq!(l.len(), 1);
}

#[test]
fn a_purpose_too_long_to_show_is_refused() {
    let mut l = ledger();
    assert_eq!(
        l.create(query(), Some("x".repeat(21)), T0, random(1)),
        Err(LedgerError::PurposeTooLong(20))
    );
    // Counted in characters, not bytes: twenty Chinese characters fit.
    l.create(query(), Some("年".repeat(20)), T0, random(1))
        .unwrap();
    assert!(!l.is_empty());
}
