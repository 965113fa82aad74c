//! Where frames are drawn: a WebGPU canvas through the shared
//! [`MeshRenderer`], or, without WebGPU, a 2D canvas filled by the shared
//! CPU rasteriser. Also the WebGPU device set-up, shared with Burn.

use furpe::render::{software, MeshRenderer, Scene, DEPTH_FORMAT};
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;

/// An open WebGPU device (instance and adapter kept for surfaces).
#[derive(Clone)]
pub struct Gpu {
    pub instance: wgpu::Instance,
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
}

impl Gpu {
    /// Requests a WebGPU adapter and device, asynchronously; an error (never
    /// a panic) when the browser has no WebGPU or no adapter, so the caller
    /// can fall back to the CPU.
    pub async fn open() -> Result<Self, String> {
        let has_gpu = web_sys::window()
            .map(|w| js_sys::Reflect::has(&w.navigator(), &"gpu".into()).unwrap_or(false))
            .unwrap_or(false);
        if !has_gpu {
            return Err("this browser has no WebGPU (navigator.gpu is missing)".into());
        }
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: wgpu::Backends::BROWSER_WEBGPU,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: None,
            })
            .await
            .map_err(|e| format!("no WebGPU adapter: {e}"))?;
        // What Burn's WGSL runtime asks for itself (cubecl-wgpu), so the one
        // device serves both the network and the renderer.
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("furpe"),
                required_features: adapter
                    .features()
                    .difference(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS),
                required_limits: adapter.limits(),
                memory_hints: wgpu::MemoryHints::MemoryUsage,
                trace: wgpu::Trace::Off,
                // SAFETY: Burn's runtime uses pass-through shaders only when
                // the adapter reports them; the flag just makes them legal.
                experimental_features: unsafe { wgpu::ExperimentalFeatures::enabled() },
            })
            .await
            .map_err(|e| format!("opening the WebGPU device failed: {e}"))?;
        Ok(Self {
            instance,
            adapter,
            device,
            queue,
        })
    }

    /// Adapter name and backend, for the page.
    pub fn describe(&self) -> String {
        let info = self.adapter.get_info();
        let name = if info.name.is_empty() {
            "unnamed adapter".to_string()
        } else {
            info.name
        };
        format!("WebGPU ({name})")
    }
}

/// A canvas that shows rendered scenes.
pub enum Display {
    Gpu {
        gpu: Gpu,
        surface: wgpu::Surface<'static>,
        config: wgpu::SurfaceConfiguration,
        renderer: MeshRenderer,
        depth: Option<(u32, u32, wgpu::TextureView)>,
    },
    Cpu {
        canvas: HtmlCanvasElement,
        context: web_sys::CanvasRenderingContext2d,
    },
}

impl Display {
    /// A WebGPU display when `gpu` is given, else a 2D-canvas one.
    pub fn new(canvas: HtmlCanvasElement, gpu: Option<&Gpu>) -> Result<Self, String> {
        match gpu {
            Some(gpu) => {
                let (width, height) = (canvas.width().max(1), canvas.height().max(1));
                let surface = gpu
                    .instance
                    .create_surface(wgpu::SurfaceTarget::Canvas(canvas))
                    .map_err(|e| format!("WebGPU canvas: {e}"))?;
                let config = surface
                    .get_default_config(&gpu.adapter, width, height)
                    .ok_or("the WebGPU canvas does not support this adapter")?;
                // The shaded colours are written as computed; a non-sRGB
                // format keeps the canvas identical to the CPU fallback.
                let format = config.format.remove_srgb_suffix();
                let config = wgpu::SurfaceConfiguration {
                    format,
                    view_formats: vec![format],
                    alpha_mode: wgpu::CompositeAlphaMode::Opaque,
                    ..config
                };
                surface.configure(&gpu.device, &config);
                let renderer = MeshRenderer::new(&gpu.device, format);
                Ok(Self::Gpu {
                    gpu: gpu.clone(),
                    surface,
                    config,
                    renderer,
                    depth: None,
                })
            }
            None => {
                let context = canvas
                    .get_context("2d")
                    .ok()
                    .flatten()
                    .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
                    .ok_or("this canvas has no 2D context (is it already used for WebGPU?)")?;
                Ok(Self::Cpu { canvas, context })
            }
        }
    }

    /// Resizes the drawing buffer (a new video size, say).
    pub fn resize(&mut self, canvas: &HtmlCanvasElement, width: u32, height: u32) {
        let (width, height) = (width.max(1), height.max(1));
        if self.size() == (width, height) {
            return;
        }
        canvas.set_width(width);
        canvas.set_height(height);
        if let Self::Gpu {
            gpu,
            surface,
            config,
            ..
        } = self
        {
            config.width = width;
            config.height = height;
            surface.configure(&gpu.device, config);
        }
    }

    /// Pixel size of the drawing buffer.
    pub fn size(&self) -> (u32, u32) {
        match self {
            Self::Gpu { config, .. } => (config.width, config.height),
            Self::Cpu { canvas, .. } => (canvas.width().max(1), canvas.height().max(1)),
        }
    }

    /// Draws `scene` (its view must match [`Self::size`]). Nothing blocks:
    /// the GPU path submits and presents, the CPU path rasterises and puts
    /// the pixels on the canvas.
    pub fn draw(&mut self, scene: &Scene) -> Result<(), String> {
        match self {
            Self::Gpu {
                gpu,
                surface,
                config,
                renderer,
                depth,
            } => {
                let texture = match surface.get_current_texture() {
                    wgpu::CurrentSurfaceTexture::Success(t)
                    | wgpu::CurrentSurfaceTexture::Suboptimal(t) => t,
                    other => {
                        surface.configure(&gpu.device, config);
                        return Err(format!("WebGPU canvas not ready: {other:?}"));
                    }
                };
                let (w, h) = (config.width, config.height);
                if depth.as_ref().is_none_or(|d| (d.0, d.1) != (w, h)) {
                    let tex = gpu.device.create_texture(&wgpu::TextureDescriptor {
                        label: Some("furpe canvas depth"),
                        size: wgpu::Extent3d {
                            width: w,
                            height: h,
                            depth_or_array_layers: 1,
                        },
                        mip_level_count: 1,
                        sample_count: 1,
                        dimension: wgpu::TextureDimension::D2,
                        format: DEPTH_FORMAT,
                        usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
                        view_formats: &[],
                    });
                    *depth = Some((w, h, tex.create_view(&Default::default())));
                }
                let depth_view = &depth.as_ref().ok_or("depth buffer")?.2;
                let view = texture.texture.create_view(&Default::default());
                let mut encoder = gpu.device.create_command_encoder(&Default::default());
                renderer
                    .draw(
                        &gpu.device,
                        &gpu.queue,
                        &mut encoder,
                        &view,
                        depth_view,
                        scene,
                    )
                    .map_err(|e| e.to_string())?;
                gpu.queue.submit([encoder.finish()]);
                texture.present();
                Ok(())
            }
            Self::Cpu { context, .. } => {
                let frame = software::render(scene).map_err(|e| e.to_string())?;
                let data = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
                    wasm_bindgen::Clamped(&frame.rgba),
                    frame.width,
                    frame.height,
                )
                .map_err(|e| format!("ImageData: {e:?}"))?;
                context
                    .put_image_data(&data, 0.0, 0.0)
                    .map_err(|e| format!("putImageData: {e:?}"))
            }
        }
    }
}
