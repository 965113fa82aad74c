//! Everything around the body: camera placement (distance, framing,
//! truncation), lights, clothing colours, procedural backgrounds and
//! occluders.

use furpe::camera::PinholeCamera;
use furpe::render::{Light, Lighting, Outfit};
use furpe::rotation::host::{axis_angle_to_matrix, matmul, transpose, Mat3, IDENTITY};

use crate::rng::Rng;

// ----------------------------------------------------------------- camera

/// OpenCV camera looking along world −z from the +z side (the body faces +z):
/// camera x = world x, camera y = −world y (down), camera z = −world z.
const FACING: Mat3 = [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]];

/// How the body sits in the frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Framing {
    pub camera: PinholeCamera,
    /// Some side of the body was pushed out of the frame on purpose.
    pub truncated: bool,
}

/// A camera's intrinsics and orientation before it is placed, and `points`
/// turned into its frame.
struct View {
    focal: f64,
    center: f64,
    rotation: Mat3,
    rotated: Vec<[f64; 3]>,
}

/// Focal length ≈ 1.2 × image size, the image centre, and a random
/// elevation and roll (each `(sd, limit)` in radians) about facing `aim`'s
/// front (`aim`: world → the frame whose +z the camera looks back along;
/// the identity faces the world's +z, where a body with no global rotation
/// looks).
fn view(
    rng: &mut Rng,
    points: &[[f32; 3]],
    size: u32,
    elevation: (f64, f64),
    roll: (f64, f64),
    aim: &Mat3,
) -> View {
    let s = size as f64;
    let focal = s * rng.range(1.1, 1.3);
    let elevation = rng.normal_clipped(0.0, elevation.0, -elevation.1, elevation.1);
    let roll = rng.normal_clipped(0.0, roll.0, -roll.1, roll.1);
    let rotation = matmul(
        &axis_angle_to_matrix([0.0, 0.0, roll]),
        &matmul(
            &axis_angle_to_matrix([elevation, 0.0, 0.0]),
            &matmul(&FACING, aim),
        ),
    );
    let rotated = points
        .iter()
        .map(|v| furpe::rotation::host::apply(&rotation, v.map(f64::from)))
        .collect();
    View {
        focal,
        center: (s - 1.0) / 2.0,
        rotation,
        rotated,
    }
}

/// Places a camera 2–5 m from the posed body (`vertices` in world metres)
/// with focal length ≈ 1.2 × image size, a slight random elevation and roll,
/// and the body framed inside the image or, sometimes, partly outside it.
pub fn place_camera(rng: &mut Rng, vertices: &[[f32; 3]], size: u32) -> Framing {
    let s = size as f64;
    let View {
        focal,
        center,
        rotation,
        rotated,
    } = view(
        rng,
        vertices,
        size,
        (8f64.to_radians(), 0.35),
        (3f64.to_radians(), 0.1),
        &IDENTITY,
    );
    let (lo, hi) = bounds(&rotated);
    let mid = [0, 1, 2].map(|k| (lo[k] + hi[k]) / 2.0);
    let distance = rng.range(2.0, 5.0);
    let mut t = [-mid[0], -mid[1], distance - mid[2]];
    let mut camera = PinholeCamera {
        focal: [focal, focal],
        center: [center, center],
        rotation,
        translation: t,
    };
    // The body's box when centred; then shift it in the image.
    let boxed = projected_box(&camera, &rotated, false);
    let (bw, bh) = (boxed[2] - boxed[0], boxed[3] - boxed[1]);
    let truncated = rng.chance(0.2);
    let mut shift = [0.0f64; 2];
    for (k, extent) in [bw, bh].into_iter().enumerate() {
        let slack = (s - extent).max(0.0);
        shift[k] = rng.range(-0.45, 0.45) * slack;
    }
    if truncated {
        // Push one side out of the frame by 10–45 % of the body's extent.
        let axis = rng.below(2);
        let extent = [bw, bh][axis];
        let sign = if rng.chance(0.5) { 1.0 } else { -1.0 };
        let out = rng.range(0.1, 0.45) * extent;
        shift[axis] = sign * ((s - extent).max(0.0) / 2.0 + out);
    }
    t[0] += shift[0] * distance / focal;
    t[1] += shift[1] * distance / focal;
    camera.translation = t;
    Framing { camera, truncated }
}

/// A close-up of `points` (a head or a hand, world metres): the same camera
/// model, elevation and roll as [`place_camera`], at the distance where the
/// part's largest extent fills 35–65 % of the image, shifted a little; the
/// rest of the body is wherever it falls (mostly out of the frame). With
/// `facing` (the part's global rotation) the camera stands in front of the
/// part, up to 40° to either side and 20° above or below, as face datasets
/// show faces; without it, in front of the world's +z, as for the body.
pub fn place_close_up(
    rng: &mut Rng,
    points: &[[f32; 3]],
    size: u32,
    facing: Option<&Mat3>,
) -> Framing {
    let aim = match facing {
        Some(part) => {
            let yaw = rng.range(-40f64.to_radians(), 40f64.to_radians());
            let pitch = rng.range(-20f64.to_radians(), 20f64.to_radians());
            let offset = matmul(
                &axis_angle_to_matrix([0.0, yaw, 0.0]),
                &axis_angle_to_matrix([pitch, 0.0, 0.0]),
            );
            transpose(&matmul(part, &offset))
        }
        None => IDENTITY,
    };
    let s = size as f64;
    let View {
        focal,
        center,
        rotation,
        rotated,
    } = view(
        rng,
        points,
        size,
        (12f64.to_radians(), 0.45),
        (6f64.to_radians(), 0.2),
        &aim,
    );
    let (lo, hi) = bounds(&rotated);
    let mid = [0, 1, 2].map(|k| (lo[k] + hi[k]) / 2.0);
    let extent = (hi[0] - lo[0]).max(hi[1] - lo[1]).max(1e-3);
    let fill = rng.range(0.35, 0.65);
    // The part's near side stays in front of the camera.
    let distance = (focal * extent / (fill * s)).max(hi[2] - mid[2] + 0.05);
    let slack = (1.0 - fill) * s;
    let shift = [0, 1].map(|_| rng.range(-0.25, 0.25) * slack);
    let translation = [
        -mid[0] + shift[0] * distance / focal,
        -mid[1] + shift[1] * distance / focal,
        distance - mid[2],
    ];
    Framing {
        camera: PinholeCamera {
            focal: [focal, focal],
            center: [center, center],
            rotation,
            translation,
        },
        truncated: false,
    }
}

fn bounds(points: &[[f64; 3]]) -> ([f64; 3], [f64; 3]) {
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for p in points {
        for k in 0..3 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    (lo, hi)
}

/// Box (x0, y0, x1, y1) of the projections of camera-rotated points under
/// `camera`'s translation and intrinsics; `clip` clamps it to the image.
fn projected_box(camera: &PinholeCamera, rotated: &[[f64; 3]], clip: bool) -> [f64; 4] {
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for p in rotated {
        let c = [0, 1, 2].map(|k| p[k] + camera.translation[k]);
        if c[2] <= 1e-6 {
            continue;
        }
        let u = camera.focal[0] * c[0] / c[2] + camera.center[0];
        let v = camera.focal[1] * c[1] / c[2] + camera.center[1];
        b = [b[0].min(u), b[1].min(v), b[2].max(u), b[3].max(v)];
    }
    if clip {
        let w = camera.center[0] * 2.0 + 1.0;
        let h = camera.center[1] * 2.0 + 1.0;
        b = [b[0].max(0.0), b[1].max(0.0), b[2].min(w), b[3].min(h)];
    }
    b
}

/// The person box: projected vertices, clipped to the image.
pub fn person_box(camera: &PinholeCamera, vertices: &[[f32; 3]], size: u32) -> Option<[f32; 4]> {
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for v in vertices {
        if let Some([u, w]) = camera.project(v.map(f64::from)) {
            b = [b[0].min(u), b[1].min(w), b[2].max(u), b[3].max(w)];
        }
    }
    let s = size as f64;
    let b = [b[0].max(0.0), b[1].max(0.0), b[2].min(s), b[3].min(s)];
    (b[2] > b[0] + 1.0 && b[3] > b[1] + 1.0).then(|| b.map(|x| x as f32))
}

// ------------------------------------------------------------ lights, cloth

/// A key light from the camera's side, a weaker fill, and ambient.
pub fn sample_lighting(rng: &mut Rng, camera: &PinholeCamera) -> Lighting {
    // Directions built in the camera frame (towards the camera is −z, up is
    // −y), then turned into the world frame with Rᵀ.
    let to_world = |d: [f64; 3]| -> [f32; 3] {
        let r = &camera.rotation;
        [0, 1, 2].map(|j| (0..3).map(|i| r[i][j] * d[i]).sum::<f64>() as f32)
    };
    let dir = |azimuth: f64, elevation: f64| {
        [
            azimuth.sin() * elevation.cos(),
            -elevation.sin(),
            -azimuth.cos() * elevation.cos(),
        ]
    };
    let az = rng.range(-1.2, 1.2);
    let key = dir(az, rng.range(0.2, 1.2));
    let fill = dir(-az.signum() * rng.range(0.6, 1.5), rng.range(-0.2, 0.5));
    let warm = rng.range(-0.08, 0.08) as f32;
    let key_i = rng.range(0.5, 0.8) as f32;
    let fill_i = rng.range(0.1, 0.3) as f32;
    let ambient = rng.range(0.25, 0.45) as f32;
    Lighting {
        ambient: [ambient; 3],
        lights: [
            Light {
                direction: to_world(key),
                color: [key_i * (1.0 + warm), key_i, key_i * (1.0 - warm)],
            },
            Light {
                direction: to_world(fill),
                color: [fill_i * (1.0 - warm), fill_i, fill_i * (1.0 + warm)],
            },
        ],
    }
}

/// Random clothes, skin and hair.
pub fn sample_outfit(rng: &mut Rng) -> Outfit {
    const SKIN: [[f32; 3]; 8] = [
        [0.96, 0.80, 0.69],
        [0.92, 0.72, 0.60],
        [0.85, 0.65, 0.52],
        [0.78, 0.57, 0.44],
        [0.66, 0.46, 0.33],
        [0.55, 0.37, 0.26],
        [0.42, 0.28, 0.20],
        [0.30, 0.20, 0.14],
    ];
    const HAIR: [[f32; 3]; 6] = [
        [0.05, 0.04, 0.04],
        [0.18, 0.11, 0.06],
        [0.35, 0.22, 0.12],
        [0.75, 0.60, 0.35],
        [0.55, 0.25, 0.10],
        [0.60, 0.60, 0.60],
    ];
    const BOTTOMS: [[f32; 3]; 6] = [
        [0.15, 0.22, 0.40],
        [0.25, 0.35, 0.55],
        [0.08, 0.08, 0.09],
        [0.55, 0.48, 0.35],
        [0.35, 0.35, 0.37],
        [0.30, 0.22, 0.15],
    ];
    const SHOES: [[f32; 3]; 4] = [
        [0.08, 0.07, 0.07],
        [0.90, 0.90, 0.88],
        [0.35, 0.22, 0.12],
        [0.45, 0.45, 0.50],
    ];
    let c = *rng.pick(&SKIN);
    let skin = jitter(rng, c, 0.05);
    let c = *rng.pick(&HAIR);
    let hair = jitter(rng, c, 0.1);
    let bottom = if rng.chance(0.7) {
        let c = *rng.pick(&BOTTOMS);
        jitter(rng, c, 0.1)
    } else {
        random_color(rng, 0.15, 0.7)
    };
    let c = *rng.pick(&SHOES);
    let shoes = jitter(rng, c, 0.1);
    Outfit {
        skin,
        hair,
        top: random_color(rng, 0.15, 0.95),
        bottom,
        shoes,
        long_sleeves: rng.chance(0.6),
        long_legs: rng.chance(0.75),
        has_hair: rng.chance(0.9),
    }
}

/// `c` scaled by a random factor in 1 ± `amount`.
fn jitter(rng: &mut Rng, c: [f32; 3], amount: f64) -> [f32; 3] {
    let k = 1.0 + rng.range(-amount, amount) as f32;
    c.map(|x| (x * k).clamp(0.0, 1.0))
}

/// A colour with random hue, saturation in [0.2, 0.85] and value in [lo, hi].
pub fn random_color(rng: &mut Rng, lo: f64, hi: f64) -> [f32; 3] {
    hsv(rng.uniform(), rng.range(0.2, 0.85), rng.range(lo, hi))
}

fn hsv(h: f64, s: f64, v: f64) -> [f32; 3] {
    let h6 = (h.fract() * 6.0).max(0.0);
    let i = h6.floor() as usize % 6;
    let f = h6 - h6.floor();
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f)));
    let (r, g, b) = match i {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    };
    [r as f32, g as f32, b as f32]
}

// -------------------------------------------------------------- backgrounds

/// An RGBA8 image, rows top to bottom.
#[derive(Debug, Clone)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

impl Image {
    fn from_fn(width: u32, height: u32, mut f: impl FnMut(f64, f64) -> [f32; 3]) -> Self {
        let mut rgba = Vec::with_capacity((width * height * 4) as usize);
        for y in 0..height {
            for x in 0..width {
                let c = f(x as f64 / width as f64, y as f64 / height as f64);
                rgba.extend(c.map(to_u8));
                rgba.push(255);
            }
        }
        Self {
            width,
            height,
            rgba,
        }
    }
}

fn to_u8(x: f32) -> u8 {
    (x.clamp(0.0, 1.0) * 255.0).round() as u8
}

fn mix(a: [f32; 3], b: [f32; 3], t: f64) -> [f32; 3] {
    let t = t.clamp(0.0, 1.0) as f32;
    [0, 1, 2].map(|k| a[k] + (b[k] - a[k]) * t)
}

/// Smooth value noise with octaves, in about [0, 1].
struct Noise {
    seed: u64,
}

impl Noise {
    fn lattice(&self, x: i64, y: i64) -> f64 {
        let mut z = self.seed
            ^ (x as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (y as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn value(&self, x: f64, y: f64) -> f64 {
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let (sx, sy) = (fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy));
        let (xi, yi) = (x0 as i64, y0 as i64);
        let a = self.lattice(xi, yi);
        let b = self.lattice(xi + 1, yi);
        let c = self.lattice(xi, yi + 1);
        let d = self.lattice(xi + 1, yi + 1);
        (a + (b - a) * sx) + ((c + (d - c) * sx) - (a + (b - a) * sx)) * sy
    }

    fn fractal(&self, x: f64, y: f64, octaves: usize) -> f64 {
        let (mut sum, mut amp, mut freq, mut norm) = (0.0, 1.0, 1.0, 0.0);
        for _ in 0..octaves {
            sum += amp * self.value(x * freq, y * freq);
            norm += amp;
            amp *= 0.5;
            freq *= 2.0;
        }
        sum / norm
    }
}

/// A procedural backdrop: a room (wall and floor), an outdoor scene (sky and
/// ground), coloured noise, stripes, or soft blobs; plus sensor grain.
pub fn sample_background(rng: &mut Rng, size: u32) -> Image {
    let noise = Noise {
        seed: rng.next_u64(),
    };
    let grain = Noise {
        seed: rng.next_u64(),
    };
    let grain_amount = if rng.chance(0.3) {
        0.0
    } else {
        rng.range(0.005, 0.025)
    };
    let kind = rng.below(5);
    let base = match kind {
        0 => room(rng, &noise, size),
        1 => outdoor(rng, &noise, size),
        2 => {
            let (a, b, c) = (
                random_color(rng, 0.1, 0.9),
                random_color(rng, 0.1, 0.9),
                random_color(rng, 0.1, 0.9),
            );
            let scale = rng.range(2.0, 8.0);
            Image::from_fn(size, size, |x, y| {
                let n = noise.fractal(x * scale, y * scale, 4);
                if n < 0.5 {
                    mix(a, b, n * 2.0)
                } else {
                    mix(b, c, n * 2.0 - 1.0)
                }
            })
        }
        3 => {
            let (a, b) = (random_color(rng, 0.1, 0.9), random_color(rng, 0.1, 0.9));
            let angle = rng.range(0.0, std::f64::consts::PI);
            let period = rng.range(0.03, 0.25);
            let soft = rng.range(0.02, 0.3);
            let (ca, sa) = (angle.cos(), angle.sin());
            Image::from_fn(size, size, |x, y| {
                let t = ((x * ca + y * sa) / period).fract();
                let edge = ((t - 0.5).abs() - 0.25) / soft;
                mix(a, b, 0.5 + edge.clamp(-0.5, 0.5))
            })
        }
        _ => {
            let (top, bottom) = (random_color(rng, 0.2, 0.9), random_color(rng, 0.1, 0.8));
            let blobs: Vec<([f64; 2], [f64; 2], [f32; 3])> = (0..4 + rng.below(14))
                .map(|_| {
                    (
                        [rng.uniform(), rng.uniform()],
                        [rng.range(0.03, 0.25), rng.range(0.03, 0.25)],
                        random_color(rng, 0.1, 1.0),
                    )
                })
                .collect();
            Image::from_fn(size, size, |x, y| {
                let mut c = mix(top, bottom, y);
                for (p, r, color) in &blobs {
                    let d = ((x - p[0]) / r[0]).powi(2) + ((y - p[1]) / r[1]).powi(2);
                    c = mix(c, *color, (1.0 - d).clamp(0.0, 1.0) * 1.5);
                }
                c
            })
        }
    };
    let mut image = base;
    if grain_amount > 0.0 {
        let s = size as f64;
        for y in 0..size {
            for x in 0..size {
                let g = (grain.value(x as f64 * 0.9 + 0.5 * s, y as f64 * 0.9) - 0.5)
                    * 2.0
                    * grain_amount;
                let i = ((y * size + x) * 4) as usize;
                for k in 0..3 {
                    let v = image.rgba[i + k] as f64 / 255.0 + g;
                    image.rgba[i + k] = to_u8(v as f32);
                }
            }
        }
    }
    image
}

fn room(rng: &mut Rng, noise: &Noise, size: u32) -> Image {
    let wall = random_color(rng, 0.35, 0.95);
    let wall_low = mix(wall, [0.0; 3], rng.range(0.1, 0.4));
    let floor = random_color(rng, 0.15, 0.7);
    let horizon = rng.range(0.45, 0.8);
    let planks = rng.chance(0.6);
    let plank_freq = rng.range(6.0, 20.0);
    let texture = rng.range(0.0, 0.15);
    Image::from_fn(size, size, |x, y| {
        let n = noise.fractal(x * 6.0, y * 6.0, 3) - 0.5;
        if y < horizon {
            let c = mix(wall, wall_low, y / horizon);
            c.map(|v| v * (1.0 + (texture * n) as f32))
        } else {
            // Floor boards converge towards the horizon.
            let depth = (y - horizon) / (1.0 - horizon);
            let mut c = mix(floor, floor.map(|v| v * 0.8), depth);
            if planks {
                let u = (x - 0.5) / (depth + 0.15) * plank_freq * 0.2;
                if (u.fract() + 1.0).fract() < 0.06 {
                    c = c.map(|v| v * 0.75);
                }
            }
            c.map(|v| v * (1.0 + (texture * 1.5 * n) as f32))
        }
    })
}

fn outdoor(rng: &mut Rng, noise: &Noise, size: u32) -> Image {
    let sky_top = mix(
        [0.25, 0.45, 0.85],
        random_color(rng, 0.5, 0.9),
        rng.range(0.0, 0.4),
    );
    let sky_low = mix(sky_top, [0.9, 0.9, 0.92], rng.range(0.3, 0.8));
    let ground = mix(
        [0.25, 0.45, 0.18],
        random_color(rng, 0.2, 0.6),
        rng.range(0.0, 0.6),
    );
    let far = mix(ground, sky_low, 0.4);
    let horizon = rng.range(0.35, 0.75);
    let hills = rng.range(0.03, 0.15);
    Image::from_fn(size, size, |x, y| {
        let ridge = horizon - hills * noise.fractal(x * 3.0, 0.0, 3);
        if y < ridge {
            let clouds = noise.fractal(x * 4.0, y * 8.0, 4);
            mix(
                mix(sky_top, sky_low, y / ridge),
                [1.0; 3],
                (clouds - 0.55).max(0.0) * 2.0,
            )
        } else {
            let n = noise.fractal(x * 12.0, y * 24.0, 4);
            let depth = ((y - ridge) / (1.0 - ridge).max(1e-3)).clamp(0.0, 1.0);
            mix(far, ground, depth.sqrt()).map(|v| v * (0.8 + 0.4 * n as f32))
        }
    })
}

/// A studio's plain backdrop: one muted colour, a little lighter at the top,
/// with sensor grain.
pub fn studio_backdrop(rng: &mut Rng, size: u32) -> Image {
    let grain = Noise {
        seed: rng.next_u64(),
    };
    let bottom = random_color(rng, 0.15, 0.6);
    let top = mix(bottom, [1.0; 3], rng.range(0.0, 0.15));
    let amount = rng.range(0.0, 0.015);
    Image::from_fn(size, size, |x, y| {
        let g = (grain.value(x * size as f64, y * size as f64) - 0.5) * 2.0 * amount;
        mix(top, bottom, y).map(|c| c + g as f32)
    })
}

// ---------------------------------------------------------------- occluders

/// Shapes drawn over the rendered person; `mask` marks the pixels they cover.
#[derive(Debug, Clone)]
pub struct Occluders {
    pub mask: Vec<bool>,
}

/// With some probability, one or two coloured rectangles or ellipses over
/// part of the person box, painted into `rgba` (size × size).
pub fn add_occluders(rng: &mut Rng, rgba: &mut [u8], size: u32, person: [f32; 4]) -> Occluders {
    let n = (size * size) as usize;
    let mut mask = vec![false; n];
    let count = if rng.chance(0.3) { 1 + rng.below(2) } else { 0 };
    let [x0, y0, x1, y1] = person.map(f64::from);
    for _ in 0..count {
        let (bw, bh) = (x1 - x0, y1 - y0);
        let w = rng.range(0.2, 0.6) * bw.max(bh * 0.4);
        let h = rng.range(0.12, 0.4) * bh;
        let cx = rng.range(x0, x1);
        let cy = rng.range(y0, y1);
        let ellipse = rng.chance(0.4);
        let top = random_color(rng, 0.1, 0.95);
        let bottom = mix(top, [0.0; 3], rng.range(0.0, 0.5));
        let (xa, xb) = (
            (cx - w / 2.0).max(0.0) as u32,
            ((cx + w / 2.0).ceil().max(0.0) as u32).min(size),
        );
        let (ya, yb) = (
            (cy - h / 2.0).max(0.0) as u32,
            ((cy + h / 2.0).ceil().max(0.0) as u32).min(size),
        );
        for y in ya..yb {
            for x in xa..xb {
                let (dx, dy) = (
                    (x as f64 + 0.5 - cx) / (w / 2.0),
                    (y as f64 + 0.5 - cy) / (h / 2.0),
                );
                let inside = if ellipse {
                    dx * dx + dy * dy <= 1.0
                } else {
                    dx.abs() <= 1.0 && dy.abs() <= 1.0
                };
                if !inside {
                    continue;
                }
                let i = (y * size + x) as usize;
                mask[i] = true;
                let c = mix(top, bottom, (dy + 1.0) / 2.0);
                for k in 0..3 {
                    rgba[i * 4 + k] = to_u8(c[k]);
                }
            }
        }
    }
    Occluders { mask }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camera_frames_the_body() {
        // A 1.7 m stick figure standing at the origin.
        let vertices: Vec<[f32; 3]> = (0..=20)
            .map(|i| [0.0, -1.2 + 1.7 * i as f32 / 20.0, 0.0])
            .chain([[-0.4, 0.2, 0.0], [0.4, 0.2, 0.0]])
            .collect();
        let mut rng = Rng::new(5);
        let mut truncated = 0;
        for _ in 0..200 {
            let f = place_camera(&mut rng, &vertices, 256);
            let c = f.camera;
            let depth = c.to_camera([0.0, 0.0, 0.0])[2];
            assert!((1.9..5.2).contains(&depth), "camera at {depth} m");
            let b = person_box(&c, &vertices, 256).expect("visible");
            assert!(b[2] - b[0] > 5.0 && b[3] - b[1] > 20.0, "{b:?}");
            // Head above feet in the image (y down).
            let head = c.project([0.0, 0.5, 0.0]).expect("in front");
            let feet = c.project([0.0, -1.2, 0.0]).expect("in front");
            assert!(head[1] < feet[1]);
            truncated += f.truncated as usize;
        }
        assert!((20..70).contains(&truncated), "{truncated} truncated");
    }

    #[test]
    fn backgrounds_are_deterministic() {
        let a = sample_background(&mut Rng::new(9), 32);
        let b = sample_background(&mut Rng::new(9), 32);
        assert_eq!(a.rgba, b.rgba);
        assert_eq!(a.rgba.len(), 32 * 32 * 4);
    }
}
