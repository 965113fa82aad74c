//! Tubes: stacks of vertex rings traced onto a shape around a skeletal axis.
//!
//! A ring's vertices are where rays from the axis leave the tube's
//! signed-distance shape. Rings are spaced, and each ring's vertices are
//! spaced, by a target edge length that varies over the body, so detail goes
//! where it is needed. A tube starts at a pole or from a loop handed over by
//! another tube, and ends at a pole, a ridge, an open ring (for the caller
//! to split) or a loop it runs into.

use std::f64::consts::{FRAC_PI_2, PI, TAU};

use super::geom::{lerp, v3, V3};
use super::mesh::{Mesh, Segment};
use super::sdf::Shape;

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
    pub part: Segment,
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
