//! The commands the web view may call (and only these: `capabilities/main.json`). Each is
//! thin: it checks the lock, calls the module that does the work, and returns a view or a
//! [`Failure`]. Slow or blocking work (Argon2id, the keyring over D-Bus, the network) runs
//! off the UI thread.

use serde::Serialize;
use serde_json::json;
use tauri::State;

use crate::error::Failure;
use crate::held::{Card, Details};
use crate::present::PresentView;
use crate::receive::OfferView;
use crate::state::{DEFAULT_LOCK_MINUTES, Wallet, now_ms};
use crate::{backup, present, qr, receive, status};

type Result<T> = std::result::Result<T, Failure>;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppState {
    pub language: String,
    pub has_pin: bool,
    pub locked: bool,
    pub keyring_problem: Option<Failure>,
    /// The wallet's records cannot be read: its key is gone from the keyring.
    pub wallet_unreadable: Option<Failure>,
    pub network: Option<serde_json::Value>,
    pub network_problem: Option<Failure>,
    pub backup_reminder: bool,
    pub lock_after_minutes: u64,
    pub credential_count: usize,
}

pub fn app_state_of(wallet: &Wallet) -> AppState {
    let settings = wallet.settings();
    let vault = wallet.vault_any().ok();
    let locked = !wallet.is_unlocked();
    AppState {
        language: settings["language"].as_str().unwrap_or("en").to_owned(),
        has_pin: vault.as_ref().is_some_and(|v| v.has_pin().unwrap_or(false)),
        locked,
        keyring_problem: wallet.keyring_problem().cloned(),
        wallet_unreadable: wallet.unreadable(),
        network: wallet
            .network()
            .ok()
            .map(|n| json!({"chainId": n.chain_id, "registries": n.registries})),
        network_problem: wallet.network().err(),
        backup_reminder: settings["backupReminder"].as_bool().unwrap_or(false),
        lock_after_minutes: settings["lockAfterMinutes"]
            .as_u64()
            .unwrap_or(DEFAULT_LOCK_MINUTES),
        credential_count: if locked {
            0
        } else {
            vault.and_then(|v| v.items().ok()).map_or(0, |i| i.len())
        },
    }
}

#[tauri::command]
pub fn app_state(wallet: State<'_, Wallet>) -> AppState {
    app_state_of(&wallet)
}

/// When the process started (set first thing in `run`).
pub static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// The interface painted its first screen: how long the start took, logged once (the
/// benchmark reads it: `first screen painted in N ms`).
#[tauri::command]
pub fn ui_ready() -> u64 {
    static ONCE: std::sync::Once = std::sync::Once::new();
    let ms = STARTED.get().map_or(0, |t| t.elapsed().as_millis() as u64);
    ONCE.call_once(|| tracing::info!("first screen painted in {ms} ms"));
    ms
}

#[tauri::command]
pub fn set_language(wallet: State<'_, Wallet>, language: String) -> Result<()> {
    if !["en", "zh-CN"].contains(&language.as_str()) {
        return Err(Failure::new("bad_request_param", "unknown language").with("param", "language"));
    }
    wallet.update_settings(|s| s["language"] = json!(language))
}

#[tauri::command]
pub async fn setup_pin(wallet: State<'_, Wallet>, pin: String) -> Result<()> {
    let vault = wallet.vault_any()?;
    if vault.has_pin()? {
        return Err(Failure::new("pin_exists", "a PIN is already set"));
    }
    tokio::task::spawn_blocking(move || vault.set_pin(&pin))
        .await
        .map_err(Failure::internal)??;
    wallet.set_unlocked(true);
    Ok(())
}

#[tauri::command]
pub async fn unlock(wallet: State<'_, Wallet>, pin: String) -> Result<()> {
    let vault = wallet.vault_any()?;
    tokio::task::spawn_blocking(move || vault.check_pin(&pin, now_ms()))
        .await
        .map_err(Failure::internal)??;
    wallet.set_unlocked(true);
    Ok(())
}

#[tauri::command]
pub fn lock(wallet: State<'_, Wallet>) {
    wallet.set_unlocked(false);
}

#[tauri::command]
pub fn list_cards(wallet: State<'_, Wallet>) -> Result<Vec<Card>> {
    let now = now_ms();
    Ok(wallet
        .all_held()?
        .iter()
        .map(|(item, held)| held.card(&item.id, now))
        .collect())
}

#[tauri::command]
pub fn card_details(wallet: State<'_, Wallet>, id: String) -> Result<Details> {
    let (item, held) = wallet.held(&id)?;
    Ok(held.details(&item.id, now_ms()))
}

/// A business's OpenID4VP request: who asks (proven), why, and what each answering credential
/// would share. Nothing is sent.
#[tauri::command]
pub async fn inspect_request(
    wallet: State<'_, Wallet>,
    link: String,
) -> Result<crate::answer::RequestView> {
    crate::answer::inspect(&wallet, &link).await
}

/// Shares with the business, using the picked credential per query (default: the first).
#[tauri::command]
pub async fn share_request(
    wallet: State<'_, Wallet>,
    request_id: String,
    picks: Option<std::collections::HashMap<String, String>>,
) -> Result<crate::answer::AnswerView> {
    crate::answer::share(
        &wallet,
        &request_id,
        &crate::answer::Picks(picks.unwrap_or_default()),
    )
    .await
}

#[tauri::command]
pub fn decline_request(wallet: State<'_, Wallet>, request_id: String) -> Result<()> {
    crate::answer::decline(&wallet, &request_id);
    Ok(())
}

#[tauri::command]
pub async fn inspect_offer(wallet: State<'_, Wallet>, link: String) -> Result<OfferView> {
    receive::inspect(&wallet, &link).await
}

/// The image arrives as the raw request body (PNG or JPEG bytes).
#[tauri::command]
pub async fn decode_qr(
    wallet: State<'_, Wallet>,
    request: tauri::ipc::Request<'_>,
) -> Result<String> {
    wallet.vault()?;
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(Failure::new("qr_unreadable", "no image was given"));
    };
    let bytes = bytes.clone();
    tokio::task::spawn_blocking(move || qr::decode(&bytes))
        .await
        .map_err(Failure::internal)?
}

#[tauri::command]
pub async fn accept_offer(
    wallet: State<'_, Wallet>,
    preview_id: String,
    tx_code: Option<String>,
) -> Result<Card> {
    let (item, held) = receive::accept(&wallet, &preview_id, tx_code.as_deref()).await?;
    // The first status check staples the proofs presentations will need; offline, the
    // card says "unknown" until the next refresh.
    let (item, held) = {
        let _writer = wallet.writer.lock().await;
        match status::refresh(&wallet, item.clone(), held.clone()).await {
            Ok(r) => r,
            Err(e) => {
                tracing::info!("first status check: {e}");
                (item, held)
            }
        }
    };
    Ok(held.card(&item.id, now_ms()))
}

#[tauri::command]
pub async fn refresh_status(wallet: State<'_, Wallet>) -> Result<Vec<Card>> {
    status::refresh_all(&wallet).await?;
    list_cards(wallet)
}

#[tauri::command]
pub async fn present(
    wallet: State<'_, Wallet>,
    id: String,
    reveal: Vec<String>,
    challenge: String,
    audience: String,
) -> Result<PresentView> {
    present::present(&wallet, &id, &reveal, &challenge, &audience).await
}

#[tauri::command]
pub fn save_presentation(wallet: State<'_, Wallet>, presentation_id: String) -> Result<String> {
    wallet.vault()?;
    present::save(&wallet, &presentation_id)
}

#[tauri::command]
pub async fn delete_card(wallet: State<'_, Wallet>, id: String) -> Result<()> {
    let vault = wallet.vault()?;
    let _writer = wallet.writer.lock().await;
    let (_, held) = wallet.held(&id)?;
    vault.delete_item(&id)?;
    wallet.log(json!({
        "kind": "deleted",
        "counterparty": held.issuer_name,
        "credential": held.title,
        "claims": [],
    }));
    Ok(())
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityView {
    at_ms: u64,
    kind: String,
    counterparty: String,
    credential: String,
    claims: Vec<String>,
}

#[tauri::command]
pub fn activity(wallet: State<'_, Wallet>) -> Result<Vec<ActivityView>> {
    let mut out: Vec<ActivityView> = wallet
        .vault()?
        .activity()?
        .into_iter()
        .map(|a| ActivityView {
            at_ms: a.at_ms,
            kind: a.entry["kind"].as_str().unwrap_or_default().to_owned(),
            counterparty: a.entry["counterparty"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            credential: a.entry["credential"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            claims: a.entry["claims"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    out.reverse();
    Ok(out)
}

#[tauri::command]
pub async fn create_backup(wallet: State<'_, Wallet>, passphrase: String) -> Result<String> {
    backup::create(&wallet, passphrase).await
}

#[tauri::command]
pub async fn restore_backup(
    wallet: State<'_, Wallet>,
    file_base64: String,
    passphrase: String,
    replace: bool,
) -> Result<usize> {
    backup::restore(&wallet, file_base64, passphrase, replace).await
}

/// Replaces a wallet whose records can no longer be read (its key is gone from the keyring)
/// by an empty one. Refused for a readable wallet.
#[tauri::command]
pub async fn start_over(wallet: State<'_, Wallet>) -> Result<()> {
    backup::start_over(&wallet).await
}

/// The offer link the app was opened with, if the interface has not taken it yet.
#[tauri::command]
pub fn take_offer_link(links: State<'_, crate::PendingLinks>) -> Option<String> {
    links.0.lock().ok().and_then(|mut l| l.pop())
}
