//! Mempool admission: the stateless checks (signatures verified in one batch for a batch
//! submission), then execution against the committed state plus every pending operation's
//! writes; rejections are remembered for status queries.

use std::collections::{BTreeMap, HashMap, VecDeque};

use did_method::chain::Hash;
use did_method::operation::{
    self, CheckedOperation, OpError, RejectKind, Screened, SignedOperation,
};
use did_method::state::{self, BlockContext, Footprint, Overlay, StateView};

use super::{App, MAX_MEMPOOL, now_ms};
use crate::store::{LatestState, StoreError};

/// Rejections remembered for status queries.
const MAX_REJECTED: usize = 100_000;

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

pub(super) struct Pending {
    pub(super) op: CheckedOperation,
    pub(super) footprint: Footprint,
}

pub(super) struct Mempool {
    pub(super) order: VecDeque<Hash>,
    pub(super) ops: HashMap<Hash, Pending>,
    /// Writes of all pending operations over the committed state.
    pub(super) overlay: BTreeMap<String, Vec<u8>>,
    /// Set when operations were dropped outside a commit: the next recheck is a full one.
    pub(super) dirty: bool,
}

pub(super) struct Rejected {
    pub(super) order: VecDeque<Hash>,
    pub(super) map: HashMap<Hash, OpError>,
}

/// Reads pending writes over a committed snapshot.
pub(super) struct MempoolView<'a> {
    pub(super) base: LatestState<'a>,
    pub(super) overlay: &'a BTreeMap<String, Vec<u8>>,
}

impl StateView for MempoolView<'_> {
    fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.overlay
            .get(key)
            .cloned()
            .or_else(|| self.base.get(key))
    }
}

impl App {
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
    pub(super) fn drop_rejected(&self, id: Hash, e: OpError) {
        self.metrics.rejected(e.kind);
        self.remember_rejection(id, e);
    }
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
