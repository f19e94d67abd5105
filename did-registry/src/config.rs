//! A node's files: `config.json`, `genesis.json`, `validator.key`, `registrar.key`, and the
//! data directories. `init` writes them for a whole network; `node` reads one node's.

use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use did_method::Genesis;
use did_method::chain::{ChainId, Validator, ValidatorSet};
use did_method::crypto::SecretKey;
use did_method::state::{Authority, Governance};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PeerConfig {
    pub name: String,
    pub p2p: SocketAddr,
    pub api: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeConfig {
    pub moniker: String,
    pub chain_id: ChainId,
    pub api_listen: SocketAddr,
    pub p2p_listen: SocketAddr,
    pub peers: Vec<PeerConfig>,
    #[serde(default = "default_propose_ms")]
    pub propose_timeout_ms: u64,
    #[serde(default = "default_vote_ms")]
    pub vote_timeout_ms: u64,
    /// Minimum time between blocks; 0 = as fast as consensus goes.
    #[serde(default)]
    pub target_block_time_ms: u64,
    /// How long a proposer with an empty mempool waits for operations before proposing an
    /// empty block (from the previous block; at most half the propose timeout); 0 = never.
    #[serde(default = "default_empty_block_ms")]
    pub empty_block_interval_ms: u64,
}

fn default_empty_block_ms() -> u64 {
    500
}

fn default_propose_ms() -> u64 {
    1000
}
fn default_vote_ms() -> u64 {
    200
}

impl NodeConfig {
    pub fn api_url(&self) -> String {
        format!("http://{}", self.api_listen)
    }
}

/// Paths inside a node's directory.
pub struct NodeDir(pub PathBuf);

impl NodeDir {
    pub fn config(&self) -> PathBuf {
        self.0.join("config.json")
    }
    pub fn genesis(&self) -> PathBuf {
        self.0.join("genesis.json")
    }
    pub fn validator_key(&self) -> PathBuf {
        self.0.join("validator.key")
    }
    pub fn registrar_key(&self) -> PathBuf {
        self.0.join("registrar.key")
    }
    pub fn db(&self) -> PathBuf {
        self.0.join("data").join("registry.redb")
    }
    pub fn engine_home(&self) -> PathBuf {
        self.0.join("engine")
    }

    pub fn load(&self) -> anyhow::Result<(NodeConfig, Genesis, SecretKey)> {
        let cfg: NodeConfig = serde_json::from_slice(
            &fs::read(self.config())
                .with_context(|| format!("reading {}", self.config().display()))?,
        )
        .with_context(|| format!("parsing {}", self.config().display()))?;
        let genesis = Genesis::from_json(
            &fs::read(self.genesis())
                .with_context(|| format!("reading {}", self.genesis().display()))?,
        )
        .with_context(|| format!("parsing {}", self.genesis().display()))?;
        if genesis.chain_id != cfg.chain_id {
            bail!(
                "config is for chain {} but genesis is for {}",
                cfg.chain_id,
                genesis.chain_id
            );
        }
        let key = read_secret_key(&self.validator_key())?;
        Ok((cfg, genesis, key))
    }
}

pub use registry_client::files::{read_secret_key, write_private, write_secret_key};

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// A free loopback port (bound and released; good enough for local networks), not one of
/// `taken`. Chosen below the kernel's ephemeral range (32768 and up on Linux): a port the
/// kernel handed out with `bind(0)` can be given again to an outgoing connection before our
/// node binds it, which made a local network fail to start now and then.
pub fn free_port(taken: &[u16]) -> anyhow::Result<u16> {
    use rand_core::RngCore;
    for _ in 0..200 {
        let port = 20_000 + (rand_core::OsRng.next_u32() % 12_000) as u16;
        if !taken.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub struct InitOptions {
    pub validators: usize,
    pub chain_id: ChainId,
    pub authorities: usize,
    pub threshold: u32,
    /// First port; each node takes two (API, p2p). `None`: pick free ports.
    pub base_port: Option<u16>,
    pub propose_timeout_ms: u64,
    pub vote_timeout_ms: u64,
    pub block_time_ms: u64,
    pub empty_block_interval_ms: u64,
}

/// What `init` wrote.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitSummary {
    pub chain_id: ChainId,
    pub genesis: PathBuf,
    pub nodes: Vec<PathBuf>,
    pub authority_keys: Vec<PathBuf>,
}

/// Writes a genesis and one directory per validator (config, genesis copy, keys).
pub fn init_network(dir: &Path, opts: &InitOptions) -> anyhow::Result<InitSummary> {
    if opts.validators == 0 || opts.validators > 64 {
        bail!("--validators must be between 1 and 64");
    }
    if opts.authorities == 0 || opts.threshold == 0 || opts.threshold as usize > opts.authorities {
        bail!("--threshold must be between 1 and --authorities");
    }
    if dir.join("genesis.json").exists() {
        bail!(
            "{} already holds a network (genesis.json exists); choose an empty directory",
            dir.display()
        );
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut rng = rand_core::OsRng;
    let mut nodes = vec![];
    let mut validators = vec![];
    let mut used: Vec<u16> = vec![];
    for k in 0..opts.validators {
        let (api, p2p) = match opts.base_port {
            Some(b) => {
                let api = b.checked_add((2 * k) as u16).context("port out of range")?;
                (api, api.checked_add(1).context("port out of range")?)
            }
            None => {
                let api = free_port(&used)?;
                used.push(api);
                let p2p = free_port(&used)?;
                used.push(p2p);
                (api, p2p)
            }
        };
        let vkey = SecretKey::generate(&mut rng);
        let rkey = SecretKey::generate(&mut rng);
        let name = format!("member-{k}");
        validators.push(Validator {
            name: name.clone(),
            public_key: vkey.public_key(),
            power: 10,
            registrar_key: rkey.public_key(),
            operator_did: None,
        });
        nodes.push((name, api, p2p, vkey, rkey));
    }
    let mut authority_keys = vec![];
    let mut authorities = vec![];
    for a in 0..opts.authorities {
        let key = SecretKey::generate(&mut rng);
        let path = dir.join(format!("authority-{a}.key"));
        write_secret_key(&path, &key)?;
        authorities.push(Authority {
            name: format!("root-authority-{a}"),
            public_key: key.public_key(),
            did: None,
        });
        authority_keys.push(path);
    }
    let genesis = Genesis {
        chain_id: opts.chain_id.clone(),
        genesis_time_ms: SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as u64,
        validators: ValidatorSet::new(validators)?,
        governance: Governance {
            authorities,
            threshold: opts.threshold,
            sequence: 0,
        },
    };
    let genesis_path = dir.join("genesis.json");
    write_json(&genesis_path, &genesis)?;
    let mut node_dirs = vec![];
    for (name, api, p2p, vkey, rkey) in &nodes {
        let nd = NodeDir(dir.join(format!("node-{}", node_dirs.len())));
        fs::create_dir_all(&nd.0)?;
        let peers = nodes
            .iter()
            .filter(|(n, ..)| n != name)
            .map(|(n, a, p, ..)| PeerConfig {
                name: n.clone(),
                p2p: SocketAddr::from(([127, 0, 0, 1], *p)),
                api: format!("http://127.0.0.1:{a}"),
            })
            .collect();
        let cfg = NodeConfig {
            moniker: name.clone(),
            chain_id: opts.chain_id.clone(),
            api_listen: SocketAddr::from(([127, 0, 0, 1], *api)),
            p2p_listen: SocketAddr::from(([127, 0, 0, 1], *p2p)),
            peers,
            propose_timeout_ms: opts.propose_timeout_ms,
            vote_timeout_ms: opts.vote_timeout_ms,
            target_block_time_ms: opts.block_time_ms,
            empty_block_interval_ms: opts.empty_block_interval_ms,
        };
        write_json(&nd.config(), &cfg)?;
        write_json(&nd.genesis(), &genesis)?;
        write_secret_key(&nd.validator_key(), vkey)?;
        write_secret_key(&nd.registrar_key(), rkey)?;
        node_dirs.push(nd.0);
    }
    Ok(InitSummary {
        chain_id: opts.chain_id.clone(),
        genesis: genesis_path,
        nodes: node_dirs,
        authority_keys,
    })
}
