//! Keypoint overlays: OpenPose points and limbs drawn into an RGBA buffer.

use crate::keypoints::{NUM_BODY25, NUM_HAND};

// ------------------------------------------------------ keypoint overlays

/// The overlay colour of OpenPose-137 point `k`: body points by limb, hands
/// by finger, the face in white.
pub fn keypoint_color(k: usize) -> [u8; 3] {
    const BODY: [[u8; 3]; NUM_BODY25] = [
        [255, 0, 85],
        [255, 0, 0],
        [255, 85, 0],
        [255, 170, 0],
        [255, 255, 0],
        [170, 255, 0],
        [85, 255, 0],
        [0, 255, 0],
        [255, 0, 0],
        [0, 255, 85],
        [0, 255, 170],
        [0, 255, 255],
        [0, 170, 255],
        [0, 85, 255],
        [0, 0, 255],
        [255, 0, 170],
        [170, 0, 255],
        [255, 0, 255],
        [85, 0, 255],
        [0, 0, 255],
        [0, 0, 255],
        [0, 0, 255],
        [0, 255, 255],
        [0, 255, 255],
        [0, 255, 255],
    ];
    const FINGERS: [[u8; 3]; 5] = [
        [255, 60, 60],
        [255, 200, 40],
        [60, 220, 60],
        [40, 160, 255],
        [200, 60, 255],
    ];
    match k {
        0..NUM_BODY25 => BODY[k],
        _ if k < NUM_BODY25 + 2 * NUM_HAND => {
            let h = (k - NUM_BODY25) % NUM_HAND;
            if h == 0 {
                [255, 255, 255]
            } else {
                FINGERS[(h - 1) / 4]
            }
        }
        _ => [255, 255, 255],
    }
}

/// OpenPose BODY_25 limbs drawn by [`draw_keypoints`].
pub const BODY25_LIMBS: [(usize, usize); 24] = [
    (1, 8),
    (1, 2),
    (1, 5),
    (2, 3),
    (3, 4),
    (5, 6),
    (6, 7),
    (8, 9),
    (9, 10),
    (10, 11),
    (8, 12),
    (12, 13),
    (13, 14),
    (1, 0),
    (0, 15),
    (15, 17),
    (0, 16),
    (16, 18),
    (14, 19),
    (19, 20),
    (14, 21),
    (11, 22),
    (22, 23),
    (11, 24),
];

/// Draws OpenPose-137 keypoints `(x, y, confidence)` into an RGBA8 image:
/// limbs as lines, points as discs (body) or small crosses (hands, face).
/// Points with confidence ≤ `min_confidence` are skipped.
pub fn draw_keypoints(
    rgba: &mut [u8],
    width: u32,
    height: u32,
    keypoints: &[[f32; 3]],
    min_confidence: f32,
) {
    let mut canvas = Canvas {
        rgba,
        width: width as i64,
        height: height as i64,
    };
    let shown = |k: usize| keypoints.get(k).filter(|p| p[2] > min_confidence);
    let scale = (width.min(height) as f32 / 256.0).max(0.5);
    let mut limbs: Vec<(usize, usize)> = BODY25_LIMBS.to_vec();
    for hand in 0..2 {
        let base = NUM_BODY25 + hand * NUM_HAND;
        for finger in 0..5 {
            let mut prev = base;
            for j in 0..4 {
                let cur = base + 1 + finger * 4 + j;
                limbs.push((prev, cur));
                prev = cur;
            }
        }
    }
    for (a, b) in limbs {
        if let (Some(p), Some(q)) = (shown(a), shown(b)) {
            let thick = if b < NUM_BODY25 {
                1.5 * scale
            } else {
                0.6 * scale
            };
            canvas.line([p[0], p[1]], [q[0], q[1]], thick, keypoint_color(b));
        }
    }
    for (k, p) in keypoints.iter().enumerate() {
        if p[2] <= min_confidence {
            continue;
        }
        if k < NUM_BODY25 {
            canvas.disc([p[0], p[1]], 2.5 * scale, [0, 0, 0]);
            canvas.disc([p[0], p[1]], 1.8 * scale, keypoint_color(k));
        } else {
            canvas.cross([p[0], p[1]], (1.5 * scale).max(1.0), keypoint_color(k));
        }
    }
}

struct Canvas<'a> {
    rgba: &'a mut [u8],
    width: i64,
    height: i64,
}

impl Canvas<'_> {
    fn put(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && x < self.width && y < self.height {
            let i = ((y * self.width + x) * 4) as usize;
            if let Some(px) = self.rgba.get_mut(i..i + 4) {
                px[..3].copy_from_slice(&c);
                px[3] = 255;
            }
        }
    }

    fn disc(&mut self, p: [f32; 2], r: f32, c: [u8; 3]) {
        let (x0, x1) = ((p[0] - r).floor() as i64, (p[0] + r).ceil() as i64);
        let (y0, y1) = ((p[1] - r).floor() as i64, (p[1] + r).ceil() as i64);
        for y in y0..=y1 {
            for x in x0..=x1 {
                let (dx, dy) = (x as f32 - p[0], y as f32 - p[1]);
                if dx * dx + dy * dy <= r * r {
                    self.put(x, y, c);
                }
            }
        }
    }

    fn cross(&mut self, p: [f32; 2], r: f32, c: [u8; 3]) {
        let (x, y) = (p[0].round() as i64, p[1].round() as i64);
        let r = r.round().max(1.0) as i64;
        for d in -r..=r {
            self.put(x + d, y, c);
            self.put(x, y + d, c);
        }
    }

    fn line(&mut self, a: [f32; 2], b: [f32; 2], thickness: f32, c: [u8; 3]) {
        let len = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
        if !len.is_finite() || len > 4.0 * (self.width + self.height) as f32 {
            return;
        }
        let steps = (len.ceil() as usize).max(1);
        for s in 0..=steps {
            let t = s as f32 / steps as f32;
            let p = [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])];
            self.disc(p, thickness * 0.5, c);
        }
    }
}
