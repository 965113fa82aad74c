//! A mirror-aware triangle-mesh builder for closed surfaces made of tubes
//! (see [`super::tube`]).
//!
//! Tubes meet in two ways, both of which keep the surface closed: a tube
//! grows out of the boundary of a hole cut in another ([`Mesh::cut_hole`]:
//! arms, thumbs, the legs into the feet), or a ring is split into two loops
//! by a bridge of new vertices across it ([`split_loop`]: the crotch, the
//! finger webs). Bands between loops are triangulated by merging the loops
//! in step ([`Mesh::stitch_by_angle`] and friends).
//!
//! Every loop handed from one tube to the next runs counter-clockwise about
//! the direction the surface continues in; with that one convention all
//! triangles face outward. The left half of the body is built and the right
//! half is its mirror image, so every vertex knows its mirror partner.

use std::collections::{HashMap, HashSet};
use std::f64::consts::TAU;

use super::geom::{v3, V3};

/// Marks a deleted face or an unknown mirror partner.
pub const NONE: u32 = u32::MAX;

/// The five digits, in the order SMPL-X lists their joints per hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Digit {
    Index,
    Middle,
    Pinky,
    Ring,
    Thumb,
}

impl Digit {
    pub const ALL: [Digit; 5] = [
        Digit::Index,
        Digit::Middle,
        Digit::Pinky,
        Digit::Ring,
        Digit::Thumb,
    ];

    /// Position in SMPL-X's hand joint order (index, middle, pinky, ring, thumb).
    pub fn order(self) -> usize {
        self as usize
    }
}

/// Which body segment a vertex was generated for (not `metrics::Part`,
/// the scoring split, nor `part_expert::ExpertKind`); the rig uses it to choose
/// the joints that may move the vertex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Segment {
    /// Head, neck, torso and pelvis (one tube from the crown to the crotch).
    Trunk,
    /// Shoulder to the wrist.
    Arm,
    /// The hand from the wrist to the finger webs.
    Palm,
    Finger(Digit),
    Leg,
    Foot,
    /// Not on the surface (padding up to the official vertex count).
    Spare,
}

#[derive(Clone, Debug, Default)]
pub struct Mesh {
    pub pos: Vec<V3>,
    pub part: Vec<Segment>,
    /// Mirror partner of each vertex (itself on the midline).
    pub mirror: Vec<u32>,
    /// Triangles, counter-clockwise seen from outside; `[NONE; 3]` = deleted.
    pub faces: Vec<[u32; 3]>,
}

impl Mesh {
    pub fn add_vertex(&mut self, p: V3, part: Segment) -> u32 {
        self.pos.push(p);
        self.part.push(part);
        self.mirror.push(NONE);
        (self.pos.len() - 1) as u32
    }

    /// A vertex on the plane of symmetry (its own mirror image).
    pub fn add_midline_vertex(&mut self, p: V3, part: Segment) -> u32 {
        let v = self.add_vertex(v3(0.0, p.y, p.z), part);
        self.mirror[v as usize] = v;
        v
    }

    pub fn tri(&mut self, a: u32, b: u32, c: u32) {
        self.faces.push([a, b, c]);
    }

    /// Triangulates the band between chain `a` and the chain `b` that lies
    /// after it along the surface's direction. Keys give each vertex's
    /// position along its chain (increasing); the merge keeps them in step.
    pub fn stitch(&mut self, a: &[u32], ka: &[f64], b: &[u32], kb: &[f64]) {
        let (mut i, mut j) = (0, 0);
        while i + 1 < a.len() || j + 1 < b.len() {
            let advance_a = if i + 1 == a.len() {
                false
            } else if j + 1 == b.len() {
                true
            } else if (ka[i + 1] - kb[j + 1]).abs() > 1e-9 {
                ka[i + 1] < kb[j + 1]
            } else {
                // A tie: take the shorter diagonal.
                let pa = self.pos[a[i + 1] as usize].dist(self.pos[b[j] as usize]);
                let pb = self.pos[a[i] as usize].dist(self.pos[b[j + 1] as usize]);
                pa <= pb
            };
            if advance_a {
                self.tri(a[i], a[i + 1], b[j]);
                i += 1;
            } else {
                self.tri(a[i], b[j + 1], b[j]);
                j += 1;
            }
        }
    }

    /// [`Mesh::stitch`] for two closed loops, keys in [0, 1).
    pub fn stitch_loops(&mut self, a: &[u32], ka: &[f64], b: &[u32], kb: &[f64]) {
        let close = |ids: &[u32], keys: &[f64]| {
            let mut ids = ids.to_vec();
            let mut keys = keys.to_vec();
            ids.push(ids[0]);
            keys.push(keys[0] + 1.0);
            (ids, keys)
        };
        let (a, ka) = close(a, ka);
        let (b, kb) = close(b, kb);
        self.stitch(&a, &ka, &b, &kb);
    }

    /// Stitches two loops that need not have matching vertices (a hole or a
    /// split loop to a tube's first ring), pairing vertices by their angle
    /// about `axis` through `center`.
    pub fn stitch_by_angle(&mut self, a: &[u32], b: &[u32], center: V3, axis: V3, e1: V3) {
        let (a, ka) = self.angle_keys(a, center, axis, e1);
        let (b, kb) = self.angle_keys(b, center, axis, e1);
        self.stitch_loops(&a, &ka, &b, &kb);
    }

    /// A loop rotated to start at its smallest angle, with monotone keys.
    fn angle_keys(&self, ids: &[u32], center: V3, axis: V3, e1: V3) -> (Vec<u32>, Vec<f64>) {
        let e2 = axis.cross(e1);
        let turn = |v: u32| {
            let q = self.pos[v as usize] - center;
            q.dot(e2).atan2(q.dot(e1)).rem_euclid(TAU) / TAU
        };
        let first = (0..ids.len())
            .min_by(|&i, &j| turn(ids[i]).total_cmp(&turn(ids[j])))
            .unwrap_or(0);
        let ids: Vec<u32> = ids[first..].iter().chain(&ids[..first]).copied().collect();
        let mut keys: Vec<f64> = ids.iter().map(|&v| turn(v)).collect();
        // A loop that is not quite star-shaped about the axis may step back a
        // little; clamping keeps the merge well defined.
        for i in 1..keys.len() {
            keys[i] = keys[i].max(keys[i - 1]);
        }
        (ids, keys)
    }

    /// Deletes the faces in `range` whose three vertices satisfy `inside`,
    /// and returns the hole's boundary, counter-clockwise seen from outside
    /// (the direction a tube growing out of the hole needs).
    pub fn cut_hole(
        &mut self,
        range: std::ops::Range<usize>,
        inside: impl Fn(V3) -> bool,
    ) -> Vec<u32> {
        let mut edges = Vec::new();
        for f in range {
            let t = self.faces[f];
            if t[0] != NONE && t.iter().all(|&v| inside(self.pos[v as usize])) {
                edges.extend([(t[0], t[1]), (t[1], t[2]), (t[2], t[0])]);
                self.faces[f] = [NONE; 3];
            }
        }
        let all: HashSet<(u32, u32)> = edges.iter().copied().collect();
        let next: HashMap<u32, u32> = edges
            .iter()
            .copied()
            .filter(|&(a, b)| !all.contains(&(b, a)))
            .collect();
        let start = *next.keys().min().expect("hole region contains no face");
        let mut boundary = vec![start];
        let mut v = next[&start];
        while v != start {
            boundary.push(v);
            v = next[&v];
        }
        assert_eq!(boundary.len(), next.len(), "hole region is not a disk");
        boundary
    }

    /// Copies the left-side subtree built from vertex `v_from` and face
    /// `f_from` onward to the right side. Its faces are reflected (and so
    /// re-wound); vertices it shares with older geometry map to their mirror
    /// partners, which must be known.
    pub fn mirror_subtree(&mut self, v_from: usize, f_from: usize) {
        let (v_to, f_to) = (self.pos.len(), self.faces.len());
        for v in v_from..v_to {
            let m = self.add_vertex(self.pos[v].mirror(), self.part[v]);
            self.mirror[v] = m;
            self.mirror[m as usize] = v as u32;
        }
        for f in f_from..f_to {
            let t = self.faces[f];
            if t[0] == NONE {
                continue;
            }
            let m = |v: u32| {
                let w = self.mirror[v as usize];
                assert_ne!(w, NONE, "vertex {v} has no mirror partner");
                w
            };
            let face = [m(t[0]), m(t[2]), m(t[1])];
            self.faces.push(face);
        }
    }

    /// Drops deleted faces and the vertices no face uses any more.
    pub fn compact(&mut self) {
        self.faces.retain(|t| t[0] != NONE);
        let mut remap = vec![NONE; self.pos.len()];
        for t in &self.faces {
            for &v in t {
                remap[v as usize] = 0;
            }
        }
        let mut n = 0;
        for r in remap.iter_mut() {
            if *r == 0 {
                *r = n;
                n += 1;
            }
        }
        let keep = |i: usize| remap[i] != NONE;
        let pos = (0..self.pos.len())
            .filter(|&i| keep(i))
            .map(|i| self.pos[i])
            .collect();
        let part = (0..self.pos.len())
            .filter(|&i| keep(i))
            .map(|i| self.part[i])
            .collect();
        let mirror = (0..self.pos.len())
            .filter(|&i| keep(i))
            .map(|i| {
                let m = remap[self.mirror[i] as usize];
                assert_ne!(m, NONE, "a vertex is used but its mirror is not");
                m
            })
            .collect();
        self.pos = pos;
        self.part = part;
        self.mirror = mirror;
        for t in self.faces.iter_mut() {
            *t = t.map(|v| remap[v as usize]);
        }
    }

    /// Adds vertices by splitting the longest edges (in mirror pairs, so the
    /// body stays symmetric) until there are exactly `target`: this tops the
    /// surface up to the official vertex count without changing its shape.
    /// `allow` says which vertices' edges may be split.
    pub fn grow_to(&mut self, target: usize, allow: impl Fn(Segment, V3) -> bool) {
        assert!(
            self.pos.len() <= target,
            "surface already has {} vertices, more than {target}",
            self.pos.len()
        );
        while self.pos.len() < target {
            let need = target - self.pos.len();
            let owner: HashMap<(u32, u32), usize> = self
                .faces
                .iter()
                .enumerate()
                .flat_map(|(f, t)| [((t[0], t[1]), f), ((t[1], t[2]), f), ((t[2], t[0]), f)])
                .collect();
            let mut edges: Vec<(u32, u32)> = owner
                .keys()
                .copied()
                .filter(|&(a, b)| {
                    let ok = |v: u32| allow(self.part[v as usize], self.pos[v as usize]);
                    a < b && ok(a) && ok(b)
                })
                .collect();
            let len = |e: &(u32, u32)| self.pos[e.0 as usize].dist(self.pos[e.1 as usize]);
            edges.sort_by(|e, f| len(f).total_cmp(&len(e)).then(e.cmp(f)));
            let mut touched = HashSet::new();
            let mut added = 0;
            for (a, b) in edges {
                let (ma, mb) = (self.mirror[a as usize], self.mirror[b as usize]);
                let self_mirror = (ma == a && mb == b) || (ma == b && mb == a);
                // An odd shortfall needs one edge that is its own mirror image.
                if self_mirror != (need - added == 1) {
                    continue;
                }
                let mut faces = vec![owner[&(a, b)], owner[&(b, a)]];
                if !self_mirror {
                    faces.extend([owner[&(ma, mb)], owner[&(mb, ma)]]);
                }
                let distinct: HashSet<usize> = faces.iter().copied().collect();
                if distinct.len() != faces.len() || faces.iter().any(|f| touched.contains(f)) {
                    continue;
                }
                touched.extend(faces.iter().copied());
                let m = self.split_edge(a, b, owner[&(a, b)], owner[&(b, a)]);
                if self_mirror {
                    self.mirror[m as usize] = m;
                    added += 1;
                } else {
                    let mm = self.split_edge(ma, mb, owner[&(ma, mb)], owner[&(mb, ma)]);
                    self.mirror[m as usize] = mm;
                    self.mirror[mm as usize] = m;
                    added += 2;
                }
                if added == need {
                    break;
                }
            }
            assert!(added > 0, "no edge left to split");
        }
    }

    /// Splits edge a→b (in face `f1`; b→a is in `f2`) at its midpoint.
    fn split_edge(&mut self, a: u32, b: u32, f1: usize, f2: usize) -> u32 {
        let mid = (self.pos[a as usize] + self.pos[b as usize]) * 0.5;
        let mid = if self.mirror[a as usize] == b {
            v3(0.0, mid.y, mid.z)
        } else {
            mid
        };
        let m = self.add_vertex(mid, self.part[a as usize]);
        let c = third(self.faces[f1], a, b);
        let d = third(self.faces[f2], b, a);
        self.faces[f1] = [a, m, c];
        self.faces.push([m, b, c]);
        self.faces[f2] = [b, m, d];
        self.faces.push([m, a, d]);
        m
    }
}

/// The vertex of triangle `t` that follows the directed edge a→b.
fn third(t: [u32; 3], a: u32, b: u32) -> u32 {
    (0..3)
        .find(|&i| t[i] == a && t[(i + 1) % 3] == b)
        .map(|i| t[(i + 2) % 3])
        .expect("edge not in face")
}

/// Splits a closed loop into two by a bridge of vertices running from
/// `lp[p]` to `lp[q]`. The first loop is `lp[p..=q]` closed by the bridge,
/// the second the rest; both keep the loop's direction, and each uses the
/// bridge once in each direction, so the surface stays closed.
pub fn split_loop(lp: &[u32], p: usize, q: usize, bridge: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let walk = |from: usize, to: usize| {
        let mut out = Vec::new();
        let mut i = from;
        loop {
            out.push(lp[i]);
            if i == to {
                return out;
            }
            i = (i + 1) % lp.len();
        }
    };
    let mut first = walk(p, q);
    first.extend(bridge.iter().rev());
    let mut second = walk(q, p);
    second.extend(bridge);
    (first, second)
}
