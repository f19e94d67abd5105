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
//! - [`verify_answer`]: a wallet's `direct_post` answer verified: its shape against the query,
//!   every presentation with `verifier-lib` (the request's nonce as challenge, its client
//!   identifier as audience, the stapled proofs beside it; ADR 0022), then whether what was
//!   presented answers the DCQL query; the business sees only the disclosed claims, and
//!   nothing of a refused answer.
//!
//! It is **not** a verifier of presentations (that is `verifier-lib`), and holds no key and
//! does no I/O yet: the HTTP endpoints (create a request, serve its signed request object,
//! take the answer, show the state) come next.

#![forbid(unsafe_code)]

mod answer;
pub mod http;
mod ledger;

pub use answer::verify_answer;
pub use http::{Service, ServiceConfig, router};

pub use ledger::{
    Answering, Ledger, LedgerConfig, LedgerError, Outcome, RequestState, RequestView,
};
