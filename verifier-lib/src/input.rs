//! Bounded reading of outside input: size and nesting depth are checked on the raw bytes
//! before any parsing work, then the JSON is parsed with duplicate keys refused (two values
//! for one key would let a signature and a policy check read different claims).

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

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

/// Checks size and depth on the raw bytes (one pass, no allocation), then duplicate keys
/// (a pass that builds nothing), then parses.
pub fn parse_json(bytes: &[u8], limits: Limits) -> Result<Value, InputError> {
    check_shape(bytes, limits)?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    NoDuplicates
        .deserialize(&mut de)
        .map_err(|e| classify(e.to_string()))?;
    de.end().map_err(|e| InputError::Malformed(e.to_string()))?;
    serde_json::from_slice(bytes).map_err(|e| InputError::Malformed(e.to_string()))
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
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
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
    }
    Ok(())
}

/// Walks a JSON document, refusing an object with a key twice, building nothing. (With
/// serde_json's `arbitrary_precision`, a number arrives as a one-entry map: still no
/// duplicate, so the check holds in both builds.)
struct NoDuplicates;

impl<'de> DeserializeSeed<'de> for NoDuplicates {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(NoDuplicates)
    }
}

impl<'de> Visitor<'de> for NoDuplicates {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(NoDuplicates)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            map.next_value_seed(NoDuplicates)?;
            if let Some(dup) = seen.replace(key) {
                return Err(de::Error::custom(format!("{DUPLICATE_TAG}{dup}")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
