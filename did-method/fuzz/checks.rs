//! The invariants the fuzz targets assert, one function per kind of outside input.
//!
//! Shared, unchanged, by the libFuzzer targets (`fuzz_targets/*.rs`, through
//! `#[path = "../checks.rs"] mod checks;`) and by the stable integration test
//! `did-method/tests/fuzz_corpus.rs`, which replays every seed-corpus and artifact file
//! through the same functions. Every function takes raw bytes, never panics on bad input,
//! and panics (an `assert!`) only when an invariant is broken. It uses only `did_method`,
//! `serde`, `serde_json` and `std`, which both builds have.

// Each fuzz target uses one of these functions; the others are unused there.
#![allow(dead_code)]

use std::sync::OnceLock;

use did_method::operation::{MAX_OPERATION_BYTES, MAX_SIGNATURES};
use did_method::state::{Authority, Governance};
use did_method::{
    Block, ChainId, Did, Genesis, OpError, PublicKey, RegistryProof, RejectKind, SecretKey,
    Signature, SignedOperation, TrustAnchor, Validator, ValidatorSet,
};

/// Chain id of the fixed test network (also the chain submitted operations are checked for).
pub const CHAIN: &str = "fuzz-net";

/// The fixed secret key `[seed; 32]`.
pub fn sk(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

/// The fixed genesis every target trusts: validators `sk(1..=4)` with power 10 each,
/// registrars `sk(11..=14)`, root authorities `sk(21..=23)` with threshold 2.
pub fn genesis() -> &'static Genesis {
    static GENESIS: OnceLock<Genesis> = OnceLock::new();
    GENESIS.get_or_init(|| {
        let validators = (1..=4u8)
            .map(|i| Validator {
                name: format!("member-{i}"),
                public_key: sk(i).public_key(),
                power: 10,
                registrar_key: sk(10 + i).public_key(),
                operator_did: None,
            })
            .collect();
        let governance = Governance {
            authorities: (21..=23u8)
                .map(|i| Authority {
                    name: format!("root-{i}"),
                    public_key: sk(i).public_key(),
                    did: None,
                })
                .collect(),
            threshold: 2,
            sequence: 0,
        };
        Genesis {
            chain_id: ChainId::new(CHAIN).expect("valid chain id"),
            genesis_time_ms: 1_700_000_000_000,
            validators: ValidatorSet::new(validators).expect("valid validator set"),
            governance,
        }
    })
}

/// The trust anchor of [`genesis`] (height 0).
pub fn anchor() -> &'static TrustAnchor {
    static ANCHOR: OnceLock<TrustAnchor> = OnceLock::new();
    ANCHOR.get_or_init(|| genesis().trust_anchor())
}

fn chain() -> &'static ChainId {
    &anchor().chain_id
}

/// `SignedOperation::from_json` then `.check`: a submitted operation.
///
/// - never panics, and anything over `MAX_OPERATION_BYTES` is refused before parsing;
/// - an operation that parses re-serializes to JSON that parses to an equal operation with
///   the same id, and that serialization is a fixed point;
/// - `check` is deterministic; it accepts only operations for the chain it is asked about,
///   with 1..=MAX_SIGNATURES distinct signers whose signatures verify, whose encoding fits
///   MAX_OPERATION_BYTES, and it keeps the operation and its id unchanged.
pub fn signed_operation(data: &[u8]) {
    let parsed = SignedOperation::from_json(data);
    if data.len() > MAX_OPERATION_BYTES {
        assert_eq!(
            parsed.as_ref().map_err(|e| e.kind).err(),
            Some(RejectKind::TooLarge),
            "an oversized operation must be refused as too large"
        );
        return;
    }
    let Ok(op) = parsed else { return };
    let json = serde_json::to_vec(&op).expect("a parsed operation serializes");
    let again = SignedOperation::from_json(&json)
        .unwrap_or_else(|e| panic!("re-serialized operation does not parse: {e}"));
    assert_eq!(again, op, "JSON round trip changed the operation");
    assert_eq!(
        again.id(),
        op.id(),
        "JSON round trip changed the operation id"
    );
    assert_eq!(
        serde_json::to_vec(&again).expect("serializes"),
        json,
        "serialization is not a fixed point"
    );

    // Against the fixed chain (what a node does) and against the operation's own chain
    // (so the signature checks are reached whatever chain id the input names).
    let own_chain = op.operation.chain_id.clone();
    for chain_id in [chain(), &own_chain] {
        let first = op.clone().check(chain_id);
        let second = again.clone().check(chain_id);
        assert_eq!(
            first.as_ref().map(|c| c.id()),
            second.as_ref().map(|c| c.id()),
            "check is not deterministic across a JSON round trip"
        );
        // Checked in a batch, beside a valid operation, each gets the verdict it gets
        // alone (ADR 0012: a node checks gossip and proposals in batches).
        let together: Vec<_> =
            did_method::operation::check_all(vec![valid_operation(), op.clone()], chain_id)
                .into_iter()
                .map(|r| r.map(|c| c.id()))
                .collect();
        assert_eq!(
            together[1],
            first.clone().map(|c| c.id()),
            "a batch check disagrees with the check alone"
        );
        assert_eq!(
            together[0].is_ok(),
            chain_id == chain(),
            "a valid operation's verdict depends on its batch"
        );
        match first {
            Ok(checked) => {
                assert_eq!(
                    &op.operation.chain_id, chain_id,
                    "accepted for another chain"
                );
                assert_eq!(checked.id(), op.id(), "check changed the id");
                assert_eq!(checked.signed(), &op, "check changed the operation");
                let sigs = &op.signatures;
                assert!(
                    (1..=MAX_SIGNATURES).contains(&sigs.len()),
                    "accepted {} signatures",
                    sigs.len()
                );
                for (i, s) in sigs.iter().enumerate() {
                    assert!(
                        sigs[..i].iter().all(|o| o.key != s.key),
                        "accepted a duplicate signer"
                    );
                    assert!(
                        s.key
                            .verify(&op.operation.signing_bytes(), &s.signature)
                            .is_ok(),
                        "accepted a signature that does not verify"
                    );
                }
                assert!(
                    json.len() <= MAX_OPERATION_BYTES,
                    "accepted an oversized operation"
                );
            }
            Err(OpError { kind, .. }) => {
                if &op.operation.chain_id != chain_id {
                    assert_eq!(
                        kind,
                        RejectKind::WrongChain,
                        "wrong chain reported as {kind}"
                    );
                }
            }
        }
    }
}

/// A valid operation for `fuzz-net`: deactivating a DID made from `sk(9)`.
fn valid_operation() -> SignedOperation {
    let key = sk(9);
    let did = Did::derive(chain(), &key.public_key(), &[0; 32]);
    did_method::Operation {
        chain_id: chain().clone(),
        sequence: 1,
        body: did_method::OperationBody::DeactivateDid {
            did,
            recovery_key: key.public_key(),
        },
    }
    .sign(&[&key])
}

/// `Did::parse`: on success `to_string()` gives back the input exactly, and the DID survives
/// a second parse, `FromStr` and a serde round trip unchanged.
pub fn did_parse(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = Did::parse(s);
    assert_eq!(
        s.parse::<Did>().ok(),
        parsed.as_ref().ok().cloned(),
        "FromStr disagrees with Did::parse"
    );
    let Ok(did) = parsed else { return };
    assert_eq!(did.to_string(), s, "to_string() is not the parsed input");
    assert_eq!(
        Did::parse(&did.to_string()).as_ref(),
        Ok(&did),
        "re-parse differs"
    );
    assert_eq!(
        did.to_string(),
        format!("did:alliance:{}:{}", did.network(), did.id()),
        "to_string() is not did:alliance:<network>:<id>"
    );
    assert_eq!(
        ChainId::new(did.network().as_str()).as_ref(),
        Ok(did.network()),
        "network is not a valid chain id"
    );
    let json = serde_json::to_string(&did).expect("a DID serializes");
    let back: Did = serde_json::from_str(&json).expect("a serialized DID deserializes");
    assert_eq!(back, did, "serde round trip changed the DID");
    assert!(
        did.url("key-1").starts_with(s),
        "DID URL does not extend the DID"
    );
}

/// `serde_json::from_slice::<RegistryProof>` then `.verify(anchor())`, offline.
///
/// - never panics;
/// - a parsed proof re-serializes to JSON that parses again, the serialization is a fixed
///   point, and the re-parsed proof verifies with exactly the same result (a proof that
///   verifies verifies again, with the same entry; one that fails, fails the same way);
/// - a verified entry is for the proof's key and value, above the anchor's height, and its
///   block id is the header's hash.
pub fn registry_proof(data: &[u8]) {
    let Ok(proof) = serde_json::from_slice::<RegistryProof>(data) else {
        return;
    };
    let anchor = anchor();
    let result = proof.verify(anchor);
    let json = serde_json::to_vec(&proof).expect("a parsed proof serializes");
    let again: RegistryProof = serde_json::from_slice(&json)
        .unwrap_or_else(|e| panic!("re-serialized proof does not parse: {e}"));
    assert_eq!(
        serde_json::to_vec(&again).expect("serializes"),
        json,
        "serialization is not a fixed point"
    );
    assert_eq!(
        again.verify(anchor),
        result,
        "verification changed across a JSON round trip"
    );
    if let Ok(entry) = result {
        assert_eq!(entry.key, proof.key);
        assert_eq!(entry.value, proof.value);
        assert_eq!(entry.height, proof.header.height);
        assert_eq!(entry.time_ms, proof.header.time_ms);
        assert!(
            entry.height > anchor.height,
            "verified a proof at or before the anchor"
        );
        assert_eq!(entry.block_id, proof.header.hash());
        assert_eq!(proof.header.chain_id, anchor.chain_id);
    }
}

/// `Genesis::from_json`: never panics; a genesis that parses has a valid governance, keys
/// that validate and a quorum that does not overflow; it re-serializes to JSON that parses
/// to an equal genesis (same validator-set hash and initial state), as a fixed point.
pub fn genesis_json(data: &[u8]) {
    let Ok(g) = Genesis::from_json(data) else {
        return;
    };
    assert!(g.governance.validate().is_ok());
    assert!(g.validators.validate_keys().is_ok());
    let total = g.validators.total_power();
    let quorum = g.validators.quorum();
    assert!(
        quorum > total * 2 / 3 && quorum <= total,
        "quorum {quorum} of {total}"
    );
    let json = serde_json::to_vec(&g).expect("a genesis serializes");
    let again = Genesis::from_json(&json)
        .unwrap_or_else(|e| panic!("re-serialized genesis does not parse: {e}"));
    assert_eq!(again, g, "JSON round trip changed the genesis");
    assert_eq!(again.validators.hash(), g.validators.hash());
    assert_eq!(again.initial_state(), g.initial_state());
    assert_eq!(again.trust_anchor(), g.trust_anchor());
    assert_eq!(serde_json::to_vec(&again).expect("serializes"), json);
    let state = g.initial_state();
    assert_eq!(state.len(), 3);
    assert!(
        state.iter().all(|(_, v)| !v.is_empty()),
        "empty state value"
    );
}

/// `Block::decode`: never panics; a decoded block re-encodes to bytes that decode to an
/// equal block with the same id, operation ids and operations-root result, as a fixed point;
/// checking its operations for the header's chain does not panic and agrees across the round
/// trip.
pub fn block_decode(data: &[u8]) {
    let Ok(block) = Block::decode(data) else {
        return;
    };
    let bytes = block.encode();
    let again =
        Block::decode(&bytes).unwrap_or_else(|e| panic!("re-encoded block does not decode: {e}"));
    assert_eq!(again, block, "encode/decode changed the block");
    assert_eq!(again.id(), block.id());
    assert_eq!(again.encode(), bytes, "encoding is not a fixed point");
    assert_eq!(again.check_operations_root(), block.check_operations_root());
    for (a, b) in block.operations.iter().zip(&again.operations) {
        assert_eq!(a.id(), b.id(), "an operation id changed");
        let chain_id = &block.header.chain_id;
        assert_eq!(
            a.clone().check(chain_id).map(|c| c.id()),
            b.clone().check(chain_id).map(|c| c.id()),
            "an operation's check changed across the round trip"
        );
    }
}

/// `PublicKey::from_multibase`, `SecretKey::from_multibase` (and `Signature::from_base64url`)
/// on the same text: never panic; what parses prints back exactly (the encodings are
/// canonical: one key, one text), survives serde, and a parsed secret key signs what its
/// public key verifies.
pub fn multibase(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(pk) = PublicKey::from_multibase(s) {
        assert_eq!(pk.to_multibase(), s, "public key text is not canonical");
        assert_eq!(PublicKey::from_bytes(&pk.to_bytes()), Ok(pk));
        let json = serde_json::to_string(&pk).expect("a key serializes");
        assert_eq!(serde_json::from_str::<PublicKey>(&json).ok(), Some(pk));
        // Validation and verification of an arbitrary key must not panic.
        let valid = pk.validate().is_ok();
        let verified = pk.verify(b"fuzz", &Signature::from_bytes(&[0; 64]));
        assert!(
            verified.is_err() || valid,
            "an invalid key verified a signature"
        );
    }
    if let Ok(secret) = SecretKey::from_multibase(s) {
        assert_eq!(
            secret.to_multibase(),
            s.trim(),
            "secret key text is not canonical"
        );
        assert_eq!(
            SecretKey::from_multibase(&secret.to_multibase()).ok(),
            Some(secret.clone())
        );
        let public = secret.public_key();
        assert!(
            public.validate().is_ok(),
            "a secret key has an invalid public key"
        );
        let sig = secret.sign(data);
        assert!(
            public.verify(data, &sig).is_ok(),
            "own signature does not verify"
        );
    }
    if let Ok(sig) = Signature::from_base64url(s) {
        assert_eq!(sig.to_base64url(), s, "signature text is not canonical");
    }
}

/// One invariant check over raw input bytes.
pub type Check = fn(&[u8]);

/// Every target's name (the fuzz target and its corpus folder) and its check.
/// `did_method::jcs_value` on any JSON text: the canonical JSON (RFC 8785) that operations'
/// ids, signatures and stored state values are computed over.
///
/// - never panics, and never fails on a value that parsed (a parsed value has no
///   duplicate member names);
/// - the canonical text parses to the same value (numbers compared as the doubles they
///   denote), holds no whitespace outside strings, and is a fixed point: canonicalizing it
///   again gives the same bytes;
/// - every object's members come in UTF-16 order of their names (checked on the text, read
///   with member order kept).
pub fn canonical_json(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let text = did_method::jcs_value(&value).expect("a parsed value canonicalizes");
    let back: serde_json::Value = serde_json::from_slice(&text).expect("canonical JSON parses");
    assert!(
        same_json(&back, &value),
        "canonical JSON means another value: {value} became {}",
        String::from_utf8_lossy(&text)
    );
    assert_eq!(
        did_method::jcs_value(&back).expect("canonical JSON canonicalizes"),
        text,
        "canonical JSON is not a fixed point"
    );
    let mut de = serde_json::Deserializer::from_slice(&text);
    serde::de::Deserializer::deserialize_any(&mut de, OrderCheck)
        .expect("canonical JSON's members are in UTF-16 order");
    let mut in_string = false;
    let mut escaped = false;
    for &b in &text {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else {
            assert!(!b.is_ascii_whitespace(), "whitespace outside a string");
            in_string = b == b'"';
        }
    }
}

/// Equal JSON values, numbers compared as the doubles they denote.
fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// Reads JSON and fails if an object's member names are not in strictly increasing UTF-16
/// order.
struct OrderCheck;

impl<'de> serde::de::Visitor<'de> for OrderCheck {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut last: Option<Vec<u16>> = None;
        while let Some(name) = map.next_key::<String>()? {
            let units: Vec<u16> = name.encode_utf16().collect();
            if last.as_ref().is_some_and(|l| *l >= units) {
                return Err(serde::de::Error::custom("members out of UTF-16 order"));
            }
            last = Some(units);
            map.next_value_seed(OrderSeed)?;
        }
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(OrderSeed)?.is_some() {}
        Ok(())
    }
}

struct OrderSeed;

impl<'de> serde::de::DeserializeSeed<'de> for OrderSeed {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(OrderCheck)
    }
}

pub const TARGETS: &[(&str, Check)] = &[
    ("signed_operation", signed_operation),
    ("did_parse", did_parse),
    ("registry_proof", registry_proof),
    ("genesis", genesis_json),
    ("block_decode", block_decode),
    ("multibase", multibase),
    ("canonical_json", canonical_json),
];
