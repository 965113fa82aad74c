//! FuRPE core: the SMPL-X body model, rotation maths, cameras, keypoint
//! formats and the networks (backbones, regressor, part experts), on Burn.
//! Compiles natively and for `wasm32-unknown-unknown`; the trainer and the
//! browser both build on it. Checkpoint import needs the `import` feature.

pub mod baseline;
pub mod benchmarks;
pub mod camera;
pub mod crop;
pub mod dataset;
pub mod experts;
pub mod filter;
pub mod fit;
pub mod glb;
pub mod inference;
pub mod io;
pub mod keypoints;
pub mod losses;
pub mod mediapipe;
pub mod mesh;
pub mod metrics;
pub mod multiview;
pub mod nets;
pub mod npz;
pub mod pickle;
pub mod pseudo;
pub mod readback;
pub mod render;
pub mod rotation;
pub mod selection;
pub mod smplx;
pub mod tflite;
pub mod tracking;
