//! FuRPE in the browser: the WebAssembly side of the live webcam page
//! (`www/index.html`) and of the embeddable viewer (`<furpe-viewer>`,
//! `www/furpe-viewer.js`).
//!
//! This crate only adapts the library to the browser: JS hands it video
//! frames, files and canvases; it answers with stats, bytes and pixels. The
//! crop, the student, the body model, smoothing, rendering and the GLB
//! writer all live in `furpe` (`shared/`). Everything here is async where
//! the GPU is involved: WebGPU devices are requested asynchronously and
//! tensors are read with `into_data_async` (a synchronous read panics in
//! wasm). Without WebGPU (no `navigator.gpu`, or no adapter) the same code
//! runs on Burn's flex CPU backend (SIMD128) and the CPU rasteriser.
//!
//! The browser code only exists on wasm32; natively the crate is empty so
//! `cargo test --workspace` does not build web-only APIs.

#[cfg(target_family = "wasm")]
mod accuracy;
#[cfg(target_family = "wasm")]
mod display;
#[cfg(target_family = "wasm")]
mod finder;
#[cfg(target_family = "wasm")]
mod live;
#[cfg(target_family = "wasm")]
mod viewer;

#[cfg(target_family = "wasm")]
pub use accuracy::{body_joints, pa_mpjpe_mm};
#[cfg(target_family = "wasm")]
pub use finder::PersonFinder;
#[cfg(target_family = "wasm")]
pub use live::{gpu_selftest, LiveEngine};
#[cfg(target_family = "wasm")]
pub use viewer::Viewer;

#[cfg(target_family = "wasm")]
mod browser {
    use wasm_bindgen::prelude::*;

    /// Runs once when the module loads: Rust panics go to the console with
    /// their message instead of an opaque "unreachable".
    #[wasm_bindgen(start)]
    pub fn start() {
        console_error_panic_hook::set_once();
    }

    /// The crate version, shown in the page footer.
    #[wasm_bindgen]
    pub fn version() -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }
}

/// Milliseconds from the page's clock (`performance.now()`), in the page
/// and in a worker (which has no `window`).
#[cfg(target_family = "wasm")]
pub(crate) fn now() -> f64 {
    use wasm_bindgen::JsCast;
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| p.dyn_into::<web_sys::Performance>().ok())
        .map_or(0.0, |p| p.now())
}

/// A Rust error message as a JS `Error`, so pages can show `e.message`.
#[cfg(target_family = "wasm")]
pub(crate) fn js_error(message: impl std::fmt::Display) -> wasm_bindgen::JsValue {
    js_sys::Error::new(&message.to_string()).into()
}
