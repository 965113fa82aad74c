//! `worst.png`: the N worst samples in a grid, each image cropped around the
//! person with the ground truth (green) and the Procrustes-aligned prediction
//! (red) drawn as projected points. Points, not a rendered mesh: it needs no
//! GPU, and on a mesh the aligned points show where the error is.

use std::path::Path;

use anyhow::Context;
use furpe::benchmarks::score::SampleScore;
use furpe::benchmarks::EvalSample;
use image::{imageops::FilterType, Rgb, RgbImage};

/// Side of one tile, pixels.
pub const TILE: u32 = 256;
const COLUMNS: usize = 4;
const GT_COLOR: Rgb<u8> = Rgb([40, 220, 40]);
const PRED_COLOR: Rgb<u8> = Rgb([255, 50, 50]);

/// Writes the gallery of `worst` (indices into both slices, worst first).
pub fn write_gallery(
    path: &Path,
    samples: &[EvalSample],
    scores: &[SampleScore],
    worst: &[usize],
) -> anyhow::Result<()> {
    let cols = worst.len().clamp(1, COLUMNS);
    let rows = worst.len().div_ceil(cols).max(1);
    let mut sheet = RgbImage::from_pixel(cols as u32 * TILE, rows as u32 * TILE, Rgb([24, 24, 24]));
    for (k, &i) in worst.iter().enumerate() {
        let tile = tile(&samples[i], &scores[i])?;
        let (x, y) = (
            (k % cols) as i64 * TILE as i64,
            (k / cols) as i64 * TILE as i64,
        );
        image::imageops::replace(&mut sheet, &tile, x, y);
    }
    let mut bytes = std::io::Cursor::new(Vec::new());
    sheet
        .write_to(&mut bytes, image::ImageFormat::Png)
        .with_context(|| format!("{}: encoding PNG", path.display()))?;
    furpe::io::write_bytes_atomic(path, bytes.get_ref())
        .with_context(|| format!("{}: cannot write", path.display()))
}

/// One sample: a square crop around the person (or the whole image), scaled
/// to [`TILE`], with the overlay points.
fn tile(sample: &EvalSample, score: &SampleScore) -> anyhow::Result<RgbImage> {
    let image = image::open(&sample.image)
        .with_context(|| format!("{}: cannot read the image", sample.image.display()))?
        .to_rgb8();
    let (w, h) = (image.width() as f64, image.height() as f64);
    // A square around the box, 20% larger; the whole image without a box.
    let (cx, cy, side) = match sample.person_box {
        Some([x0, y0, x1, y1]) => {
            let side = 1.2 * f64::from((x1 - x0).max(y1 - y0));
            (
                f64::from(x0 + x1) / 2.0,
                f64::from(y0 + y1) / 2.0,
                side.max(8.0),
            )
        }
        None => (w / 2.0, h / 2.0, w.max(h)),
    };
    let (x0, y0) = (cx - side / 2.0, cy - side / 2.0);
    let scale = TILE as f64 / side;
    // Crop inside the image, then place it where it belongs in the tile.
    let (ix0, iy0) = (x0.max(0.0).floor(), y0.max(0.0).floor());
    let (ix1, iy1) = ((x0 + side).min(w).ceil(), (y0 + side).min(h).ceil());
    let mut out = RgbImage::from_pixel(TILE, TILE, Rgb([0, 0, 0]));
    if ix1 > ix0 && iy1 > iy0 {
        let crop = image::imageops::crop_imm(
            &image,
            ix0 as u32,
            iy0 as u32,
            (ix1 - ix0) as u32,
            (iy1 - iy0) as u32,
        )
        .to_image();
        let (cw, ch) = (
            (((ix1 - ix0) * scale).round() as u32).max(1),
            (((iy1 - iy0) * scale).round() as u32).max(1),
        );
        let resized = image::imageops::resize(&crop, cw, ch, FilterType::Triangle);
        image::imageops::replace(
            &mut out,
            &resized,
            ((ix0 - x0) * scale).round() as i64,
            ((iy0 - y0) * scale).round() as i64,
        );
    }
    if let (Some(camera), Some((gt, pred))) = (&sample.camera, &score.overlay) {
        for (points, color) in [(gt, GT_COLOR), (pred, PRED_COLOR)] {
            for &p in points {
                if let Some([u, v]) = camera.project(p) {
                    dot(&mut out, (u - x0) * scale, (v - y0) * scale, color);
                }
            }
        }
    }
    Ok(out)
}

/// A 2 × 2 dot.
fn dot(image: &mut RgbImage, x: f64, y: f64, color: Rgb<u8>) {
    let (x, y) = (x.round() as i64, y.round() as i64);
    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
        let (px, py) = (x + dx, y + dy);
        if px >= 0 && py >= 0 && px < image.width() as i64 && py < image.height() as i64 {
            image.put_pixel(px as u32, py as u32, color);
        }
    }
}
