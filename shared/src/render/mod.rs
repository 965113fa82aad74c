//! Drawing posed body meshes: a small wgpu renderer (feature `render`: the
//! synthetic world's camera, the browser's overlay) and what needs no GPU
//! (scene description, the CPU rasteriser, body colouring, keypoint overlays).
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
//!
//! Files: `scene` (what is drawn: mesh, lights, view, background; the host
//! image), `gpu` (the wgpu mesh renderer; feature `render`), `offscreen`
//! (its targets read back to the host and the headless device; feature
//! `render`), `software` (the same drawing on the CPU), `colours` (outfit
//! and face colours per vertex), `overlay` (2D keypoints and limbs into
//! RGBA).

mod colours;
#[cfg(feature = "render")]
mod gpu;
#[cfg(feature = "render")]
mod offscreen;
mod overlay;
mod scene;
pub mod software;

pub use colours::*;
#[cfg(feature = "render")]
pub use gpu::*;
#[cfg(feature = "render")]
pub use offscreen::*;
pub use overlay::*;
pub use scene::*;

#[cfg(all(test, feature = "render"))]
mod tests;
