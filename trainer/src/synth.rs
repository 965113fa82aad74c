//! `furpe synth`: the synthetic world. Random people (SMPL-X bodies in random
//! poses, shapes, expressions and clothing colours) are rendered with the wgpu
//! renderer into procedural scenes, with occluders and truncation, and written
//! as a dataset (`furpe::dataset`) with exact ground truth and OpenPose-137
//! keypoints from a SIMULATED detector ([`detector::SimulatedOpenPose`]).
//!
//! ```text
//! DIR/images/NNNNNN.png     RGB
//! DIR/masks/NNNNNN.png      grey: 255 visible person, 128 person behind an occluder, 0 background
//! DIR/overlays/NNNNNN.png   with --overlays: the simulated keypoints and box drawn on the image
//! DIR/annotations.jsonl     one furpe::dataset::Annotation per image
//! ```
//!
//! Every image is a pure function of (`--seed`, its index, `--size`, the model):
//! each image draws from its own random streams, so the same seed gives
//! byte-identical annotations whatever the count.

use std::path::PathBuf;

use crate::backend::BackendKind;

#[cfg(feature = "render")]
mod detector;
#[cfg(feature = "render")]
mod pose;
#[cfg(feature = "render")]
mod scene;

#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// Output directory: images/, masks/, annotations.jsonl.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of images.
    #[arg(long, default_value_t = 100)]
    pub count: usize,
    /// Random seed; the same seed gives the same dataset.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// SMPL-X model in the official .npz layout. Default: the embedded
    /// procedural mannequin (a stand-in for the licensed model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Image width and height in pixels.
    #[arg(long, default_value_t = 256)]
    pub size: u32,
    /// Render at N times the size and average down (anti-aliasing).
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub supersample: u32,
    /// Also write DIR/overlays/: each image with its simulated keypoints and
    /// person box drawn on it.
    #[arg(long)]
    pub overlays: bool,
    /// Also write one PNG with the first (up to 4) images above their overlays.
    #[arg(long, value_name = "PNG")]
    pub contact_sheet: Option<PathBuf>,
    /// What the camera frames: the whole body (the world FuRPE labels), or
    /// close-ups of the face or of one hand, the kind of pictures the face
    /// and hand experts are trained on (DECA and FrankMocap learn from face
    /// and hand datasets, not from full-body photos).
    #[arg(long, value_enum, default_value_t = Subject::Body)]
    pub framing: Subject,
    /// Where the pictures are taken: procedural rooms, outdoors and patterns
    /// with occluders (the unannotated world FuRPE labels), or a studio
    /// with a plain backdrop and nothing in front of the person, as the
    /// motion-capture sets the body expert's 3D supervision comes from
    /// (SPIN: Human3.6M, MPI-INF-3DHP).
    #[arg(long, value_enum, default_value_t = Setting::Wild)]
    pub scene: Setting,
    /// Backend of the body model's forward pass (rendering always uses wgpu).
    #[arg(long, value_enum, default_value_t = BackendKind::best_available())]
    pub backend: BackendKind,
}

/// Where a synthetic picture is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Setting {
    Wild,
    Studio,
}

/// What a synthetic picture is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Subject {
    Body,
    Face,
    Hand,
}

#[cfg(not(feature = "render"))]
pub fn run(_args: SynthArgs) -> anyhow::Result<()> {
    anyhow::bail!(
        "this furpe binary was built without the renderer; rebuild with `cargo build --release -p furpe-trainer --features render` (on by default)"
    )
}

#[cfg(feature = "render")]
pub use imp::run;

#[cfg(feature = "render")]
mod imp {
    use std::path::Path;
    use std::time::Instant;

    use anyhow::Context;
    use burn::tensor::backend::Backend;
    use furpe::dataset::{write_annotations, Annotation, GroundTruth};
    use furpe::render::{
        draw_keypoints, vertex_normals, Background, BodyParts, MeshData, OffscreenRenderer, Scene,
        View,
    };
    use furpe::rotation::host::axis_angle_to_matrix;
    use furpe::smplx::joints::idx;
    use furpe::smplx::{SmplxConfig, SmplxInput, SmplxParams};

    use super::detector::{Observation, SimulatedOpenPose, KEYPOINT_SOURCE};
    use super::{pose, scene, Setting, Subject, SynthArgs};
    use crate::backend::{with_backend, BackendJob};
    use crate::body::load_model;
    use crate::rng::Rng;

    /// Bodies posed per forward pass.
    const CHUNK: usize = 16;
    /// Images shown on the contact sheet.
    const SHEET: usize = 4;
    /// Random streams (see `Rng::for_item`).
    const STREAM_BODY: u64 = 0;
    const STREAM_SCENE: u64 = 1;

    pub fn run(args: SynthArgs) -> anyhow::Result<()> {
        if args.count == 0 {
            anyhow::bail!("--count must be at least 1");
        }
        if !(32..=4096).contains(&args.size) {
            anyhow::bail!("--size must be in 32..=4096 pixels, got {}", args.size);
        }
        if !(1..=4).contains(&args.supersample) {
            anyhow::bail!("--supersample must be in 1..=4, got {}", args.supersample);
        }
        with_backend(args.backend, args)
    }

    impl BackendJob for SynthArgs {
        type Output = ();
        fn run<B: Backend>(self, device: B::Device) -> anyhow::Result<()> {
            let start = Instant::now();
            let model = load_model(self.model.as_deref())?;
            let num_betas = 10.min(model.num_shape_space());
            let num_expression = 10.min(model.num_expression_space());
            let layer = SmplxConfig::new()
                .with_num_betas(num_betas)
                .with_num_expression(num_expression)
                .with_flat_hand_mean(true)
                .init::<B>(&model, &device)?;
            let parts = BodyParts::new(&model);
            let (size, ss) = (self.size, self.supersample);
            let mut renderer =
                OffscreenRenderer::new(size * ss, size * ss).context("starting the renderer")?;
            let detector = SimulatedOpenPose::new();
            for sub in ["images", "masks"] {
                std::fs::create_dir_all(self.out.join(sub))
                    .with_context(|| format!("{}: cannot create", self.out.join(sub).display()))?;
            }
            if self.overlays {
                std::fs::create_dir_all(self.out.join("overlays"))?;
            }
            let setup = start.elapsed().as_secs_f64();
            let loop_start = Instant::now();

            let mut annotations = Vec::with_capacity(self.count);
            let mut sheet: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            for first in (0..self.count).step_by(CHUNK) {
                let ids: Vec<usize> = (first..(first + CHUNK).min(self.count)).collect();
                let bodies: Vec<SmplxParams> = ids
                    .iter()
                    .map(|&i| {
                        let mut rng = Rng::for_item(self.seed, STREAM_BODY, i as u64);
                        pose::sample_params(&mut rng, num_betas, num_expression)
                    })
                    .collect();
                let output = layer.forward(SmplxInput::from_params(
                    &SmplxParams::concat(&bodies),
                    &device,
                ));
                let vertices = furpe::readback::triples(&furpe::readback::floats(output.vertices)?);
                let joints = furpe::readback::triples(&furpe::readback::floats(output.joints)?);
                let nv = vertices.len() / ids.len();
                let nj = joints.len() / ids.len();
                for (b, &i) in ids.iter().enumerate() {
                    let body = Body {
                        params: &bodies[b],
                        vertices: &vertices[b * nv..(b + 1) * nv],
                        joints: &joints[b * nj..(b + 1) * nj],
                    };
                    let mut rng = Rng::for_item(self.seed, STREAM_SCENE, i as u64);
                    let image = synthesize(
                        &body,
                        &model.faces,
                        &parts,
                        &detector,
                        &mut renderer,
                        size,
                        ss,
                        self.framing,
                        self.scene,
                        &mut rng,
                    )?;
                    let name = format!("{i:06}.png");
                    write_png(
                        &self.out.join("images").join(&name),
                        &image.rgba,
                        size,
                        Channels::Rgb,
                    )?;
                    write_png(
                        &self.out.join("masks").join(&name),
                        &image.mask,
                        size,
                        Channels::Grey,
                    )?;
                    let wants_overlay =
                        self.overlays || (self.contact_sheet.is_some() && sheet.len() < SHEET);
                    if wants_overlay {
                        let overlay = overlay(&image, size);
                        if self.overlays {
                            write_png(
                                &self.out.join("overlays").join(&name),
                                &overlay,
                                size,
                                Channels::Rgb,
                            )?;
                        }
                        if sheet.len() < SHEET {
                            sheet.push((image.rgba.clone(), overlay));
                        }
                    }
                    annotations.push(Annotation {
                        image: format!("images/{name}"),
                        width: size,
                        height: size,
                        person_box: image.person_box,
                        keypoints: image.keypoints,
                        keypoint_source: KEYPOINT_SOURCE.into(),
                        ground_truth: Some(GroundTruth::new(body.params, Some(image.camera), true)),
                    });
                }
            }
            let path = self.out.join("annotations.jsonl");
            write_annotations(&path, &annotations)
                .with_context(|| format!("{}: cannot write", path.display()))?;
            if let Some(sheet_path) = &self.contact_sheet {
                write_contact_sheet(sheet_path, &sheet, size)?;
            }
            let elapsed = loop_start.elapsed().as_secs_f64();
            println!(
                "wrote {} images and {} to {}: {:.1} images/s ({:.1} s, plus {:.1} s setup; {}x{} px, \
                 supersampling {}x; renderer on {}). Keypoints come from SimulatedOpenPose, a \
                 simulated detector (keypoint_source \"{KEYPOINT_SOURCE}\").",
                self.count,
                path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
                self.out.display(),
                self.count as f64 / elapsed.max(1e-9),
                elapsed,
                setup,
                size,
                size,
                ss,
                renderer.gpu.describe(),
            );
            Ok(())
        }
    }

    fn part_vertices(
        vertices: &[[f32; 3]],
        parts: &BodyParts,
        part: fn(usize) -> bool,
    ) -> Vec<[f32; 3]> {
        let chosen: Vec<[f32; 3]> = vertices
            .iter()
            .zip(parts.dominant())
            .filter(|(_, &j)| part(j))
            .map(|(v, _)| *v)
            .collect();
        if chosen.is_empty() {
            vertices.to_vec() // a model without that part: frame the body
        } else {
            chosen
        }
    }

    fn is_head_joint(j: usize) -> bool {
        use furpe::smplx::joints::idx::*;
        matches!(j, HEAD | JAW | LEFT_EYE_SMPLHF | RIGHT_EYE_SMPLHF)
    }

    /// The left wrist and fingers (SMPL-X joints 20 and 25..40).
    fn is_left_hand_joint(j: usize) -> bool {
        j == idx::LEFT_WRIST || furpe::smplx::joints::pose::LEFT_HAND.contains(&j)
    }

    /// The right wrist and fingers (SMPL-X joints 21 and 40..55).
    fn is_right_hand_joint(j: usize) -> bool {
        j == idx::RIGHT_WRIST || furpe::smplx::joints::pose::RIGHT_HAND.contains(&j)
    }

    /// One posed body on the host.
    struct Body<'a> {
        params: &'a SmplxParams,
        vertices: &'a [[f32; 3]],
        joints: &'a [[f32; 3]],
    }

    /// One finished picture and what is known about it.
    struct Synthesized {
        rgba: Vec<u8>,
        mask: Vec<u8>,
        camera: furpe::camera::PinholeCamera,
        person_box: [f32; 4],
        keypoints: Vec<[f32; 3]>,
    }

    #[allow(clippy::too_many_arguments)]
    fn synthesize(
        body: &Body,
        faces: &[[u32; 3]],
        parts: &BodyParts,
        detector: &SimulatedOpenPose,
        renderer: &mut OffscreenRenderer,
        size: u32,
        ss: u32,
        subject: Subject,
        setting: Setting,
        rng: &mut Rng,
    ) -> anyhow::Result<Synthesized> {
        // A close-up frames the vertices of the head or of one hand.
        let close_up: Option<Vec<[f32; 3]>> = match subject {
            Subject::Body => None,
            Subject::Face => Some(part_vertices(body.vertices, parts, is_head_joint)),
            Subject::Hand if rng.chance(0.5) => {
                Some(part_vertices(body.vertices, parts, is_left_hand_joint))
            }
            Subject::Hand => Some(part_vertices(body.vertices, parts, is_right_hand_joint)),
        };
        // Face close-ups look at the face (its head's global rotation).
        let facing = (subject == Subject::Face).then(|| {
            let p = body.params;
            let root = axis_angle_to_matrix(
                [0, 1, 2].map(|k| p.global_orient[0].get(k).copied().unwrap_or(0.0) as f64),
            );
            furpe::experts::joint_global_rotation(&root, &p.body_pose[0], idx::HEAD)
        });
        // Truncation leaves most of the body in view, so a miss is not
        // expected; draw again rather than write an empty picture.
        let mut tries = 0;
        let (framing, person_box) = loop {
            let framing = match &close_up {
                None => scene::place_camera(rng, body.vertices, size),
                Some(points) => scene::place_close_up(rng, points, size, facing.as_ref()),
            };
            if let Some(b) = scene::person_box(&framing.camera, body.vertices, size) {
                break (framing, b);
            }
            tries += 1;
            if tries == 10 {
                anyhow::bail!(
                    "the body never came into view (does the model have a visible surface?)"
                );
            }
        };
        let camera = framing.camera;
        let lighting = scene::sample_lighting(rng, &camera);
        let outfit = scene::sample_outfit(rng);
        let background = match setting {
            Setting::Wild => scene::sample_background(rng, size),
            Setting::Studio => scene::studio_backdrop(rng, size),
        };
        let colors = outfit.vertex_colors(parts);
        let normals = vertex_normals(body.vertices, faces);

        // The supersampled camera: pixel p of the image is the block of
        // hi-res pixels ss·p … ss·p + ss − 1 (OpenCV centres).
        let s = ss as f64;
        let mut hires = camera;
        hires.focal = camera.focal.map(|f| f * s);
        hires.center = camera.center.map(|c| s * (c + 0.5) - 0.5);
        let view = View::new(hires, size * ss, size * ss);
        let frame = renderer.render(&Scene {
            view,
            lighting,
            background: Background::Image {
                rgba: &background.rgba,
                width: background.width,
                height: background.height,
            },
            mesh: Some(MeshData {
                positions: body.vertices,
                normals: &normals,
                colors: &colors,
                triangles: faces,
            }),
        })?;
        let frame = frame.downsampled(ss);
        let mut rgba = frame.rgba;
        let occluders = match setting {
            Setting::Wild => scene::add_occluders(rng, &mut rgba, size, person_box),
            Setting::Studio => scene::Occluders {
                mask: vec![false; (size * size) as usize],
            },
        };
        let surface_depth: Vec<Option<f32>> =
            frame.depth.iter().map(|&d| view.linear_depth(d)).collect();
        let keypoints = detector.detect(
            &Observation {
                joints: body.joints,
                camera: &camera,
                size,
                occluded: &occluders.mask,
                surface_depth: &surface_depth,
            },
            rng,
        );
        let mask = surface_depth
            .iter()
            .zip(&occluders.mask)
            .map(|(d, &o)| match (d.is_some(), o) {
                (true, false) => 255,
                (true, true) => 128,
                _ => 0,
            })
            .collect();
        Ok(Synthesized {
            rgba,
            mask,
            camera,
            person_box,
            keypoints,
        })
    }

    /// The image with the simulated keypoints and the person box drawn on it.
    fn overlay(image: &Synthesized, size: u32) -> Vec<u8> {
        let mut rgba = image.rgba.clone();
        let [x0, y0, x1, y1] = image.person_box.map(|v| v.round() as i64);
        let s = size as i64;
        let mut put = |x: i64, y: i64| {
            if x >= 0 && y >= 0 && x < s && y < s {
                let i = ((y * s + x) * 4) as usize;
                rgba[i..i + 3].copy_from_slice(&[255, 255, 255]);
            }
        };
        for x in x0..=x1 {
            put(x, y0);
            put(x, y1.min(s - 1));
        }
        for y in y0..=y1 {
            put(x0, y);
            put(x1.min(s - 1), y);
        }
        draw_keypoints(&mut rgba, size, size, &image.keypoints, 0.0);
        rgba
    }

    #[derive(Clone, Copy)]
    enum Channels {
        Rgb,
        Grey,
    }

    /// Writes a square RGBA (as RGB) or grey image of side `size`.
    fn write_png(path: &Path, data: &[u8], size: u32, channels: Channels) -> anyhow::Result<()> {
        // Fast: the dataset is written once and read by the trainer; the
        // contact sheet (for humans and the repository) is squeezed harder.
        write_png_sized(path, data, size, size, channels, png::Compression::Fast)
    }

    fn write_png_sized(
        path: &Path,
        data: &[u8],
        width: u32,
        height: u32,
        channels: Channels,
        compression: png::Compression,
    ) -> anyhow::Result<()> {
        let mut bytes = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut bytes, width, height);
            encoder.set_depth(png::BitDepth::Eight);
            let pixels: Vec<u8> = match channels {
                Channels::Rgb => {
                    encoder.set_color(png::ColorType::Rgb);
                    data.chunks_exact(4)
                        .flat_map(|p| [p[0], p[1], p[2]])
                        .collect()
                }
                Channels::Grey => {
                    encoder.set_color(png::ColorType::Grayscale);
                    data.to_vec()
                }
            };
            encoder.set_compression(compression);
            let mut writer = encoder
                .write_header()
                .with_context(|| format!("{}: encoding PNG", path.display()))?;
            writer
                .write_image_data(&pixels)
                .with_context(|| format!("{}: encoding PNG", path.display()))?;
        }
        std::fs::write(path, bytes).with_context(|| format!("{}: cannot write", path.display()))
    }

    /// Images on the top row, their overlays below (for people, not training).
    fn write_contact_sheet(
        path: &Path,
        sheet: &[(Vec<u8>, Vec<u8>)],
        size: u32,
    ) -> anyhow::Result<()> {
        let n = sheet.len().max(1) as u32;
        let (w, h) = (n * size, 2 * size);
        let mut rgba = vec![0u8; (w * h * 4) as usize];
        for (col, (image, overlay)) in sheet.iter().enumerate() {
            for (row, src) in [image, overlay].into_iter().enumerate() {
                for y in 0..size {
                    let dst_y = row as u32 * size + y;
                    let dst = ((dst_y * w + col as u32 * size) * 4) as usize;
                    let src_i = (y * size * 4) as usize;
                    rgba[dst..dst + (size * 4) as usize]
                        .copy_from_slice(&src[src_i..src_i + (size * 4) as usize]);
                }
            }
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        // 6 bits per channel: invisible at a glance, and it halves the file
        // (the grain of the backgrounds does not compress).
        rgba.iter_mut().for_each(|v| *v &= 0xFC);
        write_png_sized(path, &rgba, w, h, Channels::Rgb, png::Compression::High)
    }
}
