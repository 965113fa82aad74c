//! Renderer tests. The GPU ones need a wgpu adapter; without one they fail
//! with the message of [`RenderError::NoAdapter`] (CI installs lavapipe).

use super::*;
use crate::camera::PinholeCamera;
use crate::rotation::host::axis_angle_to_matrix;

const W: u32 = 64;
const H: u32 = 48;

fn camera() -> PinholeCamera {
    PinholeCamera {
        focal: [60.0, 60.0],
        center: [31.5, 23.5],
        rotation: axis_angle_to_matrix([0.0; 3]),
        translation: [0.0; 3],
    }
}

fn renderer() -> OffscreenRenderer {
    OffscreenRenderer::new(W, H).unwrap_or_else(|e| panic!("render tests need a GPU adapter: {e}"))
}

struct Tri {
    p: [[f32; 3]; 3],
    color: [f32; 3],
}

struct OwnedMesh {
    positions: Vec<[f32; 3]>,
    normals: Vec<[f32; 3]>,
    colors: Vec<[f32; 3]>,
    triangles: Vec<[u32; 3]>,
}

fn mesh_of(tris: &[Tri]) -> OwnedMesh {
    let positions: Vec<[f32; 3]> = tris.iter().flat_map(|t| t.p).collect();
    let colors: Vec<[f32; 3]> = tris.iter().flat_map(|t| [t.color; 3]).collect();
    let triangles: Vec<[u32; 3]> = (0..tris.len() as u32)
        .map(|i| [3 * i, 3 * i + 1, 3 * i + 2])
        .collect();
    let normals = vertex_normals(&positions, &triangles);
    OwnedMesh {
        positions,
        normals,
        colors,
        triangles,
    }
}

fn render(
    r: &mut OffscreenRenderer,
    tris: &[Tri],
    background: Background,
    lighting: Lighting,
) -> Frame {
    let mesh = mesh_of(tris);
    let scene = Scene {
        view: View::new(camera(), W, H),
        lighting,
        background,
        mesh: Some(MeshData {
            positions: &mesh.positions,
            normals: &mesh.normals,
            colors: &mesh.colors,
            triangles: &mesh.triangles,
        }),
    };
    r.render(&scene)
        .unwrap_or_else(|e| panic!("render failed: {e}"))
}

/// Signed distance (pixels) of `q` inside the projected triangle, negative outside.
fn inside_margin(tri: &Tri, q: [f64; 2]) -> f64 {
    let cam = camera();
    let p: Vec<[f64; 2]> = tri
        .p
        .iter()
        .map(|v| cam.project(v.map(f64::from)).expect("in front"))
        .collect();
    let area =
        (p[1][0] - p[0][0]) * (p[2][1] - p[0][1]) - (p[1][1] - p[0][1]) * (p[2][0] - p[0][0]);
    (0..3)
        .map(|i| {
            let (a, b) = (p[i], p[(i + 1) % 3]);
            let len = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
            area.signum() * ((b[0] - a[0]) * (q[1] - a[1]) - (b[1] - a[1]) * (q[0] - a[0])) / len
        })
        .fold(f64::INFINITY, f64::min)
}

fn rgb(c: [f32; 3]) -> [u8; 3] {
    c.map(|x| (x * 255.0).round() as u8)
}

fn close(a: [u8; 4], b: [u8; 3], tol: u8) -> bool {
    (0..3).all(|k| a[k].abs_diff(b[k]) <= tol)
}

#[test]
fn render_triangle_pixels_take_mesh_colour_outside_background() {
    let mut r = renderer();
    // Off-centre and asymmetric, so a flipped axis would show.
    let tri = Tri {
        p: [[-0.6, -0.5, 2.0], [0.1, -0.6, 2.0], [-0.5, 0.3, 2.0]],
        color: [0.9, 0.1, 0.2],
    };
    let bg = [0.1, 0.3, 0.8];
    let frame = render(
        &mut r,
        std::slice::from_ref(&tri),
        Background::Color(bg),
        Lighting::flat(),
    );
    let (mut inside, mut outside) = (0, 0);
    for y in 0..H as i64 {
        for x in 0..W as i64 {
            let m = inside_margin(&tri, [x as f64, y as f64]);
            let px = frame.pixel(x, y).expect("in image");
            if m > 0.75 {
                assert!(
                    close(px, rgb(tri.color), 1),
                    "pixel ({x},{y}) inside is {px:?}"
                );
                assert!(frame.covered(x, y));
                inside += 1;
            } else if m < -0.75 {
                assert!(close(px, rgb(bg), 1), "pixel ({x},{y}) outside is {px:?}");
                assert!(!frame.covered(x, y));
                outside += 1;
            }
        }
    }
    assert!(
        inside > 100 && outside > 1000,
        "{inside} inside, {outside} outside"
    );
    // The depth buffer gives the triangle's distance back in metres.
    let c = camera().project([-0.33, -0.27, 2.0]).expect("in front");
    let d = frame
        .depth_at(c[0].round() as i64, c[1].round() as i64)
        .expect("in image");
    let z = View::new(camera(), W, H).linear_depth(d).expect("covered");
    assert!((z - 2.0).abs() < 1e-3, "depth {z}");
}

#[test]
fn render_hides_a_mesh_behind_another() {
    let mut r = renderer();
    let near = Tri {
        p: [[-0.4, -0.4, 2.0], [0.4, -0.4, 2.0], [0.0, 0.4, 2.0]],
        color: [1.0, 0.0, 0.0],
    };
    let far = Tri {
        p: [[-1.2, -1.0, 3.0], [1.2, -1.0, 3.0], [0.0, 1.2, 3.0]],
        color: [0.0, 1.0, 0.0],
    };
    // Both submission orders: the depth test decides, not the drawing order.
    for tris in [[&near, &far], [&far, &near]] {
        let tris: Vec<Tri> = tris
            .iter()
            .map(|t| Tri {
                p: t.p,
                color: t.color,
            })
            .collect();
        let frame = render(&mut r, &tris, Background::Color([0.0; 3]), Lighting::flat());
        let center = camera().project([0.0, 0.0, 2.0]).expect("in front");
        let px = frame
            .pixel(center[0].round() as i64, center[1].round() as i64)
            .expect("in image");
        assert!(close(px, [255, 0, 0], 1), "near triangle hidden: {px:?}");
        // Inside the far triangle, outside the near one.
        let side = camera().project([0.0, 0.8, 3.0]).expect("in front");
        let px = frame
            .pixel(side[0].round() as i64, side[1].round() as i64)
            .expect("in image");
        assert!(close(px, [0, 255, 0], 1), "far triangle missing: {px:?}");
    }
}

#[test]
fn render_background_image_and_lambert_shading() {
    let mut r = renderer();
    let bg: Vec<u8> = (0..W * H)
        .flat_map(|i| [(i % W * 4) as u8, (i / W * 5) as u8, 77, 255])
        .collect();
    // Faces the camera (normal along -z); the light shines from the camera.
    let tri = Tri {
        p: [[-0.3, -0.3, 2.0], [0.3, -0.3, 2.0], [0.0, 0.3, 2.0]],
        color: [0.8, 0.6, 0.4],
    };
    let lighting = Lighting {
        ambient: [0.25; 3],
        lights: [
            Light {
                direction: [0.0, 0.0, -1.0],
                color: [0.5; 3],
            },
            Light {
                direction: [0.0, 0.0, 1.0], // behind the surface: no effect
                color: [1.0; 3],
            },
        ],
    };
    let frame = render(
        &mut r,
        std::slice::from_ref(&tri),
        Background::Image {
            rgba: &bg,
            width: W,
            height: H,
        },
        lighting,
    );
    let center = camera().project([0.0, -0.1, 2.0]).expect("in front");
    let px = frame
        .pixel(center[0].round() as i64, center[1].round() as i64)
        .expect("in image");
    assert!(
        close(px, rgb(tri.color.map(|c| c * 0.75)), 1),
        "shaded {px:?}"
    );
    for (x, y) in [(0, 0), (W as i64 - 1, 3), (5, H as i64 - 1)] {
        let i = ((y * W as i64 + x) * 4) as usize;
        let want = [bg[i], bg[i + 1], bg[i + 2]];
        assert!(
            close(frame.pixel(x, y).expect("in image"), want, 0),
            "background at ({x},{y})"
        );
    }
}

#[test]
fn render_is_reusable_and_rejects_bad_input() {
    let mut r = renderer();
    let tri = Tri {
        p: [[-0.3, -0.3, 2.0], [0.3, -0.3, 2.0], [0.0, 0.3, 2.0]],
        color: [0.5, 0.5, 0.5],
    };
    let a = render(
        &mut r,
        std::slice::from_ref(&tri),
        Background::Color([0.0; 3]),
        Lighting::flat(),
    );
    let b = render(
        &mut r,
        std::slice::from_ref(&tri),
        Background::Color([0.0; 3]),
        Lighting::flat(),
    );
    assert_eq!(a, b);
    let scene = Scene {
        view: View::new(camera(), W, H),
        lighting: Lighting::flat(),
        background: Background::Image {
            rgba: &[0; 12],
            width: 2,
            height: 2,
        },
        mesh: None,
    };
    assert!(r.render(&scene).is_err());
    let bad = Scene {
        view: View::new(camera(), W + 1, H),
        background: Background::Color([0.0; 3]),
        ..scene
    };
    assert!(r.render(&bad).unwrap_err().to_string().contains("target"));
}

#[test]
fn render_helpers_normals_parts_overlay_downsample() {
    let n = vertex_normals(
        &[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
        &[[0, 1, 2]],
    );
    assert_eq!(n, vec![[0.0, 0.0, 1.0]; 3]);

    let weights = [0.1, 0.7, 0.2, 0.5, 0.25, 0.25];
    assert_eq!(dominant_joints(&weights, 3), vec![1, 0]);

    let mut img = vec![0u8; 32 * 32 * 4];
    let mut kp = vec![[0.0f32; 3]; crate::keypoints::NUM_OPENPOSE137];
    kp[1] = [10.0, 10.0, 0.9];
    kp[8] = [10.0, 25.0, 0.9];
    kp[30] = [20.0, 5.0, 0.0]; // zero confidence: not drawn
    draw_keypoints(&mut img, 32, 32, &kp, 0.0);
    let at = |x: usize, y: usize| img[(y * 32 + x) * 4..(y * 32 + x) * 4 + 3].to_vec();
    assert_eq!(at(10, 10), keypoint_color(1).to_vec());
    assert_ne!(at(10, 18), vec![0, 0, 0], "limb neck–hip drawn");
    assert_eq!(at(20, 5), vec![0, 0, 0]);

    let frame = Frame {
        width: 2,
        height: 2,
        rgba: vec![
            0, 0, 0, 255, 100, 100, 100, 255, 200, 200, 200, 255, 100, 100, 100, 255,
        ],
        depth: vec![1.0, 0.5, 1.0, 1.0],
    };
    let small = frame.downsampled(2);
    assert_eq!(small.rgba, vec![100, 100, 100, 255]);
    assert_eq!(small.depth, vec![0.5]);
}

#[test]
fn software_renderer_matches_the_gpu() {
    let mut r = renderer();
    // Two overlapping triangles at different depths, lit, over an image.
    let tris = [
        Tri {
            p: [[-0.6, -0.5, 2.0], [0.4, -0.6, 2.2], [-0.5, 0.4, 1.8]],
            color: [0.9, 0.1, 0.2],
        },
        Tri {
            p: [[-0.2, -0.3, 1.9], [0.6, 0.1, 1.9], [0.0, 0.5, 2.5]],
            color: [0.1, 0.8, 0.3],
        },
    ];
    let bg: Vec<u8> = (0..W * H)
        .flat_map(|i| [(i % 256) as u8, 40, 90, 255])
        .collect();
    let background = Background::Image {
        rgba: &bg,
        width: W,
        height: H,
    };
    let gpu = render(&mut r, &tris, background, Lighting::default());
    let mesh = mesh_of(&tris);
    let scene = Scene {
        view: View::new(camera(), W, H),
        lighting: Lighting::default(),
        background,
        mesh: Some(MeshData {
            positions: &mesh.positions,
            normals: &mesh.normals,
            colors: &mesh.colors,
            triangles: &mesh.triangles,
        }),
    };
    let cpu = software::render(&scene).unwrap();
    let (mut covered, mut differ, mut colour_off) = (0, 0, 0);
    for y in 0..H as i64 {
        for x in 0..W as i64 {
            let (g, c) = (gpu.covered(x, y), cpu.covered(x, y));
            covered += g as usize;
            differ += (g != c) as usize;
            let (a, b) = (gpu.pixel(x, y).unwrap(), cpu.pixel(x, y).unwrap());
            if (0..3).any(|k| a[k].abs_diff(b[k]) > 6) {
                colour_off += 1;
            }
            if g && c {
                let (dg, dc) = (gpu.depth_at(x, y).unwrap(), cpu.depth_at(x, y).unwrap());
                assert!((dg - dc).abs() < 1e-4, "depth at {x},{y}: {dg} vs {dc}");
            }
        }
    }
    assert!(covered > 300, "covered {covered}");
    // Only edge pixels may disagree (rounding of the coverage rule).
    assert!(
        differ * 20 < covered,
        "{differ} of {covered} pixels differ in coverage"
    );
    assert!(
        colour_off * 10 < covered,
        "{colour_off} pixels differ in colour"
    );
}

#[test]
fn colour_read_without_blocking_matches_the_blocking_read() {
    // What the browser does: draw, copy the colour alone, submit, await the
    // mapping (natively a poll drives it, in the page the event loop does).
    let mut r = renderer();
    let tri = Tri {
        p: [[-0.6, -0.5, 2.0], [0.1, -0.6, 2.0], [-0.5, 0.3, 2.0]],
        color: [0.9, 0.1, 0.2],
    };
    let expected = render(
        &mut r,
        std::slice::from_ref(&tri),
        Background::Color([0.1, 0.3, 0.8]),
        Lighting::flat(),
    );
    let mesh = mesh_of(std::slice::from_ref(&tri));
    let scene = Scene {
        view: View::new(camera(), W, H),
        lighting: Lighting::flat(),
        background: Background::Color([0.1, 0.3, 0.8]),
        mesh: Some(MeshData {
            positions: &mesh.positions,
            normals: &mesh.normals,
            colors: &mesh.colors,
            triangles: &mesh.triangles,
        }),
    };
    let device = &r.gpu.device;
    let mut encoder = device.create_command_encoder(&Default::default());
    r.renderer
        .draw(
            device,
            &r.gpu.queue,
            &mut encoder,
            r.target.color_view(),
            r.target.depth_view(),
            &scene,
        )
        .unwrap();
    r.target.encode_color_readback(&mut encoder);
    r.gpu.queue.submit([encoder.finish()]);
    let read = r.target.read_color();
    device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
    let rgba = pollster::block_on(read).unwrap();
    assert_eq!(rgba, expected.rgba);
    // The buffer is unmapped again: a second frame reads as well.
    let again = render(
        &mut r,
        std::slice::from_ref(&tri),
        Background::Color([0.1, 0.3, 0.8]),
        Lighting::flat(),
    );
    assert_eq!(again.rgba, expected.rgba);
}

/// The mannequin's face gets brows, eyes and lips where its landmarks say,
/// in that order from top to bottom, and the mouth line between the lips.
#[test]
fn face_features_follow_the_landmarks() {
    let model = crate::smplx::mannequin::mannequin();
    let parts = BodyParts::new(&model);
    let mean_height = |f: FaceFeature| -> (usize, f32) {
        let ys: Vec<f32> = parts
            .features
            .iter()
            .enumerate()
            .filter(|(_, g)| **g == Some(f))
            .map(|(i, _)| model.v_template[i * 3 + 1])
            .collect();
        (ys.len(), ys.iter().sum::<f32>() / ys.len().max(1) as f32)
    };
    let (brows, brow_y) = mean_height(FaceFeature::Brow);
    let (eyes, eye_y) = mean_height(FaceFeature::Eye);
    let (lips, lip_y) = mean_height(FaceFeature::Lip);
    for (name, count) in [("brow", brows), ("eye", eyes), ("lip", lips)] {
        assert!(count >= 10, "{count} {name} vertices");
    }
    assert!(
        brow_y > eye_y && eye_y > lip_y + 0.04,
        "{brow_y} {eye_y} {lip_y}"
    );
    // Painted vertices are on the front of the head only.
    let head_z = parts.head[2];
    for (i, f) in parts.features.iter().enumerate() {
        if f.is_some() {
            assert!(model.v_template[i * 3 + 2] > head_z, "vertex {i}");
        }
    }
    let colors = Outfit::default().vertex_colors(&parts);
    let lip = parts
        .features
        .iter()
        .position(|f| *f == Some(FaceFeature::Lip))
        .unwrap();
    assert_ne!(colors[lip], Outfit::default().skin);
}
