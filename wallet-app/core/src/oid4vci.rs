//! OpenID4VCI 1.0 wallet side, pre-authorized code flow: offer → issuer metadata →
//! authorization server metadata → token (with the transaction code) → nonce → credential
//! (one JWT proof of possession per holder key).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use did_method::SecretKey;
use serde_json::{Value, json};
use verifier_lib::dids;

use crate::{Net, WalletError};

const PRE_AUTH_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// A credential offer, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Offer {
    pub credential_issuer: String,
    pub configuration_ids: Vec<String>,
    pub pre_authorized_code: String,
    /// Present when the citizen must type a transaction code: (input mode, length, description).
    pub tx_code: Option<Value>,
}

/// One received credential: its configuration, format, and value (a JSON object for
/// `ldp_vc`, a string for `dc+sd-jwt`).
#[derive(Clone, Debug, PartialEq)]
pub struct Received {
    pub configuration_id: String,
    pub format: String,
    pub credential: Value,
}

fn net_err(url: &str) -> impl Fn(reqwest::Error) -> WalletError + '_ {
    move |e| WalletError::network(url, &e)
}

/// `url`, if OpenID4VCI may use it: `https://`, or `http://` on this computer only.
fn tls(what: &str, url: &str) -> Result<String, WalletError> {
    registry_client::https::require_tls_or_loopback(what, url)?;
    Ok(url.to_owned())
}

async fn read_json(resp: reqwest::Response, url: &str) -> Result<Value, WalletError> {
    let status = resp.status();
    let v: Value = resp
        .json()
        .await
        .map_err(|e| WalletError::BadResponse(format!("{url}: {e}")))?;
    if !status.is_success() {
        return Err(WalletError::Refused {
            code: v["error"].as_str().unwrap_or("error").to_owned(),
            description: v["error_description"]
                .as_str()
                .unwrap_or(status.as_str())
                .to_owned(),
        });
    }
    Ok(v)
}

impl Offer {
    /// Parses an offer link (`openid-credential-offer://?credential_offer=…` or
    /// `…?credential_offer_uri=…`, fetched), or the offer JSON itself.
    pub async fn resolve(net: &Net, link: &str) -> Result<Self, WalletError> {
        let link = link.trim();
        if link.starts_with('{') {
            let v: Value =
                serde_json::from_str(link).map_err(|e| WalletError::BadOffer(e.to_string()))?;
            return Self::from_json(&v);
        }
        let url =
            url::Url::parse(link).map_err(|e| WalletError::BadOffer(format!("not a link: {e}")))?;
        let mut by_value = None;
        let mut by_ref = None;
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "credential_offer" => by_value = Some(v.into_owned()),
                "credential_offer_uri" => by_ref = Some(v.into_owned()),
                _ => {}
            }
        }
        match (by_value, by_ref) {
            (Some(v), None) => {
                let v: Value =
                    serde_json::from_str(&v).map_err(|e| WalletError::BadOffer(e.to_string()))?;
                Self::from_json(&v)
            }
            (None, Some(u)) => {
                let u = tls("the offer's credential_offer_uri", &u)?;
                let resp = net.http().get(&u).send().await.map_err(net_err(&u))?;
                Self::from_json(&read_json(resp, &u).await?)
            }
            _ => Err(WalletError::BadOffer(
                "the link must carry exactly one of credential_offer and credential_offer_uri"
                    .into(),
            )),
        }
    }

    pub fn from_json(v: &Value) -> Result<Self, WalletError> {
        let bad = |m: &str| WalletError::BadOffer(m.to_owned());
        let credential_issuer = v["credential_issuer"]
            .as_str()
            .ok_or_else(|| bad("no credential_issuer"))?
            .to_owned();
        tls("the credential issuer", &credential_issuer)?;
        let configuration_ids: Vec<String> = v["credential_configuration_ids"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if configuration_ids.is_empty() {
            return Err(bad("no credential_configuration_ids"));
        }
        let grant = &v["grants"][PRE_AUTH_GRANT];
        let pre_authorized_code = grant["pre-authorized_code"]
            .as_str()
            .ok_or_else(|| bad("only pre-authorized code offers are supported"))?
            .to_owned();
        Ok(Self {
            credential_issuer,
            configuration_ids,
            pre_authorized_code,
            tx_code: grant.get("tx_code").cloned(),
        })
    }
}

/// A JWT proof of possession of `key` for `issuer` and `nonce` (`kid` = its did:key).
pub fn proof_jwt(key: &SecretKey, issuer: &str, nonce: &str, iat_s: u64) -> String {
    let (_, kid) = dids::did_key(&key.public_key());
    let header = json!({"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "kid": kid});
    let claims = json!({"aud": issuer, "iat": iat_s, "nonce": nonce});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Runs the whole flow for the offer's first configuration: one credential per key in
/// `keys` (a batch when several). `tx_code`: what the citizen typed, when the offer asks.
pub async fn receive(
    net: &Net,
    offer: &Offer,
    tx_code: Option<&str>,
    keys: &[&SecretKey],
) -> Result<Vec<Received>, WalletError> {
    let client = net.http();
    tls("the credential issuer", &offer.credential_issuer)?;
    let issuer = offer.credential_issuer.trim_end_matches('/');
    let meta_url = format!("{issuer}/.well-known/openid-credential-issuer");
    let meta = read_json(
        client
            .get(&meta_url)
            .send()
            .await
            .map_err(net_err(&meta_url))?,
        &meta_url,
    )
    .await?;
    if meta["credential_issuer"].as_str() != Some(offer.credential_issuer.as_str()) {
        return Err(WalletError::BadResponse(
            "the metadata is for another issuer".into(),
        ));
    }
    let config_id = offer.configuration_ids[0].clone();
    let config = &meta["credential_configurations_supported"][&config_id];
    let format = config["format"]
        .as_str()
        .ok_or_else(|| {
            WalletError::BadResponse(format!("the issuer does not describe {config_id}"))
        })?
        .to_owned();
    let as_base = meta["authorization_servers"][0]
        .as_str()
        .unwrap_or(issuer)
        .trim_end_matches('/')
        .to_owned();
    let as_url = tls(
        "the authorization server",
        &format!("{as_base}/.well-known/oauth-authorization-server"),
    )?;
    let as_meta = read_json(
        client.get(&as_url).send().await.map_err(net_err(&as_url))?,
        &as_url,
    )
    .await?;
    let token_url = tls(
        "the token endpoint",
        as_meta["token_endpoint"]
            .as_str()
            .ok_or_else(|| WalletError::BadResponse("no token_endpoint".into()))?,
    )?;
    let mut form = vec![
        ("grant_type", PRE_AUTH_GRANT.to_owned()),
        ("pre-authorized_code", offer.pre_authorized_code.clone()),
    ];
    match (&offer.tx_code, tx_code) {
        (Some(_), Some(c)) => form.push(("tx_code", c.to_owned())),
        (Some(_), None) => {
            return Err(WalletError::Other(
                "this offer needs the transaction code the agency gave you".into(),
            ));
        }
        _ => {}
    }
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let token = read_json(
        client
            .post(&token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(net_err(&token_url))?,
        &token_url,
    )
    .await?;
    let access = token["access_token"]
        .as_str()
        .ok_or_else(|| WalletError::BadResponse("no access_token".into()))?
        .to_owned();
    let credential_url = tls(
        "the credential endpoint",
        meta["credential_endpoint"]
            .as_str()
            .ok_or_else(|| WalletError::BadResponse("no credential_endpoint".into()))?,
    )?;
    let nonce_url = match meta["nonce_endpoint"].as_str() {
        Some(u) => Some(tls("the nonce endpoint", u)?),
        None => None,
    };
    // A fresh nonce; on invalid_nonce, one retry with another.
    for attempt in 0..2 {
        let nonce = match &nonce_url {
            Some(u) => {
                read_json(client.post(u).send().await.map_err(net_err(u))?, u).await?["c_nonce"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            }
            None => String::new(),
        };
        let proofs: Vec<String> = keys
            .iter()
            .map(|k| proof_jwt(k, &offer.credential_issuer, &nonce, now_s()))
            .collect();
        let resp = client
            .post(&credential_url)
            .bearer_auth(&access)
            .json(&json!({"credential_configuration_id": config_id, "proofs": {"jwt": proofs}}))
            .send()
            .await
            .map_err(net_err(&credential_url))?;
        match read_json(resp, &credential_url).await {
            Ok(v) => {
                let creds = v["credentials"].as_array().cloned().unwrap_or_default();
                if creds.is_empty() {
                    return Err(WalletError::BadResponse(
                        "no credentials in the answer (deferred issuance is not supported)".into(),
                    ));
                }
                return Ok(creds
                    .into_iter()
                    .map(|c| Received {
                        configuration_id: config_id.clone(),
                        format: format.clone(),
                        credential: c["credential"].clone(),
                    })
                    .collect());
            }
            Err(WalletError::Refused { code, .. }) if code == "invalid_nonce" && attempt == 0 => {
                continue;
            }
            Err(e) => return Err(e),
        }
    }
    Err(WalletError::Other(
        "the issuer kept refusing the nonce".into(),
    ))
}
