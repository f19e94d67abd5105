//! The reads the HTTP API serves: operation status, validator sets, registry proofs (built
//! from stored JSON, with the part shared by every key at a height cached for the last few
//! heights), checkpoints, DID and other records, blocks and headers.

use did_method::Did;
use did_method::chain::{Block, CommitCertificate, Hash, Header, ValidatorSet};
use did_method::proof::ValidatorUpdate;
use did_method::state::{self, DidRecord};

use super::{App, AppError, OpStatus};
use crate::store::{OpLocation, Snapshot, StoreError};

impl App {
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
