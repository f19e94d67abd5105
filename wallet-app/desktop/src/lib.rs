//! # wallet-desktop: Alliance Wallet, the citizen's desktop wallet
//!
//! A Tauri 2 app: a web view (TypeScript, `wallet-app/ui`) for the holder, and Rust commands
//! ([`commands`]) that do everything that matters. It receives credentials from agencies over
//! OpenID4VCI after showing who issues them, proven by the Alliance registry ([`receive`]);
//! answers businesses' OpenID4VP requests after showing who asks and what it would share
//! ([`answer`]);
//! keeps them in `wallet-vault` (keys in the OS keyring, records sealed on disk); keeps their
//! status fresh while online ([`status`]); presents them offline as a file or an animated QR
//! sequence ([`present`], [`qr`]); backs them up and restores them ([`backup`]).
//!
//! It is **not** where the protocols are written (that is `wallet-core`) or where secrets are
//! kept (that is `wallet-vault`), and no key ever reaches the web view: signing happens here.
//!
//! Configuration, from the environment (a deep link must be the app's only argument):
//! `ALLIANCE_WALLET_NETWORK` (the consortium's network file, default
//! `$XDG_CONFIG_HOME/org.allianceid.wallet/network.json`), `ALLIANCE_WALLET_DIR` (the wallet's
//! data, default the app's data directory), `ALLIANCE_WALLET_DOCUMENTS` (where presentations and
//! backups are saved, default the documents folder), `ALLIANCE_CA_CERT` (extra CAs).

#![forbid(unsafe_code)]

pub mod answer;
pub mod backup;
pub mod commands;
pub mod error;
pub mod held;
pub mod network;
pub mod present;
pub mod qr;
pub mod receive;
pub mod state;
pub mod status;
#[cfg(test)]
mod tests;
pub mod webview;

use std::path::PathBuf;
use std::sync::Mutex;

use tauri::{Emitter, Manager, Runtime};

pub use error::Failure;
pub use state::{Setup, Wallet};

/// The event announcing a link opened while the app runs: an offer
/// (`openid-credential-offer://`) or a business's request (`openid4vp://`).
pub const OFFER_EVENT: &str = "wallet://offer-link";

/// Links opened before the interface asked for them (the first launch's link).
#[derive(Default)]
pub struct PendingLinks(pub Mutex<Vec<String>>);

/// The command handler of the app (also used by the tests, on the mock runtime).
pub fn invoke_handler<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static
{
    tauri::generate_handler![
        commands::app_state,
        commands::ui_ready,
        commands::set_language,
        commands::setup_pin,
        commands::unlock,
        commands::lock,
        commands::list_cards,
        commands::card_details,
        commands::inspect_offer,
        commands::decode_qr,
        commands::accept_offer,
        commands::refresh_status,
        commands::present,
        commands::save_presentation,
        commands::delete_card,
        commands::activity,
        commands::create_backup,
        commands::restore_backup,
        commands::start_over,
        commands::take_offer_link,
        commands::inspect_request,
        commands::share_request,
        commands::decline_request,
    ]
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Where things are, from the environment and the platform's folders.
pub fn setup_from_env<R: Runtime>(app: &tauri::AppHandle<R>) -> Setup {
    let paths = app.path();
    let dir = env_path("ALLIANCE_WALLET_DIR")
        .or_else(|| paths.app_data_dir().ok())
        .unwrap_or_else(|| PathBuf::from(".alliance-wallet"));
    let network_file = env_path("ALLIANCE_WALLET_NETWORK").or_else(|| {
        paths
            .app_config_dir()
            .ok()
            .map(|d| d.join("network.json"))
            .filter(|p| p.exists())
    });
    let documents = env_path("ALLIANCE_WALLET_DOCUMENTS")
        .or_else(|| paths.document_dir().ok())
        .or_else(|| paths.home_dir().ok())
        .unwrap_or_else(|| dir.clone());
    let trust = registry_client::Trust::from_env();
    let net = wallet_core::Net::new(&trust)
        .or_else(|_| wallet_core::Net::new(&registry_client::Trust::system()));
    Setup {
        dir,
        store: wallet_vault::keyring::system_store().map_err(Failure::from),
        network: network_file.map(|p| network::Network::load(&p)),
        net: match net {
            Ok(n) => n,
            Err(e) => {
                tracing::error!("cannot set up HTTPS: {e}");
                std::process::exit(1);
            }
        },
        documents,
    }
}

/// The link schemes the wallet opens.
pub const SCHEMES: [&str; 2] = ["openid-credential-offer", "openid4vp"];

/// Hands a link the wallet opens to the interface: kept for it to take, and announced.
fn offer_link<R: Runtime>(app: &tauri::AppHandle<R>, url: &str) {
    let opens = SCHEMES.iter().any(|s| {
        url.strip_prefix(s)
            .is_some_and(|rest| rest.starts_with(':'))
    });
    if !opens {
        return;
    }
    if let Some(p) = app.try_state::<PendingLinks>()
        && let Ok(mut l) = p.0.lock()
    {
        l.clear();
        l.push(url.to_owned());
    }
    let _ = app.emit_to("main", OFFER_EVENT, url);
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// Runs the desktop app.
pub fn run() {
    let _ = commands::STARTED.set(std::time::Instant::now());
    let builder = tauri::Builder::default()
        // First: a second launch (e.g. a clicked offer link) hands its link to this one.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            for a in argv.iter().skip(1) {
                offer_link(app, a);
            }
        }))
        .plugin(tauri_plugin_deep_link::init())
        .manage(PendingLinks::default())
        .invoke_handler(invoke_handler())
        .setup(|app| {
            let handle = app.handle().clone();
            webview::lighten(&handle);
            app.manage(Wallet::open(setup_from_env(&handle)));
            {
                use tauri_plugin_deep_link::DeepLinkExt;
                let dl = app.deep_link();
                // Registering asks the desktop (xdg-mime, update-desktop-database: processes
                // that take tens of ms each), so it is done beside the first screen, not
                // before it.
                let registering = handle.clone();
                std::thread::spawn(move || {
                    let dl = registering.deep_link();
                    if SCHEMES
                        .iter()
                        .any(|s| !dl.is_registered(s).unwrap_or(false))
                        && let Err(e) = dl.register_all()
                    {
                        tracing::warn!(
                            "cannot register as the handler of offer and request links: {e}"
                        );
                    }
                });
                if let Ok(Some(urls)) = dl.get_current() {
                    for u in urls {
                        offer_link(&handle, u.as_str());
                    }
                }
                let h = handle.clone();
                dl.on_open_url(move |event| {
                    for u in event.urls() {
                        offer_link(&h, u.as_str());
                    }
                });
            }
            Ok(())
        });
    if let Err(e) = builder.run(tauri::generate_context!()) {
        tracing::error!("the wallet stopped: {e}");
        std::process::exit(1);
    }
}
