//! Offscreen colour + depth targets read back to the host ([`RenderTarget`];
//! blocking natively, awaited in the browser), and natively a headless
//! device ([`Gpu`]) with the renderer that draws into one ([`OffscreenRenderer`]).

use super::gpu::texture_2d;
#[cfg(not(target_family = "wasm"))]
use super::{Frame, MeshRenderer, Scene};
use super::{RenderError, COLOR_FORMAT, DEPTH_FORMAT};

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
    pub(super) renderer: MeshRenderer,
    pub(super) target: RenderTarget,
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
