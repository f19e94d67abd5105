//! W3C Bitstring Status List examples: the entries and lists our verifier reads are the
//! specification's, the terms expand under the pinned contexts, and bit 0 is the first
//! (most significant) bit of the decompressed bitstring, as the specification requires.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

use std::path::PathBuf;

use serde_json::Value;
use ssi::status::bitstring_status_list::{
    BitstringStatusList, StatusList, StatusPurpose, StatusSize, TimeToLive,
};
use verifier_lib::contexts::PinnedContexts;
use verifier_lib::input::{Limits, parse_json_str};
use verifier_lib::rdfc::{ProofOptions, Rdfc2022};

fn example(n: u8) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
        "tests/vectors/bitstring-status-list/example-0{n}.txt"
    ));
    parse_json_str(&std::fs::read_to_string(p).unwrap(), Limits::default()).unwrap()
}

#[test]
fn the_example_list_decodes_to_131072_clear_entries() {
    for n in [3, 5] {
        let list: BitstringStatusList =
            serde_json::from_value(example(n)["credentialSubject"].clone()).unwrap();
        let bits = list.decode().unwrap();
        let one = StatusSize::try_from(1u8).unwrap();
        assert_eq!(bits.iter(one).count(), 131_072);
        assert!(bits.iter(one).all(|b| b == 0));
        // The index the example credentials point at.
        assert_eq!(bits.get(one, 94_567), Some(0));
        assert_eq!(bits.get(one, 131_072), None);
    }
}

#[test]
fn the_example_entries_name_the_example_list() {
    let c = example(1);
    let entries = c["credentialStatus"].as_array().unwrap();
    assert_eq!(entries[0]["type"], "BitstringStatusListEntry");
    assert_eq!(entries[0]["statusListCredential"], example(5)["id"]);
    assert_eq!(example(4)["credentialStatus"]["statusListIndex"], "94567");
}

#[test]
fn status_terms_expand_under_the_pinned_contexts() {
    // Signing canonicalizes: an undefined term would be an error, not silently dropped.
    let rdfc = Rdfc2022::new(PinnedContexts::standard().with_examples());
    let key = did_method::SecretKey::from_seed(&[3; 32]);
    let opts = ProofOptions {
        verification_method: "did:example:12345#key-1".into(),
        proof_purpose: "assertionMethod".into(),
        created: "2024-04-05T14:27:42Z".into(),
        challenge: None,
        domain: None,
        nonce: None,
    };
    for n in [1, 3, 4, 5] {
        let signed = rdfc.sign(&example(n), &key, &opts).unwrap();
        rdfc.verify(&signed, &key.public_key()).unwrap();
    }
}

#[test]
fn bit_zero_is_the_most_significant_bit_of_the_first_byte() {
    let one = StatusSize::try_from(1u8).unwrap();
    let mut list = StatusList::from_bytes(vec![0u8; 16 * 1024], TimeToLive::default());
    list.set(one, 0, 1).unwrap();
    list.set(one, 9, 1).unwrap();
    let subject = list.to_credential_subject(None, StatusPurpose::Revocation);
    let decoded = subject.decode().unwrap();
    let bits: Vec<u8> = decoded.iter(one).take(16).collect();
    assert_eq!(bits, [1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    // And in bytes, as the specification's decompressed bitstring: 0x80, 0x40.
    let encoded = serde_json::to_value(&subject).unwrap()["encodedList"]
        .as_str()
        .unwrap()
        .to_owned();
    let raw = decompress(&encoded);
    assert_eq!(&raw[..2], &[0x80, 0x40]);
}

/// The specification's decoding: multibase base64url (`u`), then GZIP.
fn decompress(encoded: &str) -> Vec<u8> {
    use base64::Engine;
    use std::io::Read;
    let gz = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded.strip_prefix('u').unwrap())
        .unwrap();
    let mut out = vec![];
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_end(&mut out)
        .unwrap();
    out
}
