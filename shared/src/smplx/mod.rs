//! The SMPL-X body model: file layout, joint tables, parameters, the
//! differentiable forward pass and the procedural stand-in mannequin.

pub mod data;
pub mod joints;
pub mod layer;
pub mod mannequin;
pub mod params;

pub use data::SmplxData;
pub use layer::{Smplx, SmplxConfig, SmplxInput, SmplxOutput};
pub use params::{Batching, ParamWidths, SmplxParams, SmplxSequence};
