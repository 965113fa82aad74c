//! The mannequin's surface: its shapes, and how its tubes join into one
//! closed, genus-0 surface.
//!
//! - [`trunk`]: the head is a dome of latitude rings traced from inside the
//!   skull, closed by a pole on the crown; the neck and torso continue it in
//!   horizontal rings down to the crotch, where a bridge of vertices splits
//!   the last ring into the two legs' first loops.
//! - [`arm`]: each arm grows out of a hole cut in the side of the chest and
//!   runs on to the finger webs, where bridges split the palm's last ring
//!   into the four fingers; the thumb grows out of a hole cut in the ball of
//!   the thumb.
//! - [`leg`]: each leg runs from the crotch into a hole cut in the top of its
//!   foot; the foot runs from a pole at the heel to a ridge across the toes.
//!
//! Each tube is traced onto its own signed-distance shape; tubes that meet
//! share the primitives around the junction, so they agree there. The left
//! limbs are built and then mirrored, so the body is exactly symmetric.

mod arm;
mod leg;
mod trunk;

use super::geom::V3;
use super::mesh::Mesh;
use super::skeleton::Skeleton;

/// Scales every target edge length. The tubes are designed to land a
/// little under the official vertex count; edge splits add the rest.
const DENSITY: f64 = 1.0;

/// Builds the whole closed surface (without the spare vertices).
pub fn build(sk: &Skeleton) -> Mesh {
    let mut mesh = Mesh::default();
    let joins = trunk::build(&mut mesh);

    let (v0, f0) = (mesh.pos.len(), mesh.faces.len());
    arm::build(&mut mesh, sk, joins.left_arm);
    mesh.mirror_subtree(v0, f0);

    let (v0, f0) = (mesh.pos.len(), mesh.faces.len());
    leg::build(&mut mesh, sk, joins.left_leg);
    mesh.mirror_subtree(v0, f0);

    mesh.compact();
    mesh
}

/// A limb tube's angle-0 direction: "up", made normal to the tube.
fn up_for(dir: V3) -> V3 {
    V3::Y.reject(dir).norm()
}
