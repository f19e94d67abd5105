//! Signed registry operations: the transactions of the registry chain.
//!
//! An [`Operation`] names the chain it is for and the next sequence number of the record it
//! changes, so it cannot be replayed on another network or twice on this one. Its signing
//! bytes are a domain-separation tag followed by the RFC 8785 (JCS) form of the operation;
//! [`SignedOperation::id`] is the SHA-256 of those bytes.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::chain::{ChainId, Hash, ValidatorSet};
use crate::crypto::{BatchVerifier, PublicKey, SecretKey, Signature};
use crate::did::Did;
use crate::document::DidDocument;
use crate::encoding::jcs;

const TAG_OP: &str = "alliance-did/op/v1";
/// Largest encoded signed operation accepted.
pub const MAX_OPERATION_BYTES: usize = 64 * 1024;
/// Size of one `{"key":"z6Mk…","signature":"…"}` entry in JSON.
const SIGNATURE_ENTRY_BYTES: usize = 150;
/// Most signatures one operation may carry.
pub const MAX_SIGNATURES: usize = 32;

/// The class of a rejection: small and `Copy`, for matching and metrics. The full reason is
/// in [`OpError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectKind {
    Malformed,
    TooLarge,
    WrongChain,
    BadSignature,
    BadSequence,
    Unauthorized,
    MissingEndorsement,
    NotFound,
    AlreadyExists,
    Deactivated,
    InvalidDocument,
    Governance,
    /// The node cannot take the operation now (mempool full, storage failure): retry.
    Unavailable,
}

impl RejectKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::TooLarge => "too_large",
            Self::WrongChain => "wrong_chain",
            Self::BadSignature => "bad_signature",
            Self::BadSequence => "bad_sequence",
            Self::Unauthorized => "unauthorized",
            Self::MissingEndorsement => "missing_endorsement",
            Self::NotFound => "not_found",
            Self::AlreadyExists => "already_exists",
            Self::Deactivated => "deactivated",
            Self::InvalidDocument => "invalid_document",
            Self::Governance => "governance",
            Self::Unavailable => "unavailable",
        }
    }
}

impl fmt::Display for RejectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an operation was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct OpError {
    pub kind: RejectKind,
    pub message: String,
}

impl OpError {
    pub fn new(kind: RejectKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// What an operation does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum OperationBody {
    /// Register a new DID. Signed by `initialKey` and endorsed by a member registrar.
    CreateDid {
        did: Did,
        document: DidDocument,
        initial_key: PublicKey,
        recovery_commitment: Hash,
    },
    /// Replace the document (key rotation, services). Signed by a `capabilityInvocation` key.
    UpdateDid { did: Did, document: DidDocument },
    /// Deactivate for good. Reveals and is signed by the recovery key committed before.
    DeactivateDid { did: Did, recovery_key: PublicKey },
    /// Take control back after a key loss: reveals the recovery key committed before.
    RecoverDid {
        did: Did,
        recovery_key: PublicKey,
        document: DidDocument,
        next_recovery_commitment: Hash,
    },
    /// A root authority accredits an issuer for credential types (EBSI trusted-issuer model).
    AccreditIssuer {
        issuer: Did,
        credential_types: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        valid_until_ms: Option<u64>,
    },
    /// A root authority withdraws an issuer's accreditation.
    WithdrawAccreditation { issuer: Did, reason: String },
    /// An issuer anchors the hash of its latest status list.
    AnchorStatusList {
        issuer: Did,
        list_id: String,
        list_hash: Hash,
    },
    /// Governance changes the validator set (needs the governance threshold of authorities).
    ChangeValidators { validators: ValidatorSet },
    /// Governance replaces the root authorities and the threshold (needs the current
    /// threshold of current authorities).
    ChangeGovernance {
        authorities: Vec<crate::state::Authority>,
        threshold: u32,
    },
}

impl OperationBody {
    pub fn name(&self) -> &'static str {
        match self {
            Self::CreateDid { .. } => "createDid",
            Self::UpdateDid { .. } => "updateDid",
            Self::DeactivateDid { .. } => "deactivateDid",
            Self::RecoverDid { .. } => "recoverDid",
            Self::AccreditIssuer { .. } => "accreditIssuer",
            Self::WithdrawAccreditation { .. } => "withdrawAccreditation",
            Self::AnchorStatusList { .. } => "anchorStatusList",
            Self::ChangeValidators { .. } => "changeValidators",
            Self::ChangeGovernance { .. } => "changeGovernance",
        }
    }
}

/// An unsigned operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Operation {
    pub chain_id: ChainId,
    /// The next sequence number of the record this operation changes (0 for a new record).
    pub sequence: u64,
    pub body: OperationBody,
}

impl Operation {
    /// The creation of a DID controlled by one key (authentication, assertion and registry
    /// updates), with its recovery key committed by `recovery_commitment`. Returns the DID
    /// and the operation, to be signed by `key` and a member registrar's key.
    pub fn create_single_key(
        chain_id: &ChainId,
        key: &PublicKey,
        recovery_commitment: Hash,
    ) -> (Did, Operation) {
        let did = Did::derive(chain_id, key, &recovery_commitment.0);
        let document = DidDocument::with_single_key(&did, key);
        let op = Operation {
            chain_id: chain_id.clone(),
            sequence: 0,
            body: OperationBody::CreateDid {
                did: did.clone(),
                document,
                initial_key: *key,
                recovery_commitment,
            },
        };
        (did, op)
    }

    /// Tag ‖ JCS(operation).
    pub fn signing_bytes(&self) -> Vec<u8> {
        signing_bytes_of(&self.canonical())
    }

    /// JCS(operation): the canonical JSON that is signed (after the tag) and that blocks carry.
    pub fn canonical(&self) -> Vec<u8> {
        // JCS of this plain data (string keys, integers below 2^53) cannot fail.
        jcs(self).unwrap_or_default()
    }

    /// Signs with each key, in order.
    pub fn sign(self, keys: &[&SecretKey]) -> SignedOperation {
        let bytes = self.signing_bytes();
        let signatures = keys
            .iter()
            .map(|k| OpSignature {
                key: k.public_key(),
                signature: k.sign(&bytes),
            })
            .collect();
        SignedOperation::new(self, signatures)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpSignature {
    pub key: PublicKey,
    pub signature: Signature,
}

/// An operation with its signatures, as submitted and as carried in blocks.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignedOperation {
    pub operation: Operation,
    pub signatures: Vec<OpSignature>,
    /// The id, computed once (the operation's fields are public: code that changes them
    /// after computing the id must build a new value).
    #[serde(skip)]
    id_cache: std::sync::OnceLock<Hash>,
    /// The canonical JSON of `operation`, computed once or as received in a binary block
    /// (then [`SignedOperation::check`] refuses it unless it is canonical).
    #[serde(skip)]
    canonical_cache: std::sync::OnceLock<Arc<[u8]>>,
    /// Whether `canonical_cache` holds bytes received from elsewhere (not computed here).
    #[serde(skip)]
    received: bool,
}

/// Tag ‖ `canonical`.
fn signing_bytes_of(canonical: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(TAG_OP.len() + 1 + canonical.len());
    out.extend_from_slice(TAG_OP.as_bytes());
    out.push(0);
    out.extend_from_slice(canonical);
    out
}

/// The id of the operation whose canonical JSON is `canonical`.
pub fn operation_id(canonical: &[u8]) -> Hash {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(TAG_OP.as_bytes());
    h.update([0u8]);
    h.update(canonical);
    Hash(h.finalize().into())
}

impl PartialEq for SignedOperation {
    fn eq(&self, other: &Self) -> bool {
        self.operation == other.operation && self.signatures == other.signatures
    }
}
impl Eq for SignedOperation {}

/// Largest integer accepted in an operation: every number stays exact in JSON (RFC 8785
/// serializes numbers as IEEE doubles).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

impl SignedOperation {
    pub fn new(operation: Operation, signatures: Vec<OpSignature>) -> Self {
        Self {
            operation,
            signatures,
            id_cache: std::sync::OnceLock::new(),
            canonical_cache: std::sync::OnceLock::new(),
            received: false,
        }
    }

    /// An operation as carried in a binary block: its canonical JSON and its signatures.
    /// Only parsed here; [`SignedOperation::check`] verifies that the bytes are canonical.
    pub fn from_canonical(canonical: &[u8], signatures: Vec<OpSignature>) -> Result<Self, OpError> {
        if canonical.len() > MAX_OPERATION_BYTES {
            return Err(OpError::new(
                RejectKind::TooLarge,
                format!(
                    "operation is {} bytes; at most {MAX_OPERATION_BYTES}",
                    canonical.len()
                ),
            ));
        }
        let operation: Operation = serde_json::from_slice(canonical)
            .map_err(|e| OpError::new(RejectKind::Malformed, e.to_string()))?;
        let mut op = Self::new(operation, signatures);
        op.received = true;
        let _ = op.id_cache.set(operation_id(canonical));
        let _ = op.canonical_cache.set(Arc::from(canonical));
        Ok(op)
    }

    /// The canonical JSON of the operation (computed once).
    pub fn canonical(&self) -> &[u8] {
        self.canonical_cache
            .get_or_init(|| Arc::from(self.operation.canonical()))
    }

    /// SHA-256 of the signing bytes (signatures excluded, so the id is not malleable).
    pub fn id(&self) -> Hash {
        *self.id_cache.get_or_init(|| operation_id(self.canonical()))
    }

    /// Parses a submitted operation, bounding its size first.
    pub fn from_json(bytes: &[u8]) -> Result<Self, OpError> {
        if bytes.len() > MAX_OPERATION_BYTES {
            return Err(OpError::new(
                RejectKind::TooLarge,
                format!(
                    "operation is {} bytes; at most {MAX_OPERATION_BYTES}",
                    bytes.len()
                ),
            ));
        }
        serde_json::from_slice(bytes)
            .map_err(|e| OpError::new(RejectKind::Malformed, e.to_string()))
    }

    /// Stateless checks: chain id, size, and every signature valid over the signing bytes.
    /// Whether the signers are *authorized* depends on state and is checked at execution.
    ///
    /// To check many operations, [`check_all`] gives the same verdicts faster.
    pub fn check(self, chain_id: &ChainId) -> Result<CheckedOperation, OpError> {
        let prepared = self.prepare(chain_id)?;
        prepared.verify_each()?;
        Ok(prepared.finish())
    }

    /// Every check of [`SignedOperation::check`] but the signature equations.
    fn prepare(self, chain_id: &ChainId) -> Result<Prepared, OpError> {
        if &self.operation.chain_id != chain_id {
            return Err(OpError::new(
                RejectKind::WrongChain,
                format!(
                    "operation is for chain {}, this is {chain_id}",
                    self.operation.chain_id
                ),
            ));
        }
        if self.signatures.is_empty() {
            return Err(OpError::new(
                RejectKind::BadSignature,
                "operation is not signed",
            ));
        }
        let too_big = |n: u64| n > MAX_SAFE_INTEGER;
        let numbers_ok = !too_big(self.operation.sequence)
            && match &self.operation.body {
                OperationBody::AccreditIssuer { valid_until_ms, .. } => {
                    !valid_until_ms.is_some_and(too_big)
                }
                _ => true,
            };
        if !numbers_ok {
            return Err(OpError::new(
                RejectKind::Malformed,
                "numbers must be below 2^53",
            ));
        }
        if self.signatures.len() > MAX_SIGNATURES {
            return Err(OpError::new(
                RejectKind::TooLarge,
                format!("more than {MAX_SIGNATURES} signatures"),
            ));
        }
        let canonical = self.operation.canonical();
        if self.received
            && let Some(received) = self.canonical_cache.get()
            && **received != *canonical
        {
            return Err(OpError::new(
                RejectKind::Malformed,
                "operation bytes are not its canonical JSON (RFC 8785)",
            ));
        }
        let bytes = signing_bytes_of(&canonical);
        // The canonical form plus each signature entry (key, signature, JSON punctuation):
        // the operation's size as submitted, without serializing it again.
        let size = bytes.len() + self.signatures.len() * SIGNATURE_ENTRY_BYTES;
        if size > MAX_OPERATION_BYTES {
            return Err(OpError::new(
                RejectKind::TooLarge,
                format!("operation is about {size} bytes; at most {MAX_OPERATION_BYTES}"),
            ));
        }
        // Recompute: the fields may have changed since an id was cached.
        let id = operation_id(&canonical);
        for (i, s) in self.signatures.iter().enumerate() {
            if self.signatures[..i].iter().any(|o| o.key == s.key) {
                return Err(OpError::new(
                    RejectKind::BadSignature,
                    format!("key {} signed twice", s.key),
                ));
            }
        }
        let op = SignedOperation::new(self.operation, self.signatures);
        let _ = op.id_cache.set(id);
        let _ = op.canonical_cache.set(Arc::from(canonical));
        Ok(Prepared { op, bytes, id })
    }

    pub fn signed_by(&self, key: &PublicKey) -> bool {
        self.signatures.iter().any(|s| &s.key == key)
    }
}

/// A [`SignedOperation`] whose signatures and chain id have been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedOperation {
    /// Shared: a node holds each checked operation in several places at once (its mempool,
    /// the proposal it validates, the block it builds), and copies are only counted.
    op: Arc<SignedOperation>,
    id: Hash,
}

impl CheckedOperation {
    pub fn id(&self) -> Hash {
        self.id
    }
    pub fn signed(&self) -> &SignedOperation {
        &self.op
    }
    pub fn operation(&self) -> &Operation {
        &self.op.operation
    }
    pub fn into_inner(self) -> SignedOperation {
        Arc::unwrap_or_clone(self.op)
    }
}

/// An operation that passed every stateless check except its signature equations.
struct Prepared {
    /// A new value built from the checked fields, its id and canonical JSON already set
    /// from them (so nothing downstream serializes it again).
    op: SignedOperation,
    /// What its signatures sign.
    bytes: Vec<u8>,
    id: Hash,
}

impl Prepared {
    /// Checks each signature alone; the first that fails is the reason.
    fn verify_each(&self) -> Result<(), OpError> {
        for s in &self.op.signatures {
            s.key.verify(&self.bytes, &s.signature).map_err(|_| {
                OpError::new(
                    RejectKind::BadSignature,
                    format!("signature by {} does not verify", s.key),
                )
            })?;
        }
        Ok(())
    }

    fn finish(self) -> CheckedOperation {
        CheckedOperation {
            op: Arc::new(self.op),
            id: self.id,
        }
    }
}

/// [`SignedOperation::check`] on each of `ops`, with the same verdicts in the same order,
/// but with their signatures verified together in one batch ([`BatchVerifier`]), which
/// costs about 60 % of checking them one by one. When the batch fails (some signature is
/// bad), each operation is checked alone to find which: a batch with a bad signature costs
/// about 1.6 times the one-by-one checks, so a flood of forgeries gains nothing.
pub fn check_all(
    ops: Vec<SignedOperation>,
    chain_id: &ChainId,
) -> Vec<Result<CheckedOperation, OpError>> {
    check_all_except(ops, chain_id, |_| false)
        .into_iter()
        .map(|r| match r? {
            Screened::Checked(c) => Ok(c),
            // `known` never says yes here.
            Screened::Known(op) => op.check(chain_id),
        })
        .collect()
}

/// What [`check_all_except`] gives for one operation.
// Lives in one short-lived vector per request; boxing `Known` would cost an allocation per
// operation and save nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Screened {
    /// Every stateless check passed, signatures included.
    Checked(CheckedOperation),
    /// Its stateless checks but the signatures passed, and `known` recognised it: its
    /// signatures were not verified. Its id and canonical JSON are computed.
    Known(SignedOperation),
}

/// [`check_all`] for a node's admission: an operation that `known` recognises (by its id,
/// computed here once along with its canonical JSON) is not verified again.
pub fn check_all_except(
    ops: Vec<SignedOperation>,
    chain_id: &ChainId,
    known: impl Fn(&SignedOperation) -> bool,
) -> Vec<Result<Screened, OpError>> {
    let prepared: Vec<Result<Prepared, OpError>> =
        ops.into_iter().map(|op| op.prepare(chain_id)).collect();
    let skip: Vec<bool> = prepared
        .iter()
        .map(|p| p.as_ref().is_ok_and(|p| known(&p.op)))
        .collect();
    let mut batch = BatchVerifier::new();
    // Operations with a key that is invalid or weak are left out of the batch: the check
    // alone gives their reason.
    let mut in_batch = Vec::with_capacity(prepared.len());
    for (p, skip) in prepared.iter().zip(&skip) {
        let queued = match p {
            _ if *skip => false,
            Ok(p) if p.op.signatures.iter().all(|s| s.key.validate().is_ok()) => {
                p.op.signatures
                    .iter()
                    .all(|s| batch.queue(&s.key, &p.bytes, &s.signature).is_ok())
            }
            _ => false,
        };
        in_batch.push(queued);
    }
    let batch_ok = !batch.is_empty() && batch.verify().is_ok();
    prepared
        .into_iter()
        .zip(in_batch)
        .zip(skip)
        .map(|((p, queued), skip)| {
            let p = p?;
            if skip {
                return Ok(Screened::Known(p.op));
            }
            if !(queued && batch_ok) {
                p.verify_each()?;
            }
            Ok(Screened::Checked(p.finish()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> ChainId {
        ChainId::new("test-chain").unwrap()
    }

    fn sample(sk: &SecretKey) -> SignedOperation {
        let did = Did::derive(&chain(), &sk.public_key(), &[0; 32]);
        Operation {
            chain_id: chain(),
            sequence: 1,
            body: OperationBody::DeactivateDid {
                did,
                recovery_key: sk.public_key(),
            },
        }
        .sign(&[sk])
    }

    #[test]
    fn checking_many_at_once_gives_each_the_verdict_it_gets_alone() {
        let good: Vec<SignedOperation> = (1..=6)
            .map(|i| sample(&SecretKey::from_seed(&[i; 32])))
            .collect();
        let mut forged = sample(&SecretKey::from_seed(&[20; 32]));
        forged.signatures[0].signature = good[0].signatures[0].signature;
        let mut other_chain = sample(&SecretKey::from_seed(&[21; 32]));
        other_chain.operation.chain_id = ChainId::new("other-chain").unwrap();
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut weak = sample(&SecretKey::from_seed(&[22; 32]));
        weak.signatures[0].key = PublicKey::from_bytes(&identity).unwrap();
        let mixed = vec![
            good[0].clone(),
            forged,
            good[1].clone(),
            other_chain,
            weak,
            good[2].clone(),
        ];
        let verdicts = |ops: Vec<SignedOperation>| -> (Vec<_>, Vec<_>) {
            let alone: Vec<_> = ops
                .iter()
                .cloned()
                .map(|o| o.check(&chain()).map(|c| c.id()))
                .collect();
            let together = check_all(ops, &chain())
                .into_iter()
                .map(|r| r.map(|c| c.id()));
            (alone, together.collect())
        };
        let (alone, together) = verdicts(mixed);
        assert_eq!(alone, together);
        let kinds: Vec<_> = together
            .iter()
            .map(|r| r.as_ref().err().map(|e| e.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                None,
                Some(RejectKind::BadSignature),
                None,
                Some(RejectKind::WrongChain),
                Some(RejectKind::BadSignature),
                None
            ]
        );
        // When all are good the batch answers for all of them.
        let (alone, together) = verdicts(good.clone());
        assert_eq!(alone, together);
        assert!(together.iter().all(|r| r.is_ok()));
        assert!(check_all(vec![], &chain()).is_empty());
    }

    #[test]
    fn known_operations_are_not_verified_again_and_the_rest_are_checked() {
        let good: Vec<SignedOperation> = (1..=3)
            .map(|i| sample(&SecretKey::from_seed(&[i; 32])))
            .collect();
        let known_id = good[1].id();
        let mut forged = sample(&SecretKey::from_seed(&[20; 32]));
        forged.signatures[0].signature = good[0].signatures[0].signature;
        let mut other_chain = good[2].clone();
        other_chain.operation.chain_id = ChainId::new("other-chain").unwrap();
        // A known operation whose fields were changed after its id was taken is another
        // operation: checked, never waved through on the stale id.
        let mut changed = good[1].clone();
        let _ = changed.id();
        changed.operation.sequence += 1;
        let ops = vec![
            good[0].clone(),
            good[1].clone(),
            forged,
            other_chain,
            changed,
        ];
        let out = check_all_except(ops, &chain(), |op| op.id() == known_id);
        assert!(matches!(&out[0], Ok(Screened::Checked(c)) if c.id() == good[0].id()));
        assert!(matches!(&out[1], Ok(Screened::Known(op)) if op.id() == known_id));
        assert!(matches!(&out[2], Err(e) if e.kind == RejectKind::BadSignature));
        assert!(matches!(&out[3], Err(e) if e.kind == RejectKind::WrongChain));
        assert!(matches!(&out[4], Err(e) if e.kind == RejectKind::BadSignature));
    }

    #[test]
    fn check_accepts_valid_and_id_ignores_signatures() {
        let sk = SecretKey::from_seed(&[1; 32]);
        let op = sample(&sk);
        let id = op.id();
        let checked = op.clone().check(&chain()).unwrap();
        assert_eq!(checked.id(), id);
        let unsigned = SignedOperation::new(op.operation.clone(), vec![]);
        assert_eq!(unsigned.id(), id);
        assert_eq!(
            unsigned.check(&chain()).unwrap_err().kind,
            RejectKind::BadSignature
        );
    }

    #[test]
    fn check_rejects_tampering_wrong_chain_and_duplicates() {
        let sk = SecretKey::from_seed(&[1; 32]);
        let mut op = sample(&sk);
        op.operation.sequence = 2;
        assert_eq!(
            op.check(&chain()).unwrap_err().kind,
            RejectKind::BadSignature
        );
        let op = sample(&sk);
        assert_eq!(
            op.check(&ChainId::new("other").unwrap()).unwrap_err().kind,
            RejectKind::WrongChain
        );
        let mut op = sample(&sk);
        op.signatures.push(op.signatures[0].clone());
        assert_eq!(
            op.check(&chain()).unwrap_err().kind,
            RejectKind::BadSignature
        );
    }

    #[test]
    fn json_shape_and_parse_limits() {
        let sk = SecretKey::from_seed(&[1; 32]);
        let op = sample(&sk);
        let json = serde_json::to_value(&op).unwrap();
        assert_eq!(json["operation"]["body"]["type"], "deactivateDid");
        assert_eq!(json["operation"]["chainId"], "test-chain");
        let bytes = serde_json::to_vec(&op).unwrap();
        assert_eq!(SignedOperation::from_json(&bytes).unwrap(), op);
        assert_eq!(
            SignedOperation::from_json(b"{not json").unwrap_err().kind,
            RejectKind::Malformed
        );
        let big = vec![b' '; MAX_OPERATION_BYTES + 1];
        assert_eq!(
            SignedOperation::from_json(&big).unwrap_err().kind,
            RejectKind::TooLarge
        );
        let mut extra = json.clone();
        extra["operation"]["extra"] = serde_json::json!(1);
        assert!(SignedOperation::from_json(&serde_json::to_vec(&extra).unwrap()).is_err());
    }
}
