//! The boundary between the consensus engine and the rest of the node.
//!
//! The engine drives heights and rounds; everything about blocks (building, executing,
//! storing) is delegated to a [`Host`]. The methods are synchronous and expected to be fast:
//! they are called directly from the engine's application loop.

use did_method::chain::{Block, ChainId, CommitCertificate, Hash, ValidatorSet};
use did_method::crypto::PublicKey;
use did_method::operation::SignedOperation;

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
    ) -> Result<Block, String>;
    /// Re-execute a block proposed by another validator; Err(reason) means vote nil (Validity::Invalid).
    fn check_block(&self, block: &Block) -> Result<(), String>;
    /// Persist a decided block with its certificate and apply it. Idempotent if already committed.
    fn commit(&self, block: &Block, cert: &CommitCertificate) -> Result<(), String>;
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
