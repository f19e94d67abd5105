//! # issuer-service: what an agency runs to issue credentials
//!
//! An OpenID4VCI 1.0 credential issuer (pre-authorized code with a transaction code, nonce
//! endpoint, JWT proofs of possession, batch issuance, metadata also signed by the issuer's
//! DID, whose document names the issuer's address) for W3C VC 2.0 with Data Integrity
//! `eddsa-rdfc-2022` and IETF SD-JWT VC; an authenticated admin API (credential types,
//! offers as links and QR codes, revocation and suspension, the audit log, and the VC-API
//! `POST /credentials/issue`); Bitstring status lists with random indices, published only once
//! their hash is anchored in the registry; keys sealed at rest and rotated through the
//! registry, also while serving. Storage is SQLite by default or PostgreSQL by URL (sqlx,
//! migrations at start).
//!
//! It is not a wallet and not a verifier: the holder side is `wallet-core`, verification is
//! `verifier-lib` (whose signing primitives it shares so both canonicalize identically).

#![forbid(unsafe_code)]

pub mod config;
pub mod http;
pub mod identity;
pub mod issuer;
pub mod keys;
pub mod rotation;
pub mod store;

pub use config::IssuerConfig;
pub use issuer::{CredentialType, Issuer};
