//! Registry proofs and the light-client check that verifies them offline.
//!
//! A [`RegistryProof`] says "at height H, state key K held value V (or nothing)". It carries
//! the header of H with its commit certificate, the validator-set changes since the
//! verifier's trust anchor, and a Jellyfish Merkle proof of K against the header's state
//! root. [`RegistryProof::verify`] needs only a [`TrustAnchor`]: no network, no node.

use jmt::proof::SparseMerkleProof;
use jmt::{KeyHash, RootHash};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::chain::{ChainError, ChainId, CommitCertificate, Hash, Header, ValidatorSet};
use crate::encoding::jcs_value;

/// Most validator-set changes one proof may walk through.
pub const MAX_VALIDATOR_UPDATES: usize = 1024;

/// What a verifier trusts without proof: the validator set that decides `height + 1`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustAnchor {
    pub chain_id: ChainId,
    pub height: u64,
    pub time_ms: u64,
    pub validators: ValidatorSet,
}

/// A validator-set change: the header of the block that changed the set, its certificate,
/// and the new set (which must hash to `header.next_validators_hash`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValidatorUpdate {
    pub header: Header,
    pub certificate: CommitCertificate,
    pub next_validators: ValidatorSet,
}

/// Proof of one state key's value at a height.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistryProof {
    /// State key, e.g. `did/did:alliance:net:…`.
    pub key: String,
    /// The record (absent: proof that the key holds nothing).
    pub value: Option<serde_json::Value>,
    pub header: Header,
    pub certificate: CommitCertificate,
    #[serde(default)]
    pub validator_updates: Vec<ValidatorUpdate>,
    /// The Jellyfish Merkle proof, as unpadded base64url of its Borsh encoding.
    #[serde(with = "merkle_text")]
    pub merkle_proof: SparseMerkleProof<Sha256>,
}

/// Longest text form of a Merkle proof accepted (256 siblings of 65 bytes, base64url).
pub const MAX_MERKLE_PROOF_TEXT: usize = 23_000;

/// The text form of a Jellyfish Merkle proof: unpadded base64url of its Borsh encoding
/// (`Option<leaf>` as a 0/1 byte then key hash and value hash; the siblings as a u32
/// little-endian count then, per sibling, a variant byte — 0 null, 1 internal (left, right),
/// 2 leaf (key hash, value hash) — and its 32-byte hashes), listed from the leaf up.
pub fn merkle_proof_to_text(p: &SparseMerkleProof<Sha256>) -> String {
    use base64::Engine as _;
    // Borsh encoding of plain fixed-size data into a Vec cannot fail.
    let bytes = borsh::to_vec(p).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn merkle_proof_from_text(s: &str) -> Result<SparseMerkleProof<Sha256>, ProofError> {
    use base64::Engine as _;
    if s.len() > MAX_MERKLE_PROOF_TEXT {
        return Err(ProofError::Malformed(format!(
            "merkle proof longer than {MAX_MERKLE_PROOF_TEXT} characters"
        )));
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|e| ProofError::Malformed(format!("merkle proof is not base64url: {e}")))?;
    borsh::from_slice(&bytes).map_err(|e| ProofError::Malformed(format!("merkle proof: {e}")))
}

mod merkle_text {
    use super::*;

    pub fn serialize<S: serde::Serializer>(
        p: &SparseMerkleProof<Sha256>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&merkle_proof_to_text(p))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<SparseMerkleProof<Sha256>, D::Error> {
        let s = String::deserialize(d)?;
        merkle_proof_from_text(&s).map_err(serde::de::Error::custom)
    }
}

/// What a valid proof establishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEntry {
    pub key: String,
    pub value: Option<serde_json::Value>,
    pub height: u64,
    pub time_ms: u64,
    pub block_id: Hash,
}

impl VerifiedEntry {
    /// Decodes the proven value as a typed record.
    pub fn record<T: for<'de> Deserialize<'de>>(&self) -> Result<Option<T>, ProofError> {
        self.value
            .clone()
            .map(|v| {
                serde_json::from_value(v).map_err(|e| ProofError::Malformed(format!("value: {e}")))
            })
            .transpose()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("proof is for chain {got}, the trust anchor is for {expected}")]
    WrongChain { expected: String, got: String },
    #[error("validator update {index} (height {height}): {source}")]
    Update {
        index: usize,
        height: u64,
        source: ChainError,
    },
    #[error("validator updates must be in increasing height after the anchor (update {index})")]
    UpdateOrder { index: usize },
    #[error("header at height {height}: {source}")]
    Header { height: u64, source: ChainError },
    #[error("header height {height} is not after the trust anchor's height {anchor}")]
    BeforeAnchor { height: u64, anchor: u64 },
    #[error("Merkle proof does not match the state root: {0}")]
    Merkle(String),
    #[error("malformed proof: {0}")]
    Malformed(String),
}

/// Checks that `header` was committed under the validator set the anchor leads to through
/// `updates` (validator-set changes in height order; those at or below the anchor skipped).
/// Returns the set that signed `header`.
fn verify_committed_header(
    anchor: &TrustAnchor,
    updates: &[ValidatorUpdate],
    header: &Header,
    certificate: &CommitCertificate,
) -> Result<ValidatorSet, ProofError> {
    let chain = &anchor.chain_id;
    if &header.chain_id != chain {
        return Err(ProofError::WrongChain {
            expected: chain.to_string(),
            got: header.chain_id.to_string(),
        });
    }
    if updates.len() > MAX_VALIDATOR_UPDATES {
        return Err(ProofError::Malformed(format!(
            "more than {MAX_VALIDATOR_UPDATES} validator updates"
        )));
    }
    let mut trusted = anchor.validators.clone();
    let mut last_height = anchor.height;
    for (index, u) in updates.iter().enumerate() {
        let height = u.header.height;
        if height <= anchor.height {
            // Already covered by the trust anchor (a checkpoint after this change).
            continue;
        }
        if height <= last_height || height >= header.height {
            return Err(ProofError::UpdateOrder { index });
        }
        u.certificate
            .verify_header(&u.header, chain, &trusted)
            .map_err(|source| ProofError::Update {
                index,
                height,
                source,
            })?;
        if u.next_validators.hash() != u.header.next_validators_hash {
            return Err(ProofError::Update {
                index,
                height,
                source: ChainError::NextValidatorsMismatch,
            });
        }
        trusted = u.next_validators.clone();
        last_height = height;
    }
    if header.height <= anchor.height {
        return Err(ProofError::BeforeAnchor {
            height: header.height,
            anchor: anchor.height,
        });
    }
    certificate
        .verify_header(header, chain, &trusted)
        .map_err(|source| ProofError::Header {
            height: header.height,
            source,
        })?;
    Ok(trusted)
}

/// A later trust anchor that proves itself from an earlier one: a committed header, the
/// validator-set changes leading to it, and the set that decides the next height. A verifier
/// checks it once against the genesis (or a previous checkpoint), then verifies proofs
/// against the anchor it yields without walking the older changes again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Checkpoint {
    pub header: Header,
    pub certificate: CommitCertificate,
    #[serde(default)]
    pub validator_updates: Vec<ValidatorUpdate>,
    /// The set that decides `header.height + 1` (hashes to `header.nextValidatorsHash`).
    pub next_validators: ValidatorSet,
}

impl Checkpoint {
    /// Verifies the checkpoint against `anchor` and returns the anchor it establishes.
    pub fn verify(&self, anchor: &TrustAnchor) -> Result<TrustAnchor, ProofError> {
        verify_committed_header(
            anchor,
            &self.validator_updates,
            &self.header,
            &self.certificate,
        )?;
        if self.next_validators.hash() != self.header.next_validators_hash {
            return Err(ProofError::Header {
                height: self.header.height,
                source: ChainError::NextValidatorsMismatch,
            });
        }
        Ok(TrustAnchor {
            chain_id: self.header.chain_id.clone(),
            height: self.header.height,
            time_ms: self.header.time_ms,
            validators: self.next_validators.clone(),
        })
    }
}

impl RegistryProof {
    /// Verifies the proof against `anchor`, offline.
    pub fn verify(&self, anchor: &TrustAnchor) -> Result<VerifiedEntry, ProofError> {
        verify_committed_header(
            anchor,
            &self.validator_updates,
            &self.header,
            &self.certificate,
        )?;
        // The value against the state root.
        let root = RootHash(self.header.state_root.0);
        let key_hash = KeyHash::with::<Sha256>(self.key.as_bytes());
        let value_bytes = match &self.value {
            Some(v) => {
                Some(jcs_value(v).map_err(|e| ProofError::Malformed(format!("value: {e}")))?)
            }
            None => None,
        };
        self.merkle_proof
            .verify(root, key_hash, value_bytes.as_deref())
            .map_err(|e| ProofError::Merkle(e.to_string()))?;
        Ok(VerifiedEntry {
            key: self.key.clone(),
            value: self.value.clone(),
            height: self.header.height,
            time_ms: self.header.time_ms,
            block_id: self.header.hash(),
        })
    }
}
