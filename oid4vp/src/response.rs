//! The wallet's answer (§8): a `vp_token` keyed by the DCQL query's credential query ids,
//! each a non-empty array of presentations (an SD-JWT with its key binding as a string; a
//! Data Integrity presentation as an object), sent by `direct_post` as a form.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Limits;
use crate::error::MessageError;

const WHAT: &str = "response";

/// Presentations by credential query id.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct VpToken(pub BTreeMap<String, Vec<Value>>);

impl VpToken {
    /// Checks it against the query it answers: every id is one of the query's, each array is
    /// non-empty and holds one presentation unless the query allows `multiple`, each
    /// presentation is a string or an object, and there are not too many.
    pub fn check_shape(&self, query: &dcql::Query, limits: &Limits) -> Result<(), MessageError> {
        let total: usize = self.0.values().map(Vec::len).sum();
        MessageError::bound("vp_token (presentations)", total, limits.max_presentations)?;
        for (id, presentations) in &self.0 {
            let q = query.credential(id).ok_or_else(|| {
                MessageError::invalid(WHAT, format!("\"{id}\" is not an id of the query"))
            })?;
            if presentations.is_empty() {
                return Err(MessageError::invalid(
                    WHAT,
                    format!("\"{id}\" holds no presentation"),
                ));
            }
            if presentations.len() > 1 && !q.multiple {
                return Err(MessageError::invalid(
                    WHAT,
                    format!(
                        "\"{id}\" holds {} presentations; the query asks for one",
                        presentations.len()
                    ),
                ));
            }
            if presentations
                .iter()
                .any(|p| !p.is_string() && !p.is_object())
            {
                return Err(MessageError::invalid(
                    WHAT,
                    format!("a presentation under \"{id}\" is neither a string nor an object"),
                ));
            }
        }
        Ok(())
    }

    /// Reads a `vp_token` (its JSON text).
    pub fn parse(json: &str) -> Result<Self, MessageError> {
        let map: BTreeMap<String, Value> = serde_json::from_str(json)
            .map_err(|_| MessageError::malformed(WHAT, "vp_token is not a JSON object"))?;
        let mut out = BTreeMap::new();
        for (id, v) in map {
            match v {
                Value::Array(a) => {
                    out.insert(id, a);
                }
                _ => {
                    return Err(MessageError::malformed(
                        WHAT,
                        format!("vp_token's \"{id}\" is not an array of presentations"),
                    ));
                }
            }
        }
        Ok(Self(out))
    }
}

/// The extension parameter that carries each presentation's registry proofs and status lists
/// (ADR 0022).
pub const STAPLES_PARAM: &str = "alliance_staples";

/// A `direct_post` body: `vp_token`, the request's `state`, and Alliance ID's stapled
/// material (`alliance_staples`: keyed like `vp_token`, each an array parallel to its
/// presentations of `{"registryProofs": […], "statusLists": {…}}`; ADR 0022).
#[derive(Clone, Debug, PartialEq)]
pub struct DirectPost {
    pub vp_token: VpToken,
    pub state: Option<String>,
    pub staples: Option<Value>,
}

impl DirectPost {
    /// The form body (`application/x-www-form-urlencoded`).
    pub fn to_form(&self) -> String {
        let token = serde_json::to_string(&self.vp_token.0).unwrap_or_else(|_| "{}".into());
        let mut f = url::form_urlencoded::Serializer::new(String::new());
        f.append_pair("vp_token", &token);
        if let Some(s) = &self.state {
            f.append_pair("state", s);
        }
        if let Some(s) = &self.staples {
            f.append_pair(STAPLES_PARAM, &s.to_string());
        }
        f.finish()
    }

    /// The members as the JSON object an encrypted response carries (§8.3: the response
    /// parameters as its top-level members).
    pub fn to_json(&self) -> Value {
        let mut o = serde_json::Map::new();
        o.insert(
            "vp_token".into(),
            serde_json::to_value(&self.vp_token.0).unwrap_or_default(),
        );
        if let Some(s) = &self.state {
            o.insert("state".into(), Value::String(s.clone()));
        }
        if let Some(s) = &self.staples {
            o.insert(STAPLES_PARAM.into(), s.clone());
        }
        Value::Object(o)
    }

    /// The `direct_post.jwt` form body: `response`, the members encrypted to `recipient`
    /// (a JWK of the request's `client_metadata.jwks`) with `enc`.
    pub fn to_encrypted_form(
        &self,
        recipient: &Value,
        enc: crate::jwe::Enc,
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<String, MessageError> {
        let plaintext = serde_json::to_vec(&self.to_json())
            .map_err(|e| MessageError::malformed(WHAT, e.to_string()))?;
        let jwe = crate::jwe::encrypt(&plaintext, recipient, enc, rng)?;
        let mut f = url::form_urlencoded::Serializer::new(String::new());
        f.append_pair("response", &jwe);
        Ok(f.finish())
    }

    /// Reads a `direct_post.jwt` form body, bounded: `response` once, decrypted with the
    /// request's `key` (one of `accepted` content encryptions), then its members as
    /// [`Self::parse`] reads them.
    pub fn parse_encrypted(
        body: &[u8],
        key: &crate::jwe::DecryptionKey,
        accepted: &[crate::jwe::Enc],
        limits: &Limits,
    ) -> Result<Self, MessageError> {
        MessageError::bound(WHAT, body.len(), limits.max_response_bytes)?;
        let mut response = None;
        for (k, v) in url::form_urlencoded::parse(body) {
            match k.as_ref() {
                "response" if response.replace(v.into_owned()).is_some() => {
                    return Err(MessageError::invalid(WHAT, "it holds response twice"));
                }
                "vp_token" => {
                    return Err(MessageError::invalid(
                        WHAT,
                        "this request takes only an encrypted response (direct_post.jwt)",
                    ));
                }
                _ => {}
            }
        }
        let jwe = response
            .ok_or_else(|| MessageError::invalid(WHAT, "it holds no encrypted response"))?;
        let plaintext = key.decrypt(&jwe, accepted, limits.max_response_bytes)?;
        let v: Value = serde_json::from_slice(&plaintext)
            .map_err(|_| MessageError::malformed(WHAT, "the decrypted response is not JSON"))?;
        let Value::Object(o) = v else {
            return Err(MessageError::malformed(
                WHAT,
                "the decrypted response is not a JSON object",
            ));
        };
        let token = o
            .get("vp_token")
            .ok_or_else(|| MessageError::invalid(WHAT, "it holds no vp_token"))?;
        let state = match o.get("state") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(MessageError::malformed(WHAT, "state is not a string")),
        };
        let staples = match o.get(STAPLES_PARAM) {
            None => None,
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(_) => {
                return Err(MessageError::malformed(
                    WHAT,
                    format!("{STAPLES_PARAM} is not a JSON object"),
                ));
            }
        };
        Ok(Self {
            vp_token: VpToken::parse(&token.to_string())?,
            state,
            staples,
        })
    }

    /// Reads a form body, bounded; `vp_token` once, `state` at most once.
    pub fn parse(body: &[u8], limits: &Limits) -> Result<Self, MessageError> {
        MessageError::bound(WHAT, body.len(), limits.max_response_bytes)?;
        let (mut token, mut state, mut staples) = (None, None, None);
        for (k, v) in url::form_urlencoded::parse(body) {
            let slot = match k.as_ref() {
                "vp_token" => &mut token,
                "state" => &mut state,
                STAPLES_PARAM => &mut staples,
                _ => continue,
            };
            if slot.replace(v.into_owned()).is_some() {
                return Err(MessageError::invalid(WHAT, format!("it holds {k} twice")));
            }
        }
        let token = token.ok_or_else(|| MessageError::invalid(WHAT, "it holds no vp_token"))?;
        let staples = match staples {
            None => None,
            Some(text) => match serde_json::from_str::<Value>(&text) {
                Ok(v @ Value::Object(_)) => Some(v),
                _ => {
                    return Err(MessageError::malformed(
                        WHAT,
                        format!("{STAPLES_PARAM} is not a JSON object"),
                    ));
                }
            },
        };
        Ok(Self {
            vp_token: VpToken::parse(&token)?,
            state,
            staples,
        })
    }
}
