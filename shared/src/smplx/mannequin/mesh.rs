//! A mirror-aware triangle-mesh builder for closed tube surfaces.
//!
//! The body is one closed, genus-0 surface made of *tubes*: stacks of vertex
//! rings around a skeletal axis, closed by a pole vertex or joined to other
//! tubes. Tubes meet in two ways, both of which keep the surface closed:
//! a child starts from the boundary of a hole cut in its parent
//! ([`Mesh::cut_hole`]), or a ring is split into two loops by a bridge of new
//! vertices across it ([`split_loop`]: crotch, thumb web, finger webs).
//!
//! Every loop handed from one tube to the next runs counter-clockwise about
//! the direction the surface continues in; with that single convention all
//! triangles face outward. The left half of the body is built and the right
//! half is its mirror image, so every vertex knows its mirror partner.

use std::collections::{HashMap, HashSet};
use std::f64::consts::{FRAC_PI_2, PI, TAU};

use super::geom::{lerp, v3, V3};
use super::sdf::Shape;

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

/// Which body part a vertex was generated for; the rig uses it to choose
/// the joints that may move the vertex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// Head, neck, torso and pelvis (one tube from the crown to the crotch).
    Trunk,
    /// Shoulder to the heel of the hand.
    Arm,
    /// Palm from the thumb web to the finger webs.
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
    pub part: Vec<Part>,
    /// Mirror partner of each vertex (itself on the midline).
    pub mirror: Vec<u32>,
    /// Triangles, counter-clockwise seen from outside; `[NONE; 3]` = deleted.
    pub faces: Vec<[u32; 3]>,
}

impl Mesh {
    pub fn add_vertex(&mut self, p: V3, part: Part) -> u32 {
        self.pos.push(p);
        self.part.push(part);
        self.mirror.push(NONE);
        (self.pos.len() - 1) as u32
    }

    /// A vertex on the plane of symmetry (its own mirror image).
    pub fn add_midline_vertex(&mut self, p: V3, part: Part) -> u32 {
        let v = self.add_vertex(v3(0.0, p.y, p.z), part);
        self.mirror[v as usize] = v;
        v
    }

    fn tri(&mut self, a: u32, b: u32, c: u32) {
        self.faces.push([a, b, c]);
    }

    /// Triangulates the band between chain `a` and the chain `b` that lies
    /// after it along the surface's direction. Keys give each vertex's
    /// position along its chain (increasing); the merge keeps them in step.
    fn stitch(&mut self, a: &[u32], ka: &[f64], b: &[u32], kb: &[f64]) {
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
    fn stitch_loops(&mut self, a: &[u32], ka: &[f64], b: &[u32], kb: &[f64]) {
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
    pub fn grow_to(&mut self, target: usize, allow: impl Fn(Part, V3) -> bool) {
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
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

/// How a tube begins.
pub enum Start {
    /// Closed by a single vertex where the axis leaves the shape.
    Pole,
    /// Continues from a loop (counter-clockwise about the tube's direction;
    /// for a symmetric tube, laid out like its own rings).
    Loop(Vec<u32>),
}

/// How a tube ends.
pub enum End {
    Pole,
    /// Leaves its last ring open for the caller to split.
    Open,
    /// Runs into a loop (counter-clockwise about the tube's direction).
    Loop(Vec<u32>),
    /// Closed by a ridge of this many edges across the end, along the
    /// angle-0 direction: a flat, wide end (the toes) without the pinch a
    /// pole would make.
    Ridge(usize),
}

/// Where a tube's rings are traced from.
pub enum Axis {
    /// Rings in planes normal to the tube's direction, centred on this
    /// polyline (points in increasing order along the direction); a ring's
    /// position is `s = p·dir`.
    Line(Vec<V3>),
    /// Rings of rays from one centre, on cones about the tube's direction:
    /// position `s` is the polar angle from the start (`-dir`), so the
    /// rings are latitudes of a dome. Used for the head, whose nose, lips
    /// and chin overhang any set of parallel planes.
    Radial(V3),
}

/// A stack of rings around a skeletal axis. Each ring's vertices are where
/// rays from the axis leave `shape`, spaced by the target edge length
/// `spacing` (both along and around the tube), so each tube gets the vertex
/// density its detail needs.
pub struct Tube<'a> {
    pub part: Part,
    /// The way the surface runs (from the start to the end of the tube).
    pub dir: V3,
    /// In-plane direction of angle 0; angles grow counter-clockwise about `dir`.
    pub e1: V3,
    pub axis: Axis,
    pub shape: &'a Shape,
    /// Target edge length at a surface point.
    pub spacing: &'a dyn Fn(V3) -> f64,
    /// Build only the half x ≥ 0 of each ring and mirror it (for tubes on
    /// the plane of symmetry; `e1` must then be +x). Such rings start at the
    /// back centre and reach the front centre halfway round.
    pub symmetric: bool,
    /// First ring (unless the tube starts with a pole).
    pub s_first: f64,
    /// Last ring (`End::Open`), or where the end loop sits (`End::Loop`).
    pub s_last: f64,
    /// Rays per ring used to trace the cross-section.
    pub rays: usize,
    pub min_columns: usize,
    /// Fixed columns shared by all rings, instead of spacing each ring's
    /// vertices by arc length: gives a clean grid where a tube has much
    /// finer detail on one side (the face).
    pub meridians: Option<Meridians<'a>>,
    /// Positions that must carry a ring (a crease to be traced exactly).
    pub pinned: Vec<f64>,
}

/// Columns at fixed ray angles: `count` of them (per half ring if the tube
/// is symmetric), at quantiles of `density` over the angle. Rings too small
/// to need them all use every 2nd, 4th, … one.
pub struct Meridians<'a> {
    pub count: usize,
    pub density: &'a dyn Fn(f64) -> f64,
}

impl Meridians<'_> {
    fn angles(&self, symmetric: bool) -> Vec<f64> {
        let (lo, hi) = if symmetric {
            (-FRAC_PI_2, FRAC_PI_2)
        } else {
            (0.0, TAU)
        };
        let n = 2048;
        let mut cum = vec![0.0];
        for i in 0..n {
            let phi = lo + (hi - lo) * (i as f64 + 0.5) / n as f64;
            cum.push(cum[i] + (self.density)(phi));
        }
        let total = cum[n];
        let count = if symmetric {
            self.count + 1
        } else {
            self.count
        };
        (0..count)
            .map(|k| {
                let target = total * k as f64 / self.count as f64;
                let i = cum.partition_point(|&c| c < target).clamp(1, n);
                let t = (target - cum[i - 1]) / (cum[i] - cum[i - 1]);
                lo + (hi - lo) * (i as f64 - 1.0 + t) / n as f64
            })
            .collect()
    }
}

/// The rings of a built tube.
pub struct TubeRings {
    pub rings: Vec<Vec<u32>>,
    pub centers: Vec<V3>,
}

/// Longest ray: nothing in the body is wider than this from its axis.
const MAX_RADIUS: f64 = 0.5;
/// How far a tube's last ring stands behind its end ridge.
const RIDGE_SETBACK: f64 = 0.007;

impl Tube<'_> {
    fn e2(&self) -> V3 {
        self.dir.cross(self.e1)
    }

    fn s_of(&self, p: V3) -> f64 {
        p.dot(self.dir)
    }

    /// Origin of the rays of the ring at `s`.
    fn center(&self, s: f64) -> V3 {
        let axis = match &self.axis {
            Axis::Radial(c) => return *c,
            Axis::Line(axis) => axis,
        };
        let (first, last) = (axis[0], *axis.last().unwrap());
        if s <= self.s_of(first) {
            return first + self.dir * (s - self.s_of(first));
        }
        for w in axis.windows(2) {
            let (s0, s1) = (self.s_of(w[0]), self.s_of(w[1]));
            if s <= s1 {
                return w[0].lerp(w[1], (s - s0) / (s1 - s0));
            }
        }
        last + self.dir * (s - self.s_of(last))
    }

    fn ray(&self, s: f64, phi: f64) -> V3 {
        let around = self.e1 * phi.cos() + self.e2() * phi.sin();
        match self.axis {
            Axis::Line(_) => around,
            Axis::Radial(_) => -self.dir * s.cos() + around * s.sin(),
        }
    }

    /// Where the axis, continued past its first or last point, leaves the
    /// shape; and the pole's position `s`.
    fn pole(&self, at_end: bool) -> (V3, f64) {
        let (c, u) = match &self.axis {
            Axis::Radial(c) => {
                assert!(!at_end, "a radial tube has no end pole");
                (*c, -self.dir)
            }
            Axis::Line(axis) if at_end => (*axis.last().unwrap(), self.dir),
            Axis::Line(axis) => (axis[0], -self.dir),
        };
        let p = c + u * self.shape.ray_exit(c, u, MAX_RADIUS);
        let s = match self.axis {
            Axis::Radial(_) => 0.0,
            Axis::Line(_) => self.s_of(p),
        };
        (p, s)
    }

    /// Surface points of the ring at `s` along rays at angles `phis`.
    fn trace(&self, s: f64, phis: &[f64]) -> Vec<V3> {
        let c = self.center(s);
        let local = match self.axis {
            Axis::Line(_) => self.shape.near_plane(c, self.dir),
            Axis::Radial(_) => self.shape.clone(),
        };
        phis.iter()
            .map(|&phi| {
                let u = self.ray(s, phi);
                let p = c + u * local.ray_exit(c, u, MAX_RADIUS);
                if self.symmetric && (phi.abs() - FRAC_PI_2).abs() < 1e-12 {
                    v3(0.0, p.y, p.z)
                } else {
                    p
                }
            })
            .collect()
    }

    /// Ray angles: the left half-turn from back to front for a symmetric
    /// tube, the full turn otherwise.
    fn ray_angles(&self, n: usize) -> Vec<f64> {
        if self.symmetric {
            (0..=n)
                .map(|i| -FRAC_PI_2 + PI * i as f64 / n as f64)
                .collect()
        } else {
            (0..n).map(|i| TAU * i as f64 / n as f64).collect()
        }
    }

    /// Positions of the rings, spaced by the target edge length measured
    /// along the most-stretched of a few profile lines.
    fn ring_positions(
        &self,
        s_a: f64,
        s_b: f64,
        first_is_ring: bool,
        last_is_ring: bool,
    ) -> Vec<f64> {
        let probes = self.ray_angles(8);
        let samples = 400;
        let mut length = vec![0.0];
        let mut prev = self.trace(s_a, &probes);
        for i in 1..=samples {
            let s = s_a + (s_b - s_a) * i as f64 / samples as f64;
            let cur = self.trace(s, &probes);
            let h = cur
                .iter()
                .map(|&p| (self.spacing)(p))
                .fold(f64::INFINITY, f64::min);
            let steps = cur.iter().zip(&prev).map(|(a, b)| a.dist(*b));
            // Planar rings follow the most-stretched profile (sloping
            // shoulders need it); a dome follows the typical one, so that
            // a nose does not crowd rings round the whole head.
            let step = match self.axis {
                Axis::Line(_) => steps.fold(0.0, f64::max),
                Axis::Radial(_) => median(steps.collect()),
            };
            length.push(length[i - 1] + step / h);
            prev = cur;
        }
        let total = *length.last().unwrap();
        let n = (total.round() as usize).max(1);
        let at = |f: f64| {
            let target = f * total;
            let i = length.partition_point(|&l| l < target).clamp(1, samples);
            let t = (target - length[i - 1]) / (length[i] - length[i - 1]).max(1e-12);
            s_a + (s_b - s_a) * (i as f64 - 1.0 + t.clamp(0.0, 1.0)) / samples as f64
        };
        let from = if first_is_ring { 0 } else { 1 };
        let to = if last_is_ring { n } else { n - 1 };
        let mut out: Vec<f64> = (from..=to).map(|i| at(i as f64 / n as f64)).collect();
        if out.is_empty() {
            out.push(at(0.5));
        }
        for &pin in &self.pinned {
            let nearest = (0..out.len())
                .min_by(|&i, &j| (out[i] - pin).abs().total_cmp(&(out[j] - pin).abs()));
            out[nearest.unwrap()] = pin;
        }
        out
    }

    /// Weighted length (in target edge lengths) of an open or closed polyline.
    fn edge_lengths(&self, pts: &[V3], closed: bool) -> Vec<f64> {
        let n = pts.len();
        let segs = if closed { n } else { n - 1 };
        let mut cum = vec![0.0];
        for i in 0..segs {
            let (a, b) = (pts[i], pts[(i + 1) % n]);
            let w = 0.5 * (1.0 / (self.spacing)(a) + 1.0 / (self.spacing)(b));
            cum.push(cum[i] + a.dist(b) * w);
        }
        cum
    }

    /// The ring at `s` on fixed meridians, thinned by powers of two while
    /// it would still be denser than the target edge length.
    fn meridian_points(&self, s: f64, meridians: &Meridians) -> Vec<V3> {
        let phis = meridians.angles(self.symmetric);
        let pts = self.trace(s, &phis);
        let wanted = *self.edge_lengths(&pts, !self.symmetric).last().unwrap();
        let min = if self.symmetric {
            self.min_columns / 2
        } else {
            self.min_columns
        };
        let mut step = 1;
        while meridians.count.is_multiple_of(2 * step)
            && meridians.count / (2 * step) >= min
            && (meridians.count / step) as f64 > 1.4 * wanted
        {
            step *= 2;
        }
        pts.into_iter().step_by(step).collect()
    }

    /// Traces the ring at `s` and resamples it to vertices spaced by the
    /// target edge length.
    fn ring_points(&self, s: f64) -> Vec<V3> {
        if let Some(meridians) = &self.meridians {
            return self.meridian_points(s, meridians);
        }
        let pts = self.trace(s, &self.ray_angles(self.rays));
        let closed = !self.symmetric;
        let n = pts.len();
        let segs = if closed { n } else { n - 1 };
        let cum = self.edge_lengths(&pts, closed);
        let total = cum[segs];
        let min_segs = if closed {
            self.min_columns
        } else {
            self.min_columns / 2
        };
        let m = (total.round() as usize).max(min_segs);
        let count = if closed { m } else { m + 1 };
        (0..count)
            .map(|k| {
                let target = total * k as f64 / m as f64;
                let i = cum.partition_point(|&c| c < target).clamp(1, segs);
                let t = ((target - cum[i - 1]) / (cum[i] - cum[i - 1]).max(1e-15)).clamp(0.0, 1.0);
                pts[i - 1].lerp(pts[i % n], t)
            })
            .collect()
    }

    /// Adds one ring's vertices; returns them in loop order.
    fn add_ring(&self, mesh: &mut Mesh, s: f64) -> Vec<u32> {
        let pts = self.ring_points(s);
        if !self.symmetric {
            return pts
                .into_iter()
                .map(|p| mesh.add_vertex(p, self.part))
                .collect();
        }
        // Half ring from the back (x = 0) over the left side to the front,
        // then the mirror images back round the right side.
        let half = pts.len() - 1;
        let mut ring: Vec<u32> = Vec::with_capacity(2 * half);
        for (i, &p) in pts.iter().enumerate() {
            let v = if i == 0 || i == half {
                mesh.add_midline_vertex(p, self.part)
            } else {
                mesh.add_vertex(p, self.part)
            };
            ring.push(v);
        }
        for i in (1..half).rev() {
            let v = ring[i];
            let m = mesh.add_vertex(mesh.pos[v as usize].mirror(), self.part);
            mesh.mirror[v as usize] = m;
            mesh.mirror[m as usize] = v;
            ring.push(m);
        }
        ring
    }

    /// Triangulates the band between two loops. Symmetric loops are
    /// stitched on the left and the triangles mirrored, so the surface stays
    /// exactly symmetric; `angles` pairs vertices by their angle about the
    /// axis instead of by their index.
    fn band(&self, mesh: &mut Mesh, a: &[u32], b: &[u32], center: V3, angles: bool) {
        if !self.symmetric {
            if angles {
                mesh.stitch_by_angle(a, b, center, self.dir, self.e1);
            } else {
                let keys = |n: usize| (0..n).map(|i| i as f64 / n as f64).collect::<Vec<_>>();
                mesh.stitch_loops(a, &keys(a.len()), b, &keys(b.len()));
            }
            return;
        }
        let (ha, hb) = (a.len() / 2, b.len() / 2);
        let keys = |ids: &[u32], n: usize| -> Vec<f64> {
            if angles {
                // Back centre at 0, the left side at ½, front centre at 1.
                ids.iter()
                    .map(|&v| {
                        let q = mesh.pos[v as usize] - center;
                        let t = q.dot(self.e2()).atan2(q.dot(self.e1).max(0.0)) / PI + 0.5;
                        t.clamp(0.0, 1.0)
                    })
                    .scan(0.0, |m: &mut f64, t| {
                        *m = m.max(t);
                        Some(*m)
                    })
                    .collect()
            } else {
                (0..=n).map(|i| i as f64 / n as f64).collect()
            }
        };
        let (ka, kb) = (keys(&a[..=ha], ha), keys(&b[..=hb], hb));
        let first = mesh.faces.len();
        mesh.stitch(&a[..=ha], &ka, &b[..=hb], &kb);
        for f in first..mesh.faces.len() {
            let t = mesh.faces[f].map(|v| mesh.mirror[v as usize]);
            mesh.faces.push([t[0], t[2], t[1]]);
        }
    }

    fn add_pole(&self, mesh: &mut Mesh, p: V3) -> u32 {
        if self.symmetric {
            mesh.add_midline_vertex(p, self.part)
        } else {
            mesh.add_vertex(p, self.part)
        }
    }

    pub fn build(&self, mesh: &mut Mesh, start: Start, end: End) -> TubeRings {
        let start_pole = matches!(start, Start::Pole).then(|| self.pole(false));
        let end_pole = matches!(end, End::Pole).then(|| self.pole(true));
        let s_a = start_pole.map_or(self.s_first, |p| p.1);
        let s_b = match end {
            End::Pole => end_pole.unwrap().1,
            // The last ring stands a little behind the ridge.
            End::Ridge(_) => self.pole(true).1 - RIDGE_SETBACK,
            End::Open | End::Loop(_) => self.s_last,
        };
        let last_is_ring = matches!(end, End::Open | End::Ridge(_));
        let stations = self.ring_positions(s_a, s_b, start_pole.is_none(), last_is_ring);
        let rings: Vec<Vec<u32>> = stations.iter().map(|&s| self.add_ring(mesh, s)).collect();
        let centers: Vec<V3> = stations.iter().map(|&s| self.center(s)).collect();
        match start {
            Start::Pole => {
                let p = self.add_pole(mesh, start_pole.unwrap().0);
                let r = &rings[0];
                for j in 0..r.len() {
                    mesh.tri(p, r[(j + 1) % r.len()], r[j]);
                }
            }
            Start::Loop(lp) => self.band(mesh, &lp, &rings[0], centers[0], true),
        }
        for (w, &c) in rings.windows(2).zip(&centers) {
            self.band(mesh, &w[0], &w[1], c, false);
        }
        let last = rings.last().unwrap();
        match end {
            End::Pole => {
                let p = self.add_pole(mesh, end_pole.unwrap().0);
                for j in 0..last.len() {
                    mesh.tri(last[j], last[(j + 1) % last.len()], p);
                }
            }
            End::Open => {}
            End::Loop(lp) => self.band(mesh, last, &lp, *centers.last().unwrap(), true),
            End::Ridge(n) => self.close_with_ridge(mesh, last, *centers.last().unwrap(), n),
        }
        TubeRings { rings, centers }
    }

    /// Closes the tube past its last ring with a ridge of vertices where
    /// the shape ends, spanning ¾ of the ring's width along `e1`. The ridge
    /// is stitched as a loop that runs along it and back, so each of its
    /// edges is shared by a triangle from either side.
    fn close_with_ridge(&self, mesh: &mut Mesh, last: &[u32], c: V3, n: usize) {
        let reach = last
            .iter()
            .map(|&v| (mesh.pos[v as usize] - c).dot(self.e1).abs())
            .fold(0.0, f64::max)
            * 0.75;
        let ridge: Vec<u32> = (0..=n)
            .map(|i| {
                let o = c + self.e1 * lerp(reach, -reach, i as f64 / n as f64);
                let p = o + self.dir * self.shape.ray_exit(o, self.dir, MAX_RADIUS);
                mesh.add_vertex(p, self.part)
            })
            .collect();
        let lp: Vec<u32> = ridge
            .iter()
            .chain(ridge[1..n].iter().rev())
            .copied()
            .collect();
        let lp_keys: Vec<f64> = (0..lp.len()).map(|i| i as f64 / lp.len() as f64).collect();
        let ring_keys: Vec<f64> = last
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let q = mesh.pos[v as usize] - c;
                let t = q.dot(self.e2()).atan2(q.dot(self.e1)).rem_euclid(TAU) / TAU;
                if i == 0 {
                    0.0
                } else {
                    t
                }
            })
            .scan(0.0, |m: &mut f64, t| {
                *m = m.max(t);
                Some(*m)
            })
            .collect();
        mesh.stitch_loops(last, &ring_keys, &lp, &lp_keys);
    }
}
