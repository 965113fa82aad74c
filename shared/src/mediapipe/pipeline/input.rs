//! A model's input: a window of an RGB8 image sampled to the model's size,
//! channels first, values mapped onto the model's range.

use crate::crop::{Border, CropTransform};

/// A model's input: the window `crop` of an RGB8 image sampled to
/// `size × size` (bilinear, black outside; see [`CropTransform::sample_rgb`]),
/// channels first `[3, size, size]` flattened (what
/// [`crate::tflite::Graph::forward`] takes), values mapped from [0, 1] onto
/// `range`. The detectors' letterbox reads black outside the image
/// ([`Border::Zero`], so the padding is `range[0]`, MediaPipe's
/// `BORDER_ZERO`); the landmark models' windows repeat the edge
/// ([`Border::Replicate`], MediaPipe's default): measured against
/// MediaPipe 0.10.14's own pose graph on the astronaut, black borders put
/// the body landmarks a median 9.5 px away, replicated ones 3.3 px.
pub fn input_tensor(
    crop: &CropTransform,
    rgb: &[u8],
    width: u32,
    height: u32,
    size: usize,
    range: [f32; 2],
    border: Border,
) -> Vec<f32> {
    let mut planar = crop.sample_rgb_with(rgb, width, height, size, border);
    for v in &mut planar {
        *v = to_range(*v, range);
    }
    planar
}

/// A value in [0, 1] mapped linearly onto `range` (the one rule for every
/// model input, the parity fixtures' included).
pub fn to_range(v: f32, range: [f32; 2]) -> f32 {
    range[0] + (range[1] - range[0]) * v
}
