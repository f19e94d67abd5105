//! The boundary between the consensus engine and the rest of the node.
//!
//! The engine drives heights and rounds; everything about blocks (building, executing,
//! storing) is delegated to a [`Host`]. The methods are synchronous and expected to be fast:
//! they are called directly from the engine's application loop.

use did_method::chain::{Block, ChainId, CommitCertificate, Hash, ValidatorSet};
use did_method::crypto::PublicKey;
use did_method::operation::SignedOperation;

/// What kind of failure a [`HostError`] is: small and `Copy`, for matching. A block that is
/// not valid is the proposer's fault (the engine votes nil on it); the other kinds are this
/// node's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HostErrorKind {
    /// The block (proposed, decided, or its certificate) is not valid on this chain.
    InvalidBlock,
    /// The node's storage failed.
    Storage,
    /// The node's own state cannot be used as asked (a poisoned lock, a height it is not
    /// at, a validator set it does not know).
    Internal,
}

/// Why the host could not build, check or commit a block: its kind, and the reason in words
/// (what the node logs).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HostError {
    kind: HostErrorKind,
    message: String,
}

impl HostError {
    pub fn new(kind: HostErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The block is not valid: see [`HostErrorKind::InvalidBlock`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(HostErrorKind::InvalidBlock, message)
    }

    /// See [`HostErrorKind::Storage`].
    pub fn storage(message: impl Into<String>) -> Self {
        Self::new(HostErrorKind::Storage, message)
    }

    /// See [`HostErrorKind::Internal`].
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(HostErrorKind::Internal, message)
    }

    pub fn kind(&self) -> HostErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

/// What the consensus engine needs from the node (storage, state machine, mempool).
pub trait Host: Send + Sync + 'static {
    fn chain_id(&self) -> &ChainId;
    /// Last committed height + 1.
    fn next_height(&self) -> u64;
    /// The validator set that decides `height`.
    fn validator_set(&self, height: u64) -> Option<ValidatorSet>;
    /// Build a block to propose at (height, round) from the mempool, executed speculatively (header complete: state root etc.). `time_ms` is the proposal time.
    fn build_block(
        &self,
        height: u64,
        round: u32,
        time_ms: u64,
        proposer: &PublicKey,
    ) -> Result<Block, HostError>;
    /// Re-execute a block proposed by another validator; Err(reason) means vote nil (Validity::Invalid).
    fn check_block(&self, block: &Block) -> Result<(), HostError>;
    /// Persist a decided block with its certificate and apply it. Idempotent if already committed.
    fn commit(&self, block: &Block, cert: &CommitCertificate) -> Result<(), HostError>;
    /// A decided block and its certificate (for sync of lagging peers).
    fn decided(&self, height: u64) -> Option<(Block, CommitCertificate)>;
    /// Lowest height `decided` can answer.
    fn history_min_height(&self) -> u64;
    /// How many operations wait in the mempool (a proposer with nothing to propose waits
    /// a little for some; see `EngineConfig::empty_block_interval`).
    fn pending_operations(&self) -> usize {
        0
    }
    /// An operation this node already holds (pending or verified), so that a received block
    /// need not parse it again.
    fn known_operation(&self, id: &Hash) -> Option<SignedOperation> {
        let _ = id;
        None
    }
}
