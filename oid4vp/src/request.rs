//! The authorization request as a signed request object (OpenID4VP 1.0 §5, RFC 9101), with
//! the `decentralized_identifier:` client identifier prefix (§5.9.3).

use did_method::{PublicKey, SecretKey};
use serde_json::{Map, Value, json};

use crate::Limits;
use crate::error::MessageError;
use crate::jws::{self, Compact};

/// The JOSE `typ` of a request object (§5.1 / RFC 9101).
pub const REQUEST_TYP: &str = "oauth-authz-req+jwt";
/// The client identifier prefix of a verifier identified by a DID (§5.9.3).
pub const CLIENT_ID_PREFIX: &str = "decentralized_identifier:";
/// The `aud` of a request object for a wallet with static discovery metadata (§5.8).
pub const SELF_ISSUED_AUDIENCE: &str = "https://self-issued.me/v2";
/// The request parameter that carries why the business asks (Alliance ID's extension).
pub const PURPOSE_PARAM: &str = "alliance_purpose";
/// The longest purpose read.
const MAX_PURPOSE_BYTES: usize = 2048;

/// How far ahead of the wallet's clock a request's `iat` may be.
const CLOCK_SKEW_S: i64 = 60;
const WHAT: &str = "request object";

/// Where the wallet sends its response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseMode {
    /// `direct_post`: the `vp_token` as a form post to `response_uri`.
    DirectPost,
    /// `direct_post.jwt`: the same, encrypted to the verifier (§8.3).
    DirectPostJwt,
}

impl ResponseMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DirectPost => "direct_post",
            Self::DirectPostJwt => "direct_post.jwt",
        }
    }
}

/// What a verifier asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthorizationRequest {
    /// `decentralized_identifier:<the verifier's DID>`.
    pub client_id: String,
    pub response_mode: ResponseMode,
    pub response_uri: String,
    /// Fresh, single use: the presentation's challenge (Data Integrity) or the key binding
    /// JWT's `nonce` (SD-JWT VC).
    pub nonce: String,
    pub state: Option<String>,
    pub dcql_query: dcql::Query,
    /// `client_metadata` (e.g. `vp_formats_supported`, `client_name`), passed through.
    pub client_metadata: Option<Value>,
    /// Why the business asks, in its own words ([`PURPOSE_PARAM`], an extension parameter
    /// other wallets ignore).
    pub purpose: Option<String>,
    /// Issued at and expiry, seconds since the Unix epoch.
    pub iat: Option<i64>,
    pub exp: Option<i64>,
}

impl AuthorizationRequest {
    /// The client identifier for a verifier's DID.
    pub fn client_id_for(did: &str) -> String {
        format!("{CLIENT_ID_PREFIX}{did}")
    }

    /// The verifier's DID (the client identifier without its prefix).
    pub fn client_did(&self) -> &str {
        self.client_id
            .strip_prefix(CLIENT_ID_PREFIX)
            .unwrap_or(&self.client_id)
    }

    /// The request object's claims.
    pub fn to_claims(&self) -> Value {
        let mut c = Map::new();
        c.insert("iss".into(), json!(self.client_id));
        c.insert("aud".into(), json!(SELF_ISSUED_AUDIENCE));
        c.insert("client_id".into(), json!(self.client_id));
        c.insert("response_type".into(), json!("vp_token"));
        c.insert("response_mode".into(), json!(self.response_mode.as_str()));
        c.insert("response_uri".into(), json!(self.response_uri));
        c.insert("nonce".into(), json!(self.nonce));
        if let Some(s) = &self.state {
            c.insert("state".into(), json!(s));
        }
        c.insert("dcql_query".into(), json!(self.dcql_query));
        if let Some(m) = &self.client_metadata {
            c.insert("client_metadata".into(), m.clone());
        }
        if let Some(p) = &self.purpose {
            c.insert(PURPOSE_PARAM.into(), json!(p));
        }
        if let Some(t) = self.iat {
            c.insert("iat".into(), json!(t));
        }
        if let Some(t) = self.exp {
            c.insert("exp".into(), json!(t));
        }
        Value::Object(c)
    }

    /// The signed request object, `kid` the verification method (a DID URL of the client's
    /// DID) whose key is `key`.
    pub fn sign(&self, key: &SecretKey, kid: &str) -> String {
        let header = json!({"typ": REQUEST_TYP, "alg": "EdDSA", "kid": kid});
        jws::sign(&header, &self.to_claims(), key)
    }
}

/// A request object read and checked in every way that needs no key or clock.
#[derive(Clone, Debug)]
pub struct SignedRequest {
    pub request: AuthorizationRequest,
    /// The verification method that signed: a DID URL of the client's own DID.
    pub kid: String,
    jws: Compact,
}

fn member<'a>(
    claims: &'a Map<String, Value>,
    name: &str,
    max: usize,
) -> Result<&'a str, MessageError> {
    let s = claims
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| MessageError::invalid(WHAT, format!("{name} is missing")))?;
    if s.len() > max {
        return Err(MessageError::invalid(WHAT, format!("{name} is too long")));
    }
    Ok(s)
}

fn seconds(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, MessageError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| {
            MessageError::invalid(WHAT, format!("{name} is not a number of seconds"))
        }),
    }
}

impl SignedRequest {
    /// Reads a request object (the body `request_uri` returned).
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Self, MessageError> {
        MessageError::bound(WHAT, bytes.len(), limits.max_request_bytes)?;
        let text = std::str::from_utf8(bytes)
            .map_err(|_| MessageError::malformed(WHAT, "it is not text"))?;
        let jws = Compact::parse(text).map_err(|why| MessageError::malformed(WHAT, why))?;
        let h = &jws.header;
        // Media types compare without regard to case.
        if !h
            .get("typ")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case(REQUEST_TYP))
        {
            return Err(MessageError::invalid(
                WHAT,
                format!("its typ is not {REQUEST_TYP}"),
            ));
        }
        if h.get("alg").and_then(Value::as_str) != Some("EdDSA") {
            return Err(MessageError::invalid(
                WHAT,
                "it is not signed with EdDSA (Ed25519)",
            ));
        }
        let kid = h
            .get("kid")
            .and_then(Value::as_str)
            .ok_or_else(|| MessageError::invalid(WHAT, "its header names no key (kid)"))?
            .to_owned();
        let c = &jws.payload;
        let client_id = member(c, "client_id", 512)?;
        let did = client_id.strip_prefix(CLIENT_ID_PREFIX).ok_or_else(|| {
            MessageError::invalid(
                WHAT,
                format!("its client_id does not start with {CLIENT_ID_PREFIX}"),
            )
        })?;
        if !did.starts_with("did:") {
            return Err(MessageError::invalid(WHAT, "its client_id names no DID"));
        }
        // §5.9.3: signed by a key of the DID the client identifier names.
        if kid.split_once('#').map(|(d, _)| d) != Some(did) {
            return Err(MessageError::invalid(
                WHAT,
                format!("it is signed by {kid}, not by a key of {did}"),
            ));
        }
        if c.get("response_type").and_then(Value::as_str) != Some("vp_token") {
            return Err(MessageError::invalid(
                WHAT,
                "its response_type is not vp_token",
            ));
        }
        let response_mode = match c.get("response_mode").and_then(Value::as_str) {
            Some("direct_post") => ResponseMode::DirectPost,
            Some("direct_post.jwt") => ResponseMode::DirectPostJwt,
            other => {
                return Err(MessageError::invalid(
                    WHAT,
                    format!(
                        "its response_mode {} is not direct_post",
                        other.unwrap_or("(none)")
                    ),
                ));
            }
        };
        let response_uri = member(c, "response_uri", 2048)?;
        match url::Url::parse(response_uri) {
            Ok(u) if u.scheme() == "https" || u.scheme() == "http" => {}
            _ => {
                return Err(MessageError::invalid(
                    WHAT,
                    "its response_uri is not a web address",
                ));
            }
        }
        if c.contains_key("presentation_definition") || c.contains_key("scope") {
            return Err(MessageError::invalid(
                WHAT,
                "it asks by presentation_definition or scope; only dcql_query is supported",
            ));
        }
        if c.contains_key("request_uri") || c.contains_key("request") {
            return Err(MessageError::invalid(
                WHAT,
                "a request object must not hold another",
            ));
        }
        if let Some(aud) = c.get("aud")
            && aud.as_str() != Some(SELF_ISSUED_AUDIENCE)
        {
            return Err(MessageError::invalid(
                WHAT,
                format!("its aud is not {SELF_ISSUED_AUDIENCE}"),
            ));
        }
        let query = c
            .get("dcql_query")
            .cloned()
            .ok_or_else(|| MessageError::invalid(WHAT, "it has no dcql_query"))?;
        let dcql_query = dcql::Query::from_value(query, &limits.dcql)?;
        let state = match c.get("state") {
            None => None,
            Some(_) => Some(member(c, "state", 512)?.to_owned()),
        };
        let client_metadata = match c.get("client_metadata") {
            None => None,
            Some(m @ Value::Object(_)) => Some(m.clone()),
            Some(_) => {
                return Err(MessageError::invalid(
                    WHAT,
                    "its client_metadata is not an object",
                ));
            }
        };
        let purpose = match c.get(PURPOSE_PARAM) {
            None => None,
            Some(_) => Some(member(c, PURPOSE_PARAM, MAX_PURPOSE_BYTES)?.to_owned()),
        };
        let request = AuthorizationRequest {
            purpose,
            client_id: client_id.to_owned(),
            response_mode,
            response_uri: response_uri.to_owned(),
            nonce: member(c, "nonce", 512)?.to_owned(),
            state,
            dcql_query,
            client_metadata,
            iat: seconds(c, "iat")?,
            exp: seconds(c, "exp")?,
        };
        Ok(Self { request, kid, jws })
    }

    /// Checks the signature with `key`, the key the client's DID document (proven on the
    /// registry) lists under [`Self::kid`].
    pub fn verify_signature(&self, key: &PublicKey) -> Result<(), MessageError> {
        if self.jws.verify(key) {
            Ok(())
        } else {
            Err(MessageError::Signature {
                kid: self.kid.clone(),
            })
        }
    }

    /// Refuses an expired request, or one issued in the future (`now_s`: the wallet's clock).
    pub fn check_time(&self, now_s: i64) -> Result<(), MessageError> {
        if let Some(exp) = self.request.exp
            && now_s >= exp
        {
            return Err(MessageError::Time {
                why: format!("expired {} s ago", now_s.saturating_sub(exp)),
            });
        }
        if let Some(iat) = self.request.iat
            && iat > now_s.saturating_add(CLOCK_SKEW_S)
        {
            return Err(MessageError::Time {
                why: "is dated in the future".into(),
            });
        }
        Ok(())
    }
}
