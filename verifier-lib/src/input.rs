//! Bounded reading of outside input: size and nesting depth are checked on the raw bytes
//! before any parsing work, then the JSON is parsed with duplicate keys refused (two values
//! for one key would let a signature and a policy check read different claims).

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::bundle::Bundle;

/// Bounds on one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest input accepted, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of arrays and objects accepted.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 4 * 1024 * 1024,
            max_depth: 64,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("input is {size} bytes; at most {max} are accepted")]
    TooLarge { size: usize, max: usize },
    #[error("input nests deeper than {max} levels")]
    TooDeep { max: usize },
    #[error("duplicate JSON key `{0}`")]
    DuplicateKey(String),
    #[error("not valid JSON: {0}")]
    Malformed(String),
}

/// Checks size and depth on the raw bytes (one pass, no allocation), then parses, refusing
/// duplicate keys as it goes.
pub fn parse_json(bytes: &[u8], limits: Limits) -> Result<Value, InputError> {
    check_shape(bytes, limits)?;
    parse_shaped(bytes)
}

/// Parses JSON whose size and depth were already checked (part of an input that passed
/// [`check_shape`]), refusing duplicate keys.
pub(crate) fn parse_shaped(bytes: &[u8]) -> Result<Value, InputError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // serde_json's own recursion limit (128) stays on: the shape check bounds depth first.
    let value = Unique
        .deserialize(&mut de)
        .map_err(|e| classify(e.to_string()))?;
    de.end().map_err(|e| InputError::Malformed(e.to_string()))?;
    Ok(value)
}

/// Same as [`parse_json`] for text.
pub fn parse_json_str(text: &str, limits: Limits) -> Result<Value, InputError> {
    parse_json(text.as_bytes(), limits)
}

const DUPLICATE_TAG: &str = "\u{0}duplicate key:";

fn classify(message: String) -> InputError {
    match message.strip_prefix(DUPLICATE_TAG) {
        Some(rest) => {
            // serde_json appends " at line L column C".
            let key = rest.rsplit_once(" at line ").map_or(rest, |(k, _)| k);
            InputError::DuplicateKey(key.to_string())
        }
        None => InputError::Malformed(message),
    }
}

/// Size and nesting depth, counted outside strings.
pub fn check_shape(bytes: &[u8], limits: Limits) -> Result<(), InputError> {
    if bytes.len() > limits.max_bytes {
        return Err(InputError::TooLarge {
            size: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                // To the string's closing quote, skipping escaped characters: strings are
                // most of a bundle's bytes (signatures, encoded lists, hashes).
                match string_end(bytes, i) {
                    Some(end) => i = end,
                    // Unterminated: the parser reports it.
                    None => return Ok(()),
                }
                continue;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > limits.max_depth {
                    return Err(InputError::TooDeep {
                        max: limits.max_depth,
                    });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// The members of a presentation bundle, located without parsing them.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct BundleParts<'a> {
    pub presentation: &'a [u8],
    pub registry_proofs: Option<Vec<&'a [u8]>>,
    pub status_lists: Option<&'a [u8]>,
}

/// Locates the members of a bundle ([`Bundle`]: `{"presentation": …, "registryProofs": [ … ],
/// "statusLists": …}`) in one pass over the bytes, which also bounds size and depth as
/// [`check_shape`] does. Each part is only delimited, not checked: the caller parses it, or
/// uses a parse it made before of the very same bytes, so the document is well-formed
/// exactly when every part is. `None` for anything but that plain form (an unknown,
/// repeated, missing or escaped key, a limit passed, malformed structure between the
/// parts): the caller then reads the input as a whole, which says what is wrong.
pub(crate) fn bundle_parts(bytes: &[u8], limits: Limits) -> Option<BundleParts<'_>> {
    const PRESENTATION: &[u8] = Bundle::PRESENTATION.as_bytes();
    const STATUS_LISTS: &[u8] = Bundle::STATUS_LISTS.as_bytes();
    const REGISTRY_PROOFS: &[u8] = Bundle::REGISTRY_PROOFS.as_bytes();
    if bytes.len() > limits.max_bytes || limits.max_depth < 1 {
        return None;
    }
    let mut parts = BundleParts::default();
    let (mut presentation, mut i) = (None, skip_ws(bytes, 0));
    if bytes.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = skip_ws(bytes, i);
        if bytes.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = i + 1 + memchr::memchr2(b'"', b'\\', bytes.get(i + 1..)?)?;
        if bytes[key_end] != b'"' {
            return None;
        }
        let key = &bytes[i + 1..key_end];
        i = skip_ws(bytes, key_end + 1);
        if bytes.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(bytes, i + 1);
        match key {
            PRESENTATION if presentation.is_none() => {
                let end = value_end(bytes, i, 1, limits)?;
                presentation = Some(&bytes[i..end]);
                i = end;
            }
            STATUS_LISTS if parts.status_lists.is_none() => {
                let end = value_end(bytes, i, 1, limits)?;
                parts.status_lists = Some(&bytes[i..end]);
                i = end;
            }
            REGISTRY_PROOFS if parts.registry_proofs.is_none() => {
                if bytes.get(i) != Some(&b'[') || limits.max_depth < 2 {
                    return None;
                }
                let mut proofs = Vec::new();
                i = skip_ws(bytes, i + 1);
                if bytes.get(i) == Some(&b']') {
                    i += 1;
                } else {
                    loop {
                        let end = value_end(bytes, i, 2, limits)?;
                        proofs.push(&bytes[i..end]);
                        i = skip_ws(bytes, end);
                        match bytes.get(i) {
                            Some(b',') => i = skip_ws(bytes, i + 1),
                            Some(b']') => {
                                i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                parts.registry_proofs = Some(proofs);
            }
            _ => return None,
        }
        i = skip_ws(bytes, i);
        match bytes.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => break,
            _ => return None,
        }
    }
    if skip_ws(bytes, i + 1) != bytes.len() {
        return None;
    }
    parts.presentation = presentation?;
    Some(parts)
}

/// The first byte at or after `i` that is not JSON whitespace.
fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while matches!(bytes.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// Just past the string whose opening quote is at `i`; `None` when it does not end.
fn string_end(bytes: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        let k = memchr::memchr2(b'"', b'\\', bytes.get(i..)?)?;
        if bytes[i + k] == b'\\' {
            i += k + 2;
        } else {
            return Some(i + k + 1);
        }
    }
}

/// Just past the value that starts at `i`, nested `depth` levels deep (a container there
/// counts one more): a string, a container to its closing bracket, or a scalar to the next
/// delimiter. `None` when it does not end, is empty, or nests deeper than `limits` allow.
fn value_end(bytes: &[u8], i: usize, depth: usize, limits: Limits) -> Option<usize> {
    match bytes.get(i)? {
        b'"' => string_end(bytes, i),
        b'{' | b'[' => {
            let mut level = 0usize;
            let mut j = i;
            loop {
                match bytes.get(j)? {
                    b'"' => {
                        j = string_end(bytes, j)?;
                        continue;
                    }
                    b'{' | b'[' => {
                        level += 1;
                        if depth + level > limits.max_depth {
                            return None;
                        }
                    }
                    b'}' | b']' => {
                        level -= 1;
                        if level == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let len = bytes
                .get(i..)?
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))?;
            (len > 0).then_some(i + len)
        }
    }
}

/// How serde_json hands over a number when built with `arbitrary_precision` (which a
/// dependency of a larger build may turn on): a one-entry map from this key to the number's
/// text. serde_json's own `Value` reads it the same way.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Builds a `serde_json::Value`, refusing an object with a key twice.
struct Unique;

impl<'de> DeserializeSeed<'de> for Unique {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(Unique)
    }
}

impl<'de> Visitor<'de> for Unique {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(n)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element_seed(Unique)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.is_empty() && key == NUMBER_TOKEN {
                let text: String = map.next_value()?;
                let n: serde_json::Number = text.parse().map_err(de::Error::custom)?;
                return Ok(Value::Number(n));
            }
            let value = map.next_value_seed(Unique)?;
            match out.entry(key) {
                serde_json::map::Entry::Occupied(e) => {
                    return Err(de::Error::custom(format!("{DUPLICATE_TAG}{}", e.key())));
                }
                serde_json::map::Entry::Vacant(e) => {
                    e.insert(value);
                }
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::StatusLists;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        let l = Limits::default();
        assert_eq!(
            parse_json_str(r#"{"a":1,"a":2}"#, l),
            Err(InputError::DuplicateKey("a".into()))
        );
        assert_eq!(
            parse_json_str(r#"{"x":[{"id":"1","b":{"k":1,"k":1}}]}"#, l),
            Err(InputError::DuplicateKey("k".into()))
        );
        // The same key in sibling objects is fine.
        assert!(parse_json_str(r#"[{"a":1},{"a":2}]"#, l).is_ok());
    }

    #[test]
    fn oversize_and_deep_inputs_are_refused_before_parsing() {
        let l = Limits::default();
        let big = vec![b' '; 20 * 1024 * 1024];
        assert!(matches!(
            parse_json(&big, l),
            Err(InputError::TooLarge { .. })
        ));
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert_eq!(
            parse_json_str(&deep, l),
            Err(InputError::TooDeep { max: 64 })
        );
        // Brackets inside strings do not count; escaped quotes do not end a string.
        let s = format!(r#"{{"s":"{}\"{}"}}"#, "[".repeat(100), "{".repeat(100));
        assert!(parse_json_str(&s, l).is_ok());
        // An escaped backslash does end with the quote after it: what follows is counted.
        let tight = Limits {
            max_bytes: 1 << 20,
            max_depth: 3,
        };
        assert!(check_shape(br#"[["\\"]]"#, tight).is_ok());
        assert!(check_shape(br#"[["\\",[["x"]]]]"#, tight).is_err());
        assert!(check_shape(br#"[["\\\"[[[[",[]]]"#, tight).is_ok());
        // An unterminated string or a trailing backslash is left to the parser.
        assert!(check_shape(br#"["abc\"#, tight).is_ok());
        assert!(parse_json(br#"["abc\"#, tight).is_err());
    }

    #[test]
    fn parsing_gives_the_values_serde_json_gives() {
        let l = Limits::default();
        for text in [
            r#"{"a":[1,-2,1.5,1e3,0.1,12345678901234567890,-9223372036854775808],"b":{"c":null,"d":true,"e":false}}"#,
            r#"["x\u00e9\n\"q\"", "", {}, [], {"":""}]"#,
            r#"{"big":123456789012345678901234567890, "neg":-0.0, "exp":2.5E-8}"#,
            "  42  ",
            r#""just a string""#,
        ] {
            let ours = parse_json_str(text, l).unwrap();
            let theirs: Value = serde_json::from_str(text).unwrap();
            assert_eq!(ours, theirs, "{text}");
            assert_eq!(ours.to_string(), theirs.to_string(), "{text}");
        }
    }

    /// Whenever [`bundle_parts`] delimits parts that are each well-formed JSON (the status
    /// lists a map of strings, as the fast path reads them), serde reads the whole as a
    /// [`Bundle`] with the very same members, and the whole is within limits: the fast path
    /// never reads a document the whole-document path would read otherwise.
    fn agrees_with_serde(bytes: &[u8], limits: Limits) -> bool {
        let Some(parts) = bundle_parts(bytes, limits) else {
            return false;
        };
        let json = |b: &[u8]| serde_json::from_slice::<de::IgnoredAny>(b).is_ok();
        let lists = match parts.status_lists {
            None => Some(StatusLists::new()),
            Some(l) => serde_json::from_slice::<StatusLists>(l).ok(),
        };
        let mut all = vec![parts.presentation];
        all.extend(parts.registry_proofs.iter().flatten());
        let (true, Some(lists)) = (all.iter().all(|p| json(p)), lists) else {
            return true;
        };
        let theirs: Bundle = serde_json::from_slice(bytes)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)));
        assert!(check_shape(bytes, limits).is_ok());
        assert_eq!(theirs.presentation.get().as_bytes(), parts.presentation);
        assert_eq!(theirs.status_lists, lists);
        assert_eq!(
            theirs
                .registry_proofs
                .iter()
                .map(|r| r.get().as_bytes())
                .collect::<Vec<_>>(),
            parts.registry_proofs.unwrap_or_default()
        );
        true
    }

    /// Bundles written every which way (spacing, member order, members left out, escapes
    /// and brackets inside strings and keys of status lists, serde_json's compact and pretty
    /// output): the scanner finds exactly the members the [`Bundle`] type reads, and leaves
    /// a member name written with an escape to the whole-document path.
    #[test]
    fn the_scanner_finds_the_members_of_generated_bundles() {
        let l = Limits::default();
        let presentations = [
            r#"{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiablePresentation"],"holder":"did:key:z6Mk\"x\"","proof":{"challenge":"a}b]c{d[","domain":"\\"}}"#,
            r#""eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJkaWQ6YSJ9.c2ln~WyJzYWx0IiwibmFtZSIsIkFkYSJd~""#,
            r#"[ 1 , -2.5e3 , true , null , "\u00e9\n\t\/" ]"#,
            "{ \"nested\" :\n { \"a\" : [ { } , [ ] , \"]\" ] } }",
            "42",
        ];
        let proofs = [
            r#"{"key":"did/did:alliance:t:x","value":{"document":{"id":"\"}"}},"merkleProof":"AAB-_"}"#,
            r#"{ "key" : "status/did:alliance:t:x/https://i.example/s?a=1&b=\u0022" , "value" : null }"#,
            "{}",
        ];
        // JSON string literals: a status list URL and its text, escapes included.
        let lists = [
            (
                r#""https://i.example/status/1""#,
                r#""{\"id\":\"https:\/\/i.example\/status\/1\",\"n\":[1,2]}""#,
            ),
            (
                r#""https://i.example/status/\u00e9\"q\"""#,
                r#""eyJ0eXAiOiJzdGF0dXNsaXN0K2p3dCJ9.e30.c2ln""#,
            ),
        ];
        /// Xorshift: varied, and the same cases on every run.
        struct Cases(u64);
        impl Cases {
            fn pick(&mut self, n: usize) -> usize {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                (self.0 % n as u64) as usize
            }
            fn ws(&mut self) -> &'static str {
                ["", " ", "\n  ", "\t", "\r\n"][self.pick(5)]
            }
        }
        let mut r = Cases(0x2545_f491_4f6c_dd1d);
        for _ in 0..3000 {
            let mut members = vec![(
                Bundle::PRESENTATION,
                presentations[r.pick(presentations.len())].to_owned(),
            )];
            if r.pick(3) > 0 {
                let items: Vec<String> = (0..r.pick(4))
                    .map(|_| format!("{}{}{}", r.ws(), proofs[r.pick(proofs.len())], r.ws()))
                    .collect();
                members.push((
                    Bundle::REGISTRY_PROOFS,
                    format!("[{}{}]", items.join(","), r.ws()),
                ));
            }
            if r.pick(3) > 0 {
                let items: Vec<String> = (0..r.pick(3))
                    .map(|_| {
                        let (url, text) = lists[r.pick(lists.len())];
                        format!("{}{url}{}:{}{text}{}", r.ws(), r.ws(), r.ws(), r.ws())
                    })
                    .collect();
                members.push((
                    Bundle::STATUS_LISTS,
                    format!("{{{}{}}}", items.join(","), r.ws()),
                ));
            }
            for i in (1..members.len()).rev() {
                members.swap(i, r.pick(i + 1));
            }
            let body: Vec<String> = members
                .iter()
                .map(|(k, v)| format!("{}\"{k}\"{}:{}{v}{}", r.ws(), r.ws(), r.ws(), r.ws()))
                .collect();
            let text = format!("{}{{{}}}{}", r.ws(), body.join(","), r.ws());
            // Written as it is, then as serde_json writes the Bundle it reads, compact and
            // pretty: the same members each time.
            let theirs: Bundle = serde_json::from_str(&text).unwrap();
            for written in [
                text.clone(),
                serde_json::to_string(&theirs).unwrap(),
                serde_json::to_string_pretty(&theirs).unwrap(),
            ] {
                let parts = bundle_parts(written.as_bytes(), l)
                    .unwrap_or_else(|| panic!("not read: {written}"));
                assert_eq!(parts.presentation, theirs.presentation.get().as_bytes());
                let proofs: Vec<&[u8]> = theirs
                    .registry_proofs
                    .iter()
                    .map(|r| r.get().as_bytes())
                    .collect();
                assert_eq!(
                    parts.registry_proofs.unwrap_or_default(),
                    proofs,
                    "{written}"
                );
                let lists: StatusLists = parts
                    .status_lists
                    .map_or_else(StatusLists::new, |b| serde_json::from_slice(b).unwrap());
                assert_eq!(lists, theirs.status_lists, "{written}");
                assert!(agrees_with_serde(written.as_bytes(), l));
            }
            // A member name written with an escape: serde reads the same bundle, the scanner
            // leaves it to the whole-document path.
            let (name, _) = members[r.pick(members.len())];
            let escaped = text.replacen(
                &format!("\"{name}\""),
                &format!("\"\\u{:04x}{}\"", name.as_bytes()[0], &name[1..]),
                1,
            );
            assert_ne!(escaped, text);
            assert!(bundle_parts(escaped.as_bytes(), l).is_none(), "{escaped}");
            let same: Bundle = serde_json::from_str(&escaped).unwrap();
            assert_eq!(same.presentation.get(), theirs.presentation.get());
        }
    }

    #[test]
    fn bundle_parts_are_the_members_serde_reads() {
        let l = Limits::default();
        let base = r#"{"presentation":{"a":["x\"]}",{"b":[1,2.5e3,null]}]},"registryProofs":[{"k":"v\\","n":[{}]},{"k":"[{"}],"statusLists":{"u":"t"}}"#;
        assert!(agrees_with_serde(base.as_bytes(), l));
        // Spacing, order, scalars and an empty list are read too.
        for ok in [
            " {\n \"statusLists\" : {} ,\r\t\"presentation\": \"eyJ.x.y~\" } \n",
            r#"{"registryProofs":[],"presentation":[1,{"x":true}]}"#,
            r#"{"presentation":42}"#,
        ] {
            assert!(agrees_with_serde(ok.as_bytes(), l), "{ok}");
        }
        // Left to the whole-document path: unknown, repeated, escaped or missing keys,
        // trailing text, structure broken between the parts, limits passed.
        for other in [
            r#"{"presentation":{},"other":1}"#,
            r#"{"presentation":{},"presentation":{}}"#,
            r#"{"presentatio\u006e":{}}"#,
            r#"{"registryProofs":[]}"#,
            r#"{"presentation":{}} x"#,
            r#"{"presentation":{}"#,
            r#"{"presentation":{},}"#,
            r#"{"presentation":{},"registryProofs":[{},]}"#,
            r#"{"presentation" {}}"#,
            r#"["presentation"]"#,
            "",
        ] {
            assert!(bundle_parts(other.as_bytes(), l).is_none(), "{other}");
        }
        let deep = format!(
            r#"{{"presentation":{}1{}}}"#,
            "[".repeat(64),
            "]".repeat(64)
        );
        assert!(bundle_parts(deep.as_bytes(), l).is_none());
        assert!(check_shape(deep.as_bytes(), l).is_err());
        let tight = Limits {
            max_bytes: base.len() - 1,
            ..l
        };
        assert!(bundle_parts(base.as_bytes(), tight).is_none());

        // Every single-byte deletion, and the insertion of each structural byte at every
        // place: where the fast path reads well-formed parts, serde reads the same.
        let bytes = base.as_bytes();
        let (mut read, mut cases) = (0, 0);
        for at in 0..=bytes.len() {
            let mut variants = vec![];
            if at < bytes.len() {
                variants.push([&bytes[..at], &bytes[at + 1..]].concat());
            }
            for b in br#"{}[]",:\ 1n"# {
                variants.push([&bytes[..at], &[*b], &bytes[at..]].concat());
            }
            for v in variants {
                cases += 1;
                read += usize::from(agrees_with_serde(&v, l));
            }
        }
        assert!(cases > 1000 && read > 100, "{read} of {cases}");
    }

    #[test]
    fn malformed_json_is_reported() {
        let l = Limits::default();
        assert!(matches!(
            parse_json_str("{\"a\":", l),
            Err(InputError::Malformed(_))
        ));
        assert!(matches!(
            parse_json_str("{} trailing", l),
            Err(InputError::Malformed(_))
        ));
    }
}
