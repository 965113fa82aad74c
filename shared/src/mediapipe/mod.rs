//! MediaPipe's trained body, hand and face models as FuRPE's real part
//! experts: where their files are found in the user's copy of the npm
//! package, and the pre/post-processing MediaPipe runs around them.

pub mod holistic;
pub mod openpose;
pub mod package;
pub mod pipeline;
