//! Receiving a credential: look at an offer first (who issues, proven by the registry; what
//! the credential will hold), then, when the holder accepts, redeem it with fresh keys from
//! the keyring and keep what arrives.

use std::collections::BTreeMap;

use did_method::state::{Accreditation, DidRecord, did_key, issuer_key};
use did_method::{Did, DidDocument, SecretKey};
use serde::Serialize;
use serde_json::{Value, json};
use wallet_core::oid4vci::{self, Offer};
use wallet_vault::Item;

use crate::error::Failure;
use crate::held::{Copy, FORMAT_DI, FORMAT_SD_JWT, Held, IssuerProof, StatusSnapshot};
use crate::state::{Wallet, now_ms};

/// SD-JWT VCs are received in batches of this many copies (fewer if the issuer allows
/// fewer): one copy per presentation, so that two businesses cannot link the holder by the
/// key or the signature they saw.
pub const SD_JWT_COPIES: usize = 5;

/// An offer being looked at: everything needed to accept it.
pub struct Preview {
    pub offer: Offer,
    pub configuration_id: String,
    pub format: String,
    pub title: String,
    pub credential_type: String,
    pub labels: BTreeMap<String, String>,
    pub issuer_name: String,
    pub issuer_did: Option<String>,
    pub issuer_proof: IssuerProof,
    pub copies: usize,
}

/// What the holder is shown before accepting.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferView {
    pub preview_id: String,
    pub issuer_url: String,
    pub issuer_name: String,
    pub issuer_did: Option<String>,
    pub issuer_proof: IssuerProof,
    pub accredited_for_this: bool,
    pub credential_title: String,
    pub credential_type: String,
    pub format: String,
    pub claim_labels: Vec<String>,
    pub copies: usize,
    pub tx_code: Option<Value>,
}

fn first_display_name(v: &Value) -> Option<String> {
    v.as_array()?
        .iter()
        .find(|d| d["locale"].as_str().is_none_or(|l| l.starts_with("en")))
        .or_else(|| v.as_array()?.first())
        .and_then(|d| d["name"].as_str())
        .map(str::to_owned)
}

/// What the issuer says of the offered configuration: format, title, type and claim labels.
fn describe(
    meta: &Value,
    config_id: &str,
) -> Result<(String, String, String, BTreeMap<String, String>), Failure> {
    let c = &meta["credential_configurations_supported"][config_id];
    let format = c["format"].as_str().ok_or_else(|| {
        Failure::new(
            "bad_offer",
            format!("the issuer does not describe the offered credential {config_id}"),
        )
    })?;
    if format != FORMAT_DI && format != FORMAT_SD_JWT {
        return Err(Failure::new(
            "unsupported_format",
            format!("this wallet does not hold credentials of format {format}"),
        )
        .with("format", format));
    }
    let title = first_display_name(&c["credential_metadata"]["display"])
        .or_else(|| first_display_name(&c["display"]))
        .unwrap_or_else(|| config_id.to_owned());
    let ty = if format == FORMAT_DI {
        c["credential_definition"]["type"]
            .as_array()
            .and_then(|a| a.last())
            .and_then(Value::as_str)
            .unwrap_or("VerifiableCredential")
            .to_owned()
    } else {
        c["vct"].as_str().unwrap_or_default().to_owned()
    };
    let mut labels = BTreeMap::new();
    let claims = c["credential_metadata"]["claims"]
        .as_array()
        .or_else(|| c["claims"].as_array());
    for claim in claims.into_iter().flatten() {
        let path: Vec<&str> = claim["path"]
            .as_array()
            .map(|p| p.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let path: Vec<&str> = path
            .into_iter()
            .skip_while(|p| *p == "credentialSubject")
            .collect();
        if path.is_empty() {
            continue;
        }
        let name = path.join(".");
        let label = first_display_name(&claim["display"]).unwrap_or_else(|| name.clone());
        labels.insert(name, label);
    }
    Ok((format.to_owned(), title, ty, labels))
}

/// What the registry proves of `did`: its document (and whether it lists `issuer_url` as its
/// OpenID4VCI service) and its accreditation. Proofs are verified against the genesis.
pub async fn prove_issuer(
    wallet: &Wallet,
    did: &str,
    issuer_url: &str,
) -> (IssuerProof, Option<DidDocument>) {
    let mut proof = IssuerProof::default();
    let mut document = None;
    let (Ok(network), Ok(parsed)) = (wallet.network(), Did::parse(did)) else {
        return (proof, document);
    };
    match network.prove(&wallet.net, &did_key(&parsed)).await {
        Ok((entry, _)) => {
            if let Ok(Some(rec)) = entry.record::<DidRecord>()
                && !rec.deactivated
            {
                proof.registered = true;
                proof.height = Some(entry.height);
                proof.url_bound = rec.document.service.iter().any(|s| {
                    s.type_ == oid4vci::OID4VCI_SERVICE_TYPE && s.service_endpoint == issuer_url
                });
                document = Some(rec.document);
            }
        }
        Err(e) => tracing::warn!(%did, "cannot prove the issuer's DID document: {e}"),
    }
    if let Ok((entry, _)) = network.prove(&wallet.net, &issuer_key(&parsed)).await
        && let Ok(Some(acc)) = entry.record::<Accreditation>()
        && acc.withdrawal.is_none()
        && acc.valid_until_ms.is_none_or(|u| u > now_ms())
    {
        proof.accredited_for = acc.credential_types;
        proof.accredited_by = Some(acc.authority);
    }
    (proof, document)
}

/// Looks at an offer (a link, or the offer JSON): fetches the offer and the issuer's
/// metadata, proves the issuer in the registry, and remembers it for [`accept`].
pub async fn inspect(wallet: &Wallet, link: &str) -> Result<OfferView, Failure> {
    wallet.vault()?;
    let link = link.trim();
    if link.is_empty() || link.len() > 64 * 1024 {
        return Err(Failure::new("bad_offer", "that is not a credential offer"));
    }
    let offer = Offer::resolve(&wallet.net, link).await?;
    let meta = oid4vci::issuer_metadata(&wallet.net, &offer.credential_issuer).await?;
    let config_id = offer.configuration_ids[0].clone();
    let (format, title, credential_type, labels) = describe(&meta.metadata, &config_id)?;
    let issuer_name = first_display_name(&meta.metadata["display"])
        .unwrap_or_else(|| offer.credential_issuer.clone());
    // Who issues: the DID that signed the metadata, if its registry-proven document binds
    // the metadata (its key signed it, its OpenID4VCI service is this address).
    let issuer_did = meta.signed.as_ref().map(|s| s.did().to_owned());
    let issuer_proof = match &issuer_did {
        Some(did) => {
            let (mut p, doc) = prove_issuer(wallet, did, &offer.credential_issuer).await;
            match doc.map(|d| meta.check_binding(&d)) {
                Some(Ok(())) => p.url_bound = true,
                Some(Err(e)) => {
                    tracing::warn!("the issuer's metadata is not bound to {did}: {e}");
                    p.url_bound = false;
                }
                None => {}
            }
            p
        }
        None => IssuerProof::default(),
    };
    let batch = meta.metadata["batch_credential_issuance"]["batch_size"]
        .as_u64()
        .unwrap_or(1)
        .max(1) as usize;
    let copies = if format == FORMAT_SD_JWT {
        SD_JWT_COPIES.min(batch)
    } else {
        1
    };
    let id = uuid::Uuid::new_v4().to_string();
    let view = OfferView {
        preview_id: id.clone(),
        issuer_url: offer.credential_issuer.clone(),
        issuer_name: issuer_name.clone(),
        issuer_did: issuer_did.clone(),
        accredited_for_this: issuer_proof.accredited_for.contains(&credential_type),
        issuer_proof: issuer_proof.clone(),
        credential_title: title.clone(),
        credential_type: credential_type.clone(),
        format: format.clone(),
        claim_labels: labels.values().cloned().collect(),
        copies,
        tx_code: offer.tx_code.as_ref().map(|t| {
            json!({
                "length": t["length"].as_u64(),
                "numeric": t["input_mode"].as_str().is_none_or(|m| m == "numeric"),
                "description": t["description"].as_str(),
            })
        }),
    };
    wallet.remember_preview(
        id,
        Preview {
            offer,
            configuration_id: config_id,
            format,
            title,
            credential_type,
            labels,
            issuer_name,
            issuer_did,
            issuer_proof,
            copies,
        },
    );
    Ok(view)
}

/// The holder key a received credential is bound to: a Data Integrity credential's subject
/// `did:key`, or an SD-JWT VC's `cnf` key.
fn bound_key(format: &str, credential: &Value) -> Option<String> {
    if format == FORMAT_DI {
        credential["credentialSubject"]["id"]
            .as_str()
            .map(str::to_owned)
    } else {
        let text = credential.as_str()?;
        let claims = verifier_lib::sdjwt::disclosed_claims(text).ok()?;
        claims
            .get("cnf")
            .and_then(|c| c["jwk"]["x"].as_str())
            .map(str::to_owned)
    }
}

fn key_id(format: &str, key: &SecretKey) -> String {
    let pk = key.public_key();
    if format == FORMAT_DI {
        verifier_lib::dids::did_key(&pk).0
    } else {
        verifier_lib::dids::jwk_of(&pk)["x"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// The issuer a received credential names.
fn credential_issuer(format: &str, credential: &Value) -> Option<String> {
    if format == FORMAT_DI {
        match &credential["issuer"] {
            Value::String(s) => Some(s.clone()),
            o => o["id"].as_str().map(str::to_owned),
        }
    } else {
        verifier_lib::sdjwt::disclosed_claims(credential.as_str()?)
            .ok()?
            .get("iss")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

/// Accepts a previewed offer: fresh keys in the keyring, the OpenID4VCI exchange, and the
/// credential kept. On any failure the keys are removed again and nothing is kept.
pub async fn accept(
    wallet: &Wallet,
    preview_id: &str,
    tx_code: Option<&str>,
) -> Result<(Item, Held), Failure> {
    let vault = wallet.vault()?;
    let p = wallet.take_preview(preview_id)?;
    let _writer = wallet.writer.lock().await;
    let reservation = vault.reserve_keys(p.copies)?;
    let keys: Vec<&SecretKey> = reservation.keys.iter().map(|(_, k)| k).collect();
    let received = oid4vci::receive(&wallet.net, &p.offer, tx_code, &keys).await;
    let received = match received {
        Ok(r) => r,
        Err(e) => {
            let _ = vault.release(reservation);
            return Err(e.into());
        }
    };
    // Each credential is matched to the key it is bound to; all must come from the issuer
    // the holder was shown.
    let mut copies = vec![];
    let mut problem = None;
    for r in &received {
        let bound = bound_key(&p.format, &r.credential);
        let key = reservation
            .keys
            .iter()
            .find(|(_, k)| bound.as_deref() == Some(key_id(&p.format, k).as_str()));
        let issuer = credential_issuer(&p.format, &r.credential);
        match (key, &p.issuer_did) {
            (None, _) => problem = Some("a credential is not bound to a key of this wallet"),
            (_, Some(did)) if issuer.as_deref() != Some(did.as_str()) => {
                problem = Some("a credential names another issuer than the one shown")
            }
            (Some((name, _)), _) => copies.push(Copy {
                key: name.clone(),
                credential: r.credential.clone(),
                used: false,
            }),
        }
    }
    if problem.is_none() && copies.len() != reservation.keys.len() {
        problem = Some("the issuer sent a different number of credentials than asked");
    }
    if let Some(why) = problem {
        let _ = vault.release(reservation);
        return Err(Failure::new(
            "bad_response",
            format!("the issuer's answer is not valid: {why}"),
        ));
    }
    let issuer_did = match &p.issuer_did {
        Some(d) => d.clone(),
        None => credential_issuer(&p.format, &copies[0].credential).unwrap_or_default(),
    };
    let issuer_proof = if p.issuer_did.is_some() {
        p.issuer_proof.clone()
    } else {
        prove_issuer(wallet, &issuer_did, &p.offer.credential_issuer)
            .await
            .0
    };
    let held = Held {
        format: p.format.clone(),
        configuration_id: p.configuration_id.clone(),
        title: p.title.clone(),
        credential_type: p.credential_type.clone(),
        issuer_url: p.offer.credential_issuer.clone(),
        issuer_name: p.issuer_name.clone(),
        issuer_did,
        issuer_proof,
        labels: p.labels.clone(),
        copies,
        received_ms: now_ms(),
        status: StatusSnapshot {
            state: "unknown".into(),
            ..Default::default()
        },
    };
    let item = Item {
        id: uuid::Uuid::new_v4().to_string(),
        keys: held.copies.iter().map(|c| c.key.clone()).collect(),
        body: serde_json::to_value(&held).map_err(Failure::internal)?,
    };
    vault.commit_item(reservation, &item)?;
    wallet.log(json!({
        "kind": "received",
        "counterparty": held.issuer_name,
        "credential": held.title,
        "claims": [],
    }));
    if !wallet.settings()["backedUp"].as_bool().unwrap_or(false) {
        let _ = wallet.update_settings(|s| s["backupReminder"] = json!(true));
    }
    Ok((item, held))
}
