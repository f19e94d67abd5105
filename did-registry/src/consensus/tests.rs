//! In-process network tests: real engines on 127.0.0.1 with a **test-only in-memory host**
//! (`TestHost`: blocks with no operations kept in a `Vec`; not the node's real host).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use did_method::chain::{
    Block, ChainId, CommitCertificate, Hash, Header, Validator, ValidatorSet, operations_root,
};
use did_method::crypto::{PublicKey, SecretKey};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{ConsensusError, EngineConfig, Host, HostError, run};

/// TEST HOST: an in-memory chain of empty blocks. Commits verify the certificate.
struct TestHost {
    chain_id: ChainId,
    validators: ValidatorSet,
    blocks: Mutex<Vec<(Block, CommitCertificate)>>,
}

impl TestHost {
    fn new(validators: ValidatorSet) -> Arc<Self> {
        Arc::new(Self {
            chain_id: ChainId::new("alliance-test").unwrap(),
            validators,
            blocks: Mutex::new(Vec::new()),
        })
    }

    fn height(&self) -> u64 {
        self.blocks.lock().unwrap().len() as u64
    }

    fn ids(&self, n: usize) -> Vec<Hash> {
        self.blocks
            .lock()
            .unwrap()
            .iter()
            .take(n)
            .map(|(b, _)| b.id())
            .collect()
    }

    fn last_id(&self) -> Hash {
        self.blocks
            .lock()
            .unwrap()
            .last()
            .map(|(b, _)| b.id())
            .unwrap_or(Hash::ZERO)
    }
}

impl Host for TestHost {
    fn chain_id(&self) -> &ChainId {
        &self.chain_id
    }

    fn next_height(&self) -> u64 {
        self.height() + 1
    }

    fn validator_set(&self, _height: u64) -> Option<ValidatorSet> {
        Some(self.validators.clone())
    }

    fn build_block(
        &self,
        height: u64,
        _round: u32,
        time_ms: u64,
        proposer: &PublicKey,
    ) -> Result<Block, HostError> {
        Ok(Block {
            header: Header {
                chain_id: self.chain_id.clone(),
                height,
                time_ms,
                prev_hash: self.last_id(),
                operations_root: operations_root(&[]),
                state_root: Hash::ZERO,
                validators_hash: self.validators.hash(),
                next_validators_hash: self.validators.hash(),
                proposer: *proposer,
            },
            operations: vec![],
        })
    }

    fn check_block(&self, block: &Block) -> Result<(), HostError> {
        if block.header.height != self.next_height() {
            return Err(HostError::invalid("wrong height"));
        }
        if block.header.prev_hash != self.last_id() {
            return Err(HostError::invalid("wrong previous block"));
        }
        if block.header.validators_hash != self.validators.hash() {
            return Err(HostError::invalid("wrong validators"));
        }
        Ok(())
    }

    fn commit(&self, block: &Block, cert: &CommitCertificate) -> Result<(), HostError> {
        let mut blocks = self.blocks.lock().unwrap();
        let next = blocks.len() as u64 + 1;
        if block.header.height < next {
            let (known, _) = &blocks[block.header.height as usize - 1];
            return if known.id() == block.id() {
                Ok(())
            } else {
                Err(HostError::invalid("conflicting commit"))
            };
        }
        if block.header.height != next {
            return Err(HostError::internal(format!(
                "commit of height {} while at {next}",
                block.header.height
            )));
        }
        cert.verify_header(&block.header, &self.chain_id, &self.validators)
            .map_err(|e| HostError::invalid(e.to_string()))?;
        blocks.push((block.clone(), cert.clone()));
        Ok(())
    }

    fn decided(&self, height: u64) -> Option<(Block, CommitCertificate)> {
        let blocks = self.blocks.lock().unwrap();
        blocks.get(height.checked_sub(1)? as usize).cloned()
    }

    fn history_min_height(&self) -> u64 {
        1
    }
}

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Distinct free loopback ports below the kernel's ephemeral range (see
/// `config::free_port`).
fn free_ports(n: usize) -> Vec<SocketAddr> {
    let mut taken = vec![];
    for _ in 0..n {
        let port = crate::config::free_port(&taken).unwrap();
        taken.push(port);
    }
    taken
        .into_iter()
        .map(|p| SocketAddr::from(([127, 0, 0, 1], p)))
        .collect()
}

struct Net {
    keys: Vec<SecretKey>,
    addrs: Vec<SocketAddr>,
    homes: Vec<tempfile::TempDir>,
    hosts: Vec<Arc<TestHost>>,
}

impl Net {
    fn new(n: u8) -> Self {
        let keys: Vec<SecretKey> = (1..=n).map(|i| SecretKey::from_seed(&[i; 32])).collect();
        let validators = ValidatorSet::new(
            keys.iter()
                .enumerate()
                .map(|(i, k)| Validator {
                    name: format!("member-{i}"),
                    public_key: k.public_key(),
                    power: 1,
                    registrar_key: k.public_key(),
                    operator_did: None,
                })
                .collect(),
        )
        .unwrap();
        Self {
            addrs: free_ports(keys.len()),
            homes: keys.iter().map(|_| tempfile::tempdir().unwrap()).collect(),
            hosts: keys
                .iter()
                .map(|_| TestHost::new(validators.clone()))
                .collect(),
            keys,
        }
    }

    fn start(&self, i: usize) -> (watch::Sender<bool>, JoinHandle<Result<(), ConsensusError>>) {
        let mut cfg = EngineConfig::new(
            self.homes[i].path().to_path_buf(),
            format!("node-{i}"),
            self.keys[i].clone(),
            self.addrs[i],
            self.addrs
                .iter()
                .copied()
                .filter(|a| *a != self.addrs[i])
                .collect(),
        );
        cfg.propose_timeout = Duration::from_millis(300);
        cfg.vote_timeout = Duration::from_millis(200);
        let (tx, rx) = watch::channel(false);
        let host: Arc<dyn Host> = self.hosts[i].clone();
        (tx, tokio::spawn(run(cfg, host, rx)))
    }

    async fn wait_heights(&self, nodes: &[usize], height: u64, limit: Duration) {
        let reached = tokio::time::timeout(limit, async {
            loop {
                if nodes.iter().all(|&i| self.hosts[i].height() >= height) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        let heights: Vec<u64> = self.hosts.iter().map(|h| h.height()).collect();
        assert!(
            reached.is_ok(),
            "nodes {nodes:?} did not reach height {height} in {limit:?}: {heights:?}"
        );
    }

    /// Blocks per second committed by node 0 over `secs` seconds.
    async fn rate(&self, secs: u64) -> f64 {
        let start = self.hosts[0].height();
        tokio::time::sleep(Duration::from_secs(secs)).await;
        (self.hosts[0].height() - start) as f64 / secs as f64
    }

    fn assert_same_chain(&self, nodes: &[usize], n: usize) {
        let reference = self.hosts[nodes[0]].ids(n);
        assert_eq!(reference.len(), n);
        for &i in nodes {
            assert_eq!(self.hosts[i].ids(n), reference, "node {i} diverges");
        }
    }
}

async fn stop(node: (watch::Sender<bool>, JoinHandle<Result<(), ConsensusError>>)) {
    let (tx, handle) = node;
    let _ = tx.send(true);
    let res = tokio::time::timeout(Duration::from_secs(30), handle).await;
    match res {
        Ok(Ok(Ok(()))) => {}
        other => panic!("engine did not stop cleanly: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_commit_the_same_blocks() {
    init_logs();
    let net = Net::new(4);
    let nodes: Vec<_> = (0..4).map(|i| net.start(i)).collect();

    net.wait_heights(&[0, 1, 2, 3], 5, Duration::from_secs(60))
        .await;
    net.assert_same_chain(&[0, 1, 2, 3], 5);

    for node in nodes {
        stop(node).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lagging_node_syncs_and_restarted_node_resumes() {
    init_logs();
    let net = Net::new(4);

    // Three of four (3/4 > 2/3 of the power) make progress without the fourth.
    let mut nodes: Vec<_> = (0..3).map(|i| Some(net.start(i))).collect();
    net.wait_heights(&[0, 1, 2], 6, Duration::from_secs(60))
        .await;

    // The fourth joins late and catches up through value sync.
    nodes.push(Some(net.start(3)));
    let target = net.hosts[0].height() + 3;
    net.wait_heights(&[0, 1, 2, 3], target, Duration::from_secs(60))
        .await;
    net.assert_same_chain(&[0, 1, 2, 3], target as usize);

    // Node 0 stops; its host keeps what it committed (as the real store does). The others go
    // on; node 0 restarts from its home directory and catches up again.
    if let Some(n) = nodes[0].take() {
        stop(n).await;
    }
    let target = net.hosts[1].height() + 3;
    net.wait_heights(&[1, 2, 3], target, Duration::from_secs(60))
        .await;
    nodes[0] = Some(net.start(0));
    let target = net.hosts[1].height() + 2;
    net.wait_heights(&[0, 1, 2, 3], target, Duration::from_secs(60))
        .await;
    net.assert_same_chain(&[0, 1, 2, 3], target as usize);

    for node in nodes.into_iter().flatten() {
        stop(node).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_progress_without_quorum_then_resume() {
    init_logs();
    let net = Net::new(4);
    let mut nodes: Vec<_> = (0..4).map(|i| Some(net.start(i))).collect();
    net.wait_heights(&[0, 1, 2, 3], 3, Duration::from_secs(60))
        .await;

    // Two of four down: 2/4 is not more than 2/3 of the power, so nothing is committed.
    for i in [2, 3] {
        if let Some(n) = nodes[i].take() {
            stop(n).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stalled = net.hosts[0].height().max(net.hosts[1].height());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        net.hosts[0].height().max(net.hosts[1].height()),
        stalled,
        "progress without a quorum"
    );

    // Both come back (from their home directories): the chain moves on and all agree.
    for i in [2, 3] {
        nodes[i] = Some(net.start(i));
    }
    let target = stalled + 3;
    net.wait_heights(&[0, 1, 2, 3], target, Duration::from_secs(60))
        .await;
    net.assert_same_chain(&[0, 1, 2, 3], target as usize);

    for node in nodes.into_iter().flatten() {
        stop(node).await;
    }
}

/// Not a correctness test: prints the block rate of 4 validators, then with one stopped.
/// `cargo test -p did-registry --release throughput -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn throughput() {
    init_logs();
    let net = Net::new(4);
    let mut nodes: Vec<_> = (0..4).map(|i| Some(net.start(i))).collect();
    net.wait_heights(&[0, 1, 2, 3], 3, Duration::from_secs(60))
        .await;
    let all = net.rate(5).await;
    if let Some(n) = nodes[3].take() {
        stop(n).await;
    }
    let three = net.rate(10).await;
    println!("blocks/s: 4 validators {all:.1}, 3 of 4 {three:.1}");
    for node in nodes.into_iter().flatten() {
        stop(node).await;
    }
}
