//! # verifier-lib: offline verification for Alliance ID
//!
//! What a business embeds to verify what citizens present, with no network call at
//! verification time. Every decision is a [`Verdict`]: the list of checks made, each passed or
//! failed with its reason, never a bare true/false.
//!
//! A [`Verifier`] takes a presentation [`Bundle`] (`docs/presentation-bundle.md`): a W3C VC 2.0
//! presentation secured with Data Integrity `eddsa-rdfc-2022`, the registry proofs of its
//! issuers' DID documents, accreditations and status-list anchors, and the status lists
//! themselves. It checks signatures ([`rdfc`]: ssi's canonicalization with cached, pinned
//! [`contexts`]), issuer and holder binding ([`dids`]), challenge and domain, validity dates,
//! accreditation and revocation against a [`Policy`], and the registry evidence against a trust
//! anchor ([`registry`]). Input is bounded before it is parsed ([`input`]).
//!
//! It is not a resolver and not a wallet: it never fetches anything (a `did:alliance` document
//! exists for it only if a valid stapled proof carries it; `did:key` and `did:jwk` are read
//! from the DID itself), and it signs only through [`rdfc::Rdfc2022::sign`], which issuers and
//! holders share so both sides canonicalize identically.

#![forbid(unsafe_code)]

pub mod bundle;
mod canon;
pub mod contexts;
pub mod dids;
pub mod input;
pub mod policy;
pub mod qr_frames;
pub mod rdfc;
pub mod registry;
mod sd_compact;
pub mod sdjwt;
mod shapes;
pub mod token_status;
pub mod types;
pub mod verdict;
pub mod verify;

pub use bundle::Bundle;
pub use policy::Policy;
pub use registry::{RegistryEvidence, RegistryPolicy};
pub use verdict::{Check, CheckKind, Outcome, Verdict};
pub use verify::Verifier;
