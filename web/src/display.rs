//! The WebGPU device set-up (shared by Burn's kernels and the renderer), and
//! where frames are drawn: a 2D canvas filled by the shared wgpu renderer
//! (offscreen, read back asynchronously) or by the shared CPU rasteriser.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use furpe::render::{software, MeshRenderer, RenderError, RenderTarget, Scene};
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

/// A canvas that shows rendered scenes, in a 2D context: drawn by the shared
/// CPU rasteriser ([`software::render`]), or by the shared wgpu renderer
/// ([`MeshRenderer`]) into an offscreen texture that is read back
/// asynchronously ([`Display::submit_gpu`], then [`Display::put`]).
///
/// Why not a WebGPU canvas surface: in Chromium 156 (SwiftShader adapter)
/// the first frame presented through a wgpu 29 canvas surface is followed by
/// the device being lost ("Device was destroyed" / "A valid external
/// Instance reference no longer exists"), which also takes Burn's network
/// down with it. Drawing offscreen and copying the pixels into a 2D canvas
/// never presents, and keeps the one device for the network and the drawing.
pub struct Display {
    canvas: HtmlCanvasElement,
    context: web_sys::CanvasRenderingContext2d,
    /// The offscreen target of the GPU drawer (made at the first GPU frame,
    /// remade when the size changes).
    target: Option<RenderTarget>,
    /// The target's readback: idle, in flight (its buffer must not be
    /// mapped twice) or abandoned (in flight, but nobody waits for it: the
    /// next frame draws into a new target).
    reading: Rc<Cell<Readback>>,
}

#[derive(Clone, Copy, PartialEq)]
enum Readback {
    Idle,
    InFlight,
    Abandoned,
}

/// A frame drawn on the GPU whose pixels are on their way back.
pub struct PendingFrame {
    width: u32,
    height: u32,
    read: Pin<Box<dyn Future<Output = Result<Vec<u8>, RenderError>>>>,
    reading: Rc<Cell<Readback>>,
}

impl PendingFrame {
    /// The frame's RGBA pixels, once the device has copied them (awaits,
    /// never blocks).
    pub async fn pixels(mut self) -> Result<(Vec<u8>, u32, u32), String> {
        let result = (&mut self.read).await;
        self.reading.set(Readback::Idle);
        let rgba = result.map_err(|e| e.to_string())?;
        Ok((rgba, self.width, self.height))
    }
}

impl Drop for PendingFrame {
    fn drop(&mut self) {
        // Dropped unread (an error elsewhere): the mapping completes on its
        // own, so this target's buffer stays busy; the next frame gets a
        // new target.
        if self.reading.get() == Readback::InFlight {
            self.reading.set(Readback::Abandoned);
        }
    }
}

impl Display {
    pub fn new(canvas: HtmlCanvasElement) -> Result<Self, String> {
        let context = canvas
            .get_context("2d")
            .ok()
            .flatten()
            .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
            .ok_or("this canvas has no 2D context (is it already used for WebGPU?)")?;
        Ok(Self {
            canvas,
            context,
            target: None,
            reading: Rc::new(Cell::new(Readback::Idle)),
        })
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

    /// Draws `scene` with the CPU rasteriser (its view must match
    /// [`Self::size`]).
    pub fn draw(&mut self, scene: &Scene) -> Result<(), String> {
        let frame = software::render(scene).map_err(|e| e.to_string())?;
        self.put(&frame.rgba, frame.width, frame.height)
    }

    /// Draws `scene` with the shared wgpu renderer into this display's
    /// offscreen target, submits the work and the copy of the pixels, and
    /// returns without waiting: await [`PendingFrame::pixels`], then
    /// [`Self::put`] them. Holds no borrow across the wait.
    pub fn submit_gpu(
        &mut self,
        gpu: &Gpu,
        renderer: &mut MeshRenderer,
        scene: &Scene,
    ) -> Result<PendingFrame, String> {
        let (width, height) = (scene.view.width, scene.view.height);
        match self.reading.get() {
            Readback::InFlight => {
                return Err("the previous frame of this view is still being read back".into())
            }
            Readback::Abandoned => {
                self.target = None;
                self.reading.set(Readback::Idle);
            }
            Readback::Idle => {}
        }
        if self.target.as_ref().map(RenderTarget::size) != Some((width, height)) {
            self.target = Some(RenderTarget::new(&gpu.device, width, height));
        }
        let target = self.target.as_ref().ok_or("no render target")?;
        let mut encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("furpe page frame"),
            });
        renderer
            .draw(
                &gpu.device,
                &gpu.queue,
                &mut encoder,
                target.color_view(),
                target.depth_view(),
                scene,
            )
            .map_err(|e| e.to_string())?;
        target.encode_color_readback(&mut encoder);
        gpu.queue.submit([encoder.finish()]);
        self.reading.set(Readback::InFlight);
        Ok(PendingFrame {
            width,
            height,
            read: Box::pin(target.read_color()),
            reading: self.reading.clone(),
        })
    }

    /// Shows RGBA pixels (`width × height`) in the canvas.
    pub fn put(&self, rgba: &[u8], width: u32, height: u32) -> Result<(), String> {
        let data = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
            wasm_bindgen::Clamped(rgba),
            width,
            height,
        )
        .map_err(|e| format!("ImageData: {e:?}"))?;
        self.context
            .put_image_data(&data, 0.0, 0.0)
            .map_err(|e| format!("putImageData: {e:?}"))
    }
}
