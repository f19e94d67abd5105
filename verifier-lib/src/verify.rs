//! The verifier: a presentation bundle (or a bare presentation or credential) in, a
//! [`Verdict`] out, with no network call. Every check is made and reported, not only the
//! first that fails.
//!
//! Data Integrity (`eddsa-rdfc-2022`) presentations and credentials are checked here: the
//! proof's signature over the canonical document (ssi's RDF canonicalization, cached
//! contexts), its purpose, the binding of the signing key to the issuer or holder, the
//! challenge and domain, validity dates, the credential type, the issuer's accreditation and
//! the credential's status, from the registry proofs and status lists stapled to the bundle.

use std::collections::HashMap;
use std::sync::Arc;

use did_method::{Did, RegistryProof, TrustAnchor};
use serde::Deserialize as _;
use serde_json::Value;
use sha2::Digest;

use crate::bundle::{Bundle, StatusLists};
use crate::contexts::PinnedContexts;
use crate::dids::{self, Relationship};
use crate::input::{self, Limits};
use crate::policy::Policy;
use crate::rdfc::Rdfc2022;
use crate::registry::RegistryEvidence;
use crate::token_status;
use crate::verdict::{Check, CheckKind, Verdict};

const VC_V2: &str = "https://www.w3.org/ns/credentials/v2";

/// Offline verifier for one policy. Build once and share (it is `Sync`): it caches processed
/// JSON-LD contexts.
pub struct Verifier {
    rdfc: Arc<Rdfc2022>,
    caches: Arc<Caches>,
    policy: Policy,
    anchor: Option<TrustAnchor>,
    limits: Limits,
}

/// What repeats across presentations of one issuer's credentials: its registry proofs and its
/// status lists. Only cryptographic results are cached (keyed by the exact bytes and the key
/// or anchor they were checked against); freshness and policy are checked on every use.
#[derive(Debug, Default)]
struct Caches {
    proofs: crate::registry::ProofCache,
    /// (SHA-256 of a status list's text, signing key) whose signature verified.
    list_signatures: std::sync::Mutex<std::collections::HashSet<([u8; 32], [u8; 32])>>,
    /// Status List Tokens already parsed and inflated, by SHA-256 of their exact text.
    tokens: std::sync::Mutex<HashMap<[u8; 32], Arc<token_status::StatusListToken>>>,
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
struct ParsedList {
    text: Box<str>,
    limits: Limits,
    value: Value,
    digest: [u8; 32],
    bits: std::sync::OnceLock<Result<Arc<ssi::status::bitstring_status_list::StatusList>, String>>,
}

/// Status lists kept read (an issuer has a few; the bound keeps the memory of a verifier
/// that faces the public to about 64 × (text + its JSON) at most).
const MAX_PARSED_LISTS: usize = 64;
/// Longest status list text kept in [`Caches::parsed_lists`] (a 131,072-entry list is
/// about 22 KiB).
const MAX_PARSED_LIST_BYTES: usize = 256 * 1024;

/// A registry proof parsed from JSON text, and the SHA-256 of that text (which determines
/// the proof, so it keys the proof's check against an anchor without re-encoding it).
type TextProof = (Arc<RegistryProof>, [u8; 32]);

const MAX_CACHED_LISTS: usize = 1024;
const MAX_CACHED_TOKENS: usize = 256;
const MAX_CACHED_TOKEN_BYTES: usize = 256 * 1024;

/// Registry proofs already read, by their exact JSON text.
const MAX_PARSED_PROOFS: usize = 512;
/// Longest proof text kept in [`Caches::parsed_proofs`].
const MAX_PARSED_PROOF_BYTES: usize = 16 * 1024;

impl Caches {
    /// The registry proof written as `text`, parsed (duplicate keys refused) or as parsed
    /// before from the same text. `None` when it is not a well-formed registry proof.
    fn parsed_proof(&self, text: &[u8]) -> Option<TextProof> {
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
    fn parsed_list(
        &self,
        url: &str,
        text: &str,
        limits: Limits,
    ) -> Result<Arc<ParsedList>, String> {
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
        let value =
            input::parse_json_str(text, limits).map_err(|e| format!("status list {url}: {e}"))?;
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

/// The check that the input was read within bounds.
fn input_read() -> Check {
    Check::pass(
        CheckKind::Input,
        "input",
        "well-formed JSON within limits, no duplicate keys",
    )
}

/// The material stapled beside a presentation.
struct Stapled {
    evidence: RegistryEvidence,
    /// Status list URL → its exact text, as served by the issuer.
    status_lists: StatusLists,
}

impl Verifier {
    /// A verifier with the standard pinned contexts. `anchor` (the network's genesis or a
    /// checkpoint) is needed for `did:alliance` issuers and registry evidence.
    pub fn new(policy: Policy, anchor: Option<TrustAnchor>) -> Self {
        Self::with_contexts(policy, anchor, PinnedContexts::standard())
    }

    pub fn with_contexts(
        policy: Policy,
        anchor: Option<TrustAnchor>,
        contexts: PinnedContexts,
    ) -> Self {
        Self {
            rdfc: Arc::new(Rdfc2022::new(contexts)),
            caches: Arc::new(Caches::default()),
            policy,
            anchor,
            limits: Limits::default(),
        }
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The same verifier (sharing its context cache) under another policy: for per-request
    /// challenges and domains.
    pub fn with_policy(&self, policy: Policy) -> Self {
        Self {
            rdfc: self.rdfc.clone(),
            caches: self.caches.clone(),
            policy,
            anchor: self.anchor.clone(),
            limits: self.limits,
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Verifies a [`Bundle`] (`{"presentation", "registryProofs", "statusLists"}`), or a bare
    /// presentation or credential, given as bytes. `now_ms`: milliseconds since the epoch.
    pub fn verify_bytes(&self, bytes: &[u8], now_ms: u64) -> Verdict {
        if let Some(v) = self.verify_bundle_bytes(bytes, now_ms) {
            return v;
        }
        let mut v = Verdict::default();
        let doc = match input::parse_json(bytes, self.limits) {
            Ok(d) => d,
            Err(e) => {
                v.push(Check::fail(CheckKind::Input, "input", e.to_string()));
                return v;
            }
        };
        v.push(input_read());
        self.verify_value(&doc, now_ms, &mut v);
        v
    }

    /// Verifies an already parsed document. Parse it with [`input::parse_json`] so that size,
    /// depth and duplicate keys were checked on the raw bytes.
    pub fn verify_parsed(&self, doc: &Value, now_ms: u64) -> Verdict {
        let mut v = Verdict::default();
        self.verify_value(doc, now_ms, &mut v);
        v
    }

    /// A bundle read part by part: its members located by [`input::bundle_parts`] (one pass
    /// that also bounds size and depth, no parsing), each stapled registry proof taken from
    /// [`Caches::parsed_proofs`] when the very same bytes were read before (an issuer's
    /// proofs are the same in every presentation), the rest parsed with the same bounds and
    /// duplicate-key refusal as the whole. `None` when the input is anything but a plain,
    /// well-formed bundle: the caller then reads it as a whole, which reports what is wrong
    /// with it. The verdict is the whole-document path's either way (the `bundle` fuzz
    /// target checks that).
    fn verify_bundle_bytes(&self, bytes: &[u8], now_ms: u64) -> Option<Verdict> {
        // Unknown or repeated top-level keys, and limits passed, end here, and the
        // whole-document path reports them. Each part found is parsed below (or was, as
        // the same bytes, before), which is what makes the whole well-formed.
        let parts = input::bundle_parts(bytes, self.limits)?;
        let presentation = input::parse_shaped(parts.presentation).ok()?;
        let proofs = match parts.registry_proofs {
            None => vec![],
            Some(list) => list
                .into_iter()
                .map(|p| self.caches.parsed_proof(p))
                .collect::<Option<Vec<_>>>()?,
        };
        let status_lists: StatusLists = match parts.status_lists {
            None => StatusLists::new(),
            Some(lists) => serde_json::from_value(input::parse_shaped(lists).ok()?).ok()?,
        };
        let mut v = Verdict::default();
        v.push(input_read());
        let stapled = self.stapled_from(
            proofs.iter().map(|(p, digest)| (&**p, Some(*digest))),
            status_lists,
            now_ms,
            &mut v,
        );
        self.verify_subject(&presentation, stapled, now_ms, &mut v);
        Some(v)
    }

    fn verify_value(&self, doc: &Value, now_ms: u64, v: &mut Verdict) {
        if let Some(presentation) = doc.get(Bundle::PRESENTATION) {
            if let Some(stapled) = self.stapled(doc, now_ms, v) {
                self.verify_subject(presentation, stapled, now_ms, v);
            }
        } else {
            let stapled = Stapled {
                evidence: RegistryEvidence::default(),
                status_lists: StatusLists::new(),
            };
            self.verify_subject(doc, stapled, now_ms, v);
        }
    }

    /// Verifies a presentation, a credential or an SD-JWT VC with the material stapled
    /// beside it.
    fn verify_subject(&self, subject: &Value, stapled: Stapled, now_ms: u64, v: &mut Verdict) {
        if let Some(text) = subject.as_str() {
            let claims = crate::sdjwt::verify(
                text,
                crate::sdjwt::IssuerKey::Did(&stapled.evidence),
                &self.policy,
                true,
                now_ms,
                v,
            );
            if let Some(c) = claims {
                self.token_status(&c, &stapled, now_ms, v);
            }
            return;
        }
        let types = types_of(subject);
        if types.iter().any(|t| t == "VerifiablePresentation") {
            self.presentation(subject, &stapled, now_ms, v);
        } else if types.iter().any(|t| t == "VerifiableCredential") {
            self.credential(subject, "credential", None, &stapled, now_ms, v, None);
        } else {
            v.push(Check::fail(
                CheckKind::Format,
                "input",
                "neither a bundle, a VerifiablePresentation nor a VerifiableCredential",
            ));
        }
    }

    fn stapled(&self, doc: &Value, now_ms: u64, v: &mut Verdict) -> Option<Stapled> {
        let proofs: Vec<RegistryProof> = match doc.get(Bundle::REGISTRY_PROOFS) {
            None => vec![],
            Some(p) => match Vec::<RegistryProof>::deserialize(p) {
                Ok(p) => p,
                Err(e) => {
                    v.push(Check::fail(
                        CheckKind::Format,
                        Bundle::REGISTRY_PROOFS,
                        format!(
                            "{} is not a list of registry proofs: {e}",
                            Bundle::REGISTRY_PROOFS
                        ),
                    ));
                    return None;
                }
            },
        };
        let status_lists: StatusLists = match doc.get(Bundle::STATUS_LISTS) {
            None => StatusLists::new(),
            Some(s) => match StatusLists::deserialize(s) {
                Ok(s) => s,
                Err(_) => {
                    v.push(Check::fail(
                        CheckKind::Format,
                        Bundle::STATUS_LISTS,
                        format!(
                            "{} must map each status list URL to the list's text",
                            Bundle::STATUS_LISTS
                        ),
                    ));
                    return None;
                }
            },
        };
        Some(self.stapled_from(proofs.iter().map(|p| (p, None)), status_lists, now_ms, v))
    }

    /// Checks the stapled registry proofs (each with the SHA-256 of the text it was read
    /// from, when it was read from text) against the trust anchor.
    fn stapled_from<'p>(
        &self,
        proofs: impl ExactSizeIterator<Item = (&'p RegistryProof, Option<[u8; 32]>)>,
        status_lists: StatusLists,
        now_ms: u64,
        v: &mut Verdict,
    ) -> Stapled {
        let evidence = match (&self.anchor, proofs.len() == 0) {
            (_, true) => RegistryEvidence::default(),
            (None, false) => {
                v.push(Check::fail(
                    CheckKind::RegistryProof,
                    Bundle::REGISTRY_PROOFS,
                    "registry proofs are stapled but the verifier has no trust anchor (genesis or checkpoint)",
                ));
                RegistryEvidence::default()
            }
            (Some(anchor), false) => RegistryEvidence::verify_cached_texts(
                proofs,
                &self.policy.registry(anchor.clone()),
                now_ms,
                &mut v.checks,
                Some(&self.caches.proofs),
            ),
        };
        Stapled {
            evidence,
            status_lists,
        }
    }

    fn presentation(&self, vp: &Value, st: &Stapled, now_ms: u64, v: &mut Verdict) {
        let subject = vp
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("presentation")
            .to_owned();
        if !self.format_ok(vp, &subject, v) {
            return;
        }
        // One expansion of each embedded credential serves both the presentation's proof and
        // the credential's own (`None`: each is computed on its own, and any error reported
        // there).
        let hashes = self.rdfc.presentation_hashes(vp).ok();
        let signer = self.proof_checks(
            vp,
            &subject,
            Relationship::Authentication,
            &st.evidence,
            now_ms,
            v,
            None,
            hashes.as_ref().map(|h| h.presentation),
        );
        // Challenge and domain: the verifier's own, so an old presentation cannot be replayed.
        if let Ok(info) = Rdfc2022::proof_info(vp) {
            match &self.policy.challenge {
                Some(c) if info.challenge.as_deref() == Some(c) => v.push(Check::pass(
                    CheckKind::Challenge,
                    &subject,
                    "challenge is the expected one",
                )),
                Some(c) => v.push(Check::fail(
                    CheckKind::Challenge,
                    &subject,
                    format!(
                        "challenge is {}, expected {c}",
                        info.challenge.as_deref().unwrap_or("missing")
                    ),
                )),
                None => {}
            }
            match &self.policy.domain {
                Some(d) if info.domain.iter().any(|x| x == d) => v.push(Check::pass(
                    CheckKind::Challenge,
                    &subject,
                    "domain is the expected one",
                )),
                Some(d) => v.push(Check::fail(
                    CheckKind::Challenge,
                    &subject,
                    format!("domain is {:?}, expected {d}", info.domain),
                )),
                None => {}
            }
        }
        let holder = vp.get("holder").and_then(|h| match h {
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) => o.get("id").and_then(Value::as_str),
            _ => None,
        });
        let holder = match (&signer, holder) {
            (Some(s), Some(h)) if s == h => {
                v.push(Check::pass(
                    CheckKind::HolderBinding,
                    &subject,
                    format!("signed by its holder {h}"),
                ));
                Some(h.to_owned())
            }
            (Some(s), Some(h)) => {
                v.push(Check::fail(
                    CheckKind::HolderBinding,
                    &subject,
                    format!("holder is {h} but the presentation is signed by {s}"),
                ));
                None
            }
            (Some(s), None) => Some(s.clone()),
            (None, _) => None,
        };
        let creds: Vec<&Value> = match vp.get("verifiableCredential") {
            None => vec![],
            Some(Value::Array(a)) => a.iter().collect(),
            Some(one) => vec![one],
        };
        if creds.is_empty() {
            v.push(Check::fail(
                CheckKind::Format,
                &subject,
                "the presentation holds no credential",
            ));
        }
        for (i, c) in creds.into_iter().enumerate() {
            let name = c
                .get("id")
                .and_then(Value::as_str)
                .map_or_else(|| format!("credential[{i}]"), str::to_owned);
            let hash = hashes
                .as_ref()
                .and_then(|h| h.credentials.get(i).copied().flatten());
            self.credential(c, &name, Some(holder.as_deref()), st, now_ms, v, hash);
        }
    }

    /// `holder`: `None` for a bare credential; `Some(signer)` inside a presentation (the
    /// signer is `None` when the presentation's own key could not be resolved). `hash`: the
    /// credential proof's hash data when already computed.
    #[allow(clippy::too_many_arguments)]
    fn credential(
        &self,
        vc: &Value,
        subject: &str,
        holder: Option<Option<&str>>,
        st: &Stapled,
        now_ms: u64,
        v: &mut Verdict,
        hash: Option<[u8; 64]>,
    ) {
        if !self.format_ok(vc, subject, v) {
            return;
        }
        let issuer = vc.get("issuer").and_then(|i| match i {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        });
        let Some(issuer) = issuer else {
            v.push(Check::fail(
                CheckKind::Format,
                subject,
                "the credential has no issuer",
            ));
            return;
        };
        let types: Vec<String> = types_of(vc)
            .into_iter()
            .filter(|t| t != "VerifiableCredential")
            .collect();
        if self.policy.accepted_types.is_empty()
            || types.iter().any(|t| self.policy.accepted_types.contains(t))
        {
            v.push(Check::pass(
                CheckKind::CredentialType,
                subject,
                format!("type {}", types.join(", ")),
            ));
        } else {
            v.push(Check::fail(
                CheckKind::CredentialType,
                subject,
                format!(
                    "type {} is not one the policy accepts ({})",
                    types.join(", "),
                    self.policy.accepted_types.join(", ")
                ),
            ));
        }
        let signer = self.proof_checks(
            vc,
            subject,
            Relationship::AssertionMethod,
            &st.evidence,
            now_ms,
            v,
            None,
            hash,
        );
        match &signer {
            Some(s) if *s == issuer => v.push(Check::pass(
                CheckKind::IssuerBinding,
                subject,
                format!("signed with a key its issuer {issuer} lists for assertion"),
            )),
            Some(s) => v.push(Check::fail(
                CheckKind::IssuerBinding,
                subject,
                format!("issuer is {issuer} but the signing key belongs to {s}"),
            )),
            None => {}
        }
        self.validity(vc, subject, now_ms, v);
        if let Some(holder) = holder {
            self.holder_binding(vc, subject, holder, v);
        }
        if self.policy.require_accreditation {
            self.accreditation(&issuer, &types, subject, &st.evidence, now_ms, v);
        }
        self.status(vc, &issuer, subject, st, now_ms, v);
    }

    fn format_ok(&self, doc: &Value, subject: &str, v: &mut Verdict) -> bool {
        let first = match doc.get("@context") {
            Some(Value::Array(a)) => a.first().and_then(Value::as_str),
            Some(Value::String(s)) => Some(s.as_str()),
            _ => None,
        };
        if first != Some(VC_V2) {
            v.push(Check::fail(
                CheckKind::Format,
                subject,
                format!("the first @context must be {VC_V2} (VC Data Model 2.0)"),
            ));
            return false;
        }
        true
    }

    /// Purpose, key resolution for `relationship`, signature and proof dates. Returns the
    /// DID that controls the signing key when it could be resolved.
    #[allow(clippy::too_many_arguments)]
    fn proof_checks(
        &self,
        doc: &Value,
        subject: &str,
        relationship: Relationship,
        evidence: &RegistryEvidence,
        now_ms: u64,
        v: &mut Verdict,
        cache_key: Option<[u8; 32]>,
        hash: Option<[u8; 64]>,
    ) -> Option<String> {
        let info = match Rdfc2022::proof_info(doc) {
            Ok(i) => i,
            Err(e) => {
                v.push(Check::fail(CheckKind::Signature, subject, e.to_string()));
                return None;
            }
        };
        let purpose = relationship.proof_purpose();
        if info.proof_purpose == purpose {
            v.push(Check::pass(
                CheckKind::ProofPurpose,
                subject,
                format!("proof purpose {purpose}"),
            ));
        } else {
            v.push(Check::fail(
                CheckKind::ProofPurpose,
                subject,
                format!(
                    "proof purpose is {}, expected {purpose}",
                    info.proof_purpose
                ),
            ));
        }
        let skew = self.policy.clock_skew_s * 1000;
        if let Some(created) = &info.created {
            match parse_time(created) {
                Some(t) if t > now_ms.saturating_add(skew) => v.push(Check::fail(
                    CheckKind::Validity,
                    subject,
                    format!("the proof was created in the future ({created})"),
                )),
                Some(_) => {}
                None => v.push(Check::fail(
                    CheckKind::Validity,
                    subject,
                    format!("proof created {created} is not a date-time"),
                )),
            }
        }
        if let Some(expires) = &info.expires {
            match parse_time(expires) {
                Some(t) if t.saturating_add(skew) < now_ms => v.push(Check::fail(
                    CheckKind::Validity,
                    subject,
                    format!("the proof expired at {expires}"),
                )),
                Some(_) => {}
                None => v.push(Check::fail(
                    CheckKind::Validity,
                    subject,
                    format!("proof expires {expires} is not a date-time"),
                )),
            }
        }
        let resolved = match dids::resolve(&info.verification_method, relationship, evidence) {
            Ok(r) => r,
            Err(e) => {
                let kind = match relationship {
                    Relationship::AssertionMethod => CheckKind::IssuerBinding,
                    Relationship::Authentication => CheckKind::HolderBinding,
                };
                v.push(Check::fail(kind, subject, e));
                return None;
            }
        };
        let cached = cache_key.map(|k| (k, resolved.key.to_bytes()));
        let known = cached.is_some_and(|c| {
            self.caches
                .list_signatures
                .lock()
                .is_ok_and(|set| set.contains(&c))
        });
        let result = if known {
            Ok(())
        } else if let Some(hash) = &hash {
            self.rdfc.verify_hash(doc, &resolved.key, hash)
        } else {
            self.rdfc.verify(doc, &resolved.key)
        };
        if result.is_ok()
            && !known
            && let (Some(c), Ok(mut set)) = (cached, self.caches.list_signatures.lock())
        {
            if set.len() >= MAX_CACHED_LISTS {
                set.clear();
            }
            set.insert(c);
        }
        match result {
            Ok(()) => v.push(Check::pass(
                CheckKind::Signature,
                subject,
                format!(
                    "eddsa-rdfc-2022 signature by {} verifies",
                    info.verification_method
                ),
            )),
            Err(e) => v.push(Check::fail(CheckKind::Signature, subject, e.to_string())),
        }
        Some(resolved.controller)
    }

    fn validity(&self, vc: &Value, subject: &str, now_ms: u64, v: &mut Verdict) {
        let skew = self.policy.clock_skew_s * 1000;
        let mut ok = true;
        for (field, not_before) in [("validFrom", true), ("validUntil", false)] {
            let Some(raw) = vc.get(field) else { continue };
            let Some(t) = raw.as_str().and_then(parse_time) else {
                v.push(Check::fail(
                    CheckKind::Validity,
                    subject,
                    format!("{field} is not a date-time"),
                ));
                ok = false;
                continue;
            };
            let text = raw.as_str().unwrap_or_default();
            if not_before && t > now_ms.saturating_add(skew) {
                v.push(Check::fail(
                    CheckKind::Validity,
                    subject,
                    format!("not yet valid: validFrom is {text}"),
                ));
                ok = false;
            }
            if !not_before && t.saturating_add(skew) < now_ms {
                v.push(Check::fail(
                    CheckKind::Validity,
                    subject,
                    format!("expired: validUntil was {text}"),
                ));
                ok = false;
            }
        }
        if ok {
            v.push(Check::pass(
                CheckKind::Validity,
                subject,
                "within its validity period",
            ));
        }
    }

    fn holder_binding(&self, vc: &Value, subject: &str, holder: Option<&str>, v: &mut Verdict) {
        if !self.policy.require_holder_binding {
            return;
        }
        let Some(holder) = holder else {
            v.push(Check::fail(
                CheckKind::HolderBinding,
                subject,
                "the presentation's signer is unknown, so the credential cannot be bound to it",
            ));
            return;
        };
        let subjects: Vec<&Value> = match vc.get("credentialSubject") {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(o) => vec![o],
            None => vec![],
        };
        if subjects
            .iter()
            .any(|s| s.get("id").and_then(Value::as_str) == Some(holder))
        {
            v.push(Check::pass(
                CheckKind::HolderBinding,
                subject,
                format!("its subject {holder} signed the presentation"),
            ));
        } else {
            v.push(Check::fail(
                CheckKind::HolderBinding,
                subject,
                format!("the credential's subject is not the presentation's signer {holder}"),
            ));
        }
    }

    fn accreditation(
        &self,
        issuer: &str,
        types: &[String],
        subject: &str,
        evidence: &RegistryEvidence,
        now_ms: u64,
        v: &mut Verdict,
    ) {
        let Ok(did) = Did::parse(issuer) else {
            v.push(Check::fail(
                CheckKind::Accreditation,
                subject,
                format!("the policy requires accreditation, which only a did:alliance issuer can have; the issuer is {issuer}"),
            ));
            return;
        };
        if types.is_empty() {
            v.push(Check::fail(
                CheckKind::Accreditation,
                subject,
                "the credential names no type to be accredited for",
            ));
        }
        for t in types {
            match evidence.accreditation(&did, t, now_ms) {
                Ok(a) => v.push(Check::pass(
                    CheckKind::Accreditation,
                    subject,
                    format!("{issuer} is accredited for {t} by {}", a.authority),
                )),
                Err(e) => v.push(Check::fail(CheckKind::Accreditation, subject, e)),
            }
        }
    }

    /// An SD-JWT VC's `status` (IETF Token Status List).
    fn token_status(
        &self,
        claims: &serde_json::Map<String, Value>,
        st: &Stapled,
        now_ms: u64,
        v: &mut Verdict,
    ) {
        let subject = "sd-jwt";
        match token_status::Reference::from_claims(claims) {
            Ok(Some(r)) => {
                let iss = claims.get("iss").and_then(Value::as_str);
                if let Err(reason) = self.token_status_entry(&r, iss, st, now_ms, v) {
                    v.push(Check::fail(CheckKind::Status, subject, reason));
                }
            }
            Ok(None) if self.policy.require_status => v.push(Check::fail(
                CheckKind::Status,
                subject,
                "the policy requires a status entry; the credential has none",
            )),
            Ok(None) => {}
            Err(e) => v.push(Check::fail(CheckKind::Status, subject, e)),
        }
    }

    fn token_status_entry(
        &self,
        r: &token_status::Reference,
        iss: Option<&str>,
        st: &Stapled,
        now_ms: u64,
        v: &mut Verdict,
    ) -> Result<(), String> {
        let uri = r.uri.as_str();
        let iss = iss.ok_or("the credential has no iss")?;
        let text = st
            .status_lists
            .get(uri)
            .ok_or_else(|| format!("the status list {uri} is not stapled"))?;
        let digest: [u8; 32] = sha2::Sha256::digest(text.as_bytes()).into();
        let cached = self
            .caches
            .tokens
            .lock()
            .ok()
            .and_then(|m| m.get(&digest).cloned());
        let (token, parsed_now) = match cached {
            Some(t) => (t, false),
            None => (
                Arc::new(
                    token_status::StatusListToken::parse(text)
                        .map_err(|e| format!("status list {uri}: {e}"))?,
                ),
                true,
            ),
        };
        if token.sub != uri {
            return Err(format!(
                "the stapled status list token is for {}, not {uri}",
                token.sub
            ));
        }
        if let Some(t) = &token.iss
            && t != iss
        {
            return Err(format!(
                "the status list {uri} was issued by {t}, not {iss}"
            ));
        }
        // Signed by an assertion key of the credential's issuer (cached per exact text and
        // key, like Bitstring lists).
        let kid = token
            .kid
            .as_deref()
            .ok_or_else(|| format!("the status list {uri} names no kid"))?;
        let (kid, resolved) = crate::sdjwt::assertion_key(kid, iss, &st.evidence)
            .map_err(|e| format!("status list {uri}: {e}"))?;
        if resolved.controller != iss {
            return Err(format!(
                "the status list {uri} is signed by a key of {}, not of {iss}",
                resolved.controller
            ));
        }
        if !crate::sdjwt::is_eddsa(&token.alg) {
            return Err(format!(
                "status list {uri}: alg {} is not accepted (EdDSA only)",
                token.alg
            ));
        }
        let cache_key = (digest, resolved.key.to_bytes());
        let known = self
            .caches
            .list_signatures
            .lock()
            .is_ok_and(|set| set.contains(&cache_key));
        if !known {
            let ok = did_method::Signature::from_slice(&token.signature)
                .ok()
                .is_some_and(|s| {
                    resolved
                        .key
                        .verify(token.signing_input.as_bytes(), &s)
                        .is_ok()
                });
            if !ok {
                return Err(format!("the status list {uri} signature does not verify"));
            }
            if let Ok(mut set) = self.caches.list_signatures.lock() {
                if set.len() >= MAX_CACHED_LISTS {
                    set.clear();
                }
                set.insert(cache_key);
            }
        }
        // Keep what the issuer signed, parsed, for the next presentation (bounded in count
        // and in size: at most 256 lists of at most 256 KiB inflated).
        if parsed_now
            && token.inflated_bytes() <= MAX_CACHED_TOKEN_BYTES
            && let Ok(mut m) = self.caches.tokens.lock()
        {
            if m.len() >= MAX_CACHED_TOKENS {
                m.clear();
            }
            m.insert(digest, token.clone());
        }
        v.push(Check::pass(
            CheckKind::Signature,
            uri,
            format!("status list token signed by {kid}"),
        ));
        if self.policy.require_status_anchor {
            let did = Did::parse(iss).map_err(|_| {
                format!("status list anchors exist only for did:alliance issuers; {iss} cannot anchor {uri}")
            })?;
            match st.evidence.status_anchor_digest(&did, uri, digest) {
                Ok(a) => v.push(Check::pass(
                    CheckKind::StatusAnchor,
                    uri,
                    format!("list hash anchored at height {}", a.anchored_height),
                )),
                Err(e) => v.push(Check::fail(CheckKind::StatusAnchor, uri, e)),
            }
        }
        let issued = token.iat_s.saturating_mul(1000);
        let skew = self.policy.clock_skew_s.saturating_mul(1000);
        let max_age = self.policy.max_status_age_s.saturating_mul(1000);
        if let Some(exp) = token.exp_s
            && exp.saturating_mul(1000).saturating_add(skew) < now_ms
        {
            v.push(Check::fail(
                CheckKind::StatusFreshness,
                uri,
                format!(
                    "status list token expired {} s ago",
                    now_ms.saturating_sub(exp.saturating_mul(1000)) / 1000
                ),
            ));
        } else if issued > now_ms.saturating_add(skew) {
            v.push(Check::fail(
                CheckKind::StatusFreshness,
                uri,
                "status list token is issued in the future",
            ));
        } else if issued.saturating_add(max_age) >= now_ms {
            v.push(Check::pass(
                CheckKind::StatusFreshness,
                uri,
                format!(
                    "status list issued {} s ago",
                    now_ms.saturating_sub(issued) / 1000
                ),
            ));
        } else {
            v.push(Check::fail(
                CheckKind::StatusFreshness,
                uri,
                format!(
                    "status list is {} s old; the policy accepts at most {} s",
                    now_ms.saturating_sub(issued) / 1000,
                    self.policy.max_status_age_s
                ),
            ));
        }
        let idx = r.idx;
        match token.status(idx) {
            Some(token_status::VALID) => v.push(Check::pass(
                CheckKind::Status,
                "sd-jwt",
                format!("valid in {uri}"),
            )),
            Some(token_status::INVALID) => v.push(Check::fail(
                CheckKind::Status,
                "sd-jwt",
                format!("revoked (index {idx} of {uri})"),
            )),
            Some(token_status::SUSPENDED) => v.push(Check::fail(
                CheckKind::Status,
                "sd-jwt",
                format!("suspended (index {idx} of {uri})"),
            )),
            Some(other) => v.push(Check::fail(
                CheckKind::Status,
                "sd-jwt",
                format!("status 0x{other:02x} at index {idx} of {uri} is not valid"),
            )),
            None => {
                return Err(format!(
                    "index {idx} is beyond the end of {uri} ({} entries)",
                    token.len()
                ));
            }
        }
        Ok(())
    }

    fn status(
        &self,
        vc: &Value,
        issuer: &str,
        subject: &str,
        st: &Stapled,
        now_ms: u64,
        v: &mut Verdict,
    ) {
        let entries: Vec<&Value> = match vc.get("credentialStatus") {
            None => vec![],
            Some(Value::Array(a)) => a.iter().collect(),
            Some(one) => vec![one],
        };
        if entries.is_empty() {
            if self.policy.require_status {
                v.push(Check::fail(
                    CheckKind::Status,
                    subject,
                    "the policy requires a status entry; the credential has none",
                ));
            }
            return;
        }
        for e in entries {
            if let Err(reason) = self.status_entry(e, issuer, subject, st, now_ms, v) {
                v.push(Check::fail(CheckKind::Status, subject, reason));
            }
        }
    }

    fn status_entry(
        &self,
        entry: &Value,
        issuer: &str,
        subject: &str,
        st: &Stapled,
        now_ms: u64,
        v: &mut Verdict,
    ) -> Result<(), String> {
        let field = |k: &str| entry.get(k).and_then(Value::as_str);
        if field("type") != Some("BitstringStatusListEntry") {
            return Err(format!(
                "status entry type {:?} is not supported",
                entry.get("type")
            ));
        }
        let purpose = field("statusPurpose").ok_or("status entry has no statusPurpose")?;
        let index: usize = field("statusListIndex")
            .and_then(|i| i.parse().ok())
            .ok_or("statusListIndex is not a decimal string")?;
        let url =
            field("statusListCredential").ok_or("status entry has no statusListCredential")?;
        let text = st
            .status_lists
            .get(url)
            .ok_or_else(|| format!("the status list {url} is not stapled"))?;
        let parsed = self.caches.parsed_list(url, text, self.limits)?;
        let list = &parsed.value;
        if list.get("id").and_then(Value::as_str) != Some(url) {
            return Err(format!("the stapled list's id is not {url}"));
        }
        if !types_of(list)
            .iter()
            .any(|t| t == "BitstringStatusListCredential")
        {
            return Err(format!("{url} is not a BitstringStatusListCredential"));
        }
        let list_issuer = list.get("issuer").and_then(|i| match i {
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) => o.get("id").and_then(Value::as_str),
            _ => None,
        });
        if list_issuer != Some(issuer) {
            return Err(format!("the status list {url} was not issued by {issuer}"));
        }
        // The list is a credential of the same issuer: same signature and binding checks.
        let mut sub = Verdict::default();
        let signer = self.proof_checks(
            list,
            url,
            Relationship::AssertionMethod,
            &st.evidence,
            now_ms,
            &mut sub,
            Some(parsed.digest),
            None,
        );
        if let Some(f) = sub.failures().next() {
            return Err(format!("status list {url}: {}", f.reason));
        }
        if signer.as_deref() != Some(issuer) {
            return Err(format!("the status list {url} is not signed by {issuer}"));
        }
        // Anchored in the registry: the verifier knows this is the list the issuer published.
        if self.policy.require_status_anchor {
            let did = Did::parse(issuer)
                .map_err(|_| format!("status list anchors exist only for did:alliance issuers; {issuer} cannot anchor {url}"))?;
            match st.evidence.status_anchor_digest(&did, url, parsed.digest) {
                Ok(a) => v.push(Check::pass(
                    CheckKind::StatusAnchor,
                    url,
                    format!("list hash anchored at height {}", a.anchored_height),
                )),
                Err(e) => {
                    v.push(Check::fail(CheckKind::StatusAnchor, url, e));
                }
            }
        }
        let listed = list
            .get("validFrom")
            .and_then(Value::as_str)
            .and_then(parse_time);
        let max_age = self.policy.max_status_age_s.saturating_mul(1000);
        match listed {
            Some(t) if t.saturating_add(max_age) >= now_ms => v.push(Check::pass(
                CheckKind::StatusFreshness,
                url,
                format!(
                    "status list issued {} s ago",
                    now_ms.saturating_sub(t) / 1000
                ),
            )),
            Some(t) => v.push(Check::fail(
                CheckKind::StatusFreshness,
                url,
                format!(
                    "status list is {} s old; the policy accepts at most {} s",
                    now_ms.saturating_sub(t) / 1000,
                    self.policy.max_status_age_s
                ),
            )),
            None => v.push(Check::fail(
                CheckKind::StatusFreshness,
                url,
                "status list has no validFrom date",
            )),
        }
        let cs = &list["credentialSubject"];
        if cs.get("statusPurpose").and_then(Value::as_str) != Some(purpose) {
            return Err(format!("the status list {url} is not a {purpose} list"));
        }
        let bits = parsed
            .bits
            .get_or_init(|| {
                let subject_json: ssi::status::bitstring_status_list::BitstringStatusList =
                    serde_json::from_value(cs.clone())
                        .map_err(|e| format!("status list {url}: {e}"))?;
                subject_json
                    .decode()
                    .map(Arc::new)
                    .map_err(|e| format!("status list {url} cannot be decoded: {e}"))
            })
            .clone()?;
        let one = ssi::status::bitstring_status_list::StatusSize::try_from(1u8)
            .map_err(|_| "status size".to_string())?;
        match bits.get(one, index) {
            Some(0) => v.push(Check::pass(
                CheckKind::Status,
                subject,
                format!("not set in the {purpose} list {url}"),
            )),
            Some(_) => v.push(Check::fail(
                CheckKind::Status,
                subject,
                match purpose {
                    "revocation" => format!("revoked (index {index} of {url})"),
                    "suspension" => format!("suspended (index {index} of {url})"),
                    p => format!("status {p} is set (index {index} of {url})"),
                },
            )),
            None => return Err(format!("index {index} is beyond the end of {url}")),
        }
        Ok(())
    }
}

fn types_of(doc: &Value) -> Vec<String> {
    match doc.get("type") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => vec![],
    }
}

/// An RFC 3339 / xsd:dateTime with a time zone, in milliseconds since the epoch.
pub fn parse_time(s: &str) -> Option<u64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .and_then(|t| u64::try_from(t.timestamp_millis()).ok())
}
