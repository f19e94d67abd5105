//! Stapling: while online, fetch what a verifier needs to decide offline (registry proofs of
//! each issuer's DID document, accreditation and status-list anchors, and the status lists
//! themselves, byte for byte) and wrap it with the presentation in a [`Bundle`]
//! (`docs/presentation-bundle.md`).

use std::collections::BTreeSet;
use std::time::Duration;

use did_method::{Did, Hash, state};
use registry_client::{ClientError, RegistryClient};
use serde_json::Value;
use serde_json::value::{RawValue, to_raw_value};
use verifier_lib::Bundle;
use verifier_lib::bundle::StatusLists;

use crate::{Net, WalletError};

/// The issuers and status lists a set of credentials depends on.
fn dependencies(credentials: &[&Value]) -> (BTreeSet<String>, BTreeSet<(String, String)>) {
    let mut issuers = BTreeSet::new();
    let mut lists = BTreeSet::new();
    for c in credentials {
        let issuer = match &c["issuer"] {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        };
        let Some(issuer) = issuer else { continue };
        let entries: Vec<&Value> = match &c["credentialStatus"] {
            Value::Array(a) => a.iter().collect(),
            Value::Null => vec![],
            one => vec![one],
        };
        for e in entries {
            if let Some(u) = e["statusListCredential"].as_str() {
                lists.insert((issuer.clone(), u.to_owned()));
            }
        }
        issuers.insert(issuer);
    }
    (issuers, lists)
}

/// The issuer (`iss`) of an SD-JWT VC and the URI of its Token Status List, if it has one,
/// read from the issuer-signed JWT (its signature is the verifier's business).
fn sd_jwt_dependencies(text: &str) -> Result<(String, Option<String>), WalletError> {
    use base64::Engine as _;
    let bad = |m: &str| WalletError::BadResponse(format!("not an SD-JWT VC: {m}"));
    let jwt = text.split('~').next().unwrap_or_default();
    let payload = jwt.split('.').nth(1).ok_or_else(|| bad("no JWT payload"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| bad("payload is not base64url"))?;
    let claims: Value = serde_json::from_slice(&bytes).map_err(|_| bad("payload is not JSON"))?;
    let iss = claims["iss"]
        .as_str()
        .ok_or_else(|| bad("no iss"))?
        .to_owned();
    let uri = claims["status"]["status_list"]["uri"]
        .as_str()
        .map(str::to_owned);
    Ok((iss, uri))
}

/// How long a wallet waits for the node it asks to learn of a status list's newest anchor.
const ANCHOR_CATCH_UP: Duration = Duration::from_secs(5);

/// The proof of the status-list anchor `key`, once the node proves the anchor of the list
/// served (whose SHA-256 is `list_hash`). An issuer serves a list only after its anchor is
/// committed, but the node a wallet asks may be a block behind the one that committed it,
/// and would prove the anchor absent or older: it is asked again, every 100 ms, for up to
/// [`ANCHOR_CATCH_UP`]. After that the proof is stapled as it is, and the verifier says
/// what it lacks.
async fn anchor_proof(
    registry: &RegistryClient,
    key: &str,
    list_hash: Hash,
) -> Result<did_method::RegistryProof, ClientError> {
    let deadline = tokio::time::Instant::now() + ANCHOR_CATCH_UP;
    loop {
        let p = registry.prove_key(key, None).await?;
        let anchored = p
            .value
            .as_ref()
            .and_then(|v| serde_json::from_value::<state::StatusAnchor>(v.clone()).ok())
            .is_some_and(|a| a.list_hash == list_hash);
        if anchored || tokio::time::Instant::now() >= deadline {
            return Ok(p);
        }
        tracing::debug!(
            key,
            "the registry node does not prove the list's anchor yet; asking again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A value as the JSON text a bundle carries.
fn raw(value: &impl serde::Serialize) -> Result<Box<RawValue>, WalletError> {
    to_raw_value(value).map_err(|e| WalletError::Other(e.to_string()))
}

/// Builds a bundle for `presentation` (a Data Integrity presentation object, or an SD-JWT
/// string whose issuer is `sd_jwt_issuer`).
pub async fn bundle(
    net: &Net,
    registry_api: &str,
    presentation: &Value,
    sd_jwt_issuer: Option<&str>,
) -> Result<Bundle, WalletError> {
    let registry = net.registry(registry_api)?;
    let creds: Vec<&Value> = match &presentation["verifiableCredential"] {
        Value::Array(a) => a.iter().collect(),
        Value::Null => vec![],
        one => vec![one],
    };
    let (mut issuers, mut lists) = dependencies(&creds);
    if let Some(i) = sd_jwt_issuer {
        issuers.insert(i.to_owned());
    }
    if let Some(text) = presentation.as_str() {
        let (iss, uri) = sd_jwt_dependencies(text)?;
        if let Some(uri) = uri {
            lists.insert((iss.clone(), uri));
        }
        issuers.insert(iss);
    }
    let mut proofs = vec![];
    for issuer in issuers.iter().filter(|i| i.starts_with("did:alliance:")) {
        let did = Did::parse(issuer).map_err(|e| WalletError::Other(e.to_string()))?;
        for key in [state::did_key(&did), state::issuer_key(&did)] {
            let p = registry
                .prove_key(&key, None)
                .await
                .map_err(|e| WalletError::Network {
                    url: registry_api.to_owned(),
                    message: e.to_string(),
                })?;
            proofs.push(raw(&p)?);
        }
    }
    let client = net.http();
    let mut status_lists = StatusLists::new();
    for (issuer, url) in &lists {
        let resp = client
            .get(url)
            .header(
                reqwest::header::ACCEPT,
                "application/statuslist+jwt, application/vc+ld+json;q=0.9, application/json;q=0.5",
            )
            .send()
            .await
            .map_err(|e| WalletError::network(url, &e))?;
        if !resp.status().is_success() {
            return Err(WalletError::BadResponse(format!(
                "{url}: {}",
                resp.status()
            )));
        }
        let text = resp
            .text()
            .await
            .map_err(|e| WalletError::network(url, &e))?;
        if let Ok(did) = Did::parse(issuer) {
            let key = state::status_key(&did, url);
            let p = anchor_proof(&registry, &key, Hash::digest(text.as_bytes()))
                .await
                .map_err(|e| WalletError::Network {
                    url: registry_api.to_owned(),
                    message: e.to_string(),
                })?;
            proofs.push(raw(&p)?);
        }
        status_lists.insert(url.clone(), text);
    }
    Ok(Bundle {
        presentation: raw(presentation)?,
        registry_proofs: proofs,
        status_lists,
    })
}
