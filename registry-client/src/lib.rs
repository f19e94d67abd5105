//! # registry-client: reaching the Alliance ID registry, without running it
//!
//! What every program that *talks to* a registry node needs, and nothing of the node itself:
//! the client of the node's HTTP API ([`RegistryClient`]: operations and waiting for their
//! commit, DID resolution, records, registry proofs, checkpoints, blocks); the HTTPS
//! configuration every Alliance ID client shares ([`https`]: the platform's verifier plus
//! Mozilla's roots, an extra CA file for a consortium with its own CA, certificate problems
//! told in words, plain `http://` only on loopback where a protocol requires TLS); and the
//! private files keys are kept in ([`files`]).
//!
//! It is **not** the node (no consensus, storage or server: that is `did-registry`), and it
//! decides nothing a verifier relies on: a proof it fetches is checked offline with
//! `did-method` against the genesis, whoever served it.

#![forbid(unsafe_code)]

pub mod client;
pub mod files;
pub mod https;

pub use client::{ClientError, ErrorKind, RegistryClient};
pub use files::FileError;
pub use https::{HttpsError, Trust};
