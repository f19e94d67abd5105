//! The registry's state: its keys, its records, and the pure state transition that applies a
//! checked operation to it.
//!
//! State is a map from text keys to JCS-encoded JSON records; the node keeps it in a
//! versioned Merkle tree (one version per block) and this module never touches storage: it
//! reads and writes through [`StateAccess`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::chain::{ChainId, Hash, ValidatorSet};
use crate::crypto::{PublicKey, sha256};
use crate::did::Did;
use crate::document::DidDocument;
use crate::encoding::jcs;
use crate::operation::{CheckedOperation, OpError, OperationBody, RejectKind, SignedOperation};

mod accreditation;

pub use accreditation::{
    ALL_CLAIMS, Accreditation, MAX_SCOPE_CLAIMS, RelyingPartyAccreditation, RelyingPartyScope,
    Withdrawal,
};

pub const KEY_VALIDATORS: &str = "gov/validators";
pub const KEY_GOVERNANCE: &str = "gov/authorities";
pub const KEY_META: &str = "meta/height";

pub const MAX_CREDENTIAL_TYPES: usize = 32;
pub const MAX_NAME_LEN: usize = 256;
pub const MAX_LIST_ID_LEN: usize = 512;

pub fn did_key(did: &Did) -> String {
    key_of("did/", did, None)
}
pub fn issuer_key(did: &Did) -> String {
    key_of("issuer/", did, None)
}
/// A relying party's registration (`verifier/<did>`).
pub fn relying_party_key(did: &Did) -> String {
    key_of("verifier/", did, None)
}
pub fn status_key(did: &Did, list_id: &str) -> String {
    key_of("status/", did, Some(list_id))
}

/// `prefix` + the DID + `/list_id`, written piece by piece (keys are built for every
/// lookup a verifier or the state machine makes, and `format!` costs more than the copy).
fn key_of(prefix: &str, did: &Did, list_id: Option<&str>) -> String {
    const SCHEME: &str = "did:alliance:";
    let (network, id) = (did.network().as_str(), did.id());
    let tail = list_id.map_or(0, |l| l.len() + 1);
    let mut key =
        String::with_capacity(prefix.len() + SCHEME.len() + network.len() + 1 + id.len() + tail);
    for piece in [prefix, SCHEME, network, ":", id] {
        key.push_str(piece);
    }
    if let Some(l) = list_id {
        key.push('/');
        key.push_str(l);
    }
    key
}

/// The commitment to a recovery key: SHA-256 of its 32 bytes.
pub fn recovery_commitment(key: &PublicKey) -> Hash {
    Hash(sha256(key.as_bytes()))
}

/// A DID's record (`did/<did>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DidRecord {
    pub document: DidDocument,
    /// Sequence number of the last operation applied (0 = created).
    pub sequence: u64,
    pub created_height: u64,
    pub created_ms: u64,
    pub updated_height: u64,
    pub updated_ms: u64,
    pub deactivated: bool,
    pub recovery_commitment: Hash,
}

/// The latest anchored status list of an issuer (`status/<did>/<listId>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusAnchor {
    pub issuer: Did,
    pub list_id: String,
    /// SHA-256 of the status list credential as served.
    pub list_hash: Hash,
    pub anchored_height: u64,
    pub anchored_ms: u64,
    pub sequence: u64,
}

/// A root authority of the network's governance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Authority {
    pub name: String,
    pub public_key: PublicKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub did: Option<String>,
}

/// Governance (`gov/authorities`): root authorities and how many must sign a validator-set
/// change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Governance {
    pub authorities: Vec<Authority>,
    pub threshold: u32,
    /// Sequence number of the last governance operation.
    pub sequence: u64,
}

/// Why a governance (genesis or a change) is not acceptable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GovernanceError {
    #[error("at most {MAX_AUTHORITIES} root authorities")]
    TooManyAuthorities,
    #[error("authority key of {name} appears twice")]
    DuplicateKey { name: String },
    #[error("governance needs at least one root authority")]
    NoAuthority,
    #[error("threshold {threshold} must be between 1 and {authorities}")]
    Threshold { threshold: u32, authorities: usize },
}

/// Most root authorities a governance names.
pub const MAX_AUTHORITIES: usize = 64;

impl Governance {
    pub fn validate(&self) -> Result<(), GovernanceError> {
        if self.authorities.len() > MAX_AUTHORITIES {
            return Err(GovernanceError::TooManyAuthorities);
        }
        for (i, a) in self.authorities.iter().enumerate() {
            if self.authorities[..i]
                .iter()
                .any(|b| b.public_key == a.public_key)
            {
                return Err(GovernanceError::DuplicateKey {
                    name: a.name.clone(),
                });
            }
        }
        if self.authorities.is_empty() {
            return Err(GovernanceError::NoAuthority);
        }
        if self.threshold == 0 || self.threshold as usize > self.authorities.len() {
            return Err(GovernanceError::Threshold {
                threshold: self.threshold,
                authorities: self.authorities.len(),
            });
        }
        Ok(())
    }
    pub fn authority(&self, key: &PublicKey) -> Option<&Authority> {
        self.authorities.iter().find(|a| &a.public_key == key)
    }
}

/// The last block applied (`meta/height`). Written every block, so every height has its own
/// state version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Meta {
    pub height: u64,
    pub time_ms: u64,
}

/// Read access to state.
pub trait StateView {
    fn get(&self, key: &str) -> Option<Vec<u8>>;
}

/// Read and write access to state.
pub trait StateAccess: StateView {
    fn put(&mut self, key: String, value: Vec<u8>);
}

/// Pending writes over a read-only view: what a block's execution produces.
pub struct Overlay<'a, V: StateView + ?Sized> {
    base: &'a V,
    writes: BTreeMap<String, Vec<u8>>,
}

impl<'a, V: StateView + ?Sized> Overlay<'a, V> {
    pub fn new(base: &'a V) -> Self {
        Self {
            base,
            writes: BTreeMap::new(),
        }
    }
    pub fn into_writes(self) -> BTreeMap<String, Vec<u8>> {
        self.writes
    }
    pub fn writes(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.writes
    }
}

impl<V: StateView + ?Sized> StateView for Overlay<'_, V> {
    fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.writes.get(key).cloned().or_else(|| self.base.get(key))
    }
}

impl<V: StateView + ?Sized> StateAccess for Overlay<'_, V> {
    fn put(&mut self, key: String, value: Vec<u8>) {
        self.writes.insert(key, value);
    }
}

/// Decodes a typed record from state.
pub fn read<T: for<'de> Deserialize<'de>>(
    view: &(impl StateView + ?Sized),
    key: &str,
) -> Result<Option<T>, OpError> {
    view.get(key)
        .map(|bytes| decode_record(key, &bytes))
        .transpose()
}

/// Decodes the stored value of `key`.
fn decode_record<T: for<'de> Deserialize<'de>>(key: &str, bytes: &[u8]) -> Result<T, OpError> {
    serde_json::from_slice(bytes).map_err(|e| {
        OpError::new(
            RejectKind::Malformed,
            format!("stored record {key} is corrupt: {e}"),
        )
    })
}

/// Encodes a record as stored (JCS).
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    jcs(value).unwrap_or_default()
}

fn write<T: Serialize>(state: &mut impl StateAccess, key: String, value: &T) {
    state.put(key, encode(value));
}

/// A DID record as it is written, its document borrowed (from the operation that brings
/// it, or from the record read before).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DidRecordView<'a> {
    document: &'a DidDocument,
    sequence: u64,
    created_height: u64,
    created_ms: u64,
    updated_height: u64,
    updated_ms: u64,
    deactivated: bool,
    recovery_commitment: Hash,
}

impl<'a> DidRecordView<'a> {
    /// `rec` with `document` in its place, at sequence `seq`, updated by the block `ctx`,
    /// its recovery key committed by `recovery_commitment`.
    fn replacing(
        rec: &DidRecord,
        document: &'a DidDocument,
        seq: u64,
        ctx: &BlockContext,
        recovery_commitment: Hash,
    ) -> Self {
        Self {
            document,
            sequence: seq,
            created_height: rec.created_height,
            created_ms: rec.created_ms,
            updated_height: ctx.height,
            updated_ms: ctx.time_ms,
            deactivated: rec.deactivated,
            recovery_commitment,
        }
    }

    /// [`encode`] of the [`DidRecord`] this view shows, given the canonical JSON of its
    /// document when known: the record's other members are numbers, a boolean and a hash,
    /// written here in RFC 8785's order around the document's canonical JSON, so a
    /// document is canonicalized once per operation, not at each execution.
    fn encode(&self, document_jcs: Option<&[u8]>) -> Vec<u8> {
        use std::io::Write as _;
        let numbers = [
            self.created_height,
            self.created_ms,
            self.sequence,
            self.updated_height,
            self.updated_ms,
        ];
        let Some(document_jcs) = document_jcs.filter(|_| {
            numbers
                .iter()
                .all(|n| *n <= crate::operation::MAX_SAFE_INTEGER)
        }) else {
            return encode(self);
        };
        let mut out = Vec::with_capacity(document_jcs.len() + 256);
        let _ = write!(
            out,
            "{{\"createdHeight\":{},\"createdMs\":{},\"deactivated\":{},\"document\":",
            self.created_height, self.created_ms, self.deactivated
        );
        out.extend_from_slice(document_jcs);
        let _ = write!(
            out,
            ",\"recoveryCommitment\":\"{}\",\"sequence\":{},\"updatedHeight\":{},\"updatedMs\":{}}}",
            self.recovery_commitment.to_hex(),
            self.sequence,
            self.updated_height,
            self.updated_ms
        );
        out
    }
}

/// The operation's own document checked (once per operation, see
/// [`SignedOperation::document_facts`]); its canonical JSON when known.
fn checked_document(signed: &SignedOperation) -> Result<Option<&[u8]>, OpError> {
    match signed.document_check() {
        Some(check) => match check {
            Ok(()) => Ok(signed.document_facts().and_then(|f| f.canonical.as_deref())),
            Err(e) => Err(OpError::new(RejectKind::InvalidDocument, e.to_string())),
        },
        None => Ok(None),
    }
}

/// Where and when a block applies its operations.
#[derive(Clone, Debug)]
pub struct BlockContext {
    pub chain_id: ChainId,
    pub height: u64,
    pub time_ms: u64,
}

fn expect_sequence(expected: u64, got: u64) -> Result<(), OpError> {
    if expected == got {
        Ok(())
    } else {
        Err(OpError::new(
            RejectKind::BadSequence,
            format!("sequence {got} is not the next one ({expected}): replayed or out of order"),
        ))
    }
}

fn live_did(state: &impl StateView, did: &Did) -> Result<DidRecord, OpError> {
    let rec: DidRecord = read(state, &did_key(did))?
        .ok_or_else(|| OpError::new(RejectKind::NotFound, format!("{did} is not registered")))?;
    if rec.deactivated {
        return Err(OpError::new(
            RejectKind::Deactivated,
            format!("{did} is deactivated"),
        ));
    }
    Ok(rec)
}

fn governance(state: &impl StateView) -> Result<Governance, OpError> {
    read(state, KEY_GOVERNANCE)?
        .ok_or_else(|| OpError::new(RejectKind::Governance, "no governance in state"))
}

pub fn validators(state: &(impl StateView + ?Sized)) -> Result<ValidatorSet, OpError> {
    shared_validators(state).map(|set| ValidatorSet::clone(&set))
}

/// [`validators`], shared rather than copied (every create reads the set for its registrar
/// endorsement). The set changes only by governance: the last set decoded on this thread
/// is kept with the exact bytes it was decoded from, and reused only for the same bytes. A
/// memo of a pure function: nothing here does I/O.
fn shared_validators(
    state: &(impl StateView + ?Sized),
) -> Result<std::sync::Arc<ValidatorSet>, OpError> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(Vec<u8>, std::sync::Arc<ValidatorSet>)>> =
            const { std::cell::RefCell::new(None) };
    }
    let bytes = state
        .get(KEY_VALIDATORS)
        .ok_or_else(|| OpError::new(RejectKind::Governance, "no validator set in state"))?;
    let known = LAST.with(|last| {
        last.borrow()
            .as_ref()
            .filter(|(b, _)| *b == bytes)
            .map(|(_, set)| set.clone())
    });
    if let Some(set) = known {
        return Ok(set);
    }
    let set = std::sync::Arc::new(decode_record::<ValidatorSet>(KEY_VALIDATORS, &bytes)?);
    LAST.with(|last| *last.borrow_mut() = Some((bytes, set.clone())));
    Ok(set)
}

/// The state keys an operation may read and the keys it may write: what the mempool needs to
/// know which pending operations a committed block can affect.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    pub reads: Vec<String>,
    pub writes: Vec<String>,
}

impl Footprint {
    /// Does the operation read or write any key in `keys`?
    pub fn touches(&self, keys: &std::collections::HashSet<String>) -> bool {
        self.reads
            .iter()
            .chain(&self.writes)
            .any(|k| keys.contains(k))
    }
}

pub fn footprint(body: &OperationBody) -> Footprint {
    let (reads, writes) = match body {
        OperationBody::CreateDid { did, .. } => (
            vec![did_key(did), KEY_VALIDATORS.to_owned()],
            vec![did_key(did)],
        ),
        OperationBody::UpdateDid { did, .. }
        | OperationBody::DeactivateDid { did, .. }
        | OperationBody::RecoverDid { did, .. } => (vec![did_key(did)], vec![did_key(did)]),
        OperationBody::AccreditIssuer { issuer, .. }
        | OperationBody::WithdrawAccreditation { issuer, .. } => (
            vec![
                issuer_key(issuer),
                did_key(issuer),
                KEY_GOVERNANCE.to_owned(),
            ],
            vec![issuer_key(issuer)],
        ),
        OperationBody::AccreditRelyingParty { relying_party, .. }
        | OperationBody::WithdrawRelyingParty { relying_party, .. } => (
            vec![
                relying_party_key(relying_party),
                did_key(relying_party),
                KEY_GOVERNANCE.to_owned(),
            ],
            vec![relying_party_key(relying_party)],
        ),
        OperationBody::AnchorStatusList {
            issuer, list_id, ..
        } => (
            vec![status_key(issuer, list_id), did_key(issuer)],
            vec![status_key(issuer, list_id)],
        ),
        OperationBody::ChangeValidators { .. } => (
            vec![KEY_GOVERNANCE.to_owned()],
            vec![KEY_GOVERNANCE.to_owned(), KEY_VALIDATORS.to_owned()],
        ),
        OperationBody::ChangeGovernance { .. } => (
            vec![KEY_GOVERNANCE.to_owned()],
            vec![KEY_GOVERNANCE.to_owned()],
        ),
    };
    Footprint { reads, writes }
}

/// Applies one checked operation. On error nothing is written.
pub fn execute(
    state: &mut impl StateAccess,
    op: &CheckedOperation,
    ctx: &BlockContext,
) -> Result<(), OpError> {
    let signed = op.signed();
    let operation = op.operation();
    if operation.chain_id != ctx.chain_id {
        return Err(OpError::new(
            RejectKind::WrongChain,
            "operation is for another chain",
        ));
    }
    let seq = operation.sequence;
    match &operation.body {
        OperationBody::CreateDid {
            did,
            document,
            initial_key,
            recovery_commitment,
        } => {
            expect_sequence(0, seq)?;
            if did.network() != &ctx.chain_id {
                return Err(OpError::new(
                    RejectKind::WrongChain,
                    format!("{did} belongs to another network"),
                ));
            }
            if &Did::derive(&ctx.chain_id, initial_key, &recovery_commitment.0) != did {
                return Err(OpError::new(
                    RejectKind::Unauthorized,
                    "DID is not derived from its initial key and recovery commitment",
                ));
            }
            if !signed.signed_by(initial_key) {
                return Err(OpError::new(
                    RejectKind::Unauthorized,
                    "create must be signed by the initial key",
                ));
            }
            let document_jcs = checked_document(signed)?;
            if !document.can_invoke(initial_key) {
                return Err(OpError::new(
                    RejectKind::InvalidDocument,
                    "the initial key must be in capabilityInvocation",
                ));
            }
            let vals = shared_validators(state)?;
            if !signed.signatures.iter().any(|s| vals.is_registrar(&s.key)) {
                return Err(OpError::new(
                    RejectKind::MissingEndorsement,
                    "create needs a member registrar's endorsement",
                ));
            }
            let key = did_key(did);
            if state.get(&key).is_some() {
                return Err(OpError::new(
                    RejectKind::AlreadyExists,
                    format!("{did} already exists"),
                ));
            }
            let rec = DidRecordView {
                document,
                sequence: 0,
                created_height: ctx.height,
                created_ms: ctx.time_ms,
                updated_height: ctx.height,
                updated_ms: ctx.time_ms,
                deactivated: false,
                recovery_commitment: *recovery_commitment,
            };
            state.put(key, rec.encode(document_jcs));
        }
        OperationBody::UpdateDid { did, document } => {
            let rec = live_did(state, did)?;
            expect_sequence(rec.sequence + 1, seq)?;
            authorize_controller(signed, &rec, did)?;
            let document_jcs = checked_document(signed)?;
            let rec = DidRecordView::replacing(&rec, document, seq, ctx, rec.recovery_commitment);
            state.put(did_key(did), rec.encode(document_jcs));
        }
        OperationBody::DeactivateDid { did, recovery_key } => {
            let mut rec = live_did(state, did)?;
            expect_sequence(rec.sequence + 1, seq)?;
            // Deactivation is final, so it takes the recovery key: a stolen update key can
            // be recovered from, not used to kill the DID.
            if recovery_commitment(recovery_key) != rec.recovery_commitment
                || !signed.signed_by(recovery_key)
            {
                return Err(OpError::new(
                    RejectKind::Unauthorized,
                    "deactivation must reveal and be signed by the committed recovery key",
                ));
            }
            rec.deactivated = true;
            rec.sequence = seq;
            rec.updated_height = ctx.height;
            rec.updated_ms = ctx.time_ms;
            write(state, did_key(did), &rec);
        }
        OperationBody::RecoverDid {
            did,
            recovery_key,
            document,
            next_recovery_commitment,
        } => {
            let rec = live_did(state, did)?;
            if recovery_commitment(recovery_key) != rec.recovery_commitment {
                return Err(OpError::new(
                    RejectKind::Unauthorized,
                    "recovery key does not match the committed one",
                ));
            }
            if !signed.signed_by(recovery_key) {
                return Err(OpError::new(
                    RejectKind::Unauthorized,
                    "recover must be signed by the recovery key",
                ));
            }
            if next_recovery_commitment == &rec.recovery_commitment {
                return Err(OpError::new(
                    RejectKind::Unauthorized,
                    "recovery must commit to a new recovery key",
                ));
            }
            expect_sequence(rec.sequence + 1, seq)?;
            let document_jcs = checked_document(signed)?;
            let rec = DidRecordView::replacing(&rec, document, seq, ctx, *next_recovery_commitment);
            state.put(did_key(did), rec.encode(document_jcs));
        }
        OperationBody::AccreditIssuer {
            issuer,
            credential_types,
            valid_until_ms,
        } => accreditation::accredit_issuer(
            state,
            signed,
            ctx,
            issuer,
            credential_types,
            *valid_until_ms,
        )?,
        OperationBody::WithdrawAccreditation { issuer, reason } => {
            accreditation::withdraw_issuer(state, signed, ctx, issuer, reason)?
        }
        OperationBody::AccreditRelyingParty {
            relying_party,
            scopes,
            valid_until_ms,
        } => accreditation::accredit_relying_party(
            state,
            signed,
            ctx,
            relying_party,
            scopes,
            *valid_until_ms,
        )?,
        OperationBody::WithdrawRelyingParty {
            relying_party,
            reason,
        } => accreditation::withdraw_relying_party(state, signed, ctx, relying_party, reason)?,
        OperationBody::AnchorStatusList {
            issuer,
            list_id,
            list_hash,
        } => {
            let rec = live_did(state, issuer)?;
            let ok = signed
                .signatures
                .iter()
                .any(|s| rec.document.can_invoke(&s.key) || rec.document.can_assert(&s.key));
            if !ok {
                return Err(OpError::new(
                    RejectKind::Unauthorized,
                    format!(
                        "anchor must be signed by a capabilityInvocation or assertionMethod key of {issuer}"
                    ),
                ));
            }
            if list_id.is_empty() || list_id.len() > MAX_LIST_ID_LEN {
                return Err(OpError::new(
                    RejectKind::Malformed,
                    format!("listId must be 1-{MAX_LIST_ID_LEN} characters"),
                ));
            }
            let key = status_key(issuer, list_id);
            let prev: Option<StatusAnchor> = read(state, &key)?;
            expect_sequence(prev.as_ref().map_or(0, |p| p.sequence + 1), seq)?;
            let rec = StatusAnchor {
                issuer: issuer.clone(),
                list_id: list_id.clone(),
                list_hash: *list_hash,
                anchored_height: ctx.height,
                anchored_ms: ctx.time_ms,
                sequence: seq,
            };
            write(state, key, &rec);
        }
        OperationBody::ChangeValidators { validators: next } => {
            next.validate_keys()
                .map_err(|e| OpError::new(RejectKind::Governance, e.to_string()))?;
            let mut gov = governance(state)?;
            authorize_governance(signed, &gov)?;
            expect_sequence(gov.sequence + 1, seq)?;
            gov.sequence = seq;
            write(state, KEY_GOVERNANCE.to_owned(), &gov);
            write(state, KEY_VALIDATORS.to_owned(), next);
        }
        OperationBody::ChangeGovernance {
            authorities,
            threshold,
        } => {
            let gov = governance(state)?;
            authorize_governance(signed, &gov)?;
            expect_sequence(gov.sequence + 1, seq)?;
            let next = Governance {
                authorities: authorities.clone(),
                threshold: *threshold,
                sequence: seq,
            };
            next.validate()
                .map_err(|e| OpError::new(RejectKind::Governance, e.to_string()))?;
            for a in authorities {
                a.public_key.validate().map_err(|e| {
                    OpError::new(RejectKind::Governance, format!("authority {}: {e}", a.name))
                })?;
            }
            write(state, KEY_GOVERNANCE.to_owned(), &next);
        }
    }
    Ok(())
}

/// At least `threshold` distinct root authorities signed.
fn authorize_governance(
    signed: &crate::operation::SignedOperation,
    gov: &Governance,
) -> Result<(), OpError> {
    let signers = gov
        .authorities
        .iter()
        .filter(|a| signed.signed_by(&a.public_key))
        .count();
    if signers < gov.threshold as usize {
        return Err(OpError::new(
            RejectKind::Governance,
            format!(
                "{signers} root authorities signed; the threshold is {}",
                gov.threshold
            ),
        ));
    }
    Ok(())
}

fn authorize_controller(
    signed: &crate::operation::SignedOperation,
    rec: &DidRecord,
    did: &Did,
) -> Result<(), OpError> {
    if signed
        .signatures
        .iter()
        .any(|s| rec.document.can_invoke(&s.key))
    {
        Ok(())
    } else {
        Err(OpError::new(
            RejectKind::Unauthorized,
            format!("not signed by a capabilityInvocation key of {did}"),
        ))
    }
}

/// Writes the per-block metadata record; call once per block after its operations.
pub fn finish_block(state: &mut impl StateAccess, ctx: &BlockContext) {
    write(
        state,
        KEY_META.to_owned(),
        &Meta {
            height: ctx.height,
            time_ms: ctx.time_ms,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretKey;

    #[test]
    fn a_did_record_written_around_its_documents_canonical_json_is_its_canonical_json() {
        let chain = ChainId::new("alliance-devnet").unwrap();
        let big = crate::operation::MAX_SAFE_INTEGER;
        let mut seed = 7u64;
        let mut next = move |limit: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) % limit
        };
        for i in 0..400u64 {
            let key = SecretKey::from_seed(&[(i % 250) as u8 + 1; 32]).public_key();
            let did = Did::derive(&chain, &key, &[i as u8; 32]);
            let mut document = DidDocument::with_single_key(&did, &key);
            for n in 0..(i % 3) {
                document
                    .also_known_as
                    .push(format!("https://e.example/{n}/\"é\u{1F600}"));
            }
            // Numbers up to 2^53 and, now and then, past it (written the generic way).
            let mut number = || match next(10) {
                0 => big,
                1 => big + 1 + next(1 << 20),
                2 => next(10),
                _ => next(big),
            };
            let view = DidRecordView {
                document: &document,
                sequence: number(),
                created_height: number(),
                created_ms: number(),
                updated_height: number(),
                updated_ms: number(),
                deactivated: i % 2 == 0,
                recovery_commitment: Hash([(i * 31) as u8; 32]),
            };
            let record = DidRecord {
                document: document.clone(),
                sequence: view.sequence,
                created_height: view.created_height,
                created_ms: view.created_ms,
                updated_height: view.updated_height,
                updated_ms: view.updated_ms,
                deactivated: view.deactivated,
                recovery_commitment: view.recovery_commitment,
            };
            let document_jcs = crate::jcs(&document).unwrap();
            assert_eq!(
                view.encode(Some(&document_jcs)),
                encode(&record),
                "{record:?}"
            );
            assert_eq!(view.encode(None), encode(&record));
        }
    }

    #[test]
    fn an_operations_document_is_judged_as_validate_judges_it() {
        let chain = ChainId::new("alliance-devnet").unwrap();
        let key = SecretKey::from_seed(&[9; 32]);
        let (did, op) =
            crate::Operation::create_single_key(&chain, &key.public_key(), Hash([1; 32]));
        let signed = op.clone().sign(&[&key]);
        let facts = signed.document_facts().unwrap();
        assert_eq!(signed.document_check(), Some(&Ok(())));
        let OperationBody::CreateDid { document, .. } = &op.body else {
            unreachable!()
        };
        assert_eq!(
            facts.canonical.as_deref(),
            Some(&crate::jcs(document).unwrap()[..])
        );
        // An invalid one: the reason validate gives.
        let mut bad = op.clone();
        let OperationBody::CreateDid { document, .. } = &mut bad.body else {
            unreachable!()
        };
        document.id = "did:alliance:alliance-devnet:other".into();
        let invalid = document.validate(&did).unwrap_err();
        let reason = invalid.to_string();
        let signed = bad.sign(&[&key]);
        assert_eq!(signed.document_check(), Some(&Err(invalid)));
        let err = checked_document(&signed).unwrap_err();
        assert_eq!(
            (err.kind, err.message),
            (RejectKind::InvalidDocument, reason)
        );
        // An operation without a document has no facts.
        let deactivate = crate::Operation {
            chain_id: chain,
            sequence: 1,
            body: OperationBody::DeactivateDid {
                did,
                recovery_key: key.public_key(),
            },
        }
        .sign(&[&key]);
        assert!(deactivate.document_facts().is_none());
        assert!(deactivate.document_check().is_none());
    }

    #[test]
    fn state_keys_are_the_documented_texts() {
        let did = Did::parse("did:alliance:alliance-devnet:KJZ8kWweFMBUXUxDmj2z8X").unwrap();
        assert_eq!(
            did_key(&did),
            "did/did:alliance:alliance-devnet:KJZ8kWweFMBUXUxDmj2z8X"
        );
        assert_eq!(
            issuer_key(&did),
            "issuer/did:alliance:alliance-devnet:KJZ8kWweFMBUXUxDmj2z8X"
        );
        assert_eq!(
            status_key(&did, "https://issuer.example/status/1"),
            "status/did:alliance:alliance-devnet:KJZ8kWweFMBUXUxDmj2z8X/https://issuer.example/status/1"
        );
    }
}
