//! The running wallet: its vault (if the keyring allows one), whether it is unlocked, the
//! network it trusts, and what is in flight (offers being looked at, presentations made).
//! Commands reach everything through [`Wallet`], which Tauri manages as the app's state.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use keyring_core::CredentialStore;
use serde_json::{Value, json};
use verifier_lib::contexts::PinnedContexts;
use verifier_lib::rdfc::Rdfc2022;
use wallet_core::Net;
use wallet_vault::{Item, Vault};

use crate::error::Failure;
use crate::held::Held;
use crate::network::Network;
use crate::receive::Preview;

/// Minutes of inactivity before the wallet locks itself, unless the settings say otherwise.
pub const DEFAULT_LOCK_MINUTES: u64 = 5;
/// How long an offer looked at may wait for the holder's answer.
pub const PREVIEW_TTL: Duration = Duration::from_secs(15 * 60);

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

struct Session {
    unlocked: bool,
    last_active: Instant,
}

/// Where the wallet keeps its files, which keyring it uses and which network it trusts.
pub struct Setup {
    pub dir: PathBuf,
    /// The keyring, or why there is none (then nothing is stored).
    pub store: Result<Arc<CredentialStore>, Failure>,
    pub network: Option<Result<Network, Failure>>,
    pub net: Net,
    /// Where presentations and backups are saved.
    pub documents: PathBuf,
}

pub struct Wallet {
    dir: PathBuf,
    store: Result<Arc<CredentialStore>, Failure>,
    vault: Mutex<Option<Arc<Vault>>>,
    /// Why the wallet's records cannot be read (its data key is gone from the keyring),
    /// until a backup is restored or the holder starts again.
    unreadable: Mutex<Option<Failure>>,
    session: Mutex<Session>,
    pub(crate) net: Net,
    pub(crate) network: Option<Result<Network, Failure>>,
    pub(crate) previews: Mutex<HashMap<String, (Instant, Arc<Preview>)>>,
    pub(crate) presentations: Mutex<HashMap<String, Vec<u8>>>,
    pub(crate) requests: crate::answer::Requests,
    pub(crate) documents: PathBuf,
    pub(crate) rdfc: Rdfc2022,
    /// Serializes changes to held credentials (receive, status refresh, present, delete).
    pub(crate) writer: tokio::sync::Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Wallet {
    /// Opens the wallet: the vault when the keyring is there (finishing whatever a crash
    /// interrupted), locked.
    pub fn open(setup: Setup) -> Self {
        let mut store = setup.store;
        let mut unreadable = None;
        let vault = match &store {
            Ok(s) => match Vault::open(&setup.dir, s.clone()) {
                Ok(v) => Some(Arc::new(v)),
                // The keyring works but no longer holds this wallet's key: a backup can
                // still bring the credentials back, so the keyring stays usable.
                Err(e @ wallet_vault::VaultError::DataKeyLost) => {
                    tracing::error!("cannot read the wallet: {e}");
                    unreadable = Some(e.into());
                    None
                }
                Err(e) => {
                    tracing::error!("cannot open the wallet: {e}");
                    store = Err(e.into());
                    None
                }
            },
            Err(_) => None,
        };
        Self {
            dir: setup.dir,
            store,
            vault: Mutex::new(vault),
            unreadable: Mutex::new(unreadable),
            session: Mutex::new(Session {
                unlocked: false,
                last_active: Instant::now(),
            }),
            net: setup.net,
            network: setup.network,
            previews: Mutex::new(HashMap::new()),
            presentations: Mutex::new(HashMap::new()),
            requests: Mutex::new(HashMap::new()),
            documents: setup.documents,
            rdfc: Rdfc2022::new(PinnedContexts::standard()),
            writer: tokio::sync::Mutex::new(()),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Why the wallet cannot store anything, if it cannot.
    pub fn keyring_problem(&self) -> Option<&Failure> {
        self.store.as_ref().err()
    }

    pub(crate) fn store(&self) -> Result<Arc<CredentialStore>, Failure> {
        self.store.clone()
    }

    /// The vault, whether locked or not (for what the lock screen needs).
    pub(crate) fn vault_any(&self) -> Result<Arc<Vault>, Failure> {
        if let Err(e) = &self.store {
            return Err(e.clone());
        }
        lock(&self.vault)
            .clone()
            .ok_or_else(|| Failure::new("no_wallet", "the wallet is not open"))
    }

    /// Why the wallet's records cannot be read, if they cannot (its key is gone).
    pub fn unreadable(&self) -> Option<Failure> {
        lock(&self.unreadable).clone()
    }

    /// Replaces the vault (after a restore, or a new start; the wallet is readable again),
    /// or closes it (`None`, before one).
    pub(crate) fn set_vault(&self, v: Option<Arc<Vault>>) {
        if v.is_some() {
            *lock(&self.unreadable) = None;
        }
        *lock(&self.vault) = v;
    }

    pub(crate) fn lock_after(&self) -> Duration {
        let minutes = self
            .vault_any()
            .ok()
            .and_then(|v| v.settings().ok())
            .and_then(|s| s["lockAfterMinutes"].as_u64())
            .unwrap_or(DEFAULT_LOCK_MINUTES)
            .clamp(1, 60);
        Duration::from_secs(minutes * 60)
    }

    /// Whether the wallet is unlocked now (locking it if it has been idle too long).
    pub fn is_unlocked(&self) -> bool {
        let idle = self.lock_after();
        let mut s = lock(&self.session);
        if s.unlocked && s.last_active.elapsed() >= idle {
            s.unlocked = false;
        }
        s.unlocked
    }

    pub(crate) fn set_unlocked(&self, unlocked: bool) {
        let mut s = lock(&self.session);
        s.unlocked = unlocked;
        s.last_active = Instant::now();
    }

    /// The vault, if the wallet is unlocked; counts as activity.
    pub(crate) fn vault(&self) -> Result<Arc<Vault>, Failure> {
        let v = self.vault_any()?;
        if !self.is_unlocked() {
            return Err(Failure::locked());
        }
        lock(&self.session).last_active = Instant::now();
        Ok(v)
    }

    pub(crate) fn network(&self) -> Result<&Network, Failure> {
        match &self.network {
            Some(Ok(n)) => Ok(n),
            Some(Err(e)) => Err(e.clone()),
            None => Err(Failure::new(
                "no_network",
                "no consortium network is configured for this wallet",
            )),
        }
    }

    /// A held credential and its item.
    pub(crate) fn held(&self, id: &str) -> Result<(Item, Held), Failure> {
        let item = self.vault()?.item(id)?;
        let held: Held = serde_json::from_value(item.body.clone())
            .map_err(|e| Failure::internal(format!("credential {id}: {e}")))?;
        Ok((item, held))
    }

    pub(crate) fn save_held(&self, mut item: Item, held: &Held) -> Result<(), Failure> {
        item.body = serde_json::to_value(held).map_err(Failure::internal)?;
        self.vault()?.update_item(&item)?;
        Ok(())
    }

    /// Every held credential.
    pub(crate) fn all_held(&self) -> Result<Vec<(Item, Held)>, Failure> {
        let mut out = vec![];
        for item in self.vault()?.items()? {
            let held: Held = serde_json::from_value(item.body.clone())
                .map_err(|e| Failure::internal(format!("credential {}: {e}", item.id)))?;
            out.push((item, held));
        }
        out.sort_by_key(|(_, h)| std::cmp::Reverse(h.received_ms));
        Ok(out)
    }

    /// Appends to the activity log (a failure to log is reported, not fatal).
    pub(crate) fn log(&self, entry: Value) {
        if let Ok(v) = self.vault_any()
            && let Err(e) = v.log(now_ms(), entry)
        {
            tracing::warn!("cannot write the activity log: {e}");
        }
    }

    pub(crate) fn settings(&self) -> Value {
        self.vault_any()
            .ok()
            .and_then(|v| v.settings().ok())
            .unwrap_or_else(|| json!({}))
    }

    pub(crate) fn update_settings(&self, f: impl FnOnce(&mut Value)) -> Result<(), Failure> {
        let v = self.vault_any()?;
        let mut s = v.settings()?;
        if !s.is_object() {
            s = json!({});
        }
        f(&mut s);
        v.set_settings(&s)?;
        Ok(())
    }

    pub(crate) fn remember_preview(&self, id: String, p: Preview) {
        let mut map = lock(&self.previews);
        map.retain(|_, (at, _)| at.elapsed() < PREVIEW_TTL);
        map.insert(id, (Instant::now(), Arc::new(p)));
    }

    pub(crate) fn take_preview(&self, id: &str) -> Result<Arc<Preview>, Failure> {
        let mut map = lock(&self.previews);
        match map.remove(id) {
            Some((at, p)) if at.elapsed() < PREVIEW_TTL => Ok(p),
            _ => Err(Failure::new(
                "preview_expired",
                "this offer was looked at too long ago: open it again",
            )),
        }
    }

    pub(crate) fn remember_request(&self, id: String, r: crate::answer::PendingRequest) {
        let mut map = lock(&self.requests);
        map.retain(|_, (at, _)| at.elapsed() < crate::answer::REQUEST_TTL);
        // A holder looks at one request at a time; a few kept cover going back and forth.
        if map.len() >= 8 {
            map.clear();
        }
        map.insert(id, (Instant::now(), Arc::new(r)));
    }

    pub(crate) fn take_request(
        &self,
        id: &str,
    ) -> Result<Arc<crate::answer::PendingRequest>, Failure> {
        let mut map = lock(&self.requests);
        match map.remove(id) {
            Some((at, r)) if at.elapsed() < crate::answer::REQUEST_TTL => Ok(r),
            _ => Err(Failure::new(
                "request_gone",
                "this request was looked at too long ago: open it again",
            )),
        }
    }

    pub(crate) fn remember_presentation(&self, id: String, bytes: Vec<u8>) {
        let mut map = lock(&self.presentations);
        // Only the latest few are kept (they are for saving right after presenting).
        if map.len() >= 8 {
            map.clear();
        }
        map.insert(id, bytes);
    }

    pub(crate) fn presentation(&self, id: &str) -> Result<Vec<u8>, Failure> {
        lock(&self.presentations)
            .get(id)
            .cloned()
            .ok_or_else(|| Failure::new("not_found", "that presentation is no longer here"))
    }
}
