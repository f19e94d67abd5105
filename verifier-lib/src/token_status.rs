//! IETF Token Status List (draft-ietf-oauth-status-list, in the RFC Editor queue): the status
//! mechanism of SD-JWT VCs. A credential carries `status.status_list = {idx, uri}`; the issuer
//! serves at `uri` a *Status List Token*, a JWT (`typ` `statuslist+jwt`) whose `status_list`
//! claim packs one status of `bits` bits per index, least significant bits first, ZLIB
//! compressed and base64url encoded (no padding).
//!
//! This module parses and encodes tokens and reads statuses; it never fetches. The signature,
//! the issuer binding and the registry anchor are checked by the verifier with the same rules
//! as the credential's own (`verify.rs`). ssi's `BitString` holds the bits; the base64url, the
//! JWT and the decompression bound are ours (ssi 0.16 pads `lst`, which the specification's
//! examples do not, and truncates an over-long list silently; see
//! `docs/research/token-status-list.md`).

use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use ssi::status::Compression;
use ssi::status::token_status_list::{BitString, StatusSize};

/// Header `typ` of a Status List Token.
pub const STATUS_LIST_TYP: &str = "statuslist+jwt";
/// The media type a Status List Token is served as.
pub const MEDIA_TYPE: &str = "application/statuslist+jwt";
/// The credential is valid.
pub const VALID: u8 = 0;
/// The credential is revoked (for good).
pub const INVALID: u8 = 1;
/// The credential is suspended (may become valid again).
pub const SUSPENDED: u8 = 2;

/// Largest decompressed list accepted (2^24 statuses of 8 bits): a compressed `lst` is tiny,
/// so this bounds what a hostile token can make a verifier allocate.
pub const MAX_LIST_BYTES: u64 = 16 * 1024 * 1024;

/// Why a `status` claim, a Status List Token or its list cannot be read. The text is the
/// reason a verdict shows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenStatusError {
    // A credential's `status` claim.
    #[error("the status claim has no status_list (the only mechanism supported)")]
    NoStatusList,
    #[error("status_list.idx is not a non-negative integer")]
    BadIdx,
    #[error("status_list.uri is not a URI")]
    BadUri,
    // A Status List Token.
    #[error("not a compact JWT (three dot-separated parts)")]
    NotCompact,
    /// `part`: `header` or `payload`.
    #[error("the {part} is not base64url")]
    NotBase64 { part: &'static str },
    #[error("the {part} is not a JSON object")]
    NotObject { part: &'static str },
    #[error("the signature is not base64url")]
    SignatureNotBase64,
    #[error("header typ is {typ:?}, not {STATUS_LIST_TYP}")]
    Typ { typ: Option<String> },
    #[error("the header has no alg")]
    NoAlg,
    /// A time claim (`iat`, `exp`, `ttl`) that is not a non-negative integer.
    #[error("{claim} is not a non-negative integer")]
    NotTime { claim: &'static str },
    #[error("the token has no sub (its URI)")]
    NoSub,
    #[error("the token has no iat")]
    NoIat,
    #[error("the token has no status_list")]
    NoList,
    #[error("status_list.bits must be 1, 2, 4 or 8")]
    Bits,
    #[error("status_list.lst is missing")]
    NoLst,
    // The list itself.
    #[error("status_list.lst is not base64url without padding")]
    LstNotBase64,
    /// `reason`: the decompressor's.
    #[error("status_list.lst is not ZLIB data: {reason}")]
    NotZlib { reason: String },
    #[error("the status list inflates beyond {MAX_LIST_BYTES} bytes")]
    TooLarge,
}

/// A credential's reference into a status list (`status.status_list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub idx: usize,
    pub uri: String,
}

impl Reference {
    /// Reads `status.status_list` from a credential's claims: `None` when there is no `status`
    /// claim, an error when it is there but not a valid reference.
    pub fn from_claims(claims: &Map<String, Value>) -> Result<Option<Self>, TokenStatusError> {
        let Some(status) = claims.get("status") else {
            return Ok(None);
        };
        let list = status
            .get("status_list")
            .ok_or(TokenStatusError::NoStatusList)?;
        let idx = list
            .get("idx")
            .and_then(Value::as_u64)
            .and_then(|i| usize::try_from(i).ok())
            .ok_or(TokenStatusError::BadIdx)?;
        let uri = list
            .get("uri")
            .and_then(Value::as_str)
            .filter(|u| url_like(u))
            .ok_or(TokenStatusError::BadUri)?;
        Ok(Some(Self {
            idx,
            uri: uri.to_owned(),
        }))
    }

    /// The `status` claim for this reference.
    pub fn to_claim(&self) -> Value {
        json!({"status_list": {"idx": self.idx, "uri": self.uri}})
    }
}

fn url_like(u: &str) -> bool {
    u.split_once(':')
        .is_some_and(|(scheme, rest)| !scheme.is_empty() && !rest.is_empty())
}

/// A parsed Status List Token (its signature not checked here).
#[derive(Debug, Clone)]
pub struct StatusListToken {
    /// `kid` of the header: which key of the issuer signed.
    pub kid: Option<String>,
    /// `alg` of the header.
    pub alg: String,
    pub iss: Option<String>,
    /// The token's own URI; must equal the credential's `uri`.
    pub sub: String,
    pub iat_s: u64,
    pub exp_s: Option<u64>,
    pub ttl_s: Option<u64>,
    /// `header.payload`, what the signature covers.
    pub signing_input: String,
    pub signature: Vec<u8>,
    list: BitString,
}

impl StatusListToken {
    /// Parses a compact JWS Status List Token: header `typ` `statuslist+jwt`, the required
    /// claims, and the list, decompressed within [`MAX_LIST_BYTES`].
    pub fn parse(text: &str) -> Result<Self, TokenStatusError> {
        let text = text.trim();
        let mut parts = text.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenStatusError::NotCompact);
        };
        let object = |text: &str, part: &'static str| {
            let bytes = URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| TokenStatusError::NotBase64 { part })?;
            match serde_json::from_slice(&bytes) {
                Ok(Value::Object(m)) => Ok(m),
                _ => Err(TokenStatusError::NotObject { part }),
            }
        };
        let header = object(h, "header")?;
        let claims = object(p, "payload")?;
        let signature = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| TokenStatusError::SignatureNotBase64)?;
        match header.get("typ").and_then(Value::as_str) {
            Some(STATUS_LIST_TYP) => {}
            other => {
                return Err(TokenStatusError::Typ {
                    typ: other.map(str::to_owned),
                });
            }
        }
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(TokenStatusError::NoAlg)?
            .to_owned();
        let text_claim = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_owned);
        let time = |claim: &'static str| match claims.get(claim) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or(TokenStatusError::NotTime { claim }),
        };
        let sub = text_claim("sub").ok_or(TokenStatusError::NoSub)?;
        let iat_s = time("iat")?.ok_or(TokenStatusError::NoIat)?;
        let list = claims.get("status_list").ok_or(TokenStatusError::NoList)?;
        let bits = list
            .get("bits")
            .and_then(Value::as_u64)
            .and_then(|b| u8::try_from(b).ok())
            .and_then(|b| StatusSize::try_from(b).ok())
            .ok_or(TokenStatusError::Bits)?;
        let lst = list
            .get("lst")
            .and_then(Value::as_str)
            .ok_or(TokenStatusError::NoLst)?;
        Ok(Self {
            kid: header.get("kid").and_then(Value::as_str).map(str::to_owned),
            alg,
            iss: text_claim("iss"),
            sub,
            iat_s,
            exp_s: time("exp")?,
            ttl_s: time("ttl")?,
            signing_input: format!("{h}.{p}"),
            signature,
            list: decode_lst(bits, lst)?,
        })
    }

    /// The status at `idx`, or `None` beyond the end of the list (a credential pointing
    /// there must be rejected).
    pub fn status(&self, idx: usize) -> Option<u8> {
        self.list.get(idx)
    }

    /// Size of the inflated list in bytes.
    pub fn inflated_bytes(&self) -> usize {
        self.list.as_bytes().len()
    }

    /// Number of statuses in the list.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.len() == 0
    }
}

/// Decodes `lst` (base64url without padding, ZLIB) into a list of `bits`-bit statuses.
pub fn decode_lst(bits: StatusSize, lst: &str) -> Result<BitString, TokenStatusError> {
    let compressed = URL_SAFE_NO_PAD
        .decode(lst)
        .map_err(|_| TokenStatusError::LstNotBase64)?;
    let mut bytes = Vec::new();
    flate2::read::ZlibDecoder::new(compressed.as_slice())
        .take(MAX_LIST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| TokenStatusError::NotZlib {
            reason: e.to_string(),
        })?;
    if bytes.len() as u64 > MAX_LIST_BYTES {
        return Err(TokenStatusError::TooLarge);
    }
    Ok(BitString::from_parts(bits, bytes))
}

/// Encodes a list as the `status_list` claim value (`{"bits", "lst"}`).
pub fn encode_list(list: &BitString) -> Value {
    let lst = URL_SAFE_NO_PAD.encode(list.to_compressed_bytes(Compression::best()));
    json!({"bits": u8::from(list.status_size()), "lst": lst})
}

/// What the issuer signs into a Status List Token.
pub struct TokenClaims<'a> {
    pub iss: &'a str,
    /// The URI the token is served at (the credentials' `status_list.uri`).
    pub sub: &'a str,
    pub iat_s: u64,
    pub exp_s: u64,
    pub ttl_s: u64,
    pub list: &'a BitString,
}

/// Signs a Status List Token with an Ed25519 key named by `kid` (EdDSA, compact JWS).
pub fn sign(
    claims: &TokenClaims<'_>,
    kid: &str,
    key: &did_method::SecretKey,
) -> Result<String, serde_json::Error> {
    let header = json!({"alg": "EdDSA", "typ": STATUS_LIST_TYP, "kid": kid});
    let payload = json!({
        "iss": claims.iss,
        "sub": claims.sub,
        "iat": claims.iat_s,
        "exp": claims.exp_s,
        "ttl": claims.ttl_s,
        "status_list": encode_list(claims.list),
    });
    crate::sdjwt::sign_jwt(&header, &payload, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(b: u8) -> StatusSize {
        StatusSize::try_from(b).unwrap()
    }

    #[test]
    fn reference_claim_round_trips_and_bad_ones_are_explained() {
        let r = Reference {
            idx: 42,
            uri: "https://issuer.example/status/token".into(),
        };
        let mut claims = Map::new();
        claims.insert("status".into(), r.to_claim());
        assert_eq!(Reference::from_claims(&claims).unwrap(), Some(r));
        assert_eq!(Reference::from_claims(&Map::new()).unwrap(), None);
        for bad in [
            json!({"other": {}}),
            json!({"status_list": {"idx": -1, "uri": "https://x/y"}}),
            json!({"status_list": {"idx": 1}}),
            json!({"status_list": {"idx": 1, "uri": "no-scheme"}}),
        ] {
            claims.insert("status".into(), bad.clone());
            assert!(Reference::from_claims(&claims).is_err(), "{bad}");
        }
    }

    #[test]
    fn encode_parse_round_trip_with_two_bit_statuses() {
        let key = did_method::SecretKey::from_seed(&[7; 32]);
        let mut list = BitString::new_valid(size(2), 1000);
        list.set(3, INVALID).unwrap();
        list.set(999, SUSPENDED).unwrap();
        let jwt = sign(
            &TokenClaims {
                iss: "did:example:issuer",
                sub: "https://issuer.example/status/token",
                iat_s: 1_700_000_000,
                exp_s: 1_700_086_400,
                ttl_s: 300,
                list: &list,
            },
            "did:example:issuer#key-1",
            &key,
        )
        .unwrap();
        let t = StatusListToken::parse(&jwt).unwrap();
        assert_eq!(t.sub, "https://issuer.example/status/token");
        assert_eq!(t.kid.as_deref(), Some("did:example:issuer#key-1"));
        assert_eq!(
            (t.iat_s, t.exp_s, t.ttl_s),
            (1_700_000_000, Some(1_700_086_400), Some(300))
        );
        assert_eq!(t.status(0), Some(VALID));
        assert_eq!(t.status(3), Some(INVALID));
        assert_eq!(t.status(999), Some(SUSPENDED));
        assert_eq!(t.status(t.len()), None);
        let sig = did_method::Signature::from_slice(&t.signature).unwrap();
        assert!(
            key.public_key()
                .verify(t.signing_input.as_bytes(), &sig)
                .is_ok()
        );
    }

    #[test]
    fn wrong_typ_missing_claims_padding_and_bombs_are_refused() {
        let key = did_method::SecretKey::from_seed(&[7; 32]);
        let list = BitString::new_valid(size(1), 8);
        let mk = |header: Value, payload: Value| {
            crate::sdjwt::sign_jwt(&header, &payload, &key).unwrap()
        };
        let good_header = json!({"alg": "EdDSA", "typ": STATUS_LIST_TYP});
        let good = json!({"sub": "https://x/s", "iat": 1, "status_list": encode_list(&list)});
        assert!(StatusListToken::parse(&mk(good_header.clone(), good.clone())).is_ok());
        let err =
            |h: &Value, p: &Value| StatusListToken::parse(&mk(h.clone(), p.clone())).unwrap_err();
        let e = err(&json!({"alg": "EdDSA", "typ": "JWT"}), &good);
        assert_eq!(
            e.to_string(),
            r#"header typ is Some("JWT"), not statuslist+jwt"#
        );
        let mut p = good.clone();
        p.as_object_mut().unwrap().remove("sub");
        assert_eq!(err(&good_header, &p), TokenStatusError::NoSub);
        let mut p = good.clone();
        p["status_list"]["bits"] = json!(3);
        assert_eq!(err(&good_header, &p), TokenStatusError::Bits);
        let mut p = good.clone();
        p["status_list"]["lst"] = json!("eNrbuRgAAhcBXQ==");
        assert!(err(&good_header, &p).to_string().contains("padding"));
        // 17 MiB of zeros compresses to a few KiB: refused once past the bound.
        let zeros = BitString::from_parts(size(8), vec![0u8; 17 << 20]);
        let mut p = good.clone();
        p["status_list"] = encode_list(&zeros);
        assert_eq!(
            err(&good_header, &p).to_string(),
            "the status list inflates beyond 16777216 bytes"
        );
        assert_eq!(
            StatusListToken::parse("a.b").unwrap_err(),
            TokenStatusError::NotCompact
        );
    }
}
