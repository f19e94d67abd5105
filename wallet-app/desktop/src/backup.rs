//! Backing up and restoring the whole wallet (`wallet_vault::backup`): the holder chooses a
//! passphrase; the file goes to the documents folder. Restoring replaces the wallet only
//! once the file has opened with its passphrase and checked whole. A wallet whose key is gone
//! from the keyring can be restored over, or replaced by an empty one.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use wallet_vault::{Vault, backup};

use crate::error::Failure;
use crate::present::write_document;
use crate::state::{Wallet, now_ms};

/// Largest backup file accepted from the interface (base64 text).
const MAX_FILE_B64: usize = backup::MAX_FILE_BYTES / 3 * 4 + 4;

pub async fn create(wallet: &Wallet, passphrase: String) -> Result<String, Failure> {
    let vault = wallet.vault()?;
    let bytes = tokio::task::spawn_blocking(move || backup::export(&vault, &passphrase, now_ms()))
        .await
        .map_err(Failure::internal)??;
    let name = format!(
        "alliance-wallet-backup-{}.json",
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    );
    let path = write_document(wallet, &name, &bytes)?;
    wallet.update_settings(|s| {
        s["backedUp"] = json!(true);
        s["backupReminder"] = json!(false);
    })?;
    wallet.log(json!({"kind": "backup", "counterparty": "", "credential": "", "claims": [path]}));
    Ok(path)
}

/// Restores a backup; returns how many credentials it held. The restored wallet has no PIN
/// yet: the holder chooses one next (this is also how a forgotten PIN is recovered).
pub async fn restore(
    wallet: &Wallet,
    file_b64: String,
    passphrase: String,
    replace: bool,
) -> Result<usize, Failure> {
    if file_b64.len() > MAX_FILE_B64 {
        return Err(Failure::new(
            "bad_backup",
            "this file is too large to be a wallet backup",
        ));
    }
    let bytes = STANDARD
        .decode(file_b64.trim())
        .map_err(|_| Failure::new("bad_backup", "the file could not be read"))?;
    // Checked whole before anything changes (a wrong passphrase touches nothing).
    let check = bytes.clone();
    let pass = passphrase.clone();
    let snap = tokio::task::spawn_blocking(move || backup::read(&check, &pass))
        .await
        .map_err(Failure::internal)??;
    let count = snap.items.len();
    drop(snap);
    let store = wallet.store()?;
    let _writer = wallet.writer.lock().await;
    // An unreadable wallet (its key lost) may hold anything: replacing it needs consent too.
    if !replace && (wallet.unreadable().is_some() || !wallet.vault_any()?.is_empty()?) {
        return Err(wallet_vault::VaultError::NotEmpty.into());
    }
    // The vault's database must be closed while its directory switches profiles.
    wallet.set_vault(None);
    let dir = wallet.dir().to_owned();
    let result = tokio::task::spawn_blocking(move || {
        let restored = backup::restore(&dir, &store, &bytes, &passphrase, true);
        match restored {
            Ok(v) => Ok(v),
            Err(e) => {
                // Put the wallet back as it was.
                let back = Vault::open(&dir, store.clone())
                    .ok()
                    .map(std::sync::Arc::new);
                Err(Box::new((e, back)))
            }
        }
    })
    .await
    .map_err(Failure::internal)?;
    match result {
        Ok(v) => {
            wallet.set_vault(Some(std::sync::Arc::new(v)));
            wallet.set_unlocked(false);
            wallet.log(json!({"kind": "restored", "counterparty": "", "credential": "", "claims": [count.to_string()]}));
            Ok(count)
        }
        Err(failed) => {
            let (e, back) = *failed;
            wallet.set_vault(back);
            Err(e.into())
        }
    }
}

/// Replaces a wallet whose records cannot be read (its data key is gone from the keyring) by
/// an empty one: its unreadable records and whatever keys of it the keyring still holds are
/// removed. A readable wallet is never removed this way.
pub async fn start_over(wallet: &Wallet) -> Result<(), Failure> {
    if wallet.unreadable().is_none() {
        return Err(Failure::new(
            "wallet_readable",
            "this wallet can be read, so it was not replaced",
        ));
    }
    let store = wallet.store()?;
    let _writer = wallet.writer.lock().await;
    let dir = wallet.dir().to_owned();
    let fresh = tokio::task::spawn_blocking(move || {
        wallet_vault::profile::wipe(&dir, &store)?;
        Vault::open(&dir, store)
    })
    .await
    .map_err(Failure::internal)??;
    wallet.set_vault(Some(std::sync::Arc::new(fresh)));
    wallet.set_unlocked(false);
    tracing::info!("an unreadable wallet was replaced by an empty one");
    Ok(())
}
