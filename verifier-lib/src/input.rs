//! Bounded reading of outside input: size and nesting depth are checked on the raw bytes
//! before any parsing work, then the JSON is parsed with duplicate keys refused (two values
//! for one key would let a signature and a policy check read different claims).

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
                i += 1;
                loop {
                    let Some(k) = bytes
                        .get(i..)
                        .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
                    else {
                        // Unterminated: the parser reports it.
                        return Ok(());
                    };
                    if bytes[i + k] == b'\\' {
                        i += k + 2;
                    } else {
                        i += k + 1;
                        break;
                    }
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
