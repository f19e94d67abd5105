//! RFC 8785 (JSON Canonicalization Scheme) output for any `Serialize` value, as a
//! `serde_json` [`Formatter`]: serde_json does the serializing and the string escaping, this
//! formatter sorts each object's members by their names' UTF-16 code units and writes numbers
//! as ECMAScript does (`ryu-js`).
//!
//! Why not `serde_jcs` or `serde_json_canonicalizer`: both box a `dyn Write` for every token
//! they write, which made canonical JSON about an eighth of a registry node's CPU at load
//! (ADR 0014). Here each object is written into a reusable buffer and its members are sorted
//! as byte ranges of that buffer. `serde_jcs` also orders members by their UTF-8 bytes rather
//! than UTF-16 code units (RFC 8785 §3.2.3); the two orders differ only for names mixing
//! characters above U+FFFF with ones in U+E000–U+FFFF, which no name of ours has.

use std::cmp::Ordering;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter};

/// The canonical JSON of `value`. Fails where RFC 8785 has no answer: a raw JSON fragment,
/// or an object with two members of the same name. (A NaN or infinite float is written
/// `null`, as serde_json writes it.)
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, JcsFormatter::default());
    value.serialize(&mut ser)?;
    Ok(out)
}

/// One object being written: its members' bytes, and where each name and value lie.
#[derive(Default)]
struct Frame {
    buf: Vec<u8>,
    /// `(name start, name end, value end)`; a value starts where its name ends.
    members: Vec<(usize, usize, usize)>,
    name_start: usize,
    name_end: usize,
}

#[derive(Default)]
struct JcsFormatter {
    /// The objects open, innermost last.
    open: Vec<Frame>,
    /// Frames of closed objects, kept for their buffers.
    spare: Vec<Frame>,
}

/// Where output goes: the innermost open object, or the caller's writer.
enum Out<'a, W: ?Sized> {
    Writer(&'a mut W),
    Buf(&'a mut Vec<u8>),
}

impl<W: ?Sized + Write> Write for Out<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Out::Writer(w) => w.write(bytes),
            Out::Buf(b) => {
                b.extend_from_slice(bytes);
                Ok(bytes.len())
            }
        }
    }
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Out::Writer(w) => w.write_all(bytes),
            Out::Buf(b) => {
                b.extend_from_slice(bytes);
                Ok(())
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

impl JcsFormatter {
    fn out<'a, W: ?Sized + Write>(&'a mut self, writer: &'a mut W) -> Out<'a, W> {
        match self.open.last_mut() {
            Some(f) => Out::Buf(&mut f.buf),
            None => Out::Writer(writer),
        }
    }

    fn frame(&mut self) -> io::Result<&mut Frame> {
        self.open
            .last_mut()
            .ok_or_else(|| invalid("object member outside an object"))
    }

    fn float<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        if !value.is_finite() {
            return Err(invalid("NaN and infinities have no JSON form"));
        }
        if value == 0.0 {
            // Both zeros are written `0` (ECMAScript's Number::toString).
            return self.out(writer).write_all(b"0");
        }
        let mut b = ryu_js::Buffer::new();
        self.out(writer)
            .write_all(b.format_finite(value).as_bytes())
    }
}

/// Orders two member names (serialized JSON strings, quotes included) by their UTF-16 code
/// units, as RFC 8785 §3.2.3 asks.
fn compare_names(a: &[u8], b: &[u8]) -> Ordering {
    // Without their quotes, so that `"a"` comes before `"a!"`.
    fn inner(n: &[u8]) -> &[u8] {
        n.get(1..n.len().saturating_sub(1)).unwrap_or_default()
    }
    let plain = |n: &[u8]| n.iter().all(|&c| c.is_ascii() && c != b'\\');
    // Names without escapes or characters beyond ASCII (all of ours) order as their bytes.
    if plain(a) && plain(b) {
        return inner(a).cmp(inner(b));
    }
    // Otherwise as the strings they denote, escapes undone.
    let text = |n: &[u8]| serde_json::from_slice::<String>(n).unwrap_or_default();
    text(a).encode_utf16().cmp(text(b).encode_utf16())
}

macro_rules! integers {
    ($($name:ident: $t:ty),*) => {$(
        fn $name<W: ?Sized + Write>(&mut self, writer: &mut W, value: $t) -> io::Result<()> {
            CompactFormatter.$name(&mut self.out(writer), value)
        }
    )*};
}

impl Formatter for JcsFormatter {
    fn write_null<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.out(writer).write_all(b"null")
    }
    fn write_bool<W: ?Sized + Write>(&mut self, writer: &mut W, value: bool) -> io::Result<()> {
        self.out(writer)
            .write_all(if value { b"true" } else { b"false" })
    }

    integers!(write_i8: i8, write_i16: i16, write_i32: i32, write_i64: i64, write_i128: i128,
        write_u8: u8, write_u16: u16, write_u32: u32, write_u64: u64, write_u128: u128);

    fn write_f32<W: ?Sized + Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.float(writer, f64::from(value))
    }
    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        self.float(writer, value)
    }
    /// A number kept as text (serde_json's `arbitrary_precision`): an integer is written as
    /// it is, anything else as the double it denotes.
    fn write_number_str<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        value: &str,
    ) -> io::Result<()> {
        let digits = value.strip_prefix('-').unwrap_or(value);
        if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) {
            if digits.bytes().all(|c| c == b'0') {
                return self.out(writer).write_all(b"0");
            }
            return self.out(writer).write_all(value.as_bytes());
        }
        let f: f64 = value
            .parse()
            .map_err(|_| invalid("a number that is not a JSON number"))?;
        self.float(writer, f)
    }

    fn begin_string<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.out(writer).write_all(b"\"")
    }
    fn end_string<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.out(writer).write_all(b"\"")
    }
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        self.out(writer).write_all(fragment.as_bytes())
    }
    /// serde_json escapes exactly what RFC 8785 does (`"`, `\`, and controls, the usual five
    /// by their short forms, others as `\u00xx` in lower case).
    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        char_escape: CharEscape,
    ) -> io::Result<()> {
        CompactFormatter.write_char_escape(&mut self.out(writer), char_escape)
    }

    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.out(writer).write_all(b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.out(writer).write_all(b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            self.out(writer).write_all(b",")
        }
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        let frame = self.spare.pop().unwrap_or_default();
        self.open.push(frame);
        Ok(())
    }
    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        _writer: &mut W,
        _first: bool,
    ) -> io::Result<()> {
        let f = self.frame()?;
        f.name_start = f.buf.len();
        Ok(())
    }
    fn end_object_key<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        let f = self.frame()?;
        f.name_end = f.buf.len();
        Ok(())
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        Ok(())
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        let f = self.frame()?;
        let member = (f.name_start, f.name_end, f.buf.len());
        f.members.push(member);
        Ok(())
    }
    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        let mut f = self
            .open
            .pop()
            .ok_or_else(|| invalid("end of an object never begun"))?;
        let buf = &f.buf;
        f.members
            .sort_by(|x, y| compare_names(&buf[x.0..x.1], &buf[y.0..y.1]));
        if f.members
            .windows(2)
            .any(|w| buf[w[0].0..w[0].1] == buf[w[1].0..w[1].1])
        {
            return Err(invalid("an object has two members of the same name"));
        }
        let mut out = self.out(writer);
        out.write_all(b"{")?;
        for (i, &(start, name_end, end)) in f.members.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            out.write_all(&buf[start..name_end])?;
            out.write_all(b":")?;
            out.write_all(&buf[name_end..end])?;
        }
        out.write_all(b"}")?;
        f.buf.clear();
        f.members.clear();
        self.spare.push(f);
        Ok(())
    }

    fn write_raw_fragment<W: ?Sized + Write>(
        &mut self,
        _writer: &mut W,
        _fragment: &str,
    ) -> io::Result<()> {
        Err(invalid(
            "a raw JSON fragment cannot be canonicalized as it is",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn canon(text: &str) -> String {
        let v: Value = serde_json::from_str(text).unwrap();
        String::from_utf8(to_vec(&v).unwrap()).unwrap()
    }

    #[test]
    fn rfc8785_sample_canonicalizes_numbers_strings_and_literals() {
        // RFC 8785 §3.2.2's example input and output.
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        assert_eq!(
            canon(input),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"
        );
    }

    #[test]
    fn members_are_sorted_by_utf16_code_units() {
        // RFC 8785 §3.2.3's sorting example: the emoji (a surrogate pair) sorts before
        // U+FB33, which UTF-8 byte order would put first.
        let input = r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#;
        let out = canon(input);
        let order: Vec<&str> = [
            "Carriage Return",
            "One",
            "Control",
            "Latin Small",
            "Euro Sign",
            "Emoji",
            "Hebrew",
        ]
        .to_vec();
        let positions: Vec<usize> = order.iter().map(|s| out.find(s).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{out}");
    }

    #[test]
    fn a_name_comes_before_the_longer_names_it_begins() {
        assert_eq!(
            canon(r#"{"a!":1,"a":2,"a\"":3}"#),
            r#"{"a":2,"a!":1,"a\"":3}"#
        );
    }

    #[test]
    fn nested_objects_and_structs_are_canonical_at_every_level() {
        #[derive(Serialize)]
        struct Inner {
            z: u8,
            a: Vec<Value>,
        }
        #[derive(Serialize)]
        struct Outer {
            zeta: Inner,
            alpha: Option<String>,
            mid: f64,
        }
        let v = Outer {
            zeta: Inner {
                z: 1,
                a: vec![json!({"y": 2, "x": {"d": -0.0, "c": [1.5, {"b": 1, "a": 0}]}})],
            },
            alpha: None,
            mid: 1e21,
        };
        assert_eq!(
            String::from_utf8(to_vec(&v).unwrap()).unwrap(),
            r#"{"alpha":null,"mid":1e+21,"zeta":{"a":[{"x":{"c":[1.5,{"a":0,"b":1}],"d":0},"y":2}],"z":1}}"#
        );
    }

    #[test]
    fn what_has_no_canonical_form_is_an_error() {
        // serde_json writes NaN and the infinities as `null` before a formatter sees them.
        assert_eq!(to_vec(&[f64::NAN, f64::INFINITY]).unwrap(), b"[null,null]");
        let raw = serde_json::value::RawValue::from_string("{\"b\":1,\"a\":2}".into()).unwrap();
        assert!(to_vec(&raw).is_err());
        // Two members of one name (a flattened struct repeating a field).
        #[derive(Serialize)]
        struct A {
            x: u8,
        }
        #[derive(Serialize)]
        struct B {
            x: u8,
            #[serde(flatten)]
            a: A,
        }
        assert!(
            to_vec(&B {
                x: 1,
                a: A { x: 2 }
            })
            .is_err()
        );
    }

    #[test]
    fn agrees_with_serde_jcs_on_documents_of_the_kind_the_registry_stores() {
        // serde_jcs (what the registry used before) and this formatter must give the same
        // bytes for everything with ASCII member names, or stored roots would change.
        let samples = [
            json!({"id": "did:alliance:z1", "verificationMethod": [{"type": "Multikey", "publicKeyMultibase": "z6Mk", "controller": "did:alliance:z1", "id": "#k"}], "service": [], "n": 9007199254740993u64, "neg": -12, "f": 0.1, "t": "tab\there \u{1}\u{7f} é \u{1F600} \"q\" \\"}),
            json!([1, "two", null, true, {"": 0, "a": {}, "b": []}]),
            json!({"deep": {"deeper": {"deepest": [[], [{}], [{"k": "v"}]]}}}),
            json!("just a string"),
            json!(123456789),
        ];
        for v in samples {
            assert_eq!(
                String::from_utf8(to_vec(&v).unwrap()).unwrap(),
                // `Plain`: serde_jcs cannot take serde_json's `arbitrary_precision` numbers,
                // which the workspace's other crates turn on.
                serde_jcs::to_string(&crate::encoding::Plain(&v)).unwrap(),
                "{v}"
            );
        }
    }

    /// A small deterministic generator of JSON values: nested objects and arrays, names
    /// and strings from a mix of ASCII, escapes, Latin-1, the BMP's private-use end and
    /// characters beyond U+FFFF, integers and doubles.
    struct Gen(u64);
    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn text(&mut self) -> String {
            const PIECES: [&str; 12] = [
                "a",
                "b",
                "Z",
                "1",
                "_",
                "\"",
                "\\",
                "\n",
                "\u{1}",
                "é",
                "\u{fb33}",
                "\u{1F600}",
            ];
            let n = self.next() % 4;
            (0..n)
                .map(|_| PIECES[(self.next() % 12) as usize])
                .collect()
        }
        fn value(&mut self, depth: u32) -> Value {
            match self.next() % if depth > 3 { 5 } else { 7 } {
                0 => Value::Null,
                1 => Value::Bool(self.next().is_multiple_of(2)),
                2 => json!(self.next() as i64 - (1 << 31)),
                3 => json!((self.next() as f64 - 2e9 + 0.5) / 7.0),
                4 => Value::String(self.text()),
                5 => Value::Array(
                    (0..self.next() % 4)
                        .map(|_| self.value(depth + 1))
                        .collect(),
                ),
                _ => Value::Object(
                    (0..self.next() % 5)
                        .map(|_| (self.text(), self.value(depth + 1)))
                        .collect(),
                ),
            }
        }
    }

    /// Equal as JSON values, numbers compared as the doubles they denote (with serde_json's
    /// `arbitrary_precision`, `Value`'s own equality compares number texts).
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
            }
            _ => a == b,
        }
    }

    #[test]
    fn canonical_text_is_sorted_idempotent_and_means_the_same_value() {
        let mut g = Gen(7);
        for _ in 0..3_000 {
            let v = g.value(0);
            let text = to_vec(&v).unwrap();
            // Read back with each object's member order checked (serde_json's own map
            // would re-sort it).
            let _: indexed::Value = serde_json::from_slice(&text).unwrap();
            let reparsed: Value = serde_json::from_slice(&text).unwrap();
            assert!(same(&reparsed, &v), "{}", String::from_utf8_lossy(&text));
            assert_eq!(to_vec(&reparsed).unwrap(), text);
        }
    }

    /// A JSON value whose objects keep their members in the order of the text.
    mod indexed {
        use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
        use serde_json::Map;

        pub struct Value(pub serde_json::Value);

        impl<'de> Deserialize<'de> for Value {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = Value;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("JSON")
                    }
                    fn visit_unit<E>(self) -> Result<Value, E> {
                        Ok(Value(serde_json::Value::Null))
                    }
                    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
                        Ok(Value(b.into()))
                    }
                    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
                        Ok(Value(n.into()))
                    }
                    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
                        Ok(Value(n.into()))
                    }
                    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
                        Ok(Value(n.into()))
                    }
                    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
                        Ok(Value(s.into()))
                    }
                    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
                        let mut v = Vec::new();
                        while let Some(Value(x)) = a.next_element()? {
                            v.push(x);
                        }
                        Ok(Value(v.into()))
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
                        // Names in text order, kept as a list of pairs checked by the caller.
                        let mut pairs = Vec::new();
                        while let Some((k, Value(v))) = a.next_entry::<String, Value>()? {
                            pairs.push((k, v));
                        }
                        Ok(Value(as_ordered(pairs)))
                    }
                }
                d.deserialize_any(V)
            }
        }

        /// serde_json's `Map` sorts its keys (no `preserve_order` here), so the text order
        /// is checked on the pairs before they go into it.
        fn as_ordered(pairs: Vec<(String, serde_json::Value)>) -> serde_json::Value {
            let names: Vec<Vec<u16>> = pairs
                .iter()
                .map(|(k, _)| k.encode_utf16().collect())
                .collect();
            assert!(
                names.windows(2).all(|w| w[0] < w[1]),
                "members out of order: {names:?}"
            );
            serde_json::Value::Object(pairs.into_iter().collect::<Map<_, _>>())
        }
    }
}
