//! The query's shape (§6.1–§6.3), read from untrusted bytes within [`Limits`] and checked
//! against every rule the specification states.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::QueryError;
use crate::path::ClaimsPath;

/// SD-JWT VC (Appendix B.3): `meta.vct_values` required.
pub const FORMAT_SD_JWT_VC: &str = "dc+sd-jwt";
/// W3C VC secured with Data Integrity (Appendix B.1.3.2): `meta.type_values` required.
pub const FORMAT_LDP_VC: &str = "ldp_vc";
/// The other W3C formats, whose `meta` is `type_values` too.
const W3C_FORMATS: &[&str] = &[FORMAT_LDP_VC, "jwt_vc_json"];

/// A DCQL query (§6).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Query {
    pub credentials: Vec<CredentialQuery>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_sets: Option<Vec<CredentialSetQuery>>,
}

/// A request for one (or, with `multiple`, several) matching credentials (§6.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CredentialQuery {
    pub id: String,
    pub format: String,
    #[serde(default)]
    pub multiple: bool,
    /// Per format: `vct_values` (SD-JWT VC), `type_values` (W3C VCs).
    pub meta: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_authorities: Option<Vec<Value>>,
    #[serde(default = "yes")]
    pub require_cryptographic_holder_binding: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Vec<ClaimsQuery>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_sets: Option<Vec<Vec<String>>>,
}

fn yes() -> bool {
    true
}

/// Combinations of credential queries that answer one use (§6.2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CredentialSetQuery {
    pub options: Vec<Vec<String>>,
    #[serde(default = "yes")]
    pub required: bool,
}

/// One claim asked for (§6.3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimsQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub path: ClaimsPath,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Value>>,
}

/// How much of a query is read and worked on. The defaults are far above any real request
/// (a few credentials of a few claims) and keep a hostile one cheap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_credentials: usize,
    pub max_claims: usize,
    pub max_claim_sets: usize,
    pub max_credential_sets: usize,
    pub max_options: usize,
    pub max_path: usize,
    pub max_values: usize,
    pub max_string: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024,
            max_credentials: 32,
            max_claims: 64,
            max_claim_sets: 32,
            max_credential_sets: 16,
            max_options: 16,
            max_path: 16,
            max_values: 32,
            max_string: 512,
        }
    }
}

fn too_large(what: String, max: usize) -> QueryError {
    QueryError::TooLarge { what, max }
}

fn at_most(n: usize, max: usize, what: impl FnOnce() -> String) -> Result<(), QueryError> {
    if n > max {
        return Err(too_large(what(), max));
    }
    Ok(())
}

/// §6.1 and §6.3: non-empty, alphanumeric, `_` or `-`.
fn check_id(at: &str, id: &str, limits: &Limits) -> Result<(), QueryError> {
    at_most(id.len(), limits.max_string, || {
        format!("{at} is {} bytes", id.len())
    })?;
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(QueryError::invalid(
            at,
            "an identifier is a non-empty string of letters, digits, _ and -",
        ));
    }
    Ok(())
}

fn non_empty_strings(at: &str, v: Option<&Value>, limits: &Limits) -> Result<(), QueryError> {
    let items = v
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| QueryError::invalid(at, "must be a non-empty array of strings"))?;
    at_most(items.len(), limits.max_values, || {
        format!("{at} has {} entries", items.len())
    })?;
    for s in items {
        let s = s
            .as_str()
            .ok_or_else(|| QueryError::invalid(at, "must be a non-empty array of strings"))?;
        at_most(s.len(), limits.max_string, || format!("a string in {at}"))?;
    }
    Ok(())
}

impl Query {
    /// Reads a `dcql_query` (the JSON text) with the default [`Limits`].
    pub fn parse(bytes: &[u8]) -> Result<Self, QueryError> {
        Self::parse_with(bytes, &Limits::default())
    }

    pub fn parse_with(bytes: &[u8], limits: &Limits) -> Result<Self, QueryError> {
        at_most(bytes.len(), limits.max_bytes, || {
            format!("{} bytes", bytes.len())
        })?;
        let q: Self =
            serde_json::from_slice(bytes).map_err(|e| QueryError::Syntax(e.to_string()))?;
        q.validate(limits)?;
        Ok(q)
    }

    /// Reads a query already parsed as JSON (e.g. a member of a request object).
    pub fn from_value(v: Value, limits: &Limits) -> Result<Self, QueryError> {
        let q: Self = serde_json::from_value(v).map_err(|e| QueryError::Syntax(e.to_string()))?;
        q.validate(limits)?;
        Ok(q)
    }

    /// Every rule of §6 the specification states, and the limits.
    pub fn validate(&self, limits: &Limits) -> Result<(), QueryError> {
        if self.credentials.is_empty() {
            return Err(QueryError::invalid("credentials", "must not be empty"));
        }
        at_most(self.credentials.len(), limits.max_credentials, || {
            format!("{} credential queries", self.credentials.len())
        })?;
        let mut ids = BTreeSet::new();
        for (i, c) in self.credentials.iter().enumerate() {
            let at = format!("credentials[{i}]");
            c.validate(&at, limits)?;
            if !ids.insert(c.id.as_str()) {
                return Err(QueryError::invalid(
                    format!("{at}.id"),
                    format!("\"{}\" is used by two credential queries", c.id),
                ));
            }
        }
        if let Some(sets) = &self.credential_sets {
            if sets.is_empty() {
                return Err(QueryError::invalid("credential_sets", "must not be empty"));
            }
            at_most(sets.len(), limits.max_credential_sets, || {
                format!("{} credential sets", sets.len())
            })?;
            for (s, set) in sets.iter().enumerate() {
                let at = format!("credential_sets[{s}].options");
                if set.options.is_empty() {
                    return Err(QueryError::invalid(at, "must not be empty"));
                }
                at_most(set.options.len(), limits.max_options, || {
                    format!("{at} has {} options", set.options.len())
                })?;
                for (o, option) in set.options.iter().enumerate() {
                    let at = format!("{at}[{o}]");
                    if option.is_empty() {
                        return Err(QueryError::invalid(at, "must not be empty"));
                    }
                    at_most(option.len(), limits.max_credentials, || {
                        format!("{at} has {} entries", option.len())
                    })?;
                    if let Some(unknown) = option.iter().find(|id| !ids.contains(id.as_str())) {
                        return Err(QueryError::invalid(
                            at,
                            format!("\"{unknown}\" is not the id of a credential query"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The credential query with this id.
    pub fn credential(&self, id: &str) -> Option<&CredentialQuery> {
        self.credentials.iter().find(|c| c.id == id)
    }
}

impl CredentialQuery {
    fn validate(&self, at: &str, limits: &Limits) -> Result<(), QueryError> {
        check_id(&format!("{at}.id"), &self.id, limits)?;
        at_most(self.format.len(), limits.max_string, || {
            format!("{at}.format")
        })?;
        if self.format == FORMAT_SD_JWT_VC {
            non_empty_strings(
                &format!("{at}.meta.vct_values"),
                self.meta.get("vct_values"),
                limits,
            )?;
        } else if W3C_FORMATS.contains(&self.format.as_str()) {
            let at = format!("{at}.meta.type_values");
            let alternatives = self
                .meta
                .get("type_values")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| {
                    QueryError::invalid(&at, "must be a non-empty array of arrays of types")
                })?;
            at_most(alternatives.len(), limits.max_values, || {
                format!("{at} has {} alternatives", alternatives.len())
            })?;
            for (k, types) in alternatives.iter().enumerate() {
                non_empty_strings(&format!("{at}[{k}]"), Some(types), limits)?;
            }
        }
        if let Some(ta) = &self.trusted_authorities {
            if ta.is_empty() {
                return Err(QueryError::invalid(
                    format!("{at}.trusted_authorities"),
                    "must not be empty",
                ));
            }
            at_most(ta.len(), limits.max_values, || {
                format!("{at}.trusted_authorities has {} entries", ta.len())
            })?;
            for (k, t) in ta.iter().enumerate() {
                let at = format!("{at}.trusted_authorities[{k}]");
                if !t["type"].is_string() {
                    return Err(QueryError::invalid(&at, "needs a type"));
                }
                non_empty_strings(&format!("{at}.values"), t.get("values"), limits)?;
            }
        }
        let mut claim_ids = BTreeSet::new();
        if let Some(claims) = &self.claims {
            if claims.is_empty() {
                return Err(QueryError::invalid(
                    format!("{at}.claims"),
                    "must not be empty",
                ));
            }
            at_most(claims.len(), limits.max_claims, || {
                format!("{at}.claims has {} entries", claims.len())
            })?;
            for (k, c) in claims.iter().enumerate() {
                let at = format!("{at}.claims[{k}]");
                c.validate(&at, limits)?;
                match &c.id {
                    Some(id) if !claim_ids.insert(id.as_str()) => {
                        return Err(QueryError::invalid(
                            format!("{at}.id"),
                            format!("\"{id}\" is used by two claims queries"),
                        ));
                    }
                    Some(_) => {}
                    None if self.claim_sets.is_some() => {
                        return Err(QueryError::invalid(
                            format!("{at}.id"),
                            "is required when claim_sets is present",
                        ));
                    }
                    None => {}
                }
            }
        }
        if let Some(sets) = &self.claim_sets {
            let at = format!("{at}.claim_sets");
            if self.claims.is_none() {
                return Err(QueryError::invalid(
                    at,
                    "must not be present without claims",
                ));
            }
            if sets.is_empty() {
                return Err(QueryError::invalid(at, "must not be empty"));
            }
            at_most(sets.len(), limits.max_claim_sets, || {
                format!("{at} has {} sets", sets.len())
            })?;
            for (k, set) in sets.iter().enumerate() {
                let at = format!("{at}[{k}]");
                if set.is_empty() {
                    return Err(QueryError::invalid(at, "must not be empty"));
                }
                at_most(set.len(), limits.max_claims, || {
                    format!("{at} has {} entries", set.len())
                })?;
                if let Some(unknown) = set.iter().find(|id| !claim_ids.contains(id.as_str())) {
                    return Err(QueryError::invalid(
                        at,
                        format!("\"{unknown}\" is not the id of one of its claims"),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl ClaimsQuery {
    fn validate(&self, at: &str, limits: &Limits) -> Result<(), QueryError> {
        if let Some(id) = &self.id {
            check_id(&format!("{at}.id"), id, limits)?;
        }
        let path = &self.path.0;
        if path.is_empty() {
            return Err(QueryError::invalid(
                format!("{at}.path"),
                "must not be empty",
            ));
        }
        at_most(path.len(), limits.max_path, || {
            format!("{at}.path has {} steps", path.len())
        })?;
        for e in path {
            if let crate::path::PathElement::Key(k) = e {
                at_most(k.len(), limits.max_string, || format!("a key in {at}.path"))?;
            }
        }
        if let Some(values) = &self.values {
            let at = format!("{at}.values");
            if values.is_empty() {
                return Err(QueryError::invalid(at, "must not be empty"));
            }
            at_most(values.len(), limits.max_values, || {
                format!("{at} has {} entries", values.len())
            })?;
            for v in values {
                let ok = match v {
                    Value::String(s) => s.len() <= limits.max_string,
                    Value::Bool(_) => true,
                    Value::Number(n) => n.is_i64() || n.is_u64(),
                    _ => false,
                };
                if !ok {
                    return Err(QueryError::invalid(
                        at,
                        "holds only strings, integers and booleans",
                    ));
                }
            }
        }
        Ok(())
    }
}
