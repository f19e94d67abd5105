//! `oid4vp-bench`: complete OpenID4VP cycles against one verifier service over loopback HTTP,
//! on the same 2 cores as its clients: the business creates a request, the wallet fetches the
//! signed request object (and checks its signature), answers with an SD-JWT VC presentation
//! bound to the request's nonce and client (`direct_post`), and the business reads the verdict.
//! Ends with `oid4vp-bench cycles_per_s=… p50_ms=… p99_ms=…`.
//!
//! The credential's issuer is a did:key, so the service checks no registry proof here (the
//! credential bench measures that part: about 0.1 ms per stapled presentation); everything
//! else is the production path: the ledger, the request object's signature, the answer's
//! parsing, SD-JWT and key-binding verification, DCQL, the verdict.
//!
//!   cargo bench -p verifier-service --bench oid4vp -- [--seconds S] [--clients N] [--encrypted]

#![allow(clippy::unwrap_used, clippy::expect_used)] // benches may panic on failure

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use did_method::SecretKey;
use serde_json::{Value, json};
use support::{KEY, VCT, holder, permit, shop_key};
use verifier_service::LedgerConfig;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

async fn cycle(
    client: &reqwest::Client,
    base: &str,
    permit: &str,
    holder: &SecretKey,
    shop: &did_method::PublicKey,
) {
    let created: Value = client
        .post(format!("{base}/oid4vp/requests"))
        .bearer_auth(KEY)
        .json(
            &json!({"dcql_query": {"credentials": [{"id": "permit", "format": "dc+sd-jwt",
            "meta": {"vct_values": [VCT]}, "claims": [{"path": ["city"]}]}]}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let limits = oid4vp::Limits::default();
    let link = oid4vp::RequestLink::parse(created["link"].as_str().unwrap(), &limits).unwrap();
    let object = client
        .get(&link.request_uri)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let signed = oid4vp::SignedRequest::parse(&object, &limits).unwrap();
    signed.verify_signature(shop).unwrap();
    let r = signed.request;
    let post = support::permit_post(permit, holder, &r, &["city"]);
    let form = match r.response_mode {
        oid4vp::ResponseMode::DirectPost => post.to_form(),
        oid4vp::ResponseMode::DirectPostJwt => {
            let jwk = &r.client_metadata.as_ref().unwrap()["jwks"]["keys"][0];
            post.to_encrypted_form(jwk, oid4vp::jwe::Enc::A128Gcm, &mut rand_core::OsRng)
                .unwrap()
        }
    };
    let answered = client
        .post(&r.response_uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        answered.status(),
        200,
        "{}",
        answered.text().await.unwrap_or_default()
    );
    let id = created["id"].as_str().unwrap();
    let v: Value = client
        .get(format!("{base}/oid4vp/requests/{id}"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["outcome"]["accepted"], true, "{v}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seconds: f64 = arg("--seconds").and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let clients: usize = arg("--clients").and_then(|s| s.parse().ok()).unwrap_or(4);
    let encrypted = std::env::args().any(|a| a == "--encrypted");
    let base = support::start_with(
        LedgerConfig {
            capacity: 1_000_000,
            ..LedgerConfig::default()
        },
        encrypted,
    )
    .await;
    let holder = holder();
    let permit = Arc::new(permit());
    let shop_pk = shop_key().public_key();
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    // Warm up: connections, caches.
    for _ in 0..50 {
        cycle(&client, &base, &permit, &holder, &shop_pk).await;
    }
    println!("{clients} clients, {seconds} s of complete cycles…");
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = vec![];
    for _ in 0..clients {
        let (client, base, permit, holder, stop) = (
            client.clone(),
            base.clone(),
            permit.clone(),
            holder.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = vec![];
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                cycle(&client, &base, &permit, &holder, &shop_pk).await;
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut lat: Vec<Duration> = vec![];
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct =
        |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1000.0;
    println!("{} cycles in {elapsed:.1} s", lat.len());
    println!(
        "oid4vp-bench cycles_per_s={:.0} p50_ms={:.1} p99_ms={:.1}",
        lat.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
}
