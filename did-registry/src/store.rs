//! Persistent storage of a node: the versioned Merkle state (a Jellyfish Merkle tree, one
//! version per block height), decided blocks with their commit certificates, the index of
//! committed operations, and the heights where the validator set changed.
//!
//! Everything a block changes is written in one redb write transaction, so after a crash
//! the store holds either the whole block or none of it.

use std::path::Path;

use did_method::chain::{Block, CommitCertificate, Hash, ValidatorSet};
use did_method::state::StateView;
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader, TreeUpdateBatch};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, Version};
use std::sync::OnceLock;

use redb::{Database, ReadOnlyTable, ReadTransaction, ReadableDatabase, TableDefinition};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

const NODES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("jmt_nodes");
/// key hash ‖ version (big-endian) → value (empty slice with tag 0 = deleted)
const VALUES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("jmt_values");
const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
/// height → header (JSON): read by proofs without decoding whole blocks
const HEADERS: TableDefinition<u64, &[u8]> = TableDefinition::new("headers");
const CERTS: TableDefinition<u64, &[u8]> = TableDefinition::new("certificates");
const OPS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("operations");
/// height of a block that changed the validator set → the new set (JSON)
const VALSETS: TableDefinition<u64, &[u8]> = TableDefinition::new("validator_changes");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(String),
    #[error("corrupt record: {0}")]
    Corrupt(String),
    #[error("merkle tree: {0}")]
    Tree(String),
}

macro_rules! db_err {
    ($($t:ty),*) => { $(impl From<$t> for StoreError { fn from(e: $t) -> Self { StoreError::Db(e.to_string()) } })* };
}
db_err!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// Where a committed operation landed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OpLocation {
    pub height: u64,
    pub index: u32,
}

/// Everything one decided block writes.
pub struct BlockCommit<'a> {
    pub block: &'a Block,
    pub certificate: &'a CommitCertificate,
    pub tree: TreeUpdateBatch,
    pub new_validators: Option<&'a ValidatorSet>,
}

pub struct Store {
    db: Database,
}

fn value_key(key_hash: &KeyHash, version: Version) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(&key_hash.0);
    k[32..].copy_from_slice(&version.to_be_bytes());
    k
}

pub fn key_hash(key: &str) -> KeyHash {
    KeyHash::with::<Sha256>(key.as_bytes())
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path)?;
        let tx = db.begin_write()?;
        {
            tx.open_table(NODES)?;
            tx.open_table(VALUES)?;
            tx.open_table(BLOCKS)?;
            tx.open_table(HEADERS)?;
            tx.open_table(CERTS)?;
            tx.open_table(OPS)?;
            tx.open_table(VALSETS)?;
            tx.open_table(META)?;
        }
        tx.commit()?;
        Ok(Self { db })
    }

    /// A consistent snapshot for reads.
    pub fn reader(&self) -> Result<Snapshot, StoreError> {
        Ok(Snapshot {
            tx: self.db.begin_read()?,
            nodes: OnceLock::new(),
            values: OnceLock::new(),
            ops: OnceLock::new(),
        })
    }

    /// Writes the genesis state as version 0. Does nothing if already initialized.
    pub fn init_genesis(&self, state: &[(String, Vec<u8>)]) -> Result<Hash, StoreError> {
        let snap = self.reader()?;
        if let Some(root) = snap.state_root(0)? {
            return Ok(root);
        }
        let tree = JellyfishMerkleTree::<_, Sha256>::new(&snap);
        let (root, batch) = tree
            .put_value_set(state.iter().map(|(k, v)| (key_hash(k), Some(v.clone()))), 0)
            .map_err(|e| StoreError::Tree(e.to_string()))?;
        drop(snap);
        let tx = self.db.begin_write()?;
        write_tree(&tx, &batch)?;
        tx.commit()?;
        Ok(Hash(root.0))
    }

    /// Atomically writes a decided block, its certificate and its state changes.
    pub fn commit_block(&self, c: BlockCommit<'_>) -> Result<(), StoreError> {
        let height = c.block.header.height;
        let tx = self.db.begin_write()?;
        write_tree(&tx, &c.tree)?;
        {
            let mut blocks = tx.open_table(BLOCKS)?;
            blocks.insert(height, c.block.encode().as_slice())?;
            let mut headers = tx.open_table(HEADERS)?;
            let header = serde_json::to_vec(&c.block.header)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            headers.insert(height, header.as_slice())?;
            let mut certs = tx.open_table(CERTS)?;
            let cert = serde_json::to_vec(c.certificate)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            certs.insert(height, cert.as_slice())?;
            let mut ops = tx.open_table(OPS)?;
            for (index, op) in c.block.operations.iter().enumerate() {
                let loc = serde_json::to_vec(&OpLocation {
                    height,
                    index: index as u32,
                })
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                ops.insert(op.id().0.as_slice(), loc.as_slice())?;
            }
            if let Some(v) = c.new_validators {
                let mut vs = tx.open_table(VALSETS)?;
                let json = serde_json::to_vec(v).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                vs.insert(height, json.as_slice())?;
            }
            let mut meta = tx.open_table(META)?;
            meta.insert("height", height.to_be_bytes().as_slice())?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn write_tree(tx: &redb::WriteTransaction, batch: &TreeUpdateBatch) -> Result<(), StoreError> {
    let mut nodes = tx.open_table(NODES)?;
    for (k, n) in batch.node_batch.nodes() {
        let kb = borsh::to_vec(k).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let nb = borsh::to_vec(n).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        nodes.insert(kb.as_slice(), nb.as_slice())?;
    }
    let mut values = tx.open_table(VALUES)?;
    for ((version, kh), v) in batch.node_batch.values() {
        let mut stored = Vec::with_capacity(v.as_ref().map_or(1, |v| v.len() + 1));
        match v {
            Some(v) => {
                stored.push(1);
                stored.extend_from_slice(v);
            }
            None => stored.push(0),
        }
        values.insert(value_key(kh, *version).as_slice(), stored.as_slice())?;
    }
    Ok(())
}

/// A read snapshot of the store. Implements the Merkle tree's reader and the state view
/// at the latest committed version.
pub struct Snapshot {
    tx: ReadTransaction,
    /// The tables read most, opened once per snapshot: opening one looks it up in redb's
    /// table tree, and the Merkle tree reads a node per level of every key a block writes.
    nodes: OnceLock<ReadOnlyTable<&'static [u8], &'static [u8]>>,
    values: OnceLock<ReadOnlyTable<&'static [u8], &'static [u8]>>,
    ops: OnceLock<ReadOnlyTable<&'static [u8], &'static [u8]>>,
}

/// `table`'s open form in `slot`, opened on first use.
fn opened<'s>(
    tx: &ReadTransaction,
    slot: &'s OnceLock<ReadOnlyTable<&'static [u8], &'static [u8]>>,
    table: TableDefinition<'static, &'static [u8], &'static [u8]>,
) -> Result<&'s ReadOnlyTable<&'static [u8], &'static [u8]>, StoreError> {
    if let Some(t) = slot.get() {
        return Ok(t);
    }
    let t = tx.open_table(table)?;
    Ok(slot.get_or_init(|| t))
}

impl Snapshot {
    /// Last committed block height (0 before the first block).
    pub fn height(&self) -> Result<u64, StoreError> {
        let meta = self.tx.open_table(META)?;
        Ok(match meta.get("height")? {
            Some(v) => {
                let b: [u8; 8] = v
                    .value()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("meta height".into()))?;
                u64::from_be_bytes(b)
            }
            None => 0,
        })
    }

    pub fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        let t = self.tx.open_table(BLOCKS)?;
        t.get(height)?
            .map(|v| Block::decode(v.value()).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }

    pub fn header(&self, height: u64) -> Result<Option<did_method::Header>, StoreError> {
        let t = self.tx.open_table(HEADERS)?;
        t.get(height)?
            .map(|v| {
                serde_json::from_slice(v.value()).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .transpose()
    }

    pub fn header_raw(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let t = self.tx.open_table(HEADERS)?;
        Ok(t.get(height)?.map(|v| v.value().to_vec()))
    }

    pub fn certificate_raw(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let t = self.tx.open_table(CERTS)?;
        Ok(t.get(height)?.map(|v| v.value().to_vec()))
    }

    pub fn certificate(&self, height: u64) -> Result<Option<CommitCertificate>, StoreError> {
        let t = self.tx.open_table(CERTS)?;
        t.get(height)?
            .map(|v| {
                serde_json::from_slice(v.value()).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .transpose()
    }

    pub fn operation(&self, id: &Hash) -> Result<Option<OpLocation>, StoreError> {
        let t = opened(&self.tx, &self.ops, OPS)?;
        t.get(id.0.as_slice())?
            .map(|v| {
                serde_json::from_slice(v.value()).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .transpose()
    }

    /// Blocks that changed the validator set, with the new set, in height order, up to `max_height`.
    pub fn validator_changes(
        &self,
        max_height: u64,
    ) -> Result<Vec<(u64, ValidatorSet)>, StoreError> {
        let t = self.tx.open_table(VALSETS)?;
        let mut out = vec![];
        for entry in t.range(..=max_height)? {
            let (h, v) = entry?;
            let set = serde_json::from_slice(v.value())
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            out.push((h.value(), set));
        }
        Ok(out)
    }

    pub fn state_root(&self, version: u64) -> Result<Option<Hash>, StoreError> {
        let tree = JellyfishMerkleTree::<_, Sha256>::new(self);
        tree.get_root_hash_option(version)
            .map(|r| r.map(|r| Hash(r.0)))
            .map_err(|e| StoreError::Tree(e.to_string()))
    }

    /// Value of `key` at `version` (latest value at or before it).
    pub fn get_at(&self, key: &str, version: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.value_option(version, key_hash(key))
    }

    /// Value of `key` at `version`, with its Merkle proof against that version's root.
    pub fn get_with_proof(
        &self,
        key: &str,
        version: u64,
    ) -> Result<(Option<Vec<u8>>, jmt::proof::SparseMerkleProof<Sha256>), StoreError> {
        let tree = JellyfishMerkleTree::<_, Sha256>::new(self);
        tree.get_with_proof(key_hash(key), version)
            .map_err(|e| StoreError::Tree(e.to_string()))
    }

    fn value_option(
        &self,
        max_version: Version,
        kh: KeyHash,
    ) -> Result<Option<OwnedValue>, StoreError> {
        let t = opened(&self.tx, &self.values, VALUES)?;
        let lo = value_key(&kh, 0);
        let hi = value_key(&kh, max_version);
        let mut range = t.range(lo.as_slice()..=hi.as_slice())?;
        match range.next_back() {
            Some(entry) => {
                let (_, v) = entry?;
                let v = v.value();
                match v.split_first() {
                    Some((1, rest)) => Ok(Some(rest.to_vec())),
                    Some((0, _)) => Ok(None),
                    _ => Err(StoreError::Corrupt("value tag".into())),
                }
            }
            None => Ok(None),
        }
    }
}

impl TreeReader for Snapshot {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let t = opened(&self.tx, &self.nodes, NODES)?;
        let kb = borsh::to_vec(node_key)?;
        match t.get(kb.as_slice())? {
            Some(v) => Ok(Some(borsh::from_slice(v.value())?)),
            None => Ok(None),
        }
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Ok(self.value_option(max_version, key_hash)?)
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        anyhow::bail!("tree restoration is not supported by this store")
    }
}

/// The latest committed state, as the state machine reads it.
///
/// The state machine's reads cannot fail, but storage can: a failed read is recorded, and
/// callers must check [`LatestState::read_error`] after executing, so that a storage failure
/// is reported as such and never mistaken for an absent record.
pub struct LatestState<'a> {
    snapshot: &'a Snapshot,
    version: u64,
    read_error: std::cell::RefCell<Option<String>>,
}

impl<'a> LatestState<'a> {
    pub fn new(snapshot: &'a Snapshot, version: u64) -> Self {
        Self {
            snapshot,
            version,
            read_error: std::cell::RefCell::new(None),
        }
    }

    /// The first storage error met while reading, if any.
    pub fn read_error(&self) -> Option<String> {
        self.read_error.borrow().clone()
    }
}

impl StateView for LatestState<'_> {
    fn get(&self, key: &str) -> Option<Vec<u8>> {
        match self.snapshot.get_at(key, self.version) {
            Ok(v) => v,
            Err(e) => {
                let mut slot = self.read_error.borrow_mut();
                if slot.is_none() {
                    *slot = Some(format!("reading {key}: {e}"));
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_state_is_persistent_and_provable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        let state = vec![
            ("a".to_string(), b"1".to_vec()),
            ("b".to_string(), b"2".to_vec()),
        ];
        let root = {
            let store = Store::open(&path).unwrap();
            store.init_genesis(&state).unwrap()
        };
        let store = Store::open(&path).unwrap();
        assert_eq!(store.init_genesis(&state).unwrap(), root);
        let snap = store.reader().unwrap();
        assert_eq!(snap.height().unwrap(), 0);
        let (v, proof) = snap.get_with_proof("a", 0).unwrap();
        assert_eq!(v.as_deref(), Some(&b"1"[..]));
        proof
            .verify_existence(jmt::RootHash(root.0), key_hash("a"), b"1")
            .unwrap();
        let (v, proof) = snap.get_with_proof("zzz", 0).unwrap();
        assert!(v.is_none());
        proof
            .verify_nonexistence(jmt::RootHash(root.0), key_hash("zzz"))
            .unwrap();
    }
}
