//! Undecided blocks: the blocks this node built or received for heights not yet committed.
//!
//! Malachite's WAL records consensus messages and proposed *values* — here block ids — but
//! not the blocks. After a crash the node must still be able to (a) propose the very same
//! block again for a (height, round) it already proposed at (otherwise Malachite detects a
//! conflicting re-derived proposal and halts), (b) re-stream a block to peers, and (c) commit
//! a decided block. So blocks are kept on disk under `home/wal/proposals/` until their height
//! is committed:
//! - `h<height>-<block id>.block`: the encoded block (written once, via a temporary file and
//!   a rename);
//! - `h<height>.log`: appended records `[u32 length][flag][proposed value]`, one per value
//!   seen (flag 1: built by us for that round). A torn last record is ignored on load.
//!
//! Blocks we build are fsync'ed before we propose them; received blocks are not (a process
//! crash keeps them; after a machine crash they are fetched again through sync).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use did_method::chain::Block;
use malachitebft_app_channel::app::consensus::ProposedValue;
use malachitebft_app_channel::app::types::core::Validity;
use tracing::{debug, warn};

use super::codec::{decode_proposed_value, encode_proposed_value};
use super::types::{AllianceContext, BlockId};

type Pv = ProposedValue<AllianceContext>;

/// Blocks and proposed values for heights not yet committed.
pub struct ProposalStore {
    dir: PathBuf,
    blocks: BTreeMap<(u64, BlockId), Arc<Block>>,
    /// Proposed values by (height, round).
    values: BTreeMap<(u64, u32), Vec<Pv>>,
    /// Validity of each (height, block), once checked.
    validity: BTreeMap<(u64, BlockId), Validity>,
    /// The block this node built for (height, round).
    built: BTreeMap<(u64, u32), BlockId>,
    /// Heights that have files on disk.
    heights_on_disk: BTreeSet<u64>,
}

fn log_path(dir: &Path, height: u64) -> PathBuf {
    dir.join(format!("h{height:020}.log"))
}

fn block_path(dir: &Path, height: u64, id: &BlockId) -> PathBuf {
    dir.join(format!("h{height:020}-{}.block", id.0.to_hex()))
}

/// Parses `h<20 digits>...` file names.
fn height_of(name: &str) -> Option<u64> {
    name.strip_prefix('h')?.get(..20)?.parse().ok()
}

impl ProposalStore {
    /// Opens (creating) the store in `dir`, dropping everything below `min_height`.
    pub fn open(dir: PathBuf, min_height: u64) -> io::Result<Self> {
        fs::create_dir_all(&dir)?;
        let mut store = Self {
            dir,
            blocks: BTreeMap::new(),
            values: BTreeMap::new(),
            validity: BTreeMap::new(),
            built: BTreeMap::new(),
            heights_on_disk: BTreeSet::new(),
        };
        let mut entries: Vec<PathBuf> = fs::read_dir(&store.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for path in entries {
            let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
                continue;
            };
            let Some(height) = height_of(&name) else {
                continue;
            };
            if height < min_height || name.ends_with(".tmp") {
                let _ = fs::remove_file(&path);
                continue;
            }
            store.heights_on_disk.insert(height);
            if name.ends_with(".block") {
                store.load_block(&path, height);
            } else if name.ends_with(".log") {
                store.load_log(&path)?;
            }
        }
        debug!(blocks = store.blocks.len(), "proposal store opened");
        Ok(store)
    }

    fn load_block(&mut self, path: &Path, height: u64) {
        let loaded = fs::read(path).ok().and_then(|b| Block::decode(&b).ok());
        match loaded {
            Some(block) if block.header.height == height => {
                let id = BlockId(block.id());
                if block_path(&self.dir, height, &id) == path {
                    self.blocks.insert((height, id), Arc::new(block));
                    return;
                }
                warn!(path = %path.display(), "stored block does not match its file name; removed");
            }
            _ => warn!(path = %path.display(), "unreadable stored block; removed"),
        }
        let _ = fs::remove_file(path);
    }

    fn load_log(&mut self, path: &Path) -> io::Result<()> {
        let mut buf = Vec::new();
        File::open(path)?.read_to_end(&mut buf)?;
        let mut rest = buf.as_slice();
        while let Some((len, tail)) = rest.split_first_chunk::<4>() {
            let len = u32::from_be_bytes(*len) as usize;
            let Some(record) = tail.get(..len) else { break };
            rest = &tail[len..];
            let Some((&flag, body)) = record.split_first() else {
                continue;
            };
            match decode_proposed_value(body) {
                Ok(pv) => self.remember(pv, flag == 1),
                Err(e) => {
                    warn!(path = %path.display(), error = %e, "skipping bad proposal log record")
                }
            }
        }
        Ok(())
    }

    fn remember(&mut self, pv: Pv, built: bool) {
        let Some(round) = pv.round.as_u32() else {
            return;
        };
        let key = (pv.height.0, round);
        if built {
            self.built.insert(key, pv.value);
        }
        self.validity
            .entry((pv.height.0, pv.value))
            .or_insert(pv.validity);
        let list = self.values.entry(key).or_default();
        if !list.iter().any(|v| v == &pv) {
            list.push(pv);
        }
    }

    /// Stores a block (once). `durable`: fsync before returning.
    pub fn insert_block(&mut self, block: &Block, durable: bool) -> io::Result<Arc<Block>> {
        let height = block.header.height;
        let id = BlockId(block.id());
        if let Some(b) = self.blocks.get(&(height, id)) {
            return Ok(b.clone());
        }
        let path = block_path(&self.dir, height, &id);
        let tmp = path.with_extension("block.tmp");
        {
            let mut f = File::create(&tmp)?;
            f.write_all(&block.encode())?;
            if durable {
                f.sync_all()?;
            }
        }
        fs::rename(&tmp, &path)?;
        if durable {
            // Make the rename itself durable.
            if let Ok(d) = File::open(&self.dir) {
                let _ = d.sync_all();
            }
        }
        self.heights_on_disk.insert(height);
        let block = Arc::new(block.clone());
        self.blocks.insert((height, id), block.clone());
        Ok(block)
    }

    /// Records a proposed value (and whether we built it). `durable`: fsync before returning.
    pub fn record_value(&mut self, pv: &Pv, built: bool, durable: bool) -> io::Result<()> {
        let body = encode_proposed_value(pv);
        let mut record = Vec::with_capacity(body.len() + 5);
        let len = u32::try_from(body.len() + 1).map_err(io::Error::other)?;
        record.extend_from_slice(&len.to_be_bytes());
        record.push(u8::from(built));
        record.extend_from_slice(&body);
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path(&self.dir, pv.height.0))?;
        f.write_all(&record)?;
        if durable {
            f.sync_data()?;
        }
        self.heights_on_disk.insert(pv.height.0);
        self.remember(pv.clone(), built);
        Ok(())
    }

    pub fn block(&self, height: u64, id: &BlockId) -> Option<Arc<Block>> {
        self.blocks.get(&(height, *id)).cloned()
    }

    /// The block this node built for (height, round), if any.
    pub fn built(&self, height: u64, round: u32) -> Option<Arc<Block>> {
        let id = self.built.get(&(height, round))?;
        self.block(height, id)
    }

    /// Validity recorded for a block, if it was checked before.
    pub fn validity(&self, height: u64, id: &BlockId) -> Option<Validity> {
        self.validity.get(&(height, *id)).copied()
    }

    /// The proposed values seen for (height, round) whose block we hold.
    pub fn values(&self, height: u64, round: u32) -> Vec<Pv> {
        self.values
            .get(&(height, round))
            .map(|list| {
                list.iter()
                    .filter(|pv| self.blocks.contains_key(&(height, pv.value)))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Forgets (and deletes) everything below `height`.
    pub fn prune_below(&mut self, height: u64) {
        self.blocks = self
            .blocks
            .split_off(&(height, BlockId(did_method::chain::Hash::ZERO)));
        self.values = self.values.split_off(&(height, 0));
        self.validity = self
            .validity
            .split_off(&(height, BlockId(did_method::chain::Hash::ZERO)));
        self.built = self.built.split_off(&(height, 0));
        let keep = self.heights_on_disk.split_off(&height);
        let old = std::mem::replace(&mut self.heights_on_disk, keep);
        if old.is_empty() {
            return;
        }
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if let Some(h) = name.to_str().and_then(height_of)
                && h < height
            {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::types::{Address, Height};
    use did_method::chain::{ChainId, Hash, Header, operations_root};
    use did_method::crypto::SecretKey;
    use malachitebft_app_channel::app::types::core::Round;

    fn block(height: u64, t: u64) -> Block {
        let pk = SecretKey::from_seed(&[1; 32]).public_key();
        Block {
            header: Header {
                chain_id: ChainId::new("alliance-test").unwrap(),
                height,
                time_ms: t,
                prev_hash: Hash::ZERO,
                operations_root: operations_root(&[]),
                state_root: Hash::ZERO,
                validators_hash: Hash::ZERO,
                next_validators_hash: Hash::ZERO,
                proposer: pk,
            },
            operations: vec![],
        }
    }

    fn pv(b: &Block, round: u32) -> Pv {
        ProposedValue {
            height: Height(b.header.height),
            round: Round::new(round),
            valid_round: Round::Nil,
            proposer: Address(b.header.proposer),
            value: BlockId(b.id()),
            validity: Validity::Valid,
        }
    }

    #[test]
    fn survives_reopen_and_prunes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("proposals");
        let (b5, b6, b6b) = (block(5, 1), block(6, 2), block(6, 3));
        {
            let mut s = ProposalStore::open(path.clone(), 1).unwrap();
            s.insert_block(&b5, true).unwrap();
            s.record_value(&pv(&b5, 0), true, true).unwrap();
            s.insert_block(&b6, false).unwrap();
            s.record_value(&pv(&b6, 1), false, false).unwrap();
            s.record_value(&pv(&b6, 1), false, false).unwrap(); // duplicate
            s.insert_block(&b6b, false).unwrap();
            // A torn record at the end of the log is ignored.
            let mut f = OpenOptions::new()
                .append(true)
                .open(log_path(&path, 6))
                .unwrap();
            f.write_all(&[0, 0, 0, 50, 1, 2]).unwrap();
        }
        let mut s = ProposalStore::open(path.clone(), 1).unwrap();
        assert_eq!(s.built(5, 0).unwrap().id(), b5.id());
        assert!(s.built(5, 1).is_none());
        assert_eq!(s.values(6, 1), vec![pv(&b6, 1)]);
        assert!(s.block(6, &BlockId(b6b.id())).is_some());
        assert_eq!(s.validity(6, &BlockId(b6.id())), Some(Validity::Valid));

        s.prune_below(6);
        assert!(s.block(5, &BlockId(b5.id())).is_none());
        assert!(s.block(6, &BlockId(b6.id())).is_some());
        let names: Vec<String> = fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.starts_with(&format!("h{:020}", 5))),
            "{names:?}"
        );

        // Opening with a higher minimum height drops the rest.
        let s = ProposalStore::open(path.clone(), 7).unwrap();
        assert!(s.block(6, &BlockId(b6.id())).is_none());
        assert_eq!(fs::read_dir(&path).unwrap().count(), 0);
    }
}
