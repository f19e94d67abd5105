//! OpenID4VCI 1.0 wallet side, pre-authorized code flow: offer → issuer metadata →
//! authorization server metadata → token (with the transaction code) → nonce → credential
//! (one JWT proof of possession per holder key). Before that, who issues: the issuer's
//! signed metadata ([`issuer_metadata`]), bound to its registry-proven DID document
//! ([`IssuerMetadata::check_binding`]).

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
    oid4vp::jws::sign(&header, &claims, key)
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

/// The JOSE `typ` of signed Credential Issuer Metadata (OpenID4VCI 1.0 §12.2.3).
pub const SIGNED_METADATA_TYP: &str = "openidvci-issuer-metadata+jwt";

/// The `type` of the DID document service that names an issuer's OpenID4VCI address (its
/// credential issuer identifier); `alliance-issuer init` writes it as `<did>#oid4vci`.
pub const OID4VCI_SERVICE_TYPE: &str = "OpenID4VCI";

/// What the wallet asks for: signed metadata, plain JSON if the issuer has none.
const METADATA_ACCEPT: &str = "application/jwt, application/json;q=0.5";

/// An issuer's Credential Issuer Metadata as the wallet fetched it: the parameters, and when
/// the issuer signed them, what to check the signature with.
#[derive(Clone, Debug)]
pub struct IssuerMetadata {
    /// The credential issuer identifier the metadata was asked for, and names (checked).
    pub credential_issuer: String,
    /// The metadata parameters (`credential_endpoint`, `credential_configurations_supported`,
    /// `display`…). For signed metadata, the JWT's claims without `iss`, `sub`, `iat`, `exp`.
    pub metadata: Value,
    /// `None` when the issuer answered plain JSON: then nothing proves who wrote it.
    pub signed: Option<SignedMetadata>,
}

/// The signature over signed metadata, not yet checked: the key to check it with comes from
/// the signer's DID document, proven on the registry ([`IssuerMetadata::check_binding`]).
#[derive(Clone, Debug)]
pub struct SignedMetadata {
    /// The verification method (a DID URL) whose key signed.
    pub kid: String,
    /// Who attests to the metadata (the issuer's DID), when the JWT says.
    pub iss: Option<String>,
    /// When it was signed (seconds since the Unix epoch).
    pub iat: i64,
    /// The JWS as sent: what the signature covers, and the signature.
    jws: oid4vp::jws::Compact,
}

impl SignedMetadata {
    /// The DID whose method signed (`kid` without its fragment).
    pub fn did(&self) -> &str {
        self.kid.split_once('#').map_or(&self.kid, |(did, _)| did)
    }

    /// Whether `key` made the signature (Ed25519 over the JWS signing input).
    pub fn verify_signature(&self, key: &did_method::PublicKey) -> bool {
        self.jws.verify(key)
    }
}

impl IssuerMetadata {
    /// Plain JSON metadata, if it names `credential_issuer` (compared exactly, as the
    /// specification requires: the data of metadata naming another issuer must not be used).
    pub fn from_json(metadata: Value, credential_issuer: &str) -> Result<Self, WalletError> {
        if !metadata.is_object() {
            return Err(WalletError::BadResponse(
                "the issuer's metadata is not a JSON object".into(),
            ));
        }
        same_issuer(&metadata, credential_issuer)?;
        Ok(Self {
            credential_issuer: credential_issuer.to_owned(),
            metadata,
            signed: None,
        })
    }

    /// Signed metadata (a compact JWS, OpenID4VCI 1.0 §12.2.3), read and checked except for
    /// its signature: `alg` `EdDSA` (never `none`, nor anything else), `typ`
    /// [`SIGNED_METADATA_TYP`], no `crit`, a `kid` that is a DID URL, `sub` and
    /// `credential_issuer` equal to `credential_issuer`, an integer `iat`, `exp` (if any) not
    /// past, and `iss` (if any) the DID of `kid`.
    pub fn from_jwt(jwt: &str, credential_issuer: &str) -> Result<Self, WalletError> {
        let bad = |m: String| WalletError::BadResponse(format!("signed metadata: {m}"));
        // Three base64url parts, header and payload JSON objects, a 64-byte signature, no
        // `crit` (oid4vp's reader, shared with the presentation request's).
        let jws = oid4vp::jws::Compact::parse(jwt).map_err(bad)?;
        let header = &jws.header;
        match header.get("alg").and_then(Value::as_str) {
            Some("EdDSA") => {}
            Some(a) if a.eq_ignore_ascii_case("none") => {
                return Err(bad("it is unsigned (alg none)".into()));
            }
            Some(a) => return Err(bad(format!("alg {a}: only EdDSA is accepted"))),
            None => return Err(bad("its header has no alg".into())),
        }
        match header.get("typ").and_then(Value::as_str) {
            Some(t) if t.eq_ignore_ascii_case(SIGNED_METADATA_TYP) => {}
            t => {
                return Err(bad(format!("typ {t:?}, expected {SIGNED_METADATA_TYP:?}")));
            }
        }
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .filter(|k| k.starts_with("did:") && k.contains('#'))
            .ok_or_else(|| bad("its kid must name the signing key by a DID URL".into()))?
            .to_owned();
        let mut claims = jws.payload.clone();
        let sub = claims.remove("sub");
        if sub.as_ref().and_then(Value::as_str) != Some(credential_issuer) {
            return Err(bad(format!(
                "sub is {sub:?}, not the credential issuer {credential_issuer}"
            )));
        }
        let iat = claims
            .remove("iat")
            .and_then(|v| v.as_i64())
            .ok_or_else(|| bad("iat is missing or not an integer".into()))?;
        if let Some(exp) = claims.remove("exp") {
            let exp = exp
                .as_i64()
                .ok_or_else(|| bad("exp is not an integer".into()))?;
            if exp <= now_s() as i64 {
                return Err(bad("it has expired (exp)".into()));
            }
        }
        let iss = match claims.remove("iss") {
            None => None,
            Some(Value::String(iss)) => Some(iss),
            Some(_) => return Err(bad("iss is not a string".into())),
        };
        let signed = SignedMetadata { kid, iss, iat, jws };
        if let Some(iss) = &signed.iss
            && iss != signed.did()
        {
            return Err(bad(format!(
                "iss {iss} is not the DID of the signing key {}",
                signed.kid
            )));
        }
        let metadata = Value::Object(claims);
        same_issuer(&metadata, credential_issuer)?;
        Ok(Self {
            credential_issuer: credential_issuer.to_owned(),
            metadata,
            signed: Some(signed),
        })
    }

    /// Checks that the issuer's DID document `document` (proven on the registry by the
    /// caller) binds this metadata: it is the DID whose key signed it, that key is one of its
    /// assertion methods and verifies the signature, and the document names
    /// [`Self::credential_issuer`] as its [`OID4VCI_SERVICE_TYPE`] service. Then the agency
    /// that controls the DID is the one serving at this address.
    pub fn check_binding(&self, document: &did_method::DidDocument) -> Result<(), WalletError> {
        let unbound = |m: String| WalletError::BadResponse(format!("who issues: {m}"));
        let signed = self.signed.as_ref().ok_or_else(|| {
            unbound("the issuer's metadata is not signed, so nothing ties it to a DID".into())
        })?;
        let did = &document.id;
        if signed.did() != did {
            return Err(unbound(format!(
                "the metadata is signed by {}, not by {did}",
                signed.kid
            )));
        }
        let fragment = signed.kid.split_once('#').map_or("", |(_, f)| f);
        let short = format!("#{fragment}");
        let listed = |id: &str| id == signed.kid || id == short;
        let key = document
            .verification_method
            .iter()
            .find(|vm| listed(&vm.id) && vm.controller == *did)
            .filter(|_| document.assertion_method.iter().any(|id| listed(id)))
            .map(|vm| vm.public_key_multibase)
            .ok_or_else(|| {
                unbound(format!(
                    "{} is not an assertion method of {did}'s document",
                    signed.kid
                ))
            })?;
        if !signed.verify_signature(&key) {
            return Err(unbound(format!(
                "the metadata's signature does not verify with {}",
                signed.kid
            )));
        }
        if !document.service.iter().any(|s| {
            s.type_ == OID4VCI_SERVICE_TYPE && s.service_endpoint == self.credential_issuer
        }) {
            return Err(unbound(format!(
                "{did}'s document does not name {} as its {OID4VCI_SERVICE_TYPE} address",
                self.credential_issuer
            )));
        }
        Ok(())
    }
}

/// Refuses metadata whose `credential_issuer` is not `credential_issuer`.
fn same_issuer(metadata: &Value, credential_issuer: &str) -> Result<(), WalletError> {
    match metadata["credential_issuer"].as_str() {
        Some(c) if c == credential_issuer => Ok(()),
        other => Err(WalletError::BadResponse(format!(
            "the metadata is for {}, not for {credential_issuer}",
            other.unwrap_or("no credential_issuer")
        ))),
    }
}

/// Fetches the Credential Issuer Metadata of `credential_issuer` (OpenID4VCI 1.0 §12.2.2),
/// asking for the signed form first (`Accept: application/jwt, application/json;q=0.5`).
/// Signed or not, it must name `credential_issuer`; a signed one is read as
/// [`IssuerMetadata::from_jwt`] says, and its signature is left to check against the issuer's
/// proven DID document ([`IssuerMetadata::check_binding`]).
pub async fn issuer_metadata(
    net: &Net,
    credential_issuer: &str,
) -> Result<IssuerMetadata, WalletError> {
    tls("the credential issuer", credential_issuer)?;
    let url = format!(
        "{}/.well-known/openid-credential-issuer",
        credential_issuer.trim_end_matches('/')
    );
    let resp = net
        .http()
        .get(&url)
        .header(reqwest::header::ACCEPT, METADATA_ACCEPT)
        .send()
        .await
        .map_err(net_err(&url))?;
    let media = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if !resp.status().is_success() || media != "application/jwt" {
        return IssuerMetadata::from_json(read_json(resp, &url).await?, credential_issuer);
    }
    let text = resp
        .text()
        .await
        .map_err(|e| WalletError::BadResponse(format!("{url}: {e}")))?;
    IssuerMetadata::from_jwt(&text, credential_issuer)
}

#[cfg(test)]
mod tests;
