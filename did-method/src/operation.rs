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
    /// A root authority registers a business as a relying party: the claims of the credential
    /// types it may ask holders for (replaces any earlier registration).
    AccreditRelyingParty {
        relying_party: Did,
        scopes: Vec<crate::state::RelyingPartyScope>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        valid_until_ms: Option<u64>,
    },
    /// A root authority withdraws a relying party's registration.
    WithdrawRelyingParty { relying_party: Did, reason: String },
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
            Self::AccreditRelyingParty { .. } => "accreditRelyingParty",
            Self::WithdrawRelyingParty { .. } => "withdrawRelyingParty",
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
    relying_party: Option<Did>,
    #[serde(default, deserialize_with = "present")]
    scopes: Option<Vec<crate::state::RelyingPartyScope>>,
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
    "accreditRelyingParty",
    "withdrawRelyingParty",
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
            ("relyingParty", self.relying_party.is_some()),
            ("scopes", self.scopes.is_some()),
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
            "accreditRelyingParty" => &["relyingParty", "scopes", "validUntilMs"],
            "withdrawRelyingParty" => &["relyingParty", "reason"],
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
            "accreditRelyingParty" => OperationBody::AccreditRelyingParty {
                relying_party: need(self.relying_party, "relyingParty")?,
                scopes: need(self.scopes, "scopes")?,
                valid_until_ms: self.valid_until_ms.flatten(),
            },
            "withdrawRelyingParty" => OperationBody::WithdrawRelyingParty {
                relying_party: need(self.relying_party, "relyingParty")?,
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
                OperationBody::AccreditIssuer { valid_until_ms, .. }
                | OperationBody::AccreditRelyingParty { valid_until_ms, .. } => {
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
mod tests;
