//! The OpenID4VP messages as a business's verifier service writes them and a citizen's
//! wallet reads them, and back: what is accepted, and what is refused with its reason.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on failure

use did_method::SecretKey;
use oid4vp::{
    AuthorizationRequest, DirectPost, ErrorKind, Limits, RequestLink, ResponseMode, SignedRequest,
    VpToken, jws,
};
use serde_json::{Value, json};

const DID: &str = "did:alliance:z6MkShop";
const NOW: i64 = 1_796_000_000;

fn key() -> SecretKey {
    SecretKey::from_seed(&[7; 32])
}

fn query() -> dcql::Query {
    dcql::Query::parse(
        json!({"credentials": [
            {"id": "permit", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:alliance:vct:residence-permit"]},
             "claims": [{"path": ["city"]}]},
            {"id": "cards", "format": "ldp_vc", "multiple": true, "meta": {"type_values": [["LibraryCard"]]}}
        ]})
        .to_string()
        .as_bytes(),
    )
    .unwrap()
}

fn request() -> AuthorizationRequest {
    AuthorizationRequest {
        purpose: Some("Proof of age".into()),
        client_id: AuthorizationRequest::client_id_for(DID),
        response_mode: ResponseMode::DirectPost,
        response_uri: "https://shop.example/oid4vp/responses/r1".into(),
        nonce: "n-3f9a".into(),
        state: Some("r1".into()),
        dcql_query: query(),
        client_metadata: Some(json!({"vp_formats_supported": {"dc+sd-jwt": {}}})),
        iat: Some(NOW),
        exp: Some(NOW + 300),
    }
}

fn kid() -> String {
    format!("{DID}#key-1")
}

fn parse(jwt: &str) -> Result<SignedRequest, oid4vp::MessageError> {
    SignedRequest::parse(jwt.as_bytes(), &Limits::default())
}

/// A request object with `edit` applied to its claims and `head` to its header, signed.
fn resigned(edit: impl FnOnce(&mut Value), head: impl FnOnce(&mut Value)) -> String {
    let mut claims = request().to_claims();
    edit(&mut claims);
    let mut header = json!({"typ": "oauth-authz-req+jwt", "alg": "EdDSA", "kid": kid()});
    head(&mut header);
    jws::sign(&header, &claims, &key())
}

#[test]
fn a_signed_request_reads_back_and_verifies_with_the_verifiers_key() {
    let jwt = request().sign(&key(), &kid());
    let r = parse(&jwt).unwrap();
    assert_eq!(r.request, request());
    assert_eq!(r.kid, kid());
    assert_eq!(r.request.client_did(), DID);
    r.verify_signature(&key().public_key()).unwrap();
    r.check_time(NOW + 10).unwrap();

    let other = SecretKey::from_seed(&[8; 32]).public_key();
    let e = r.verify_signature(&other).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Signature);
    assert_eq!(
        e.to_string(),
        format!(
            "the request object's signature does not verify with {}",
            kid()
        )
    );
}

#[test]
fn a_request_changed_after_signing_does_not_verify() {
    let jwt = request().sign(&key(), &kid());
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    let forged = resigned(
        |c| c["response_uri"] = json!("https://thief.example/"),
        |_| {},
    );
    parts[1] = forged.split('.').nth(1).unwrap().to_owned();
    let r = parse(&parts.join(".")).unwrap();
    assert_eq!(
        r.verify_signature(&key().public_key()).unwrap_err().kind(),
        ErrorKind::Signature
    );
}

#[test]
fn expired_and_future_requests_are_refused() {
    let r = parse(&request().sign(&key(), &kid())).unwrap();
    let e = r.check_time(NOW + 300).unwrap_err();
    assert_eq!(
        (e.kind(), e.to_string()),
        (ErrorKind::Time, "the request expired 0 s ago".into())
    );
    assert_eq!(
        r.check_time(NOW - 3600).unwrap_err().kind(),
        ErrorKind::Time
    );
    // Times at the ends of the range (a hostile request's, a broken clock's) are compared,
    // not overflowed (found by the fuzz target).
    let extreme = parse(&resigned(
        |c| {
            c["exp"] = json!(i64::MIN);
            c["iat"] = json!(i64::MAX);
        },
        |_| {},
    ))
    .unwrap();
    assert_eq!(
        extreme.check_time(i64::MAX).unwrap_err().kind(),
        ErrorKind::Time
    );
    assert_eq!(
        extreme.check_time(i64::MIN).unwrap_err().kind(),
        ErrorKind::Time
    );
}

#[test]
fn requests_that_break_the_profile_are_refused_with_the_reason() {
    let cases: Vec<(String, &str)> = vec![
        (
            resigned(|_| {}, |h| h["typ"] = json!("JWT")),
            "its typ is not oauth-authz-req+jwt",
        ),
        (
            resigned(|_| {}, |h| h["alg"] = json!("ES256")),
            "not signed with EdDSA",
        ),
        (
            resigned(|_| {}, |h| h["kid"] = json!("did:alliance:z6MkOther#key-1")),
            "signed by did:alliance:z6MkOther#key-1, not by a key of did:alliance:z6MkShop",
        ),
        (
            resigned(
                |_| {},
                |h| {
                    h.as_object_mut()
                        .unwrap()
                        .remove("kid")
                        .map(|_| ())
                        .unwrap()
                },
            ),
            "names no key",
        ),
        (
            resigned(
                |c| c["client_id"] = json!("redirect_uri:https://shop.example"),
                |_| {},
            ),
            "does not start with decentralized_identifier:",
        ),
        (
            resigned(|c| c["response_type"] = json!("code"), |_| {}),
            "response_type is not vp_token",
        ),
        (
            resigned(|c| c["response_mode"] = json!("fragment"), |_| {}),
            "response_mode fragment is not direct_post",
        ),
        (
            resigned(|c| c["response_uri"] = json!("javascript:alert(1)"), |_| {}),
            "response_uri is not a web address",
        ),
        (
            resigned(|c| c["nonce"] = json!(""), |_| {}),
            "nonce is missing",
        ),
        (
            resigned(|c| c["aud"] = json!("https://wallet.example"), |_| {}),
            "its aud is not https://self-issued.me/v2",
        ),
        (
            resigned(|c| c["presentation_definition"] = json!({}), |_| {}),
            "only dcql_query is supported",
        ),
        (
            resigned(|c| c["exp"] = json!("tomorrow"), |_| {}),
            "exp is not a number of seconds",
        ),
    ];
    for (jwt, why) in cases {
        let e = parse(&jwt).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
        assert!(e.to_string().contains(why), "{e} should say {why}");
    }
    let e = parse(&resigned(
        |c| c["dcql_query"] = json!({"credentials": []}),
        |_| {},
    ))
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Query, "{e}");
    let crit = resigned(|_| {}, |h| h["crit"] = json!(["b64"]));
    let e = parse(&crit).unwrap_err();
    assert!(e.to_string().contains("crit"), "{e}");
    let upper = resigned(|_| {}, |h| h["typ"] = json!("OAUTH-AUTHZ-REQ+JWT"));
    parse(&upper).unwrap();
    for bad in ["", "a.b", "a.b.c.d", "e30.e30.AAAA", "bm90IGpzb24.e30.AAAA"] {
        assert_eq!(
            parse(bad).unwrap_err().kind(),
            ErrorKind::Malformed,
            "{bad}"
        );
    }
    let huge = "a".repeat(200_000);
    assert_eq!(parse(&huge).unwrap_err().kind(), ErrorKind::TooLarge);
}

#[test]
fn a_link_carries_the_client_and_where_to_fetch_the_request() {
    let link = RequestLink {
        client_id: AuthorizationRequest::client_id_for(DID),
        request_uri: "https://shop.example/oid4vp/requests/r1/object?x=1&y=2".into(),
    };
    let uri = link.to_uri();
    assert!(
        uri.starts_with("openid4vp://?client_id=decentralized_identifier%3Adid%3Aalliance"),
        "{uri}"
    );
    assert_eq!(RequestLink::parse(&uri, &Limits::default()).unwrap(), link);

    let refused = |s: &str| {
        RequestLink::parse(s, &Limits::default())
            .unwrap_err()
            .to_string()
    };
    assert!(refused("openid4vp://?client_id=x").contains("no request_uri"));
    assert!(refused("openid4vp://?request_uri=https%3A%2F%2Fa").contains("no client_id"));
    assert!(refused("openid4vp://?client_id=x&request=eyJ").contains("only request_uri"));
    assert!(
        refused("openid4vp://?client_id=x&client_id=y&request_uri=https%3A%2F%2Fa")
            .contains("client_id twice")
    );
    assert!(
        refused("openid4vp://?client_id=x&request_uri=file%3A%2F%2F%2Fetc%2Fpasswd")
            .contains("not a web address")
    );
    assert!(refused("not a link").contains("malformed"));
}

#[test]
fn a_response_goes_back_as_a_form_and_is_checked_against_the_query() {
    let mut token = VpToken::default();
    token
        .0
        .insert("permit".into(), vec![json!("eyJ...~WyJ...~eyJ...")]);
    token.0.insert(
        "cards".into(),
        vec![
            json!({"type": ["VerifiablePresentation"]}),
            json!({"type": ["VerifiablePresentation"]}),
        ],
    );
    let post = DirectPost {
        vp_token: token.clone(),
        state: Some("r1".into()),
        staples: Some(json!({"permit": [{"registryProofs": [], "statusLists": {}}]})),
    };
    let body = post.to_form();
    let back = DirectPost::parse(body.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(back, post);

    // Encrypted (direct_post.jwt): the same members, readable only with the request's key; a
    // plain answer to a request that asked for an encrypted one is refused.
    use oid4vp::jwe::{DecryptionKey, Enc};
    let key = DecryptionKey::generate("r1", &mut rand_core::OsRng);
    let sealed = post
        .to_encrypted_form(&key.public_jwk(), Enc::A128Gcm, &mut rand_core::OsRng)
        .unwrap();
    assert!(!sealed.contains("permit"));
    let opened =
        DirectPost::parse_encrypted(sealed.as_bytes(), &key, &[Enc::A128Gcm], &Limits::default())
            .unwrap();
    assert_eq!(opened, post);
    let other = DecryptionKey::generate("r1", &mut rand_core::OsRng);
    assert!(
        DirectPost::parse_encrypted(
            sealed.as_bytes(),
            &other,
            &[Enc::A128Gcm],
            &Limits::default()
        )
        .is_err()
    );
    assert!(
        DirectPost::parse_encrypted(body.as_bytes(), &key, &[Enc::A128Gcm], &Limits::default())
            .unwrap_err()
            .to_string()
            .contains("only an encrypted response")
    );
    back.vp_token
        .check_shape(&query(), &Limits::default())
        .unwrap();

    let shape = |edit: &dyn Fn(&mut VpToken)| {
        let mut t = token.clone();
        edit(&mut t);
        t.check_shape(&query(), &Limits::default())
            .unwrap_err()
            .to_string()
    };
    assert!(
        shape(&|t| {
            t.0.insert("passport".into(), vec![json!("x")]);
        })
        .contains("\"passport\" is not an id of the query")
    );
    assert!(
        shape(&|t| {
            t.0.insert("permit".into(), vec![json!("a"), json!("b")]);
        })
        .contains("the query asks for one")
    );
    assert!(
        shape(&|t| {
            t.0.insert("permit".into(), vec![]);
        })
        .contains("holds no presentation")
    );
    assert!(
        shape(&|t| {
            t.0.insert("permit".into(), vec![json!(42)]);
        })
        .contains("neither a string nor an object")
    );

    let parse = |b: &str| {
        DirectPost::parse(b.as_bytes(), &Limits::default())
            .unwrap_err()
            .to_string()
    };
    assert!(parse("state=r1").contains("no vp_token"));
    assert!(parse("vp_token=%7B%7D&vp_token=%7B%7D").contains("vp_token twice"));
    assert!(parse("vp_token=%5B%5D").contains("not a JSON object"));
    assert!(parse("vp_token=%7B%22permit%22%3A%22x%22%7D").contains("not an array"));
    assert!(
        parse("vp_token=%7B%7D&alliance_staples=%5B%5D")
            .contains("alliance_staples is not a JSON object")
    );
    let limits = Limits {
        max_response_bytes: 16,
        ..Limits::default()
    };
    assert_eq!(
        DirectPost::parse(body.as_bytes(), &limits)
            .unwrap_err()
            .kind(),
        ErrorKind::TooLarge
    );
}
