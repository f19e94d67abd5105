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
use crate::document::{DidDocument, DocumentError};
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

/// What an operation does. Written with its variant's name in `type`; read by
/// [`BodyFields`] (the same acceptance as serde's internally tagged form, in one pass).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
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

/// Every member any [`OperationBody`] has, each kept only when present (a `null` is a
/// present value, which each member's type accepts or not). serde's internally tagged
/// enums first buffer the whole object, because `type` may come last (and in canonical
/// JSON it does): that buffering was most of the cost of reading an operation, which every
/// validator does for every operation. Here each member is read straight into its type,
/// then [`BodyFields::into_body`] takes the variant `type` names, refusing a member it
/// does not have, as `deny_unknown_fields` did.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BodyFields {
    #[serde(rename = "type", default, deserialize_with = "present")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "present")]
    did: Option<Did>,
    #[serde(default, deserialize_with = "present")]
    document: Option<DidDocument>,
    #[serde(default, deserialize_with = "present")]
    initial_key: Option<PublicKey>,
    #[serde(default, deserialize_with = "present")]
    recovery_commitment: Option<Hash>,
    #[serde(default, deserialize_with = "present")]
    recovery_key: Option<PublicKey>,
    #[serde(default, deserialize_with = "present")]
    next_recovery_commitment: Option<Hash>,
    #[serde(default, deserialize_with = "present")]
    issuer: Option<Did>,
    #[serde(default, deserialize_with = "present")]
    credential_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    valid_until_ms: Option<Option<u64>>,
    #[serde(default, deserialize_with = "present")]
    reason: Option<String>,
    #[serde(default, deserialize_with = "present")]
    list_id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    list_hash: Option<Hash>,
    #[serde(default, deserialize_with = "present")]
    validators: Option<ValidatorSet>,
    #[serde(default, deserialize_with = "present")]
    authorities: Option<Vec<crate::state::Authority>>,
    #[serde(default, deserialize_with = "present")]
    threshold: Option<u32>,
}

/// A member that is there, whatever its value (`None` only when absent).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

const BODY_VARIANTS: &[&str] = &[
    "createDid",
    "updateDid",
    "deactivateDid",
    "recoverDid",
    "accreditIssuer",
    "withdrawAccreditation",
    "anchorStatusList",
    "changeValidators",
    "changeGovernance",
];

impl BodyFields {
    fn into_body<E: serde::de::Error>(self) -> Result<OperationBody, E> {
        let Some(kind) = self.kind.as_deref() else {
            return Err(E::missing_field("type"));
        };
        // The members present, by name, each to be taken by the variant.
        let present = [
            ("did", self.did.is_some()),
            ("document", self.document.is_some()),
            ("initialKey", self.initial_key.is_some()),
            ("recoveryCommitment", self.recovery_commitment.is_some()),
            ("recoveryKey", self.recovery_key.is_some()),
            (
                "nextRecoveryCommitment",
                self.next_recovery_commitment.is_some(),
            ),
            ("issuer", self.issuer.is_some()),
            ("credentialTypes", self.credential_types.is_some()),
            ("validUntilMs", self.valid_until_ms.is_some()),
            ("reason", self.reason.is_some()),
            ("listId", self.list_id.is_some()),
            ("listHash", self.list_hash.is_some()),
            ("validators", self.validators.is_some()),
            ("authorities", self.authorities.is_some()),
            ("threshold", self.threshold.is_some()),
        ];
        let members: &'static [&'static str] = match kind {
            "createDid" => &["did", "document", "initialKey", "recoveryCommitment"],
            "updateDid" => &["did", "document"],
            "deactivateDid" => &["did", "recoveryKey"],
            "recoverDid" => &["did", "recoveryKey", "document", "nextRecoveryCommitment"],
            "accreditIssuer" => &["issuer", "credentialTypes", "validUntilMs"],
            "withdrawAccreditation" => &["issuer", "reason"],
            "anchorStatusList" => &["issuer", "listId", "listHash"],
            "changeValidators" => &["validators"],
            "changeGovernance" => &["authorities", "threshold"],
            other => return Err(E::unknown_variant(other, BODY_VARIANTS)),
        };
        if let Some((name, _)) = present
            .iter()
            .find(|(name, there)| *there && !members.contains(name))
        {
            return Err(E::unknown_field(name, members));
        }
        fn need<T, E: serde::de::Error>(v: Option<T>, name: &'static str) -> Result<T, E> {
            v.ok_or_else(|| E::missing_field(name))
        }
        Ok(match kind {
            "createDid" => OperationBody::CreateDid {
                did: need(self.did, "did")?,
                document: need(self.document, "document")?,
                initial_key: need(self.initial_key, "initialKey")?,
                recovery_commitment: need(self.recovery_commitment, "recoveryCommitment")?,
            },
            "updateDid" => OperationBody::UpdateDid {
                did: need(self.did, "did")?,
                document: need(self.document, "document")?,
            },
            "deactivateDid" => OperationBody::DeactivateDid {
                did: need(self.did, "did")?,
                recovery_key: need(self.recovery_key, "recoveryKey")?,
            },
            "recoverDid" => OperationBody::RecoverDid {
                did: need(self.did, "did")?,
                recovery_key: need(self.recovery_key, "recoveryKey")?,
                document: need(self.document, "document")?,
                next_recovery_commitment: need(
                    self.next_recovery_commitment,
                    "nextRecoveryCommitment",
                )?,
            },
            "accreditIssuer" => OperationBody::AccreditIssuer {
                issuer: need(self.issuer, "issuer")?,
                credential_types: need(self.credential_types, "credentialTypes")?,
                valid_until_ms: self.valid_until_ms.flatten(),
            },
            "withdrawAccreditation" => OperationBody::WithdrawAccreditation {
                issuer: need(self.issuer, "issuer")?,
                reason: need(self.reason, "reason")?,
            },
            "anchorStatusList" => OperationBody::AnchorStatusList {
                issuer: need(self.issuer, "issuer")?,
                list_id: need(self.list_id, "listId")?,
                list_hash: need(self.list_hash, "listHash")?,
            },
            "changeValidators" => OperationBody::ChangeValidators {
                validators: need(self.validators, "validators")?,
            },
            _ => OperationBody::ChangeGovernance {
                authorities: need(self.authorities, "authorities")?,
                threshold: need(self.threshold, "threshold")?,
            },
        })
    }
}

impl DocumentFacts {
    /// The facts about the document `op` carries, worked out now; `None` when it carries
    /// none.
    fn of(op: &Operation) -> Option<Self> {
        let (_, document) = document_of(&op.body)?;
        Some(DocumentFacts {
            canonical: jcs(document).ok().map(Arc::from),
            check: std::sync::OnceLock::new(),
        })
    }
}

impl<'de> Deserialize<'de> for OperationBody {
    /// An object only. (serde's tagged form also read `[type, members in declaration
    /// order…]`, a form no client writes and no specification names; it is refused.)
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Body;
        impl<'de> serde::de::Visitor<'de> for Body {
            type Value = OperationBody;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an operation body (an object with its type)")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<OperationBody, A::Error> {
                BodyFields::deserialize(serde::de::value::MapAccessDeserializer::new(map))?
                    .into_body()
            }
        }
        d.deserialize_map(Body)
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

    /// [`Operation::canonical`], given the canonical JSON of the document a create carries
    /// (which a node works out anyway, for the DID's record): the create's other members
    /// are four short strings and an integer, written here in RFC 8785's order around it,
    /// so the document is canonicalized once per operation instead of twice. Anything else
    /// is canonicalized whole.
    fn canonical_around(&self, document_jcs: Option<&[u8]>) -> Vec<u8> {
        let spliced = match (&self.body, document_jcs) {
            (
                OperationBody::CreateDid {
                    did,
                    initial_key,
                    recovery_commitment,
                    ..
                },
                Some(document),
            ) if self.sequence <= MAX_SAFE_INTEGER => (|| {
                let (did, key, commitment, chain) = (
                    jcs(did).ok()?,
                    jcs(initial_key).ok()?,
                    jcs(recovery_commitment).ok()?,
                    jcs(&self.chain_id).ok()?,
                );
                let sequence = self.sequence.to_string();
                let mut out = Vec::with_capacity(document.len() + 320);
                for piece in [
                    &b"{\"body\":{\"did\":"[..],
                    &did,
                    b",\"document\":",
                    document,
                    b",\"initialKey\":",
                    &key,
                    b",\"recoveryCommitment\":",
                    &commitment,
                    b",\"type\":\"createDid\"},\"chainId\":",
                    &chain,
                    b",\"sequence\":",
                    sequence.as_bytes(),
                    b"}",
                ] {
                    out.extend_from_slice(piece);
                }
                Some(out)
            })(),
            _ => None,
        };
        spliced.unwrap_or_else(|| self.canonical())
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
    /// What execution needs of the document the operation carries, worked out once.
    #[serde(skip)]
    document_cache: std::sync::OnceLock<DocumentFacts>,
}

/// The document an operation carries (create, update, recover), as execution needs it:
/// its canonical JSON (what the operation's own canonical JSON and the DID's record embed),
/// and whether it is valid for the DID the operation names ([`DidDocument::validate`]).
/// Pure functions of the operation, worked out once per operation: a node executes each
/// operation several times (at admission, then in the block it builds or checks).
#[derive(Clone, Debug)]
pub struct DocumentFacts {
    /// The document's canonical JSON (RFC 8785).
    pub canonical: Option<Arc<[u8]>>,
    /// The document's check, made when execution first asks
    /// ([`SignedOperation::document_check`]): after the signatures verified, so a forged
    /// operation costs no key decompressions for the keys its document lists.
    check: std::sync::OnceLock<Result<(), DocumentError>>,
}

/// The DID an operation's document is for, and the document; `None` when it carries none.
fn document_of(body: &OperationBody) -> Option<(&Did, &DidDocument)> {
    match body {
        OperationBody::CreateDid { did, document, .. }
        | OperationBody::UpdateDid { did, document }
        | OperationBody::RecoverDid { did, document, .. } => Some((did, document)),
        _ => None,
    }
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
            document_cache: std::sync::OnceLock::new(),
        }
    }

    /// The facts about the document this operation carries, `None` for an operation that
    /// carries none. Like the id, computed once: an operation's fields must not change
    /// after (build a new value instead).
    pub fn document_facts(&self) -> Option<&DocumentFacts> {
        if let Some(facts) = self.document_cache.get() {
            return Some(facts);
        }
        let facts = DocumentFacts::of(&self.operation)?;
        Some(self.document_cache.get_or_init(|| facts))
    }

    /// Whether the document this operation carries is valid for its DID (`Err` holds the
    /// reason), checked once, when first asked; `None` for an operation that carries none.
    pub fn document_check(&self) -> Option<&Result<(), DocumentError>> {
        let facts = self.document_facts()?;
        let (did, document) = document_of(&self.operation.body)?;
        Some(facts.check.get_or_init(|| document.validate(did)))
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
        // The document's facts, worked out afresh (the fields may have changed since any
        // were remembered), are kept with the checked operation for its executions.
        let facts = DocumentFacts::of(&self.operation);
        let canonical = self
            .operation
            .canonical_around(facts.as_ref().and_then(|f| f.canonical.as_deref()));
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
        if let Some(facts) = facts {
            let _ = op.document_cache.set(facts);
        }
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
    // Operations with a key that is weak or known to be invalid are left out of the
    // batch: the check alone gives their reason (so it does for all, when a key that does
    // not decode fails the batch).
    let mut in_batch = Vec::with_capacity(prepared.len());
    for (p, skip) in prepared.iter().zip(&skip) {
        let queued = match p {
            _ if *skip => false,
            Ok(p) if p.op.signatures.iter().all(|s| s.key.screen().is_ok()) => {
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

    /// How operation bodies were read before [`BodyFields`]: serde's internally tagged enum.
    #[derive(Deserialize)]
    #[serde(
        tag = "type",
        rename_all = "camelCase",
        rename_all_fields = "camelCase",
        deny_unknown_fields
    )]
    enum TaggedBody {
        CreateDid {
            did: Did,
            document: DidDocument,
            initial_key: PublicKey,
            recovery_commitment: Hash,
        },
        UpdateDid {
            did: Did,
            document: DidDocument,
        },
        DeactivateDid {
            did: Did,
            recovery_key: PublicKey,
        },
        RecoverDid {
            did: Did,
            recovery_key: PublicKey,
            document: DidDocument,
            next_recovery_commitment: Hash,
        },
        AccreditIssuer {
            issuer: Did,
            credential_types: Vec<String>,
            #[serde(default)]
            valid_until_ms: Option<u64>,
        },
        WithdrawAccreditation {
            issuer: Did,
            reason: String,
        },
        AnchorStatusList {
            issuer: Did,
            list_id: String,
            list_hash: Hash,
        },
        ChangeValidators {
            validators: ValidatorSet,
        },
        ChangeGovernance {
            authorities: Vec<crate::state::Authority>,
            threshold: u32,
        },
    }

    impl TaggedBody {
        fn into_body(self) -> OperationBody {
            match self {
                Self::CreateDid {
                    did,
                    document,
                    initial_key,
                    recovery_commitment,
                } => OperationBody::CreateDid {
                    did,
                    document,
                    initial_key,
                    recovery_commitment,
                },
                Self::UpdateDid { did, document } => OperationBody::UpdateDid { did, document },
                Self::DeactivateDid { did, recovery_key } => {
                    OperationBody::DeactivateDid { did, recovery_key }
                }
                Self::RecoverDid {
                    did,
                    recovery_key,
                    document,
                    next_recovery_commitment,
                } => OperationBody::RecoverDid {
                    did,
                    recovery_key,
                    document,
                    next_recovery_commitment,
                },
                Self::AccreditIssuer {
                    issuer,
                    credential_types,
                    valid_until_ms,
                } => OperationBody::AccreditIssuer {
                    issuer,
                    credential_types,
                    valid_until_ms,
                },
                Self::WithdrawAccreditation { issuer, reason } => {
                    OperationBody::WithdrawAccreditation { issuer, reason }
                }
                Self::AnchorStatusList {
                    issuer,
                    list_id,
                    list_hash,
                } => OperationBody::AnchorStatusList {
                    issuer,
                    list_id,
                    list_hash,
                },
                Self::ChangeValidators { validators } => {
                    OperationBody::ChangeValidators { validators }
                }
                Self::ChangeGovernance {
                    authorities,
                    threshold,
                } => OperationBody::ChangeGovernance {
                    authorities,
                    threshold,
                },
            }
        }
    }

    #[test]
    fn a_create_written_around_its_documents_canonical_json_is_its_canonical_json() {
        use crate::document::Service;
        for i in 0..300u64 {
            let chain = ChainId::new(["alliance-devnet", "a", "net-2"][i as usize % 3]).unwrap();
            let key = SecretKey::from_seed(&[(i % 200) as u8 + 1; 32]).public_key();
            let (did, mut op) = Operation::create_single_key(&chain, &key, Hash([i as u8; 32]));
            let OperationBody::CreateDid { document, .. } = &mut op.body else {
                unreachable!()
            };
            for n in 0..i % 4 {
                document
                    .also_known_as
                    .push(format!("https://e.example/{n}?q=\"\\\u{7}é\u{1F600}"));
                document.service.push(Service {
                    id: format!("{did}#s{n}"),
                    type_: "LinkedDomains".into(),
                    service_endpoint: format!("https://{n}.example/\u{2028}"),
                });
            }
            op.sequence = match i % 5 {
                0 => MAX_SAFE_INTEGER,
                1 => MAX_SAFE_INTEGER + 1 + i,
                _ => i * 7_919,
            };
            let facts = DocumentFacts::of(&op).unwrap();
            assert_eq!(
                op.canonical_around(facts.canonical.as_deref()),
                op.canonical(),
                "{op:?}"
            );
            assert_eq!(op.canonical_around(None), op.canonical());
        }
        // Other operations are canonicalized whole, whatever is given.
        let key = SecretKey::from_seed(&[3; 32]);
        let deactivate = sample(&key).operation;
        assert_eq!(
            deactivate.canonical_around(Some(b"{}")),
            deactivate.canonical()
        );
    }

    #[test]
    fn bodies_are_read_as_the_internally_tagged_form_reads_them() {
        use serde_json::{Value, json};
        let sk = SecretKey::from_seed(&[4; 32]);
        let key = sk.public_key();
        let did = Did::derive(&chain(), &key, &[0; 32]);
        let document = DidDocument::with_single_key(&did, &key);
        let validators = ValidatorSet::new(vec![crate::chain::Validator {
            name: "m0".into(),
            public_key: key,
            power: 1,
            registrar_key: key,
            operator_did: None,
        }])
        .unwrap();
        let bodies = [
            OperationBody::CreateDid {
                did: did.clone(),
                document: document.clone(),
                initial_key: key,
                recovery_commitment: Hash([1; 32]),
            },
            OperationBody::UpdateDid {
                did: did.clone(),
                document: document.clone(),
            },
            OperationBody::DeactivateDid {
                did: did.clone(),
                recovery_key: key,
            },
            OperationBody::RecoverDid {
                did: did.clone(),
                recovery_key: key,
                document,
                next_recovery_commitment: Hash([2; 32]),
            },
            OperationBody::AccreditIssuer {
                issuer: did.clone(),
                credential_types: vec!["DriverLicense".into()],
                valid_until_ms: Some(5),
            },
            OperationBody::AccreditIssuer {
                issuer: did.clone(),
                credential_types: vec![],
                valid_until_ms: None,
            },
            OperationBody::WithdrawAccreditation {
                issuer: did.clone(),
                reason: "r".into(),
            },
            OperationBody::AnchorStatusList {
                issuer: did.clone(),
                list_id: "https://l.example/1".into(),
                list_hash: Hash([3; 32]),
            },
            OperationBody::ChangeValidators { validators },
            OperationBody::ChangeGovernance {
                authorities: vec![crate::state::Authority {
                    name: "root".into(),
                    public_key: key,
                    did: None,
                }],
                threshold: 1,
            },
        ];
        // Each member any body has, with a value of its type.
        let mut all = serde_json::Map::new();
        for b in &bodies {
            if let Value::Object(o) = serde_json::to_value(b).unwrap() {
                all.extend(o.into_iter().filter(|(k, _)| k != "type"));
            }
        }
        let judge = |text: &str| {
            let ours = serde_json::from_str::<OperationBody>(text);
            let theirs = serde_json::from_str::<TaggedBody>(text);
            assert_eq!(ours.is_ok(), theirs.is_ok(), "{text}: {ours:?}");
            let accepted = theirs.is_ok();
            if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
                assert_eq!(ours, theirs.into_body());
                let again: OperationBody =
                    serde_json::from_slice(&serde_json::to_vec(&ours).unwrap()).unwrap();
                assert_eq!(again, ours);
            }
            accepted
        };
        let mut accepted = 0;
        for body in &bodies {
            let Value::Object(o) = serde_json::to_value(body).unwrap() else {
                unreachable!()
            };
            let text = |m: &serde_json::Map<String, Value>| Value::Object(m.clone()).to_string();
            // As written (type first), in canonical order (type last), and as each is
            // written back.
            accepted += usize::from(judge(&text(&o)));
            let canonical = String::from_utf8(crate::jcs(&o).unwrap()).unwrap();
            accepted += usize::from(judge(&canonical));
            assert_eq!(
                serde_json::from_str::<OperationBody>(&canonical).unwrap(),
                *body
            );
            // Each member left out, set to null, or given another type's name.
            for k in o.keys() {
                let mut m = o.clone();
                m.remove(k);
                judge(&text(&m));
                let mut m = o.clone();
                m.insert(k.clone(), Value::Null);
                judge(&text(&m));
            }
            for kind in BODY_VARIANTS.iter().chain(&["nope", ""]) {
                let mut m = o.clone();
                m.insert("type".into(), json!(kind));
                judge(&text(&m));
            }
            let mut m = o.clone();
            m.insert("type".into(), json!(7));
            judge(&text(&m));
            // Every other body's members added, as values and as nulls; unknown names.
            for (k, v) in all.iter().chain([(&"evil".to_string(), &json!(true))]) {
                if o.contains_key(k) {
                    continue;
                }
                for v in [v.clone(), Value::Null] {
                    let mut m = o.clone();
                    m.insert(k.clone(), v);
                    judge(&text(&m));
                }
            }
            // A member twice, type twice.
            let t = text(&o);
            judge(&t.replacen('{', "{\"type\":\"createDid\",", 1));
            let first = o.keys().find(|k| *k != "type").unwrap();
            judge(&t.replacen('{', &format!("{{\"{first}\":{},", o[first]), 1));
        }
        assert_eq!(accepted, 2 * bodies.len());
        for text in ["{}", "[]", "null", "{\"type\":null}", "\"createDid\""] {
            judge(text);
        }
        // The array form serde's tagged enum also read is refused.
        for body in &bodies {
            let Value::Object(o) = serde_json::to_value(body).unwrap() else {
                unreachable!()
            };
            let mut items = vec![o["type"].clone()];
            items.extend(o.into_iter().filter(|(k, _)| k != "type").map(|(_, v)| v));
            let text = Value::Array(items).to_string();
            let err = serde_json::from_str::<OperationBody>(&text).unwrap_err();
            assert!(err.to_string().contains("an operation body"), "{err}");
        }
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
