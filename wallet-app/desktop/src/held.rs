//! What the wallet keeps of a credential (the body of its vault item), and the views the
//! interface shows of it: a card and its details.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const FORMAT_DI: &str = "ldp_vc";
pub const FORMAT_SD_JWT: &str = "dc+sd-jwt";
/// A credential whose validity ends within this many days shows as "expiring".
const EXPIRING_DAYS: u64 = 30;

/// What the registry proved about an issuer, when the wallet last asked.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuerProof {
    pub registered: bool,
    pub height: Option<u64>,
    pub accredited_for: Vec<String>,
    pub accredited_by: Option<String>,
    pub url_bound: bool,
}

/// One copy of a credential, bound to its own holder key (a batch of SD-JWT VCs has several:
/// each presentation uses an unused one, so businesses cannot link them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Copy {
    /// The holder key's entry in the keyring.
    pub key: String,
    /// The credential: a JSON object (Data Integrity) or a compact SD-JWT string.
    pub credential: Value,
    pub used: bool,
}

/// The last status check: the state, when, and the registry proofs and status lists fetched
/// for it (stapled to presentations while fresh, so presenting needs no network).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusSnapshot {
    /// `valid`, `suspended`, `revoked` or `unknown` (never checked, or the check failed).
    pub state: String,
    pub checked_ms: Option<u64>,
    /// Why the last check did not pass, in the verifier's words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// `registryProofs` (raw JSON texts) and `statusLists`, as a bundle carries them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stapled: Option<Value>,
}

/// The body of a credential's vault item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Held {
    pub format: String,
    pub configuration_id: String,
    pub title: String,
    pub credential_type: String,
    pub issuer_url: String,
    pub issuer_name: String,
    pub issuer_did: String,
    pub issuer_proof: IssuerProof,
    /// Claim path → label, from the issuer's metadata.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub copies: Vec<Copy>,
    pub received_ms: u64,
    #[serde(default)]
    pub status: StatusSnapshot,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Claim {
    pub name: String,
    pub label: String,
    pub value: String,
    pub selective: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Card {
    pub id: String,
    pub title: String,
    pub format: String,
    pub issuer_name: String,
    pub issuer_did: String,
    pub main_claims: Vec<Claim>,
    pub valid_from_ms: Option<u64>,
    pub valid_until_ms: Option<u64>,
    pub status: String,
    pub status_checked_ms: Option<u64>,
    pub copies_left: Option<usize>,
    pub received_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Details {
    #[serde(flatten)]
    pub card: Card,
    pub claims: Vec<Claim>,
    pub issuer_proof: IssuerProof,
    pub copies_total: Option<usize>,
    pub status_problems: Vec<String>,
}

/// Claims of a credential that are about the credential, not its holder.
const REGISTERED: &[&str] = &[
    "iss", "iat", "nbf", "exp", "vct", "cnf", "status", "sub", "_sd", "_sd_alg", "id",
];

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Flattens nested objects into `a.b` paths (arrays are shown as JSON).
fn flatten(prefix: &str, obj: &Map<String, Value>, out: &mut Vec<(String, Value)>) {
    for (k, v) in obj {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Object(o) => flatten(&path, o, out),
            other => out.push((path, other.clone())),
        }
    }
}

/// The top-level claim names an SD-JWT lets its holder leave out (its disclosures' names).
pub fn selective_names(sd_jwt: &str) -> Vec<String> {
    sd_jwt
        .split('~')
        .skip(1)
        .filter(|d| !d.is_empty() && !d.contains('.'))
        .filter_map(|d| URL_SAFE_NO_PAD.decode(d).ok())
        .filter_map(|b| serde_json::from_slice::<Value>(&b).ok())
        .filter_map(|a| match a.as_array().map(Vec::as_slice) {
            Some([_, Value::String(name), _]) => Some(name.clone()),
            _ => None,
        })
        .collect()
}

fn rfc3339_ms(v: &Value) -> Option<u64> {
    v.as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .and_then(|t| u64::try_from(t.timestamp_millis()).ok())
}

/// A claim's path as words, for an issuer whose metadata gives it no label:
/// `licenseClass` → "License class", `address.street_address` → "Address › street address".
pub(crate) fn readable(path: &str) -> String {
    let words: Vec<String> = path
        .split('.')
        .map(|segment| {
            let mut out = String::new();
            let mut prev_lower = false;
            for ch in segment.chars() {
                if ch == '_' || ch == '-' {
                    out.push(' ');
                    prev_lower = false;
                } else if ch.is_uppercase() && prev_lower {
                    out.push(' ');
                    out.extend(ch.to_lowercase());
                    prev_lower = false;
                } else {
                    out.push(ch);
                    prev_lower = ch.is_lowercase() || ch.is_ascii_digit();
                }
            }
            out
        })
        .collect();
    let joined = words.join(" › ");
    let mut chars = joined.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => joined,
    }
}

impl Held {
    /// The claims about the holder, with what the card needs: validity dates.
    pub fn claims(&self) -> (Vec<Claim>, Option<u64>, Option<u64>) {
        let Some(first) = self.copies.first() else {
            return (vec![], None, None);
        };
        let mut flat = vec![];
        let (from, until, selective) = if self.format == FORMAT_SD_JWT {
            let text = first.credential.as_str().unwrap_or_default();
            let claims = verifier_lib::sdjwt::disclosed_claims(text).unwrap_or_default();
            let sel = selective_names(text);
            let from = claims
                .get("nbf")
                .or_else(|| claims.get("iat"))
                .and_then(Value::as_u64)
                .map(|s| s * 1000);
            let until = claims.get("exp").and_then(Value::as_u64).map(|s| s * 1000);
            let mut body = claims.clone();
            body.retain(|k, _| !REGISTERED.contains(&k.as_str()));
            flatten("", &body, &mut flat);
            (from, until, sel)
        } else {
            let c = &first.credential;
            if let Some(s) = c["credentialSubject"].as_object() {
                let mut s = s.clone();
                s.remove("id");
                flatten("", &s, &mut flat);
            }
            (
                rfc3339_ms(&c["validFrom"]),
                rfc3339_ms(&c["validUntil"]),
                vec![],
            )
        };
        let claims = flat
            .into_iter()
            .map(|(name, v)| {
                let top = name.split('.').next().unwrap_or_default();
                Claim {
                    // An issuer whose metadata labels a claim by its own name said nothing.
                    label: self
                        .labels
                        .get(&name)
                        .filter(|l| **l != name)
                        .cloned()
                        .unwrap_or_else(|| readable(&name)),
                    selective: selective.iter().any(|s| s == top),
                    value: text(&v),
                    name,
                }
            })
            .collect();
        (claims, from, until)
    }

    /// The state a card shows at `now_ms`: the dates first, then the last status check.
    pub fn state(&self, now_ms: u64, until: Option<u64>) -> String {
        if until.is_some_and(|u| u <= now_ms) {
            return "expired".into();
        }
        match self.status.state.as_str() {
            "revoked" | "suspended" => self.status.state.clone(),
            "valid" => match until {
                Some(u) if u - now_ms < EXPIRING_DAYS * 24 * 3600 * 1000 => "expiring".into(),
                _ => "valid".into(),
            },
            _ => "unknown".into(),
        }
    }

    pub fn copies_left(&self) -> Option<usize> {
        (self.format == FORMAT_SD_JWT).then(|| self.copies.iter().filter(|c| !c.used).count())
    }

    pub fn card(&self, id: &str, now_ms: u64) -> Card {
        let (claims, from, until) = self.claims();
        Card {
            id: id.to_owned(),
            title: self.title.clone(),
            format: self.format.clone(),
            issuer_name: self.issuer_name.clone(),
            issuer_did: self.issuer_did.clone(),
            main_claims: claims.into_iter().take(3).collect(),
            valid_from_ms: from,
            valid_until_ms: until,
            status: self.state(now_ms, until),
            status_checked_ms: self.status.checked_ms,
            copies_left: self.copies_left(),
            received_ms: self.received_ms,
        }
    }

    pub fn details(&self, id: &str, now_ms: u64) -> Details {
        let card = self.card(id, now_ms);
        Details {
            card,
            claims: self.claims().0,
            issuer_proof: self.issuer_proof.clone(),
            copies_total: (self.format == FORMAT_SD_JWT).then_some(self.copies.len()),
            status_problems: self.status.problems.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selective_names_are_read_from_the_disclosures() {
        let d1 = URL_SAFE_NO_PAD.encode(r#"["salt1","given_name","Ana"]"#);
        let d2 = URL_SAFE_NO_PAD.encode(r#"["salt2","birthdate","1990-01-01"]"#);
        let array_element = URL_SAFE_NO_PAD.encode(r#"["salt3","x"]"#);
        let sd = format!("h.p.s~{d1}~{d2}~{array_element}~");
        assert_eq!(selective_names(&sd), ["given_name", "birthdate"]);
        // A key-binding JWT at the end is not a disclosure.
        assert_eq!(selective_names(&format!("{sd}kb.jwt.sig")).len(), 2);
    }

    #[test]
    fn claims_without_a_label_read_as_words() {
        assert_eq!(readable("licenseClass"), "License class");
        assert_eq!(readable("birthdate"), "Birthdate");
        assert_eq!(readable("given_name"), "Given name");
        assert_eq!(
            readable("address.street_address"),
            "Address › street address"
        );
        assert_eq!(readable("age_over_18"), "Age over 18");
        assert_eq!(readable("ID"), "ID");
    }

    #[test]
    fn a_data_integrity_card_shows_its_subject_and_dates() {
        let h = Held {
            format: FORMAT_DI.into(),
            configuration_id: "licence".into(),
            title: "Driving licence".into(),
            credential_type: "DriverLicense".into(),
            issuer_url: "https://agency.example".into(),
            issuer_name: "Transport Agency".into(),
            issuer_did: "did:alliance:x".into(),
            issuer_proof: IssuerProof::default(),
            labels: [("name".to_owned(), "Name".to_owned())].into(),
            copies: vec![Copy {
                key: "key/1".into(),
                credential: serde_json::json!({
                    "validFrom": "2026-01-01T00:00:00Z",
                    "validUntil": "2027-01-01T00:00:00Z",
                    "credentialSubject": {"id": "did:key:z", "name": "Ana", "licence": {"class": "B"}}
                }),
                used: false,
            }],
            received_ms: 1,
            status: StatusSnapshot {
                state: "valid".into(),
                checked_ms: Some(5),
                ..Default::default()
            },
        };
        let jan_2026 = 1_767_225_600_000;
        let card = h.card("c", jan_2026 + 1);
        assert_eq!(card.main_claims[0].name, "licence.class");
        assert_eq!(card.main_claims[0].label, "Licence › class");
        assert_eq!(card.main_claims[1].label, "Name");
        assert_eq!(card.status, "valid");
        assert_eq!(card.copies_left, None);
        // Within 30 days of the end: expiring; after it: expired, whatever the list says.
        assert_eq!(
            h.card("c", 1_798_761_600_000 - 86_400_000).status,
            "expiring"
        );
        assert_eq!(h.card("c", 1_798_761_600_000).status, "expired");
    }
}
