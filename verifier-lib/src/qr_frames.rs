//! A presentation bundle as a sequence of QR codes, for a business's camera: the wallet
//! shows the frames in turn, the verifier reads them in any order, and the reassembled bundle
//! verifies exactly as the file does.
//!
//! The bundle is DEFLATE-compressed (raw, RFC 1951), cut into pieces, and each piece becomes
//! one frame's text:
//!
//! ```text
//! AIDB1:<index>/<total>:<id>:<piece, base64url>
//! ```
//!
//! `index` counts from 1; `id` is the first 12 hex digits of the SHA-256 of the whole
//! compressed bundle: it tells frames of different bundles apart, and is checked once the
//! pieces are joined, so a missing, repeated, foreign or damaged frame is found. Reading is
//! bounded: at most [`MAX_FRAMES`] frames and a bundle of at most
//! the verifier's input limit (4 MiB) once inflated.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The prefix of every frame (Alliance ID bundle, version 1).
pub const PREFIX: &str = "AIDB1";
/// Base64url characters per frame: with the header, a frame fits a version-20 QR code at
/// error correction level M (666 bytes), which phone and webcam scanners read from a screen.
pub const PIECE_CHARS: usize = 600;
/// Most frames a sequence may have.
pub const MAX_FRAMES: usize = 999;

/// Why frames could not be joined into a bundle.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("not a bundle frame (it does not start with {PREFIX}:)")]
    NotAFrame,
    #[error("a frame is malformed: {0}")]
    Malformed(&'static str),
    #[error("frames of different bundles are mixed ({0} and {1})")]
    Mixed(String, String),
    #[error("frames {0:?} are missing (of {1})")]
    Missing(Vec<usize>, usize),
    #[error("no frames")]
    Empty,
    #[error("the joined frames do not match their checksum (a frame is damaged)")]
    Checksum,
    #[error("the bundle is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the bundle is too large for {MAX_FRAMES} frames")]
    TooManyFrames,
    #[error("the joined frames are not a compressed bundle")]
    Inflate,
}

fn id_of(compressed: &[u8]) -> String {
    let d = Sha256::digest(compressed);
    d[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// The frames of `bundle` (its bytes, as a file would hold them).
pub fn encode(bundle: &[u8]) -> Result<Vec<String>, FrameError> {
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(bundle).map_err(|_| FrameError::Inflate)?;
    let compressed = z.finish().map_err(|_| FrameError::Inflate)?;
    let id = id_of(&compressed);
    let text = URL_SAFE_NO_PAD.encode(&compressed);
    let pieces: Vec<&str> = text
        .as_bytes()
        .chunks(PIECE_CHARS)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    let total = pieces.len().max(1);
    if total > MAX_FRAMES {
        return Err(FrameError::TooManyFrames);
    }
    Ok(pieces
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{PREFIX}:{}/{total}:{id}:{p}", i + 1))
        .collect())
}

struct Frame<'a> {
    index: usize,
    total: usize,
    id: &'a str,
    piece: &'a str,
}

fn parse(text: &str) -> Result<Frame<'_>, FrameError> {
    let rest = text
        .trim()
        .strip_prefix(PREFIX)
        .and_then(|r| r.strip_prefix(':'))
        .ok_or(FrameError::NotAFrame)?;
    let mut parts = rest.splitn(3, ':');
    let (Some(pos), Some(id), Some(piece)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(FrameError::Malformed(
            "it needs index/total, id and a piece",
        ));
    };
    let (i, t) = pos
        .split_once('/')
        .ok_or(FrameError::Malformed("no index/total"))?;
    let index: usize = i.parse().map_err(|_| FrameError::Malformed("bad index"))?;
    let total: usize = t.parse().map_err(|_| FrameError::Malformed("bad total"))?;
    if index == 0 || index > total || total > MAX_FRAMES {
        return Err(FrameError::Malformed("index out of range"));
    }
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(FrameError::Malformed("bad id"));
    }
    if piece.len() > 4 * PIECE_CHARS {
        return Err(FrameError::Malformed("piece too long"));
    }
    Ok(Frame {
        index,
        total,
        id,
        piece,
    })
}

/// Joins frames read in any order (repeats allowed, as a camera sees the same frame many
/// times) into the bundle's bytes. Texts that are not frames of this format are an error;
/// callers reading a camera feed filter with [`is_frame`] first.
pub fn decode<S: AsRef<str>>(texts: &[S]) -> Result<Vec<u8>, FrameError> {
    let mut pieces: BTreeMap<usize, &str> = BTreeMap::new();
    let mut id_total: Option<(&str, usize)> = None;
    for t in texts {
        let f = parse(t.as_ref())?;
        match id_total {
            None => id_total = Some((f.id, f.total)),
            Some((id, total)) if id != f.id || total != f.total => {
                return Err(FrameError::Mixed(id.to_owned(), f.id.to_owned()));
            }
            _ => {}
        }
        pieces.insert(f.index, f.piece);
    }
    let (id, total) = id_total.ok_or(FrameError::Empty)?;
    let missing: Vec<usize> = (1..=total).filter(|i| !pieces.contains_key(i)).collect();
    if !missing.is_empty() {
        return Err(FrameError::Missing(missing, total));
    }
    let text: String = pieces.values().copied().collect();
    let compressed = URL_SAFE_NO_PAD
        .decode(text.as_bytes())
        .map_err(|_| FrameError::Malformed("a piece is not base64url"))?;
    if id_of(&compressed) != id.to_ascii_lowercase() {
        return Err(FrameError::Checksum);
    }
    let limit = crate::input::Limits::default().max_bytes;
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(compressed.as_slice())
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| FrameError::Inflate)?;
    if out.len() > limit {
        return Err(FrameError::TooLarge(limit));
    }
    Ok(out)
}

/// Whether `text` is a frame of this format (for filtering what a scanner reads).
pub fn is_frame(text: &str) -> bool {
    parse(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(n: usize) -> Vec<u8> {
        // Varied text, so it does not compress to nothing.
        (0..n)
            .map(|i| {
                format!(
                    "{{\"proof{i}\":\"{:x}\"}}",
                    (i as u64).wrapping_mul(0x9e3779b97f4a7c15)
                )
            })
            .collect::<Vec<_>>()
            .join(",")
            .into_bytes()
    }

    #[test]
    fn frames_in_any_order_with_repeats_give_the_bundle_back() {
        let b = bundle(2000);
        let mut frames = encode(&b).unwrap();
        assert!(frames.len() > 3, "{}", frames.len());
        assert!(frames.iter().all(|f| f.len() <= PIECE_CHARS + 40));
        frames.reverse();
        frames.push(frames[1].clone());
        assert_eq!(decode(&frames).unwrap(), b);
        assert!(frames.iter().all(|f| is_frame(f)));
    }

    #[test]
    fn a_small_bundle_is_one_frame() {
        let frames = encode(b"{\"presentation\":\"x\"}").unwrap();
        assert_eq!(frames.len(), 1);
        assert!(frames[0].starts_with("AIDB1:1/1:"));
        assert_eq!(decode(&frames).unwrap(), b"{\"presentation\":\"x\"}");
    }

    #[test]
    fn missing_foreign_or_damaged_frames_are_named() {
        let frames = encode(&bundle(2000)).unwrap();
        let total = frames.len();
        assert_eq!(
            decode(&frames[1..]).unwrap_err(),
            FrameError::Missing(vec![1], total)
        );
        let other = encode(&bundle(1999)).unwrap();
        assert!(matches!(
            decode(&[frames[0].clone(), other[1].clone()]).unwrap_err(),
            FrameError::Mixed(..)
        ));
        // One character of a piece changed: the checksum over the joined pieces fails.
        let mut damaged = frames.clone();
        let last = damaged[2].pop().unwrap();
        damaged[2].push(if last == 'A' { 'B' } else { 'A' });
        assert!(matches!(
            decode(&damaged).unwrap_err(),
            FrameError::Checksum | FrameError::Malformed(_)
        ));
        assert_eq!(decode(&["hello"]).unwrap_err(), FrameError::NotAFrame);
        assert_eq!(decode::<&str>(&[]).unwrap_err(), FrameError::Empty);
        assert!(!is_frame("AIDB1:0/1:abcdefabcdef:x"));
    }

    #[test]
    fn a_compression_bomb_is_refused() {
        let zeros = vec![b' '; crate::input::Limits::default().max_bytes + 10];
        let frames = encode(&zeros).unwrap();
        assert!(frames.len() < 20, "{}", frames.len());
        assert!(matches!(
            decode(&frames).unwrap_err(),
            FrameError::TooLarge(_)
        ));
    }
}
