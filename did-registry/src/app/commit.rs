//! Commit of a decided block: the certificate verified with `did-method`, the cached
//! execution taken (or the block re-executed, e.g. when synced), everything written in one
//! redb transaction, the head advanced, and the pending operations the block affected
//! re-checked.

use std::collections::HashSet;

use did_method::chain::{Block, CommitCertificate, Hash};
use did_method::state::{self, BlockContext, Overlay};

use super::mempool::{Mempool, MempoolView};
use super::{App, Executed, now_ms};
use crate::consensus::{Host, HostError};
use crate::store::{BlockCommit, LatestState};

impl App {
    /// [`crate::consensus::Host::commit`]: writes a decided block (heights already stored are
    /// ignored, so a restart commits idempotently).
    pub(super) fn commit_decided(
        &self,
        block: &Block,
        cert: &CommitCertificate,
    ) -> Result<(), HostError> {
        let height = block.header.height;
        let current = self.height();
        if height <= current {
            return Ok(());
        }
        if cert.block_id != block.id() || cert.height != height {
            return Err(HostError::invalid("certificate does not match the block"));
        }
        let validators = self
            .validator_set(height)
            .ok_or_else(|| HostError::internal("unknown validator set"))?;
        cert.verify_header(&block.header, &self.genesis.chain_id, &validators)
            .map_err(|e| HostError::invalid(format!("certificate: {e}")))?;
        let cached = self
            .executed
            .lock()
            .ok()
            .and_then(|mut ex| ex.remove(&block.id()));
        let t = std::time::Instant::now();
        let was_cached = cached.is_some();
        let executed = match cached {
            Some(e) => e,
            None => self.verify_and_execute(block, false)?,
        };
        let r = self.apply_commit(block, cert, executed);
        tracing::debug!(
            height,
            ops = block.operations.len(),
            cached = was_cached,
            ms = t.elapsed().as_millis() as u64,
            "committed"
        );
        r
    }

    fn apply_commit(
        &self,
        block: &Block,
        cert: &CommitCertificate,
        executed: Executed,
    ) -> Result<(), HostError> {
        let height = block.header.height;
        self.store
            .commit_block(BlockCommit {
                block,
                certificate: cert,
                tree: executed.batch,
                new_validators: executed.new_validators.as_ref(),
            })
            .map_err(|e| HostError::storage(e.to_string()))?;
        {
            let mut head = self
                .head
                .write()
                .map_err(|_| HostError::internal("head lock poisoned"))?;
            head.height = height;
            head.header = Some(block.header.clone());
            if let Some(v) = executed.new_validators {
                head.validators = v;
            }
        }
        if let Ok(mut ex) = self.executed.lock() {
            ex.retain(|_, e| e.height > height);
        }
        if let Ok(mut v) = self.verified.lock()
            && !v.is_empty()
        {
            for op in &block.operations {
                v.remove(&op.id());
            }
        }
        self.recheck_mempool(block);
        self.metrics.height.set(height as i64);
        self.metrics.blocks.inc();
        self.metrics.committed.inc_by(block.operations.len() as u64);
        self.committed_tx.send_replace(height);
        tracing::debug!(height, ops = block.operations.len(), id = %block.id(), "committed block");
        Ok(())
    }

    /// After a commit: drop the included operations, then re-admit, in order, the pending
    /// operations the block may have affected (those touching a key it wrote, and, to a
    /// fixpoint, those touching a key such an operation writes). The others keep their
    /// admission: what they read did not change.
    fn recheck_mempool(&self, block: &Block) {
        let Ok(mut mp) = self.mempool.lock() else {
            return;
        };
        let mut cleared: HashSet<String> = HashSet::new();
        for op in &block.operations {
            mp.ops.remove(&op.id());
            cleared.extend(state::footprint(&op.operation.body).writes);
        }
        let Ok(snap) = self.store.reader() else {
            // Cannot read the new state now: the next commit re-admits everything.
            mp.dirty = true;
            return;
        };
        let full = std::mem::take(&mut mp.dirty);
        let mut affected: HashSet<Hash> = HashSet::new();
        loop {
            let mut grew = false;
            for id in &mp.order {
                let Some(p) = mp.ops.get(id) else { continue };
                if !affected.contains(id) && (full || p.footprint.touches(&cleared)) {
                    affected.insert(*id);
                    cleared.extend(p.footprint.writes.iter().cloned());
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
        let Mempool { order, ops, .. } = &mut *mp;
        order.retain(|id| ops.contains_key(id));
        for k in &cleared {
            mp.overlay.remove(k);
        }
        let mut dropped = vec![];
        let mut storage_failed = false;
        if !affected.is_empty() {
            let height = block.header.height;
            let ctx = BlockContext {
                chain_id: self.genesis.chain_id.clone(),
                height: height + 1,
                time_ms: now_ms(),
            };
            let Mempool {
                order,
                ops,
                overlay,
                ..
            } = &mut *mp;
            for id in order.iter().filter(|id| affected.contains(id)) {
                let Some(p) = ops.get(id) else { continue };
                let writes = {
                    let view = MempoolView {
                        base: LatestState::new(&snap, height),
                        overlay,
                    };
                    let mut attempt = Overlay::new(&view);
                    let result = state::execute(&mut attempt, &p.op, &ctx);
                    if view.base.read_error().is_some() {
                        // Storage failed: keep the operation; the next commit re-admits all.
                        storage_failed = true;
                        continue;
                    }
                    match result {
                        Ok(()) => attempt.into_writes(),
                        Err(e) => {
                            dropped.push((*id, e));
                            continue;
                        }
                    }
                };
                overlay.extend(writes);
            }
            for (id, _) in &dropped {
                ops.remove(id);
            }
            order.retain(|id| ops.contains_key(id));
        }
        if storage_failed {
            tracing::warn!(
                "storage error while re-admitting pending operations; retrying at the next commit"
            );
            mp.dirty = true;
        }
        self.metrics.mempool.set(mp.order.len() as i64);
        drop(mp);
        for (id, e) in dropped {
            self.drop_rejected(id, e);
        }
    }
}
