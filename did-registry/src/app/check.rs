//! Re-execution of a proposal: header checks against our head, the signatures checked
//! (or an earlier check of an identical operation reused), strict execution, and the state
//! root and next validators compared with the header's. A mismatch makes the block invalid,
//! and the validator votes nil.

use std::collections::{HashMap, HashSet};

use did_method::chain::{Block, Hash};
use did_method::operation::{self, CheckedOperation, SignedOperation};
use did_method::state::BlockContext;

use super::build::BlockExecution;
use super::{App, Executed, MAX_BLOCK_OPS, now_ms};
use crate::consensus::HostError;

/// Proposal-verified operations remembered for gossip that arrives late.
const MAX_VERIFIED: usize = 20_000;
/// How far ahead of this node's clock a proposal's time may be.
const MAX_CLOCK_DRIFT_MS: u64 = 10_000;

impl App {
    /// [`crate::consensus::Host::check_block`]: re-executes a proposal, keeping the result
    /// for its commit.
    pub(super) fn check_proposal(&self, block: &Block) -> Result<(), HostError> {
        let t = std::time::Instant::now();
        let executed = self.verify_and_execute(block, true)?;
        tracing::debug!(
            height = block.header.height,
            ops = block.operations.len(),
            ms = t.elapsed().as_millis() as u64,
            "checked proposal"
        );
        if let Ok(mut ex) = self.executed.lock() {
            ex.insert(block.id(), executed);
        }
        Ok(())
    }

    fn checked_ops(&self, block: &Block) -> Result<Vec<CheckedOperation>, HostError> {
        let known: HashMap<Hash, CheckedOperation> = {
            let mp = self
                .mempool
                .lock()
                .map_err(|_| HostError::internal("mempool lock poisoned"))?;
            block
                .operations
                .iter()
                .filter_map(|o| mp.ops.get(&o.id()).map(|p| (p.op.id(), p.op.clone())))
                .collect()
        };
        let mut seen = HashSet::new();
        let mut out: Vec<Option<CheckedOperation>> = Vec::with_capacity(block.operations.len());
        let mut unknown = Vec::new();
        for op in &block.operations {
            let id = op.id();
            if !seen.insert(id) {
                return Err(HostError::invalid(format!("operation {id} appears twice")));
            }
            let found = match known.get(&id) {
                Some(c) if c.signed() == op => Some(c.clone()),
                _ => self.already_verified(op),
            };
            if found.is_none() {
                unknown.push(op.clone());
            }
            out.push(found);
        }
        // The operations this node has not seen yet are checked in one batch.
        let mut fresh = operation::check_all(unknown, &self.genesis.chain_id).into_iter();
        let mut verified = self.verified.lock().ok();
        out.into_iter()
            .zip(&block.operations)
            .map(|(found, op)| match found {
                Some(c) => Ok(c),
                None => {
                    let c = fresh
                        .next()
                        .ok_or_else(|| HostError::internal("operation check lost its place"))?
                        .map_err(|e| HostError::invalid(format!("operation {}: {e}", op.id())))?;
                    if let Some(v) = verified.as_mut() {
                        if v.len() >= MAX_VERIFIED {
                            v.clear();
                        }
                        v.insert(c.id(), c.clone());
                    }
                    Ok(c)
                }
            })
            .collect()
    }

    pub(super) fn already_verified(&self, op: &SignedOperation) -> Option<CheckedOperation> {
        let v = self.verified.lock().ok()?;
        v.get(&op.id()).filter(|c| c.signed() == op).cloned()
    }

    /// Validates the header of `block` against our head, then re-executes it.
    pub(super) fn verify_and_execute(
        &self,
        block: &Block,
        check_clock: bool,
    ) -> Result<Executed, HostError> {
        let h = &block.header;
        let head_height;
        let (prev_hash, prev_time, validators) = {
            let head = self
                .head
                .read()
                .map_err(|_| HostError::internal("head lock poisoned"))?;
            head_height = head.height;
            (
                head.header.as_ref().map(|x| x.hash()).unwrap_or(Hash::ZERO),
                head.header
                    .as_ref()
                    .map(|x| x.time_ms)
                    .unwrap_or(self.genesis.genesis_time_ms),
                head.validators.clone(),
            )
        };
        let invalid = |m: String| Err(HostError::invalid(m));
        if h.chain_id != self.genesis.chain_id {
            return invalid(format!("block is for chain {}", h.chain_id));
        }
        if h.height != head_height + 1 {
            return invalid(format!(
                "block height {} but the next height is {}",
                h.height,
                head_height + 1
            ));
        }
        if h.prev_hash != prev_hash {
            return invalid("previous hash does not match our last block".into());
        }
        if h.validators_hash != validators.hash() {
            return invalid("validators hash is not the current validator set".into());
        }
        if validators.get(&h.proposer).is_none() {
            return invalid("proposer is not a validator".into());
        }
        if h.time_ms <= prev_time {
            return invalid("block time does not increase".into());
        }
        if check_clock && h.time_ms > now_ms() + MAX_CLOCK_DRIFT_MS {
            return invalid("block time is too far in the future".into());
        }
        if block.operations.len() > MAX_BLOCK_OPS {
            return invalid(format!("more than {MAX_BLOCK_OPS} operations"));
        }
        block
            .check_operations_root()
            .map_err(|e| HostError::invalid(e.to_string()))?;
        let ops = self.checked_ops(block)?;
        let snap = self
            .store
            .reader()
            .map_err(|e| HostError::storage(e.to_string()))?;
        let ctx = BlockContext {
            chain_id: self.genesis.chain_id.clone(),
            height: h.height,
            time_ms: h.time_ms,
        };
        let BlockExecution {
            state_root: root,
            next,
            new_validators,
            batch,
            ..
        } = self.execute_block(&snap, &ctx, &ops, true)?;
        if root != h.state_root {
            return invalid(format!(
                "state root {} does not match ours {root}",
                h.state_root
            ));
        }
        if next.hash() != h.next_validators_hash {
            return invalid("next validators hash does not match".into());
        }
        Ok(Executed {
            height: h.height,
            batch,
            new_validators,
        })
    }
}
