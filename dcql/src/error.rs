//! Why a query is refused, and why a response does not answer it.

use thiserror::Error;

/// The kind of a [`QueryError`], for callers that branch on it (an HTTP status, a code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not JSON, or not the shape of a DCQL query.
    Syntax,
    /// Larger than the limits allow (bytes, counts, path lengths).
    TooLarge,
    /// JSON of the right shape that breaks a rule of the specification.
    Invalid,
}

/// A `dcql_query` that cannot be used; `at` names the member (`credentials[1].claims[0].path`).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum QueryError {
    #[error("the DCQL query is not valid JSON of its shape: {0}")]
    Syntax(String),
    #[error("the DCQL query is too large: {what} (at most {max})")]
    TooLarge { what: String, max: usize },
    #[error("the DCQL query is invalid at {at}: {why}")]
    Invalid { at: String, why: String },
}

impl QueryError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Syntax(_) => ErrorKind::Syntax,
            Self::TooLarge { .. } => ErrorKind::TooLarge,
            Self::Invalid { .. } => ErrorKind::Invalid,
        }
    }

    pub(crate) fn invalid(at: impl Into<String>, why: impl Into<String>) -> Self {
        Self::Invalid {
            at: at.into(),
            why: why.into(),
        }
    }
}

/// Why the credentials presented do not answer the query (the verifier refuses the response).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Unsatisfied {
    #[error("the response holds credentials under \"{0}\", which the query does not ask for")]
    UnknownId(String),
    #[error("\"{id}\" asks for one credential; the response holds {count}")]
    NotMultiple { id: String, count: usize },
    #[error("the credential presented for \"{id}\" does not match its query: {why}")]
    NoMatch { id: String, why: String },
    #[error("the response does not answer \"{0}\", which the query requires")]
    Missing(String),
    #[error("no option of the required credential set {index} is answered (options: {options})")]
    SetUnanswered { index: usize, options: String },
}
