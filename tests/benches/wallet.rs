//! The desktop wallet's benchmark: the release build in a real window under Xvfb, keys in a
//! real Secret Service, against a local devnet of four validators and an agency issuer (all
//! release builds), driven over WebDriver as the end-to-end test drives it. Prints each run
//! and ends with
//! `wallet-bench first_paint_ms=… pss_mb=… receive_ms=… present_ms=…` (medians):
//!
//! - `first_paint_ms`: from the app's `main` to its first screen painted (the page reports it
//!   two animation frames after its first real render; the app logs the time), the app started
//!   as a desktop starts it, over `--launches N` launches (default 5: a first start, then
//!   restarts);
//! - `receive_ms`: offer link to card shown, the app's own time: from the click on "look at
//!   the offer" to the preview (registry proofs of the issuer verified), plus from "accept" to
//!   the credential's details (keys made in the keyring, OpenID4VCI, the first status check
//!   with its stapled proofs); the citizen's typing is not counted; 5 receives;
//! - `present_ms`: from "share now" to the first QR frame shown, proofs fresh; 5
//!   presentations;
//! - `pss_mb`: the total proportional set size of the app's processes (the app,
//!   WebKitWebProcess, WebKitNetworkProcess) on the home screen, the app opened (unlocked)
//!   holding 50 credentials; the figure right after receiving 45 of them in the same run is
//!   printed beside it.
//!
//! `scripts/wallet-bench.sh` builds everything and runs it under Xvfb with a Secret Service.
//! Rendering: `LIBGL_ALWAYS_SOFTWARE=1` (Mesa's llvmpipe: Xvfb has no GPU), as in the
//! end-to-end test; the app draws without GPU compositing (`src/webview.rs`) unless
//! `ALLIANCE_WALLET_GPU=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use e2e::wallet::{LONG, card_id, enter_pin, go_home, launch, wallet_command};
use e2e::webdriver::Session;
use e2e::{Consortium, bench_arg as arg};
use serde_json::json;

const PIN: &str = "482915";
const CREDENTIALS: usize = 50;

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

/// Every descendant of `pid` (and itself), from /proc.
fn tree(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let parent = all[i];
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                continue;
            };
            // The parent pid is the second field after the command's closing parenthesis.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|s| s.parse::<u32>().ok());
            if ppid == Some(parent) && !all.contains(&p) {
                all.push(p);
            }
        }
        i += 1;
    }
    all
}

/// The total PSS of the running wallet's processes, in MiB, and their names.
fn wallet_pss() -> (f64, Vec<String>) {
    let out = Command::new("pgrep")
        .args(["-f", "release/alliance-wallet-desktop"])
        .output()
        .unwrap();
    let pid: u32 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .expect("the wallet is running");
    let mut kib = 0u64;
    let mut names = vec![];
    for p in tree(pid) {
        let Ok(rollup) = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")) else {
            continue;
        };
        let field = |key: &str| -> u64 {
            rollup
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let pss = field("Pss:");
        kib += pss;
        let name = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
        let mib = |k: u64| k as f64 / 1024.0;
        names.push(format!(
            "{} {:.0} MiB: heap {:.0}, libraries {:.0}, shared {:.0}",
            name.trim(),
            mib(pss),
            mib(field("Pss_Anon:")),
            mib(field("Pss_File:")),
            mib(field("Pss_Shmem:"))
        ));
    }
    (kib as f64 / 1024.0, names)
}

/// Starts the app as a desktop does (no WebDriver) and reads how long it took to paint its
/// first screen: the app logs `first screen painted in N ms` (from its `main`) when the page
/// tells it, two frames after its first real render.
fn first_paint(work: &Path, network: &Path) -> u64 {
    use std::io::BufRead;
    let mut child = wallet_command(work, network)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(ms) = line
                .split("first screen painted in ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
            {
                let _ = tx.send(ms);
            }
        }
    });
    let ms = rx
        .recv_timeout(LONG)
        .expect("the wallet never painted its first screen");
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    ms
}

/// Receives `link` through the window; the app's time (the typing not counted).
async fn receive_timed(s: &Session, link: &str, pin: &str) -> u64 {
    go_home(s).await.unwrap();
    s.click("[data-testid=add-button]").await.unwrap();
    s.type_into("[data-testid=offer-link-input]", link)
        .await
        .unwrap();
    let t = Instant::now();
    s.click("[data-testid=offer-inspect]").await.unwrap();
    s.wait("[data-testid=issuer-accredited]", LONG)
        .await
        .unwrap();
    let preview = t.elapsed();
    s.type_into("[data-testid=tx-code-input]", pin)
        .await
        .unwrap();
    let t = Instant::now();
    s.click("[data-testid=offer-accept]").await.unwrap();
    s.wait("[data-testid=claims]", LONG).await.unwrap();
    (preview + t.elapsed()).as_millis() as u64
}

/// Presents the licence; the app's time from "share now" to the first frame.
async fn present_timed(s: &Session, n: usize) -> u64 {
    go_home(s).await.unwrap();
    let id = card_id(s, "Driver licence").await.unwrap();
    s.click(&format!("[data-card-id=\"{id}\"] [data-testid=card-open]"))
        .await
        .unwrap();
    s.click("[data-testid=present-button]").await.unwrap();
    s.type_into("[data-testid=challenge-input]", &format!("bench-{n}"))
        .await
        .unwrap();
    s.type_into("[data-testid=audience-input]", "shop.example")
        .await
        .unwrap();
    s.click("[data-testid=present-next]").await.unwrap();
    s.wait("[data-testid=present-confirm]", LONG).await.unwrap();
    let t = Instant::now();
    s.click("[data-testid=present-confirm]").await.unwrap();
    s.wait("[data-testid=qr-frame]", LONG).await.unwrap();
    t.elapsed().as_millis() as u64
}

/// Waits until the home screen lists every credential held, and returns how many it draws
/// and how many it holds (a long list draws its first cards, and more as it is scrolled).
async fn cards_shown(s: &Session) -> (usize, usize) {
    let started = Instant::now();
    loop {
        let drawn = s.find_all("[data-testid=card]").await.len();
        let hidden = match s.find("[data-testid=more-cards]").await {
            Some(more) => s
                .attribute(&more, "data-hidden")
                .await
                .ok()
                .flatten()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            None => 0,
        };
        if drawn + hidden >= CREDENTIALS || started.elapsed() > LONG {
            return (drawn, drawn + hidden);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::var_os("ALLIANCE_WALLET_E2E").is_none() {
        println!(
            "wallet-bench: skipped (scripts/wallet-bench.sh runs it with a display, a Secret Service and tauri-driver)"
        );
        return;
    }
    let launches: usize = arg("--launches").and_then(|v| v.parse().ok()).unwrap_or(5);
    let work = tempfile::tempdir().unwrap().keep();
    let net = work.join("net");
    let consortium = Consortium::start(&net);
    let issuer = consortium.agency("Transport Agency", &["DriverLicense"]);
    let admin = issuer.api.clone();
    admin
        .define(&[json!({"id": "DriverLicense", "format": "ldp_vc", "credentialType": "DriverLicense", "claims": ["name", "licenseClass"], "validityDays": 1825, "name": "Driver licence"})])
        .await;
    let network = net.join("devnet.json");
    let mut drivers = vec![];

    // First paint: a fresh start (the PIN to choose), then restarts of the same wallet.
    let mut paints = vec![];
    for i in 0..launches {
        let ms = first_paint(&work, &network);
        println!("first paint {}: {ms} ms", i + 1);
        paints.push(ms);
    }
    let s = launch(&work, &network, &mut drivers).await.unwrap();
    enter_pin(&s, PIN, true).await.unwrap();
    s.wait("[data-testid=add-button]", LONG).await.unwrap();

    let mut receives = vec![];
    for i in 0..5 {
        let (link, pin) = admin
            .offer_with(
                "DriverLicense",
                json!({"name": format!("Holder {i}"), "licenseClass": "B"}),
            )
            .await;
        let ms = receive_timed(&s, &link, &pin).await;
        println!("receive {}: {ms} ms", i + 1);
        receives.push(ms);
    }
    let mut presents = vec![];
    for i in 0..5 {
        let ms = present_timed(&s, i).await;
        println!("present {}: {ms} ms", i + 1);
        presents.push(ms);
    }

    // Up to 50 credentials, received through the app's own commands (not timed).
    let started = Instant::now();
    for i in 5..CREDENTIALS {
        let (link, pin) = admin
            .offer_with(
                "DriverLicense",
                json!({"name": format!("Holder {i}"), "licenseClass": "C"}),
            )
            .await;
        let held = s
            .execute_async(
                "const [link, pin, done] = arguments; const inv = window.__TAURI_INTERNALS__.invoke; \
                 inv('inspect_offer', {link}).then(p => inv('accept_offer', {previewId: p.previewId, txCode: pin})) \
                 .then(() => done('ok'), e => done(JSON.stringify(e)));",
                json!([link, pin]),
            )
            .await
            .unwrap();
        assert_eq!(held, "ok", "receive {i}: {held}");
    }
    println!(
        "{} more credentials received in {:.1} s",
        CREDENTIALS - 5,
        started.elapsed().as_secs_f64()
    );
    go_home(&s).await.unwrap();
    s.click("[data-testid=refresh-status]").await.ok();
    let (drawn, held) = cards_shown(&s).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (busy, parts) = wallet_pss();
    println!(
        "memory right after receiving them, {held} held, {drawn} cards drawn: {busy:.0} MiB PSS ({})",
        parts.join(", ")
    );
    s.quit().await;
    drop(drivers);

    // The figure: the wallet as a citizen opens it, holding 50 credentials.
    let mut drivers = vec![];
    let s = launch(&work, &network, &mut drivers).await.unwrap();
    s.wait("[data-testid=pin-input]", LONG).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (locked, parts) = wallet_pss();
    println!(
        "memory when opened, locked: {locked:.0} MiB PSS ({})",
        parts.join(", ")
    );
    enter_pin(&s, PIN, false).await.unwrap();
    let (drawn, held) = cards_shown(&s).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (pss, parts) = wallet_pss();
    println!(
        "memory when opened holding {held} credentials ({drawn} cards drawn): {pss:.0} MiB PSS ({})",
        parts.join(", ")
    );
    s.quit().await;
    drop(drivers);

    println!(
        "wallet-bench first_paint_ms={} pss_mb={:.0} receive_ms={} present_ms={}",
        median(paints),
        pss,
        median(receives),
        median(presents)
    );
}
