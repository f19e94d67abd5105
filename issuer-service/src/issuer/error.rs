//! The issuer's errors: [`IssueError`] for a refused or failed request (an OpenID4VCI error
//! code, or the admin API's, with an HTTP status), [`StartError`] for an issuer that could not
//! start.

use crate::store::StoreError;

/// OpenID4VCI error codes (and the admin API's), with a description for people.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {description}")]
pub struct IssueError {
    pub code: &'static str,
    pub description: String,
    pub status: u16,
}

/// Why an issuer could not start ([`super::Issuer::new`]).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("registry client: {0}")]
    Registry(#[from] registry_client::ClientError),
    #[error(transparent)]
    IssuerUrl(#[from] registry_client::HttpsError),
    #[error(
        "status list {list} has {stored} entries but statusListSize is {configured}: the size cannot change once lists exist"
    )]
    StatusListSize {
        list: String,
        stored: i64,
        configured: i64,
    },
    #[error("status lists: {0}")]
    StatusLists(#[from] IssueError),
}

impl IssueError {
    pub fn new(status: u16, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            status,
        }
    }
}

impl From<StoreError> for IssueError {
    fn from(e: StoreError) -> Self {
        tracing::error!("storage: {e}");
        Self::new(500, "server_error", "storage error; nothing was issued")
    }
}
