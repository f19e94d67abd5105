//! Issuance benchmark (release), part (d) of the credential bench (docs/benchmarks.md): full
//! OpenID4VCI issuance flows per second on 2 cores, the real `alliance-issuer` process
//! (SQLite file) and 32 `wallet-core` clients on the same machine, each flow being offer by
//! reference → metadata → token with PIN → nonce → credential with a JWT proof.
//! Ends with `issuance-bench issue_flows_per_s=…`; `scripts/bench-credentials.sh` runs it
//! after the verifier's half and prints the combined `credential-bench …` line.
//!
//! It starts `target/release/alliance-issuer`, which `cargo bench -p e2e` does not build:
//! `cargo build --release -p issuer-service --bin alliance-issuer` first (the script does).
//!
//! `cargo bench -p e2e --bench issuance [-- --seconds S] [-- --only d] [-- --format dc+sd-jwt]`

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use did_method::SecretKey;
use e2e::{Issuer, bench_arg as arg, holder_net};
use serde_json::json;
use wallet_core::oid4vci::{self, Offer};

/// The allocator of the workspace's binaries; the wallets' side of the flows runs under it,
/// as it did when this bench was part of issuer-service's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Concurrent wallets.
const WALLETS: u8 = 32;

fn main() {
    let secs: f64 = arg("--seconds").and_then(|s| s.parse().ok()).unwrap_or(3.0);
    // `--only` names the credential bench's parts; this one is (d).
    let flows = match arg("--only") {
        Some(only) if !only.split(',').any(|o| o == "d") => f64::NAN,
        _ => issuance(secs, &arg("--format").unwrap_or_else(|| "ldp_vc".into())),
    };
    println!("issuance-bench issue_flows_per_s={flows:.0}");
}

/// (d) Issuance flows per second of credentials in `format` (`ldp_vc`, the figure the
/// targets name, or `dc+sd-jwt`).
fn issuance(secs: f64, format: &str) -> f64 {
    let issuer = Issuer::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let n = ((300.0 * secs) as usize).clamp(200, 3000);
    rt.block_on(async {
        issuer
            .define(&[json!({"id": "LibraryCard", "format": format, "credentialType": "LibraryCard",
                             "claims": ["name", "cardNumber"], "validityDays": 365, "name": "Library card"})])
            .await;
        // Offers are made beforehand (desk work, not part of a flow).
        let mut offers = Vec::with_capacity(n);
        for i in 0..n {
            offers.push(
                issuer
                    .offer_with(
                        "LibraryCard",
                        json!({"name": format!("Holder {i}"), "cardNumber": format!("L-{i}")}),
                    )
                    .await,
            );
        }
        // One network for every wallet: built once (it reads the root certificates), its
        // connections shared as one process's would be.
        let net = holder_net();
        let queue = Arc::new(Mutex::new(offers));
        let done = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let mut tasks = vec![];
        for w in 0..WALLETS {
            let (queue, done, net) = (queue.clone(), done.clone(), net.clone());
            tasks.push(tokio::spawn(async move {
                let key = SecretKey::from_seed(&[w + 1; 32]);
                loop {
                    let Some((link, pin)) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let offer = Offer::resolve(&net, &link).await.unwrap();
                    let got = oid4vci::receive(&net, &offer, Some(&pin), &[&key])
                        .await
                        .unwrap();
                    assert_eq!(got.len(), 1);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let flows = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
        println!(
            "{:<48} {flows:>10.0}/s  ({n} flows, {WALLETS} wallets, issuer process + wallets on 2 cores)",
            format!("(d) OpenID4VCI issuance flows ({format})")
        );
        flows
    })
}
