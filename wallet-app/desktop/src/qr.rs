//! QR codes: reading a credential offer from an image (a PNG or JPEG file, a screenshot), and
//! drawing a presentation's frames (`verifier_lib::qr_frames`) as SVG images.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use crate::error::Failure;

/// Largest image accepted (a phone photo is a few MiB).
pub const MAX_IMAGE_BYTES: usize = 16 * 1024 * 1024;
/// Largest image side decoded (bigger images are scaled down first).
const MAX_SIDE: u32 = 2000;

/// The text of the first QR code found in `image` (PNG or JPEG bytes).
pub fn decode(image: &[u8]) -> Result<String, Failure> {
    if image.len() > MAX_IMAGE_BYTES {
        return Err(Failure::new(
            "qr_unreadable",
            "the image is too large (at most 16 MiB)",
        ));
    }
    let img = image::load_from_memory(image).map_err(|e| {
        Failure::new(
            "qr_unreadable",
            format!("this is not a PNG or JPEG image: {e}"),
        )
    })?;
    let img = if img.width().max(img.height()) > MAX_SIDE {
        img.thumbnail(MAX_SIDE, MAX_SIDE)
    } else {
        img
    };
    let mut prepared = rqrr::PreparedImage::prepare(img.to_luma8());
    for grid in prepared.detect_grids() {
        if let Ok((_, text)) = grid.decode() {
            return Ok(text);
        }
    }
    Err(Failure::new(
        "qr_unreadable",
        "no QR code could be read in this image; try a sharper or larger picture",
    ))
}

/// One frame as an SVG image.
pub fn svg(text: &str) -> Result<String, Failure> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| Failure::internal(format!("QR code: {e}")))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(320, 320)
        .quiet_zone(true)
        .build())
}

/// A bundle's frames, drawn.
pub fn frames(bundle: &[u8]) -> Result<Vec<String>, Failure> {
    verifier_lib::qr_frames::encode(bundle)
        .map_err(|e| {
            Failure::new(
                "too_large",
                format!("the presentation is too large for QR codes: {e}"),
            )
        })?
        .iter()
        .map(|f| svg(f))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drawn_offer_reads_back_from_a_png() {
        let link = "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fagency.example%2Foffers%2Fabc";
        let code = QrCode::new(link.as_bytes()).unwrap();
        let img = code
            .render::<image::Luma<u8>>()
            .module_dimensions(6, 6)
            .build();
        let mut png = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageLuma8(img)
            .write_to(&mut png, image::ImageFormat::Png)
            .unwrap();
        assert_eq!(decode(png.get_ref()).unwrap(), link);
        assert_eq!(decode(b"not an image").unwrap_err().code, "qr_unreadable");
    }
}
