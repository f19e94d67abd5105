//! The credential endpoint's decisions, on a real issuer (SQLite in a temporary directory):
//! the access token, the request, every proof check, the batch limit, key binding, single
//! issuance, and that a refused request changes nothing in the store.

use super::super::testing::{
    CARD, PASS, holder, issuer, jws, proof, proof_parts, refused, request,
};
use super::*;

/// The claims of an SD-JWT VC (its issuer-signed JWT's payload).
fn sd_jwt_claims(credential: &Value) -> Value {
    let jwt = credential.as_str().unwrap().split('~').next().unwrap();
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn a_valid_unexpired_access_token_is_required() {
    let f = issuer(|c| c.token_ttl_s = 0).await;
    let token = f.access_token(PASS).await;
    let body = request(PASS, &[proof(&f.issuer, &holder(1), &f.nonce().await)]);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let before = f.issuer.store.dump().await;
    for (bearer, why) in [
        (None, "an access token is required"),
        (Some("not-a-token"), "unknown access token"),
        (Some(token.as_str()), "the access token has expired"),
    ] {
        let e = refused(f.issuer.credential(bearer, &body).await);
        assert_eq!(
            (e.status, e.code, e.description.as_str()),
            (401, "invalid_token", why)
        );
    }
    assert_eq!(f.issuer.store.dump().await, before);
}

#[tokio::test]
async fn the_request_must_name_the_offered_configuration() {
    let f = issuer(|_| {}).await;
    let token = f.access_token(PASS).await;
    let p = proof(&f.issuer, &holder(1), &f.nonce().await);
    let before = f.issuer.store.dump().await;
    let cases = [
        (
            json!({"proofs": {"jwt": [p]}}),
            "invalid_credential_request",
        ),
        (
            json!({"credential_identifier": "x", "credential_configuration_id": PASS, "proofs": {"jwt": [p]}}),
            "invalid_credential_request",
        ),
        (
            request(CARD, std::slice::from_ref(&p)),
            "unknown_credential_configuration",
        ),
        (
            request("Nothing", std::slice::from_ref(&p)),
            "unknown_credential_configuration",
        ),
    ];
    for (body, code) in cases {
        let e = refused(f.issuer.credential(Some(&token), &body).await);
        assert_eq!(e.code, code, "{body}");
    }
    assert_eq!(f.issuer.store.dump().await, before);
    // The offer is still there to be issued.
    f.issuer
        .credential(Some(&token), &request(PASS, &[p]))
        .await
        .unwrap();
}

#[tokio::test]
async fn bad_proofs_are_refused_before_anything_is_written() {
    let f = issuer(|c| c.batch_size = 2).await;
    let token = f.access_token(PASS).await;
    let nonce = f.nonce().await;
    let (k1, k2, k3) = (holder(1), holder(2), holder(3));
    let tampered = |change: &dyn Fn(&mut Value, &mut Value)| {
        let (mut h, mut c) = proof_parts(&f.issuer, &k1, &nonce);
        change(&mut h, &mut c);
        jws(&k1, &h, &c)
    };
    let now_s = now_ms() / 1000;
    let other_key = {
        let (h, c) = proof_parts(&f.issuer, &k1, &nonce);
        jws(&k2, &h, &c)
    };
    let kid = dids::did_key(&k1.public_key()).1;
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"credential_configuration_id": PASS}),
            "invalid_proof",
            "proofs must hold one proof type",
        ),
        (
            json!({"credential_configuration_id": PASS, "proofs": {"ldp_vp": ["x"]}}),
            "invalid_proof",
            "only jwt proofs are supported",
        ),
        (
            request(PASS, &[]),
            "invalid_proof",
            "no proof of possession",
        ),
        (
            request(PASS, &["a.b".into()]),
            "invalid_proof",
            "the proof is not a compact JWS",
        ),
        (
            request(PASS, &[tampered(&|h, _| h["typ"] = json!("JWT"))]),
            "invalid_proof",
            "proof typ must be openid4vci-proof+jwt",
        ),
        (
            request(PASS, &[tampered(&|h, _| h["alg"] = json!("ES256"))]),
            "invalid_proof",
            "proof alg must be EdDSA",
        ),
        (
            request(PASS, &[tampered(&|h, _| h["kid"] = json!(kid))]),
            "invalid_proof",
            "the proof header must have exactly one of kid and jwk",
        ),
        (
            request(PASS, &[other_key]),
            "invalid_proof",
            "the proof signature does not verify",
        ),
        (
            request(
                PASS,
                &[tampered(&|_, c| {
                    c["aud"] = json!("https://elsewhere.example")
                })],
            ),
            "invalid_proof",
            "the proof's aud is not this issuer",
        ),
        (
            request(PASS, &[tampered(&|_, c| c["iss"] = json!("wallet"))]),
            "invalid_proof",
            "an anonymous pre-authorized proof must not carry iss",
        ),
        (
            request(PASS, &[tampered(&|_, c| c["iat"] = json!(now_s - 3600))]),
            "invalid_proof",
            "the proof's iat is outside the accepted window",
        ),
        (
            request(PASS, &[tampered(&|_, c| c["iat"] = json!(now_s + 3600))]),
            "invalid_proof",
            "the proof's iat is outside the accepted window",
        ),
        (
            request(
                PASS,
                &[tampered(&|_, c| {
                    c.as_object_mut().unwrap().remove("nonce");
                })],
            ),
            "invalid_proof",
            "the proof has no nonce",
        ),
        (
            request(PASS, &[tampered(&|_, c| c["nonce"] = json!("made-up"))]),
            "invalid_nonce",
            "the nonce is unknown or expired; fetch a new one",
        ),
        (
            request(
                PASS,
                &[proof(&f.issuer, &k1, &f.issuer.nonce_until(now_ms() - 1))],
            ),
            "invalid_nonce",
            "the nonce is unknown or expired; fetch a new one",
        ),
        (
            request(
                PASS,
                &[proof(&f.issuer, &k1, &nonce), proof(&f.issuer, &k1, &nonce)],
            ),
            "invalid_proof",
            "each proof must be for a different key",
        ),
        (
            request(
                PASS,
                &[
                    proof(&f.issuer, &k1, &nonce),
                    proof(&f.issuer, &k2, &f.nonce().await),
                ],
            ),
            "invalid_proof",
            "the proofs of one request carry one nonce",
        ),
        (
            request(
                PASS,
                &[
                    proof(&f.issuer, &k1, &nonce),
                    proof(&f.issuer, &k2, &nonce),
                    proof(&f.issuer, &k3, &nonce),
                ],
            ),
            "invalid_credential_request",
            "at most 2 proofs",
        ),
    ];
    let before = f.issuer.store.dump().await;
    for (body, code, why) in cases {
        let e = refused(f.issuer.credential(Some(&token), &body).await);
        assert_eq!((e.code, e.description.as_str()), (code, why), "{body}");
    }
    assert_eq!(
        f.issuer.store.dump().await,
        before,
        "a refusal changed the store"
    );
    // The same token and nonce still issue, up to the batch size.
    let body = request(
        PASS,
        &[proof(&f.issuer, &k1, &nonce), proof(&f.issuer, &k2, &nonce)],
    );
    let issued = f.issuer.credential(Some(&token), &body).await.unwrap();
    assert_eq!(issued["credentials"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn each_credential_is_bound_to_its_key_and_an_offer_issues_once() {
    let f = issuer(|_| {}).await;
    let token = f.access_token(PASS).await;
    let nonce = f.nonce().await;
    let (k1, k2) = (holder(1), holder(2));
    // One proof names its key by JWK, the other by a did:key URL.
    let (mut h, c) = proof_parts(&f.issuer, &k2, &nonce);
    h.as_object_mut().unwrap().remove("jwk");
    h["kid"] = json!(dids::did_key(&k2.public_key()).1);
    let body = request(PASS, &[proof(&f.issuer, &k1, &nonce), jws(&k2, &h, &c)]);
    let issued = f.issuer.credential(Some(&token), &body).await.unwrap();
    let credentials = issued["credentials"].as_array().unwrap();
    let mut indices = vec![];
    for (c, k) in credentials.iter().zip([&k1, &k2]) {
        let claims = sd_jwt_claims(&c["credential"]);
        assert_eq!(claims["cnf"]["jwk"], dids::jwk_of(&k.public_key()));
        assert_eq!(claims["iss"], f.issuer.did);
        assert_eq!(claims["vct"], "PassCredential");
        indices.push(claims["status"]["status_list"]["idx"].as_i64().unwrap());
    }
    assert_ne!(
        indices[0], indices[1],
        "two credentials share a status index"
    );
    let recorded = f.issuer.issued(None).await.unwrap();
    assert_eq!(recorded.len(), 2);
    let mut recorded_indices: Vec<i64> = recorded
        .iter()
        .map(|r| r["statusIndex"].as_i64().unwrap())
        .collect();
    recorded_indices.sort();
    indices.sort();
    assert_eq!(recorded_indices, indices);

    // The offer's credentials are issued: the token serves no second request.
    let before = f.issuer.store.dump().await;
    let again = request(PASS, &[proof(&f.issuer, &holder(3), &f.nonce().await)]);
    let e = refused(f.issuer.credential(Some(&token), &again).await);
    assert_eq!(e.code, "credential_request_denied");
    assert_eq!(f.issuer.store.dump().await, before);
}

#[tokio::test]
async fn a_data_integrity_credential_names_its_holder_by_did_key() {
    let f = issuer(|_| {}).await;
    let token = f.access_token(CARD).await;
    let k = holder(1);
    let body = request(CARD, &[proof(&f.issuer, &k, &f.nonce().await)]);
    let issued = f.issuer.credential(Some(&token), &body).await.unwrap();
    let vc = &issued["credentials"][0]["credential"];
    assert_eq!(
        vc["credentialSubject"]["id"],
        dids::did_key(&k.public_key()).0
    );
    assert_eq!(vc["credentialSubject"]["name"], "Ada");
    assert_eq!(vc["issuer"], f.issuer.did);
    assert_eq!(vc["proof"]["cryptosuite"], "eddsa-rdfc-2022");
}

#[tokio::test]
async fn a_nonce_serves_one_issuance_and_a_reuse_is_rolled_back_whole() {
    let f = issuer(|_| {}).await;
    let (first, second) = (f.access_token(PASS).await, f.access_token(PASS).await);
    let nonce = f.nonce().await;
    let body = request(PASS, &[proof(&f.issuer, &holder(1), &nonce)]);
    f.issuer.credential(Some(&first), &body).await.unwrap();

    let before = f.issuer.store.dump().await;
    let e = refused(f.issuer.credential(Some(&second), &body).await);
    assert_eq!(
        (e.code, e.description.as_str()),
        (
            "invalid_nonce",
            "the nonce was already used; fetch a new one"
        )
    );
    // The second offer was not marked issued: the whole write was rolled back.
    assert_eq!(f.issuer.store.dump().await, before);
    let body = request(PASS, &[proof(&f.issuer, &holder(1), &f.nonce().await)]);
    f.issuer.credential(Some(&second), &body).await.unwrap();
    assert_eq!(f.issuer.issued(None).await.unwrap().len(), 2);
}
