//! Stapling: while online, fetch what a verifier needs to decide offline (registry proofs of
//! each issuer's DID document, accreditation and status-list anchors, and the status lists
//! themselves, byte for byte) and wrap it with the presentation in a [`Bundle`]
//! (`docs/presentation-bundle.md`). The fetching is `evidence-fetch`'s.

use evidence_fetch::{ErrorKind, FetchError, Fetcher};
use serde_json::Value;
use verifier_lib::Bundle;

use crate::{Net, WalletError};

fn wallet_error(e: FetchError) -> WalletError {
    match (e.kind(), e) {
        (_, FetchError::Network { url, message }) => WalletError::Network { url, message },
        (ErrorKind::BadAnswer, e) => WalletError::BadResponse(e.to_string()),
        (_, e) => WalletError::Other(e.to_string()),
    }
}

/// Builds a bundle for `presentation` (a Data Integrity presentation object, or an SD-JWT
/// string whose issuer is `sd_jwt_issuer`), with the proofs of the registry node at
/// `registry_api`.
pub async fn bundle(
    net: &Net,
    registry_api: &str,
    presentation: &Value,
    sd_jwt_issuer: Option<&str>,
) -> Result<Bundle, WalletError> {
    Fetcher::new(net.http().clone(), vec![registry_api.to_owned()])
        .bundle(presentation, sd_jwt_issuer)
        .await
        .map_err(wallet_error)
}
