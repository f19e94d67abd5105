//! The verifier: a presentation bundle (or a bare presentation or credential) in, a
//! [`Verdict`] out, with no network call. Every check is made and reported, not only the
//! first that fails.
//!
//! Data Integrity (`eddsa-rdfc-2022`) presentations and credentials are checked here: the
//! proof's signature over the canonical document (ssi's RDF canonicalization, cached
//! contexts), its purpose, the binding of the signing key to the issuer or holder, the
//! challenge and domain, validity dates, the credential type, the issuer's accreditation and
//! the credential's status, from the registry proofs and status lists stapled to the bundle.
//!
//! Here: the [`Verifier`], its entry points and the reading of the stapled material. The
//! checks sit beside it, one concern each: `credential` (presentations and credentials:
//! format, type, validity, holder binding, accreditation), `proof` (a Data Integrity
//! proof: purpose, key, signature, dates), `status` (Bitstring status lists),
//! `status_token` (an SD-JWT VC's Token Status List) and `cache` (what repeats across
//! presentations, read once).

mod cache;
mod credential;
mod proof;
mod status;
mod status_token;

use std::sync::Arc;

use did_method::{RegistryProof, TrustAnchor};
use serde::Deserialize as _;
use serde_json::Value;

use crate::bundle::{Bundle, StatusLists};
use crate::contexts::PinnedContexts;
use crate::input::{self, Limits};
use crate::policy::Policy;
use crate::rdfc::Rdfc2022;
use crate::registry::RegistryEvidence;
use crate::verdict::{Check, CheckKind, Verdict};

use cache::Caches;

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

    /// What registry evidence is checked against (the genesis or a checkpoint), if any.
    pub fn anchor(&self) -> Option<&TrustAnchor> {
        self.anchor.as_ref()
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
