//! # oid4vp: the messages of OpenID for Verifiable Presentations 1.0
//!
//! What a business's verifier service and a citizen's wallet exchange, as Alliance ID profiles
//! OpenID4VP 1.0: the verifier's identifier is its `did:alliance` DID with the
//! `decentralized_identifier:` client identifier prefix; the request is a request object
//! (`typ` `oauth-authz-req+jwt`, `EdDSA`) fetched by `request_uri`; the response goes back by
//! `direct_post` as a `vp_token` keyed by the DCQL query's credential query ids.
//!
//! - [`AuthorizationRequest`] builds and signs a request object; [`SignedRequest::parse`]
//!   reads one from untrusted bytes (bounded) and checks everything that needs no key:
//!   `typ`, `alg`, the prefix, that `kid` is a key of the client's own DID, the response
//!   type and mode, the DCQL query ([`dcql::Query`]). The signature is checked against a key
//!   the caller takes from the DID document it proved on the registry
//!   ([`SignedRequest::verify_signature`]); the time against a clock the caller reads
//!   ([`SignedRequest::check_time`]).
//! - [`RequestLink`]: the `openid4vp://` link (or QR text) that carries `client_id` and
//!   `request_uri`.
//! - [`VpToken`]: the response, built by the wallet and read by the verifier, checked against
//!   the query's ids and `multiple`; [`DirectPost`] carries it as a form, or encrypted to the
//!   request's key (`direct_post.jwt`, [`jwe`]: ECDH-ES on P-256 with AES-GCM).
//!
//! It is **not** a client or a server (no HTTP, no clock, no storage, no random source of its
//! own: the verifier service and the wallet do those), and it verifies no presentation: that is `verifier-lib`.

#![forbid(unsafe_code)]

mod error;
pub mod jwe;
pub mod jws;
mod link;
mod request;
mod response;

pub use error::{ErrorKind, MessageError};
pub use link::RequestLink;
pub use request::{
    AuthorizationRequest, CLIENT_ID_PREFIX, PURPOSE_PARAM, REQUEST_TYP, ResponseMode,
    SELF_ISSUED_AUDIENCE, SignedRequest,
};
pub use response::{DirectPost, STAPLES_PARAM, VpToken};

/// Bounds on what is read from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// A request object (the compact JWT).
    pub max_request_bytes: usize,
    /// A `direct_post` body.
    pub max_response_bytes: usize,
    /// Presentations in one `vp_token`.
    pub max_presentations: usize,
    /// A link or QR text.
    pub max_link_bytes: usize,
    /// The DCQL query's own limits.
    pub dcql: dcql::Limits,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_bytes: 128 * 1024,
            max_response_bytes: 4 * 1024 * 1024,
            max_presentations: 32,
            max_link_bytes: 4 * 1024,
            dcql: dcql::Limits::default(),
        }
    }
}
