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

/// RFC 8785 canonical JSON of a value.
pub fn jcs<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    serde_jcs::to_vec(value)
}
