//! A small wgpu renderer for posed body meshes: the synthetic world's camera,
//! and later the browser's overlay (feature `render`).
//!
//! What it draws: one triangle mesh with per-vertex colours, Lambert shading
//! (ambient plus up to [`MAX_LIGHTS`] directional lights, two-sided) over a
//! background image or colour, seen through a [`PinholeCamera`] in the OpenCV
//! convention (x right, y down, z forward; pixel centres at integer
//! coordinates, so a point the camera projects to (u, v) lands in pixel
//! (round(u), round(v))). Depth testing is on.
//!
//! How it is split, so the browser can reuse the drawing with a canvas
//! surface:
//! - [`MeshRenderer`] owns the pipelines and buffers. It is created once for
//!   a colour format and draws many frames into any colour view plus a
//!   [`DEPTH_FORMAT`] view; the device and queue are passed in and nothing in
//!   it blocks.
//! - [`RenderTarget`] is an offscreen colour + depth pair that can be copied
//!   back to the host ([`Frame`]: RGBA8 and depth).
//! - Natively, [`Gpu::headless`] opens an adapter without a window (Mesa
//!   lavapipe on machines without a GPU) and [`OffscreenRenderer`] bundles the
//!   three for a blocking `render(scene) → Frame`.
//!
//! - [`software::render`] draws the same scene on the CPU (no GPU API at
//!   all: the browser's fallback).
//!
//! Host-side helpers that need no GPU: [`vertex_normals`], per-part clothing
//! colours from the dominant skinning joint ([`Outfit`]), and keypoint
//! overlays drawn into an RGBA buffer ([`draw_keypoints`]).

use std::borrow::Cow;

use crate::camera::PinholeCamera;
use crate::keypoints::{NUM_BODY25, NUM_HAND};
use crate::smplx::joints::{idx, NUM_JOINTS};
use crate::smplx::SmplxData;

/// Colour format of [`RenderTarget`]: 8-bit RGBA, no sRGB conversion (shaded
/// colours are written as computed).
pub const COLOR_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
/// Depth format every view passed to [`MeshRenderer::draw`] must have.
pub const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;
/// Directional lights per frame.
pub const MAX_LIGHTS: usize = 2;

/// What can go wrong while rendering.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(
        "no GPU adapter found through wgpu ({0}). The renderer needs a Vulkan, Metal or DX12 \
         device; on a machine without a GPU install Mesa's CPU Vulkan driver \
         (`apt-get install mesa-vulkan-drivers`, the `llvmpipe` device; check with \
         `vulkaninfo --summary`)"
    )]
    NoAdapter(String),
    #[error("opening the GPU device failed: {0}")]
    Device(String),
    #[error("reading the rendered image back failed: {0}")]
    Readback(String),
    #[error("{0}")]
    Input(String),
}

// ---------------------------------------------------------------- scene data

/// A triangle mesh in world coordinates (metres), one normal and one linear
/// RGB colour in [0, 1] per vertex.
#[derive(Debug, Clone, Copy)]
pub struct MeshData<'a> {
    pub positions: &'a [[f32; 3]],
    pub normals: &'a [[f32; 3]],
    pub colors: &'a [[f32; 3]],
    pub triangles: &'a [[u32; 3]],
}

impl MeshData<'_> {
    fn validate(&self) -> Result<(), RenderError> {
        let n = self.positions.len();
        if self.normals.len() != n || self.colors.len() != n {
            return Err(RenderError::Input(format!(
                "mesh has {n} positions but {} normals and {} colours",
                self.normals.len(),
                self.colors.len()
            )));
        }
        if let Some(t) = self.triangles.iter().flatten().find(|&&i| i as usize >= n) {
            return Err(RenderError::Input(format!(
                "triangle index {t} out of range ({n} vertices)"
            )));
        }
        Ok(())
    }
}

/// A directional light: `direction` points from the surface towards the
/// light (world frame, need not be normalised); `color` scales the albedo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Light {
    pub direction: [f32; 3],
    pub color: [f32; 3],
}

/// Ambient term plus directional lights (unused ones black).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lighting {
    pub ambient: [f32; 3],
    pub lights: [Light; MAX_LIGHTS],
}

impl Lighting {
    /// Unshaded: every fragment gets exactly its vertex colour.
    pub fn flat() -> Self {
        let off = Light {
            direction: [0.0, 0.0, 1.0],
            color: [0.0; 3],
        };
        Self {
            ambient: [1.0; 3],
            lights: [off; MAX_LIGHTS],
        }
    }
}

impl Default for Lighting {
    /// A key light from the upper front (world y up, +z towards a camera in
    /// front of the body) and a weaker fill from the side.
    fn default() -> Self {
        Self {
            ambient: [0.35; 3],
            lights: [
                Light {
                    direction: [0.3, 0.8, 0.6],
                    color: [0.7; 3],
                },
                Light {
                    direction: [-0.8, 0.1, 0.4],
                    color: [0.2; 3],
                },
            ],
        }
    }
}

/// The camera and image a frame is drawn for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    pub camera: PinholeCamera,
    pub width: u32,
    pub height: u32,
    /// Clipping planes, metres along the optical axis.
    pub near: f32,
    pub far: f32,
}

impl View {
    /// A view with near/far planes at 5 cm and 1 km.
    pub fn new(camera: PinholeCamera, width: u32, height: u32) -> Self {
        Self {
            camera,
            width,
            height,
            near: 0.05,
            far: 1000.0,
        }
    }

    /// World → wgpu clip space, column-major (what WGSL's `mat4x4` reads).
    ///
    /// OpenCV pixels (u, v) = f·(x, y)/z + c map to the framebuffer point
    /// (u + ½, v + ½) (the centre of pixel (u, v)); clip y is up where image
    /// v is down; depth z ∈ [near, far] maps to [0, 1].
    pub fn clip_from_world(&self) -> [[f32; 4]; 4] {
        let c = &self.camera;
        let (w, h) = (self.width as f64, self.height as f64);
        let (n, f) = (self.near as f64, self.far as f64);
        // Rows of the projection acting on camera-frame (x, y, z, 1).
        let proj = [
            [
                2.0 * c.focal[0] / w,
                0.0,
                2.0 * (c.center[0] + 0.5) / w - 1.0,
                0.0,
            ],
            [
                0.0,
                -2.0 * c.focal[1] / h,
                1.0 - 2.0 * (c.center[1] + 0.5) / h,
                0.0,
            ],
            [0.0, 0.0, f / (f - n), -f * n / (f - n)],
            [0.0, 0.0, 1.0, 0.0],
        ];
        let mut extrinsic = [[0.0f64; 4]; 4];
        for (row, (r, t)) in extrinsic
            .iter_mut()
            .zip(c.rotation.iter().zip(c.translation))
        {
            row[..3].copy_from_slice(r);
            row[3] = t;
        }
        extrinsic[3][3] = 1.0;
        let mut out = [[0.0f32; 4]; 4];
        for (row, proj_row) in proj.iter().enumerate() {
            for (col, column) in out.iter_mut().enumerate() {
                column[row] = (0..4).map(|k| proj_row[k] * extrinsic[k][col]).sum::<f64>() as f32;
            }
        }
        out
    }

    /// Camera-frame depth (metres) of a depth-buffer value; `None` for the
    /// cleared value 1 (nothing drawn there).
    pub fn linear_depth(&self, depth: f32) -> Option<f32> {
        if depth >= 1.0 {
            return None;
        }
        let (n, f) = (self.near as f64, self.far as f64);
        Some((f * n / (f - depth as f64 * (f - n))) as f32)
    }

    /// The camera centre in world coordinates, −Rᵀt.
    fn eye(&self) -> [f32; 3] {
        let r = &self.camera.rotation;
        let t = &self.camera.translation;
        [0, 1, 2].map(|j| -(0..3).map(|i| r[i][j] * t[i]).sum::<f64>() as f32)
    }
}

/// What is behind the mesh.
#[derive(Debug, Clone, Copy)]
pub enum Background<'a> {
    /// A flat linear RGB colour.
    Color([f32; 3]),
    /// An RGBA8 image, rows top to bottom; stretched (nearest) to the target.
    Image {
        rgba: &'a [u8],
        width: u32,
        height: u32,
    },
}

/// One frame: camera, lights, background and (optionally) a mesh.
#[derive(Debug, Clone, Copy)]
pub struct Scene<'a> {
    pub view: View,
    pub lighting: Lighting,
    pub background: Background<'a>,
    pub mesh: Option<MeshData<'a>>,
}

/// Re-exported here because every scene needs normals; the one definition
/// lives with the other mesh helpers.
pub use crate::mesh::vertex_normals;

// ------------------------------------------------------------------ the GPU

const SHADER: &str = r#"
struct Uniforms {
    clip_from_world: mat4x4<f32>,
    eye: vec4<f32>,
    ambient: vec4<f32>,
    light_dir: array<vec4<f32>, 2>,
    light_color: array<vec4<f32>, 2>,
    // xy: background texels per target pixel
    bg_scale: vec4<f32>,
};
@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var background: texture_2d<f32>;

struct VertexIn {
    @location(0) position: vec3<f32>,
    @location(1) normal: vec3<f32>,
    @location(2) color: vec3<f32>,
};
struct VertexOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) world: vec3<f32>,
    @location(1) normal: vec3<f32>,
    @location(2) color: vec3<f32>,
};

@vertex
fn vs_mesh(v: VertexIn) -> VertexOut {
    var out: VertexOut;
    out.clip = u.clip_from_world * vec4<f32>(v.position, 1.0);
    out.world = v.position;
    out.normal = v.normal;
    out.color = v.color;
    return out;
}

@fragment
fn fs_mesh(i: VertexOut) -> @location(0) vec4<f32> {
    var n = i.normal;
    let len = length(n);
    if (len > 0.0) { n = n / len; }
    // Two-sided: light the side that faces the camera.
    if (dot(n, u.eye.xyz - i.world) < 0.0) { n = -n; }
    var light = u.ambient.rgb;
    for (var k = 0u; k < 2u; k = k + 1u) {
        let l = u.light_dir[k].xyz;
        let l_len = max(length(l), 1e-6);
        light = light + u.light_color[k].rgb * max(dot(n, l / l_len), 0.0);
    }
    return vec4<f32>(clamp(i.color * light, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0);
}

@vertex
fn vs_background(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    // One triangle covering the screen.
    let x = f32((i << 1u) & 2u) * 2.0 - 1.0;
    let y = f32(i & 2u) * 2.0 - 1.0;
    return vec4<f32>(x, y, 1.0, 1.0);
}

@fragment
fn fs_background(@builtin(position) p: vec4<f32>) -> @location(0) vec4<f32> {
    let size = textureDimensions(background);
    let q = vec2<u32>(floor(p.xy * u.bg_scale.xy));
    return textureLoad(background, min(q, size - vec2<u32>(1u, 1u)), 0);
}
"#;

/// Floats in the uniform block (see `Uniforms` in the shader).
const UNIFORM_FLOATS: usize = 16 + 4 + 4 + 4 * MAX_LIGHTS + 4 * MAX_LIGHTS + 4;
/// Floats per vertex: position, normal, colour.
const VERTEX_FLOATS: usize = 9;

/// Pipelines and buffers for drawing meshes; create once, draw many frames.
#[derive(Debug)]
pub struct MeshRenderer {
    color_format: wgpu::TextureFormat,
    mesh_pipeline: wgpu::RenderPipeline,
    background_pipeline: wgpu::RenderPipeline,
    bind_group_layout: wgpu::BindGroupLayout,
    uniforms: wgpu::Buffer,
    background: wgpu::Texture,
    bind_group: wgpu::BindGroup,
    vertices: wgpu::Buffer,
    indices: wgpu::Buffer,
    /// Scratch for interleaving vertices.
    staging: Vec<f32>,
}

impl MeshRenderer {
    /// Compiles the shaders and pipelines for colour targets of `color_format`
    /// (depth targets are [`DEPTH_FORMAT`]).
    pub fn new(device: &wgpu::Device, color_format: wgpu::TextureFormat) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("furpe mesh shader"),
            source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(SHADER)),
        });
        let bind_group_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("furpe mesh bindings"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: false },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
            ],
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("furpe mesh layout"),
            bind_group_layouts: &[Some(&bind_group_layout)],
            immediate_size: 0,
        });
        let color_target = [Some(wgpu::ColorTargetState {
            format: color_format,
            blend: None,
            write_mask: wgpu::ColorWrites::ALL,
        })];
        let depth = |write: bool, compare: wgpu::CompareFunction| wgpu::DepthStencilState {
            format: DEPTH_FORMAT,
            depth_write_enabled: Some(write),
            depth_compare: Some(compare),
            stencil: wgpu::StencilState::default(),
            bias: wgpu::DepthBiasState::default(),
        };
        let vertex_layout = [wgpu::VertexBufferLayout {
            array_stride: (VERTEX_FLOATS * 4) as u64,
            step_mode: wgpu::VertexStepMode::Vertex,
            attributes: &wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x3, 2 => Float32x3],
        }];
        let mesh_pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("furpe mesh pipeline"),
            layout: Some(&layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_mesh"),
                compilation_options: Default::default(),
                buffers: &vertex_layout,
            },
            primitive: wgpu::PrimitiveState {
                topology: wgpu::PrimitiveTopology::TriangleList,
                cull_mode: None,
                ..Default::default()
            },
            depth_stencil: Some(depth(true, wgpu::CompareFunction::Less)),
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_mesh"),
                compilation_options: Default::default(),
                targets: &color_target,
            }),
            multiview_mask: None,
            cache: None,
        });
        let background_pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("furpe background pipeline"),
            layout: Some(&layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_background"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: Some(depth(false, wgpu::CompareFunction::Always)),
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_background"),
                compilation_options: Default::default(),
                targets: &color_target,
            }),
            multiview_mask: None,
            cache: None,
        });
        let uniforms = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("furpe mesh uniforms"),
            size: (UNIFORM_FLOATS * 4) as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let background = background_texture(device, 1, 1);
        let bind_group = bind_group(device, &bind_group_layout, &uniforms, &background);
        let vertices = growable_buffer(device, 4, wgpu::BufferUsages::VERTEX);
        let indices = growable_buffer(device, 4, wgpu::BufferUsages::INDEX);
        Self {
            color_format,
            mesh_pipeline,
            background_pipeline,
            bind_group_layout,
            uniforms,
            background,
            bind_group,
            vertices,
            indices,
            staging: Vec::new(),
        }
    }

    /// The colour format the pipelines were built for.
    pub fn color_format(&self) -> wgpu::TextureFormat {
        self.color_format
    }

    /// Uploads the frame's data through `queue` and records its drawing into
    /// `encoder` (background, then the depth-tested mesh). Submit the encoder
    /// before the next `draw`: uploads go through the queue, so a second draw
    /// would overwrite the first one's data.
    pub fn draw(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        color: &wgpu::TextureView,
        depth: &wgpu::TextureView,
        scene: &Scene,
    ) -> Result<(), RenderError> {
        let view = &scene.view;
        if view.width == 0 || view.height == 0 {
            return Err(RenderError::Input("empty view".into()));
        }
        let (clear, bg_scale) = match scene.background {
            Background::Color(c) => (
                wgpu::Color {
                    r: c[0] as f64,
                    g: c[1] as f64,
                    b: c[2] as f64,
                    a: 1.0,
                },
                None,
            ),
            Background::Image {
                rgba,
                width,
                height,
            } => {
                if width == 0 || height == 0 || rgba.len() != (width * height * 4) as usize {
                    return Err(RenderError::Input(format!(
                        "background of {width}x{height} pixels needs {} RGBA bytes, got {}",
                        width as usize * height as usize * 4,
                        rgba.len()
                    )));
                }
                let max = device.limits().max_texture_dimension_2d;
                if width > max || height > max {
                    return Err(RenderError::Input(format!(
                        "background {width}x{height} exceeds the device's {max} pixels per side"
                    )));
                }
                self.upload_background(device, queue, rgba, width, height);
                (
                    wgpu::Color::BLACK,
                    Some([
                        width as f32 / view.width as f32,
                        height as f32 / view.height as f32,
                    ]),
                )
            }
        };
        let index_count = match &scene.mesh {
            Some(mesh) => {
                mesh.validate()?;
                self.upload_mesh(device, queue, mesh);
                mesh.triangles.len() as u32 * 3
            }
            None => 0,
        };
        queue.write_buffer(
            &self.uniforms,
            0,
            bytemuck::cast_slice(&uniform_block(scene, bg_scale.unwrap_or([1.0; 2]))),
        );

        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("furpe mesh pass"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: color,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(clear),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                view: depth,
                depth_ops: Some(wgpu::Operations {
                    load: wgpu::LoadOp::Clear(1.0),
                    store: wgpu::StoreOp::Store,
                }),
                stencil_ops: None,
            }),
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        pass.set_bind_group(0, &self.bind_group, &[]);
        if bg_scale.is_some() {
            pass.set_pipeline(&self.background_pipeline);
            pass.draw(0..3, 0..1);
        }
        if index_count > 0 {
            pass.set_pipeline(&self.mesh_pipeline);
            pass.set_vertex_buffer(0, self.vertices.slice(..));
            pass.set_index_buffer(self.indices.slice(..), wgpu::IndexFormat::Uint32);
            pass.draw_indexed(0..index_count, 0, 0..1);
        }
        Ok(())
    }

    fn upload_background(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        rgba: &[u8],
        width: u32,
        height: u32,
    ) {
        let size = self.background.size();
        if size.width != width || size.height != height {
            self.background = background_texture(device, width, height);
            self.bind_group = bind_group(
                device,
                &self.bind_group_layout,
                &self.uniforms,
                &self.background,
            );
        }
        queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &self.background,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            rgba,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(width * 4),
                rows_per_image: Some(height),
            },
            wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
        );
    }

    fn upload_mesh(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, mesh: &MeshData) {
        self.staging.clear();
        for i in 0..mesh.positions.len() {
            self.staging.extend_from_slice(&mesh.positions[i]);
            self.staging.extend_from_slice(&mesh.normals[i]);
            self.staging.extend_from_slice(&mesh.colors[i]);
        }
        let vertex_bytes: &[u8] = bytemuck::cast_slice(&self.staging);
        let index_bytes: &[u8] = bytemuck::cast_slice(mesh.triangles);
        if self.vertices.size() < vertex_bytes.len() as u64 {
            self.vertices = growable_buffer(
                device,
                vertex_bytes.len() as u64,
                wgpu::BufferUsages::VERTEX,
            );
        }
        if self.indices.size() < index_bytes.len() as u64 {
            self.indices =
                growable_buffer(device, index_bytes.len() as u64, wgpu::BufferUsages::INDEX);
        }
        queue.write_buffer(&self.vertices, 0, vertex_bytes);
        queue.write_buffer(&self.indices, 0, index_bytes);
    }
}

fn uniform_block(scene: &Scene, bg_scale: [f32; 2]) -> [f32; UNIFORM_FLOATS] {
    let mut u = [0f32; UNIFORM_FLOATS];
    let m = scene.view.clip_from_world();
    for (c, column) in m.iter().enumerate() {
        u[c * 4..c * 4 + 4].copy_from_slice(column);
    }
    let eye = scene.view.eye();
    u[16..19].copy_from_slice(&eye);
    u[20..23].copy_from_slice(&scene.lighting.ambient);
    for (k, light) in scene.lighting.lights.iter().enumerate() {
        u[24 + 4 * k..27 + 4 * k].copy_from_slice(&light.direction);
        let c = 24 + 4 * MAX_LIGHTS + 4 * k;
        u[c..c + 3].copy_from_slice(&light.color);
    }
    let s = 24 + 8 * MAX_LIGHTS;
    u[s..s + 2].copy_from_slice(&bg_scale);
    u
}

fn background_texture(device: &wgpu::Device, width: u32, height: u32) -> wgpu::Texture {
    texture_2d(
        device,
        "furpe background",
        (width, height),
        wgpu::TextureFormat::Rgba8Unorm,
        wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
    )
}

/// A single-sample, single-mip 2D texture.
fn texture_2d(
    device: &wgpu::Device,
    label: &str,
    (width, height): (u32, u32),
    format: wgpu::TextureFormat,
    usage: wgpu::TextureUsages,
) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size: wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage,
        view_formats: &[],
    })
}

fn bind_group(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    uniforms: &wgpu::Buffer,
    background: &wgpu::Texture,
) -> wgpu::BindGroup {
    let view = background.create_view(&wgpu::TextureViewDescriptor::default());
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("furpe mesh bind group"),
        layout,
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: uniforms.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: wgpu::BindingResource::TextureView(&view),
            },
        ],
    })
}

fn growable_buffer(device: &wgpu::Device, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
    // Round up so that slowly growing meshes do not reallocate every frame.
    let size = size.max(4).next_power_of_two();
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("furpe mesh data"),
        size,
        usage: usage | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

// ------------------------------------------------------- offscreen targets

/// An offscreen colour ([`COLOR_FORMAT`]) and depth ([`DEPTH_FORMAT`]) pair,
/// with buffers to copy both back to the host.
#[derive(Debug)]
pub struct RenderTarget {
    width: u32,
    height: u32,
    color: wgpu::Texture,
    depth: wgpu::Texture,
    color_view: wgpu::TextureView,
    depth_view: wgpu::TextureView,
    color_readback: wgpu::Buffer,
    depth_readback: wgpu::Buffer,
    /// Bytes per row in the readback buffers (wgpu aligns rows to 256).
    padded_row: u32,
}

impl RenderTarget {
    pub fn new(device: &wgpu::Device, width: u32, height: u32) -> Self {
        let texture = |format, label: &str| {
            texture_2d(
                device,
                label,
                (width, height),
                format,
                wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            )
        };
        let color = texture(COLOR_FORMAT, "furpe target colour");
        let depth = texture(DEPTH_FORMAT, "furpe target depth");
        // Both formats are 4 bytes per pixel.
        let padded_row = (width * 4).div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT)
            * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
        let readback = |label| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: padded_row as u64 * height as u64,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        };
        Self {
            width,
            height,
            color_view: color.create_view(&Default::default()),
            depth_view: depth.create_view(&Default::default()),
            color,
            depth,
            color_readback: readback("furpe colour readback"),
            depth_readback: readback("furpe depth readback"),
            padded_row,
        }
    }

    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    pub fn color_view(&self) -> &wgpu::TextureView {
        &self.color_view
    }

    pub fn depth_view(&self) -> &wgpu::TextureView {
        &self.depth_view
    }

    /// Records copies of colour and depth into the readback buffers.
    pub fn encode_readback(&self, encoder: &mut wgpu::CommandEncoder) {
        self.copy(
            encoder,
            &self.color,
            &self.color_readback,
            wgpu::TextureAspect::All,
        );
        self.copy(
            encoder,
            &self.depth,
            &self.depth_readback,
            wgpu::TextureAspect::DepthOnly,
        );
    }

    /// Records a copy of the colour image alone (all a display needs); read
    /// it with [`Self::read_color`].
    pub fn encode_color_readback(&self, encoder: &mut wgpu::CommandEncoder) {
        self.copy(
            encoder,
            &self.color,
            &self.color_readback,
            wgpu::TextureAspect::All,
        );
    }

    fn copy(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        texture: &wgpu::Texture,
        buffer: &wgpu::Buffer,
        aspect: wgpu::TextureAspect,
    ) {
        encoder.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect,
            },
            wgpu::TexelCopyBufferInfo {
                buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(self.padded_row),
                    rows_per_image: Some(self.height),
                },
            },
            wgpu::Extent3d {
                width: self.width,
                height: self.height,
                depth_or_array_layers: 1,
            },
        );
    }

    /// The colour image (RGBA8, rows top to bottom) copied by
    /// [`Self::encode_color_readback`] or [`Self::encode_readback`], without
    /// blocking: submit the copy first; the future owns what it needs (it
    /// does not borrow `self`) and resolves once the device has mapped the
    /// buffer. In the browser the page's event loop drives the mapping;
    /// natively something must poll the device. Await it before the next
    /// read of this target: mapping a buffer twice is an error.
    pub fn read_color(
        &self,
    ) -> impl std::future::Future<Output = Result<Vec<u8>, RenderError>> + 'static {
        let buffer = self.color_readback.clone();
        let (row, padded, height) = (self.width as usize * 4, self.padded_row, self.height);
        let mapped = MapFuture::new(&buffer);
        async move {
            mapped
                .await
                .map_err(|e| RenderError::Readback(e.to_string()))?;
            let rgba = unpad(&buffer, row, padded, height);
            buffer.unmap();
            Ok(rgba)
        }
    }

    /// Waits for submitted work and reads the buffers filled by
    /// [`Self::encode_readback`]. Native only (the browser must await the
    /// mapping instead of blocking).
    #[cfg(not(target_family = "wasm"))]
    pub fn read_blocking(&self, device: &wgpu::Device) -> Result<Frame, RenderError> {
        let (sender, receiver) = std::sync::mpsc::channel();
        for buffer in [&self.color_readback, &self.depth_readback] {
            let sender = sender.clone();
            buffer
                .slice(..)
                .map_async(wgpu::MapMode::Read, move |r| drop(sender.send(r)));
        }
        drop(sender);
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| RenderError::Readback(e.to_string()))?;
        for result in receiver.iter() {
            result.map_err(|e| RenderError::Readback(e.to_string()))?;
        }
        let row = self.width as usize * 4;
        let rgba = unpad(&self.color_readback, row, self.padded_row, self.height);
        let depth_bytes = unpad(&self.depth_readback, row, self.padded_row, self.height);
        self.color_readback.unmap();
        self.depth_readback.unmap();
        let depth = depth_bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(Frame {
            width: self.width,
            height: self.height,
            rgba,
            depth,
        })
    }
}

/// A mapped readback buffer's rows without wgpu's row padding.
fn unpad(buffer: &wgpu::Buffer, row: usize, padded_row: u32, height: u32) -> Vec<u8> {
    let mapped = buffer.slice(..).get_mapped_range();
    let mut out = Vec::with_capacity(row * height as usize);
    for chunk in mapped.chunks(padded_row as usize) {
        out.extend_from_slice(&chunk[..row]);
    }
    out
}

/// Resolves when a buffer's `map_async` callback has run: a one-shot slot
/// and a waker, so no executor or channel crate is needed (in the browser
/// the callback runs from the page's event loop).
struct MapFuture {
    slot: MapSlot,
}

type MapSlot = std::sync::Arc<
    std::sync::Mutex<(
        Option<Result<(), wgpu::BufferAsyncError>>,
        Option<std::task::Waker>,
    )>,
>;

impl MapFuture {
    fn new(buffer: &wgpu::Buffer) -> Self {
        let slot = MapSlot::default();
        let filled = slot.clone();
        buffer
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |result| {
                let mut slot = filled.lock().unwrap_or_else(|p| p.into_inner());
                slot.0 = Some(result);
                if let Some(waker) = slot.1.take() {
                    waker.wake();
                }
            });
        Self { slot }
    }
}

impl std::future::Future for MapFuture {
    type Output = Result<(), wgpu::BufferAsyncError>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        match slot.0.take() {
            Some(result) => std::task::Poll::Ready(result),
            None => {
                slot.1 = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
        }
    }
}

/// A rendered image on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    /// RGBA8, rows top to bottom.
    pub rgba: Vec<u8>,
    /// Depth-buffer values in [0, 1]; 1 where nothing was drawn. Turn into
    /// metres with [`View::linear_depth`].
    pub depth: Vec<f32>,
}

impl Frame {
    /// Whether the mesh covers pixel (x, y) (false outside the image).
    pub fn covered(&self, x: i64, y: i64) -> bool {
        self.depth_at(x, y).is_some_and(|d| d < 1.0)
    }

    /// The depth-buffer value at pixel (x, y), if inside the image.
    pub fn depth_at(&self, x: i64, y: i64) -> Option<f32> {
        (x >= 0 && y >= 0 && x < self.width as i64 && y < self.height as i64)
            .then(|| self.depth[y as usize * self.width as usize + x as usize])
    }

    /// The RGBA value of pixel (x, y), if inside the image.
    pub fn pixel(&self, x: i64, y: i64) -> Option<[u8; 4]> {
        (x >= 0 && y >= 0 && x < self.width as i64 && y < self.height as i64).then(|| {
            let i = (y as usize * self.width as usize + x as usize) * 4;
            [0, 1, 2, 3].map(|k| self.rgba[i + k])
        })
    }

    /// Box-filters `factor`×`factor` blocks (supersampling anti-aliasing);
    /// depth keeps each block's nearest value, so a pixel counts as covered
    /// when any of its samples is. Leftover rows/columns are dropped.
    pub fn downsampled(&self, factor: u32) -> Frame {
        if factor <= 1 {
            return self.clone();
        }
        let (w, h) = (self.width / factor, self.height / factor);
        let f = factor as usize;
        let sw = self.width as usize;
        let mut rgba = vec![0u8; w as usize * h as usize * 4];
        let mut depth = vec![1f32; w as usize * h as usize];
        let samples = (f * f) as u32;
        for y in 0..h as usize {
            for x in 0..w as usize {
                let mut acc = [0u32; 4];
                let mut nearest = 1f32;
                for dy in 0..f {
                    for dx in 0..f {
                        let s = (y * f + dy) * sw + x * f + dx;
                        (0..4).for_each(|k| acc[k] += self.rgba[s * 4 + k] as u32);
                        nearest = nearest.min(self.depth[s]);
                    }
                }
                let o = y * w as usize + x;
                (0..4).for_each(|k| rgba[o * 4 + k] = ((acc[k] + samples / 2) / samples) as u8);
                depth[o] = nearest;
            }
        }
        Frame {
            width: w,
            height: h,
            rgba,
            depth,
        }
    }
}

/// An adapter, device and queue opened without a window.
#[cfg(not(target_family = "wasm"))]
#[derive(Debug)]
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
}

#[cfg(not(target_family = "wasm"))]
impl Gpu {
    /// The default adapter (honours `WGPU_BACKEND` and `WGPU_ADAPTER_NAME`),
    /// or an error that says how to get one.
    pub fn headless() -> Result<Self, RenderError> {
        pollster::block_on(async {
            // Vulkan / Metal / DX12 unless WGPU_BACKEND says otherwise: the GL
            // backend needs a display and only adds noise on headless machines.
            let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
            if std::env::var_os("WGPU_BACKEND").is_none() {
                descriptor.backends = wgpu::Backends::PRIMARY;
            }
            let instance = wgpu::Instance::new(descriptor);
            let adapter = wgpu::util::initialize_adapter_from_env_or_default(&instance, None)
                .await
                .map_err(|e| RenderError::NoAdapter(e.to_string()))?;
            let info = adapter.get_info();
            let (device, queue) = adapter
                .request_device(&wgpu::DeviceDescriptor {
                    label: Some("furpe renderer"),
                    ..Default::default()
                })
                .await
                .map_err(|e| {
                    RenderError::Device(format!("{} ({:?}): {e}", info.name, info.backend))
                })?;
            Ok(Self {
                device,
                queue,
                info,
            })
        })
    }

    /// "name (backend, device type)".
    pub fn describe(&self) -> String {
        format!(
            "{} ({:?}, {:?})",
            self.info.name, self.info.backend, self.info.device_type
        )
    }
}

/// A headless renderer of a fixed size: [`Gpu`] + [`MeshRenderer`] +
/// [`RenderTarget`], drawing one blocking frame at a time.
#[cfg(not(target_family = "wasm"))]
#[derive(Debug)]
pub struct OffscreenRenderer {
    pub gpu: Gpu,
    renderer: MeshRenderer,
    target: RenderTarget,
}

#[cfg(not(target_family = "wasm"))]
impl OffscreenRenderer {
    pub fn new(width: u32, height: u32) -> Result<Self, RenderError> {
        if width == 0 || height == 0 {
            return Err(RenderError::Input(format!(
                "render target {width}x{height} is empty"
            )));
        }
        let gpu = Gpu::headless()?;
        let max = gpu.device.limits().max_texture_dimension_2d;
        if width > max || height > max {
            return Err(RenderError::Input(format!(
                "render target {width}x{height} exceeds the device's {max} pixels per side"
            )));
        }
        let renderer = MeshRenderer::new(&gpu.device, COLOR_FORMAT);
        let target = RenderTarget::new(&gpu.device, width, height);
        Ok(Self {
            gpu,
            renderer,
            target,
        })
    }

    pub fn size(&self) -> (u32, u32) {
        self.target.size()
    }

    /// Draws `scene` (whose view must have the target's size) and reads it back.
    pub fn render(&mut self, scene: &Scene) -> Result<Frame, RenderError> {
        if (scene.view.width, scene.view.height) != self.target.size() {
            return Err(RenderError::Input(format!(
                "view is {}x{}, the target {}x{}",
                scene.view.width, scene.view.height, self.target.width, self.target.height
            )));
        }
        let device = &self.gpu.device;
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("furpe frame"),
        });
        self.renderer.draw(
            device,
            &self.gpu.queue,
            &mut encoder,
            &self.target.color_view,
            &self.target.depth_view,
            scene,
        )?;
        self.target.encode_readback(&mut encoder);
        self.gpu.queue.submit([encoder.finish()]);
        self.target.read_blocking(device)
    }
}

// ---------------------------------------------------------- body colouring

/// For each vertex, the joint with the largest skinning weight
/// (`weights` is `[V, num_joints]`).
pub fn dominant_joints(weights: &[f32], num_joints: usize) -> Vec<usize> {
    weights
        .chunks_exact(num_joints.max(1))
        .map(|row| {
            row.iter()
                .enumerate()
                .fold(
                    (0, f32::MIN),
                    |best, (j, &w)| if w > best.1 { (j, w) } else { best },
                )
                .0
        })
        .collect()
}

/// Clothing-like colours per body part, linear RGB in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outfit {
    pub skin: [f32; 3],
    pub hair: [f32; 3],
    pub top: [f32; 3],
    pub bottom: [f32; 3],
    pub shoes: [f32; 3],
    /// Sleeves cover the forearms (else they show skin).
    pub long_sleeves: bool,
    /// Trousers cover the shins (else shorts).
    pub long_legs: bool,
    /// Hair covers the top and back of the head.
    pub has_hair: bool,
}

impl Default for Outfit {
    fn default() -> Self {
        Self {
            skin: [0.80, 0.62, 0.50],
            hair: [0.20, 0.13, 0.08],
            top: [0.20, 0.35, 0.65],
            bottom: [0.18, 0.18, 0.22],
            shoes: [0.10, 0.08, 0.07],
            long_sleeves: true,
            long_legs: true,
            has_hair: true,
        }
    }
}

/// Which body part each vertex of a model belongs to, for colouring: its
/// dominant skinning joint (the part it moves with) and its rest position.
/// Computed once per model.
#[derive(Debug, Clone)]
pub struct BodyParts {
    dominant: Vec<usize>,
    rest: Vec<[f32; 3]>,
    head: [f32; 3],
    eye_level: f32,
    head_height: f32,
    /// The painted face feature each vertex lies in, if any.
    features: Vec<Option<FaceFeature>>,
}

/// Face features painted from the 51 static landmarks (brows, eyes, lips,
/// the mouth between the inner lip line). Without them the head is one
/// skin colour, and a face crop shows neither where it looks nor how far
/// the jaw is open: the lip band stretches as the jaw drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaceFeature {
    Brow,
    Eye,
    Lip,
    Mouth,
}

impl BodyParts {
    pub fn new(model: &SmplxData) -> Self {
        let v = model.num_vertices();
        let rest_joint = |j: usize| -> [f32; 3] {
            // Rest joint j = row j of the regressor · template.
            let row = &model.j_regressor[j * v..(j + 1) * v];
            let mut p = [0f32; 3];
            for (i, &w) in row.iter().enumerate().filter(|(_, w)| **w != 0.0) {
                (0..3).for_each(|k| p[k] += w * model.v_template[i * 3 + k]);
            }
            p
        };
        let head = rest_joint(idx::HEAD);
        let eye_level = rest_joint(idx::LEFT_EYE_SMPLHF)[1];
        let dominant = dominant_joints(&model.weights, NUM_JOINTS);
        Self {
            features: face_features(model, &dominant, head),
            dominant,
            rest: model
                .v_template
                .chunks_exact(3)
                .map(|c| [c[0], c[1], c[2]])
                .collect(),
            head,
            eye_level,
            head_height: (eye_level - head[1]).abs().max(0.02),
        }
    }

    /// The dominant skinning joint of each vertex.
    pub fn dominant(&self) -> &[usize] {
        &self.dominant
    }
}

impl Outfit {
    /// One colour per vertex of the model `parts` was made from.
    pub fn vertex_colors(&self, parts: &BodyParts) -> Vec<[f32; 3]> {
        parts
            .dominant
            .iter()
            .zip(&parts.rest)
            .zip(&parts.features)
            .map(|((&j, &p), feature)| match feature {
                Some(f) => self.feature_color(*f),
                None => self.part_color(j, p, parts.head, parts.eye_level, parts.head_height),
            })
            .collect()
    }

    fn feature_color(&self, feature: FaceFeature) -> [f32; 3] {
        let [r, g, b] = self.skin;
        match feature {
            // Brows are hair; a bald head still has dark brows.
            FaceFeature::Brow if self.has_hair => self.hair.map(|c| 0.8 * c),
            FaceFeature::Brow => [0.12, 0.08, 0.06],
            FaceFeature::Eye => [0.06, 0.05, 0.05],
            FaceFeature::Lip => [0.85 * r, 0.5 * g, 0.5 * b],
            FaceFeature::Mouth => [0.25, 0.06, 0.06],
        }
    }

    fn part_color(
        &self,
        joint: usize,
        p: [f32; 3],
        head: [f32; 3],
        eye_level: f32,
        head_height: f32,
    ) -> [f32; 3] {
        use idx::*;
        match joint {
            HEAD | JAW | LEFT_EYE_SMPLHF | RIGHT_EYE_SMPLHF => {
                // Above the brow, or behind the head's centre above the ears.
                let above = p[1] > eye_level + 0.5 * head_height;
                let behind = p[2] < head[2] - 0.02 && p[1] > head[1] - 0.3 * head_height;
                if self.has_hair && (above || behind) {
                    self.hair
                } else {
                    self.skin
                }
            }
            NECK => self.skin,
            PELVIS | LEFT_HIP | RIGHT_HIP => self.bottom,
            LEFT_KNEE | RIGHT_KNEE if self.long_legs => self.bottom,
            LEFT_KNEE | RIGHT_KNEE => self.skin,
            LEFT_ANKLE | RIGHT_ANKLE | LEFT_FOOT | RIGHT_FOOT => self.shoes,
            SPINE1 | SPINE2 | SPINE3 | LEFT_COLLAR | RIGHT_COLLAR | LEFT_SHOULDER
            | RIGHT_SHOULDER => self.top,
            LEFT_ELBOW | RIGHT_ELBOW if self.long_sleeves => self.top,
            _ => self.skin, // forearms, wrists and fingers
        }
    }
}

/// Which face feature each vertex lies in: the front of the head seen along
/// the rest pose's view axis (+z), tested against the landmarks' outlines
/// (static landmarks in the reference order: brows 0–9, eyes 19–30, outer
/// lip 31–42, inner lip 43–50).
fn face_features(
    model: &SmplxData,
    dominant: &[usize],
    head: [f32; 3],
) -> Vec<Option<FaceFeature>> {
    let v = model.num_vertices();
    let mut features = vec![None; v];
    let landmarks: Vec<[f32; 3]> = (0..model.lmk_faces_idx.len())
        .filter_map(|l| {
            let tri = model.faces.get(model.lmk_faces_idx[l] as usize)?;
            let bary = model.lmk_bary_coords.get(l * 3..l * 3 + 3)?;
            let mut p = [0f32; 3];
            for (corner, w) in tri.iter().zip(bary) {
                let c = model
                    .v_template
                    .get(*corner as usize * 3..*corner as usize * 3 + 3)?;
                (0..3).for_each(|k| p[k] += w * c[k]);
            }
            Some(p)
        })
        .collect();
    if landmarks.len() != crate::smplx::data::NUM_STATIC_LANDMARKS {
        return features; // no usable landmark embedding: a plain head
    }
    let outline = |range: std::ops::RangeInclusive<usize>| -> Vec<[f32; 2]> {
        range.map(|l| [landmarks[l][0], landmarks[l][1]]).collect()
    };
    let (right_eye, left_eye) = (outline(19..=24), outline(25..=30));
    let (outer_lip, inner_lip) = (outline(31..=42), outline(43..=50));
    let brows = [outline(0..=4), outline(5..=9)];
    // Only the skin in front of the face's landmarks (not the back of the head).
    let front = landmarks.iter().map(|p| p[2]).fold(f32::INFINITY, f32::min) - 0.02;
    for (i, feature) in features.iter_mut().enumerate() {
        let p = &model.v_template[i * 3..i * 3 + 3];
        let on_head = matches!(
            dominant[i],
            idx::HEAD | idx::JAW | idx::LEFT_EYE_SMPLHF | idx::RIGHT_EYE_SMPLHF
        );
        if !on_head || p[2] < front || p[2] < head[2] {
            continue;
        }
        let q = [p[0], p[1]];
        *feature = if inside(&q, &right_eye) || inside(&q, &left_eye) {
            Some(FaceFeature::Eye)
        } else if inside(&q, &inner_lip) {
            Some(FaceFeature::Mouth)
        } else if inside(&q, &outer_lip) || near_polygon(&q, &outer_lip, 0.0015) {
            Some(FaceFeature::Lip)
        } else if brows.iter().any(|b| near_polyline(&q, b, 0.0035)) {
            Some(FaceFeature::Brow)
        } else {
            None
        };
    }
    features
}

/// Even–odd point-in-polygon test.
fn inside(q: &[f32; 2], polygon: &[[f32; 2]]) -> bool {
    let mut odd = false;
    for (a, b) in polygon.iter().zip(polygon.iter().cycle().skip(1)) {
        if (a[1] > q[1]) != (b[1] > q[1]) {
            let x = a[0] + (q[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]);
            if q[0] < x {
                odd = !odd;
            }
        }
    }
    odd
}

fn segment_distance(q: &[f32; 2], a: &[f32; 2], b: &[f32; 2]) -> f32 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let t = (((q[0] - a[0]) * dx + (q[1] - a[1]) * dy) / (dx * dx + dy * dy).max(1e-12))
        .clamp(0.0, 1.0);
    ((q[0] - a[0] - t * dx).powi(2) + (q[1] - a[1] - t * dy).powi(2)).sqrt()
}

fn near_polyline(q: &[f32; 2], line: &[[f32; 2]], r: f32) -> bool {
    line.windows(2)
        .any(|w| segment_distance(q, &w[0], &w[1]) < r)
}

fn near_polygon(q: &[f32; 2], polygon: &[[f32; 2]], r: f32) -> bool {
    polygon
        .iter()
        .zip(polygon.iter().cycle().skip(1))
        .any(|(a, b)| segment_distance(q, a, b) < r)
}

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

pub mod software;

#[cfg(test)]
mod tests;
