//! # evidence-fetch: what verifying a presentation offline needs, fetched while online
//!
//! A presentation is verified against registry evidence — the issuer's DID document, its
//! accreditation, each status list's anchor, proven against the consortium's genesis — and
//! the status lists themselves (docs/presentation-bundle.md). [`Fetcher::bundle`] reads which
//! issuers and status lists a presentation depends on, fetches the proofs from registry nodes
//! (the first that answers) and the lists from their URLs, and wraps them with the
//! presentation in a [`Bundle`]. Wallets use it to staple; a verifier service uses it for
//! wallets that do not (ADR 0022), with [`Fetcher::issuer_origins_only`] so that a
//! presentation cannot make the service fetch an address its issuer does not serve.
//!
//! It is **not** a verifier: nothing fetched is trusted for having been fetched; the proofs
//! verify against the genesis and the lists against their anchors in `verifier-lib`. Every
//! read is bounded ([`Limits`]).

#![forbid(unsafe_code)]

mod dependencies;
mod origins;

use std::time::Duration;

use did_method::state::{self, DidRecord, StatusAnchor};
use did_method::{Did, Hash, RegistryProof, TrustAnchor};
use registry_client::{ClientError, RegistryClient, https};
use serde_json::Value;
use serde_json::value::{RawValue, to_raw_value};
use verifier_lib::Bundle;
use verifier_lib::bundle::StatusLists;

pub use dependencies::{Dependencies, dependencies};
pub use origins::origin_served_by;

/// Bounds on what one presentation may make the fetcher do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Issuers whose proofs are fetched.
    pub max_issuers: usize,
    /// Status lists fetched.
    pub max_lists: usize,
    /// Bytes of one status list.
    pub max_list_bytes: usize,
    /// How long to wait for a node to prove a list's newest anchor (see [`Fetcher::bundle`]).
    pub anchor_catch_up: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_issuers: 8,
            max_lists: 8,
            max_list_bytes: 1024 * 1024,
            anchor_catch_up: Duration::from_secs(5),
        }
    }
}

/// What kind of failure, for callers that map it to their own errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// No node or server could be reached, or it did not answer in time.
    Network,
    /// A server answered with an error or with something unusable.
    BadAnswer,
    /// The presentation is not one whose dependencies can be read.
    Presentation,
    /// The presentation depends on more than [`Limits`] allows, or on an address not allowed.
    NotAllowed,
}

/// Why the evidence could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot reach {url}: {message}")]
    Network { url: String, message: String },
    #[error("{url} answered {status}")]
    Refused { url: String, status: u16 },
    #[error("{0}")]
    BadAnswer(String),
    #[error("the presentation's dependencies cannot be read: {0}")]
    Presentation(String),
    #[error("{0}")]
    NotAllowed(String),
}

impl FetchError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Network { .. } => ErrorKind::Network,
            Self::Refused { .. } | Self::BadAnswer(_) => ErrorKind::BadAnswer,
            Self::Presentation(_) => ErrorKind::Presentation,
            Self::NotAllowed(_) => ErrorKind::NotAllowed,
        }
    }

    fn registry(api: &str, e: &ClientError) -> Self {
        Self::Network {
            url: api.to_owned(),
            message: e.to_string(),
        }
    }
}

/// Fetches evidence from registry nodes and issuers.
#[derive(Clone, Debug)]
pub struct Fetcher {
    http: reqwest::Client,
    registries: Vec<String>,
    limits: Limits,
    /// Set: a status list is fetched only from an origin a service of its issuer's
    /// registry-proven DID document names (the proof checked against this anchor).
    origins_of: Option<TrustAnchor>,
}

/// A value as the JSON text a bundle carries.
fn raw(value: &impl serde::Serialize) -> Result<Box<RawValue>, FetchError> {
    to_raw_value(value).map_err(|e| FetchError::BadAnswer(e.to_string()))
}

impl Fetcher {
    /// A fetcher asking `registries` (registry nodes' API URLs, in order) over `http`.
    pub fn new(http: reqwest::Client, registries: Vec<String>) -> Self {
        Self {
            http,
            registries,
            limits: Limits::default(),
            origins_of: None,
        }
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Fetch a status list only from an origin (scheme, host, port) that a service of its
    /// issuer's DID document names, the document proven against `anchor`: what a service
    /// fetching for presentations from strangers must do, so that a presentation cannot point
    /// it at an address of its own choosing.
    pub fn issuer_origins_only(mut self, anchor: TrustAnchor) -> Self {
        self.origins_of = Some(anchor);
        self
    }

    /// The proof of `key` from the first node that answers.
    async fn prove(&self, key: &str) -> Result<RegistryProof, FetchError> {
        let mut last = FetchError::Network {
            url: String::new(),
            message: "no registry node is configured".into(),
        };
        for api in &self.registries {
            let client = match RegistryClient::with_http(api, self.http.clone()) {
                Ok(c) => c,
                Err(e) => {
                    last = FetchError::registry(api, &e);
                    continue;
                }
            };
            match client.prove_key(key, None).await {
                Ok(p) => return Ok(p),
                Err(e) => {
                    tracing::debug!(%api, "no proof of {key}: {e}");
                    last = FetchError::registry(api, &e);
                }
            }
        }
        Err(last)
    }

    /// The proof of the status-list anchor `key`, once a node proves the anchor of the list
    /// served (whose SHA-256 is `list_hash`). An issuer serves a list only after its anchor is
    /// committed, but the node asked may be a block behind: it is asked again every 100 ms
    /// for up to [`Limits::anchor_catch_up`]; after that the proof is taken as it is, and the
    /// verifier says what it lacks.
    async fn anchor_proof(&self, key: &str, list_hash: Hash) -> Result<RegistryProof, FetchError> {
        let deadline = tokio::time::Instant::now() + self.limits.anchor_catch_up;
        loop {
            let p = self.prove(key).await?;
            let anchored = p
                .value
                .as_ref()
                .and_then(|v| serde_json::from_value::<StatusAnchor>(v.clone()).ok())
                .is_some_and(|a| a.list_hash == list_hash);
            if anchored || tokio::time::Instant::now() >= deadline {
                return Ok(p);
            }
            tracing::debug!(key, "the node does not prove the list's anchor yet");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A status list as its issuer serves it, within [`Limits::max_list_bytes`].
    async fn status_list(&self, url: &str) -> Result<String, FetchError> {
        let checked = https::require_tls_or_loopback("status list", url)
            .map_err(|e| FetchError::NotAllowed(e.to_string()))?;
        let resp = self
            .http
            .get(checked)
            .header(
                reqwest::header::ACCEPT,
                "application/statuslist+jwt, application/vc+ld+json;q=0.9, application/json;q=0.5",
            )
            .send()
            .await
            .map_err(|e| FetchError::Network {
                url: url.to_owned(),
                message: https::describe(&e),
            })?;
        if !resp.status().is_success() {
            return Err(FetchError::Refused {
                url: url.to_owned(),
                status: resp.status().as_u16(),
            });
        }
        let bytes = https::read_bounded(resp, self.limits.max_list_bytes)
            .await
            .map_err(|e| FetchError::BadAnswer(e.to_string()))?;
        String::from_utf8(bytes)
            .map_err(|_| FetchError::BadAnswer(format!("the status list at {url} is not text")))
    }

    /// The bundle of `presentation` (a Data Integrity presentation object, or an SD-JWT VC
    /// string) with the proofs and lists it depends on; `extra_issuer` adds one more issuer.
    pub async fn bundle(
        &self,
        presentation: &Value,
        extra_issuer: Option<&str>,
    ) -> Result<Bundle, FetchError> {
        let mut deps = dependencies(presentation).map_err(FetchError::Presentation)?;
        if let Some(i) = extra_issuer {
            deps.issuers.insert(i.to_owned());
        }
        if deps.issuers.len() > self.limits.max_issuers {
            return Err(FetchError::NotAllowed(format!(
                "the presentation names more than {} issuers",
                self.limits.max_issuers
            )));
        }
        if deps.lists.len() > self.limits.max_lists {
            return Err(FetchError::NotAllowed(format!(
                "the presentation depends on more than {} status lists",
                self.limits.max_lists
            )));
        }
        let mut proofs = vec![];
        let mut documents = std::collections::BTreeMap::new();
        for issuer in deps
            .issuers
            .iter()
            .filter(|i| i.starts_with("did:alliance:"))
        {
            let did = Did::parse(issuer).map_err(|e| FetchError::Presentation(e.to_string()))?;
            let document = self.prove(&state::did_key(&did)).await?;
            if let Some(anchor) = &self.origins_of
                && let Ok(entry) = document.verify(anchor)
                && let Ok(Some(rec)) = entry.record::<DidRecord>()
            {
                documents.insert(issuer.clone(), rec.document);
            }
            proofs.push(raw(&document)?);
            proofs.push(raw(&self.prove(&state::issuer_key(&did)).await?)?);
        }
        let mut status_lists = StatusLists::new();
        for (issuer, url) in &deps.lists {
            if self.origins_of.is_some() {
                let served = documents
                    .get(issuer)
                    .is_some_and(|d| origin_served_by(url, d));
                if !served {
                    return Err(FetchError::NotAllowed(format!(
                        "the status list {url} is not at an address its issuer's registered DID document names"
                    )));
                }
            }
            let text = self.status_list(url).await?;
            if let Ok(did) = Did::parse(issuer) {
                let key = state::status_key(&did, url);
                let p = self
                    .anchor_proof(&key, Hash::digest(text.as_bytes()))
                    .await?;
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
}
