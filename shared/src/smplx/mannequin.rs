//! Procedural stand-in for the licensed SMPL-X model (in progress).

use super::SmplxData;

/// The embedded default body model.
pub fn mannequin() -> SmplxData {
    unimplemented!("mannequin generator is being written")
}
