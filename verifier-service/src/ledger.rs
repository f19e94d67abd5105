//! The requests a verifier service has made and what became of them.

use std::collections::{HashMap, VecDeque};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

/// How long requests live and how many may wait at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LedgerConfig {
    /// From creation to the last moment a response is taken.
    pub ttl_ms: u64,
    /// How long an answered or expired request can still be asked about.
    pub retain_ms: u64,
    /// Requests held at once (pending or retained); creating more is refused until some end.
    pub capacity: usize,
    /// The longest purpose text shown to the citizen.
    pub max_purpose: usize,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        Self {
            ttl_ms: 5 * 60 * 1000,
            retain_ms: 10 * 60 * 1000,
            capacity: 10_000,
            max_purpose: 500,
        }
    }
}

/// Where a request is in its life.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum RequestState {
    /// Made; the wallet has not fetched it yet.
    Created,
    /// A wallet fetched the request object.
    Fetched,
    /// A response arrived and is being verified (a second one is refused).
    Verifying,
    /// The response was verified: accepted or rejected, with what the business may see.
    Answered { outcome: Outcome },
    /// No response came in time.
    Expired,
}

/// The verdict on a response, as the business reads it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub accepted: bool,
    /// Why not, when not accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Only the disclosed claims, by credential query id.
    pub claims: Value,
}

/// A request as the status endpoint shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestView {
    pub id: String,
    #[serde(flatten)]
    pub state: RequestState,
    pub created_ms: u64,
    pub expires_ms: u64,
}

/// What verifying a response needs from its request.
#[derive(Clone, Debug, PartialEq)]
pub struct Answering {
    pub id: String,
    pub nonce: String,
    pub query: dcql::Query,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum LedgerError {
    #[error("no request has this id (it never existed, or it ended long ago)")]
    Unknown,
    #[error("this request has expired")]
    Expired,
    #[error("this request has already been answered; a response is taken once")]
    AlreadyAnswered,
    #[error("too many requests are waiting ({0}); try again when some have ended")]
    Full(usize),
    #[error("the purpose text is longer than {0} characters")]
    PurposeTooLong(usize),
}

struct Entry {
    /// Set: answers to this request must be encrypted to this key (`direct_post.jwt`).
    key: Option<std::sync::Arc<oid4vp::jwe::DecryptionKey>>,
    nonce: String,
    query: dcql::Query,
    purpose: Option<String>,
    state: RequestState,
    created_ms: u64,
    expires_ms: u64,
}

/// Every request made, bounded. Time and randomness come from the caller.
pub struct Ledger {
    config: LedgerConfig,
    entries: HashMap<String, Entry>,
    /// Ids in creation order (so also in expiry order): the oldest are swept first.
    order: VecDeque<String>,
}

impl Ledger {
    pub fn new(config: LedgerConfig) -> Self {
        Self {
            config,
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &LedgerConfig {
        &self.config
    }

    /// Makes a request: its id and nonce from `random` (32 bytes from a CSPRNG), valid until
    /// `now_ms + ttl`. Returns the id and the nonce.
    pub fn create(
        &mut self,
        query: dcql::Query,
        purpose: Option<String>,
        now_ms: u64,
        random: [u8; 32],
    ) -> Result<(String, String), LedgerError> {
        if let Some(p) = &purpose
            && p.chars().count() > self.config.max_purpose
        {
            return Err(LedgerError::PurposeTooLong(self.config.max_purpose));
        }
        self.sweep(now_ms);
        if self.entries.len() >= self.config.capacity {
            return Err(LedgerError::Full(self.config.capacity));
        }
        let id = URL_SAFE_NO_PAD.encode(&random[..16]);
        let nonce = URL_SAFE_NO_PAD.encode(&random[16..]);
        let entry = Entry {
            key: None,
            nonce: nonce.clone(),
            query,
            purpose,
            state: RequestState::Created,
            created_ms: now_ms,
            expires_ms: now_ms.saturating_add(self.config.ttl_ms),
        };
        self.entries.insert(id.clone(), entry);
        self.order.push_back(id.clone());
        Ok((id, nonce))
    }

    /// From now on, answers to `id` must be encrypted to `key` (the request object, fetched
    /// after this, offers it).
    pub fn require_encryption(&mut self, id: &str, key: oid4vp::jwe::DecryptionKey) {
        if let Some(e) = self.entries.get_mut(id) {
            e.key = Some(std::sync::Arc::new(key));
        }
    }

    /// The key answers to `id` are encrypted to, if it asks for encrypted answers.
    pub fn decryption_key(&self, id: &str) -> Option<std::sync::Arc<oid4vp::jwe::DecryptionKey>> {
        self.entries.get(id).and_then(|e| e.key.clone())
    }

    /// Ends what has expired, and forgets what has been retained long enough.
    fn sweep(&mut self, now_ms: u64) {
        while let Some(id) = self.order.front() {
            let Some(e) = self.entries.get(id) else {
                self.order.pop_front();
                continue;
            };
            if now_ms < e.expires_ms.saturating_add(self.config.retain_ms) {
                break;
            }
            self.entries.remove(id);
            self.order.pop_front();
        }
    }

    fn live(&mut self, id: &str, now_ms: u64) -> Result<&mut Entry, LedgerError> {
        let e = self.entries.get_mut(id).ok_or(LedgerError::Unknown)?;
        if now_ms >= e.expires_ms.saturating_add(self.config.retain_ms) {
            return Err(LedgerError::Unknown);
        }
        if now_ms >= e.expires_ms
            && matches!(e.state, RequestState::Created | RequestState::Fetched)
        {
            e.state = RequestState::Expired;
        }
        Ok(e)
    }

    /// The wallet fetches the request object: what to sign into it (the nonce, the query, the
    /// purpose). Fetching again is allowed until a response arrives.
    pub fn fetch(
        &mut self,
        id: &str,
        now_ms: u64,
    ) -> Result<(String, dcql::Query, Option<String>, u64), LedgerError> {
        let e = self.live(id, now_ms)?;
        match e.state {
            RequestState::Created | RequestState::Fetched => {
                e.state = RequestState::Fetched;
                Ok((
                    e.nonce.clone(),
                    e.query.clone(),
                    e.purpose.clone(),
                    e.expires_ms,
                ))
            }
            RequestState::Expired => Err(LedgerError::Expired),
            RequestState::Verifying | RequestState::Answered { .. } => {
                Err(LedgerError::AlreadyAnswered)
            }
        }
    }

    /// Whether a response to `id` would be taken now (nothing changes): checked before an
    /// answer's body is parsed, so a body sent to an unknown, ended or answered request costs
    /// no parsing.
    pub fn answerable(&mut self, id: &str, now_ms: u64) -> Result<(), LedgerError> {
        match self.live(id, now_ms)?.state {
            RequestState::Created | RequestState::Fetched => Ok(()),
            RequestState::Expired => Err(LedgerError::Expired),
            RequestState::Verifying | RequestState::Answered { .. } => {
                Err(LedgerError::AlreadyAnswered)
            }
        }
    }

    /// A response arrived: the request is consumed now, whatever the verdict (a replay of the
    /// same response, or another one, is refused).
    pub fn begin_answer(&mut self, id: &str, now_ms: u64) -> Result<Answering, LedgerError> {
        self.answerable(id, now_ms)?;
        let e = self.live(id, now_ms)?;
        e.state = RequestState::Verifying;
        Ok(Answering {
            id: id.to_owned(),
            nonce: e.nonce.clone(),
            query: e.query.clone(),
        })
    }

    /// Records the verdict on the response [`Self::begin_answer`] took.
    pub fn finish(&mut self, id: &str, outcome: Outcome) {
        if let Some(e) = self.entries.get_mut(id)
            && e.state == RequestState::Verifying
        {
            e.state = RequestState::Answered { outcome };
        }
    }

    /// What the business sees of a request.
    pub fn view(&mut self, id: &str, now_ms: u64) -> Result<RequestView, LedgerError> {
        let e = self.live(id, now_ms)?;
        Ok(RequestView {
            id: id.to_owned(),
            state: e.state.clone(),
            created_ms: e.created_ms,
            expires_ms: e.expires_ms,
        })
    }

    /// Requests held (pending or retained).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests;
