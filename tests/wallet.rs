//! Driving the desktop wallet's real window: tauri-driver (one per app run) with the wallet's
//! environment, and the few gestures every wallet test and benchmark needs (going home,
//! typing the PIN, finding a card, switching the language).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::webdriver::{DriverError, Session};
use crate::{Proc, bin, free_port};

/// How long a screen may take to appear.
pub const LONG: Duration = Duration::from_secs(60);

/// tauri-driver on free ports, with the wallet's environment (inherited by the app).
pub fn start_driver(work: &Path, network: &Path) -> (Proc, String) {
    let port = free_port();
    let native = free_port();
    let child =
        Command::new(std::env::var("TAURI_DRIVER").unwrap_or_else(|_| "tauri-driver".into()))
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("ALLIANCE_WALLET_DIR", work.join("wallet"))
            .env("ALLIANCE_WALLET_DOCUMENTS", work.join("Documents"))
            .env("ALLIANCE_WALLET_NETWORK", network)
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .env("NO_AT_BRIDGE", "1")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("tauri-driver (cargo install tauri-driver) must be on PATH");
    (Proc(child), format!("http://127.0.0.1:{port}"))
}

/// Starts the app in a fresh tauri-driver (one per app run: WebKitWebDriver keeps one
/// session, and a killed app can leave it waiting).
pub async fn launch(
    work: &Path,
    network: &Path,
    drivers: &mut Vec<Proc>,
) -> Result<Session, DriverError> {
    let (p, url) = start_driver(work, network);
    drivers.push(p);
    new_session(&url).await
}

pub async fn new_session(driver: &str) -> Result<Session, DriverError> {
    let app = bin("alliance-wallet-desktop");
    let mut last = String::new();
    for _ in 0..150 {
        match Session::start(driver, app.to_str().unwrap(), &[]).await {
            Ok(s) => {
                s.set_window_size(1000, 760).await.ok();
                return Ok(s);
            }
            Err(e) => last = e.0,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(DriverError(format!("no WebDriver session: {last}")))
}

/// Switches the interface language as a person does, with the selector.
pub async fn set_language(s: &Session, lang: &str) -> Result<(), DriverError> {
    s.click(&format!(
        "[data-testid=language-select] option[value=\"{lang}\"]"
    ))
    .await?;
    let want = lang.to_owned();
    for _ in 0..50 {
        let v = s
            .execute("return document.documentElement.lang;", json!([]))
            .await?;
        if v.as_str() == Some(&want) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(DriverError(format!("the page did not switch to {lang}")))
}

/// The id of the card whose text contains `title`.
pub async fn card_id(s: &Session, title: &str) -> Result<String, DriverError> {
    for _ in 0..100 {
        for c in s.find_all("[data-testid=card]").await {
            if s.text(&c).await?.contains(title)
                && let Some(id) = s.attribute(&c, "data-card-id").await?
            {
                return Ok(id);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(DriverError(format!("no card titled {title}")))
}

/// The number of cards on the home screen once its list has loaded (the toolbar shows
/// before the list does, so "no card yet" is only an answer once the empty state shows).
pub async fn home_cards(s: &Session) -> Result<usize, DriverError> {
    s.wait("[data-testid=card], [data-testid=empty-state]", LONG)
        .await?;
    Ok(s.find_all("[data-testid=card]").await.len())
}

/// Back to the home screen from wherever the wallet is.
pub async fn go_home(s: &Session) -> Result<(), DriverError> {
    for _ in 0..10 {
        if s.find("[data-testid=add-button]").await.is_some() {
            return Ok(());
        }
        // Whatever leaves the current screen: "Done" after presenting or a backup, or back.
        for exit in ["present-done", "backup-done-button", "back-button"] {
            if let Some(e) = s.find(&format!("[data-testid={exit}]")).await
                && s.displayed(&e).await
            {
                s.click(&format!("[data-testid={exit}]")).await?;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    s.wait("[data-testid=add-button]", LONG).await.map(|_| ())
}

/// Types a PIN (twice when choosing one) and submits it.
pub async fn enter_pin(s: &Session, pin: &str, twice: bool) -> Result<(), DriverError> {
    s.type_into("[data-testid=pin-input]", pin).await?;
    if twice {
        s.type_into("[data-testid=pin-input-2]", pin).await?;
    }
    s.click("[data-testid=pin-submit]").await
}

/// The wallet's command with the environment tauri-driver gives it.
pub fn wallet_command(work: &Path, network: &Path) -> Command {
    let mut c = Command::new(bin("alliance-wallet-desktop"));
    c.env("ALLIANCE_WALLET_DIR", work.join("wallet"))
        .env("ALLIANCE_WALLET_DOCUMENTS", work.join("Documents"))
        .env("ALLIANCE_WALLET_NETWORK", network)
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        .env("NO_AT_BRIDGE", "1");
    c
}
