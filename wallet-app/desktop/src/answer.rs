//! Answering a business's OpenID4VP request (`openid4vp://`): the wallet proves who asks from
//! the registry (its DID document, its registration as a relying party), checks the request's
//! signature, finds which held credentials answer its DCQL query and what each would share,
//! and shows all of it — with a warning for anything the business is not registered to ask
//! for — before the holder shares or declines. Sharing signs in Rust with a fresh copy's key
//! (SD-JWT) and sends the presentations with their registry proofs stapled (ADR 0022).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wallet_core::WalletError;
use wallet_core::oid4vp::{self, Overreach, Shares, Sharing, VerifiedRequest};

use crate::error::Failure;
use crate::held::{FORMAT_DI, FORMAT_SD_JWT, Held};
use crate::present::{fresh, pick_copy};
use crate::state::{PREVIEW_TTL, Wallet, now_ms};

/// A credential that answers one credential query, and what it would share.
#[derive(Clone, Debug)]
pub struct Choice {
    pub card_id: String,
    /// Top-level claims disclosed (SD-JWT); empty for a credential shared whole.
    pub reveal: Vec<String>,
}

/// A request looked at, kept until the holder shares or declines.
pub struct PendingRequest {
    pub request: VerifiedRequest,
    /// Per credential query, in the query's order: its id and the credentials that answer it.
    pub queries: Vec<(String, Vec<Choice>)>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestView {
    pub request_id: String,
    pub client_did: String,
    /// The name the business gives itself (`client_metadata.client_name`; its own word).
    pub name: Option<String>,
    /// Why the business asks, in its own words.
    pub purpose: Option<String>,
    /// The height the registry proved the business's DID document at.
    pub height: u64,
    pub registration: Option<RegistrationView>,
    /// About the business itself: not registered, withdrawn, out of term.
    pub warnings: Vec<Overreach>,
    pub queries: Vec<QueryView>,
    /// Why the wallet cannot answer (then `queries` may be partly empty).
    pub unmet: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationView {
    pub authority: String,
    /// Per credential type, the claims it may ask for (`*`: all).
    pub scopes: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryView {
    pub id: String,
    pub options: Vec<OptionView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OptionView {
    pub card_id: String,
    pub title: String,
    pub issuer_name: String,
    /// The claims it would share, as the issuer labels them.
    pub shares: Vec<String>,
    /// Shared whole (a Data Integrity credential).
    pub whole: bool,
    /// What in it the business is not registered to ask for (claims as labels).
    pub warnings: Vec<Overreach>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerView {
    pub client_did: String,
    pub shared: Vec<SharedView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedView {
    pub title: String,
    pub claims: Vec<String>,
}

/// A failure reading or answering a business's request, in the holder's words.
fn request_failure(e: WalletError) -> Failure {
    let message = e.to_string();
    match e {
        WalletError::BadRequest(m) | WalletError::BadResponse(m) | WalletError::BadOffer(m) => {
            Failure::new("bad_request", message).with("detail", m)
        }
        WalletError::Refused { code, description } => {
            let ui = match code.as_str() {
                "invalid_request" if description.contains("already") => "request_answered",
                "invalid_request" if description.contains("expired") => "request_expired",
                _ => "business_refused",
            };
            Failure::new(ui, message)
                .with("businessCode", code)
                .with("detail", description)
        }
        other => Failure::from(other),
    }
}

/// What the holder sees of a credential's types: its `vct`, or its W3C types.
fn credential_types(held: &Held) -> Vec<String> {
    let Some(first) = held.copies.first() else {
        return vec![];
    };
    if held.format == FORMAT_SD_JWT {
        return vec![held.credential_type.clone()];
    }
    first.credential["type"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The claims the query may look at: an SD-JWT's payload with every disclosure applied; a
/// W3C credential whole.
fn claims_of(held: &Held) -> Option<Value> {
    let first = held.copies.first()?;
    if held.format == FORMAT_SD_JWT {
        let claims = verifier_lib::sdjwt::disclosed_claims(first.credential.as_str()?).ok()?;
        Some(Value::Object(claims))
    } else {
        Some(first.credential.clone())
    }
}

/// `claims` named by their labels where the issuer gave one, else in words.
fn labelled(held: &Held, claims: &[String]) -> Vec<String> {
    claims
        .iter()
        .map(|c| {
            held.labels
                .get(c)
                .cloned()
                .unwrap_or_else(|| crate::held::readable(c))
        })
        .collect()
}

fn labelled_overreach(held: &Held, o: Overreach) -> Overreach {
    match o {
        Overreach::ClaimsNotCovered { claims, .. } => Overreach::ClaimsNotCovered {
            credential_type: held.title.clone(),
            claims: labelled(held, &claims),
        },
        Overreach::Whole { allowed, .. } => Overreach::Whole {
            credential_type: held.title.clone(),
            allowed: labelled(held, &allowed),
        },
        Overreach::TypeNotCovered { .. } => Overreach::TypeNotCovered {
            credential_type: held.title.clone(),
        },
        other => other,
    }
}

/// Reads the request a link points to, proves who asks, and matches it against what the
/// wallet holds. Nothing is sent.
pub async fn inspect(wallet: &Wallet, link: &str) -> Result<RequestView, Failure> {
    wallet.vault()?;
    let network = wallet.network()?;
    let signed = oid4vp::fetch_signed(&wallet.net, link.trim())
        .await
        .map_err(request_failure)?;
    let now = now_ms();
    let mut last = None;
    let mut verified = None;
    for api in &network.registries {
        match oid4vp::verify_requester(
            &wallet.net,
            signed.clone(),
            api,
            &network.anchor(),
            (now / 1000) as i64,
        )
        .await
        {
            Ok(v) => {
                verified = Some(v);
                break;
            }
            // Another node may answer; a request that does not check out does not improve.
            Err(e @ (WalletError::Network { .. } | WalletError::Other(_))) => last = Some(e),
            Err(e) => return Err(request_failure(e)),
        }
    }
    let request = match (verified, last) {
        (Some(v), _) => v,
        (None, Some(e)) => return Err(request_failure(e)),
        (None, None) => return Err(Failure::new("offline", "no registry node answered")),
    };

    let held = wallet.all_held()?;
    let mut types = Vec::with_capacity(held.len());
    let mut claims = Vec::with_capacity(held.len());
    for (_, h) in &held {
        types.push(if h.format == FORMAT_DI {
            h.copies
                .first()
                .and_then(|c| wallet.rdfc.expanded_types(&c.credential).ok())
                .unwrap_or_default()
        } else {
            vec![]
        });
        claims.push(claims_of(h).unwrap_or(Value::Null));
    }
    let candidates: Vec<dcql::Candidate<'_>> = held
        .iter()
        .enumerate()
        .map(|(i, (_, h))| dcql::Candidate {
            format: &h.format,
            vct: (h.format == FORMAT_SD_JWT).then_some(h.credential_type.as_str()),
            types: &types[i],
            claims: &claims[i],
            holder_binding: true,
        })
        .collect();
    let selection = request.signed.request.dcql_query.select(&candidates);

    let mut queries = Vec::new();
    let mut views = Vec::new();
    // Only the queries an answer needs (one alternative of each required credential set):
    // nothing optional is offered for sharing.
    for (id, matches) in selection
        .matches
        .iter()
        .filter(|(id, _)| selection.is_needed(id))
    {
        let mut choices = Vec::new();
        let mut options = Vec::new();
        for m in matches {
            let Some((item, h)) = held.get(m.candidate) else {
                continue;
            };
            let whole = h.format != FORMAT_SD_JWT;
            let reveal = if whole {
                vec![]
            } else {
                m.disclose.top_level()
            };
            let sharing = Sharing {
                credential_types: credential_types(h),
                shares: if whole {
                    Shares::Whole
                } else {
                    Shares::Claims(reveal.clone())
                },
            };
            let warnings = match &request.relying_party {
                // The business itself is warned about once, above the choices.
                Some(rp) if rp.in_force(now) => request
                    .overreach(now, std::slice::from_ref(&sharing))
                    .into_iter()
                    .map(|o| labelled_overreach(h, o))
                    .collect(),
                _ => vec![],
            };
            options.push(OptionView {
                card_id: item.id.clone(),
                title: h.title.clone(),
                issuer_name: h.issuer_name.clone(),
                shares: if whole {
                    h.claims().0.into_iter().map(|c| c.label).collect()
                } else {
                    labelled(h, &reveal)
                },
                whole,
                warnings,
            });
            choices.push(Choice {
                card_id: item.id.clone(),
                reveal,
            });
        }
        queries.push((id.clone(), choices));
        views.push(QueryView {
            id: id.clone(),
            options,
        });
    }
    let r = &request.signed.request;
    let view = RequestView {
        request_id: uuid::Uuid::new_v4().to_string(),
        client_did: r.client_did().to_owned(),
        name: r
            .client_metadata
            .as_ref()
            .and_then(|m| m["client_name"].as_str())
            .map(|n| n.chars().take(200).collect()),
        purpose: r.purpose.clone(),
        height: request.height,
        registration: request.relying_party.as_ref().map(|rp| RegistrationView {
            authority: rp.authority.clone(),
            // In the holder's words where a held credential of that type says them.
            scopes: rp
                .scopes
                .iter()
                .map(|s| {
                    let known = held
                        .iter()
                        .map(|(_, h)| h)
                        .find(|h| credential_types(h).contains(&s.credential_type));
                    match known {
                        Some(h) => (h.title.clone(), labelled(h, &s.claims)),
                        None => (s.credential_type.clone(), s.claims.clone()),
                    }
                })
                .collect(),
        }),
        warnings: request.overreach(now, &[]),
        queries: views,
        unmet: selection.unmet.iter().map(ToString::to_string).collect(),
    };
    wallet.remember_request(view.request_id.clone(), PendingRequest { request, queries });
    Ok(view)
}

/// The holder's pick per credential query: a card id (default: the first that answers).
#[derive(Debug, Default, Deserialize)]
pub struct Picks(pub HashMap<String, String>);

/// Shares what the request looked at asks for, with the credentials picked, and sends it.
pub async fn share(
    wallet: &Wallet,
    request_id: &str,
    picks: &Picks,
) -> Result<AnswerView, Failure> {
    wallet.vault()?;
    let pending = wallet.take_request(request_id)?;
    let r = &pending.request.signed.request;
    if pending.queries.iter().all(|(_, c)| c.is_empty()) {
        return Err(Failure::new(
            "nothing_to_share",
            "no credential in the wallet answers this request",
        ));
    }
    let _writer = wallet.writer.lock().await;
    let mut answers = Vec::new();
    let mut shared = Vec::new();
    for (id, choices) in &pending.queries {
        let choice = match picks.0.get(id) {
            Some(card) => choices.iter().find(|c| &c.card_id == card).ok_or_else(|| {
                Failure::new(
                    "bad_request_param",
                    "that credential does not answer this request",
                )
                .with("param", "credential")
            })?,
            None => match choices.first() {
                Some(c) => c,
                None => continue,
            },
        };
        let (item, held) = wallet.held(&choice.card_id)?;
        let (item, mut held) = fresh(wallet, item, held).await?;
        let copy = pick_copy(&held);
        let names: Vec<&str> = choice.reveal.iter().map(String::as_str).collect();
        let presentation = crate::status::presentation(
            wallet,
            &held,
            copy,
            (held.format == FORMAT_SD_JWT).then_some(names.as_slice()),
            &r.nonce,
            &r.client_id,
        )?;
        let stapled = held.status.stapled.clone().unwrap_or_else(|| json!({}));
        let staple = json!({
            "registryProofs": stapled.get("registryProofs").cloned().unwrap_or_else(|| json!([])),
            "statusLists": stapled.get("statusLists").cloned().unwrap_or_else(|| json!({})),
        });
        answers.push((id.clone(), presentation, staple));
        let claims = if held.format == FORMAT_SD_JWT {
            labelled(&held, &choice.reveal)
        } else {
            held.claims().0.into_iter().map(|c| c.label).collect()
        };
        shared.push(SharedView {
            title: held.title.clone(),
            claims,
        });
        if held.format == FORMAT_SD_JWT {
            // Spent before it is sent: a copy the business may have seen is never reused.
            held.copies[copy].used = true;
            wallet.save_held(item.clone(), &held)?;
        }
    }
    oid4vp::send_answer(&wallet.net, &pending.request, answers)
        .await
        .map_err(request_failure)?;
    let client_did = r.client_did().to_owned();
    for s in &shared {
        wallet.log(json!({
            "kind": "presented",
            "counterparty": client_did,
            "credential": s.title,
            "claims": s.claims,
        }));
    }
    Ok(AnswerView { client_did, shared })
}

/// Forgets a request looked at without answering it.
pub fn decline(wallet: &Wallet, request_id: &str) {
    let _ = wallet.take_request(request_id);
}

/// How long a request looked at may wait for the holder's answer.
pub const REQUEST_TTL: std::time::Duration = PREVIEW_TTL;

/// Kept requests, by id.
pub type Requests = std::sync::Mutex<HashMap<String, (Instant, Arc<PendingRequest>)>>;
