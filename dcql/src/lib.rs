//! # dcql: what a business asks for, and which credentials answer it
//!
//! The Digital Credentials Query Language of OpenID for Verifiable Presentations 1.0 (§6,
//! §7 and the format rules of Appendix B), for both sides of a presentation request:
//!
//! - [`Query::parse`] reads a `dcql_query` from untrusted bytes with bounded size, counts and
//!   path lengths, and checks every rule the specification states (identifiers, references
//!   from `claim_sets` and `credential_sets`, the `meta` a format requires), naming the member
//!   that breaks one.
//! - [`ClaimsPath::select`] applies a claims path pointer to a JSON credential (§7.1).
//! - [`Query::select`] answers the wallet's question: for each credential query, which of the
//!   held credentials ([`Candidate`]) match and which claims each would disclose (the first
//!   satisfiable claim set, §6.4.1), and whether the query as a whole can be answered
//!   (`credential_sets`, §6.4.2).
//! - [`Query::check_response`] answers the verifier's: do the credentials a wallet presented
//!   under each query id satisfy the query (the right format and type, the requested claims
//!   disclosed, one credential unless `multiple`, every required credential set), with the
//!   reason when they do not.
//!
//! It is **not** a verifier: it never checks a signature, a status or an issuer's trust (that
//! is `verifier-lib`), and `values` restrictions are, as §6.4.1 says, a privacy aid, never a
//! security check. It does no I/O and no JSON-LD processing: a W3C credential's fully
//! expanded types are given by the caller. mdoc and `trusted_authorities` matching are not
//! implemented (such queries parse; no held credential matches an mdoc query, and
//! `trusted_authorities` is left to the verifier's own trust policy).

#![forbid(unsafe_code)]

mod error;
mod matching;
mod path;
mod query;

pub use error::{ErrorKind, QueryError, Unsatisfied};
pub use matching::{Candidate, Disclosure, Match, Selection};
pub use path::{ClaimsPath, PathElement, PathError};
pub use query::{
    ClaimsQuery, CredentialQuery, CredentialSetQuery, FORMAT_LDP_VC, FORMAT_SD_JWT_VC, Limits,
    Query,
};
