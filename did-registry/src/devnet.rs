//! `alliance-registry devnet`: a local consortium of validators as separate processes on
//! loopback, for demos and tests. Stops them all cleanly on Ctrl-C or SIGTERM.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use did_method::ChainId;
use serde::Serialize;
use tokio::process::{Child, Command};
use tokio::signal::unix::{SignalKind, signal};

use crate::config::{InitOptions, NodeConfig, NodeDir, init_network, write_json};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DevnetNode {
    pub name: String,
    pub dir: PathBuf,
    pub api: String,
    pub p2p: String,
    pub pid: u32,
    pub log: PathBuf,
}

/// `DIR/devnet.json`: what tests and demos need to talk to the devnet.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DevnetInfo {
    pub chain_id: ChainId,
    pub genesis: PathBuf,
    pub registrar_key: PathBuf,
    pub authority_keys: Vec<PathBuf>,
    pub nodes: Vec<DevnetNode>,
}

pub struct DevnetOptions {
    pub validators: usize,
    pub dir: PathBuf,
    pub chain_id: ChainId,
    /// `RUST_LOG` of the nodes.
    pub release_log_level: String,
}

fn node_dirs(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out: Vec<(usize, PathBuf)> = vec![];
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(k) = name.strip_prefix("node-").and_then(|k| k.parse().ok()) {
            out.push((k, e.path()));
        }
    }
    out.sort();
    Ok(out.into_iter().map(|(_, p)| p).collect())
}

pub async fn run(opts: DevnetOptions) -> anyhow::Result<()> {
    let dir = &opts.dir;
    if !dir.join("genesis.json").exists() {
        init_network(
            dir,
            &InitOptions {
                validators: opts.validators,
                chain_id: opts.chain_id.clone(),
                authorities: 1,
                threshold: 1,
                base_port: None,
                propose_timeout_ms: 1000,
                vote_timeout_ms: 200,
                block_time_ms: 100,
                empty_block_interval_ms: 500,
            },
        )?;
        eprintln!(
            "initialized a {}-validator network in {}",
            opts.validators,
            dir.display()
        );
    } else {
        eprintln!("reusing the network in {}", dir.display());
    }
    let dirs = node_dirs(dir)?;
    if dirs.is_empty() {
        bail!("no node-* directories in {}", dir.display());
    }
    let exe = std::env::current_exe().context("locating alliance-registry")?;
    let mut children: Vec<Child> = vec![];
    let mut nodes = vec![];
    let mut chain_id = opts.chain_id.clone();
    for d in &dirs {
        let nd = NodeDir(d.clone());
        let cfg: NodeConfig = serde_json::from_slice(&std::fs::read(nd.config())?)?;
        chain_id = cfg.chain_id.clone();
        let log = d.join("node.log");
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        let err = out.try_clone()?;
        let child = Command::new(&exe)
            .arg("node")
            .arg("--dir")
            .arg(d)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| opts.release_log_level.clone()),
            )
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting node in {}", d.display()))?;
        nodes.push(DevnetNode {
            name: cfg.moniker.clone(),
            dir: d.clone(),
            api: cfg.api_url(),
            p2p: cfg.p2p_listen.to_string(),
            pid: child.id().unwrap_or(0),
            log,
        });
        children.push(child);
    }
    let mut authority_keys: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("authority-"))
        })
        .collect();
    authority_keys.sort();
    let info = DevnetInfo {
        chain_id,
        genesis: dir.join("genesis.json"),
        registrar_key: dirs[0].join("registrar.key"),
        authority_keys,
        nodes,
    };
    write_json(&dir.join("devnet.json"), &info)?;

    let mut sigterm = signal(SignalKind::terminate())?;
    let ready = wait_ready(&info);
    tokio::select! {
        r = ready => match r {
            Ok(()) => {
                eprintln!("devnet ready: {} validators on chain {}", info.nodes.len(), info.chain_id);
                for n in &info.nodes {
                    eprintln!("  {}  API {}  (log {})", n.name, n.api, n.log.display());
                }
                eprintln!("devnet details in {}; press Ctrl-C to stop", dir.join("devnet.json").display());
            }
            Err(e) => {
                eprintln!("devnet did not become ready: {e:#}");
                stop_all(&mut children).await;
                return Err(e);
            }
        },
        _ = tokio::signal::ctrl_c() => { stop_all(&mut children).await; return Ok(()); }
        _ = sigterm.recv() => { stop_all(&mut children).await; return Ok(()); }
    }
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = sigterm.recv() => {}
    }
    eprintln!("stopping the devnet");
    stop_all(&mut children).await;
    Ok(())
}

async fn wait_ready(info: &DevnetInfo) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(90);
    for n in &info.nodes {
        loop {
            let ok = client
                .get(format!("{}/health", n.api))
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ok {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not answer on {} (see {})",
                    n.name,
                    n.api,
                    n.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Ready means consensus is committing.
    loop {
        let h = client
            .get(format!("{}/health", info.nodes[0].api))
            .send()
            .await;
        if let Ok(r) = h
            && let Ok(v) = r.json::<serde_json::Value>().await
            && v["height"].as_u64().unwrap_or(0) >= 1
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the validators started but commit no block (see the node logs)");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// SIGTERM every child, wait up to 10 s, then SIGKILL what is left.
async fn stop_all(children: &mut [Child]) {
    for c in children.iter() {
        if let Some(pid) = c.id() {
            // SAFETY: plain kill(2) on a child's pid we own.
            unsafe {
                libc::kill(pid as i32, libc::SIGTERM);
            }
        }
    }
    for c in children.iter_mut() {
        match tokio::time::timeout(Duration::from_secs(10), c.wait()).await {
            Ok(_) => {}
            Err(_) => {
                let _ = c.kill().await;
            }
        }
    }
}
