//! # did-method: the `did:alliance` DID method in code
//!
//! This crate is the shared, pure core of Alliance ID's registry. It defines DID
//! identifiers and their self-certifying derivation, DID documents, the signed registry
//! operations and the state transition that applies them, the consensus objects a light
//! client checks (headers, validator sets, commit certificates, the exact bytes validators
//! sign), and the offline verification of a registry proof against a trust anchor.
//!
//! It is **not** a node, a client or a consensus engine: it does no I/O (no clock, no
//! network, no disk), has no async, and depends on neither the consensus engine, ssi, tokio
//! nor HTTP. The node (`did-registry`), the issuer, the wallet and the verifier all build on
//! it, so a proof that one accepts every other accepts too. The method itself is specified in
//! `docs/did-alliance.md`.

#![forbid(unsafe_code)]

pub mod chain;
pub mod crypto;
pub mod did;
pub mod document;
mod encoding;
pub mod genesis;
mod jcs;
pub mod operation;
pub mod proof;
pub mod state;

pub use chain::{
    Block, ChainId, CommitCertificate, CommitSignature, Hash, Header, Validator, ValidatorSet,
    VoteType,
};
pub use crypto::{PublicKey, SecretKey, Signature};
pub use did::Did;
pub use document::DidDocument;
pub use encoding::{jcs, jcs_value};
pub use genesis::Genesis;
pub use operation::{
    CheckedOperation, OpError, Operation, OperationBody, RejectKind, SignedOperation,
};
pub use proof::{Checkpoint, RegistryProof, TrustAnchor, VerifiedEntry};
