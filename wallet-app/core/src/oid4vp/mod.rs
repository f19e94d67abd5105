//! The holder's side of OpenID4VP 1.0 (ADR 0021, ADR 0022): read a business's request from its
//! link, prove who asks from the registry and check the request's signature with a key of that
//! DID document, find which held credentials answer its DCQL query, and send the answer
//! (`direct_post`) with each presentation's registry proofs and status lists stapled. The
//! business's registration as a relying party is proven with its DID document, and
//! [`overreach`] says what a request asks beyond it.

mod asking;

pub use asking::{Overreach, Shares, Sharing, overreach};

use did_method::state::{DidRecord, RelyingPartyAccreditation, did_key, relying_party_key};
use did_method::{Did, DidDocument, TrustAnchor};
use oid4vp::{DirectPost, Limits, RequestLink, SignedRequest, VpToken};
use serde_json::{Map, Value};

use crate::{Net, WalletError, read_bounded};

/// A business's request, its signature checked against its registry-proven DID document.
#[derive(Clone, Debug)]
pub struct VerifiedRequest {
    pub signed: SignedRequest,
    /// The requester's DID document, as the registry proves it.
    pub document: DidDocument,
    /// The height the registry proved it at.
    pub height: u64,
    /// Its registration as a relying party, proven at the same height (`None`: proven to be
    /// absent).
    pub relying_party: Option<RelyingPartyAccreditation>,
}

impl VerifiedRequest {
    /// What sharing `sharing` would give this business beyond its registration, at `at_ms`.
    pub fn overreach(&self, at_ms: u64, sharing: &[Sharing]) -> Vec<Overreach> {
        overreach(self.relying_party.as_ref(), at_ms, sharing)
    }
}

fn bad(why: impl std::fmt::Display) -> WalletError {
    WalletError::BadRequest(why.to_string())
}

/// Fetches and checks the request a link (`openid4vp://…`) points to: the request object
/// signed by a key of the DID its client identifier names, that DID's document proven by a
/// registry node against `anchor`, the request not expired (`now_s`).
pub async fn fetch_request(
    net: &Net,
    link: &str,
    registry_api: &str,
    anchor: &TrustAnchor,
    now_s: i64,
) -> Result<VerifiedRequest, WalletError> {
    let signed = fetch_signed(net, link).await?;
    verify_requester(net, signed, registry_api, anchor, now_s).await
}

/// Fetches the request object a link points to and checks what needs no key (its shape,
/// that it names the link's client); [`verify_requester`] does the rest.
pub async fn fetch_signed(net: &Net, link: &str) -> Result<SignedRequest, WalletError> {
    let limits = Limits::default();
    let link = RequestLink::parse(link, &limits).map_err(bad)?;
    let url = registry_client::https::require_tls_or_loopback("request_uri", &link.request_uri)?;
    let resp = net
        .http()
        .get(url.clone())
        .header("accept", "application/oauth-authz-req+jwt")
        .send()
        .await
        .map_err(|e| WalletError::network(url.as_str(), &e))?;
    if !resp.status().is_success() {
        return Err(refusal(resp).await);
    }
    let body = read_bounded(resp, limits.max_request_bytes).await?;
    let signed = SignedRequest::parse(&body, &limits).map_err(bad)?;
    if signed.request.client_id != link.client_id {
        return Err(bad("the request names another client than its link"));
    }
    Ok(signed)
}

/// Proves who asks from the registry node at `registry_api` (its DID document and its
/// registration as a relying party, against `anchor`), and checks the request's signature
/// with a key of that document and its time against `now_s`.
pub async fn verify_requester(
    net: &Net,
    signed: SignedRequest,
    registry_api: &str,
    anchor: &TrustAnchor,
    now_s: i64,
) -> Result<VerifiedRequest, WalletError> {
    let did = Did::parse(signed.request.client_did()).map_err(bad)?;
    let registry = net.registry(registry_api)?;
    let proof = registry
        .prove_key(&did_key(&did), None)
        .await
        .map_err(|e| WalletError::Other(format!("proving {did} on the registry: {e}")))?;
    let entry = proof.verify(anchor).map_err(|e| {
        bad(format!(
            "the registry's proof of {did} does not verify: {e}"
        ))
    })?;
    if entry.key != did_key(&did) {
        return Err(bad("the registry proved another record than the one asked"));
    }
    let record: DidRecord = entry
        .record()
        .map_err(bad)?
        .filter(|r: &DidRecord| !r.deactivated)
        .ok_or_else(|| bad(format!("{did} is not registered (or is deactivated)")))?;
    let fragment = signed.kid.split_once('#').map_or("", |(_, f)| f);
    let short = format!("#{fragment}");
    let listed = |id: &str| id == signed.kid || id == short;
    let document = record.document;
    let key = document
        .verification_method
        .iter()
        .find(|vm| listed(&vm.id))
        .filter(|_| {
            document.authentication.iter().any(|id| listed(id))
                || document.assertion_method.iter().any(|id| listed(id))
        })
        .map(|vm| vm.public_key_multibase)
        .ok_or_else(|| bad(format!("{} is not a key of {did}'s document", signed.kid)))?;
    signed.verify_signature(&key).map_err(bad)?;
    signed.check_time(now_s).map_err(bad)?;
    let proof = registry
        .prove_key(&relying_party_key(&did), Some(entry.height))
        .await
        .map_err(|e| {
            WalletError::Other(format!(
                "proving {did}'s registration as a relying party: {e}"
            ))
        })?;
    let registration = proof.verify(anchor).map_err(|e| {
        bad(format!(
            "the registry's proof of {did}'s registration does not verify: {e}"
        ))
    })?;
    if registration.key != relying_party_key(&did) || registration.height != entry.height {
        return Err(bad("the registry proved another record than the one asked"));
    }
    let relying_party = registration.record().map_err(bad)?;
    Ok(VerifiedRequest {
        signed,
        document,
        height: entry.height,
        relying_party,
    })
}

/// Sends the answer: `presentations` by credential query id, each with its stapled material
/// (`{"registryProofs", "statusLists"}` of its bundle; ADR 0022).
pub async fn send_answer(
    net: &Net,
    request: &VerifiedRequest,
    presentations: Vec<(String, Value, Value)>,
) -> Result<(), WalletError> {
    let r = &request.signed.request;
    let mut token = VpToken::default();
    let mut staples: Map<String, Value> = Map::new();
    for (id, presentation, staple) in presentations {
        token.0.entry(id.clone()).or_default().push(presentation);
        if let Value::Array(a) = staples.entry(id).or_insert_with(|| Value::Array(vec![])) {
            a.push(staple);
        }
    }
    let post = DirectPost {
        vp_token: token,
        state: r.state.clone(),
        staples: Some(Value::Object(staples)),
    };
    let form = match r.response_mode {
        oid4vp::ResponseMode::DirectPost => post.to_form(),
        oid4vp::ResponseMode::DirectPostJwt => {
            let (recipient, enc) = encryption_key(r)?;
            post.to_encrypted_form(recipient, enc, &mut rand_core::OsRng)
                .map_err(bad)?
        }
    };
    let url = registry_client::https::require_tls_or_loopback("response_uri", &r.response_uri)?;
    let resp = net
        .http()
        .post(url.clone())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .map_err(|e| WalletError::network(url.as_str(), &e))?;
    if resp.status().is_success() {
        return Ok(());
    }
    Err(refusal(resp).await)
}

/// The key and content encryption an encrypted answer uses: the first P-256 key for
/// encryption in the request's `client_metadata.jwks`, and the first of its
/// `encrypted_response_enc_values_supported` this wallet can do (A128GCM when it names none).
fn encryption_key(
    r: &oid4vp::AuthorizationRequest,
) -> Result<(&Value, oid4vp::jwe::Enc), WalletError> {
    let metadata = r.client_metadata.as_ref();
    let recipient = metadata
        .and_then(|m| m["jwks"]["keys"].as_array())
        .into_iter()
        .flatten()
        .find(|k| {
            k["kty"] == "EC"
                && k["crv"] == "P-256"
                && k.get("use").is_none_or(|u| u == "enc")
                && k.get("alg").is_none_or(|a| a == oid4vp::jwe::ALG)
        })
        .ok_or_else(|| {
            bad("it asks for an encrypted answer but offers no P-256 key to encrypt to")
        })?;
    let enc = match metadata.and_then(|m| m["encrypted_response_enc_values_supported"].as_array()) {
        None => oid4vp::jwe::Enc::A128Gcm,
        Some(offered) => offered
            .iter()
            .filter_map(Value::as_str)
            .find_map(oid4vp::jwe::Enc::from_name)
            .ok_or_else(|| bad("it offers no content encryption this wallet can do"))?,
    };
    Ok((recipient, enc))
}

/// What a refusing service said (`error`, `error_description`), read within 64 KiB.
async fn refusal(resp: reqwest::Response) -> WalletError {
    let status = resp.status();
    let url = resp.url().to_string();
    let body: Value = read_bounded(resp, 64 * 1024)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    WalletError::Refused {
        code: body["error"].as_str().unwrap_or("refused").to_owned(),
        description: body["error_description"]
            .as_str()
            .map_or_else(|| format!("{url} answered {status}"), str::to_owned),
    }
}
