//! The link (or QR text) that starts a presentation: `openid4vp://?client_id=…&request_uri=…`
//! (§5.10; the request itself is fetched from `request_uri`).

use crate::Limits;
use crate::error::MessageError;

const WHAT: &str = "presentation request link";
const SCHEME: &str = "openid4vp";

/// `client_id` and `request_uri`, as the link carries them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLink {
    pub client_id: String,
    pub request_uri: String,
}

impl RequestLink {
    /// Reads a link (`openid4vp://…`, or the same query on any scheme a verifier chose, e.g.
    /// `https://wallet.example/…?client_id=…&request_uri=…`).
    pub fn parse(text: &str, limits: &Limits) -> Result<Self, MessageError> {
        let text = text.trim();
        MessageError::bound(WHAT, text.len(), limits.max_link_bytes)?;
        let url =
            url::Url::parse(text).map_err(|e| MessageError::malformed(WHAT, e.to_string()))?;
        let (mut client_id, mut request_uri) = (None, None);
        for (k, v) in url.query_pairs() {
            let slot = match k.as_ref() {
                "client_id" => &mut client_id,
                "request_uri" => &mut request_uri,
                "request" => {
                    return Err(MessageError::invalid(
                        WHAT,
                        "it carries the request by value; only request_uri is accepted",
                    ));
                }
                _ => continue,
            };
            if slot.replace(v.into_owned()).is_some() {
                return Err(MessageError::invalid(WHAT, format!("it names {k} twice")));
            }
        }
        let client_id = client_id
            .filter(|s| !s.is_empty())
            .ok_or_else(|| MessageError::invalid(WHAT, "it has no client_id"))?;
        let request_uri = request_uri
            .filter(|s| !s.is_empty())
            .ok_or_else(|| MessageError::invalid(WHAT, "it has no request_uri"))?;
        match url::Url::parse(&request_uri) {
            Ok(u) if u.scheme() == "https" || u.scheme() == "http" => {}
            _ => {
                return Err(MessageError::invalid(
                    WHAT,
                    "its request_uri is not a web address",
                ));
            }
        }
        Ok(Self {
            client_id,
            request_uri,
        })
    }

    /// `openid4vp://?client_id=…&request_uri=…`.
    pub fn to_uri(&self) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .append_pair("request_uri", &self.request_uri)
            .finish();
        format!("{SCHEME}://?{query}")
    }
}
