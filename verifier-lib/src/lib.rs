//! # verifier-lib: offline verification for Alliance ID
//!
//! What a business embeds to verify what citizens present, with no network call at
//! verification time. Every decision is a [`Verdict`]: the list of checks made, each passed or
//! failed with its reason, never a bare true/false.
//!
//! This version holds the **registry evidence** layer: the registry proofs stapled to a
//! presentation (issuer DID documents, issuer accreditations, status-list anchors) are
//! verified against the verifier's trust anchor and freshness policy, then queried. The
//! credential and presentation formats (W3C VC with Data Integrity, IETF SD-JWT VC) build on
//! it (issue 3; plan in `docs/adr/0008-credential-stack.md`). It is not a resolver: it never
//! fetches anything, and a `did:alliance` document exists for it only if a valid stapled
//! proof carries it.

#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod registry;
pub mod verdict;

pub use registry::{RegistryEvidence, RegistryPolicy};
pub use verdict::{Check, CheckKind, Outcome, Verdict};
