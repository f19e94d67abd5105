//! The vault of one profile: a redb database `wallet-<profile>.redb` of sealed records, and
//! the profile's entries in the OS keyring.
//!
//! Tables:
//! - `items`: item id → sealed [`Item`] (associated data `items/<id>`);
//! - `keys`: keyring entry name → its owner: an item id, `""` while reserved for a receive
//!   that has not finished, `"-"` while its item is being deleted. Not secret (random names),
//!   and what makes keyring changes crash-safe: a key is listed here *before* it is written to
//!   the keyring and unlisted only *after* it is removed, so on opening the vault every key
//!   of an unfinished receive or delete is found and removed;
//! - `activity`: sequence number → sealed [`Activity`] entry (associated data
//!   `activity/<n>`);
//! - `meta`: `created`, the PIN verifier and throttle, and the settings (none of them secret).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use did_method::SecretKey;
use keyring_core::CredentialStore;
use rand_core::OsRng;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::keyring::Keyring;
use crate::pin::{PinVerifier, Throttle};
use crate::seal::DataKey;
use crate::{VaultError, profile};

const ITEMS: TableDefinition<&str, &[u8]> = TableDefinition::new("items");
pub(crate) const KEYS: TableDefinition<&str, &str> = TableDefinition::new("keys");
const ACTIVITY: TableDefinition<u64, &[u8]> = TableDefinition::new("activity");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// The keyring entry of the data key that seals this profile's records.
pub(crate) const DATA_KEY: &str = "data-key";
const RESERVED: &str = "";
const DELETING: &str = "-";
/// redb's page cache. Its default (1 GiB) would keep every page read in memory; a wallet reads
/// its records once per unlock, and a few MiB holds the working set (docs/benchmarks.md).
const CACHE_BYTES: usize = 4 << 20;

/// Opens (creating if need be) a profile's database with the wallet's cache size.
pub(crate) fn open_db(path: &Path) -> Result<Database, redb::DatabaseError> {
    redb::Builder::new()
        .set_cache_size(CACHE_BYTES)
        .create(path)
}

/// What the wallet keeps of one credential: its id, the names of its holder keys in the
/// keyring, and the app's record (opaque here).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Item {
    pub id: String,
    pub keys: Vec<String>,
    pub body: Value,
}

/// One line of the activity log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Activity {
    pub seq: u64,
    pub at_ms: u64,
    pub entry: Value,
}

/// Fresh holder keys, written to the keyring and listed as reserved, for a receive in
/// progress: [`Vault::commit_item`] gives them to the received item, [`Vault::release`] (or
/// the next opening, after a crash) removes them.
pub struct Reservation {
    pub keys: Vec<(String, SecretKey)>,
}

/// Everything a backup holds: items, their keys' seeds, the activity log and the settings.
pub struct Snapshot {
    pub items: Vec<Item>,
    pub keys: Vec<(String, Zeroizing<[u8; 32]>)>,
    pub activity: Vec<Activity>,
    pub settings: Value,
}

/// One profile's vault.
pub struct Vault {
    db: Database,
    keyring: Keyring,
    data_key: DataKey,
    dir: PathBuf,
    profile: String,
    pin_lock: Mutex<()>,
}

pub(crate) fn db_path(dir: &Path, profile: &str) -> PathBuf {
    dir.join(format!("wallet-{profile}.redb"))
}

fn corrupt(what: &str) -> VaultError {
    VaultError::Corrupt(what.to_owned())
}

impl Vault {
    /// Opens the wallet in `dir` (creating an empty one), finishing or undoing whatever a
    /// crash interrupted.
    pub fn open(dir: &Path, store: Arc<CredentialStore>) -> Result<Self, VaultError> {
        let id = profile::current_or_new(dir, &store)?;
        Self::open_profile(dir, &id, store)
    }

    pub(crate) fn open_profile(
        dir: &Path,
        id: &str,
        store: Arc<CredentialStore>,
    ) -> Result<Self, VaultError> {
        let keyring = Keyring::new(store, id);
        let db = open_db(&db_path(dir, id))?;
        let tx = db.begin_write()?;
        let fresh = {
            tx.open_table(ITEMS)?;
            tx.open_table(KEYS)?;
            tx.open_table(ACTIVITY)?;
            let meta = tx.open_table(META)?;
            meta.get("created")?.is_none()
        };
        tx.commit()?;
        let data_key = match keyring.get(DATA_KEY) {
            Ok(k) => DataKey::from_bytes(&k).ok_or_else(|| corrupt("the data key"))?,
            Err(VaultError::MissingSecret(_)) if fresh => {
                let k = DataKey::generate();
                keyring.put(DATA_KEY, k.as_bytes())?;
                k
            }
            Err(VaultError::MissingSecret(_)) => return Err(VaultError::DataKeyLost),
            Err(e) => return Err(e),
        };
        let vault = Self {
            db,
            keyring,
            data_key,
            dir: dir.to_owned(),
            profile: id.to_owned(),
            pin_lock: Mutex::new(()),
        };
        if fresh {
            vault.put_meta("created", b"1")?;
        }
        vault.recover_keys()?;
        Ok(vault)
    }

    pub fn profile(&self) -> &str {
        &self.profile
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Removes the keys of receives and deletions a crash interrupted.
    fn recover_keys(&self) -> Result<(), VaultError> {
        let stale: Vec<String> = {
            let tx = self.db.begin_read()?;
            let t = tx.open_table(KEYS)?;
            let mut v = vec![];
            for row in t.iter()? {
                let (k, owner) = row?;
                if owner.value() == RESERVED || owner.value() == DELETING {
                    v.push(k.value().to_owned());
                }
            }
            v
        };
        if stale.is_empty() {
            return Ok(());
        }
        tracing::info!(
            keys = stale.len(),
            "removing the keys of an interrupted receive or deletion"
        );
        self.forget_keys(&stale)
    }

    /// Deletes `names` from the keyring, then unlists them.
    fn forget_keys(&self, names: &[String]) -> Result<(), VaultError> {
        for n in names {
            self.keyring.delete(n)?;
        }
        let tx = self.db.begin_write()?;
        {
            let mut t = tx.open_table(KEYS)?;
            for n in names {
                t.remove(n.as_str())?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// `n` fresh holder keys for a receive, listed as reserved, then written to the keyring.
    pub fn reserve_keys(&self, n: usize) -> Result<Reservation, VaultError> {
        let keys: Vec<(String, SecretKey)> = (0..n)
            .map(|_| {
                (
                    format!("key/{}", uuid::Uuid::new_v4()),
                    SecretKey::generate(&mut OsRng),
                )
            })
            .collect();
        let tx = self.db.begin_write()?;
        {
            let mut t = tx.open_table(KEYS)?;
            for (name, _) in &keys {
                t.insert(name.as_str(), RESERVED)?;
            }
        }
        tx.commit()?;
        let reservation = Reservation { keys };
        let written = reservation.keys.iter().try_for_each(|(name, key)| {
            let seed = Zeroizing::new(key.to_seed_bytes());
            self.keyring.put(name, &*seed)
        });
        match written {
            Ok(()) => Ok(reservation),
            Err(e) => {
                let _ = self.release(reservation);
                Err(e)
            }
        }
    }

    /// Gives up a reservation: its keys leave the keyring.
    pub fn release(&self, reservation: Reservation) -> Result<(), VaultError> {
        let names: Vec<String> = reservation.keys.iter().map(|(n, _)| n.clone()).collect();
        self.forget_keys(&names)
    }

    /// Stores a received item whose keys are exactly the reservation's, in one transaction.
    pub fn commit_item(&self, reservation: Reservation, item: &Item) -> Result<(), VaultError> {
        let mut want: Vec<&str> = reservation.keys.iter().map(|(n, _)| n.as_str()).collect();
        let mut got: Vec<&str> = item.keys.iter().map(String::as_str).collect();
        want.sort_unstable();
        got.sort_unstable();
        if want != got {
            return Err(VaultError::Storage(
                "an item must use exactly the keys reserved for it".into(),
            ));
        }
        let sealed = self.seal_item(item)?;
        let tx = self.db.begin_write()?;
        {
            let mut items = tx.open_table(ITEMS)?;
            if items.get(item.id.as_str())?.is_some() {
                return Err(VaultError::Storage(format!("item {} exists", item.id)));
            }
            items.insert(item.id.as_str(), sealed.as_slice())?;
            let mut keys = tx.open_table(KEYS)?;
            for k in &item.keys {
                keys.insert(k.as_str(), item.id.as_str())?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn seal_item(&self, item: &Item) -> Result<Vec<u8>, VaultError> {
        let json = Zeroizing::new(
            serde_json::to_vec(item).map_err(|e| VaultError::Storage(e.to_string()))?,
        );
        self.data_key
            .seal(format!("items/{}", item.id).as_bytes(), &json)
    }

    fn open_item(&self, id: &str, sealed: &[u8]) -> Result<Item, VaultError> {
        let what = || corrupt(&format!("the stored credential {id}"));
        let json = self
            .data_key
            .open(format!("items/{id}").as_bytes(), sealed)
            .ok_or_else(what)?;
        let item: Item = serde_json::from_slice(&json).map_err(|_| what())?;
        if item.id != id {
            return Err(what());
        }
        Ok(item)
    }

    /// Replaces an item's body (its keys stay as they are).
    pub fn update_item(&self, item: &Item) -> Result<(), VaultError> {
        let old = self.item(&item.id)?;
        if old.keys != item.keys {
            return Err(VaultError::Storage("an item's keys cannot change".into()));
        }
        let sealed = self.seal_item(item)?;
        let tx = self.db.begin_write()?;
        tx.open_table(ITEMS)?
            .insert(item.id.as_str(), sealed.as_slice())?;
        tx.commit()?;
        Ok(())
    }

    pub fn item(&self, id: &str) -> Result<Item, VaultError> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(ITEMS)?;
        let sealed = t
            .get(id)?
            .ok_or_else(|| VaultError::NotFound(format!("credential {id}")))?;
        self.open_item(id, sealed.value())
    }

    /// Every item, in id order.
    pub fn items(&self) -> Result<Vec<Item>, VaultError> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(ITEMS)?;
        let mut out = vec![];
        for row in t.iter()? {
            let (k, v) = row?;
            out.push(self.open_item(k.value(), v.value())?);
        }
        Ok(out)
    }

    pub fn is_empty(&self) -> Result<bool, VaultError> {
        let tx = self.db.begin_read()?;
        Ok(tx.open_table(ITEMS)?.first()?.is_none())
    }

    /// Deletes an item and then its keys from the keyring.
    pub fn delete_item(&self, id: &str) -> Result<(), VaultError> {
        let item = self.item(id)?;
        let tx = self.db.begin_write()?;
        {
            tx.open_table(ITEMS)?.remove(id)?;
            let mut keys = tx.open_table(KEYS)?;
            for k in &item.keys {
                keys.insert(k.as_str(), DELETING)?;
            }
        }
        tx.commit()?;
        self.forget_keys(&item.keys)
    }

    /// A holder key of an item.
    pub fn holder_key(&self, name: &str) -> Result<SecretKey, VaultError> {
        let seed = self.keyring.get(name)?;
        let arr: Zeroizing<[u8; 32]> = Zeroizing::new(
            seed.as_slice()
                .try_into()
                .map_err(|_| corrupt(&format!("the key {name}")))?,
        );
        Ok(SecretKey::from_seed(&arr))
    }

    /// Appends `entry` to the activity log.
    pub fn log(&self, at_ms: u64, entry: Value) -> Result<u64, VaultError> {
        let tx = self.db.begin_write()?;
        let seq = {
            let mut t = tx.open_table(ACTIVITY)?;
            let seq = t.last()?.map(|(k, _)| k.value() + 1).unwrap_or(1);
            let a = Activity { seq, at_ms, entry };
            let json = serde_json::to_vec(&a).map_err(|e| VaultError::Storage(e.to_string()))?;
            let sealed = self
                .data_key
                .seal(format!("activity/{seq}").as_bytes(), &json)?;
            t.insert(seq, sealed.as_slice())?;
            seq
        };
        tx.commit()?;
        Ok(seq)
    }

    /// The activity log, oldest first.
    pub fn activity(&self) -> Result<Vec<Activity>, VaultError> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(ACTIVITY)?;
        let mut out = vec![];
        for row in t.iter()? {
            let (k, v) = row?;
            let seq = k.value();
            let json = self
                .data_key
                .open(format!("activity/{seq}").as_bytes(), v.value())
                .ok_or_else(|| corrupt("the activity log"))?;
            let a: Activity =
                serde_json::from_slice(&json).map_err(|_| corrupt("the activity log"))?;
            out.push(a);
        }
        Ok(out)
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, VaultError> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(META)?;
        Ok(t.get(key)?.map(|v| v.value().to_vec()))
    }

    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), VaultError> {
        let tx = self.db.begin_write()?;
        tx.open_table(META)?.insert(key, value)?;
        tx.commit()?;
        Ok(())
    }

    fn get_meta_json<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, VaultError> {
        match self.get_meta(key)? {
            Some(b) => Ok(Some(
                serde_json::from_slice(&b).map_err(|_| corrupt(&format!("the stored {key}")))?,
            )),
            None => Ok(None),
        }
    }

    fn put_meta_json<T: Serialize>(&self, key: &str, value: &T) -> Result<(), VaultError> {
        let b = serde_json::to_vec(value).map_err(|e| VaultError::Storage(e.to_string()))?;
        self.put_meta(key, &b)
    }

    /// The app's settings (a JSON object; `{}` until set). Not secret.
    pub fn settings(&self) -> Result<Value, VaultError> {
        Ok(self
            .get_meta_json("settings")?
            .unwrap_or_else(|| Value::Object(Default::default())))
    }

    pub fn set_settings(&self, settings: &Value) -> Result<(), VaultError> {
        self.put_meta_json("settings", settings)
    }

    pub fn has_pin(&self) -> Result<bool, VaultError> {
        Ok(self.get_meta("pin")?.is_some())
    }

    /// Sets (or replaces) the PIN; the throttle starts afresh.
    pub fn set_pin(&self, pin: &str) -> Result<(), VaultError> {
        let v = PinVerifier::new(pin)?;
        let _guard = self.pin_lock.lock().map_err(|_| corrupt("the PIN lock"))?;
        self.put_meta_json("pin", &v)?;
        self.put_meta_json("throttle", &Throttle::default())
    }

    /// Checks `pin` at `now_ms`, counting a wrong one. One check at a time, so the throttle
    /// cannot be outrun by parallel guesses.
    pub fn check_pin(&self, pin: &str, now_ms: u64) -> Result<(), VaultError> {
        let _guard = self.pin_lock.lock().map_err(|_| corrupt("the PIN lock"))?;
        let v: PinVerifier = self.get_meta_json("pin")?.ok_or(VaultError::NoPin)?;
        let mut t: Throttle = self.get_meta_json("throttle")?.unwrap_or_default();
        let wait = t.wait_ms(now_ms);
        if wait > 0 {
            return Err(VaultError::Throttled {
                wait_s: wait.div_ceil(1000),
            });
        }
        if v.matches(pin)? {
            if t != Throttle::default() {
                self.put_meta_json("throttle", &Throttle::default())?;
            }
            return Ok(());
        }
        t.record_failure(now_ms);
        self.put_meta_json("throttle", &t)?;
        match t.wait_ms(now_ms) {
            0 => Err(VaultError::WrongPin {
                tries_left: t.free_tries_left(),
            }),
            w => Err(VaultError::Throttled {
                wait_s: w.div_ceil(1000),
            }),
        }
    }

    /// Everything, with the holder keys' seeds, for a backup.
    pub fn snapshot(&self) -> Result<Snapshot, VaultError> {
        let items = self.items()?;
        let mut keys = vec![];
        for item in &items {
            for name in &item.keys {
                let seed = self.keyring.get(name)?;
                let arr: [u8; 32] = seed
                    .as_slice()
                    .try_into()
                    .map_err(|_| corrupt(&format!("the key {name}")))?;
                keys.push((name.clone(), Zeroizing::new(arr)));
            }
        }
        Ok(Snapshot {
            items,
            keys,
            activity: self.activity()?,
            settings: self.settings()?,
        })
    }

    /// Writes a snapshot into this (new, empty) vault: the keys into the keyring after they
    /// are listed, then every record in one transaction.
    pub(crate) fn load(&self, snap: &Snapshot) -> Result<(), VaultError> {
        let tx = self.db.begin_write()?;
        {
            let mut keys = tx.open_table(KEYS)?;
            for (name, _) in &snap.keys {
                keys.insert(name.as_str(), RESERVED)?;
            }
        }
        tx.commit()?;
        for (name, seed) in &snap.keys {
            self.keyring.put(name, &**seed)?;
        }
        let tx = self.db.begin_write()?;
        {
            let mut items = tx.open_table(ITEMS)?;
            let mut keys = tx.open_table(KEYS)?;
            for item in &snap.items {
                items.insert(item.id.as_str(), self.seal_item(item)?.as_slice())?;
                for k in &item.keys {
                    keys.insert(k.as_str(), item.id.as_str())?;
                }
            }
            let mut act = tx.open_table(ACTIVITY)?;
            for a in &snap.activity {
                let json = serde_json::to_vec(a).map_err(|e| VaultError::Storage(e.to_string()))?;
                let sealed = self
                    .data_key
                    .seal(format!("activity/{}", a.seq).as_bytes(), &json)?;
                act.insert(a.seq, sealed.as_slice())?;
            }
            let settings = serde_json::to_vec(&snap.settings)
                .map_err(|e| VaultError::Storage(e.to_string()))?;
            tx.open_table(META)?
                .insert("settings", settings.as_slice())?;
        }
        tx.commit()?;
        Ok(())
    }
}
