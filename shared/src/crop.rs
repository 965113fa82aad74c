//! Square crops of an image: the one place that decides which pixels a
//! network sees. The experts' part crops, the student's body crop, its
//! training augmentation (rotation, scale, flip) and the browser's person crop
//! all go through [`CropTransform`], so a keypoint or a projected joint maps
//! between image pixels and crop coordinates the same way everywhere.
//!
//! Crop coordinates are normalised: the crop spans [-1, 1] on both axes, x to
//! the right, y down (the weak-perspective camera's frame).

/// What a crop reads outside the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Border {
    /// Black (the project's crops, MediaPipe's detector letterbox).
    Zero,
    /// The nearest edge pixel, repeated (MediaPipe's landmark crops: its
    /// `ImageToTensorCalculator` replicates unless told otherwise).
    Replicate,
}

/// A square window on an image, possibly rotated and mirrored.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CropTransform {
    /// Centre in pixels.
    pub center: [f32; 2],
    /// Side length in pixels.
    pub side: f32,
    /// In-plane rotation of the window (radians, counter-clockwise as seen on
    /// screen), so the content appears turned clockwise in the crop.
    pub rotation: f32,
    /// Mirror the crop left–right (the people in it swap left and right).
    pub flip: bool,
}

impl CropTransform {
    /// The square around `bbox` (x0, y0, x1, y1), its side `scale` times the
    /// box's longer side.
    pub fn around_box(bbox: [f32; 4], scale: f32) -> Self {
        let [x0, y0, x1, y1] = bbox;
        Self {
            center: [(x0 + x1) / 2.0, (y0 + y1) / 2.0],
            side: (x1 - x0).max(y1 - y0) * scale,
            rotation: 0.0,
            flip: false,
        }
    }

    /// The square around the keypoints above `min_confidence` (x, y, c),
    /// `scale` times their extent; `None` when fewer than `min_points` pass
    /// or they collapse to a point.
    pub fn around_points(
        points: &[[f32; 3]],
        min_confidence: f32,
        min_points: usize,
        scale: f32,
    ) -> Option<Self> {
        let confident: Vec<&[f32; 3]> = points.iter().filter(|p| p[2] > min_confidence).collect();
        if confident.len() < min_points.max(2) {
            return None;
        }
        let crop = Self::around_box(bounds(confident.iter().map(|p| [p[0], p[1]])), scale);
        (crop.side > 1.0).then_some(crop)
    }

    /// The whole image, centred and padded to a square (inference without a box).
    pub fn whole_image(width: u32, height: u32) -> Self {
        Self::around_box([0.0, 0.0, width as f32, height as f32], 1.0)
    }

    /// This window with an augmentation applied on top: turned by
    /// `rotation`, its side divided by `zoom`, mirrored if `flip`.
    pub fn augmented(self, rotation: f32, zoom: f32, flip: bool) -> Self {
        Self {
            rotation: self.rotation + rotation,
            side: self.side / zoom,
            flip: self.flip ^ flip,
            ..self
        }
    }

    /// Crop coordinates → image pixels.
    pub fn to_image(&self, crop: [f32; 2]) -> [f32; 2] {
        let u = if self.flip { -crop[0] } else { crop[0] };
        let v = crop[1];
        let (s, c) = self.rotation.sin_cos();
        let half = self.side / 2.0;
        // Screen rotation with y down: counter-clockwise on screen is (c, s; −s, c).
        [
            self.center[0] + half * (c * u + s * v),
            self.center[1] + half * (-s * u + c * v),
        ]
    }

    /// Image pixels → crop coordinates.
    pub fn to_crop(&self, pixel: [f32; 2]) -> [f32; 2] {
        let half = self.side / 2.0;
        let dx = (pixel[0] - self.center[0]) / half;
        let dy = (pixel[1] - self.center[1]) / half;
        let (s, c) = self.rotation.sin_cos();
        let u = c * dx - s * dy;
        let v = s * dx + c * dy;
        [if self.flip { -u } else { u }, v]
    }

    /// Keypoints (x, y, c) in pixels → crop coordinates; confidence kept,
    /// missed points (c = 0) stay (0, 0, 0).
    pub fn keypoints_to_crop(&self, points: &[[f32; 3]]) -> Vec<[f32; 3]> {
        points
            .iter()
            .map(|p| {
                if p[2] <= 0.0 {
                    [0.0; 3]
                } else {
                    let [u, v] = self.to_crop([p[0], p[1]]);
                    [u, v, p[2]]
                }
            })
            .collect()
    }

    /// Samples the window from an RGB8 image (`rgb` row-major, 3 bytes per
    /// pixel) into `size × size`, bilinear, channels first, values in [0, 1];
    /// outside the image is black. Returns `[3, size, size]` flattened.
    pub fn sample_rgb(&self, rgb: &[u8], width: u32, height: u32, size: usize) -> Vec<f32> {
        self.sample(rgb, 3, width, height, size, Border::Zero)
    }

    /// [`Self::sample_rgb`] with a chosen [`Border`] for the pixels outside
    /// the image.
    pub fn sample_rgb_with(
        &self,
        rgb: &[u8],
        width: u32,
        height: u32,
        size: usize,
        border: Border,
    ) -> Vec<f32> {
        self.sample(rgb, 3, width, height, size, border)
    }

    /// [`Self::sample_rgb`] for RGBA8 pixels (a canvas's `ImageData`, a video
    /// frame); alpha is ignored.
    pub fn sample_rgba(&self, rgba: &[u8], width: u32, height: u32, size: usize) -> Vec<f32> {
        self.sample(rgba, 4, width, height, size, Border::Zero)
    }

    /// The next frame's person crop in a video: the square around `points`
    /// (the previous frame's projected body joints, pixels) grown by `scale`.
    /// Falls back to the centred whole image when there is no usable
    /// previous body: too few finite points, a box smaller than a tenth of
    /// the image, or a centre outside the image. Without the fallback a bad
    /// prediction would feed the next crop and the tracker could never
    /// recover.
    pub fn follow(points: Option<&[[f32; 2]]>, width: u32, height: u32, scale: f32) -> Self {
        let whole = Self::whole_image(width, height);
        let Some(points) = points else {
            return whole;
        };
        let finite: Vec<&[f32; 2]> = points
            .iter()
            .filter(|p| p[0].is_finite() && p[1].is_finite())
            .collect();
        if finite.len() < 2 {
            return whole;
        }
        let crop = Self::around_box(bounds(finite.iter().map(|p| **p)), scale);
        let (w, h) = (width as f32, height as f32);
        let inside = (0.0..w).contains(&crop.center[0]) && (0.0..h).contains(&crop.center[1]);
        if !inside || crop.side < 0.1 * w.min(h) || !crop.side.is_finite() {
            return whole;
        }
        // Never wider than the padded whole image: more would only add black.
        Self {
            side: crop.side.min(w.max(h) * 1.5),
            ..crop
        }
    }

    /// Bilinear sampling shared by the RGB and RGBA forms; `channels` is the
    /// pixel stride in bytes (the first three are read).
    fn sample(
        &self,
        pixels: &[u8],
        channels: usize,
        width: u32,
        height: u32,
        size: usize,
        border: Border,
    ) -> Vec<f32> {
        let (w, h) = (width as usize, height as usize);
        let plane = size * size;
        let mut out = vec![0.0f32; 3 * plane];
        if pixels.len() < w * h * channels || size == 0 || w == 0 || h == 0 {
            return out;
        }
        let texel = |x: isize, y: isize, ch: usize| -> f32 {
            let inside = x >= 0 && y >= 0 && x < w as isize && y < h as isize;
            let (x, y) = match border {
                _ if inside => (x as usize, y as usize),
                Border::Zero => return 0.0,
                Border::Replicate => (
                    x.clamp(0, w as isize - 1) as usize,
                    y.clamp(0, h as isize - 1) as usize,
                ),
            };
            pixels[(y * w + x) * channels + ch] as f32
        };
        for row in 0..size {
            for col in 0..size {
                // Pixel centres of the crop grid.
                let u = (col as f32 + 0.5) / size as f32 * 2.0 - 1.0;
                let v = (row as f32 + 0.5) / size as f32 * 2.0 - 1.0;
                let [x, y] = self.to_image([u, v]);
                let (x, y) = (x - 0.5, y - 0.5);
                let (x0, y0) = (x.floor(), y.floor());
                let (fx, fy) = (x - x0, y - y0);
                let (xi, yi) = (x0 as isize, y0 as isize);
                for ch in 0..3 {
                    let top = texel(xi, yi, ch) * (1.0 - fx) + texel(xi + 1, yi, ch) * fx;
                    let bottom =
                        texel(xi, yi + 1, ch) * (1.0 - fx) + texel(xi + 1, yi + 1, ch) * fx;
                    out[ch * plane + row * size + col] = (top * (1.0 - fy) + bottom * fy) / 255.0;
                }
            }
        }
        out
    }
}

/// The part crops of one person, from its OpenPose-137 keypoints: what the
/// experts see, in training (`furpe expert train`) and labelling (`furpe
/// label`) alike. A part without enough confident keypoints has no crop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartCrops {
    /// Around the confident body keypoints (the person box when too few).
    pub body: CropTransform,
    /// Around the confident face keypoints.
    pub face: Option<CropTransform>,
    /// Around the left hand's keypoints, mirrored (FrankMocap sees right hands only).
    pub left_hand: Option<CropTransform>,
    /// Around the right hand's keypoints.
    pub right_hand: Option<CropTransform>,
}

/// Body crop side over the keypoints' extent (SPIN's crops leave a margin).
pub const BODY_CROP_SCALE: f32 = 1.2;
/// Face crop side over the face keypoints' extent (ExPose's head crop scale).
pub const FACE_CROP_SCALE: f32 = 1.5;
/// Hand crop side over the hand keypoints' extent (ExPose's hand crop scale).
pub const HAND_CROP_SCALE: f32 = 2.0;
/// Keypoints below this confidence do not shape a crop.
pub const CROP_MIN_CONFIDENCE: f32 = 0.1;

impl PartCrops {
    /// `keypoints`: OpenPose-137 (body 25, left hand 21, right hand 21,
    /// face 70) in pixels; `person_box` (x0, y0, x1, y1) is the body's fallback.
    pub fn from_keypoints(keypoints: &[[f32; 3]], person_box: [f32; 4]) -> Self {
        use crate::keypoints::{NUM_BODY25, NUM_HAND};
        let range = |a: usize, b: usize| keypoints.get(a..b.min(keypoints.len())).unwrap_or(&[]);
        let body = CropTransform::around_points(
            range(0, NUM_BODY25),
            CROP_MIN_CONFIDENCE,
            6,
            BODY_CROP_SCALE,
        )
        .unwrap_or_else(|| CropTransform::around_box(person_box, BODY_CROP_SCALE));
        let left = NUM_BODY25;
        let right = left + NUM_HAND;
        let face = right + NUM_HAND;
        let hand = |a: usize| {
            CropTransform::around_points(
                range(a, a + NUM_HAND),
                CROP_MIN_CONFIDENCE,
                6,
                HAND_CROP_SCALE,
            )
        };
        Self {
            body,
            face: CropTransform::around_points(
                range(face, keypoints.len()),
                CROP_MIN_CONFIDENCE,
                10,
                FACE_CROP_SCALE,
            ),
            left_hand: hand(left).map(|c| c.augmented(0.0, 1.0, true)),
            right_hand: hand(right),
        }
    }
}

/// The square (x0, y0, x1, y1) an unrotated crop covers, in pixels.
impl CropTransform {
    pub fn square(&self) -> [f32; 4] {
        let h = self.side / 2.0;
        [
            self.center[0] - h,
            self.center[1] - h,
            self.center[0] + h,
            self.center[1] + h,
        ]
    }
}

/// The box (x0, y0, x1, y1) around points.
pub fn bounds(points: impl Iterator<Item = [f32; 2]>) -> [f32; 4] {
    points.fold([f32::MAX, f32::MAX, f32::MIN, f32::MIN], |b, p| {
        [
            b[0].min(p[0]),
            b[1].min(p[1]),
            b[2].max(p[0]),
            b[3].max(p[1]),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: [f32; 2], b: [f32; 2]) -> bool {
        (a[0] - b[0]).abs() < 1e-4 && (a[1] - b[1]).abs() < 1e-4
    }

    #[test]
    fn crop_and_image_coordinates_round_trip() {
        let t = CropTransform::around_box([10.0, 20.0, 110.0, 70.0], 1.2).augmented(0.4, 1.3, true);
        for p in [[0.0, 0.0], [15.0, 33.0], [100.0, 60.0]] {
            assert!(close(t.to_image(t.to_crop(p)), p));
        }
        // Unrotated, unflipped: the box's corners of the square map to ±1.
        let t = CropTransform::around_box([0.0, 0.0, 100.0, 100.0], 1.0);
        assert!(close(t.to_crop([0.0, 0.0]), [-1.0, -1.0]));
        assert!(close(t.to_crop([100.0, 50.0]), [1.0, 0.0]));
        let f = t.augmented(0.0, 1.0, true);
        assert!(close(f.to_crop([100.0, 50.0]), [-1.0, 0.0]));
        // A window turned a quarter counter-clockwise on screen has its top
        // on the image's left.
        let r = t.augmented(std::f32::consts::FRAC_PI_2, 1.0, false);
        assert!(close(r.to_image([0.0, -1.0]), [0.0, 50.0]));
    }

    #[test]
    fn sampling_reads_the_right_pixels() {
        // 4×2 image: left half red, right half blue.
        let mut rgb = vec![0u8; 4 * 2 * 3];
        for y in 0..2 {
            for x in 0..4 {
                let i = (y * 4 + x) * 3;
                if x < 2 {
                    rgb[i] = 255;
                } else {
                    rgb[i + 2] = 255;
                }
            }
        }
        let t = CropTransform::whole_image(4, 2);
        let crop = t.sample_rgb(&rgb, 4, 2, 4);
        // Row 1 (inside the image): red on the left, blue on the right.
        assert!((crop[4] - 1.0).abs() < 1e-6 && crop[2 * 16 + 4] == 0.0);
        assert!((crop[2 * 16 + 7] - 1.0).abs() < 1e-6 && crop[7] == 0.0);
        // Row 0 is above the image (padded to a square): black.
        assert!(crop[..4].iter().all(|&v| v == 0.0));
        let flipped = t.augmented(0.0, 1.0, true).sample_rgb(&rgb, 4, 2, 4);
        assert!((flipped[2 * 16 + 4] - 1.0).abs() < 1e-6 && flipped[4] == 0.0);
    }

    #[test]
    fn boxes_from_points() {
        let pts = [[10.0, 10.0, 0.9], [30.0, 20.0, 0.8], [500.0, 500.0, 0.05]];
        let t = CropTransform::around_points(&pts, 0.1, 2, 2.0).unwrap();
        assert_eq!(t.center, [20.0, 15.0]);
        assert_eq!(t.side, 40.0);
        assert!(CropTransform::around_points(&pts, 0.85, 2, 2.0).is_none());
        assert_eq!(t.square(), [0.0, -5.0, 40.0, 35.0]);
    }

    #[test]
    fn part_crops_mirror_left_hands_and_skip_missing_parts() {
        let mut kp = vec![[0.0f32; 3]; 137];
        for (k, p) in kp.iter_mut().enumerate().take(25) {
            *p = [50.0 + k as f32, 20.0 + 4.0 * k as f32, 0.9];
        }
        for k in 0..21 {
            kp[25 + k] = [80.0 + (k % 5) as f32, 60.0 + (k / 5) as f32, 0.5];
        }
        let crops = PartCrops::from_keypoints(&kp, [0.0, 0.0, 10.0, 10.0]);
        assert!(crops.body.side > 90.0 && !crops.body.flip);
        let left = crops.left_hand.expect("left hand crop");
        assert!(left.flip && (left.center[0] - 82.0).abs() < 1e-4);
        assert!(crops.right_hand.is_none() && crops.face.is_none());
        // No body keypoints: the person box.
        let crops = PartCrops::from_keypoints(&[[0.0; 3]; 137], [0.0, 0.0, 10.0, 20.0]);
        assert_eq!(crops.body.center, [5.0, 10.0]);
    }

    #[test]
    fn following_a_body_and_falling_back() {
        let whole = CropTransform::whole_image(320, 240);
        assert_eq!(CropTransform::follow(None, 320, 240, 1.2), whole);
        let body = [[100.0, 50.0], [140.0, 200.0], [f32::NAN, 0.0]];
        let t = CropTransform::follow(Some(&body), 320, 240, 1.2);
        assert_eq!(t.center, [120.0, 125.0]);
        assert!((t.side - 180.0).abs() < 1e-3);
        // Collapsed, off-image or non-finite bodies: the whole image.
        let tiny = [[100.0, 50.0], [101.0, 51.0]];
        assert_eq!(CropTransform::follow(Some(&tiny), 320, 240, 1.2), whole);
        let away = [[1000.0, 50.0], [1400.0, 200.0]];
        assert_eq!(CropTransform::follow(Some(&away), 320, 240, 1.2), whole);
        assert_eq!(
            CropTransform::follow(Some(&[[f32::NAN; 2]; 3]), 320, 240, 1.2),
            whole
        );
        // RGBA sampling reads the same colours as RGB.
        let rgb = [255u8, 0, 0, 0, 0, 255];
        let rgba = [255u8, 0, 0, 255, 0, 0, 255, 255];
        let t = CropTransform::whole_image(2, 1);
        assert_eq!(t.sample_rgb(&rgb, 2, 1, 4), t.sample_rgba(&rgba, 2, 1, 4));
    }

    #[test]
    fn replicate_border_repeats_the_edge_and_zero_reads_black() {
        // A 2 × 1 image (red, green); a window twice the image's width
        // centred on it reads outside on both sides.
        let rgb = [255, 0, 0, 0, 255, 0];
        let window = CropTransform {
            center: [1.0, 0.5],
            side: 4.0,
            rotation: 0.0,
            flip: false,
        };
        let zero = window.sample_rgb_with(&rgb, 2, 1, 4, Border::Zero);
        let replicate = window.sample_rgb_with(&rgb, 2, 1, 4, Border::Replicate);
        // Row 1 (inside vertically), column 0: left of the red pixel.
        let red = |v: &[f32], col: usize| v[4 + col];
        assert_eq!(red(&zero, 0), 0.0);
        assert_eq!(red(&replicate, 0), 1.0, "the red edge is repeated");
        // An empty image gives zeros, not a panic.
        assert!(window
            .sample_rgb_with(&[], 0, 0, 4, Border::Replicate)
            .iter()
            .all(|&v| v == 0.0));
    }
}
