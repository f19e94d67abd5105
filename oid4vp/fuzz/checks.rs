//! The invariants the `request` and `response` fuzz targets check, shared with
//! `../tests/fuzz_corpus.rs`, which replays the corpus on stable Rust in CI.
//!
//! Any input: reading it never panics and stays within the limits. A request object that
//! reads back means the same after it is signed again; a link that reads back survives a
//! round trip; a response that reads back survives a round trip through its form, and its
//! shape check against a query never panics. An encrypted response never panics whether it
//! arrives as a form or as the plaintext encrypted to the request's key, and what decrypts
//! reads back the same after it is encrypted again.

use oid4vp::{DirectPost, Limits, RequestLink, SignedRequest};

pub fn request(data: &[u8]) {
    let limits = Limits::default();
    if let Ok(r) = SignedRequest::parse(data, &limits) {
        let key = did_method::SecretKey::from_seed(&[1; 32]);
        let again = r.request.sign(&key, &r.kid);
        let back = SignedRequest::parse(again.as_bytes(), &limits)
            .unwrap_or_else(|e| panic!("a request read back does not read again: {e}"));
        assert_eq!(
            back.request, r.request,
            "a request changed through signing again"
        );
        assert!(back.verify_signature(&key.public_key()).is_ok());
        let _ = r.check_time(0);
        let _ = r.check_time(i64::MAX);
        let _ = r.check_time(i64::MIN);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(link) = RequestLink::parse(text, &limits)
    {
        let back = RequestLink::parse(&link.to_uri(), &limits)
            .unwrap_or_else(|e| panic!("a link read back does not read again: {e}"));
        assert_eq!(back, link);
    }
}

pub fn response(data: &[u8]) {
    let limits = Limits::default();
    let Ok(post) = DirectPost::parse(data, &limits) else {
        return;
    };
    let back = DirectPost::parse(post.to_form().as_bytes(), &limits)
        .unwrap_or_else(|e| panic!("a response read back does not read again: {e}"));
    assert_eq!(back, post);
    let query = dcql::Query::parse(
        br#"{"credentials":[{"id":"permit","format":"dc+sd-jwt","meta":{"vct_values":["urn:x"]}},
            {"id":"cards","format":"ldp_vc","multiple":true,"meta":{"type_values":[["LibraryCard"]]}}]}"#,
    )
    .unwrap_or_else(|e| panic!("the fixed query: {e}"));
    let _ = post.vp_token.check_shape(&query, &limits);
}

pub fn encrypted_response(data: &[u8]) {
    use oid4vp::jwe::{DecryptionKey, Enc};
    let limits = Limits::default();
    let key = DecryptionKey::generate("k", &mut rand_core::OsRng);
    let accepted = [Enc::A128Gcm, Enc::A256Gcm];
    let _ = DirectPost::parse_encrypted(data, &key, &accepted, &limits);
    // The input as what a wallet encrypted: the decrypted members are read as a response's.
    let Ok(jwe) =
        oid4vp::jwe::encrypt(data, &key.public_jwk(), Enc::A128Gcm, &mut rand_core::OsRng)
    else {
        return;
    };
    let form = format!("response={jwe}");
    if let Ok(post) = DirectPost::parse_encrypted(form.as_bytes(), &key, &accepted, &limits) {
        let again = post
            .to_encrypted_form(&key.public_jwk(), Enc::A256Gcm, &mut rand_core::OsRng)
            .unwrap_or_else(|e| panic!("a response read back does not encrypt again: {e}"));
        let back = DirectPost::parse_encrypted(again.as_bytes(), &key, &accepted, &limits)
            .unwrap_or_else(|e| panic!("a response read back does not read again: {e}"));
        assert_eq!(back, post);
    }
}
