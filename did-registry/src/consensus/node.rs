//! Starting and stopping the engine: configuration, network identity, and the loop that
//! feeds consensus messages to [`App`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use did_method::crypto::{SecretKey, sha256};
use malachitebft_app_channel::app::config::{
    ConsensusConfig, NodeConfig, PubSubProtocol, ValuePayload, ValueSyncConfig,
};
use malachitebft_app_channel::app::engine::consensus::Msg as ConsensusActorMsg;
use malachitebft_app_channel::app::types::Keypair;
use malachitebft_app_channel::app::types::codec::Codec;
use malachitebft_app_channel::app::types::core::LinearTimeouts;
use malachitebft_app_channel::{
    ConsensusContext, EngineBuilder, EngineHandle, NetworkContext, NetworkIdentity, RequestContext,
    Signer as _, SyncContext, WalContext,
};
use tokio::sync::watch;
use tracing::{Instrument, debug, info, warn};
use zeroize::Zeroize;

use super::ConsensusError;
use super::app::App;
use super::codec::WireCodec;
use super::host::Host;
use super::signing::{KeySigner, KeyVerifier};
use super::store::ProposalStore;
use super::types::AllianceContext;

/// Domain tag of the derivation of the libp2p identity key from the consensus key.
const P2P_KEY_TAG: &[u8] = b"alliance-did/p2p-identity/v1\0";

/// Everything the engine needs besides the [`Host`].
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Node data directory; the WAL and undecided blocks live under `home/wal`.
    pub home: PathBuf,
    /// Name of this node in logs and metrics.
    pub moniker: String,
    /// The validator's consensus key.
    pub secret: SecretKey,
    /// Where to listen for peers (TCP), e.g. `127.0.0.1:26656`.
    pub p2p_listen: SocketAddr,
    /// The other validators' p2p addresses (persistent peers, redialled when lost).
    pub peers: Vec<SocketAddr>,
    /// Propose timeout of round 0 (grows by half of it per round), e.g. 1000 ms.
    pub propose_timeout: Duration,
    /// Prevote and precommit timeouts of round 0 (grow by half per round), e.g. 200 ms.
    pub vote_timeout: Duration,
    /// Minimum time between blocks; `None` = as fast as possible.
    pub target_block_time: Option<Duration>,
    /// How long a proposer with an empty mempool waits for operations (counted from the
    /// previous block, at most half the propose timeout) before it proposes an empty block;
    /// `None` = never waits. Keeps an idle chain from writing a block every few
    /// milliseconds.
    pub empty_block_interval: Option<Duration>,
}

impl EngineConfig {
    /// A configuration with the recommended timeouts (propose 1000 ms, votes 200 ms) and no
    /// target block time.
    pub fn new(
        home: PathBuf,
        moniker: impl Into<String>,
        secret: SecretKey,
        p2p_listen: SocketAddr,
        peers: Vec<SocketAddr>,
    ) -> Self {
        Self {
            home,
            moniker: moniker.into(),
            secret,
            p2p_listen,
            peers,
            propose_timeout: Duration::from_millis(1000),
            vote_timeout: Duration::from_millis(200),
            target_block_time: None,
            empty_block_interval: None,
        }
    }

    fn timeouts(&self) -> Result<LinearTimeouts, ConsensusError> {
        if self.propose_timeout.is_zero() || self.vote_timeout.is_zero() {
            return Err(ConsensusError::Config("timeouts must be positive".into()));
        }
        let (p, v) = (self.propose_timeout, self.vote_timeout);
        Ok(LinearTimeouts {
            propose: p,
            propose_delta: p / 2,
            prevote: v,
            prevote_delta: v / 2,
            precommit: v,
            precommit_delta: v / 2,
            rebroadcast: p + v * 2,
            max_timeout: Duration::from_secs(10).max(p + v * 2),
        })
    }
}

/// The libp2p identity of a validator: an Ed25519 key derived from (not equal to) its
/// consensus key, so it is stable across restarts without reusing the consensus key in the
/// transport handshake.
pub fn p2p_keypair(secret: &SecretKey) -> Result<Keypair, ConsensusError> {
    let mut material = Vec::with_capacity(P2P_KEY_TAG.len() + 32);
    material.extend_from_slice(P2P_KEY_TAG);
    let mut seed = secret.to_seed_bytes();
    material.extend_from_slice(&seed);
    seed.zeroize();
    let mut derived = sha256(&material);
    material.zeroize();
    let keypair = Keypair::ed25519_from_bytes(&mut derived)
        .map_err(|e| ConsensusError::Config(format!("p2p key: {e}")));
    derived.zeroize();
    keypair
}

/// The libp2p peer id a validator key gets on the network (base58), e.g. for logs.
pub fn p2p_peer_id(secret: &SecretKey) -> Result<String, ConsensusError> {
    Ok(p2p_keypair(secret)?.public().to_peer_id().to_base58())
}

fn multiaddr(addr: &SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("/ip4/{}/tcp/{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("/ip6/{}/tcp/{}", a.ip(), a.port()),
    }
}

/// Malachite's node configuration (only the parts its builder reads).
struct Settings {
    moniker: String,
    consensus: ConsensusConfig,
    value_sync: ValueSyncConfig,
}

impl NodeConfig for Settings {
    fn moniker(&self) -> &str {
        &self.moniker
    }
    fn consensus(&self) -> &ConsensusConfig {
        &self.consensus
    }
    fn consensus_mut(&mut self) -> &mut ConsensusConfig {
        &mut self.consensus
    }
    fn value_sync(&self) -> &ValueSyncConfig {
        &self.value_sync
    }
    fn value_sync_mut(&mut self) -> &mut ValueSyncConfig {
        &mut self.value_sync
    }
}

fn settings(config: &EngineConfig) -> Result<Settings, ConsensusError> {
    let bad = |what: &SocketAddr, e: &dyn std::fmt::Display| {
        ConsensusError::Config(format!("address {what}: {e}"))
    };
    let mut consensus = ConsensusConfig {
        value_payload: ValuePayload::ProposalAndParts,
        queue_capacity: 32,
        ..ConsensusConfig::default()
    };
    consensus.p2p.listen_addr = multiaddr(&config.p2p_listen)
        .parse()
        .map_err(|e| bad(&config.p2p_listen, &e))?;
    consensus.p2p.persistent_peers = config
        .peers
        .iter()
        .filter(|p| **p != config.p2p_listen)
        .map(|p| multiaddr(p).parse().map_err(|e| bad(p, &e)))
        .collect::<Result<_, _>>()?;
    // Validators may share an IP (one host, NAT): allow each peer a few connections.
    consensus.p2p.discovery.max_connections_per_ip = 8 * (config.peers.len() + 1).max(2);
    // Every validator connects to every other (persistent peers), so consensus messages are
    // sent straight to each peer (Malachite's broadcast protocol) rather than gossiped:
    // GossipSub forwards each message through the mesh and signs and checks every copy with
    // the libp2p key, on top of the votes' and proposals' own signatures (ADR 0015).
    consensus.p2p.protocol = PubSubProtocol::Broadcast;

    let value_sync = ValueSyncConfig {
        enabled: true,
        status_update_interval: Duration::from_secs(1),
        request_timeout: Duration::from_secs(5),
        ..ValueSyncConfig::default()
    };
    Ok(Settings {
        moniker: config.moniker.clone(),
        consensus,
        value_sync,
    })
}

/// Runs the consensus engine until `shutdown` becomes `true` (or its sender is dropped).
///
/// Starts at `host.next_height()`; after a crash the WAL under `home/wal` restores the
/// in-progress height. Returns an error if the engine cannot start, stops by itself (e.g.
/// after a safety failure it refuses to continue from), or a decided block cannot be
/// committed.
pub async fn run(
    config: EngineConfig,
    host: Arc<dyn Host>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), ConsensusError> {
    let span = tracing::info_span!("consensus", moniker = %config.moniker);
    run_engine(config, host, shutdown).instrument(span).await
}

async fn run_engine(
    config: EngineConfig,
    host: Arc<dyn Host>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ConsensusError> {
    if *shutdown.borrow() {
        return Ok(());
    }
    let chain_id = host.chain_id().clone();
    let timeouts = config.timeouts()?;
    let wal_dir = config.home.join("wal");
    let store = ProposalStore::open(wal_dir.join("proposals"), host.next_height())?;

    let signer = KeySigner::new(config.secret.clone(), chain_id.clone());
    let address = signer.address();
    let keypair = p2p_keypair(&config.secret)?;
    let peer_id = keypair.public().to_peer_id();

    // Proof that this libp2p peer is run by the holder of the consensus key (docs/adr/0006).
    let proof = signer
        .sign_validator_proof(address.0.to_bytes().to_vec(), peer_id.to_bytes())
        .await
        .map_err(|e| ConsensusError::Start(format!("signing the validator proof: {e}")))?;
    let proof_bytes = WireCodec
        .encode(&proof)
        .map_err(|e| ConsensusError::Start(e.to_string()))?;
    let identity = NetworkIdentity::new_validator(
        config.moniker.clone(),
        keypair,
        address.to_string(),
        proof_bytes,
    );

    info!(%address, %peer_id, listen = %config.p2p_listen, peers = config.peers.len(), "starting consensus engine");

    let (mut channels, engine) = EngineBuilder::new(AllianceContext, settings(&config)?)
        .with_default_wal(WalContext::new(wal_dir.join("consensus.wal"), WireCodec))
        .with_default_network(NetworkContext::new(identity, WireCodec))
        .with_default_sync(SyncContext::new(WireCodec))
        .with_default_consensus(ConsensusContext::new_validator(
            address,
            Box::new(KeyVerifier::new(chain_id)),
            Box::new(signer.clone()),
        ))
        .with_default_request(RequestContext::new(100))
        .build()
        .await
        .map_err(|e| ConsensusError::Start(format!("{e:#}")))?;

    let mut app = App::new(
        host,
        signer,
        store,
        timeouts,
        config.target_block_time,
        config.empty_block_interval,
    );

    let result = loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    info!("shutting down consensus engine");
                    break Ok(());
                }
            }
            msg = channels.consensus.recv() => {
                let Some(msg) = msg else {
                    break Err(ConsensusError::EngineStopped("consensus channel closed".into()));
                };
                if let Err(e) = app.handle(msg, &channels.network).await {
                    break Err(e);
                }
                // Also here, so a steady stream of messages cannot starve a deferred proposal.
                if app.has_deferred()
                    && let Err(e) = app.poll_deferred(&channels.network).await
                {
                    break Err(e);
                }
            }
            // A proposer waiting for operations (empty mempool) looks again every 5 ms.
            // (Malachite's connector forwards no other host message until that answer.)
            _ = tokio::time::sleep(Duration::from_millis(5)), if app.has_deferred() => {
                if let Err(e) = app.poll_deferred(&channels.network).await {
                    break Err(e);
                }
            }
        }
    };

    // Stop receiving first so no actor blocks on a full channel while stopping.
    drop(channels);
    stop(engine).await;
    if let Err(e) = &result {
        warn!(error = %e, "consensus engine stopped with an error");
    }
    result
}

/// Stops the engine's actors: consensus first, so that it does not see the WAL or the
/// network go away under it (which Malachite treats as a safety failure and answers by
/// hanging the consensus task), then the others, then the supervisor.
async fn stop(engine: EngineHandle) {
    let EngineHandle { actor, handle } = engine;
    let reason = || Some("shutdown".to_string());
    for child in actor.get_children() {
        if child.is_message_type_of::<ConsensusActorMsg<AllianceContext>>() == Some(true)
            && child
                .stop_and_wait(reason(), Some(Duration::from_secs(5)))
                .await
                .is_err()
        {
            warn!("consensus actor did not stop in time; killing it");
            let _ = child.kill_and_wait(Some(Duration::from_secs(2))).await;
        }
    }
    actor
        .stop_children_and_wait(reason(), Some(Duration::from_secs(5)))
        .await;
    for child in actor.get_children() {
        let _ = child.kill_and_wait(Some(Duration::from_secs(2))).await;
    }
    if let Err(e) = actor
        .stop_and_wait(reason(), Some(Duration::from_secs(2)))
        .await
    {
        debug!(error = %e, "engine supervisor already stopped");
    }
    match tokio::time::timeout(Duration::from_secs(5), handle).await {
        Ok(_) => debug!("consensus engine stopped"),
        Err(_) => warn!("consensus engine did not stop in time"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p2p_identity_is_stable_and_distinct_from_the_consensus_key() {
        let sk = SecretKey::from_seed(&[7; 32]);
        let a = p2p_keypair(&sk).unwrap();
        let b = p2p_keypair(&sk).unwrap();
        assert_eq!(a.public().to_peer_id(), b.public().to_peer_id());
        let other = p2p_keypair(&SecretKey::from_seed(&[8; 32])).unwrap();
        assert_ne!(a.public().to_peer_id(), other.public().to_peer_id());
        let ed = a.public().try_into_ed25519().unwrap();
        assert_ne!(ed.to_bytes(), sk.public_key().to_bytes());
    }

    #[test]
    fn settings_map_addresses() {
        let sk = SecretKey::from_seed(&[7; 32]);
        let cfg = EngineConfig::new(
            PathBuf::from("/tmp/x"),
            "n0",
            sk,
            "127.0.0.1:26656".parse().unwrap(),
            vec![
                "127.0.0.1:26657".parse().unwrap(),
                "[::1]:26658".parse().unwrap(),
            ],
        );
        let s = settings(&cfg).unwrap();
        assert_eq!(
            s.consensus.p2p.listen_addr.to_string(),
            "/ip4/127.0.0.1/tcp/26656"
        );
        let peers: Vec<String> = s
            .consensus
            .p2p
            .persistent_peers
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(
            peers,
            vec!["/ip4/127.0.0.1/tcp/26657", "/ip6/::1/tcp/26658"]
        );
        let t = cfg.timeouts().unwrap();
        assert_eq!(t.propose, Duration::from_millis(1000));
        assert_eq!(t.precommit, Duration::from_millis(200));
    }
}
