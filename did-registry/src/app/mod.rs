//! The node's application: mempool, block building and re-execution, commit, and the reads
//! the HTTP API serves (resolution, proofs, status). It implements [`consensus::Host`].
//!
//! Admission (the mempool's check before gossip) verifies signatures, size and chain id,
//! then executes the operation against the committed state plus every pending operation,
//! so a bad signature, a replayed or out-of-order sequence, an unauthorized signer or a
//! missing endorsement is refused at submit time with its reason. Operations that become
//! invalid before they are included (a conflicting operation was committed first) are
//! dropped when the next block is built and reported as rejected with the reason.
//!
//! One concern per file: this one holds [`App`], its opening and head, and the
//! [`Host`] implementation the consensus engine calls; `mempool` admits operations,
//! `build` builds proposals (and executes a block's operations for `check`), `check`
//! re-executes a proposal, `commit` writes a decided block and re-checks the mempool, and
//! `reads` answers status, resolution, records, blocks and proofs (with the proof cache).

mod build;
mod check;
mod commit;
mod mempool;
mod reads;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use did_method::Genesis;
use did_method::chain::{Block, ChainId, CommitCertificate, Hash, Header, ValidatorSet};
use did_method::crypto::PublicKey;
use did_method::operation::{CheckedOperation, RejectKind, SignedOperation};
use did_method::state;
use jmt::storage::TreeUpdateBatch;
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use crate::consensus::{Host, HostError};
use crate::metrics::Metrics;
use crate::store::{LatestState, Snapshot, Store, StoreError};

use mempool::{Mempool, Rejected};

/// Most operations in one block.
pub const MAX_BLOCK_OPS: usize = 1_000;
/// Most operations waiting in the mempool.
pub const MAX_MEMPOOL: usize = 50_000;

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

struct Head {
    height: u64,
    header: Option<Header>,
    /// The set that decides `height + 1`.
    validators: ValidatorSet,
}

struct Executed {
    height: u64,
    batch: TreeUpdateBatch,
    new_validators: Option<ValidatorSet>,
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

    pub fn chain_id(&self) -> &ChainId {
        &self.genesis.chain_id
    }
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
        self.build_proposal(height, time_ms, proposer)
    }

    fn check_block(&self, block: &Block) -> Result<(), HostError> {
        self.check_proposal(block)
    }

    fn commit(&self, block: &Block, cert: &CommitCertificate) -> Result<(), HostError> {
        self.commit_decided(block, cert)
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
