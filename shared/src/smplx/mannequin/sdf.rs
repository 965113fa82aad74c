//! Signed-distance shapes: the mannequin's surface is a smooth blend of
//! ellipsoids, tapered capsules and rounded boxes. Tubes of vertices are
//! wrapped onto these shapes by shooting rays from a skeletal axis
//! ([`Shape::ray_exit`]), so the shapes only decide *where* the surface is;
//! the mesh topology is decided elsewhere.

use super::geom::{v3, V3};

/// One primitive; negative inside.
#[derive(Clone, Debug)]
pub enum Prim {
    /// Axis-aligned ellipsoid.
    Ellipsoid { c: V3, r: V3 },
    /// Ellipsoid with its own orthonormal axes.
    Oriented { c: V3, axes: [V3; 3], r: V3 },
    /// Capsule whose radius goes linearly from `ra` at `a` to `rb` at `b`.
    RoundCone { a: V3, b: V3, ra: f64, rb: f64 },
    /// Box with rounded edges; `half` includes the rounding.
    RoundBox { c: V3, half: V3, round: f64 },
    /// Half-space `n·p < d` (`n` unit).
    HalfSpace { n: V3, d: f64 },
}

pub fn ellipsoid(c: V3, r: V3) -> Prim {
    Prim::Ellipsoid { c, r }
}

pub fn sphere(c: V3, r: f64) -> Prim {
    Prim::Ellipsoid { c, r: v3(r, r, r) }
}

pub fn cone(a: V3, ra: f64, b: V3, rb: f64) -> Prim {
    Prim::RoundCone { a, b, ra, rb }
}

/// Ellipsoid whose second axis (radius `r.y`) points along `up`, tilted
/// about the x axis; used for the ears.
pub fn tilted(c: V3, r: V3, up: V3) -> Prim {
    let u = up.norm();
    let w = V3::X.cross(u).norm();
    Prim::Oriented {
        c,
        axes: [V3::X, u, w],
        r,
    }
}

impl Prim {
    /// The same primitive reflected to the other side of the body.
    pub fn mirrored(&self) -> Prim {
        match *self {
            Prim::Ellipsoid { c, r } => Prim::Ellipsoid { c: c.mirror(), r },
            Prim::Oriented { c, axes, r } => Prim::Oriented {
                c: c.mirror(),
                axes: axes.map(V3::mirror),
                r,
            },
            Prim::RoundCone { a, b, ra, rb } => Prim::RoundCone {
                a: a.mirror(),
                b: b.mirror(),
                ra,
                rb,
            },
            Prim::RoundBox { c, half, round } => Prim::RoundBox {
                c: c.mirror(),
                half,
                round,
            },
            Prim::HalfSpace { n, d } => Prim::HalfSpace { n: n.mirror(), d },
        }
    }

    pub fn dist(&self, p: V3) -> f64 {
        match *self {
            Prim::Ellipsoid { c, r } => ellipsoid_dist(p - c, r),
            Prim::Oriented { c, axes, r } => {
                let q = p - c;
                ellipsoid_dist(v3(q.dot(axes[0]), q.dot(axes[1]), q.dot(axes[2])), r)
            }
            Prim::RoundCone { a, b, ra, rb } => round_cone_dist(p, a, b, ra, rb),
            Prim::RoundBox { c, half, round } => {
                let q = (p - c).abs() - half + v3(round, round, round);
                let outside = v3(q.x.max(0.0), q.y.max(0.0), q.z.max(0.0)).len();
                outside + q.max_elem().min(0.0) - round
            }
            Prim::HalfSpace { n, d } => n.dot(p) - d,
        }
    }

    /// A sphere containing the primitive (None: unbounded).
    fn bound(&self) -> Option<(V3, f64)> {
        match *self {
            Prim::Ellipsoid { c, r } | Prim::Oriented { c, r, .. } => Some((c, r.max_elem())),
            Prim::RoundCone { a, b, ra, rb } => Some(((a + b) * 0.5, a.dist(b) * 0.5 + ra.max(rb))),
            Prim::RoundBox { c, half, .. } => Some((c, half.len())),
            Prim::HalfSpace { .. } => None,
        }
    }
}

/// Inigo Quilez's ellipsoid bound: exact on the surface, a good
/// approximation elsewhere.
fn ellipsoid_dist(q: V3, r: V3) -> f64 {
    let k0 = q.div(r).len();
    let k1 = q.div(r.mul(r)).len();
    if k1 < 1e-12 {
        return -r.min_elem();
    }
    k0 * (k0 - 1.0) / k1
}

fn sign0(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Exact distance to a capsule with linearly varying radius (Inigo Quilez).
fn round_cone_dist(p: V3, a: V3, b: V3, r1: f64, r2: f64) -> f64 {
    let ba = b - a;
    let l2 = ba.dot(ba);
    let rr = r1 - r2;
    let a2 = l2 - rr * rr;
    let il2 = 1.0 / l2;
    let pa = p - a;
    let y = pa.dot(ba);
    let z = y - l2;
    let w = pa * l2 - ba * y;
    let x2 = w.dot(w);
    let y2 = y * y * l2;
    let z2 = z * z * l2;
    let k = sign0(rr) * rr * rr * x2;
    if sign0(z) * a2 * z2 > k {
        return (x2 + z2).sqrt() * il2 - r2;
    }
    if sign0(y) * a2 * y2 < k {
        return (x2 + y2).sqrt() * il2 - r1;
    }
    ((x2 * a2 * il2).sqrt() + y * rr) * il2 - r1
}

/// Polynomial smooth minimum: blends over a band of width `k`.
fn smin(a: f64, b: f64, k: f64) -> f64 {
    if k <= 0.0 {
        return a.min(b);
    }
    let h = (k - (a - b).abs()).max(0.0) / k;
    a.min(b) - h * h * k * 0.25
}

fn smax(a: f64, b: f64, k: f64) -> f64 {
    -smin(-a, -b, k)
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Union(f64),
    Subtract(f64),
    Intersect(f64),
}

/// A shape built by applying primitives in order (union, carve, clip), each
/// with its own blend width.
#[derive(Clone, Debug, Default)]
pub struct Shape {
    items: Vec<(Prim, Op)>,
}

impl Shape {
    pub fn new() -> Self {
        Self::default()
    }

    /// Smoothly adds a primitive (`k`: blend width in metres).
    pub fn add(&mut self, p: Prim, k: f64) -> &mut Self {
        self.items.push((p, Op::Union(k)));
        self
    }

    /// Adds a primitive and its mirror image.
    pub fn add_pair(&mut self, p: Prim, k: f64) -> &mut Self {
        let m = p.mirrored();
        self.add(p, k).add(m, k)
    }

    /// Smoothly carves a primitive away.
    pub fn sub(&mut self, p: Prim, k: f64) -> &mut Self {
        self.items.push((p, Op::Subtract(k)));
        self
    }

    pub fn sub_pair(&mut self, p: Prim, k: f64) -> &mut Self {
        let m = p.mirrored();
        self.sub(p, k).sub(m, k)
    }

    /// Smoothly keeps only what is inside a primitive too.
    pub fn clip(&mut self, p: Prim, k: f64) -> &mut Self {
        self.items.push((p, Op::Intersect(k)));
        self
    }

    pub fn dist(&self, p: V3) -> f64 {
        let mut d = f64::INFINITY;
        for (prim, op) in &self.items {
            let e = prim.dist(p);
            d = match *op {
                Op::Union(k) => smin(d, e, k),
                Op::Subtract(k) => smax(d, -e, k),
                Op::Intersect(k) => smax(d, e, k),
            };
        }
        d
    }

    /// The primitives that can matter within the plane through `point`
    /// normal to `normal`: a cheap, exact speed-up for evaluating a ring.
    pub fn near_plane(&self, point: V3, normal: V3) -> Shape {
        let items = self
            .items
            .iter()
            .filter(|(prim, op)| {
                let k = match *op {
                    Op::Union(k) | Op::Subtract(k) | Op::Intersect(k) => k,
                };
                match prim.bound() {
                    Some((c, r)) => (c - point).dot(normal).abs() <= r + k + 1e-4,
                    None => true,
                }
            })
            .cloned()
            .collect();
        Shape { items }
    }

    /// Distance from `c` along unit `u` to where the ray first leaves the
    /// shape (0 if `c` is outside; `t_max` if it never leaves).
    pub fn ray_exit(&self, c: V3, u: V3, t_max: f64) -> f64 {
        let mut d = self.dist(c);
        if d >= 0.0 {
            return 0.0;
        }
        let mut t = 0.0;
        loop {
            // Smooth unions overestimate depth, so step conservatively.
            let t_next = (t + (-d * 0.7).max(1e-4)).min(t_max);
            let d_next = self.dist(c + u * t_next);
            if d_next >= 0.0 {
                return self.bisect(c, u, t, t_next);
            }
            if t_next >= t_max {
                return t_max;
            }
            t = t_next;
            d = d_next;
        }
    }

    fn bisect(&self, c: V3, u: V3, mut inside: f64, mut outside: f64) -> f64 {
        for _ in 0..16 {
            let mid = 0.5 * (inside + outside);
            if self.dist(c + u * mid) < 0.0 {
                inside = mid;
            } else {
                outside = mid;
            }
        }
        0.5 * (inside + outside)
    }
}
