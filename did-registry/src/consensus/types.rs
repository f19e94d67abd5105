//! Our Malachite [`Context`](mc::Context): heights, addresses, validators, values, proposals,
//! proposal parts, votes and the signing scheme, all built on `did_method` types.
//!
//! Design notes:
//! - The address of a validator is its consensus public key ([`Address`]).
//! - We run Malachite in `ProposalAndParts` mode: the signed `Proposal` message carries only
//!   the block id ([`BlockId`], which is both the Malachite `Value` and its `Id`), while the
//!   block itself travels as a stream of [`ProposalPart`]s. This keeps consensus messages
//!   and WAL entries small (the block is not sent twice) and is the layout Malachite's
//!   `ValuePayload::ProposalAndParts` documentation recommends. The block id commits to the
//!   whole block (header hash, which includes the operations root).
//! - Signatures are `did_method` Ed25519 signatures with strict verification, so what
//!   consensus accepts is exactly what `did_method::chain::CommitCertificate::verify` accepts.

use std::cmp::Ordering;
use std::fmt;

use bytes::Bytes;
use did_method::chain::{self, Hash};
use did_method::crypto::{CryptoError, PublicKey, SecretKey, Signature};
use malachitebft_app_channel::app::types::core as mc;
use malachitebft_app_channel::app::types::core::{NilOrVal, Round, SignedExtension, VoteType};

/// A block height.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Height(pub u64);

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl mc::Height for Height {
    const ZERO: Self = Height(0);
    const INITIAL: Self = Height(1);

    fn increment_by(&self, n: u64) -> Self {
        Height(self.0.saturating_add(n))
    }

    fn decrement_by(&self, n: u64) -> Option<Self> {
        self.0.checked_sub(n).map(Height)
    }

    fn as_u64(&self) -> u64 {
        self.0
    }
}

/// A validator address: its consensus public key. Displayed as its multibase (`z6Mk…`) form,
/// which is also what the network layer matches validator proofs against.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub PublicKey);

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", self.0)
    }
}

impl mc::Address for Address {}

/// The consensus value: the id (header hash) of a proposed block. Also its own `Value::Id`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockId(pub Hash);

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlockId({})", self.0)
    }
}

impl mc::Value for BlockId {
    type Id = BlockId;

    fn id(&self) -> BlockId {
        *self
    }
}

/// An Ed25519 signature, ordered by its bytes (Malachite needs `Ord`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sig(pub Signature);

impl PartialOrd for Sig {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Sig {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.to_bytes().cmp(&other.0.to_bytes())
    }
}

/// The signing scheme: `did_method`'s Ed25519 (strict verification).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllianceEd25519;

impl mc::SigningScheme for AllianceEd25519 {
    type DecodingError = CryptoError;
    type Signature = Sig;
    type PublicKey = PublicKey;
    type PrivateKey = SecretKey;

    fn decode_signature(bytes: &[u8]) -> Result<Sig, CryptoError> {
        Signature::from_slice(bytes).map(Sig)
    }

    fn encode_signature(signature: &Sig) -> Vec<u8> {
        signature.0.to_bytes().to_vec()
    }

    fn decode_public_key(bytes: &[u8]) -> Result<PublicKey, CryptoError> {
        PublicKey::from_slice(bytes)
    }

    fn encode_public_key(public_key: &PublicKey) -> Vec<u8> {
        public_key.to_bytes().to_vec()
    }
}

/// A validator as consensus sees it (names and registrar keys are not its business).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validator {
    pub address: Address,
    pub power: u64,
}

impl mc::Validator<AllianceContext> for Validator {
    fn address(&self) -> &Address {
        &self.address
    }

    fn public_key(&self) -> &PublicKey {
        &self.address.0
    }

    fn voting_power(&self) -> u64 {
        self.power
    }
}

/// A non-empty validator set, sorted by public key (the order of `did_method`'s set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    total_power: u64,
}

impl ValidatorSet {
    /// `None` if the set is empty.
    pub fn from_chain(set: &chain::ValidatorSet) -> Option<Self> {
        let mut validators: Vec<Validator> = set
            .validators()
            .iter()
            .map(|v| Validator {
                address: Address(v.public_key),
                power: v.power,
            })
            .collect();
        if validators.is_empty() {
            return None;
        }
        validators.sort_by_key(|v| v.address);
        validators.dedup_by(|a, b| a.address == b.address);
        let total_power = validators
            .iter()
            .fold(0u64, |acc, v| acc.saturating_add(v.power));
        Some(Self {
            validators,
            total_power,
        })
    }

    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }
}

impl mc::ValidatorSet<AllianceContext> for ValidatorSet {
    fn count(&self) -> usize {
        self.validators.len()
    }

    fn total_voting_power(&self) -> u64 {
        self.total_power
    }

    fn get_by_address(&self, address: &Address) -> Option<&Validator> {
        self.validators
            .binary_search_by(|v| v.address.cmp(address))
            .ok()
            .and_then(|i| self.validators.get(i))
    }

    fn get_by_index(&self, index: usize) -> Option<&Validator> {
        self.validators.get(index)
    }
}

/// A proposal: "at (height, round) I propose block `value`" (the block streams separately).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub height: Height,
    pub round: Round,
    pub value: BlockId,
    pub pol_round: Round,
    pub proposer: Address,
}

impl mc::Proposal<AllianceContext> for Proposal {
    fn height(&self) -> Height {
        self.height
    }

    fn round(&self) -> Round {
        self.round
    }

    fn value(&self) -> &BlockId {
        &self.value
    }

    fn take_value(self) -> BlockId {
        self.value
    }

    fn pol_round(&self) -> Round {
        self.pol_round
    }

    fn validator_address(&self) -> &Address {
        &self.proposer
    }
}

/// A prevote or precommit. Vote extensions are not used (always `None`, never encoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vote {
    pub vote_type: VoteType,
    pub height: Height,
    pub round: Round,
    pub value: NilOrVal<BlockId>,
    pub validator: Address,
    pub extension: Option<SignedExtension<AllianceContext>>,
}

impl mc::Vote<AllianceContext> for Vote {
    fn height(&self) -> Height {
        self.height
    }

    fn round(&self) -> Round {
        self.round
    }

    fn value(&self) -> &NilOrVal<BlockId> {
        &self.value
    }

    fn take_value(self) -> NilOrVal<BlockId> {
        self.value
    }

    fn vote_type(&self) -> VoteType {
        self.vote_type
    }

    fn validator_address(&self) -> &Address {
        &self.validator
    }

    fn extension(&self) -> Option<&SignedExtension<AllianceContext>> {
        self.extension.as_ref()
    }

    fn take_extension(&mut self) -> Option<SignedExtension<AllianceContext>> {
        self.extension.take()
    }

    fn extend(self, extension: SignedExtension<AllianceContext>) -> Self {
        Self {
            extension: Some(extension),
            ..self
        }
    }
}

/// First part of a proposal stream: what is being streamed, by whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProposalInit {
    pub height: Height,
    pub round: Round,
    pub pol_round: Round,
    /// The validator that streams (and signs) these parts: the proposer, or a validator
    /// re-streaming a block it holds.
    pub proposer: Address,
    pub block_id: BlockId,
    /// Length of the encoded block carried by the `Data` parts.
    pub total_len: u32,
}

/// A part of a streamed proposal: `Init`, one or more `Data` chunks of the encoded block, then
/// `Fin` with the streamer's signature over the `Init` fields
/// ([`super::signing::stream_sign_bytes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposalPart {
    Init(ProposalInit),
    Data(Bytes),
    Fin(Sig),
}

impl mc::ProposalPart<AllianceContext> for ProposalPart {
    fn is_first(&self) -> bool {
        matches!(self, ProposalPart::Init(_))
    }

    fn is_last(&self) -> bool {
        matches!(self, ProposalPart::Fin(_))
    }
}

/// The Malachite context of the Alliance ID registry.
#[derive(Clone, Copy, Debug, Default)]
pub struct AllianceContext;

impl mc::Context for AllianceContext {
    type Address = Address;
    type Height = Height;
    type ProposalPart = ProposalPart;
    type Proposal = Proposal;
    type Validator = Validator;
    type ValidatorSet = ValidatorSet;
    type Timeouts = mc::LinearTimeouts;
    type Value = BlockId;
    type Vote = Vote;
    type Extension = ();
    type SigningScheme = AllianceEd25519;

    /// Round-robin over the validators (sorted by public key), shifted by height and round,
    /// so that consecutive rounds of a height always try a different proposer. Voting power
    /// does not weigh proposer frequency.
    fn select_proposer<'a>(
        &self,
        validator_set: &'a ValidatorSet,
        height: Height,
        round: Round,
    ) -> &'a Validator {
        let n = validator_set.validators.len().max(1) as u128;
        let r = round.as_u32().unwrap_or(0) as u128;
        let idx = ((height.0 as u128 + r) % n) as usize;
        // The set is never empty (see `ValidatorSet::from_chain`; the engine also refuses an
        // empty set), so `idx` is always in range.
        &validator_set.validators[idx]
    }

    fn new_proposal(
        &self,
        height: Height,
        round: Round,
        value: BlockId,
        pol_round: Round,
        address: Address,
    ) -> Proposal {
        Proposal {
            height,
            round,
            value,
            pol_round,
            proposer: address,
        }
    }

    fn new_prevote(
        &self,
        height: Height,
        round: Round,
        value_id: NilOrVal<BlockId>,
        address: Address,
    ) -> Vote {
        Vote {
            vote_type: VoteType::Prevote,
            height,
            round,
            value: value_id,
            validator: address,
            extension: None,
        }
    }

    fn new_precommit(
        &self,
        height: Height,
        round: Round,
        value_id: NilOrVal<BlockId>,
        address: Address,
    ) -> Vote {
        Vote {
            vote_type: VoteType::Precommit,
            height,
            round,
            value: value_id,
            validator: address,
            extension: None,
        }
    }
}
