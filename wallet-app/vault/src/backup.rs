//! The backup file: every holder key, credential, activity line and setting, sealed under a
//! passphrase.
//!
//! ```json
//! {"header": {"format": "alliance-wallet-backup", "version": 1, "createdMs": …,
//!             "kdf": "argon2id", "kdfParams": {"mKib": 65536, "t": 3, "p": 1},
//!             "salt": "…", "cipher": "xchacha20poly1305"},
//!  "sealed": "<base64url of nonce ‖ ciphertext>"}
//! ```
//!
//! The key is Argon2id of the passphrase with the salt and the parameters written in the
//! header; the header itself is the associated data, so its parameters cannot be changed
//! without the file failing to open. A wrong passphrase and an altered file are the same
//! error; a file that is not a backup, or whose contents do not hang together, is another.
//! Reading a backup changes nothing: [`restore`] touches the wallet only once the whole file
//! has opened and checked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyring_core::CredentialStore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::seal::{DataKey, KdfParams, salt};
use crate::store::{Activity, Item, Snapshot, Vault};
use crate::{VaultError, profile};

pub const FORMAT: &str = "alliance-wallet-backup";
pub const VERSION: u32 = 1;
/// Shortest backup passphrase: it alone protects every key in the file, offline.
pub const MIN_PASSPHRASE_CHARS: usize = 10;
/// Largest backup file read (a wallet of thousands of credentials is a few MiB).
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Header {
    format: String,
    version: u32,
    created_ms: u64,
    kdf: String,
    kdf_params: KdfParams,
    salt: String,
    cipher: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupFile {
    header: Header,
    sealed: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Payload {
    items: Vec<Item>,
    /// Keyring entry name → the key's seed (base64url).
    keys: BTreeMap<String, String>,
    activity: Vec<Activity>,
    settings: Value,
}

fn bad(m: impl Into<String>) -> VaultError {
    VaultError::BadBackup(m.into())
}

/// Refuses a passphrase too short to protect keys offline.
pub fn check_passphrase(passphrase: &str) -> Result<(), VaultError> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(VaultError::PinTooShort {
            min: MIN_PASSPHRASE_CHARS,
        });
    }
    Ok(())
}

/// The backup file of `vault`, sealed under `passphrase`.
pub fn export(vault: &Vault, passphrase: &str, now_ms: u64) -> Result<Vec<u8>, VaultError> {
    check_passphrase(passphrase)?;
    let snap = vault.snapshot()?;
    let payload = Payload {
        items: snap.items,
        keys: snap
            .keys
            .iter()
            .map(|(n, seed)| (n.clone(), URL_SAFE_NO_PAD.encode(seed.as_slice())))
            .collect(),
        activity: snap.activity,
        settings: snap.settings,
    };
    let plain = Zeroizing::new(
        serde_json::to_vec(&payload).map_err(|e| VaultError::Storage(e.to_string()))?,
    );
    // The encoded seeds are secrets too.
    let Payload { keys, .. } = payload;
    drop(keys.into_values().map(Zeroizing::new).collect::<Vec<_>>());
    let s = salt();
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        created_ms: now_ms,
        kdf: "argon2id".into(),
        kdf_params: KdfParams::BACKUP,
        salt: URL_SAFE_NO_PAD.encode(s),
        cipher: "xchacha20poly1305".into(),
    };
    let key = header
        .kdf_params
        .derive(passphrase.as_bytes(), &s)
        .map_err(|e| VaultError::Storage(e.to_string()))?;
    let aad = serde_json::to_vec(&header).map_err(|e| VaultError::Storage(e.to_string()))?;
    let sealed = DataKey::from_bytes(&*key)
        .ok_or_else(|| VaultError::Storage("key derivation".into()))?
        .seal(&aad, &plain)?;
    let file = BackupFile {
        header,
        sealed: URL_SAFE_NO_PAD.encode(sealed),
    };
    let mut out =
        serde_json::to_vec_pretty(&file).map_err(|e| VaultError::Storage(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

/// Opens a backup file and checks that its contents hang together. Changes nothing.
pub fn read(bytes: &[u8], passphrase: &str) -> Result<Snapshot, VaultError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(bad(format!(
            "the file is larger than {} MiB",
            MAX_FILE_BYTES >> 20
        )));
    }
    let file: BackupFile =
        serde_json::from_slice(bytes).map_err(|_| bad("it is not a wallet backup file"))?;
    let h = &file.header;
    if h.format != FORMAT {
        return Err(bad("it is not a wallet backup file"));
    }
    if h.version != VERSION {
        return Err(bad(format!(
            "backup version {} is not supported by this wallet",
            h.version
        )));
    }
    if h.kdf != "argon2id" || h.cipher != "xchacha20poly1305" {
        return Err(bad("unsupported encryption"));
    }
    h.kdf_params
        .check()
        .map_err(|e| bad(format!("unsupported key derivation ({e})")))?;
    let s = URL_SAFE_NO_PAD
        .decode(&h.salt)
        .map_err(|_| bad("the salt is not base64url"))?;
    let sealed = URL_SAFE_NO_PAD
        .decode(&file.sealed)
        .map_err(|_| bad("the sealed part is not base64url"))?;
    let key = h
        .kdf_params
        .derive(passphrase.as_bytes(), &s)
        .map_err(|e| bad(format!("key derivation: {e}")))?;
    let aad = serde_json::to_vec(h).map_err(|e| VaultError::Storage(e.to_string()))?;
    let plain = DataKey::from_bytes(&*key)
        .ok_or_else(|| VaultError::Storage("key derivation".into()))?
        .open(&aad, &sealed)
        .ok_or(VaultError::WrongPassphrase)?;
    let payload: Payload =
        serde_json::from_slice(&plain).map_err(|_| bad("its contents are malformed"))?;
    check(payload)
}

/// A payload's keys decoded, each item's keys present, ids unique.
fn check(payload: Payload) -> Result<Snapshot, VaultError> {
    let mut keys = Vec::with_capacity(payload.keys.len());
    for (name, b64) in payload.keys {
        let raw = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(&b64)
                .map_err(|_| bad(format!("key {name} is malformed")))?,
        );
        let seed: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| bad(format!("key {name} is malformed")))?;
        if !name.starts_with("key/") || name.len() > 100 {
            return Err(bad(format!("key name {name:?} is not the wallet's")));
        }
        keys.push((name, Zeroizing::new(seed)));
    }
    let names: BTreeSet<&str> = keys.iter().map(|(n, _)| n.as_str()).collect();
    let mut ids = BTreeSet::new();
    let mut used = BTreeSet::new();
    for item in &payload.items {
        if item.id.is_empty() || item.id.len() > 200 || !ids.insert(item.id.as_str()) {
            return Err(bad(format!(
                "credential id {:?} is empty, long or repeated",
                item.id
            )));
        }
        for k in &item.keys {
            if !names.contains(k.as_str()) || !used.insert(k.as_str()) {
                return Err(bad(format!(
                    "credential {} needs key {k}, which the file lacks or shares",
                    item.id
                )));
            }
        }
    }
    let mut seqs = BTreeSet::new();
    for a in &payload.activity {
        if !seqs.insert(a.seq) {
            return Err(bad("the activity log repeats an entry"));
        }
    }
    // Keys no credential uses are not restored.
    keys.retain(|(n, _)| used.contains(n.as_str()));
    Ok(Snapshot {
        items: payload.items,
        keys,
        activity: payload.activity,
        settings: payload.settings,
    })
}

/// Restores a backup into the wallet directory `dir`: the file is opened and checked first
/// (a wrong passphrase or a damaged file changes nothing), then a new profile is built and
/// switched to ([`profile`]). Unless `replace`, a wallet that holds credentials is not
/// replaced. No [`Vault`] of `dir` may be open.
pub fn restore(
    dir: &Path,
    store: &Arc<CredentialStore>,
    bytes: &[u8],
    passphrase: &str,
    replace: bool,
) -> Result<Vault, VaultError> {
    let snap = read(bytes, passphrase)?;
    profile::restore(dir, store, &snap, replace)
}
