//! Which profile the wallet directory holds, and switching to another one in one step.
//!
//! `profile.json` names the current profile; its records are in `wallet-<id>.redb` and its
//! secrets in keyring entries `<id>/…`. A restore builds a *new* profile beside the current
//! one and then renames a new `profile.json` over the old: that rename is the switch. Before
//! it begins, `switch.json` records `{from, to}`; whoever opens the directory next (this
//! process, or the next start after a crash) finishes the job: if the switch happened, the
//! old profile's database and keyring entries are removed; if not, the half-built new one's
//! are. A crash at any point therefore leaves the old wallet or the new one, whole.
//! Wiping is a switch to no profile.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use keyring_core::CredentialStore;
use redb::{Database, ReadableDatabase, ReadableTable};
use serde::{Deserialize, Serialize};

use crate::VaultError;
use crate::keyring::Keyring;
use crate::store::{DATA_KEY, KEYS, Snapshot, Vault, db_path};

const PROFILE: &str = "profile.json";
const SWITCH: &str = "switch.json";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    profile: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Switch {
    from: Option<String>,
    to: Option<String>,
}

fn ensure_dir(dir: &Path) -> Result<(), VaultError> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    Ok(())
}

/// Writes `bytes` to `dir/name` atomically and durably (temp file, fsync, rename, fsync of
/// the directory).
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), VaultError> {
    let tmp = dir.join(format!("{name}.tmp"));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, dir.join(name))?;
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}

fn remove_durably(dir: &Path, name: &str) -> Result<(), VaultError> {
    match fs::remove_file(dir.join(name)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}

fn read_json<T: serde::de::DeserializeOwned>(
    dir: &Path,
    name: &str,
) -> Result<Option<T>, VaultError> {
    match fs::read(dir.join(name)) {
        Ok(b) => Ok(Some(
            serde_json::from_slice(&b).map_err(|_| VaultError::Corrupt(name.to_owned()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn read_profile(dir: &Path) -> Result<Option<String>, VaultError> {
    let p: Option<ProfileFile> = read_json(dir, PROFILE)?;
    match p {
        Some(p) if valid_id(&p.profile) => Ok(Some(p.profile)),
        Some(_) => Err(VaultError::Corrupt(PROFILE.into())),
        None => Ok(None),
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn write_profile(dir: &Path, id: &str) -> Result<(), VaultError> {
    let json = serde_json::to_vec(&ProfileFile {
        profile: id.to_owned(),
    })
    .map_err(|e| VaultError::Storage(e.to_string()))?;
    write_atomic(dir, PROFILE, &json)
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The current profile's id, after finishing an interrupted switch; a new empty profile's
/// when the directory holds none.
pub(crate) fn current_or_new(
    dir: &Path,
    store: &Arc<CredentialStore>,
) -> Result<String, VaultError> {
    ensure_dir(dir)?;
    finish_switch(dir, store)?;
    match read_profile(dir)? {
        Some(id) => Ok(id),
        None => {
            let id = new_id();
            write_profile(dir, &id)?;
            Ok(id)
        }
    }
}

/// Completes or undoes the switch `switch.json` records, if any.
fn finish_switch(dir: &Path, store: &Arc<CredentialStore>) -> Result<(), VaultError> {
    let Some(sw) = read_json::<Switch>(dir, SWITCH)? else {
        return Ok(());
    };
    let current = read_profile(dir)?;
    let stale = if current == sw.to { sw.from } else { sw.to };
    if let Some(id) = stale.filter(|id| valid_id(id) && Some(id) != current.as_ref()) {
        tracing::info!(profile = %id, "removing a profile left by a restore or wipe");
        remove_profile(dir, &id, store)?;
    }
    remove_durably(dir, SWITCH)
}

/// Removes a profile's keyring entries, then its database.
fn remove_profile(dir: &Path, id: &str, store: &Arc<CredentialStore>) -> Result<(), VaultError> {
    let keyring = Keyring::new(store.clone(), id);
    let path = db_path(dir, id);
    let mut names = vec![DATA_KEY.to_owned()];
    if path.exists() {
        // The key names are not sealed: they can be read without the data key.
        if let Ok(db) = Database::open(&path)
            && let Ok(tx) = db.begin_read()
            && let Ok(t) = tx.open_table(KEYS)
            && let Ok(rows) = t.iter()
        {
            names.extend(rows.flatten().map(|(k, _)| k.value().to_owned()));
        }
    }
    for n in &names {
        keyring.delete(n)?;
    }
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Replaces the current profile by a new one holding `snap`. Unless `replace`, refuses when
/// the current profile holds any item. No [`Vault`] of `dir` may be open.
pub(crate) fn restore(
    dir: &Path,
    store: &Arc<CredentialStore>,
    snap: &Snapshot,
    replace: bool,
) -> Result<Vault, VaultError> {
    ensure_dir(dir)?;
    finish_switch(dir, store)?;
    let from = read_profile(dir)?;
    if let Some(id) = &from
        && !replace
        && !Vault::open_profile(dir, id, store.clone())?.is_empty()?
    {
        return Err(VaultError::NotEmpty);
    }
    let to = new_id();
    let sw = serde_json::to_vec(&Switch {
        from: from.clone(),
        to: Some(to.clone()),
    })
    .map_err(|e| VaultError::Storage(e.to_string()))?;
    write_atomic(dir, SWITCH, &sw)?;
    {
        let fresh = Vault::open_profile(dir, &to, store.clone())?;
        fresh.load(snap)?;
    }
    write_profile(dir, &to)?;
    finish_switch(dir, store)?;
    Vault::open_profile(dir, &to, store.clone())
}

/// Removes the wallet: every key from the keyring and every record. No [`Vault`] of `dir`
/// may be open.
pub fn wipe(dir: &Path, store: &Arc<CredentialStore>) -> Result<(), VaultError> {
    if !dir.exists() {
        return Ok(());
    }
    finish_switch(dir, store)?;
    let Some(from) = read_profile(dir)? else {
        return Ok(());
    };
    let sw = serde_json::to_vec(&Switch {
        from: Some(from),
        to: None,
    })
    .map_err(|e| VaultError::Storage(e.to_string()))?;
    write_atomic(dir, SWITCH, &sw)?;
    remove_durably(dir, PROFILE)?;
    finish_switch(dir, store)
}
