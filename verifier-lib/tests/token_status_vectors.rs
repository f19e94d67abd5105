//! The Token Status List specification's own examples: the packed bytes and `lst` strings of
//! §4.1/§4.2, and its signed example token (ES256), decode to the statuses the specification
//! lists; our encoder's output decodes back to the same statuses.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

use serde_json::Value;
use ssi::status::token_status_list::{BitString, StatusSize};
use verifier_lib::token_status::{StatusListToken, decode_lst, encode_list};

fn fixtures() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/token-status-list.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn specification_lists_decode_to_their_statuses_and_re_encode() {
    for case in fixtures()["lists"].as_array().unwrap() {
        let bits = StatusSize::try_from(case["bits"].as_u64().unwrap() as u8).unwrap();
        let statuses: Vec<u8> = case["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_u64().unwrap() as u8)
            .collect();
        let list = decode_lst(bits, case["lst"].as_str().unwrap()).unwrap();
        assert_eq!(hex(list.as_bytes()), case["bytes_hex"].as_str().unwrap());
        for (i, s) in statuses.iter().enumerate() {
            assert_eq!(list.get(i), Some(*s), "index {i}");
        }
        // Packing the statuses ourselves gives the specification's bytes, and our `lst`
        // (whatever the ZLIB encoder's exact output) decodes back to them.
        let ours = BitString::new_with(bits, statuses.len(), |i| statuses[i]).unwrap();
        assert_eq!(hex(ours.as_bytes()), case["bytes_hex"].as_str().unwrap());
        let encoded = encode_list(&ours);
        assert_eq!(encoded["bits"], case["bits"]);
        let back = decode_lst(bits, encoded["lst"].as_str().unwrap()).unwrap();
        assert_eq!(back.as_bytes(), ours.as_bytes());
    }
}

#[test]
fn specification_example_token_parses_and_its_signature_verifies() {
    let f = fixtures();
    let t = &f["token"];
    let token = StatusListToken::parse(t["jwt"].as_str().unwrap()).unwrap();
    assert_eq!(token.sub, t["sub"].as_str().unwrap());
    assert_eq!(token.iat_s, t["iat"].as_u64().unwrap());
    assert_eq!(token.exp_s, t["exp"].as_u64());
    assert_eq!(token.ttl_s, t["ttl"].as_u64());
    assert_eq!(token.kid.as_deref(), Some("12"));
    assert_eq!(token.alg, "ES256");
    // The bits=1 example list of §4.1.
    assert_eq!(token.status(0), Some(1));
    assert_eq!(token.status(1), Some(0));
    assert_eq!(token.status(15), Some(1));
    assert_eq!(token.status(16), None);
    let jwk: ssi::JWK = serde_json::from_value(t["jwk"].clone()).unwrap();
    ssi::claims::jws::verify_bytes(
        ssi::jwk::Algorithm::ES256,
        token.signing_input.as_bytes(),
        &jwk,
        &token.signature,
    )
    .unwrap();
    // One flipped byte of the payload breaks it.
    let mut tampered = token.signing_input.clone().into_bytes();
    let n = tampered.len() - 3;
    tampered[n] ^= 1;
    assert!(
        ssi::claims::jws::verify_bytes(
            ssi::jwk::Algorithm::ES256,
            &tampered,
            &jwk,
            &token.signature
        )
        .is_err()
    );
}
