//! Registry evidence: the registry proofs stapled to a presentation, verified offline against
//! the verifier's trust anchor and freshness policy, then queried for issuer DID documents,
//! accreditations and status-list anchors.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use did_method::proof::{ProofError, VerifiedEntry};
use did_method::state::{self, Accreditation, DidRecord, StatusAnchor};
use did_method::{Did, DidDocument, Hash, RegistryProof, TrustAnchor};
use sha2::{Digest, Sha256};

use crate::verdict::{Check, CheckKind};

/// What the verifier trusts and how old registry evidence may be.
#[derive(Clone, Debug)]
pub struct RegistryPolicy {
    /// The network's genesis anchor, or a checkpoint's.
    pub anchor: TrustAnchor,
    /// Oldest acceptable proof: its block time at most this far before `now`.
    pub max_proof_age_ms: u64,
    /// Tolerated clock difference for block times after `now`.
    pub clock_skew_ms: u64,
}

/// Why the registry evidence does not give what was asked of it. The text is the reason a
/// verdict shows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// No valid, fresh proof of the entry was stapled. `what` names the entry.
    #[error("no valid registry proof of {what} was stapled")]
    NotStapled { what: String },
    /// The proven value is not the record its key holds.
    #[error("the proven {what} is malformed: {error}")]
    Malformed { what: String, error: ProofError },
    /// The registry proves the entry absent.
    #[error("the registry proves that {what} does not exist (height {height})")]
    Absent { what: String, height: u64 },
    #[error("{did} is deactivated (height {height})")]
    Deactivated { did: Did, height: u64 },
    #[error("{issuer}'s accreditation was withdrawn by {authority} at height {height}: {reason}")]
    Withdrawn {
        issuer: Did,
        authority: String,
        height: u64,
        reason: String,
    },
    #[error("{issuer} is accredited for {} but not for {credential_type}", .accredited.join(", "))]
    NotAccreditedFor {
        issuer: Did,
        accredited: Vec<String>,
        credential_type: String,
    },
    #[error("{issuer}'s accreditation for {credential_type} is not valid at that time")]
    NotValidAtThatTime {
        issuer: Did,
        credential_type: String,
    },
    /// The stapled status list is not the one the registry anchored.
    #[error(
        "the status list {list_id} hashes to {hash}, but the registry anchored {anchored} at height {height}"
    )]
    ListHashMismatch {
        list_id: String,
        hash: Hash,
        anchored: Hash,
        height: u64,
    },
}

/// The state entries proven by valid, fresh stapled proofs (the newest per key).
#[derive(Clone, Debug, Default)]
pub struct RegistryEvidence {
    entries: HashMap<String, Arc<Proven>>,
}

/// A verified entry and its value decoded as the record its key holds, decoded once: a
/// [`ProofCache`] hands the same `Proven` to every presentation that staples the same proof
/// (an issuer's DID document, accreditation and status anchors), so they are not decoded
/// from JSON again each time.
#[derive(Debug)]
struct Proven {
    entry: VerifiedEntry,
    /// The reason its check passes, written once ("proven at height … (block …)").
    proven_at: String,
    did: OnceLock<Result<Option<DidRecord>, ProofError>>,
    accreditation: OnceLock<Result<Option<Accreditation>, ProofError>>,
    status: OnceLock<Result<Option<StatusAnchor>, ProofError>>,
}

impl Proven {
    fn new(entry: VerifiedEntry) -> Self {
        let proven_at = format!(
            "proven at height {} (block {})",
            entry.height, entry.block_id
        );
        Self {
            entry,
            proven_at,
            did: OnceLock::new(),
            accreditation: OnceLock::new(),
            status: OnceLock::new(),
        }
    }
}

/// A record type a proven value can hold, with its slot in [`Proven`].
trait Record: for<'de> serde::Deserialize<'de> {
    fn slot(p: &Proven) -> &OnceLock<Result<Option<Self>, ProofError>>;
}
impl Record for DidRecord {
    fn slot(p: &Proven) -> &OnceLock<Result<Option<Self>, ProofError>> {
        &p.did
    }
}
impl Record for Accreditation {
    fn slot(p: &Proven) -> &OnceLock<Result<Option<Self>, ProofError>> {
        &p.accreditation
    }
}
impl Record for StatusAnchor {
    fn slot(p: &Proven) -> &OnceLock<Result<Option<Self>, ProofError>> {
        &p.status
    }
}

/// Proofs already verified against an anchor, by the hash of (anchor, proof): the issuers'
/// proofs are the same in every presentation, and their cryptographic check does not depend
/// on the time (freshness is checked again on each use). Bounded; `Sync`.
#[derive(Debug, Default)]
pub struct ProofCache {
    map: std::sync::Mutex<HashMap<[u8; 32], Arc<Proven>>>,
    /// The last anchor seen and its digest ([`hash_anchor`] hashes the whole validator set,
    /// and a verifier keeps one anchor for every proof it checks).
    anchor: std::sync::Mutex<Option<(did_method::TrustAnchor, [u8; 32])>>,
}

/// Most proofs a [`ProofCache`] keeps (it starts over when full).
const MAX_CACHED_PROOFS: usize = 4096;

impl ProofCache {
    /// A digest of everything the check of `proof` against `anchor` depends on, from their
    /// binary forms (hashing their JSON would re-encode every key in base58 on each lookup).
    fn key(&self, anchor: &did_method::TrustAnchor, proof: &RegistryProof) -> Option<[u8; 32]> {
        let mut h = Sha256::new();
        h.update(self.anchor_digest(anchor));
        let mut bytes = |b: &[u8]| {
            h.update((b.len() as u64).to_be_bytes());
            h.update(b);
        };
        bytes(proof.key.as_bytes());
        match &proof.value {
            Some(v) => bytes(&serde_json::to_vec(v).ok()?),
            None => bytes(b"-"),
        }
        bytes(&proof.header.hash().0);
        let cert = |bytes: &mut dyn FnMut(&[u8]), c: &did_method::CommitCertificate| {
            bytes(&c.height.to_be_bytes());
            bytes(&c.round.to_be_bytes());
            bytes(&c.block_id.0);
            for s in &c.signatures {
                bytes(s.validator.as_bytes());
                bytes(&s.signature.to_bytes());
            }
        };
        cert(&mut bytes, &proof.certificate);
        for u in &proof.validator_updates {
            bytes(&u.header.hash().0);
            cert(&mut bytes, &u.certificate);
            bytes(&u.next_validators.hash().0);
        }
        bytes(did_method::proof::merkle_proof_to_text(&proof.merkle_proof).as_bytes());
        Some(h.finalize().into())
    }

    /// The key of a proof read from JSON text whose SHA-256 is `text_digest`: the text
    /// determines the proof (the same text always parses to the same proof), so it stands
    /// for the proof's encoding. Domain-separated from [`Self::key`].
    fn text_key(&self, anchor: &did_method::TrustAnchor, text_digest: &[u8; 32]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"alliance-verifier/proof-text/v1\0");
        h.update(self.anchor_digest(anchor));
        h.update((text_digest.len() as u64).to_be_bytes());
        h.update(text_digest);
        h.finalize().into()
    }

    /// SHA-256 of [`hash_anchor`]'s input for `anchor`, remembered for the last anchor.
    fn anchor_digest(&self, anchor: &did_method::TrustAnchor) -> [u8; 32] {
        let mut last = self.anchor.lock().ok();
        if let Some(Some((a, d))) = last.as_deref()
            && a == anchor
        {
            return *d;
        }
        let mut h = Sha256::new();
        hash_anchor(&mut h, anchor);
        let digest: [u8; 32] = h.finalize().into();
        if let Some(last) = last.as_deref_mut() {
            *last = Some((anchor.clone(), digest));
        }
        digest
    }

    fn verify(
        &self,
        anchor: &did_method::TrustAnchor,
        proof: &RegistryProof,
        text_digest: Option<[u8; 32]>,
    ) -> Result<Arc<Proven>, ProofError> {
        let key = match text_digest {
            Some(d) => Some(self.text_key(anchor, &d)),
            None => self.key(anchor, proof),
        };
        if let Some(k) = key
            && let Some(e) = self.map.lock().ok().and_then(|m| m.get(&k).cloned())
        {
            return Ok(e);
        }
        let e = Arc::new(Proven::new(proof.verify(anchor)?));
        if let (Some(k), Ok(mut m)) = (key, self.map.lock()) {
            if m.len() >= MAX_CACHED_PROOFS {
                m.clear();
            }
            m.insert(k, e.clone());
        }
        Ok(e)
    }
}

/// Feeds the fields of `anchor` a proof's check depends on into `h`, each length-prefixed.
fn hash_anchor(h: &mut Sha256, anchor: &did_method::TrustAnchor) {
    for b in [
        anchor.chain_id.as_str().as_bytes(),
        &anchor.height.to_be_bytes(),
        &anchor.time_ms.to_be_bytes(),
        &anchor.validators.hash().0,
    ] {
        h.update((b.len() as u64).to_be_bytes());
        h.update(b);
    }
}

impl RegistryEvidence {
    /// Verifies every proof (at `now_ms`, milliseconds since the Unix epoch) and keeps the
    /// valid and fresh ones. One check per proof is appended to `checks`.
    pub fn verify(
        proofs: &[RegistryProof],
        policy: &RegistryPolicy,
        now_ms: u64,
        checks: &mut Vec<Check>,
    ) -> Self {
        Self::verify_cached(proofs.iter(), policy, now_ms, checks, None)
    }

    /// [`Self::verify`], reusing (and filling) `cache` for the cryptographic checks.
    pub fn verify_cached<'p>(
        proofs: impl IntoIterator<Item = &'p RegistryProof>,
        policy: &RegistryPolicy,
        now_ms: u64,
        checks: &mut Vec<Check>,
        cache: Option<&ProofCache>,
    ) -> Self {
        Self::verify_cached_texts(
            proofs.into_iter().map(|p| (p, None)),
            policy,
            now_ms,
            checks,
            cache,
        )
    }

    /// [`Self::verify_cached`] for proofs each given with the SHA-256 of the exact JSON text
    /// it was parsed from, if it was (the cache is then keyed by that digest).
    pub(crate) fn verify_cached_texts<'p>(
        proofs: impl IntoIterator<Item = (&'p RegistryProof, Option<[u8; 32]>)>,
        policy: &RegistryPolicy,
        now_ms: u64,
        checks: &mut Vec<Check>,
        cache: Option<&ProofCache>,
    ) -> Self {
        let mut entries: HashMap<String, Arc<Proven>> = HashMap::new();
        for (proof, text_digest) in proofs {
            let verified = match cache {
                Some(c) => c.verify(&policy.anchor, proof, text_digest),
                None => proof
                    .verify(&policy.anchor)
                    .map(|e| Arc::new(Proven::new(e))),
            };
            let proven = match verified {
                Ok(e) => e,
                Err(e) => {
                    checks.push(Check::fail(
                        CheckKind::RegistryProof,
                        &proof.key,
                        format!("registry proof is invalid: {e}"),
                    ));
                    continue;
                }
            };
            let entry = &proven.entry;
            let age_limit = now_ms.saturating_sub(policy.max_proof_age_ms);
            if entry.time_ms < age_limit {
                checks.push(Check::fail(
                    CheckKind::ProofFreshness,
                    &entry.key,
                    format!(
                        "registry proof is from height {} ({} s old); the policy accepts at most {} s",
                        entry.height,
                        now_ms.saturating_sub(entry.time_ms) / 1000,
                        policy.max_proof_age_ms / 1000
                    ),
                ));
                continue;
            }
            if entry.time_ms > now_ms.saturating_add(policy.clock_skew_ms) {
                checks.push(Check::fail(
                    CheckKind::ProofFreshness,
                    &entry.key,
                    format!(
                        "registry proof's block time is {} ms in the future",
                        entry.time_ms - now_ms
                    ),
                ));
                continue;
            }
            checks.push(Check::pass(
                CheckKind::RegistryProof,
                &entry.key,
                proven.proven_at.clone(),
            ));
            let newer = entries
                .get(&entry.key)
                .is_none_or(|old| entry.height > old.entry.height);
            if newer {
                entries.insert(entry.key.clone(), proven.clone());
            }
        }
        Self { entries }
    }

    /// The proven record at `key`, decoded once per proof; `what` names it in errors (and is
    /// written only for them).
    fn record<T: Record>(
        &self,
        key: &str,
        what: impl Fn() -> String,
    ) -> Result<(&T, &VerifiedEntry), EvidenceError> {
        let proven = self
            .entries
            .get(key)
            .ok_or_else(|| EvidenceError::NotStapled { what: what() })?;
        let entry = &proven.entry;
        let rec = T::slot(proven)
            .get_or_init(|| entry.record::<T>())
            .as_ref()
            .map_err(|error| EvidenceError::Malformed {
                what: what(),
                error: error.clone(),
            })?
            .as_ref()
            .ok_or_else(|| EvidenceError::Absent {
                what: what(),
                height: entry.height,
            })?;
        Ok((rec, entry))
    }

    /// The DID document of `did`, if proven and not deactivated.
    pub fn did_document(&self, did: &Did) -> Result<&DidDocument, EvidenceError> {
        let (rec, entry) = self.record::<DidRecord>(&state::did_key(did), || {
            format!("the DID document of {did}")
        })?;
        if rec.deactivated {
            return Err(EvidenceError::Deactivated {
                did: did.clone(),
                height: entry.height,
            });
        }
        Ok(&rec.document)
    }

    /// The issuer's accreditation, if it covers `credential_type` at `at_ms`.
    pub fn accreditation(
        &self,
        issuer: &Did,
        credential_type: &str,
        at_ms: u64,
    ) -> Result<&Accreditation, EvidenceError> {
        let (acc, _) = self.record::<Accreditation>(&state::issuer_key(issuer), || {
            format!("the accreditation of {issuer}")
        })?;
        if let Some(w) = &acc.withdrawal {
            return Err(EvidenceError::Withdrawn {
                issuer: issuer.clone(),
                authority: w.authority.clone(),
                height: w.height,
                reason: w.reason.clone(),
            });
        }
        if !acc.credential_types.iter().any(|t| t == credential_type) {
            return Err(EvidenceError::NotAccreditedFor {
                issuer: issuer.clone(),
                accredited: acc.credential_types.clone(),
                credential_type: credential_type.to_owned(),
            });
        }
        if !acc.covers(credential_type, at_ms) {
            return Err(EvidenceError::NotValidAtThatTime {
                issuer: issuer.clone(),
                credential_type: credential_type.to_owned(),
            });
        }
        Ok(acc)
    }

    /// The anchor of an issuer's status list, if `list_bytes` (the status list credential as
    /// served) hashes to the anchored value.
    pub fn status_anchor(
        &self,
        issuer: &Did,
        list_id: &str,
        list_bytes: &[u8],
    ) -> Result<&StatusAnchor, EvidenceError> {
        self.status_anchor_digest(issuer, list_id, Sha256::digest(list_bytes).into())
    }

    /// [`Self::status_anchor`] for a list whose SHA-256 is already known.
    pub fn status_anchor_digest(
        &self,
        issuer: &Did,
        list_id: &str,
        list_sha256: [u8; 32],
    ) -> Result<&StatusAnchor, EvidenceError> {
        let (anchor, _) = self
            .record::<StatusAnchor>(&state::status_key(issuer, list_id), || {
                format!("the status list anchor {list_id}")
            })?;
        let hash = Hash(list_sha256);
        if hash != anchor.list_hash {
            return Err(EvidenceError::ListHashMismatch {
                list_id: list_id.to_owned(),
                hash,
                anchored: anchor.list_hash,
                height: anchor.anchored_height,
            });
        }
        Ok(anchor)
    }
}
