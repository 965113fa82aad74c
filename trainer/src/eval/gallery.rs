//! `worst.png`: the N worst samples in a grid, each image cropped around the
//! person with the ground truth (green) and the Procrustes-aligned prediction
//! (red) drawn as projected points. Points, not a rendered mesh: it needs no
//! GPU, and on a mesh the aligned points show where the error is.

use std::path::Path;

use anyhow::Context;
use furpe::benchmarks::score::SampleScore;
use furpe::benchmarks::EvalSample;
use image::{Rgb, RgbImage};

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
    let image = crate::crops::decode_rgb(&sample.image)?;
    let (w, h) = (image.width(), image.height());
    // The body window every student crop uses (the person box 1.2× larger;
    // the whole image without a box), sampled at the tile's size.
    let mut crop = furpe::inference::body_window(sample.person_box, None, w, h);
    crop.side = crop.side.max(8.0);
    let planes = crop.sample_rgb(image.as_raw(), w, h, TILE as usize);
    let plane = (TILE * TILE) as usize;
    let mut out = RgbImage::new(TILE, TILE);
    for (i, pixel) in out.pixels_mut().enumerate() {
        *pixel =
            Rgb([0, 1, 2].map(|c| (planes[c * plane + i] * 255.0).round().clamp(0.0, 255.0) as u8));
    }
    // Crop coordinates in [-1, 1] → tile pixel indices (the sampling grid
    // puts pixel centres at (i + 0.5) / TILE).
    let to_tile = |u: f64, v: f64| {
        let [x, y] = crop.to_crop([u as f32, v as f32]);
        (
            (f64::from(x) + 1.0) / 2.0 * f64::from(TILE) - 0.5,
            (f64::from(y) + 1.0) / 2.0 * f64::from(TILE) - 0.5,
        )
    };
    if let (Some(camera), Some((gt, pred))) = (&sample.camera, &score.overlay) {
        for (points, color) in [(gt, GT_COLOR), (pred, PRED_COLOR)] {
            for &p in points {
                if let Some([u, v]) = camera.project(p) {
                    let (x, y) = to_tile(u, v);
                    dot(&mut out, x, y, color);
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
