//! The canonical byte encodings that get hashed or signed.
//!
//! Two encodings, both fully specified in `docs/did-alliance.md`:
//! - **binary** for consensus objects (headers, votes, validator sets): a domain-separation tag
//!   (ASCII, NUL-terminated) followed by fields in a fixed order; integers big-endian and fixed
//!   width; byte strings prefixed by their length as a big-endian `u32`.
//! - **JCS** (RFC 8785, JSON Canonicalization Scheme) for registry operations and state values,
//!   so that what is signed and proven is also readable JSON.

use serde::Serialize;

/// Builds a tagged binary encoding.
pub(crate) struct Writer(Vec<u8>);

impl Writer {
    pub(crate) fn new(tag: &str) -> Self {
        let mut v = Vec::with_capacity(256);
        v.extend_from_slice(tag.as_bytes());
        v.push(0);
        Self(v)
    }
    /// An encoding that starts with `prefix` as is (no NUL).
    pub(crate) fn raw(prefix: &[u8]) -> Self {
        let mut v = Vec::with_capacity(4096);
        v.extend_from_slice(prefix);
        Self(v)
    }
    pub(crate) fn u8(mut self, x: u8) -> Self {
        self.0.push(x);
        self
    }
    pub(crate) fn u32(mut self, x: u32) -> Self {
        self.0.extend_from_slice(&x.to_be_bytes());
        self
    }
    pub(crate) fn u64(mut self, x: u64) -> Self {
        self.0.extend_from_slice(&x.to_be_bytes());
        self
    }
    pub(crate) fn fixed(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    /// Length-prefixed bytes. Lengths over `u32::MAX` cannot occur: every input is bounded
    /// far below that before it gets here; they are clamped rather than panicking.
    pub(crate) fn bytes(mut self, b: &[u8]) -> Self {
        let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(b);
        self
    }
    pub(crate) fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// Reads what a [`Writer`]-style encoding wrote, refusing truncated input.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }
    pub(crate) fn fixed<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.buf.split_first_chunk::<N>()?;
        self.buf = rest;
        Some(*head)
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.fixed::<1>().map(|b| b[0])
    }
    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.fixed::<4>().map(u32::from_be_bytes)
    }
    pub(crate) fn u64(&mut self) -> Option<u64> {
        self.fixed::<8>().map(u64::from_be_bytes)
    }
    /// Length-prefixed bytes (the length is checked against what is left).
    pub(crate) fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        if len > self.buf.len() {
            return None;
        }
        let (head, rest) = self.buf.split_at(len);
        self.buf = rest;
        Some(head)
    }
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }
}

/// RFC 8785 canonical JSON of a value.
pub fn jcs<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    crate::jcs::to_vec(value)
}

/// RFC 8785 canonical JSON of a `serde_json::Value`, whatever features `serde_json` was
/// built with. With `arbitrary_precision` (which some dependencies of a larger build turn on
/// workspace-wide) a `Number` serializes as a private structure; here each number is given
/// to the serializer as the integer or double it denotes.
pub fn jcs_value(value: &serde_json::Value) -> Result<Vec<u8>, serde_json::Error> {
    crate::jcs::to_vec(&Plain(value))
}

pub(crate) struct Plain<'a>(pub(crate) &'a serde_json::Value);

impl Serialize for Plain<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeMap, SerializeSeq};
        use serde_json::Value;
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::String(t) => s.serialize_str(t),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    s.serialize_u64(u)
                } else if let Some(i) = n.as_i64() {
                    s.serialize_i64(i)
                } else if let Some(f) = n.as_f64() {
                    s.serialize_f64(f)
                } else {
                    Err(S::Error::custom(format!("number {n} is not representable")))
                }
            }
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for x in a {
                    seq.serialize_element(&Plain(x))?;
                }
                seq.end()
            }
            Value::Object(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(k, &Plain(v))?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_of_values_sorts_keys_and_writes_plain_numbers() {
        // Parsed from text, so the numbers are whatever serde_json's features make of them.
        let v: serde_json::Value =
            serde_json::from_str(r#"{"b":[1,-2,1.5,1e3],"a":{"z":9007199254740991,"y":null}}"#)
                .unwrap();
        assert_eq!(
            String::from_utf8(jcs_value(&v).unwrap()).unwrap(),
            r#"{"a":{"y":null,"z":9007199254740991},"b":[1,-2,1.5,1000]}"#
        );
    }
}
