//! The checks of one Data Integrity proof (`eddsa-rdfc-2022`): its purpose, the resolution
//! of its key for the relationship it claims, its dates and its signature.

use serde_json::Value;

use super::cache::MAX_CACHED_LISTS;
use super::{Verifier, parse_time};
use crate::dids::{self, Relationship};
use crate::rdfc::Rdfc2022;
use crate::registry::RegistryEvidence;
use crate::verdict::{Check, CheckKind, Verdict};

impl Verifier {
    /// Purpose, key resolution for `relationship`, signature and proof dates. Returns the
    /// DID that controls the signing key when it could be resolved.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn proof_checks(
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
                v.push(Check::fail(kind, subject, e.to_string()));
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
}
