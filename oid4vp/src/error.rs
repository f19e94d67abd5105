//! Why a message is refused.

use thiserror::Error;

/// The kind of a [`MessageError`], for callers that branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Larger than the limits allow.
    TooLarge,
    /// Not the encoding or shape the message has.
    Malformed,
    /// Well formed, but breaks a rule of the profile (the wrong `typ`, a `kid` of another DID…).
    Invalid,
    /// The signature does not verify.
    Signature,
    /// Expired, or not yet valid.
    Time,
    /// The DCQL query is unusable.
    Query,
    /// An encrypted response does not decrypt with the key it names.
    Decryption,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MessageError {
    #[error("the {what} is too large ({size} bytes, at most {max})")]
    TooLarge {
        what: &'static str,
        size: usize,
        max: usize,
    },
    #[error("the {what} is malformed: {why}")]
    Malformed { what: &'static str, why: String },
    #[error("the {what} is not acceptable: {why}")]
    Invalid { what: &'static str, why: String },
    #[error("the request object's signature does not verify with {kid}")]
    Signature { kid: String },
    #[error("the request {why}")]
    Time { why: String },
    #[error(transparent)]
    Query(#[from] dcql::QueryError),
    #[error("the encrypted response does not decrypt with this request's key")]
    Decryption,
}

impl MessageError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::TooLarge { .. } => ErrorKind::TooLarge,
            Self::Malformed { .. } => ErrorKind::Malformed,
            Self::Invalid { .. } => ErrorKind::Invalid,
            Self::Signature { .. } => ErrorKind::Signature,
            Self::Time { .. } => ErrorKind::Time,
            Self::Query(_) => ErrorKind::Query,
            Self::Decryption => ErrorKind::Decryption,
        }
    }

    pub(crate) fn malformed(what: &'static str, why: impl Into<String>) -> Self {
        Self::Malformed {
            what,
            why: why.into(),
        }
    }

    pub(crate) fn invalid(what: &'static str, why: impl Into<String>) -> Self {
        Self::Invalid {
            what,
            why: why.into(),
        }
    }

    pub(crate) fn bound(what: &'static str, size: usize, max: usize) -> Result<(), Self> {
        if size > max {
            return Err(Self::TooLarge { what, size, max });
        }
        Ok(())
    }
}
