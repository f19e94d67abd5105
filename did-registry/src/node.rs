//! Runs one validator: store, application, HTTP API, operation gossip and consensus.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{mpsc, watch};

use crate::app::App;
use crate::config::NodeDir;
use crate::consensus::{self, EngineConfig};
use crate::store::Store;

/// Most operations forwarded to peers in one gossip request.
const GOSSIP_BATCH: usize = 1_000;

/// Runs the node in `dir` until `shutdown` turns true.
pub async fn run(dir: NodeDir, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    let (cfg, genesis, key) = dir.load()?;
    std::fs::create_dir_all(dir.db().parent().context("db path")?)?;
    let store =
        Store::open(&dir.db()).with_context(|| format!("opening {}", dir.db().display()))?;
    let (gossip_tx, gossip_rx) = mpsc::unbounded_channel();
    let app = Arc::new(App::open(genesis, store, Some(gossip_tx))?);
    tracing::info!(moniker = %cfg.moniker, chain = %cfg.chain_id, height = app.height(), api = %cfg.api_listen, p2p = %cfg.p2p_listen, "starting node");

    let peers: Vec<String> = cfg.peers.iter().map(|p| p.api.clone()).collect();
    tokio::spawn(gossip_loop(gossip_rx, peers));

    let listener = tokio::net::TcpListener::bind(cfg.api_listen)
        .await
        .with_context(|| format!("binding the API on {}", cfg.api_listen))?;
    let router = crate::api::router(app.clone());
    let mut api_shutdown = shutdown.clone();
    let api = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = api_shutdown.wait_for(|s| *s).await;
            })
            .await
    });

    let engine = EngineConfig {
        home: dir.engine_home(),
        moniker: cfg.moniker.clone(),
        secret: key,
        p2p_listen: cfg.p2p_listen,
        peers: cfg.peers.iter().map(|p| p.p2p).collect(),
        propose_timeout: Duration::from_millis(cfg.propose_timeout_ms),
        vote_timeout: Duration::from_millis(cfg.vote_timeout_ms),
        target_block_time: (cfg.target_block_time_ms > 0)
            .then(|| Duration::from_millis(cfg.target_block_time_ms)),
        empty_block_interval: (cfg.empty_block_interval_ms > 0)
            .then(|| Duration::from_millis(cfg.empty_block_interval_ms)),
    };
    let host: Arc<dyn consensus::Host> = app.clone();
    let result = consensus::run(engine, host, shutdown.clone()).await;
    let _ = shutdown.wait_for(|s| *s).await;
    let _ = api.await;
    tracing::info!(height = app.height(), "node stopped");
    result.map_err(|e| anyhow::anyhow!("consensus: {e}"))
}

/// Forwards locally submitted operations to every peer, in batches, in order. Each peer has
/// its own sender so a slow or dead peer does not hold the others back; batches for a peer
/// that is far behind are dropped (the operations stay in this node's mempool and are
/// proposed from here).
async fn gossip_loop(mut rx: mpsc::UnboundedReceiver<Vec<u8>>, peers: Vec<String>) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(%e, "cannot build the gossip HTTP client; operations will not be gossiped");
            return;
        }
    };
    let senders: Vec<mpsc::Sender<Vec<u8>>> = peers
        .into_iter()
        .map(|peer| {
            let (tx, mut prx) = mpsc::channel::<Vec<u8>>(64);
            let client = client.clone();
            tokio::spawn(async move {
                while let Some(body) = prx.recv().await {
                    let res = client
                        .post(format!("{peer}/v1/internal/gossip"))
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await;
                    if let Err(e) = res {
                        tracing::debug!(%peer, %e, "gossip failed");
                    }
                }
            });
            tx
        })
        .collect();
    while let Some(op) = rx.recv().await {
        // A JSON array of the operations' JSON, as they were received.
        let mut body = Vec::with_capacity(op.len() * 64);
        body.push(b'[');
        body.extend_from_slice(&op);
        let mut n = 1;
        while n < GOSSIP_BATCH {
            match rx.try_recv() {
                Ok(op) => {
                    body.push(b',');
                    body.extend_from_slice(&op);
                    n += 1;
                }
                Err(_) => break,
            }
        }
        body.push(b']');
        for s in &senders {
            let _ = s.try_send(body.clone());
        }
    }
}
