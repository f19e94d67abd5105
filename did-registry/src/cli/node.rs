//! `init`, `node` and `devnet`: write a network's genesis and validator directories, run one
//! validator until Ctrl-C / SIGTERM, or run a local consortium of processes on loopback.

use std::path::PathBuf;

use clap::Args;
use did_method::ChainId;
use did_registry::config::{self, InitOptions, NodeDir};
use tokio::sync::watch;

use super::print_result;

#[derive(Args)]
pub(super) struct InitArgs {
    #[arg(long, default_value_t = 4)]
    validators: usize,
    #[arg(long)]
    dir: PathBuf,
    #[arg(long, default_value = "alliance-devnet")]
    chain_id: String,
    /// Root authorities of governance (each gets a key file).
    #[arg(long, default_value_t = 1)]
    authorities: usize,
    /// Authorities needed for governance (validator-set and authority changes).
    #[arg(long, default_value_t = 1)]
    threshold: u32,
    /// First port (each node uses two: API, p2p). Default: free ports.
    #[arg(long)]
    base_port: Option<u16>,
    #[arg(long, default_value_t = 1000)]
    propose_timeout_ms: u64,
    #[arg(long, default_value_t = 200)]
    vote_timeout_ms: u64,
    /// Minimum time between blocks in milliseconds (0: as fast as consensus goes).
    #[arg(long, default_value_t = 100)]
    block_time_ms: u64,
    /// How long a proposer with nothing to propose waits for operations before it proposes an
    /// empty block, in milliseconds from the previous block (at most half the propose
    /// timeout; 0: never waits, an idle chain then makes a block every block time).
    #[arg(long, default_value_t = 500)]
    empty_block_interval_ms: u64,
    /// Print what was written as JSON.
    #[arg(long)]
    json: bool,
}

pub(super) fn init(a: InitArgs) -> anyhow::Result<()> {
    let summary = config::init_network(
        &a.dir,
        &InitOptions {
            validators: a.validators,
            chain_id: ChainId::new(a.chain_id)?,
            authorities: a.authorities,
            threshold: a.threshold,
            base_port: a.base_port,
            propose_timeout_ms: a.propose_timeout_ms,
            vote_timeout_ms: a.vote_timeout_ms,
            block_time_ms: a.block_time_ms,
            empty_block_interval_ms: a.empty_block_interval_ms,
        },
    )?;
    let human = format!(
        "wrote genesis {} for chain {} and {} validator directories under {}",
        summary.genesis.display(),
        summary.chain_id,
        summary.nodes.len(),
        a.dir.display()
    );
    print_result(a.json, serde_json::to_value(&summary)?, human);
    Ok(())
}

pub(super) async fn devnet(
    validators: usize,
    dir: PathBuf,
    chain_id: String,
) -> anyhow::Result<()> {
    init_tracing();
    did_registry::devnet::run(did_registry::devnet::DevnetOptions {
        validators,
        dir,
        chain_id: ChainId::new(chain_id)?,
        release_log_level: std::env::var("RUST_LOG")
            .unwrap_or_else(|_| "info,arc_malachitebft=warn,libp2p=warn".into()),
    })
    .await?;
    Ok(())
}

pub(super) fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub(super) async fn node(dir: PathBuf) -> anyhow::Result<()> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down");
        let _ = tx.send(true);
    });
    did_registry::node::run(NodeDir(dir), rx).await
}
