//! # wallet-core: the holder side of Alliance ID
//!
//! What a citizen's wallet does, without its user interface or storage: receive credentials
//! from an agency over OpenID4VCI 1.0 (pre-authorized code with a transaction code, JWT proof
//! of possession) ([`oid4vci`]); build presentations (Data Integrity presentations, SD-JWT VC
//! with selective disclosure and key binding) ([`present`]); and staple to them, while online,
//! the registry proofs and status lists a verifier needs to decide offline ([`staple`]).
//!
//! It holds no key store and no credential store: the desktop wallet keeps keys in the OS
//! keyring and credentials in its encrypted store, and hands keys to these functions.

#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod oid4vci;
pub mod present;
pub mod staple;

/// Why a wallet operation failed, in words for the citizen's support desk.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("the offer is not valid: {0}")]
    BadOffer(String),
    #[error("cannot reach {url}: {message}")]
    Network { url: String, message: String },
    #[error("the issuer refused: {code}: {description}")]
    Refused { code: String, description: String },
    #[error("the issuer's answer is not valid: {0}")]
    BadResponse(String),
    #[error("{0}")]
    Other(String),
}
