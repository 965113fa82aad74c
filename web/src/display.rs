//! The WebGPU device set-up (shared by Burn's kernels), and where frames
//! are drawn (a 2D canvas filled by the shared CPU rasteriser).

use furpe::render::{software, Scene};
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
        // Say why, in the console, if the browser takes the device away
        // (a GPU reset, a watchdog on a slow software adapter).
        device.set_device_lost_callback(|reason, message| {
            web_sys::console::error_1(
                &format!("WebGPU device lost ({reason:?}): {message}").into(),
            );
        });
        device.on_uncaptured_error(std::sync::Arc::new(|error: wgpu::Error| {
            web_sys::console::error_1(&format!("WebGPU error: {error}").into());
        }));
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

/// A canvas that shows rendered scenes: the shared CPU rasteriser
/// ([`software::render`]) fills a 2D canvas.
///
/// Why not the shared wgpu [`furpe::render::MeshRenderer`] on a WebGPU canvas
/// surface: in Chromium 156 (SwiftShader adapter) the first frame presented
/// through a wgpu 29 canvas surface is followed by the device being lost
/// ("Device was destroyed" / "A valid external Instance reference no longer
/// exists"), which also takes Burn's network down with it. Until that is
/// understood the page draws on the CPU (a body at webcam size takes a few
/// milliseconds) and keeps WebGPU for the network and the body model.
pub struct Display {
    canvas: HtmlCanvasElement,
    context: web_sys::CanvasRenderingContext2d,
}

impl Display {
    pub fn new(canvas: HtmlCanvasElement) -> Result<Self, String> {
        let context = canvas
            .get_context("2d")
            .ok()
            .flatten()
            .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
            .ok_or("this canvas has no 2D context (is it already used for WebGPU?)")?;
        Ok(Self { canvas, context })
    }

    /// Resizes the drawing buffer (a new video size, say).
    pub fn resize(&mut self, width: u32, height: u32) {
        let (width, height) = (width.max(1), height.max(1));
        if self.size() != (width, height) {
            self.canvas.set_width(width);
            self.canvas.set_height(height);
        }
    }

    /// Pixel size of the drawing buffer.
    pub fn size(&self) -> (u32, u32) {
        (self.canvas.width().max(1), self.canvas.height().max(1))
    }

    /// Draws `scene` (its view must match [`Self::size`]).
    pub fn draw(&mut self, scene: &Scene) -> Result<(), String> {
        let frame = software::render(scene).map_err(|e| e.to_string())?;
        let data = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
            wasm_bindgen::Clamped(&frame.rgba),
            frame.width,
            frame.height,
        )
        .map_err(|e| format!("ImageData: {e:?}"))?;
        self.context
            .put_image_data(&data, 0.0, 0.0)
            .map_err(|e| format!("putImageData: {e:?}"))
    }
}
