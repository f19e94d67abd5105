//! Runs real `alliance-registry` processes on loopback for the end-to-end tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use did_method::operation::{Operation, SignedOperation};
use did_method::state::recovery_commitment;
use did_method::{ChainId, Did, SecretKey};
use registry_client::RegistryClient;
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_alliance-registry");

pub struct Net {
    pub dir: tempfile::TempDir,
    pub chain: ChainId,
    pub apis: Vec<String>,
    pub children: Vec<Option<Child>>,
    pub registrar: SecretKey,
    pub authority: SecretKey,
}

impl Net {
    /// `init` a network of `n` validators (not started).
    pub fn init(n: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(BIN)
            .args([
                "init",
                "--validators",
                &n.to_string(),
                "--chain-id",
                "test-net",
                "--json",
                "--dir",
            ])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut apis = vec![];
        for k in 0..n {
            let cfg: Value = serde_json::from_slice(
                &std::fs::read(dir.path().join(format!("node-{k}/config.json"))).unwrap(),
            )
            .unwrap();
            apis.push(format!("http://{}", cfg["apiListen"].as_str().unwrap()));
        }
        let registrar = read_key(&dir.path().join("node-0/registrar.key"));
        let authority = read_key(&dir.path().join("authority-0.key"));
        Self {
            dir,
            chain: ChainId::new("test-net").unwrap(),
            apis,
            children: (0..n).map(|_| None).collect(),
            registrar,
            authority,
        }
    }

    pub fn node_dir(&self, k: usize) -> PathBuf {
        self.dir.path().join(format!("node-{k}"))
    }

    pub fn genesis_path(&self) -> PathBuf {
        self.dir.path().join("genesis.json")
    }

    pub fn start(&mut self, k: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.node_dir(k).join("node.log"))
            .unwrap();
        let child = Command::new(BIN)
            .args(["node", "--dir"])
            .arg(self.node_dir(k))
            .env("RUST_LOG", "info,arc_malachitebft=warn,libp2p=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.children[k] = Some(child);
    }

    pub fn start_all(&mut self) {
        for k in 0..self.children.len() {
            self.start(k);
        }
    }

    pub fn kill9(&mut self, k: usize) {
        if let Some(mut c) = self.children[k].take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    pub fn client(&self, k: usize) -> RegistryClient {
        RegistryClient::new(&self.apis[k]).unwrap()
    }

    pub async fn height(&self, k: usize) -> Option<u64> {
        self.client(k)
            .health()
            .await
            .ok()
            .and_then(|v| v["height"].as_u64())
    }

    /// Waits until node `k` reaches `height`.
    pub async fn wait_height(&self, k: usize, height: u64, within: Duration) -> u64 {
        let deadline = Instant::now() + within;
        loop {
            if let Some(h) = self.height(k).await
                && h >= height
            {
                return h;
            }
            assert!(
                Instant::now() < deadline,
                "node {k} did not reach height {height} within {within:?}\n{}",
                self.log_tail(k)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn log_tail(&self, k: usize) -> String {
        let text = std::fs::read_to_string(self.node_dir(k).join("node.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Block ids of heights 1..=to on node `k`.
    pub async fn block_ids(&self, k: usize, to: u64) -> Vec<String> {
        let c = reqwest::Client::new();
        let mut ids = vec![];
        let mut from = 1;
        while from <= to {
            let v: Value = c
                .get(format!("{}/v1/blocks?from={from}&limit=1000", self.apis[k]))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let blocks = v["blocks"].as_array().unwrap();
            assert!(!blocks.is_empty(), "node {k} has no block at {from}");
            for b in blocks {
                if b["height"].as_u64().unwrap() <= to {
                    ids.push(b["blockId"].as_str().unwrap().to_owned());
                }
            }
            from += blocks.len() as u64;
        }
        ids
    }

    /// Asserts every running node holds the same block ids up to the lowest common height.
    pub async fn assert_no_fork(&self, nodes: &[usize]) {
        let mut min = u64::MAX;
        for &k in nodes {
            min = min.min(self.height(k).await.unwrap());
        }
        let reference = self.block_ids(nodes[0], min).await;
        assert_eq!(reference.len() as u64, min);
        for &k in &nodes[1..] {
            assert_eq!(
                self.block_ids(k, min).await,
                reference,
                "node {k} diverges from node {}",
                nodes[0]
            );
        }
    }

    pub fn create_op(&self, seed: &SecretKey) -> (Did, SignedOperation) {
        create_op(&self.chain, seed, &self.registrar)
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for c in self.children.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn read_key(path: &Path) -> SecretKey {
    SecretKey::from_multibase(std::fs::read_to_string(path).unwrap().trim()).unwrap()
}

/// A create operation for a fresh DID controlled by `key`, endorsed by `registrar`.
pub fn create_op(
    chain: &ChainId,
    key: &SecretKey,
    registrar: &SecretKey,
) -> (Did, SignedOperation) {
    let commitment = recovery_commitment(&SecretKey::from_seed(&[0xAA; 32]).public_key());
    let (did, op) = Operation::create_single_key(chain, &key.public_key(), commitment);
    (did, op.sign(&[key, registrar]))
}

pub fn key(i: u64) -> SecretKey {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&i.to_be_bytes());
    seed[8] = 0x5A;
    SecretKey::from_seed(&seed)
}
