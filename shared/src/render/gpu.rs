//! The wgpu mesh renderer (feature `render`): pipelines and buffers created
//! once per colour format ([`MeshRenderer`]), drawing into any colour and
//! depth view; `offscreen` holds the targets read back to the host.

use std::borrow::Cow;

use super::{Background, MeshData, RenderError, Scene, MAX_LIGHTS};

/// Colour format of [`RenderTarget`](super::RenderTarget): 8-bit RGBA, no
/// sRGB conversion (shaded colours are written as computed).
pub const COLOR_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
/// Depth format every view passed to [`MeshRenderer::draw`] must have.
pub const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;

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
pub(super) fn texture_2d(
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
