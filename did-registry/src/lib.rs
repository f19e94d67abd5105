//! # did-registry: the Alliance ID registry node
//!
//! A validator of the consortium chain that stores `did:alliance` DID documents, issuer
//! accreditations and status-list anchors. It runs BFT consensus on Malachite (kept inside
//! [`consensus`], behind our own [`consensus::Host`] boundary), executes blocks with the pure
//! state machine of `did-method`, keeps the state in a versioned Jellyfish Merkle tree in
//! redb ([`store`]), and serves an HTTP API ([`api`]): submission, status, DID resolution,
//! registry proofs, blocks, validators, health and metrics.
//!
//! It is **not** where the method's rules live (that is `did-method`, which a verifier uses
//! offline without this crate), not the client of its API (that is `registry-client`, which
//! the CLI here, the issuer and the wallet use), and not a wallet or issuer.

pub mod api;
pub mod app;
pub mod config;
pub mod consensus;
pub mod devnet;
pub mod metrics;
pub mod node;
pub mod store;
