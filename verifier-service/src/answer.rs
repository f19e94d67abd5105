//! Verifying a wallet's answer: every presentation with `verifier-lib` (the request's nonce
//! as challenge, its client identifier as audience, its stapled proofs beside it; ADR 0022),
//! then whether what was presented answers the DCQL query, and what the business may see:
//! only the claims disclosed.

use serde_json::{Map, Value, json};
use verifier_lib::rdfc::Rdfc2022;
use verifier_lib::{Bundle, Verifier};

use crate::ledger::{Answering, Outcome};

/// Claims of an SD-JWT VC that are about the credential, not its holder.
const REGISTERED: &[&str] = &["iss", "iat", "nbf", "exp", "vct", "cnf", "status", "sub"];

fn rejected(reason: impl Into<String>) -> Outcome {
    Outcome {
        accepted: false,
        reason: Some(reason.into()),
        claims: json!({}),
    }
}

/// One presentation, verified; what it holds as DCQL sees it and as the business sees it.
struct Verified {
    format: &'static str,
    vct: Option<String>,
    types: Vec<String>,
    claims: Value,
    bound: bool,
    shown: Value,
}

fn verify_one(
    verifier: &Verifier,
    rdfc: &Rdfc2022,
    presentation: &Value,
    staple: Option<&Value>,
    now_ms: u64,
) -> Result<Vec<Verified>, String> {
    let mut bundle = Map::new();
    bundle.insert(Bundle::PRESENTATION.into(), presentation.clone());
    let staple = staple.and_then(Value::as_object);
    for (member, none) in [
        (Bundle::REGISTRY_PROOFS, json!([])),
        (Bundle::STATUS_LISTS, json!({})),
    ] {
        let v = staple.and_then(|s| s.get(member)).cloned().unwrap_or(none);
        bundle.insert(member.into(), v);
    }
    let verdict = verifier.verify_parsed(&Value::Object(bundle), now_ms);
    if !verdict.accepted() {
        let why = verdict
            .failures()
            .next()
            .map(|c| format!("{}: {}", c.subject, c.reason))
            .unwrap_or_else(|| "it was not accepted".into());
        return Err(why);
    }
    match presentation {
        Value::String(sd) => {
            let claims = verifier_lib::sdjwt::disclosed_claims(sd).map_err(|e| e.to_string())?;
            let shown: Map<String, Value> = claims
                .iter()
                .filter(|(k, _)| !REGISTERED.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Ok(vec![Verified {
                format: dcql::FORMAT_SD_JWT_VC,
                vct: claims.get("vct").and_then(Value::as_str).map(str::to_owned),
                types: vec![],
                bound: !sd.trim().ends_with('~'),
                shown: json!({"issuer": claims.get("iss"), "type": claims.get("vct"), "claims": shown}),
                claims: Value::Object(claims),
            }])
        }
        Value::Object(vp) => {
            let bound = vp.contains_key("proof");
            let credentials = match vp.get("verifiableCredential") {
                Some(Value::Array(a)) => a.clone(),
                Some(c @ Value::Object(_)) => vec![c.clone()],
                _ => return Err("the presentation holds no credential".into()),
            };
            credentials
                .into_iter()
                .map(|vc| {
                    let types = rdfc.expanded_types(&vc).map_err(|e| e.to_string())?;
                    let mut subject = vc.get("credentialSubject").cloned().unwrap_or(json!({}));
                    if let Some(o) = subject.as_object_mut() {
                        o.remove("id");
                    }
                    Ok(Verified {
                        format: dcql::FORMAT_LDP_VC,
                        vct: None,
                        types,
                        bound,
                        shown: json!({"issuer": vc.get("issuer"), "type": vc.get("type"), "claims": subject}),
                        claims: vc,
                    })
                })
                .collect()
        }
        _ => Err("a presentation is neither an SD-JWT nor a JSON object".into()),
    }
}

/// The verdict on `post`, the answer to the request `request` made as `client_id`.
/// `verifier` carries the business's policy; the expected challenge and audience are set here.
pub fn verify_answer(
    verifier: &Verifier,
    rdfc: &Rdfc2022,
    request: &Answering,
    client_id: &str,
    post: &oid4vp::DirectPost,
    limits: &oid4vp::Limits,
    now_ms: u64,
) -> Outcome {
    if let Err(e) = post.vp_token.check_shape(&request.query, limits) {
        return rejected(e.to_string());
    }
    if post.state.as_deref().is_some_and(|s| s != request.id) {
        return rejected("the response's state is not this request's");
    }
    let mut policy = verifier.policy().clone();
    policy.challenge = Some(request.nonce.clone());
    policy.domain = Some(client_id.to_owned());
    let verifier = verifier.with_policy(policy);
    let mut verified: Vec<(String, Vec<Verified>)> = Vec::new();
    for (id, presentations) in &post.vp_token.0 {
        let mut all = Vec::new();
        for (i, p) in presentations.iter().enumerate() {
            let staple = post
                .staples
                .as_ref()
                .and_then(|s| s.get(id))
                .and_then(|a| a.get(i));
            match verify_one(&verifier, rdfc, p, staple, now_ms) {
                Ok(v) => all.extend(v),
                Err(why) => {
                    return rejected(format!("the presentation for \"{id}\" was refused: {why}"));
                }
            }
        }
        verified.push((id.clone(), all));
    }
    let presented: Vec<(&str, Vec<dcql::Candidate<'_>>)> = verified
        .iter()
        .map(|(id, vs)| {
            let candidates = vs
                .iter()
                .map(|v| dcql::Candidate {
                    format: v.format,
                    vct: v.vct.as_deref(),
                    types: &v.types,
                    claims: &v.claims,
                    holder_binding: v.bound,
                })
                .collect();
            (id.as_str(), candidates)
        })
        .collect();
    if let Err(e) = request.query.check_response(&presented) {
        return rejected(e.to_string());
    }
    let claims: Map<String, Value> = verified
        .iter()
        .map(|(id, vs)| {
            (
                id.clone(),
                Value::Array(vs.iter().map(|v| v.shown.clone()).collect()),
            )
        })
        .collect();
    Outcome {
        accepted: true,
        reason: None,
        claims: Value::Object(claims),
    }
}

#[cfg(test)]
mod tests;
