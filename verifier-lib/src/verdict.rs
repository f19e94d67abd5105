//! Verdicts: every check made, with its outcome and reason.

use serde::Serialize;

/// What a check is about: small and `Copy`, for matching and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// A stapled registry proof verifies against the trust anchor.
    RegistryProof,
    /// A stapled registry proof is recent enough for the policy.
    ProofFreshness,
    /// The issuer's DID document is proven and not deactivated.
    IssuerDocument,
    /// The issuer is accredited for the credential's type.
    Accreditation,
    /// The status list matches the hash anchored in the registry.
    StatusAnchor,
    /// The input is within size and depth limits, well-formed, with no duplicate keys.
    Input,
    /// The document has the shape its format requires (types, fields, contexts).
    Format,
    /// The proof's signature verifies over the canonical document.
    Signature,
    /// The signing key is the issuer's, listed for the proof's purpose.
    IssuerBinding,
    /// The presentation is signed by the credential's subject (or its `cnf` key).
    HolderBinding,
    /// The proof's purpose is the one the document calls for.
    ProofPurpose,
    /// Challenge, domain, nonce and audience are the expected ones.
    Challenge,
    /// Validity dates (`validFrom`, `validUntil`, proof `created` / `expires`, `iat`, `exp`).
    Validity,
    /// The credential's type is one the policy accepts.
    CredentialType,
    /// The credential is not revoked or suspended.
    Status,
    /// The status list is recent enough for the policy.
    StatusFreshness,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
}

/// One check: what, about what, the outcome, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    pub kind: CheckKind,
    /// What was checked (a state key, a DID, a list id).
    pub subject: String,
    pub outcome: Outcome,
    /// Why it passed or failed, in words a person can act on.
    pub reason: String,
}

impl Check {
    pub fn pass(kind: CheckKind, subject: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            kind,
            subject: subject.into(),
            outcome: Outcome::Pass,
            reason: reason.into(),
        }
    }
    pub fn fail(kind: CheckKind, subject: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            kind,
            subject: subject.into(),
            outcome: Outcome::Fail,
            reason: reason.into(),
        }
    }
}

/// The result of a verification: every check made.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub checks: Vec<Check>,
}

impl Verdict {
    pub fn push(&mut self, check: Check) {
        self.checks.push(check);
    }

    /// Accepted when at least one check was made and none failed.
    pub fn accepted(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.outcome == Outcome::Pass)
    }

    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.outcome == Outcome::Fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_verdict_is_not_an_acceptance() {
        let mut v = Verdict::default();
        assert!(!v.accepted());
        v.push(Check::pass(CheckKind::RegistryProof, "k", "ok"));
        assert!(v.accepted());
        v.push(Check::fail(
            CheckKind::Accreditation,
            "did",
            "not accredited",
        ));
        assert!(!v.accepted());
        assert_eq!(v.failures().count(), 1);
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["checks"][1]["outcome"], "fail");
        assert_eq!(json["checks"][1]["kind"], "accreditation");
    }
}
