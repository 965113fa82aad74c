//! The same drawing as [`super::MeshRenderer`] on the CPU: a z-buffered
//! triangle rasteriser for machines and browsers without a usable GPU API
//! (the page's fallback when WebGPU is missing). Same camera convention,
//! same depth values, same background stretching; lighting is evaluated per
//! vertex and interpolated (Gouraud) rather than per pixel, which differs
//! from the GPU image only inside large flat-lit triangles.

use super::{Background, Frame, RenderError, Scene, View};

/// Draws `scene` into a new [`Frame`].
pub fn render(scene: &Scene) -> Result<Frame, RenderError> {
    let view = &scene.view;
    let (w, h) = (view.width as usize, view.height as usize);
    if w == 0 || h == 0 {
        return Err(RenderError::Input("empty view".into()));
    }
    let mut rgba = vec![0u8; w * h * 4];
    match scene.background {
        Background::Color(c) => {
            let px = [to_u8(c[0]), to_u8(c[1]), to_u8(c[2]), 255];
            rgba.chunks_exact_mut(4)
                .for_each(|p| p.copy_from_slice(&px));
        }
        Background::Image {
            rgba: image,
            width,
            height,
        } => {
            let (bw, bh) = (width as usize, height as usize);
            if bw == 0 || bh == 0 || image.len() != bw * bh * 4 {
                return Err(RenderError::Input(format!(
                    "background of {width}x{height} pixels needs {} RGBA bytes, got {}",
                    bw * bh * 4,
                    image.len()
                )));
            }
            // Nearest texel under each pixel centre, as the GPU shader does.
            let (sx, sy) = (bw as f32 / w as f32, bh as f32 / h as f32);
            for y in 0..h {
                let by = (((y as f32 + 0.5) * sy) as usize).min(bh - 1);
                for x in 0..w {
                    let bx = (((x as f32 + 0.5) * sx) as usize).min(bw - 1);
                    let s = (by * bw + bx) * 4;
                    rgba[(y * w + x) * 4..][..4].copy_from_slice(&image[s..s + 4]);
                }
            }
        }
    }
    let mut depth = vec![1.0f32; w * h];
    if let Some(mesh) = &scene.mesh {
        mesh.validate()?;
        let clip = view.clip_from_world();
        let eye = view.eye();
        let l = &scene.lighting;
        // Per vertex: framebuffer position, depth, lit colour (None if behind the near plane).
        let shaded: Vec<Option<([f32; 3], [f32; 3])>> = mesh
            .positions
            .iter()
            .zip(mesh.normals)
            .zip(mesh.colors)
            .map(|((p, n), c)| {
                let cw = |r: usize| (0..3).map(|k| clip[k][r] * p[k]).sum::<f32>() + clip[3][r];
                let (x, y, z, q) = (cw(0), cw(1), cw(2), cw(3));
                if q <= 1e-6 {
                    return None;
                }
                let fb = [
                    (x / q + 1.0) * 0.5 * w as f32,
                    (1.0 - y / q) * 0.5 * h as f32,
                    z / q,
                ];
                Some((fb, lit(p, n, c, eye, l)))
            })
            .collect();
        for t in mesh.triangles {
            let [a, b, c] = t.map(|i| shaded[i as usize]);
            let (Some(a), Some(b), Some(c)) = (a, b, c) else {
                continue;
            };
            raster(&mut rgba, &mut depth, w, h, [a, b, c]);
        }
    }
    Ok(Frame {
        width: view.width,
        height: view.height,
        rgba,
        depth,
    })
}

fn to_u8(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
}

/// The fragment shader's lighting at a vertex: two-sided Lambert plus ambient.
fn lit(p: &[f32; 3], n: &[f32; 3], c: &[f32; 3], eye: [f32; 3], l: &super::Lighting) -> [f32; 3] {
    let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    let mut n = if len > 0.0 { n.map(|v| v / len) } else { *n };
    let to_eye = [eye[0] - p[0], eye[1] - p[1], eye[2] - p[2]];
    if n[0] * to_eye[0] + n[1] * to_eye[1] + n[2] * to_eye[2] < 0.0 {
        n = n.map(|v| -v);
    }
    let mut light = l.ambient;
    for source in &l.lights {
        let d = source.direction;
        let dl = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt().max(1e-6);
        let cos = ((n[0] * d[0] + n[1] * d[1] + n[2] * d[2]) / dl).max(0.0);
        (0..3).for_each(|k| light[k] += source.color[k] * cos);
    }
    [0, 1, 2].map(|k| (c[k] * light[k]).clamp(0.0, 1.0))
}

/// Fills one triangle (screen-space linear interpolation: at body sizes the
/// perspective error is far below a pixel's colour step).
fn raster(rgba: &mut [u8], depth: &mut [f32], w: usize, h: usize, v: [([f32; 3], [f32; 3]); 3]) {
    let [(p0, c0), (p1, c1), (p2, c2)] = v;
    let area = (p1[0] - p0[0]) * (p2[1] - p0[1]) - (p1[1] - p0[1]) * (p2[0] - p0[0]);
    if area.abs() < 1e-12 || !area.is_finite() {
        return;
    }
    let min_x = p0[0].min(p1[0]).min(p2[0]).floor().max(0.0) as usize;
    let min_y = p0[1].min(p1[1]).min(p2[1]).floor().max(0.0) as usize;
    let max_x = (p0[0].max(p1[0]).max(p2[0]).ceil() as isize).min(w as isize - 1);
    let max_y = (p0[1].max(p1[1]).max(p2[1]).ceil() as isize).min(h as isize - 1);
    if max_x < 0 || max_y < 0 {
        return;
    }
    let edge = |a: [f32; 3], b: [f32; 3], x: f32, y: f32| {
        (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0])
    };
    for y in min_y..=max_y as usize {
        let py = y as f32 + 0.5;
        for x in min_x..=max_x as usize {
            let px = x as f32 + 0.5;
            let w0 = edge(p1, p2, px, py) / area;
            let w1 = edge(p2, p0, px, py) / area;
            let w2 = 1.0 - w0 - w1;
            if w0 < 0.0 || w1 < 0.0 || w2 < 0.0 {
                continue;
            }
            let z = w0 * p0[2] + w1 * p1[2] + w2 * p2[2];
            let i = y * w + x;
            if !(0.0..1.0).contains(&z) || z >= depth[i] {
                continue;
            }
            depth[i] = z;
            for k in 0..3 {
                rgba[i * 4 + k] = to_u8(w0 * c0[k] + w1 * c1[k] + w2 * c2[k]);
            }
            rgba[i * 4 + 3] = 255;
        }
    }
}

/// Pixel coordinates (OpenCV convention) of world points in `view`; `None`
/// behind the camera. Used to draw 2D overlays (skeletons) over a frame.
pub fn project(view: &View, points: &[[f32; 3]]) -> Vec<Option<[f32; 2]>> {
    points
        .iter()
        .map(|p| {
            view.camera
                .project(p.map(|v| v as f64))
                .map(|q| [q[0] as f32, q[1] as f32])
        })
        .collect()
}
