//! Accreditations a root authority grants and withdraws: an issuer's, for the credential types
//! it may issue (`issuer/<did>`), and a relying party's, for the claims of credential types it
//! may ask a holder for (`verifier/<did>`). Both are records of the registry's state, provable
//! like a DID document.

use serde::{Deserialize, Serialize};

use super::{
    BlockContext, MAX_CREDENTIAL_TYPES, MAX_NAME_LEN, StateAccess, expect_sequence, governance,
    issuer_key, live_did, read, relying_party_key, write,
};
use crate::crypto::PublicKey;
use crate::did::Did;
use crate::operation::{OpError, RejectKind, SignedOperation};

/// Most claims one relying-party scope may name.
pub const MAX_SCOPE_CLAIMS: usize = 64;
/// The claim name that stands for every claim of a credential (the whole credential).
pub const ALL_CLAIMS: &str = "*";

/// An issuer's accreditation (`issuer/<did>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Accreditation {
    pub issuer: Did,
    pub credential_types: Vec<String>,
    /// Name and key of the root authority that accredited.
    pub authority: String,
    pub authority_key: PublicKey,
    pub accredited_height: u64,
    pub valid_from_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until_ms: Option<u64>,
    /// Set when an authority withdrew the accreditation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal: Option<Withdrawal>,
    pub sequence: u64,
}

/// Who withdrew an accreditation, when, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Withdrawal {
    pub authority: String,
    pub authority_key: PublicKey,
    pub height: u64,
    pub time_ms: u64,
    pub reason: String,
}

impl Accreditation {
    pub fn withdrawn(&self) -> bool {
        self.withdrawal.is_some()
    }

    /// Is the issuer accredited for `credential_type` at `time_ms`?
    pub fn covers(&self, credential_type: &str, time_ms: u64) -> bool {
        !self.withdrawn()
            && time_ms >= self.valid_from_ms
            && self.valid_until_ms.is_none_or(|u| time_ms < u)
            && self.credential_types.iter().any(|t| t == credential_type)
    }
}

/// What a relying party may ask for of one credential type: named claims (a claim path with
/// its names joined by `.`, e.g. `address.locality`; a name covers every claim beneath it), or
/// [`ALL_CLAIMS`] for the whole credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RelyingPartyScope {
    /// The type as issuers are accredited for it: an SD-JWT VC's `vct`, or a Data Integrity
    /// credential's type.
    pub credential_type: String,
    pub claims: Vec<String>,
}

impl RelyingPartyScope {
    /// Does the scope cover the claim at `path` (names joined by `.`)?
    pub fn covers_claim(&self, path: &str) -> bool {
        self.claims.iter().any(|c| {
            c == ALL_CLAIMS
                || path == c
                || path
                    .strip_prefix(c.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    }

    /// Does the scope cover the whole credential?
    pub fn covers_all(&self) -> bool {
        self.claims.iter().any(|c| c == ALL_CLAIMS)
    }
}

/// A business's registration as a relying party (`verifier/<did>`): which claims of which
/// credential types a root authority allows it to ask holders for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RelyingPartyAccreditation {
    pub relying_party: Did,
    pub scopes: Vec<RelyingPartyScope>,
    /// Name and key of the root authority that accredited.
    pub authority: String,
    pub authority_key: PublicKey,
    pub accredited_height: u64,
    pub valid_from_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal: Option<Withdrawal>,
    pub sequence: u64,
}

impl RelyingPartyAccreditation {
    pub fn withdrawn(&self) -> bool {
        self.withdrawal.is_some()
    }

    /// Does the registration hold at `time_ms` (not withdrawn, not before or after its term)?
    pub fn in_force(&self, time_ms: u64) -> bool {
        !self.withdrawn()
            && time_ms >= self.valid_from_ms
            && self.valid_until_ms.is_none_or(|u| time_ms < u)
    }

    /// The scope for `credential_type`, if the registration names it.
    pub fn scope(&self, credential_type: &str) -> Option<&RelyingPartyScope> {
        self.scopes
            .iter()
            .find(|s| s.credential_type == credential_type)
    }
}

/// The root authority among the operation's signers, or `what` must be signed by one.
fn signing_authority(
    state: &impl StateAccess,
    signed: &SignedOperation,
    what: &str,
) -> Result<(String, PublicKey), OpError> {
    let gov = governance(state)?;
    signed
        .signatures
        .iter()
        .find_map(|s| gov.authority(&s.key))
        .map(|a| (a.name.clone(), a.public_key))
        .ok_or_else(|| {
            OpError::new(
                RejectKind::Unauthorized,
                format!("{what} must be signed by a root authority"),
            )
        })
}

fn type_names_ok(names: impl IntoIterator<Item = impl AsRef<str>>) -> Result<(), OpError> {
    if names
        .into_iter()
        .any(|t| t.as_ref().is_empty() || t.as_ref().len() > MAX_NAME_LEN)
    {
        return Err(OpError::new(
            RejectKind::Malformed,
            "credential type names must be 1-256 characters",
        ));
    }
    Ok(())
}

fn term_ok(valid_until_ms: Option<u64>, ctx: &BlockContext) -> Result<(), OpError> {
    if valid_until_ms.is_some_and(|u| u <= ctx.time_ms) {
        return Err(OpError::new(
            RejectKind::Malformed,
            "validUntilMs is in the past",
        ));
    }
    Ok(())
}

fn reason_ok(reason: &str) -> Result<(), OpError> {
    if reason.len() > MAX_NAME_LEN {
        return Err(OpError::new(
            RejectKind::Malformed,
            "reason is longer than 256 characters",
        ));
    }
    Ok(())
}

fn withdrawal(
    (authority, authority_key): (String, PublicKey),
    ctx: &BlockContext,
    reason: &str,
) -> Withdrawal {
    Withdrawal {
        authority,
        authority_key,
        height: ctx.height,
        time_ms: ctx.time_ms,
        reason: reason.to_owned(),
    }
}

/// `accreditIssuer`.
pub(super) fn accredit_issuer(
    state: &mut impl StateAccess,
    signed: &SignedOperation,
    ctx: &BlockContext,
    issuer: &Did,
    credential_types: &[String],
    valid_until_ms: Option<u64>,
) -> Result<(), OpError> {
    let (authority, authority_key) = signing_authority(state, signed, "accreditation")?;
    live_did(state, issuer)?;
    if credential_types.is_empty() || credential_types.len() > MAX_CREDENTIAL_TYPES {
        return Err(OpError::new(
            RejectKind::Malformed,
            format!("between 1 and {MAX_CREDENTIAL_TYPES} credential types"),
        ));
    }
    type_names_ok(credential_types)?;
    term_ok(valid_until_ms, ctx)?;
    let key = issuer_key(issuer);
    let seq = next_grant::<Accreditation>(state, signed, &key)?;
    let rec = Accreditation {
        issuer: issuer.clone(),
        credential_types: credential_types.to_vec(),
        authority,
        authority_key,
        accredited_height: ctx.height,
        valid_from_ms: ctx.time_ms,
        valid_until_ms,
        withdrawal: None,
        sequence: seq,
    };
    write(state, key, &rec);
    Ok(())
}

/// A grant a root authority can withdraw: an issuer's accreditation, a relying party's
/// registration.
trait Grant: serde::Serialize + for<'de> serde::Deserialize<'de> {
    fn sequence(&self) -> u64;
    fn withdrawal(&mut self) -> &mut Option<Withdrawal>;
    fn set_sequence(&mut self, sequence: u64);
}

impl Grant for Accreditation {
    fn sequence(&self) -> u64 {
        self.sequence
    }
    fn withdrawal(&mut self) -> &mut Option<Withdrawal> {
        &mut self.withdrawal
    }
    fn set_sequence(&mut self, sequence: u64) {
        self.sequence = sequence;
    }
}

impl Grant for RelyingPartyAccreditation {
    fn sequence(&self) -> u64 {
        self.sequence
    }
    fn withdrawal(&mut self) -> &mut Option<Withdrawal> {
        &mut self.withdrawal
    }
    fn set_sequence(&mut self, sequence: u64) {
        self.sequence = sequence;
    }
}

/// The sequence of a new grant at `key` (0 for the first, else the current one's + 1, also
/// after a withdrawal), checked against the operation's.
fn next_grant<G: Grant>(
    state: &impl StateAccess,
    signed: &SignedOperation,
    key: &str,
) -> Result<u64, OpError> {
    let prev: Option<G> = read(state, key)?;
    let seq = signed.operation.sequence;
    expect_sequence(prev.as_ref().map_or(0, |p| p.sequence() + 1), seq)?;
    Ok(seq)
}

/// Withdraws the grant of type `G` at `key` (`what`: how errors name it); the grant stays on
/// record beside the withdrawal.
fn withdraw<G: Grant>(
    state: &mut impl StateAccess,
    signed: &SignedOperation,
    ctx: &BlockContext,
    key: String,
    reason: &str,
    what: &str,
) -> Result<(), OpError> {
    let authority = signing_authority(state, signed, "withdrawal")?;
    reason_ok(reason)?;
    let mut rec: G = read(state, &key)?
        .ok_or_else(|| OpError::new(RejectKind::NotFound, format!("{what} does not exist")))?;
    let seq = signed.operation.sequence;
    expect_sequence(rec.sequence() + 1, seq)?;
    if rec.withdrawal().is_some() {
        return Err(OpError::new(
            RejectKind::NotFound,
            format!("{what} is already withdrawn"),
        ));
    }
    *rec.withdrawal() = Some(withdrawal(authority, ctx, reason));
    rec.set_sequence(seq);
    write(state, key, &rec);
    Ok(())
}

/// `withdrawAccreditation`.
pub(super) fn withdraw_issuer(
    state: &mut impl StateAccess,
    signed: &SignedOperation,
    ctx: &BlockContext,
    issuer: &Did,
    reason: &str,
) -> Result<(), OpError> {
    let what = format!("the accreditation of {issuer}");
    withdraw::<Accreditation>(state, signed, ctx, issuer_key(issuer), reason, &what)
}

/// `accreditRelyingParty`: replaces any earlier registration of the same business.
pub(super) fn accredit_relying_party(
    state: &mut impl StateAccess,
    signed: &SignedOperation,
    ctx: &BlockContext,
    relying_party: &Did,
    scopes: &[RelyingPartyScope],
    valid_until_ms: Option<u64>,
) -> Result<(), OpError> {
    let (authority, authority_key) =
        signing_authority(state, signed, "a relying party's accreditation")?;
    live_did(state, relying_party)?;
    if scopes.is_empty() || scopes.len() > MAX_CREDENTIAL_TYPES {
        return Err(OpError::new(
            RejectKind::Malformed,
            format!("between 1 and {MAX_CREDENTIAL_TYPES} scopes"),
        ));
    }
    type_names_ok(scopes.iter().map(|s| &s.credential_type))?;
    for (i, s) in scopes.iter().enumerate() {
        if scopes[..i]
            .iter()
            .any(|o| o.credential_type == s.credential_type)
        {
            return Err(OpError::new(
                RejectKind::Malformed,
                format!("{} has two scopes", s.credential_type),
            ));
        }
        if s.claims.is_empty() || s.claims.len() > MAX_SCOPE_CLAIMS {
            return Err(OpError::new(
                RejectKind::Malformed,
                format!(
                    "the scope of {} must name between 1 and {MAX_SCOPE_CLAIMS} claims (\"*\" for all)",
                    s.credential_type
                ),
            ));
        }
        let bad = |c: &String| {
            c.is_empty()
                || c.len() > MAX_NAME_LEN
                || (c != ALL_CLAIMS && c.split('.').any(|part| part.is_empty() || part == "*"))
        };
        if let Some(c) = s.claims.iter().find(|c| bad(c)) {
            return Err(OpError::new(
                RejectKind::Malformed,
                format!(
                    "claim {c:?} of {}: claim names are 1-256 characters, names joined by '.', or \"*\" alone",
                    s.credential_type
                ),
            ));
        }
    }
    term_ok(valid_until_ms, ctx)?;
    let key = relying_party_key(relying_party);
    let seq = next_grant::<RelyingPartyAccreditation>(state, signed, &key)?;
    let rec = RelyingPartyAccreditation {
        relying_party: relying_party.clone(),
        scopes: scopes.to_vec(),
        authority,
        authority_key,
        accredited_height: ctx.height,
        valid_from_ms: ctx.time_ms,
        valid_until_ms,
        withdrawal: None,
        sequence: seq,
    };
    write(state, key, &rec);
    Ok(())
}

/// `withdrawRelyingParty`.
pub(super) fn withdraw_relying_party(
    state: &mut impl StateAccess,
    signed: &SignedOperation,
    ctx: &BlockContext,
    relying_party: &Did,
    reason: &str,
) -> Result<(), OpError> {
    let what = format!("the relying-party registration of {relying_party}");
    let key = relying_party_key(relying_party);
    withdraw::<RelyingPartyAccreditation>(state, signed, ctx, key, reason, &what)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(claims: &[&str]) -> RelyingPartyScope {
        RelyingPartyScope {
            credential_type: "DriverLicense".into(),
            claims: claims.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn a_scope_covers_its_claims_and_what_lies_beneath_them_only() {
        let s = scope(&["birthdate", "address"]);
        assert!(s.covers_claim("birthdate"));
        assert!(s.covers_claim("address.locality"));
        assert!(!s.covers_claim("addressbook"));
        assert!(!s.covers_claim("birth"));
        assert!(!s.covers_claim("family_name"));
        assert!(!s.covers_all());
        let all = scope(&["*"]);
        assert!(all.covers_all() && all.covers_claim("anything.at.all"));
    }
}
