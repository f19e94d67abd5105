//! The client of a registry node's HTTP API (`did-registry/src/openapi.json`): operations
//! (submit, batch, status, waiting for the commit), DID resolution, records, registry
//! proofs, checkpoints and blocks. Used by the node's operator CLI, the issuer, the wallet,
//! the benchmarks and the tests.

use std::time::Duration;

use crate::https::{self, Trust};

use did_method::operation::SignedOperation;
use did_method::proof::RegistryProof;
use did_method::state::DidRecord;
use did_method::{Did, Genesis};
use serde_json::Value;

/// What kind of failure a [`ClientError`] is, for callers that branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The node answered with an error (a refused operation, an unknown DID, a bad query).
    Refused,
    /// The node could not be reached, or did not answer in time.
    Unreachable,
    /// The node's TLS certificate was not accepted.
    Certificate,
    /// The node answered something that is not what its API promises.
    Decode,
    /// The client could not be set up (a CA file, a URL).
    Config,
}

/// The largest answer read from a node (a proof that walks many validator-set changes is
/// the largest thing a node sends; it is far below this).
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// Why a request to a registry node failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("registry refused ({status}): {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("cannot reach the registry at {url}: {message}")]
    Transport { url: String, message: String },
    #[error("cannot reach the registry at {url}: {problem}")]
    Certificate { url: String, problem: String },
    #[error("unexpected answer from the registry: {0}")]
    Decode(String),
    #[error(transparent)]
    Config(#[from] https::HttpsError),
}

impl ClientError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Api { .. } => ErrorKind::Refused,
            Self::Transport { .. } => ErrorKind::Unreachable,
            Self::Certificate { .. } => ErrorKind::Certificate,
            Self::Decode(_) => ErrorKind::Decode,
            Self::Config(_) => ErrorKind::Config,
        }
    }

    fn transport(url: &str, e: &reqwest::Error) -> Self {
        match https::certificate_problem(e) {
            Some(problem) => Self::Certificate {
                url: url.to_owned(),
                problem,
            },
            None => Self::Transport {
                url: url.to_owned(),
                message: https::describe(e),
            },
        }
    }
}

/// How long one request to a node may take (a commit wait is at most 20 s of it).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(40);

#[derive(Clone)]
pub struct RegistryClient {
    base: String,
    http: reqwest::Client,
}

impl RegistryClient {
    /// A client of the node at `base` (e.g. `https://registry.member.example`), trusting
    /// the platform's verifier, Mozilla's roots and the CA files of [`https::CA_CERT_ENV`].
    pub fn new(base: &str) -> Result<Self, ClientError> {
        Self::with_trust(base, &Trust::from_env())
    }

    /// A client of the node at `base` that trusts `trust`.
    pub fn with_trust(base: &str, trust: &Trust) -> Result<Self, ClientError> {
        Self::with_http(base, trust.client(REQUEST_TIMEOUT)?)
    }

    /// A client of the node at `base` over an HTTP client the caller configured (shared
    /// with its other requests).
    pub fn with_http(base: &str, http: reqwest::Client) -> Result<Self, ClientError> {
        let parsed = url::Url::parse(base).map_err(|e| https::HttpsError::BadUrl {
            what: "the registry API".into(),
            url: base.into(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(https::HttpsError::BadUrl {
                what: "the registry API".into(),
                url: base.into(),
                reason: "the scheme must be https or http".into(),
            }
            .into());
        }
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn call(
        &self,
        req: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<(u16, Value), ClientError> {
        let resp = req
            .send()
            .await
            .map_err(|e| ClientError::transport(url, &e))?;
        let status = resp.status().as_u16();
        let bytes = https::read_bounded(resp, MAX_ANSWER_BYTES)
            .await
            .map_err(|e| match e {
                https::BodyError::Read { source, .. } => ClientError::transport(url, &source),
                too_large => ClientError::Decode(too_large.to_string()),
            })?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| {
            ClientError::Decode(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&bytes)
            ))
        })?;
        Ok((status, v))
    }

    async fn get(&self, path: &str) -> Result<Value, ClientError> {
        let url = format!("{}{path}", self.base);
        let (status, v) = self.call(self.http.get(&url), &url).await?;
        if status >= 400 {
            return Err(api_error(status, &v));
        }
        Ok(v)
    }

    pub async fn health(&self) -> Result<Value, ClientError> {
        self.get("/health").await
    }

    pub async fn genesis(&self) -> Result<Genesis, ClientError> {
        let v = self.get("/v1/genesis").await?;
        serde_json::from_value(v).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Submits an operation; waits up to `wait` for its commit. Returns the status JSON
    /// (`status`: `pending`, `committed` with `height`, or `rejected` with `reason`).
    pub async fn submit(
        &self,
        op: &SignedOperation,
        wait: Option<Duration>,
    ) -> Result<Value, ClientError> {
        let mut url = format!("{}/v1/operations", self.base);
        if let Some(w) = wait {
            url.push_str(&format!("?waitMs={}", w.as_millis()));
        }
        let (status, v) = self.call(self.http.post(&url).json(op), &url).await?;
        if status >= 400 && v.get("status").is_none() {
            return Err(api_error(status, &v));
        }
        Ok(v)
    }

    /// Submits and requires the operation to commit within `wait`.
    pub async fn submit_and_commit(
        &self,
        op: &SignedOperation,
        wait: Duration,
    ) -> Result<u64, ClientError> {
        let v = self.submit(op, Some(wait)).await?;
        match v["status"].as_str() {
            Some("committed") => Ok(v["height"].as_u64().unwrap_or(0)),
            Some("rejected") => Err(ClientError::Api {
                status: 422,
                code: v["reason"].as_str().unwrap_or("rejected").to_owned(),
                message: v["message"].as_str().unwrap_or_default().to_owned(),
            }),
            _ => Err(ClientError::Decode(format!(
                "operation {} not committed within {} s (still {})",
                v["id"].as_str().unwrap_or("?"),
                wait.as_secs(),
                v["status"].as_str().unwrap_or("?")
            ))),
        }
    }

    pub async fn submit_batch(&self, ops: &[SignedOperation]) -> Result<Value, ClientError> {
        let url = format!("{}/v1/operations/batch", self.base);
        let (status, v) = self.call(self.http.post(&url).json(ops), &url).await?;
        if status >= 400 {
            return Err(api_error(status, &v));
        }
        Ok(v)
    }

    pub async fn status(&self, id: &str) -> Result<Value, ClientError> {
        let url = format!("{}/v1/operations/{id}", self.base);
        let (_, v) = self.call(self.http.get(&url), &url).await?;
        Ok(v)
    }

    /// DID resolution result (also for deactivated DIDs, which answer 410).
    pub async fn resolve(&self, did: &str, height: Option<u64>) -> Result<Value, ClientError> {
        let mut url = format!("{}/1.0/identifiers/{did}", self.base);
        if let Some(h) = height {
            url.push_str(&format!("?height={h}"));
        }
        let (status, v) = self.call(self.http.get(&url), &url).await?;
        if status >= 400 && status != 410 {
            let meta = &v["didResolutionMetadata"];
            return Err(ClientError::Api {
                status,
                code: meta["error"].as_str().unwrap_or("error").to_owned(),
                message: meta["errorMessage"].as_str().unwrap_or_default().to_owned(),
            });
        }
        Ok(v)
    }

    /// The DID's full record (document, sequence, recovery commitment).
    pub async fn did_record(&self, did: &Did) -> Result<DidRecord, ClientError> {
        let key = did_method::state::did_key(did);
        let v = self
            .get(&format!("/v1/records?key={}", urlencode(&key)))
            .await?;
        serde_json::from_value(v).map_err(|e| ClientError::Decode(e.to_string()))
    }

    pub async fn record(&self, key: &str) -> Result<Value, ClientError> {
        self.get(&format!("/v1/records?key={}", urlencode(key)))
            .await
    }

    pub async fn prove_key(
        &self,
        key: &str,
        height: Option<u64>,
    ) -> Result<RegistryProof, ClientError> {
        let mut path = format!("/v1/proofs?key={}", urlencode(key));
        if let Some(h) = height {
            path.push_str(&format!("&height={h}"));
        }
        let v = self.get(&path).await?;
        serde_json::from_value(v).map_err(|e| ClientError::Decode(e.to_string()))
    }

    pub async fn prove_did(
        &self,
        did: &Did,
        height: Option<u64>,
    ) -> Result<RegistryProof, ClientError> {
        self.prove_key(&did_method::state::did_key(did), height)
            .await
    }

    pub async fn checkpoint(
        &self,
        height: Option<u64>,
    ) -> Result<did_method::Checkpoint, ClientError> {
        let path = match height {
            Some(h) => format!("/v1/checkpoint?height={h}"),
            None => "/v1/checkpoint".to_owned(),
        };
        let v = self.get(&path).await?;
        serde_json::from_value(v).map_err(|e| ClientError::Decode(e.to_string()))
    }

    pub async fn block(&self, height: u64) -> Result<Value, ClientError> {
        self.get(&format!("/v1/blocks/{height}")).await
    }
}

fn api_error(status: u16, v: &Value) -> ClientError {
    ClientError::Api {
        status,
        code: v["error"].as_str().unwrap_or("error").to_owned(),
        message: v["message"].as_str().unwrap_or_default().to_owned(),
    }
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
