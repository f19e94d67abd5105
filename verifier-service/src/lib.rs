//! # verifier-service: a business asks, a citizen's wallet answers (OpenID4VP 1.0)
//!
//! The service a business runs to ask for credentials over OpenID4VP and to learn, verified,
//! what a citizen chose to share. Being built for issue 18 (ADR 0021, ADR 0022); what exists
//! today is its core:
//!
//! - [`Ledger`]: every presentation request the service has made, pure (the caller gives the
//!   time and the randomness): a fresh single-use nonce and an expiry per request, a bounded
//!   number pending, and the life of a request from created to fetched to answered, so that a
//!   response for an unknown request, a second response (a replay), or one after expiry is
//!   refused with no change of state.
//!
//! It is **not** a verifier of presentations (that is `verifier-lib`, which the service calls
//! with the request's nonce and client identifier as the expected challenge and audience), and
//! the ledger holds no key and does no I/O.

#![forbid(unsafe_code)]

mod ledger;

pub use ledger::{
    Answering, Ledger, LedgerConfig, LedgerError, Outcome, RequestState, RequestView,
};
