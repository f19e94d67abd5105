//! What repeats across presentations, read or checked once: an issuer's registry proofs
//! and status lists are the same in every presentation of its credentials.

use std::collections::HashMap;
use std::sync::Arc;

use did_method::RegistryProof;
use serde_json::Value;
use sha2::Digest;

use super::status::StatusError;
use crate::input::{self, Limits};
use crate::token_status;

/// What repeats across presentations of one issuer's credentials: its registry proofs and its
/// status lists. Only cryptographic results are cached (keyed by the exact bytes and the key
/// or anchor they were checked against); freshness and policy are checked on every use.
#[derive(Debug, Default)]
pub(super) struct Caches {
    pub(super) proofs: crate::registry::ProofCache,
    /// (SHA-256 of a status list's text, signing key) whose signature verified.
    pub(super) list_signatures: std::sync::Mutex<std::collections::HashSet<([u8; 32], [u8; 32])>>,
    /// Status List Tokens already parsed and inflated, by SHA-256 of their exact text.
    pub(super) tokens: std::sync::Mutex<HashMap<[u8; 32], Arc<token_status::StatusListToken>>>,
    /// Registry proofs already parsed, by their exact JSON text (see
    /// [`Caches::parsed_proof`]), with the SHA-256 of that text; their check against the
    /// anchor is cached in `proofs`, keyed by that digest. The text is hashed with foldhash
    /// (seeded at random per process): SipHash over a few kilobytes of stapled proofs was
    /// 2 % of an SD-JWT presentation's check.
    parsed_proofs: std::sync::Mutex<HashMap<Box<[u8]>, TextProof, foldhash::fast::RandomState>>,
    /// Stapled Bitstring status list credentials already read, by URL; an entry is used
    /// only for the exact same text (and input limits).
    parsed_lists: std::sync::Mutex<HashMap<String, Arc<ParsedList>>>,
}

/// A stapled Bitstring status list credential read once: its JSON, the SHA-256 of its text
/// (what its signature check is cached under and what the registry anchors), and its
/// decoded bits (decoded when first needed, after the list's checks passed).
#[derive(Debug)]
pub(super) struct ParsedList {
    text: Box<str>,
    limits: Limits,
    pub(super) value: Value,
    pub(super) digest: [u8; 32],
    pub(super) bits: std::sync::OnceLock<
        Result<Arc<ssi::status::bitstring_status_list::StatusList>, StatusError>,
    >,
}

/// Status lists kept read (an issuer has a few; the bound keeps the memory of a verifier
/// that faces the public to about 64 × (text + its JSON) at most).
const MAX_PARSED_LISTS: usize = 64;
/// Longest status list text kept in [`Caches::parsed_lists`] (a 131,072-entry list is
/// about 22 KiB).
const MAX_PARSED_LIST_BYTES: usize = 256 * 1024;

/// A registry proof parsed from JSON text, and the SHA-256 of that text (which determines
/// the proof, so it keys the proof's check against an anchor without re-encoding it).
pub(super) type TextProof = (Arc<RegistryProof>, [u8; 32]);

/// Status list signatures remembered as checked ([`Caches::list_signatures`]).
pub(super) const MAX_CACHED_LISTS: usize = 1024;
/// Status List Tokens kept parsed ([`Caches::tokens`]).
pub(super) const MAX_CACHED_TOKENS: usize = 256;
/// Largest inflated Status List Token kept parsed.
pub(super) const MAX_CACHED_TOKEN_BYTES: usize = 256 * 1024;

/// Registry proofs already read, by their exact JSON text.
const MAX_PARSED_PROOFS: usize = 512;
/// Longest proof text kept in [`Caches::parsed_proofs`].
const MAX_PARSED_PROOF_BYTES: usize = 16 * 1024;

impl Caches {
    /// The registry proof written as `text`, parsed (duplicate keys refused) or as parsed
    /// before from the same text. `None` when it is not a well-formed registry proof.
    pub(super) fn parsed_proof(&self, text: &[u8]) -> Option<TextProof> {
        if let Some(p) = self
            .parsed_proofs
            .lock()
            .ok()
            .and_then(|m| m.get(text).cloned())
        {
            return Some(p);
        }
        let value = input::parse_shaped(text).ok()?;
        let proof = Arc::new(serde_json::from_value::<RegistryProof>(value).ok()?);
        let parsed = (proof, sha2::Sha256::digest(text).into());
        if text.len() <= MAX_PARSED_PROOF_BYTES
            && let Ok(mut m) = self.parsed_proofs.lock()
        {
            if m.len() >= MAX_PARSED_PROOFS {
                m.clear();
            }
            m.insert(text.into(), parsed.clone());
        }
        Some(parsed)
    }

    /// The status list credential stapled for `url` as `text`, parsed (bounded, duplicate
    /// keys refused) or as parsed before from the same text under the same limits.
    pub(super) fn parsed_list(
        &self,
        url: &str,
        text: &str,
        limits: Limits,
    ) -> Result<Arc<ParsedList>, StatusError> {
        if let Some(p) = self
            .parsed_lists
            .lock()
            .ok()
            .and_then(|m| m.get(url).cloned())
            && p.limits == limits
            && *p.text == *text
        {
            return Ok(p);
        }
        let value = input::parse_json_str(text, limits).map_err(|error| StatusError::Input {
            url: url.to_owned(),
            error,
        })?;
        let parsed = Arc::new(ParsedList {
            text: text.into(),
            limits,
            value,
            digest: sha2::Sha256::digest(text.as_bytes()).into(),
            bits: std::sync::OnceLock::new(),
        });
        if text.len() <= MAX_PARSED_LIST_BYTES
            && let Ok(mut m) = self.parsed_lists.lock()
        {
            if m.len() >= MAX_PARSED_LISTS && !m.contains_key(url) {
                m.clear();
            }
            m.insert(url.to_owned(), parsed.clone());
        }
        Ok(parsed)
    }
}
