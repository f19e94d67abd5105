//! Reading a compact SD-JWT (`<issuer JWT>~<disclosure>~…~<key-binding JWT>`): its parts
//! split, its two JWTs decoded, and its disclosures matched to the digests of the issuer's
//! payload, following "Verification of the SD-JWT" in the SD-JWT specification
//! (draft-ietf-oauth-selective-disclosure-jwt, in `../shared/vectors/sd-jwt`).
//!
//! The disclosures themselves are decoded and hashed by ssi ([`DecodedDisclosure`],
//! [`SdAlg`]). What is here is the walk that puts them back in place: ssi's own reveal deep-copies
//! the whole payload and passes it through its `JWTClaims` type and back, which cost a third
//! of an SD-JWT VC check outside its two signatures (ADR 0016). This walk moves every value
//! once, and it makes checks ssi leaves out: a digest met twice, a disclosure named `_sd` or
//! `...`, critical JOSE header parameters, and a bound on nesting.
//!
//! Nothing here verifies a signature: [`crate::sdjwt`] does, over
//! [`Compact::signing_input`].

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};
use ssi::claims::sd_jwt::{DecodedDisclosure, DisclosureDescription, SdAlg};

/// Deepest nesting of the revealed claims, counting the levels that disclosures add.
pub(crate) const MAX_NESTING: usize = 100;

/// The JOSE header parameters a verifier here reads.
#[derive(Debug, Deserialize)]
pub(crate) struct Header {
    pub alg: String,
    #[serde(default)]
    pub typ: Option<String>,
    #[serde(default)]
    pub kid: Option<String>,
    /// Extensions the signer marks as critical (RFC 7515 §4.1.11): none is understood here,
    /// so a JWT that has any is refused.
    #[serde(default)]
    crit: Option<Value>,
}

/// A compact JWS split and decoded (signature not checked).
#[derive(Debug)]
pub(crate) struct Jwt<'a> {
    /// `<header>.<payload>`, the bytes the signature covers.
    pub signing_input: &'a str,
    pub header: Header,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Why a compact SD-JWT could not be read; the text is the reason a verdict shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompactError {
    /// Not in the compact serialization.
    #[error("not a compact SD-JWT: {0}")]
    Syntax(String),
    /// A part does not decode (base64url, JSON, header, `_sd_alg`).
    #[error("SD-JWT cannot be decoded: {0}")]
    Decode(String),
    /// The disclosures do not fit the digests of the payload.
    #[error("disclosures: {0}")]
    Disclosures(String),
}

impl CompactError {
    /// The reason alone, without the stage it names.
    pub(crate) fn reason(&self) -> &str {
        match self {
            CompactError::Syntax(m) | CompactError::Decode(m) | CompactError::Disclosures(m) => m,
        }
    }
}

/// A compact SD-JWT with its claims revealed.
#[derive(Debug)]
pub(crate) struct Compact<'a> {
    /// The issuer-signed JWT.
    pub jwt: Jwt<'a>,
    /// The payload with every presented disclosure in place and every digest removed
    /// (`_sd_alg` removed too).
    pub claims: Map<String, Value>,
    pub sd_alg: SdAlg,
    /// The issuer JWT and the disclosures, each followed by `~`: what a key-binding JWT's
    /// `sd_hash` covers.
    pub presented: &'a str,
    /// The key-binding JWT, when there is one (not decoded: see [`Jwt::parse`]).
    pub kb: Option<&'a str>,
}

/// Decodes `part`, the `which` (header, payload, signature) of the JWT `what` names.
fn b64(part: &str, what: &str, which: &str) -> Result<Vec<u8>, CompactError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| CompactError::Decode(format!("{what} {which} is not base64url")))
}

impl<'a> Jwt<'a> {
    /// Splits and decodes a compact JWS; `what` names it in errors.
    pub(crate) fn parse(text: &'a str, what: &str) -> Result<Self, CompactError> {
        let mut parts = text.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CompactError::Syntax(format!(
                "{what} does not have three dot-separated parts"
            )));
        };
        let signing_input = &text[..h.len() + 1 + p.len()];
        let header: Header = serde_json::from_slice(&b64(h, what, "header")?)
            .map_err(|e| CompactError::Decode(format!("{what} header: {e}")))?;
        if header.alg.eq_ignore_ascii_case("none") {
            return Err(CompactError::Decode(format!(
                "{what} is unsecured (alg none), which is never accepted"
            )));
        }
        if header.crit.is_some() {
            return Err(CompactError::Decode(format!(
                "{what} header marks extensions as critical (crit), which this verifier does not support"
            )));
        }
        Ok(Jwt {
            signing_input,
            header,
            payload: b64(p, what, "payload")?,
            signature: b64(s, what, "signature")?,
        })
    }
}

impl<'a> Compact<'a> {
    /// Splits `text`, decodes the issuer JWT and reveals the claims its disclosures carry.
    pub(crate) fn parse(text: &'a str) -> Result<Self, CompactError> {
        let Some(last_tilde) = text.rfind('~') else {
            return Err(CompactError::Syntax(
                "no '~': an SD-JWT is <issuer JWT>~<disclosures>~…".into(),
            ));
        };
        let presented = &text[..=last_tilde];
        let kb = Some(&text[last_tilde + 1..]).filter(|k| !k.is_empty());
        let mut parts = presented[..last_tilde].split('~');
        let jwt_text = parts.next().unwrap_or_default();
        let encoded: Vec<&str> = parts.collect();
        if encoded.iter().any(|d| d.is_empty()) {
            return Err(CompactError::Syntax("empty disclosure ('~~')".into()));
        }
        let jwt = Jwt::parse(jwt_text, "issuer JWT")?;
        let mut payload: Map<String, Value> = serde_json::from_slice(&jwt.payload)
            .map_err(|e| CompactError::Decode(format!("issuer JWT payload: {e}")))?;
        let sd_alg = match payload.remove("_sd_alg") {
            None => SdAlg::Sha256,
            Some(Value::String(s)) => SdAlg::try_from(s.as_str())
                .map_err(|_| CompactError::Decode(format!("_sd_alg {s} is not supported")))?,
            Some(_) => return Err(CompactError::Decode("_sd_alg is not a string".into())),
        };
        let mut pool = Pool::new(&encoded, sd_alg)?;
        reveal_object(&mut payload, &mut pool, 1)?;
        if let Some(unused) = pool.unused() {
            return Err(CompactError::Disclosures(format!(
                "disclosure {unused} matches no digest of the issuer-signed payload"
            )));
        }
        Ok(Compact {
            jwt,
            claims: payload,
            sd_alg,
            presented,
            kb,
        })
    }
}

/// The presented disclosures, by digest, each usable once.
struct Pool<'d> {
    by_digest: HashMap<String, usize>,
    disclosures: Vec<Option<DisclosureDescription>>,
    encoded: &'d [&'d str],
    /// Every digest met so far in the payload and in revealed values, decoys included.
    seen: HashSet<String>,
}

impl<'d> Pool<'d> {
    fn new(encoded: &'d [&'d str], sd_alg: SdAlg) -> Result<Self, CompactError> {
        let mut by_digest = HashMap::with_capacity(encoded.len());
        let mut disclosures = Vec::with_capacity(encoded.len());
        for (i, e) in encoded.iter().enumerate() {
            let d = DecodedDisclosure::new(e)
                .map_err(|err| CompactError::Decode(format!("disclosure {e}: {err}")))?;
            if by_digest.insert(sd_alg.hash(e), i).is_some() {
                return Err(CompactError::Disclosures(format!(
                    "disclosure {e} is presented twice"
                )));
            }
            disclosures.push(Some(d.desc));
        }
        Ok(Pool {
            by_digest,
            disclosures,
            encoded,
            seen: HashSet::new(),
        })
    }

    /// The disclosure `digest` stands for, taken out of the pool (a digest can be met only
    /// once, so neither can a disclosure). `None` for a decoy or an undisclosed claim.
    fn take(&mut self, digest: String) -> Result<Option<DisclosureDescription>, CompactError> {
        let i = self.by_digest.get(&digest).copied();
        if !self.seen.insert(digest) {
            return Err(CompactError::Disclosures(
                "a digest appears more than once in the issuer-signed payload".into(),
            ));
        }
        Ok(i.and_then(|i| self.disclosures.get_mut(i).and_then(Option::take)))
    }

    fn unused(&self) -> Option<&str> {
        self.disclosures
            .iter()
            .zip(self.encoded)
            .find(|(d, _)| d.is_some())
            .map(|(_, e)| *e)
    }
}

fn too_deep() -> CompactError {
    CompactError::Disclosures(format!(
        "the revealed claims nest deeper than {MAX_NESTING} levels"
    ))
}

fn reveal_value(value: &mut Value, pool: &mut Pool<'_>, depth: usize) -> Result<(), CompactError> {
    match value {
        Value::Object(o) => reveal_object(o, pool, depth + 1),
        Value::Array(a) => reveal_array(a, pool, depth + 1),
        _ => Ok(()),
    }
}

fn reveal_object(
    object: &mut Map<String, Value>,
    pool: &mut Pool<'_>,
    depth: usize,
) -> Result<(), CompactError> {
    if depth > MAX_NESTING {
        return Err(too_deep());
    }
    if let Some(sd) = object.remove("_sd") {
        let Value::Array(digests) = sd else {
            return Err(CompactError::Disclosures("_sd is not an array".into()));
        };
        for digest in digests {
            let Value::String(digest) = digest else {
                return Err(CompactError::Disclosures(
                    "_sd holds a digest that is not a string".into(),
                ));
            };
            match pool.take(digest)? {
                None => {}
                Some(DisclosureDescription::ObjectEntry { key, value }) => {
                    if key == "_sd" || key == "..." {
                        return Err(CompactError::Disclosures(format!(
                            "a disclosure may not be named {key}"
                        )));
                    }
                    if object.contains_key(&key) {
                        return Err(CompactError::Disclosures(format!(
                            "disclosed claim {key} is already in the payload"
                        )));
                    }
                    object.insert(key, value);
                }
                Some(DisclosureDescription::ArrayItem(_)) => {
                    return Err(CompactError::Disclosures(
                        "an array-element disclosure is referenced from _sd".into(),
                    ));
                }
            }
        }
    }
    for value in object.values_mut() {
        reveal_value(value, pool, depth)?;
    }
    Ok(())
}

/// The digest of a concealed array element: an object whose only member is `...`, a
/// string. (Any other element is a value in the clear.)
fn element_digest(item: &mut Value) -> Option<String> {
    match item {
        Value::Object(o) if o.len() == 1 => match o.get_mut("...") {
            Some(Value::String(s)) => Some(std::mem::take(s)),
            _ => None,
        },
        _ => None,
    }
}

fn reveal_array(
    array: &mut Vec<Value>,
    pool: &mut Pool<'_>,
    depth: usize,
) -> Result<(), CompactError> {
    if depth > MAX_NESTING {
        return Err(too_deep());
    }
    let mut out = Vec::with_capacity(array.len());
    for mut item in array.drain(..) {
        match element_digest(&mut item) {
            None => {
                reveal_value(&mut item, pool, depth)?;
                out.push(item);
            }
            Some(digest) => match pool.take(digest)? {
                // A decoy or an element not disclosed: left out.
                None => {}
                Some(DisclosureDescription::ArrayItem(mut value)) => {
                    reveal_value(&mut value, pool, depth)?;
                    out.push(value);
                }
                Some(DisclosureDescription::ObjectEntry { .. }) => {
                    return Err(CompactError::Disclosures(
                        "an object-property disclosure is referenced from an array".into(),
                    ));
                }
            },
        }
    }
    *array = out;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn enc(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    fn disclosure(v: Value) -> (String, String) {
        let e = enc(&v);
        let d = SdAlg::Sha256.hash(&e);
        (e, d)
    }

    /// An SD-JWT text with `payload` (unsigned: this module does not check signatures).
    fn sd_jwt(payload: &Value, disclosures: &[&str], kb: &str) -> String {
        let mut s = format!(
            "{}.{}.{}~",
            enc(&json!({"alg": "EdDSA", "typ": "dc+sd-jwt"})),
            enc(payload),
            URL_SAFE_NO_PAD.encode([0u8; 64])
        );
        for d in disclosures {
            s.push_str(d);
            s.push('~');
        }
        s.push_str(kb);
        s
    }

    fn err(text: &str) -> String {
        Compact::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn reveals_object_properties_array_elements_and_nested_disclosures() {
        let (given, d_given) = disclosure(json!(["s1", "given_name", "Ada"]));
        let (de, d_de) = disclosure(json!(["s2", "DE"]));
        let (street, d_street) = disclosure(json!(["s3", "street", "Main St"]));
        let (addr, d_addr) =
            disclosure(json!(["s4", "address", {"_sd": [d_street], "city": "Bonn"}]));
        let payload = json!({
            "iss": "did:example:1",
            "_sd_alg": "sha-256",
            "_sd": [d_given, d_addr, "decoy-digest"],
            "nationalities": [{"...": d_de}, "FR", {"...": "undisclosed"}],
        });
        let text = sd_jwt(&payload, &[&given, &de, &street, &addr], "");
        let c = Compact::parse(&text).unwrap();
        assert_eq!(
            Value::Object(c.claims),
            json!({
                "iss": "did:example:1",
                "given_name": "Ada",
                "nationalities": ["DE", "FR"],
                "address": {"city": "Bonn", "street": "Main St"},
            })
        );
        assert!(c.kb.is_none());
        assert!(c.presented.ends_with('~') && text.starts_with(c.presented));
        assert_eq!(c.jwt.header.typ.as_deref(), Some("dc+sd-jwt"));
    }

    #[test]
    fn the_key_binding_jwt_is_split_off() {
        let text = sd_jwt(&json!({"iss": "x"}), &[], "a.b.c");
        let c = Compact::parse(&text).unwrap();
        assert_eq!(c.kb, Some("a.b.c"));
        assert_eq!(c.presented, &text[..text.len() - 5]);
    }

    #[test]
    fn disclosures_that_do_not_fit_the_payload_are_refused() {
        let (given, d_given) = disclosure(json!(["s1", "given_name", "Ada"]));
        let (item, d_item) = disclosure(json!(["s2", "DE"]));
        let (sd_named, d_sd_named) = disclosure(json!(["s3", "_sd", "x"]));
        let cases: Vec<(String, &str)> = vec![
            // Presented but matching no digest.
            (
                sd_jwt(&json!({"_sd": []}), &[&given], ""),
                "matches no digest",
            ),
            // The same disclosure twice.
            (
                sd_jwt(&json!({"_sd": [d_given]}), &[&given, &given], ""),
                "presented twice",
            ),
            // One digest twice in the payload.
            (
                sd_jwt(&json!({"_sd": [d_given, d_given]}), &[&given], ""),
                "more than once",
            ),
            (
                sd_jwt(&json!({"_sd": ["x"], "a": [{"...": "x"}]}), &[], ""),
                "more than once",
            ),
            // A disclosed claim already in the clear.
            (
                sd_jwt(
                    &json!({"_sd": [d_given], "given_name": "Eve"}),
                    &[&given],
                    "",
                ),
                "already in the payload",
            ),
            (sd_jwt(&json!({"_sd": "x"}), &[], ""), "_sd is not an array"),
            (sd_jwt(&json!({"_sd": [1]}), &[], ""), "not a string"),
            (
                sd_jwt(&json!({"_sd": [d_item]}), &[&item], ""),
                "array-element disclosure",
            ),
            (
                sd_jwt(&json!({"a": [{"...": d_given}]}), &[&given], ""),
                "object-property disclosure",
            ),
            (
                sd_jwt(&json!({"_sd": [d_sd_named]}), &[&sd_named], ""),
                "may not be named _sd",
            ),
        ];
        for (text, reason) in cases {
            let e = err(&text);
            assert!(e.contains(reason), "{reason}: {e}");
        }
    }

    #[test]
    fn malformed_text_is_refused_with_its_reason() {
        assert!(err("abc").contains("no '~'"));
        assert!(err("a.b~").contains("three dot-separated parts"));
        assert!(err("a.b.c.d~").contains("three dot-separated parts"));
        assert!(err("!!.b.c~").contains("not base64url"));
        let ok = sd_jwt(&json!({"iss": "x"}), &[], "");
        assert!(err(&format!("{ok}~")).contains("empty disclosure"));
        assert!(err(&format!("{}AAAA~", &ok)).contains("disclosure"));
        let alg = sd_jwt(&json!({"_sd_alg": "md5"}), &[], "");
        assert!(err(&alg).contains("md5 is not supported"));
        let not_object = sd_jwt(&json!([1, 2]), &[], "");
        assert!(err(&not_object).contains("payload"));
    }

    #[test]
    fn critical_header_extensions_are_refused() {
        let text = format!(
            "{}.{}.{}~",
            enc(&json!({"alg": "EdDSA", "crit": ["b64"], "b64": false})),
            enc(&json!({"iss": "x"})),
            URL_SAFE_NO_PAD.encode([0u8; 64])
        );
        assert!(err(&text).contains("crit"));
        let none = format!(
            "{}.{}.~",
            enc(&json!({"alg": "none"})),
            enc(&json!({"iss": "x"}))
        );
        assert!(err(&none).contains("alg none"));
    }

    #[test]
    fn an_element_whose_only_member_is_not_a_digest_string_stays_in_the_clear() {
        let text = sd_jwt(&json!({"a": [{"...": 7}, {"...": "d", "b": 1}]}), &[], "");
        let c = Compact::parse(&text).unwrap();
        assert_eq!(c.claims["a"], json!([{"...": 7}, {"...": "d", "b": 1}]));
    }

    #[test]
    fn disclosures_cannot_nest_without_bound() {
        // Each disclosure holds the digest of the next: nesting grows by one per disclosure,
        // past what any single JSON text may hold.
        let mut encoded = Vec::new();
        let (e, mut digest) = disclosure(json!(["s", "v", 1]));
        encoded.push(e);
        for i in 0..MAX_NESTING + 5 {
            let (e, d) = disclosure(json!([format!("s{i}"), "n", {"_sd": [digest]}]));
            encoded.push(e);
            digest = d;
        }
        let refs: Vec<&str> = encoded.iter().map(String::as_str).collect();
        let text = sd_jwt(&json!({"_sd": [digest]}), &refs, "");
        assert!(err(&text).contains("deeper than"));
    }

    /// The same claims as ssi's own reveal, over every subset of concealed claims (objects,
    /// arrays and nested ones) and every subset of the disclosures presented.
    #[test]
    fn agrees_with_ssi_on_what_is_revealed_and_what_is_refused() {
        use ssi::claims::sd_jwt::{JsonPointerBuf, SdJwt, SdJwtPayload};
        let claims = json!({
            "iss": "did:example:1",
            "given_name": "Ada",
            "address": {"street": "Main St", "city": "Bonn", "geo": {"lat": 50.7, "lon": 7.1}},
            "nationalities": ["DE", "FR", {"kind": "dual"}],
            "degrees": [{"type": "BSc", "year": 1835}],
        });
        let pointers = [
            "/given_name",
            "/address",
            "/address/street",
            "/address/geo/lat",
            "/nationalities/0",
            "/nationalities/2",
            "/nationalities/1",
            "/address/geo",
        ];
        let mut compared = 0;
        for mask in 0u32..(1 << pointers.len()) {
            let chosen: Vec<JsonPointerBuf> = pointers
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, p)| JsonPointerBuf::new(p.to_string()).unwrap())
                .collect();
            let (payload, disclosures) =
                SdJwtPayload::conceal(claims.as_object().unwrap(), SdAlg::Sha256, &chosen).unwrap();
            let payload = serde_json::to_value(&payload).unwrap();
            let encoded: Vec<&str> = disclosures.iter().map(|d| d.encoded.as_str()).collect();
            // Every disclosure, then each one left out in turn.
            let mut presentations = vec![encoded.clone()];
            for skip in 0..encoded.len() {
                let mut e = encoded.clone();
                e.remove(skip);
                presentations.push(e);
            }
            for presented in presentations {
                let text = sd_jwt(&payload, &presented, "");
                let ours = Compact::parse(&text).map(|c| Value::Object(c.claims));
                let theirs = SdJwt::new(&text)
                    .unwrap()
                    .decode()
                    .unwrap()
                    .reveal_any()
                    .map(|r| {
                        let mut v = serde_json::to_value(r.claims()).unwrap();
                        v.as_object_mut().unwrap().remove("_sd_alg");
                        v
                    });
                match (ours, theirs) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b, "{mask:b}"),
                    (Err(_), Err(_)) => {}
                    (a, b) => panic!("{mask:b} {presented:?}: ours {a:?}, ssi {b:?}"),
                }
                compared += 1;
            }
        }
        assert!(compared > 1000, "{compared}");
    }
}
