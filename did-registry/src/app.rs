//! The node's application: mempool, block building and re-execution, commit, and the reads
//! the HTTP API serves (resolution, proofs, status). It implements [`consensus::Host`].
//!
//! Admission (the mempool's check before gossip) verifies signatures, size and chain id,
//! then executes the operation against the committed state plus every pending operation,
//! so a bad signature, a replayed or out-of-order sequence, an unauthorized signer or a
//! missing endorsement is refused at submit time with its reason. Operations that become
//! invalid before they are included (a conflicting operation was committed first) are
//! dropped when the next block is built and reported as rejected with the reason.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use did_method::chain::{
    Block, ChainId, CommitCertificate, Hash, Header, ValidatorSet, operations_root,
};
use did_method::crypto::PublicKey;
use did_method::operation::{
    self, CheckedOperation, OpError, RejectKind, Screened, SignedOperation,
};
use did_method::proof::ValidatorUpdate;
use did_method::state::{self, BlockContext, DidRecord, Footprint, Overlay, StateView};
use did_method::{Did, Genesis};
use jmt::JellyfishMerkleTree;
use jmt::storage::TreeUpdateBatch;
use serde::Serialize;
use sha2::Sha256;
use tokio::sync::{mpsc, watch};

use crate::consensus::{Host, HostError};
use crate::metrics::Metrics;
use crate::store::{BlockCommit, LatestState, OpLocation, Snapshot, Store, StoreError, key_hash};

/// Most operations in one block.
pub const MAX_BLOCK_OPS: usize = 1_000;
/// Most operations waiting in the mempool.
pub const MAX_MEMPOOL: usize = 50_000;
/// Proposal-verified operations remembered for gossip that arrives late.
const MAX_VERIFIED: usize = 20_000;
/// Rejections remembered for status queries.
const MAX_REJECTED: usize = 100_000;
/// How far ahead of this node's clock a proposal's time may be.
const MAX_CLOCK_DRIFT_MS: u64 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
}

/// Where an operation stands.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum OpStatus {
    Pending,
    Committed { height: u64, index: u32 },
    Rejected { reason: RejectKind, message: String },
    Unknown,
}

/// An operation on its way into the mempool. (Moved, never stored: boxing the unchecked
/// variant would cost an allocation per operation and save nothing.)
#[allow(clippy::large_enum_variant)]
enum Candidate {
    /// Its signatures are still to be checked (or were, by this node, earlier).
    Unchecked(SignedOperation),
    /// Its stateless checks, signatures included, passed.
    Checked(CheckedOperation),
}

impl Candidate {
    fn id(&self) -> Hash {
        match self {
            Candidate::Unchecked(op) => op.id(),
            Candidate::Checked(c) => c.signed().id(),
        }
    }
}

/// Where one operation of a [`App::submit_raw_many`] request stands. (Slots live in one
/// short-lived vector per request: boxing the large variant would cost an allocation per
/// operation and save nothing.)
#[allow(clippy::large_enum_variant)]
enum Slot {
    Unparsed(OpError),
    Unscreened,
    Refused(OpError),
    Candidate(Candidate),
}

struct Pending {
    op: CheckedOperation,
    footprint: Footprint,
}

struct Mempool {
    order: VecDeque<Hash>,
    ops: HashMap<Hash, Pending>,
    /// Writes of all pending operations over the committed state.
    overlay: BTreeMap<String, Vec<u8>>,
    /// Set when operations were dropped outside a commit: the next recheck is a full one.
    dirty: bool,
}

struct Head {
    height: u64,
    header: Option<Header>,
    /// The set that decides `height + 1`.
    validators: ValidatorSet,
}

/// What executing a block's operations produced.
struct BlockExecution {
    /// Indices of the operations that applied (all of them for a strict execution).
    included: Vec<usize>,
    state_root: Hash,
    /// The validator set after the block (decides the next height).
    next: ValidatorSet,
    /// `Some` when the block changed the validator set.
    new_validators: Option<ValidatorSet>,
    batch: TreeUpdateBatch,
}

struct Executed {
    height: u64,
    batch: TreeUpdateBatch,
    new_validators: Option<ValidatorSet>,
}

struct Rejected {
    order: VecDeque<Hash>,
    map: HashMap<Hash, OpError>,
}

pub struct App {
    genesis: Genesis,
    store: Store,
    head: RwLock<Head>,
    mempool: Mutex<Mempool>,
    executed: Mutex<HashMap<Hash, Executed>>,
    /// Operations whose signatures were checked while validating a proposal but that are
    /// not in the mempool: when they arrive by gossip they are not checked again.
    verified: Mutex<HashMap<Hash, CheckedOperation>>,
    /// The parts of a proof shared by every key at a height, for the last few heights.
    proof_cache: Mutex<VecDeque<(u64, std::sync::Arc<str>)>>,
    rejected: Mutex<Rejected>,
    gossip: Option<mpsc::UnboundedSender<Vec<u8>>>,
    committed_tx: watch::Sender<u64>,
    pub metrics: Metrics,
    /// Admission (signature checks and execution of submitted operations) runs one batch
    /// at a time, so a flood of submissions cannot starve consensus of CPU.
    pub admission: tokio::sync::Semaphore,
}

/// Reads pending writes over a committed snapshot.
struct MempoolView<'a> {
    base: LatestState<'a>,
    overlay: &'a BTreeMap<String, Vec<u8>>,
}

impl StateView for MempoolView<'_> {
    fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.overlay
            .get(key)
            .cloned()
            .or_else(|| self.base.get(key))
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl App {
    /// Opens (or initializes from genesis) the node's store.
    pub fn open(
        genesis: Genesis,
        store: Store,
        gossip: Option<mpsc::UnboundedSender<Vec<u8>>>,
    ) -> Result<Self, AppError> {
        store.init_genesis(&genesis.initial_state())?;
        let snap = store.reader()?;
        let height = snap.height()?;
        let header = if height > 0 {
            snap.header(height)?
        } else {
            None
        };
        let validators = state::validators(&LatestState::new(&snap, height))
            .map_err(|e| AppError::Store(StoreError::Corrupt(e.to_string())))?;
        drop(snap);
        let (committed_tx, _) = watch::channel(height);
        let metrics = Metrics::new();
        metrics.height.set(height as i64);
        Ok(Self {
            genesis,
            store,
            head: RwLock::new(Head {
                height,
                header,
                validators,
            }),
            mempool: Mutex::new(Mempool {
                order: VecDeque::new(),
                ops: HashMap::new(),
                overlay: BTreeMap::new(),
                dirty: false,
            }),
            executed: Mutex::new(HashMap::new()),
            verified: Mutex::new(HashMap::new()),
            proof_cache: Mutex::new(VecDeque::new()),
            rejected: Mutex::new(Rejected {
                order: VecDeque::new(),
                map: HashMap::new(),
            }),
            gossip,
            committed_tx,
            metrics,
            admission: tokio::sync::Semaphore::new(1),
        })
    }

    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    pub fn height(&self) -> u64 {
        self.head.read().map(|h| h.height).unwrap_or(0)
    }

    pub fn latest_header(&self) -> Option<Header> {
        self.head.read().ok().and_then(|h| h.header.clone())
    }

    /// Watch the committed height.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.committed_tx.subscribe()
    }

    pub fn mempool_len(&self) -> usize {
        self.mempool.lock().map(|m| m.order.len()).unwrap_or(0)
    }

    pub fn snapshot(&self) -> Result<Snapshot, AppError> {
        Ok(self.store.reader()?)
    }

    /// Admits an operation to the mempool. `from_peer` operations are not gossiped again.
    pub fn submit(&self, op: SignedOperation, from_peer: bool) -> Result<Hash, OpError> {
        self.submit_with(Candidate::Unchecked(op), from_peer, None)
    }

    /// Admits an operation given as JSON; what is gossiped is these bytes, as received.
    pub fn submit_raw(&self, raw: &[u8], from_peer: bool) -> Result<Hash, OpError> {
        let op = SignedOperation::from_json(raw).inspect_err(|e| self.metrics.rejected(e.kind))?;
        self.submit_with(Candidate::Unchecked(op), from_peer, Some(raw))
    }

    /// Admits operations given as JSON, in order, with the verdicts [`App::submit_raw`]
    /// gives each; the signatures of those not yet known are verified in one batch.
    pub fn submit_raw_many(&self, raws: &[&[u8]], from_peer: bool) -> Vec<Result<Hash, OpError>> {
        let parsed: Vec<Result<SignedOperation, OpError>> = raws
            .iter()
            .map(|raw| {
                SignedOperation::from_json(raw).inspect_err(|e| self.metrics.rejected(e.kind))
            })
            .collect();
        // Operations already pending or verified are not checked again (see `admit`); each
        // operation's canonical JSON and id are computed once, in `check_all_except`.
        let known = |op: &SignedOperation| {
            self.mempool
                .lock()
                .is_ok_and(|m| m.ops.contains_key(&op.id()))
                || self.already_verified(op).is_some()
        };
        // The parsed operations are moved into the screening and back, not copied.
        let mut outcome: Vec<Slot> = Vec::with_capacity(raws.len());
        let mut index = Vec::new();
        let mut candidates = Vec::new();
        for (i, p) in parsed.into_iter().enumerate() {
            match p {
                Ok(op) => {
                    index.push(i);
                    candidates.push(op);
                    outcome.push(Slot::Unscreened);
                }
                Err(e) => outcome.push(Slot::Unparsed(e)),
            }
        }
        for (i, screened) in index.into_iter().zip(operation::check_all_except(
            candidates,
            &self.genesis.chain_id,
            known,
        )) {
            outcome[i] = match screened {
                Ok(Screened::Checked(c)) => Slot::Candidate(Candidate::Checked(c)),
                Ok(Screened::Known(op)) => Slot::Candidate(Candidate::Unchecked(op)),
                Err(e) => Slot::Refused(e),
            };
        }
        outcome
            .into_iter()
            .zip(raws)
            .map(|(slot, raw)| match slot {
                Slot::Candidate(c) => self.submit_with(c, from_peer, Some(raw)),
                Slot::Unparsed(e) => Err(e),
                Slot::Refused(e) => {
                    let e = self.reject_at_submit(e);
                    // Remembered under its id, as `submit_with` does (parsed again: the
                    // screening consumed it, and refusals are rare).
                    if !from_peer
                        && e.kind != RejectKind::Unavailable
                        && let Ok(op) = SignedOperation::from_json(raw)
                    {
                        self.remember_rejection(op.id(), e.clone());
                    }
                    Err(e)
                }
                Slot::Unscreened => Err(OpError::new(
                    RejectKind::Unavailable,
                    "operation was not screened; retry",
                )),
            })
            .collect()
    }

    fn submit_with(
        &self,
        candidate: Candidate,
        from_peer: bool,
        raw: Option<&[u8]>,
    ) -> Result<Hash, OpError> {
        let id = candidate.id();
        let result = self.admit(candidate, from_peer, raw);
        // A client can ask later why its operation was refused (peers' copies are not
        // remembered: the origin node answers for them).
        if let Err(e) = &result
            && !from_peer
            && e.kind != RejectKind::Unavailable
        {
            self.remember_rejection(id, e.clone());
        }
        result
    }

    /// A [`Candidate::Checked`] had its signatures checked already (in a batch); those of
    /// an unchecked one are checked here unless this node verified them before.
    fn admit(
        &self,
        candidate: Candidate,
        from_peer: bool,
        raw: Option<&[u8]>,
    ) -> Result<Hash, OpError> {
        // Cheap checks first: an operation already known is not verified again (peers
        // gossip what this node may already hold or have committed).
        let id = candidate.id();
        if self
            .mempool
            .lock()
            .map_err(|_| poisoned())?
            .ops
            .contains_key(&id)
        {
            return Ok(id);
        }
        let snap = self.store.reader().map_err(internal)?;
        if let Some(loc) = snap.operation(&id).map_err(internal)? {
            return Err(self.reject_at_submit(OpError::new(
                RejectKind::BadSequence,
                format!(
                    "operation {id} was already committed at height {}",
                    loc.height
                ),
            )));
        }
        let checked = match candidate {
            Candidate::Checked(c) => c,
            Candidate::Unchecked(op) => match self.already_verified(&op) {
                Some(c) => c,
                None => match op.check(&self.genesis.chain_id) {
                    Ok(c) => c,
                    Err(e) => return Err(self.reject_at_submit(e)),
                },
            },
        };
        // What is gossiped: the bytes as received, or (from `submit`) the operation's JSON,
        // written here, outside the mempool's lock, as `checked` moves into the mempool.
        let submitted_json = match (from_peer, &self.gossip, raw) {
            (false, Some(_), None) => {
                Some(serde_json::to_vec(checked.signed()).unwrap_or_default())
            }
            _ => None,
        };
        let mut mp = self.mempool.lock().map_err(|_| poisoned())?;
        if mp.ops.contains_key(&id) {
            return Ok(id);
        }
        if mp.order.len() >= MAX_MEMPOOL {
            return Err(OpError::new(
                RejectKind::Unavailable,
                "mempool is full; retry later",
            ));
        }
        let height = self.height();
        let ctx = BlockContext {
            chain_id: self.genesis.chain_id.clone(),
            height: height + 1,
            time_ms: now_ms(),
        };
        let writes = {
            let view = MempoolView {
                base: LatestState::new(&snap, height),
                overlay: &mp.overlay,
            };
            let mut attempt = Overlay::new(&view);
            let result = state::execute(&mut attempt, &checked, &ctx);
            if let Some(e) = view.base.read_error() {
                return Err(OpError::new(
                    RejectKind::Unavailable,
                    format!("node storage error: {e}"),
                ));
            }
            if let Err(e) = result {
                drop(mp);
                return Err(self.reject_at_submit(e));
            }
            attempt.into_writes()
        };
        mp.overlay.extend(writes);
        mp.order.push_back(id);
        let footprint = state::footprint(&checked.operation().body);
        mp.ops.insert(
            id,
            Pending {
                op: checked,
                footprint,
            },
        );
        self.metrics.mempool.set(mp.order.len() as i64);
        drop(mp);
        self.metrics.submitted.inc();
        if !from_peer && let Some(g) = &self.gossip {
            let bytes = match raw {
                Some(r) => r.to_vec(),
                None => submitted_json.unwrap_or_default(),
            };
            let _ = g.send(bytes);
        }
        Ok(id)
    }

    fn reject_at_submit(&self, e: OpError) -> OpError {
        self.metrics.rejected(e.kind);
        e
    }

    fn remember_rejection(&self, id: Hash, e: OpError) {
        if let Ok(mut r) = self.rejected.lock() {
            if r.map.insert(id, e).is_none() {
                r.order.push_back(id);
            }
            while r.order.len() > MAX_REJECTED {
                if let Some(old) = r.order.pop_front() {
                    r.map.remove(&old);
                }
            }
        }
    }

    /// A pending operation dropped at block building or after a commit.
    fn drop_rejected(&self, id: Hash, e: OpError) {
        self.metrics.rejected(e.kind);
        self.remember_rejection(id, e);
    }

    pub fn status(&self, id: &Hash) -> Result<OpStatus, AppError> {
        if let Some(OpLocation { height, index }) = self.store.reader()?.operation(id)? {
            return Ok(OpStatus::Committed { height, index });
        }
        if self
            .mempool
            .lock()
            .map(|m| m.ops.contains_key(id))
            .unwrap_or(false)
        {
            return Ok(OpStatus::Pending);
        }
        if let Some(e) = self
            .rejected
            .lock()
            .ok()
            .and_then(|r| r.map.get(id).cloned())
        {
            return Ok(OpStatus::Rejected {
                reason: e.kind,
                message: e.message,
            });
        }
        Ok(OpStatus::Unknown)
    }

    /// Executes `ops` on top of the committed state at `height - 1` and computes the header
    /// fields that depend on the result.
    fn execute_block(
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

    fn already_verified(&self, op: &SignedOperation) -> Option<CheckedOperation> {
        let v = self.verified.lock().ok()?;
        v.get(&op.id()).filter(|c| c.signed() == op).cloned()
    }

    /// Validates the header of `block` against our head, then re-executes it.
    fn verify_and_execute(&self, block: &Block, check_clock: bool) -> Result<Executed, HostError> {
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

    /// The validator set that decides `height` (height ≥ 1).
    pub fn validators_at(&self, height: u64) -> Result<ValidatorSet, AppError> {
        let snap = self.store.reader()?;
        let changes = snap.validator_changes(height.saturating_sub(1))?;
        Ok(changes
            .into_iter()
            .last()
            .map(|(_, v)| v)
            .unwrap_or_else(|| self.genesis.validators.clone()))
    }

    /// A registry proof for `key` at `height` (latest when `None`), as JSON bytes (the
    /// `RegistryProof` shape). Stored JSON (value, header, certificate) is embedded as it is,
    /// and the part common to every proof at a height is built once per height.
    pub fn prove_json(&self, key: &str, height: Option<u64>) -> Result<Vec<u8>, AppError> {
        let snap = self.store.reader()?;
        let latest = snap.height()?;
        let h = height.unwrap_or(latest);
        if h == 0 {
            return Err(AppError::NotFound("no block has been committed yet".into()));
        }
        if h > latest {
            return Err(AppError::NotFound(format!(
                "height {h} is not committed yet (latest is {latest})"
            )));
        }
        let common = self.proof_common(&snap, h)?;
        let (value, merkle_proof) = snap.get_with_proof(key, h)?;
        let merkle = serde_json::to_vec(&did_method::proof::merkle_proof_to_text(&merkle_proof))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let key_json = serde_json::to_vec(key).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut out = Vec::with_capacity(
            common.len() + merkle.len() + value.as_ref().map_or(4, |v| v.len()) + 64,
        );
        out.extend_from_slice(b"{\"key\":");
        out.extend_from_slice(&key_json);
        out.extend_from_slice(b",\"value\":");
        match &value {
            Some(v) => out.extend_from_slice(v),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b',');
        out.extend_from_slice(common.as_bytes());
        out.extend_from_slice(b",\"merkleProof\":");
        out.extend_from_slice(&merkle);
        out.push(b'}');
        Ok(out)
    }

    /// `"header":…,"certificate":…,"validatorUpdates":[…]` for height `h`, cached.
    fn proof_common(&self, snap: &Snapshot, h: u64) -> Result<std::sync::Arc<str>, AppError> {
        if let Ok(cache) = self.proof_cache.lock()
            && let Some(common) = cache
                .iter()
                .find_map(|(ch, c)| (*ch == h).then(|| c.clone()))
        {
            return Ok(common);
        }
        let missing = |what: &str, at: u64| AppError::NotFound(format!("{what} {at} not found"));
        let header = snap.header_raw(h)?.ok_or_else(|| missing("block", h))?;
        let cert = snap
            .certificate_raw(h)?
            .ok_or_else(|| missing("certificate", h))?;
        let updates = validator_updates(snap, h)?;
        let updates =
            serde_json::to_string(&updates).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let common: std::sync::Arc<str> = format!(
            "\"header\":{},\"certificate\":{},\"validatorUpdates\":{updates}",
            String::from_utf8_lossy(&header),
            String::from_utf8_lossy(&cert)
        )
        .into();
        if let Ok(mut cache) = self.proof_cache.lock() {
            if cache.len() >= 8 {
                cache.pop_front();
            }
            cache.push_back((h, common.clone()));
        }
        Ok(common)
    }

    /// A checkpoint at `height` (latest when `None`): the committed header, its certificate,
    /// the validator-set changes since genesis, and the set that decides the next height.
    pub fn checkpoint(&self, height: Option<u64>) -> Result<did_method::Checkpoint, AppError> {
        let snap = self.store.reader()?;
        let latest = snap.height()?;
        let h = height.unwrap_or(latest);
        if h == 0 || h > latest {
            return Err(AppError::NotFound(format!(
                "no committed block at height {h} (latest is {latest})"
            )));
        }
        let missing = |what: &str, at: u64| AppError::NotFound(format!("{what} {at} not found"));
        let header = snap.header(h)?.ok_or_else(|| missing("block", h))?;
        let certificate = snap
            .certificate(h)?
            .ok_or_else(|| missing("certificate", h))?;
        let validator_updates = validator_updates(&snap, h)?;
        drop(snap);
        let next_validators = self.validators_at(h + 1)?;
        Ok(did_method::Checkpoint {
            header,
            certificate,
            validator_updates,
            next_validators,
        })
    }

    /// A DID's record at `height` (latest when `None`).
    pub fn did_record(
        &self,
        did: &Did,
        height: Option<u64>,
    ) -> Result<Option<(DidRecord, u64)>, AppError> {
        let snap = self.store.reader()?;
        let latest = snap.height()?;
        let h = height.unwrap_or(latest);
        if h > latest {
            return Err(AppError::NotFound(format!(
                "height {h} is not committed yet (latest is {latest})"
            )));
        }
        snap.get_at(&state::did_key(did), h)?
            .map(|v| {
                serde_json::from_slice(&v)
                    .map(|r| (r, h))
                    .map_err(|e| AppError::Store(StoreError::Corrupt(e.to_string())))
            })
            .transpose()
    }

    /// Any state record as JSON at `height` (latest when `None`).
    pub fn record(
        &self,
        key: &str,
        height: Option<u64>,
    ) -> Result<Option<serde_json::Value>, AppError> {
        let snap = self.store.reader()?;
        let latest = snap.height()?;
        let h = height.unwrap_or(latest);
        if h > latest {
            return Err(AppError::NotFound(format!(
                "height {h} is not committed yet (latest is {latest})"
            )));
        }
        snap.get_at(key, h)?
            .map(|v| {
                serde_json::from_slice(&v)
                    .map_err(|e| AppError::Store(StoreError::Corrupt(e.to_string())))
            })
            .transpose()
    }

    pub fn block(
        &self,
        height: u64,
    ) -> Result<Option<(Block, Option<CommitCertificate>)>, AppError> {
        let snap = self.store.reader()?;
        Ok(match snap.block(height)? {
            Some(b) => Some((b, snap.certificate(height)?)),
            None => None,
        })
    }

    pub fn chain_id(&self) -> &ChainId {
        &self.genesis.chain_id
    }

    /// Headers of heights `from..to` that are committed.
    pub fn headers(&self, from: u64, to: u64) -> Result<Vec<Header>, AppError> {
        let snap = self.store.reader()?;
        let mut out = Vec::with_capacity(to.saturating_sub(from) as usize);
        for h in from..to {
            match snap.header(h)? {
                Some(header) => out.push(header),
                None => break,
            }
        }
        Ok(out)
    }
}

/// Every validator-set change below height `h`, with its header and certificate: what a
/// light client walks from the genesis to trust the signers of block `h`.
fn validator_updates(snap: &Snapshot, h: u64) -> Result<Vec<ValidatorUpdate>, AppError> {
    let missing = |what: &str, at: u64| AppError::NotFound(format!("{what} {at} not found"));
    snap.validator_changes(h.saturating_sub(1))?
        .into_iter()
        .map(|(ch, next_validators)| {
            Ok(ValidatorUpdate {
                header: snap.header(ch)?.ok_or_else(|| missing("block", ch))?,
                certificate: snap
                    .certificate(ch)?
                    .ok_or_else(|| missing("certificate", ch))?,
                next_validators,
            })
        })
        .collect()
}

fn internal(e: StoreError) -> OpError {
    OpError::new(RejectKind::Unavailable, format!("node storage error: {e}"))
}

fn poisoned() -> OpError {
    OpError::new(
        RejectKind::Unavailable,
        "node internal error (lock poisoned)",
    )
}

impl Host for App {
    fn chain_id(&self) -> &ChainId {
        &self.genesis.chain_id
    }

    fn next_height(&self) -> u64 {
        self.height() + 1
    }

    fn validator_set(&self, height: u64) -> Option<ValidatorSet> {
        if let Ok(head) = self.head.read()
            && height == head.height + 1
        {
            return Some(head.validators.clone());
        }
        self.validators_at(height).ok()
    }

    fn build_block(
        &self,
        height: u64,
        _round: u32,
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

    fn check_block(&self, block: &Block) -> Result<(), HostError> {
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

    fn commit(&self, block: &Block, cert: &CommitCertificate) -> Result<(), HostError> {
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

    fn decided(&self, height: u64) -> Option<(Block, CommitCertificate)> {
        let snap = self.store.reader().ok()?;
        Some((snap.block(height).ok()??, snap.certificate(height).ok()??))
    }

    fn pending_operations(&self) -> usize {
        self.mempool.lock().map(|m| m.ops.len()).unwrap_or(0)
    }

    fn known_operation(&self, id: &Hash) -> Option<SignedOperation> {
        if let Some(p) = self.mempool.lock().ok()?.ops.get(id) {
            return Some(p.op.signed().clone());
        }
        self.verified
            .lock()
            .ok()?
            .get(id)
            .map(|c| c.signed().clone())
    }

    fn history_min_height(&self) -> u64 {
        1
    }
}
