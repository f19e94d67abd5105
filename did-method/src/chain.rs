//! Consensus objects: chain id, block headers, validator sets, votes and commit certificates.
//!
//! These are what a light client checks. The exact bytes that are hashed and signed are
//! defined here ([`Header::hash`], [`vote_sign_bytes`], [`ValidatorSet::hash`]) so that a
//! commit certificate produced by the node's consensus engine verifies with this crate alone.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::crypto::{BatchVerifier, PublicKey, Signature, sha256};
use crate::encoding::{Reader, Writer};
use crate::operation::{OpSignature, SignedOperation, operation_id};

const TAG_HEADER: &str = "alliance-did/header/v1";
const TAG_VOTE: &str = "alliance-did/vote/v1";
const TAG_VALIDATORS: &str = "alliance-did/validators/v1";
const TAG_OPS_LEAF: &str = "alliance-did/ops-leaf/v1";
const TAG_OPS_NODE: &str = "alliance-did/ops-node/v1";
/// First bytes of a binary-encoded block (a version byte last).
const BLOCK_MAGIC: &[u8] = b"alliance-block\x00\x01";

/// Upper bound on the encoded size of a block accepted from the network.
pub const MAX_BLOCK_BYTES: usize = 8 * 1024 * 1024;

/// Why a consensus object was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("invalid chain id {0:?}: use 1-32 characters a-z, 0-9 and '-'")]
    InvalidChainId(String),
    #[error("wrong chain id: expected {expected}, got {got}")]
    WrongChainId { expected: String, got: String },
    #[error("certificate is for height {cert}, header is at height {header}")]
    HeightMismatch { cert: u64, header: u64 },
    #[error("certificate is for block {cert}, header hashes to {header}")]
    BlockIdMismatch { cert: Hash, header: Hash },
    #[error("signature from {0} who is not in the validator set")]
    UnknownValidator(PublicKey),
    #[error("validator {0} signed twice")]
    DuplicateSigner(PublicKey),
    #[error("bad precommit signature from {0}")]
    BadSignature(PublicKey),
    #[error("not enough voting power: {signed} of {total} signed, more than two thirds needed")]
    UnderQuorum { signed: u64, total: u64 },
    #[error("header was signed by validator set {header}, but the trusted set is {trusted}")]
    WrongValidatorSet { header: Hash, trusted: Hash },
    #[error("validator set does not match the hash committed in the header")]
    NextValidatorsMismatch,
    #[error("invalid validator set: {0}")]
    InvalidValidatorSet(String),
    #[error("malformed block: {0}")]
    Malformed(String),
    #[error("invalid hash: {0}")]
    InvalidHash(String),
}

/// A network's chain id, e.g. `alliance-devnet`. It is also the `<network>` part of its DIDs.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChainId(String);

impl ChainId {
    pub fn new(s: impl Into<String>) -> Result<Self, ChainError> {
        let s = s.into();
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok {
            Ok(Self(s))
        } else {
            Err(ChainError::InvalidChainId(s))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub(crate) fn expect_eq(&self, other: &ChainId) -> Result<(), ChainError> {
        if self == other {
            Ok(())
        } else {
            Err(ChainError::WrongChainId {
                expected: self.0.clone(),
                got: other.0.clone(),
            })
        }
    }
}

impl TryFrom<String> for ChainId {
    type Error = ChainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}
impl From<ChainId> for String {
    fn from(c: ChainId) -> String {
        c.0
    }
}
impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainId({})", self.0)
    }
}

/// A SHA-256 hash; shown and serialized as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    pub const ZERO: Hash = Hash([0u8; 32]);
    pub fn digest(data: &[u8]) -> Self {
        Hash(sha256(data))
    }
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    pub fn from_hex(s: &str) -> Result<Self, ChainError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out)
            .map_err(|e| ChainError::InvalidHash(format!("not 64 hex digits {s:?}: {e}")))?;
        Ok(Hash(out))
    }
}
impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}
impl Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}
impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Hash::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// One consortium member's validator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Validator {
    /// Operator name, e.g. "Ministry of Interior".
    pub name: String,
    /// Consensus key; also the validator's address.
    pub public_key: PublicKey,
    /// Voting power (> 0).
    pub power: u64,
    /// The member's registrar key: endorses the creation of new DIDs.
    pub registrar_key: PublicKey,
    /// The operator's own `did:alliance` DID, once it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_did: Option<String>,
}

/// The validators that decide a height. Kept sorted by public key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Validator>", into = "Vec<Validator>")]
pub struct ValidatorSet {
    validators: Vec<Validator>,
}

/// Largest validator set accepted (keeps certificate checks bounded).
pub const MAX_VALIDATORS: usize = 150;
/// Largest voting power of one validator (keeps every integer exact in JSON, below 2^53).
pub const MAX_POWER: u64 = 1 << 40;

impl ValidatorSet {
    pub fn new(mut validators: Vec<Validator>) -> Result<Self, ChainError> {
        if validators.is_empty() {
            return Err(ChainError::InvalidValidatorSet("no validators".into()));
        }
        if validators.len() > MAX_VALIDATORS {
            return Err(ChainError::InvalidValidatorSet(format!(
                "more than {MAX_VALIDATORS} validators"
            )));
        }
        validators.sort_by_key(|v| v.public_key);
        let mut total: u64 = 0;
        for w in validators.windows(2) {
            if w[0].public_key == w[1].public_key {
                return Err(ChainError::InvalidValidatorSet(format!(
                    "duplicate validator {}",
                    w[0].public_key
                )));
            }
        }
        for v in &validators {
            if v.power > MAX_POWER {
                return Err(ChainError::InvalidValidatorSet(format!(
                    "validator {} has power above {MAX_POWER}",
                    v.name
                )));
            }
            if v.power == 0 {
                return Err(ChainError::InvalidValidatorSet(format!(
                    "validator {} has zero power",
                    v.name
                )));
            }
            total = total
                .checked_add(v.power)
                .filter(|t| *t <= u64::MAX / 3)
                .ok_or_else(|| {
                    ChainError::InvalidValidatorSet("total voting power overflows".into())
                })?;
        }
        Ok(Self { validators })
    }
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }
    pub fn len(&self) -> usize {
        self.validators.len()
    }
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }
    pub fn get(&self, key: &PublicKey) -> Option<&Validator> {
        self.validators
            .binary_search_by(|v| v.public_key.cmp(key))
            .ok()
            .and_then(|i| self.validators.get(i))
    }
    pub fn total_power(&self) -> u64 {
        self.validators.iter().map(|v| v.power).sum()
    }
    /// Smallest power that is more than two thirds of the total.
    pub fn quorum(&self) -> u64 {
        self.total_power() * 2 / 3 + 1
    }
    /// Commits to the keys and powers (names are informative and not hashed).
    pub fn hash(&self) -> Hash {
        let mut w = Writer::new(TAG_VALIDATORS).u32(self.validators.len() as u32);
        for v in &self.validators {
            w = w.fixed(v.public_key.as_bytes()).u64(v.power);
        }
        Hash::digest(&w.finish())
    }
    /// Checks every consensus and registrar key is a valid point not of small order.
    pub fn validate_keys(&self) -> Result<(), ChainError> {
        for v in &self.validators {
            for k in [&v.public_key, &v.registrar_key] {
                k.validate().map_err(|e| {
                    ChainError::InvalidValidatorSet(format!("validator {}: key {k}: {e}", v.name))
                })?;
            }
        }
        Ok(())
    }

    /// Is `key` one of the current members' registrar keys?
    pub fn is_registrar(&self, key: &PublicKey) -> bool {
        self.validators.iter().any(|v| &v.registrar_key == key)
    }
}

impl TryFrom<Vec<Validator>> for ValidatorSet {
    type Error = ChainError;
    fn try_from(v: Vec<Validator>) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}
impl From<ValidatorSet> for Vec<Validator> {
    fn from(s: ValidatorSet) -> Self {
        s.validators
    }
}

/// A block header (DESIGN §2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Header {
    pub chain_id: ChainId,
    pub height: u64,
    /// Proposal time, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Hash of the previous header ([`Hash::ZERO`] at height 1).
    pub prev_hash: Hash,
    /// Merkle root of the operation ids in this block.
    pub operations_root: Hash,
    /// Root of the authenticated state after this block.
    pub state_root: Hash,
    /// Hash of the validator set that decides this block.
    pub validators_hash: Hash,
    /// Hash of the validator set that decides the next block.
    pub next_validators_hash: Hash,
    /// Consensus key of the proposer.
    pub proposer: PublicKey,
}

impl Header {
    /// The block id: SHA-256 over the tagged binary encoding of every field.
    pub fn hash(&self) -> Hash {
        let w = Writer::new(TAG_HEADER)
            .bytes(self.chain_id.as_str().as_bytes())
            .u64(self.height)
            .u64(self.time_ms)
            .fixed(&self.prev_hash.0)
            .fixed(&self.operations_root.0)
            .fixed(&self.state_root.0)
            .fixed(&self.validators_hash.0)
            .fixed(&self.next_validators_hash.0)
            .fixed(self.proposer.as_bytes());
        Hash::digest(&w.finish())
    }
}

/// A block: header and the signed operations it applies, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Block {
    pub header: Header,
    pub operations: Vec<SignedOperation>,
}

impl Block {
    pub fn id(&self) -> Hash {
        self.header.hash()
    }
    /// The binary block encoding (`docs/did-alliance.md`, "Block encoding"): each operation
    /// travels as its canonical JSON, so a receiver hashes it for its id without
    /// re-serializing, and skips parsing operations it already holds.
    pub fn encode(&self) -> Vec<u8> {
        let h = &self.header;
        let mut w = Writer::raw(BLOCK_MAGIC)
            .bytes(h.chain_id.as_str().as_bytes())
            .u64(h.height)
            .u64(h.time_ms)
            .fixed(&h.prev_hash.0)
            .fixed(&h.operations_root.0)
            .fixed(&h.state_root.0)
            .fixed(&h.validators_hash.0)
            .fixed(&h.next_validators_hash.0)
            .fixed(h.proposer.as_bytes())
            .u32(u32::try_from(self.operations.len()).unwrap_or(u32::MAX));
        for op in &self.operations {
            w = w
                .bytes(op.canonical())
                .u8(u8::try_from(op.signatures.len()).unwrap_or(u8::MAX));
            for s in &op.signatures {
                w = w.fixed(s.key.as_bytes()).fixed(&s.signature.to_bytes());
            }
        }
        w.finish()
    }

    /// Decodes [`Block::encode`]'s bytes (or the JSON form older nodes stored).
    pub fn decode(bytes: &[u8]) -> Result<Self, ChainError> {
        Self::decode_with(bytes, |_| None)
    }

    /// Like [`Block::decode`], taking operations already held (by id, e.g. from a mempool)
    /// from `known` instead of parsing them again; one is used only if its signatures are
    /// exactly those carried.
    pub fn decode_with(
        bytes: &[u8],
        known: impl Fn(&Hash) -> Option<SignedOperation>,
    ) -> Result<Self, ChainError> {
        if bytes.len() > MAX_BLOCK_BYTES {
            return Err(ChainError::Malformed(format!(
                "block of {} bytes exceeds {MAX_BLOCK_BYTES}",
                bytes.len()
            )));
        }
        if bytes.first() == Some(&b'{') {
            return serde_json::from_slice(bytes).map_err(|e| ChainError::Malformed(e.to_string()));
        }
        let body = bytes
            .strip_prefix(BLOCK_MAGIC)
            .ok_or_else(|| ChainError::Malformed("not a block (unknown encoding)".into()))?;
        let truncated = || ChainError::Malformed("block is truncated".into());
        let mut r = Reader::new(body);
        let chain_id = std::str::from_utf8(r.bytes().ok_or_else(truncated)?)
            .map_err(|_| ChainError::Malformed("chain id is not UTF-8".into()))?;
        let chain_id = ChainId::new(chain_id)?;
        let hash = |r: &mut Reader| r.fixed::<32>().map(Hash).ok_or_else(truncated);
        let height = r.u64().ok_or_else(truncated)?;
        let time_ms = r.u64().ok_or_else(truncated)?;
        let prev_hash = hash(&mut r)?;
        let operations_root = hash(&mut r)?;
        let state_root = hash(&mut r)?;
        let validators_hash = hash(&mut r)?;
        let next_validators_hash = hash(&mut r)?;
        let proposer = PublicKey::from_bytes(&r.fixed::<32>().ok_or_else(truncated)?)
            .map_err(|e| ChainError::Malformed(e.to_string()))?;
        let count = r.u32().ok_or_else(truncated)? as usize;
        // Each operation takes at least 5 bytes: a count beyond that is a lie.
        if count > r.remaining() / 5 {
            return Err(truncated());
        }
        let mut operations = Vec::with_capacity(count);
        for i in 0..count {
            let canonical = r.bytes().ok_or_else(truncated)?;
            let n = r.u8().ok_or_else(truncated)? as usize;
            let mut signatures = Vec::with_capacity(n);
            for _ in 0..n {
                let key = PublicKey::from_bytes(&r.fixed::<32>().ok_or_else(truncated)?)
                    .map_err(|e| ChainError::Malformed(e.to_string()))?;
                let signature = Signature::from_bytes(&r.fixed::<64>().ok_or_else(truncated)?);
                signatures.push(OpSignature { key, signature });
            }
            let id = operation_id(canonical);
            let op = match known(&id) {
                Some(op) if op.signatures == signatures => op,
                _ => SignedOperation::from_canonical(canonical, signatures)
                    .map_err(|e| ChainError::Malformed(format!("operation {i}: {e}")))?,
            };
            operations.push(op);
        }
        if r.remaining() != 0 {
            return Err(ChainError::Malformed(format!(
                "{} trailing bytes after the block",
                r.remaining()
            )));
        }
        Ok(Block {
            header: Header {
                chain_id,
                height,
                time_ms,
                prev_hash,
                operations_root,
                state_root,
                validators_hash,
                next_validators_hash,
                proposer,
            },
            operations,
        })
    }
    /// Checks that `operations_root` commits to the operations carried.
    pub fn check_operations_root(&self) -> Result<(), ChainError> {
        let ids: Vec<Hash> = self.operations.iter().map(|o| o.id()).collect();
        if operations_root(&ids) == self.header.operations_root {
            Ok(())
        } else {
            Err(ChainError::Malformed(
                "operations root does not match the operations".into(),
            ))
        }
    }
}

/// Binary Merkle root (RFC 6962 shape, tagged leaves and nodes) over operation ids.
pub fn operations_root(ids: &[Hash]) -> Hash {
    fn root(ids: &[Hash]) -> Hash {
        match ids {
            [] => Hash::digest(&Writer::new(TAG_OPS_LEAF).finish()),
            [one] => Hash::digest(&Writer::new(TAG_OPS_LEAF).fixed(&one.0).finish()),
            _ => {
                let split = ids.len().next_power_of_two() / 2;
                let (l, r) = ids.split_at(split);
                Hash::digest(
                    &Writer::new(TAG_OPS_NODE)
                        .fixed(&root(l).0)
                        .fixed(&root(r).0)
                        .finish(),
                )
            }
        }
    }
    root(ids)
}

/// The two kinds of vote in Tendermint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteType {
    Prevote,
    Precommit,
}

/// The exact bytes a validator signs for a vote: tag, vote type, chain id, height, round,
/// and the block id (or nil).
pub fn vote_sign_bytes(
    chain_id: &ChainId,
    vote_type: VoteType,
    height: u64,
    round: u32,
    block_id: Option<&Hash>,
) -> Vec<u8> {
    let w = Writer::new(TAG_VOTE)
        .u8(match vote_type {
            VoteType::Prevote => 1,
            VoteType::Precommit => 2,
        })
        .bytes(chain_id.as_str().as_bytes())
        .u64(height)
        .u32(round);
    match block_id {
        Some(id) => w.u8(1).fixed(&id.0).finish(),
        None => w.u8(0).finish(),
    }
}

/// One validator's precommit signature in a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommitSignature {
    pub validator: PublicKey,
    pub signature: Signature,
}

/// Proof that more than two thirds of the voting power precommitted a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommitCertificate {
    pub height: u64,
    pub round: u32,
    pub block_id: Hash,
    pub signatures: Vec<CommitSignature>,
}

impl CommitCertificate {
    /// Checks every signature against `validators` and that the signers hold more than two
    /// thirds of the power. Unknown or duplicate signers and bad signatures are errors (a
    /// certificate is produced by honest nodes and carries none of those).
    pub fn verify(&self, chain_id: &ChainId, validators: &ValidatorSet) -> Result<(), ChainError> {
        let msg = vote_sign_bytes(
            chain_id,
            VoteType::Precommit,
            self.height,
            self.round,
            Some(&self.block_id),
        );
        let mut seen = HashSet::with_capacity(self.signatures.len());
        let mut signed: u64 = 0;
        // The signatures are checked together (ZIP 215 makes that the same answer as one
        // by one); only when the batch fails are they checked alone, to name the signer.
        let mut batch = BatchVerifier::new();
        for s in &self.signatures {
            let v = validators
                .get(&s.validator)
                .ok_or(ChainError::UnknownValidator(s.validator))?;
            if !seen.insert(s.validator) {
                return Err(ChainError::DuplicateSigner(s.validator));
            }
            batch
                .queue(&s.validator, &msg, &s.signature)
                .map_err(|_| ChainError::BadSignature(s.validator))?;
            signed += v.power;
        }
        if batch.verify().is_err() {
            for s in &self.signatures {
                s.validator
                    .verify(&msg, &s.signature)
                    .map_err(|_| ChainError::BadSignature(s.validator))?;
            }
        }
        if signed < validators.quorum() {
            return Err(ChainError::UnderQuorum {
                signed,
                total: validators.total_power(),
            });
        }
        Ok(())
    }

    /// Checks that this certificate commits exactly `header`, signed by `validators`.
    pub fn verify_header(
        &self,
        header: &Header,
        chain_id: &ChainId,
        validators: &ValidatorSet,
    ) -> Result<(), ChainError> {
        chain_id.expect_eq(&header.chain_id)?;
        if self.height != header.height {
            return Err(ChainError::HeightMismatch {
                cert: self.height,
                header: header.height,
            });
        }
        let id = header.hash();
        if self.block_id != id {
            return Err(ChainError::BlockIdMismatch {
                cert: self.block_id,
                header: id,
            });
        }
        let trusted = validators.hash();
        if header.validators_hash != trusted {
            return Err(ChainError::WrongValidatorSet {
                header: header.validators_hash,
                trusted,
            });
        }
        self.verify(chain_id, validators)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use crate::operation::{Operation, RejectKind};

    fn chain() -> ChainId {
        ChainId::new("test-chain").unwrap()
    }

    fn create(seed: u8) -> SignedOperation {
        let key = SecretKey::from_seed(&[seed; 32]);
        let registrar = SecretKey::from_seed(&[200; 32]);
        let (_, op) = Operation::create_single_key(&chain(), &key.public_key(), Hash([seed; 32]));
        op.sign(&[&key, &registrar])
    }

    fn block(ops: Vec<SignedOperation>) -> Block {
        let ids: Vec<Hash> = ops.iter().map(|o| o.id()).collect();
        Block {
            header: Header {
                chain_id: chain(),
                height: 7,
                time_ms: 1_700_000_000_000,
                prev_hash: Hash([1; 32]),
                operations_root: operations_root(&ids),
                state_root: Hash([2; 32]),
                validators_hash: Hash([3; 32]),
                next_validators_hash: Hash([4; 32]),
                proposer: SecretKey::from_seed(&[9; 32]).public_key(),
            },
            operations: ops,
        }
    }

    #[test]
    fn binary_block_round_trips_with_ids_and_checks() {
        let b = block(vec![create(1), create(2), create(3)]);
        let bytes = b.encode();
        let again = Block::decode(&bytes).unwrap();
        assert_eq!(again, b);
        assert_eq!(again.id(), b.id());
        assert!(again.check_operations_root().is_ok());
        for (x, y) in b.operations.iter().zip(&again.operations) {
            assert_eq!(x.id(), y.id());
            assert_eq!(y.clone().check(&chain()).unwrap().id(), x.id());
        }
        assert_eq!(again.encode(), bytes);
        // Smaller than the JSON form it replaces.
        assert!(bytes.len() < serde_json::to_vec(&b).unwrap().len());
    }

    #[test]
    fn blocks_stored_as_json_by_older_nodes_still_decode() {
        let b = block(vec![create(1)]);
        let json = serde_json::to_vec(&b).unwrap();
        assert_eq!(Block::decode(&json).unwrap(), b);
    }

    #[test]
    fn known_operations_are_reused_only_with_the_same_signatures() {
        let op = create(1);
        let b = block(vec![op.clone()]);
        let bytes = b.encode();
        let used = std::cell::Cell::new(0);
        let decoded = Block::decode_with(&bytes, |id| {
            used.set(used.get() + 1);
            (*id == op.id()).then(|| op.clone())
        })
        .unwrap();
        assert_eq!(used.get(), 1);
        assert_eq!(decoded, b);
        // Held with other signatures (e.g. a different registrar): the carried ones win.
        let other = Operation {
            ..op.operation.clone()
        }
        .sign(&[
            &SecretKey::from_seed(&[1; 32]),
            &SecretKey::from_seed(&[201; 32]),
        ]);
        assert_eq!(other.id(), op.id());
        let decoded = Block::decode_with(&bytes, |_| Some(other.clone())).unwrap();
        assert_eq!(decoded.operations[0].signatures, op.signatures);
    }

    #[test]
    fn truncated_trailing_and_foreign_bytes_are_refused() {
        let bytes = block(vec![create(1), create(2)]).encode();
        for cut in [0, 5, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(Block::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(
            matches!(Block::decode(&long), Err(ChainError::Malformed(m)) if m.contains("trailing"))
        );
        assert!(Block::decode(b"\x00\x01garbage").is_err());
        // A huge operation count with no operations behind it.
        let mut lie = block(vec![]).encode();
        let n = lie.len();
        lie[n - 4..].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(Block::decode(&lie).is_err());
    }

    #[test]
    fn an_operation_carried_in_non_canonical_form_is_refused_at_check() {
        let op = create(1);
        let canonical = op.canonical().to_vec();
        // Same JSON with a space: parses to the same operation, signatures still verify
        // over the canonical bytes, but the carried bytes are not canonical.
        let mut loose = b"{ ".to_vec();
        loose.extend_from_slice(&canonical[1..]);
        let carried = SignedOperation::from_canonical(&loose, op.signatures.clone()).unwrap();
        assert_ne!(carried.id(), op.id());
        let err = carried.check(&chain()).unwrap_err();
        assert_eq!(err.kind, RejectKind::Malformed);
        assert!(err.message.contains("canonical"));
    }
}
