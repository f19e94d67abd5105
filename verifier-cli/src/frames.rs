//! `--qr-frames DIR`: a presentation bundle shown as an animated QR sequence
//! (`verifier_lib::qr_frames`), read back from a directory of images (PNG or JPEG camera
//! stills or screenshots of the frames, in any order, repeats allowed).
//!
//! This module only turns the images into the bundle's bytes; the caller verifies those bytes
//! exactly as it verifies a bundle given as a file. Images that hold no frame (other pictures,
//! QR codes of something else, files that are not images) are skipped with a note on stderr,
//! and a sequence that does not join (a frame missing, frames of two bundles) is an error
//! naming what is wrong. The work is bounded: at most [`qr_frames::MAX_FRAMES`] files read,
//! each at most [`MAX_IMAGE_BYTES`], and images larger than [`MAX_SIDE`] pixels scaled down
//! before the QR search.

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use verifier_lib::qr_frames;

/// Largest image file read (a phone photo is a few MiB).
pub const MAX_IMAGE_BYTES: u64 = 16 * 1024 * 1024;
/// Largest side, in pixels, of the image searched for QR codes; larger images are scaled
/// down first (a frame's QR code stays readable, and the search stays fast).
pub const MAX_SIDE: u32 = 2000;
/// Largest image side decoded at all, and the most memory a decoder may take: a small file
/// must not inflate into gigabytes of pixels.
const MAX_DECODED_SIDE: u32 = 20_000;
const MAX_DECODE_ALLOC: u64 = 512 * 1024 * 1024;
/// Images decoded at once.
const MAX_THREADS: usize = 4;

/// What one file gave.
enum Read1 {
    /// The texts of the bundle frames found in it (one, usually).
    Frames(Vec<String>),
    /// Why it gave no frame.
    Skipped(String),
}

/// The bundle's bytes, joined from the frames found in the images of `dir`.
pub fn read_dir(dir: &Path) -> Result<Vec<u8>> {
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let path = entry.path();
        if path.is_file() {
            files.push(path);
        }
    }
    if files.is_empty() {
        bail!("{} holds no images", dir.display());
    }
    if files.len() > qr_frames::MAX_FRAMES {
        bail!(
            "{} holds {} files; at most {} images are read",
            dir.display(),
            files.len(),
            qr_frames::MAX_FRAMES
        );
    }
    // Sorted, so the notes come in a stable order.
    files.sort();
    let results = read_all(&files);
    let mut texts = Vec::new();
    for (path, result) in files.iter().zip(results) {
        match result {
            Read1::Frames(found) => texts.extend(found),
            Read1::Skipped(why) => {
                eprintln!("alliance-verify: note: {}: skipped ({why})", path.display());
            }
        }
    }
    if texts.is_empty() {
        bail!(
            "no presentation bundle frame ({}:…) was found in the images of {}",
            qr_frames::PREFIX,
            dir.display()
        );
    }
    qr_frames::decode(&texts)
        .with_context(|| format!("the QR frames in {} do not join", dir.display()))
}

/// Reads the files on a few threads, giving their results in the files' order.
fn read_all(files: &[PathBuf]) -> Vec<Read1> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_THREADS);
    let chunk = files.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(|p| read_one(p)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .zip(files.chunks(chunk))
            .flat_map(|(h, part)| {
                h.join().unwrap_or_else(|_| {
                    part.iter()
                        .map(|_| Read1::Skipped("the image could not be decoded".into()))
                        .collect()
                })
            })
            .collect()
    })
}

fn read_one(path: &Path) -> Read1 {
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_IMAGE_BYTES => {
            return Read1::Skipped(format!(
                "larger than {} MiB",
                MAX_IMAGE_BYTES / (1024 * 1024)
            ));
        }
        Ok(_) => {}
        Err(e) => return Read1::Skipped(format!("unreadable: {e}")),
    }
    let mut bytes = Vec::new();
    // Bounded again while reading: the file may have grown since.
    let read =
        std::fs::File::open(path).and_then(|f| f.take(MAX_IMAGE_BYTES + 1).read_to_end(&mut bytes));
    if let Err(e) = read {
        return Read1::Skipped(format!("unreadable: {e}"));
    }
    if bytes.len() as u64 > MAX_IMAGE_BYTES {
        return Read1::Skipped(format!(
            "larger than {} MiB",
            MAX_IMAGE_BYTES / (1024 * 1024)
        ));
    }
    let texts = match qr_texts(&bytes) {
        Ok(t) => t,
        Err(why) => return Read1::Skipped(why),
    };
    if texts.is_empty() {
        return Read1::Skipped("no QR code found".into());
    }
    let frames: Vec<String> = texts
        .into_iter()
        .filter(|t| qr_frames::is_frame(t))
        .collect();
    if frames.is_empty() {
        return Read1::Skipped("its QR code is not a presentation bundle frame".into());
    }
    Read1::Frames(frames)
}

/// The texts of the QR codes in an image (PNG or JPEG bytes).
fn qr_texts(bytes: &[u8]) -> Result<Vec<String>, String> {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DECODED_SIDE);
    limits.max_image_height = Some(MAX_DECODED_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("unreadable: {e}"))?;
    if !matches!(
        reader.format(),
        Some(image::ImageFormat::Png | image::ImageFormat::Jpeg)
    ) {
        return Err("not a PNG or JPEG image".into());
    }
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| format!("not a readable PNG or JPEG image: {e}"))?;
    let img = if img.width().max(img.height()) > MAX_SIDE {
        img.thumbnail(MAX_SIDE, MAX_SIDE)
    } else {
        img
    };
    let mut prepared = rqrr::PreparedImage::prepare(img.to_luma8());
    Ok(prepared
        .detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, text)| text))
        .collect())
}
