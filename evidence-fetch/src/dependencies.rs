//! Which issuers and status lists a presentation depends on, read from it without verifying
//! anything (that is the verifier's business).

use std::collections::BTreeSet;

use base64::Engine as _;
use serde_json::Value;

/// The issuers (their identifiers as the credentials name them) and the status lists (issuer,
/// list URL) a presentation depends on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dependencies {
    pub issuers: BTreeSet<String>,
    pub lists: BTreeSet<(String, String)>,
}

/// The dependencies of a Data Integrity presentation (object) or an SD-JWT VC (string).
pub fn dependencies(presentation: &Value) -> Result<Dependencies, String> {
    let mut deps = Dependencies::default();
    match presentation {
        Value::String(text) => {
            let (iss, uri) = sd_jwt(text)?;
            if let Some(uri) = uri {
                deps.lists.insert((iss.clone(), uri));
            }
            deps.issuers.insert(iss);
        }
        Value::Object(_) => {
            let credentials: Vec<&Value> = match &presentation["verifiableCredential"] {
                Value::Array(a) => a.iter().collect(),
                Value::Null => vec![],
                one => vec![one],
            };
            for c in credentials {
                w3c(c, &mut deps);
            }
        }
        _ => return Err("a presentation is an SD-JWT string or a JSON object".into()),
    }
    Ok(deps)
}

fn w3c(c: &Value, deps: &mut Dependencies) {
    let issuer = match &c["issuer"] {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    };
    let Some(issuer) = issuer else { return };
    let entries: Vec<&Value> = match &c["credentialStatus"] {
        Value::Array(a) => a.iter().collect(),
        Value::Null => vec![],
        one => vec![one],
    };
    for e in entries {
        if let Some(u) = e["statusListCredential"].as_str() {
            deps.lists.insert((issuer.clone(), u.to_owned()));
        }
    }
    deps.issuers.insert(issuer);
}

/// The issuer (`iss`) of an SD-JWT VC and the URI of its Token Status List, if it has one,
/// read from the issuer-signed JWT.
fn sd_jwt(text: &str) -> Result<(String, Option<String>), String> {
    let bad = |m: &str| format!("not an SD-JWT VC: {m}");
    let jwt = text.split('~').next().unwrap_or_default();
    let payload = jwt.split('.').nth(1).ok_or_else(|| bad("no JWT payload"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| bad("payload is not base64url"))?;
    let claims: Value = serde_json::from_slice(&bytes).map_err(|_| bad("payload is not JSON"))?;
    let iss = claims["iss"]
        .as_str()
        .ok_or_else(|| bad("no iss"))?
        .to_owned();
    let uri = claims["status"]["status_list"]["uri"]
        .as_str()
        .map(str::to_owned);
    Ok((iss, uri))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_w3c_presentation_depends_on_each_credentials_issuer_and_lists() {
        let vp = json!({"verifiableCredential": [
            {"issuer": "did:alliance:n:a", "credentialStatus": {"statusListCredential": "https://a.example/s/1"}},
            {"issuer": {"id": "did:alliance:n:b"}, "credentialStatus": [
                {"statusListCredential": "https://b.example/s/1"},
                {"statusListCredential": "https://b.example/s/2"}]},
            {"issuer": 7}
        ]});
        let d = dependencies(&vp).unwrap();
        assert_eq!(d.issuers.len(), 2);
        assert_eq!(d.lists.len(), 3);
        assert!(
            d.lists
                .contains(&("did:alliance:n:b".into(), "https://b.example/s/2".into()))
        );
    }

    #[test]
    fn an_sd_jwt_depends_on_its_issuer_and_token_status_list() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            br#"{"iss":"did:alliance:n:a","status":{"status_list":{"idx":3,"uri":"https://a.example/t/1"}}}"#,
        );
        let d = dependencies(&Value::String(format!("h.{payload}.s~d~"))).unwrap();
        assert!(d.issuers.contains("did:alliance:n:a"));
        assert!(
            d.lists
                .contains(&("did:alliance:n:a".into(), "https://a.example/t/1".into()))
        );
        assert!(dependencies(&Value::String("nothing".into())).is_err());
        assert!(dependencies(&json!(3)).is_err());
    }
}
