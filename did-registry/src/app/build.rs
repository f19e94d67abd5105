//! Block building: the proposer takes pending operations in arrival order, executes them on
//! an overlay of the committed state, drops those that no longer apply, and computes the
//! state root and next validator set for the header. The executed tree batch is kept for
//! the commit.

use did_method::chain::{Block, Hash, Header, ValidatorSet, operations_root};
use did_method::crypto::PublicKey;
use did_method::operation::{CheckedOperation, SignedOperation};
use did_method::state::{self, BlockContext, Overlay};
use jmt::JellyfishMerkleTree;
use jmt::storage::TreeUpdateBatch;
use sha2::Sha256;

use super::{App, Executed, MAX_BLOCK_OPS};
use crate::consensus::HostError;
use crate::store::{LatestState, Snapshot, key_hash};

/// What executing a block's operations produced.
pub(super) struct BlockExecution {
    /// Indices of the operations that applied (all of them for a strict execution).
    pub(super) included: Vec<usize>,
    pub(super) state_root: Hash,
    /// The validator set after the block (decides the next height).
    pub(super) next: ValidatorSet,
    /// `Some` when the block changed the validator set.
    pub(super) new_validators: Option<ValidatorSet>,
    pub(super) batch: TreeUpdateBatch,
}

impl App {
    /// [`crate::consensus::Host::build_block`]: a proposal for `height` from the mempool.
    pub(super) fn build_proposal(
        &self,
        height: u64,
        time_ms: u64,
        proposer: &PublicKey,
    ) -> Result<Block, HostError> {
        let build_start = std::time::Instant::now();
        let (prev_hash, prev_time, validators, head_height) = {
            let head = self
                .head
                .read()
                .map_err(|_| HostError::internal("head lock poisoned"))?;
            (
                head.header.as_ref().map(|x| x.hash()).unwrap_or(Hash::ZERO),
                head.header
                    .as_ref()
                    .map(|x| x.time_ms)
                    .unwrap_or(self.genesis.genesis_time_ms),
                head.validators.clone(),
                head.height,
            )
        };
        if height != head_height + 1 {
            return Err(HostError::internal(format!(
                "asked to build height {height}, but the next height is {}",
                head_height + 1
            )));
        }
        let time_ms = time_ms.max(prev_time + 1);
        let candidates: Vec<CheckedOperation> = {
            let mp = self
                .mempool
                .lock()
                .map_err(|_| HostError::internal("mempool lock poisoned"))?;
            mp.order
                .iter()
                .take(MAX_BLOCK_OPS)
                .filter_map(|id| mp.ops.get(id).map(|p| p.op.clone()))
                .collect()
        };
        let snap = self
            .store
            .reader()
            .map_err(|e| HostError::storage(e.to_string()))?;
        let ctx = BlockContext {
            chain_id: self.genesis.chain_id.clone(),
            height,
            time_ms,
        };
        let BlockExecution {
            included,
            state_root,
            next,
            new_validators,
            batch,
        } = self.execute_block(&snap, &ctx, &candidates, false)?;
        if included.len() < candidates.len() {
            let dropped: Vec<Hash> = candidates
                .iter()
                .enumerate()
                .filter(|(i, _)| included.binary_search(i).is_err())
                .map(|(_, c)| c.id())
                .collect();
            if let Ok(mut mp) = self.mempool.lock() {
                for id in &dropped {
                    mp.ops.remove(id);
                }
                mp.order.retain(|id| !dropped.contains(id));
                mp.dirty = true;
            }
        }
        let operations: Vec<SignedOperation> = included
            .iter()
            .map(|&i| candidates[i].signed().clone())
            .collect();
        let ids: Vec<Hash> = included.iter().map(|&i| candidates[i].id()).collect();
        let header = Header {
            chain_id: self.genesis.chain_id.clone(),
            height,
            time_ms,
            prev_hash,
            operations_root: operations_root(&ids),
            state_root,
            validators_hash: validators.hash(),
            next_validators_hash: next.hash(),
            proposer: *proposer,
        };
        let block = Block { header, operations };
        tracing::debug!(
            height,
            ops = block.operations.len(),
            ms = build_start.elapsed().as_millis() as u64,
            "built proposal"
        );
        if let Ok(mut ex) = self.executed.lock() {
            ex.insert(
                block.id(),
                Executed {
                    height,
                    batch,
                    new_validators,
                },
            );
        }
        Ok(block)
    }

    /// Executes `ops` on top of the committed state at `height - 1` and computes the header
    /// fields that depend on the result.
    pub(super) fn execute_block(
        &self,
        snap: &Snapshot,
        ctx: &BlockContext,
        ops: &[CheckedOperation],
        strict: bool,
    ) -> Result<BlockExecution, HostError> {
        let base = LatestState::new(snap, ctx.height - 1);
        let mut block_state = Overlay::new(&base);
        let mut included = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            let mut attempt = Overlay::new(&block_state);
            let result = state::execute(&mut attempt, op, ctx);
            if let Some(e) = base.read_error() {
                return Err(HostError::storage(format!(
                    "storage error while executing the block: {e}"
                )));
            }
            match result {
                Ok(()) => {
                    let writes = attempt.into_writes();
                    for (k, v) in writes {
                        state::StateAccess::put(&mut block_state, k, v);
                    }
                    included.push(i);
                }
                Err(e) if strict => {
                    return Err(HostError::invalid(format!(
                        "operation {} is invalid: {e}",
                        op.id()
                    )));
                }
                Err(e) => self.drop_rejected(op.id(), e),
            }
        }
        state::finish_block(&mut block_state, ctx);
        let next = state::validators(&block_state).map_err(|e| HostError::internal(e.to_string()));
        if let Some(e) = base.read_error() {
            return Err(HostError::storage(format!(
                "storage error while executing the block: {e}"
            )));
        }
        let next = next?;
        let changed_validators = block_state.writes().contains_key(state::KEY_VALIDATORS);
        let writes = block_state.into_writes();
        let tree = JellyfishMerkleTree::<_, Sha256>::new(snap);
        let (root, batch) = tree
            .put_value_set(
                writes.into_iter().map(|(k, v)| (key_hash(&k), Some(v))),
                ctx.height,
            )
            .map_err(|e| HostError::storage(format!("merkle tree: {e}")))?;
        let new_validators = changed_validators.then(|| next.clone());
        Ok(BlockExecution {
            included,
            state_root: Hash(root.0),
            next,
            new_validators,
            batch,
        })
    }
}
