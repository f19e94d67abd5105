//! # Consensus: the registry's Malachite BFT engine integration
//!
//! This module runs the [Malachite](https://github.com/circlefin/malachite) Tendermint engine
//! (0.8.2, channel-based API) for the registry node: it implements Malachite's `Context`
//! (heights, validators, block-id values, proposals, streamed proposal parts, votes), the
//! signing provider over the validator's `did_method` key, the codecs for the network, sync
//! and the write-ahead log, and the application loop that answers the engine.
//!
//! What it is:
//! - the only place that knows Malachite: the rest of the node talks to it through [`Host`]
//!   (build, check, commit and serve blocks) and starts it with [`run`] and an
//!   [`EngineConfig`];
//! - crash-safe: Malachite's WAL and a small store of undecided blocks live under
//!   `home/wal`; on start, consensus resumes at `Host::next_height()`;
//! - certificate-compatible: votes are signed over exactly
//!   `did_method::chain::vote_sign_bytes`, and every decided block is committed with a
//!   `did_method::chain::CommitCertificate` that was verified with `did_method` alone;
//! - able to catch up: a lagging node fetches decided blocks and certificates from its peers
//!   (Malachite value sync), served from `Host::decided`.
//!
//! Starting a validator:
//!
//! ```ignore
//! use did_registry::consensus::{self, EngineConfig};
//! let config = EngineConfig::new(home, "node-0", consensus_key, "127.0.0.1:26656".parse()?, peers);
//! let (stop, stopped) = tokio::sync::watch::channel(false);
//! let engine = tokio::spawn(consensus::run(config, host /* Arc<dyn Host> */, stopped));
//! // … on SIGTERM:
//! stop.send(true)?;
//! engine.await??; // Ok(()) after a clean shutdown
//! ```
//!
//! What it is not: it holds no chain state, mempool or block storage (the [`Host`] does), it
//! does not execute operations, and it does not manage validator set changes (the host
//! answers `validator_set(height)`; the engine only reads it at each height start). Vote
//! extensions are not used. Proposer selection is round-robin by public key order.

mod app;
mod cert;
mod codec;
mod host;
mod node;
mod signing;
mod store;
mod streams;
mod types;

#[cfg(test)]
mod tests;

pub use host::{Host, HostError, HostErrorKind};
pub use node::{EngineConfig, p2p_peer_id, run};

/// Why the consensus engine could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ConsensusError {
    #[error("invalid consensus configuration: {0}")]
    Config(String),
    #[error("the host has no validator set for height {0}")]
    NoValidatorSet(u64),
    #[error("consensus storage: {0}")]
    Io(#[from] std::io::Error),
    #[error("failed to start the consensus engine: {0}")]
    Start(String),
    #[error("the consensus engine stopped: {0}")]
    EngineStopped(String),
    #[error("could not commit decided height {height}: {reason}")]
    Commit { height: u64, reason: String },
}
