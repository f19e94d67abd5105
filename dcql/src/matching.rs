//! Which credentials answer a query (§6.4): for the wallet, among those it holds; for the
//! verifier, among those a response presents.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::error::Unsatisfied;
use crate::path::ClaimsPath;
use crate::query::{ClaimsQuery, CredentialQuery, FORMAT_SD_JWT_VC, Query};

/// A credential as the matcher sees it. For the wallet, a credential it holds with all its
/// claims; for the verifier, a credential as presented (an SD-JWT with only the disclosed
/// claims).
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    /// Its format identifier: `dc+sd-jwt`, `ldp_vc`, …
    pub format: &'a str,
    /// An SD-JWT VC's `vct`.
    pub vct: Option<&'a str>,
    /// A W3C credential's fully expanded types (JSON-LD applied by the caller).
    pub types: &'a [String],
    /// The claims, as JSON: an SD-JWT VC's payload with its disclosures applied; a W3C
    /// credential's whole document (paths start at its root, e.g. `credentialSubject.name`).
    pub claims: &'a Value,
    /// Whether presenting it proves the holder's key (cryptographic holder binding).
    pub holder_binding: bool,
}

/// What a matching credential discloses for its query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disclosure {
    /// These claims (for a format without selective disclosure, the whole credential is
    /// sent; these are the claims the verifier asked for).
    Claims(Vec<ClaimsPath>),
    /// No claims were asked: only what the format always shows (an SD-JWT with no selectively
    /// disclosable claim; a W3C credential whole).
    Mandatory,
}

impl Disclosure {
    /// The top-level claims to disclose (what an SD-JWT discloses one by one).
    pub fn top_level(&self) -> Vec<String> {
        match self {
            Self::Claims(paths) => {
                let mut out: Vec<String> = Vec::new();
                for p in paths {
                    if let Some(t) = p.top()
                        && !out.iter().any(|o| o == t)
                    {
                        out.push(t.to_owned());
                    }
                }
                out
            }
            Self::Mandatory => Vec::new(),
        }
    }
}

/// One held credential that answers a credential query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// Its index in the candidates given.
    pub candidate: usize,
    pub disclose: Disclosure,
}

/// The wallet's view of a query against what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// For each credential query, in the query's order: its id and the matching credentials.
    pub matches: Vec<(String, Vec<Match>)>,
    /// Why the query cannot be answered; empty when it can.
    pub unmet: Vec<Unsatisfied>,
    /// The credential query ids an answer needs (see [`Query::select`]): a wallet sends these
    /// and no others.
    pub needed: Vec<String>,
}

impl Selection {
    pub fn satisfiable(&self) -> bool {
        self.unmet.is_empty()
    }

    /// Is the credential query `id` one an answer needs?
    pub fn is_needed(&self, id: &str) -> bool {
        self.needed.iter().any(|n| n == id)
    }

    /// The matches for one credential query.
    pub fn for_query(&self, id: &str) -> &[Match] {
        self.matches
            .iter()
            .find(|(i, _)| i == id)
            .map_or(&[], |(_, m)| m.as_slice())
    }
}

impl ClaimsQuery {
    /// Whether the candidate has this claim (with an accepted value, if `values` is given).
    fn answered_by(&self, claims: &Value) -> Result<(), String> {
        let selected = self
            .path
            .select(claims)
            .map_err(|_| format!("it has no {}", self.path))?;
        match &self.values {
            Some(values) if !selected.iter().any(|v| values.contains(v)) => Err(format!(
                "its {} is not one of the values asked for",
                self.path
            )),
            _ => Ok(()),
        }
    }
}

impl CredentialQuery {
    /// Whether `c` answers this query, and what it discloses; or why not.
    pub fn matches(&self, c: &Candidate<'_>) -> Result<Disclosure, String> {
        if c.format != self.format {
            return Err(format!("it is {}, not {}", c.format, self.format));
        }
        if self.format == FORMAT_SD_JWT_VC {
            let wanted = self.meta.get("vct_values").and_then(Value::as_array);
            let ok = c
                .vct
                .is_some_and(|v| wanted.is_some_and(|w| w.iter().any(|x| x.as_str() == Some(v))));
            if !ok {
                return Err(format!(
                    "its type {} is not one asked for",
                    c.vct.unwrap_or("(none)")
                ));
            }
        } else if let Some(alternatives) = self.meta.get("type_values").and_then(Value::as_array) {
            let ok = alternatives.iter().any(|alt| {
                alt.as_array().is_some_and(|types| {
                    types
                        .iter()
                        .all(|t| t.as_str().is_some_and(|t| c.types.iter().any(|h| h == t)))
                })
            });
            if !ok {
                return Err("its types are not the ones asked for".into());
            }
        }
        if self.require_cryptographic_holder_binding && !c.holder_binding {
            return Err("it is not bound to its holder's key".into());
        }
        let Some(claims) = &self.claims else {
            return Ok(Disclosure::Mandatory);
        };
        match &self.claim_sets {
            None => {
                for q in claims {
                    q.answered_by(c.claims)?;
                }
                Ok(Disclosure::Claims(
                    claims.iter().map(|q| q.path.clone()).collect(),
                ))
            }
            Some(sets) => {
                let by_id = |id: &str| claims.iter().find(|q| q.id.as_deref() == Some(id));
                for set in sets {
                    let answered = set
                        .iter()
                        .all(|id| by_id(id).is_some_and(|q| q.answered_by(c.claims).is_ok()));
                    if answered {
                        return Ok(Disclosure::Claims(
                            set.iter()
                                .filter_map(|id| by_id(id).map(|q| q.path.clone()))
                                .collect(),
                        ));
                    }
                }
                Err("none of the combinations of claims asked for".into())
            }
        }
    }
}

impl Query {
    /// The wallet's question: which of `held` answer each credential query, and whether the
    /// query as a whole can be answered (§6.4.2).
    pub fn select(&self, held: &[Candidate<'_>]) -> Selection {
        let matches: Vec<(String, Vec<Match>)> = self
            .credentials
            .iter()
            .map(|q| {
                let m = held
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| {
                        q.matches(c).ok().map(|disclose| Match {
                            candidate: i,
                            disclose,
                        })
                    })
                    .collect();
                (q.id.clone(), m)
            })
            .collect();
        let answered: BTreeSet<&str> = matches
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(id, _)| id.as_str())
            .collect();
        let unmet = self.unmet(&answered);
        let needed = self.needed(&answered);
        Selection {
            matches,
            unmet,
            needed,
        }
    }

    /// The credential queries an answer needs, fewest disclosed first (§6.4.2): without
    /// `credential_sets`, every one; with them, for each required set the first option all of
    /// whose queries are answered (optional sets are left out: the holder shares no more than
    /// the query requires).
    fn needed(&self, answered: &BTreeSet<&str>) -> Vec<String> {
        let Some(sets) = &self.credential_sets else {
            return self.credentials.iter().map(|q| q.id.clone()).collect();
        };
        let mut out: Vec<String> = Vec::new();
        for s in sets.iter().filter(|s| s.required) {
            if let Some(option) = s
                .options
                .iter()
                .find(|o| o.iter().all(|id| answered.contains(id.as_str())))
            {
                for id in option {
                    if !out.contains(id) {
                        out.push(id.clone());
                    }
                }
            }
        }
        out
    }

    /// The verifier's question: do the credentials presented under each query id answer the
    /// query? `presented` pairs a credential query id with the credentials a response holds
    /// for it (as they were presented: only the disclosed claims).
    pub fn check_response(
        &self,
        presented: &[(&str, Vec<Candidate<'_>>)],
    ) -> Result<(), Unsatisfied> {
        let mut answered = BTreeSet::new();
        for (id, creds) in presented {
            let q = self
                .credential(id)
                .ok_or_else(|| Unsatisfied::UnknownId((*id).to_owned()))?;
            if creds.len() > 1 && !q.multiple {
                return Err(Unsatisfied::NotMultiple {
                    id: q.id.clone(),
                    count: creds.len(),
                });
            }
            for c in creds {
                q.matches(c).map_err(|why| Unsatisfied::NoMatch {
                    id: q.id.clone(),
                    why,
                })?;
            }
            if !creds.is_empty() {
                answered.insert(q.id.as_str());
            }
        }
        match self.unmet(&answered).into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// What is missing when the queries in `answered` have credentials (§6.4.2).
    fn unmet(&self, answered: &BTreeSet<&str>) -> Vec<Unsatisfied> {
        match &self.credential_sets {
            None => self
                .credentials
                .iter()
                .filter(|q| !answered.contains(q.id.as_str()))
                .map(|q| Unsatisfied::Missing(q.id.clone()))
                .collect(),
            Some(sets) => sets
                .iter()
                .enumerate()
                .filter(|(_, s)| s.required)
                .filter(|(_, s)| {
                    !s.options
                        .iter()
                        .any(|o| o.iter().all(|id| answered.contains(id.as_str())))
                })
                .map(|(index, s)| Unsatisfied::SetUnanswered {
                    index,
                    options: s
                        .options
                        .iter()
                        .map(|o| o.join(" + "))
                        .collect::<Vec<_>>()
                        .join(" | "),
                })
                .collect(),
        }
    }
}
