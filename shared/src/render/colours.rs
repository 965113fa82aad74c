//! Body colouring: per-vertex clothing colours from each vertex's dominant
//! skinning joint, and face features painted from the static landmarks.

use crate::smplx::joints::{idx, NUM_JOINTS};
use crate::smplx::SmplxData;

// ---------------------------------------------------------- body colouring

/// For each vertex, the joint with the largest skinning weight
/// (`weights` is `[V, num_joints]`).
pub fn dominant_joints(weights: &[f32], num_joints: usize) -> Vec<usize> {
    weights
        .chunks_exact(num_joints.max(1))
        .map(|row| {
            row.iter()
                .enumerate()
                .fold(
                    (0, f32::MIN),
                    |best, (j, &w)| if w > best.1 { (j, w) } else { best },
                )
                .0
        })
        .collect()
}

/// Clothing-like colours per body part, linear RGB in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outfit {
    pub skin: [f32; 3],
    pub hair: [f32; 3],
    pub top: [f32; 3],
    pub bottom: [f32; 3],
    pub shoes: [f32; 3],
    /// Sleeves cover the forearms (else they show skin).
    pub long_sleeves: bool,
    /// Trousers cover the shins (else shorts).
    pub long_legs: bool,
    /// Hair covers the top and back of the head.
    pub has_hair: bool,
}

impl Default for Outfit {
    fn default() -> Self {
        Self {
            skin: [0.80, 0.62, 0.50],
            hair: [0.20, 0.13, 0.08],
            top: [0.20, 0.35, 0.65],
            bottom: [0.18, 0.18, 0.22],
            shoes: [0.10, 0.08, 0.07],
            long_sleeves: true,
            long_legs: true,
            has_hair: true,
        }
    }
}

/// Which body part each vertex of a model belongs to, for colouring: its
/// dominant skinning joint (the part it moves with) and its rest position.
/// Computed once per model.
#[derive(Debug, Clone)]
pub struct BodyParts {
    dominant: Vec<usize>,
    rest: Vec<[f32; 3]>,
    pub(super) head: [f32; 3],
    eye_level: f32,
    head_height: f32,
    /// The painted face feature each vertex lies in, if any.
    pub(super) features: Vec<Option<FaceFeature>>,
}

/// Face features painted from the 51 static landmarks (brows, eyes, lips,
/// the mouth between the inner lip line). Without them the head is one
/// skin colour, and a face crop shows neither where it looks nor how far
/// the jaw is open: the lip band stretches as the jaw drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaceFeature {
    Brow,
    Eye,
    Lip,
    Mouth,
}

impl BodyParts {
    pub fn new(model: &SmplxData) -> Self {
        let rest_joint = |j: usize| model.rest_joint(j).map(|c| c as f32);
        let head = rest_joint(idx::HEAD);
        let eye_level = rest_joint(idx::LEFT_EYE_SMPLHF)[1];
        let dominant = dominant_joints(&model.weights, NUM_JOINTS);
        Self {
            features: face_features(model, &dominant, head),
            dominant,
            rest: model
                .v_template
                .chunks_exact(3)
                .map(|c| [c[0], c[1], c[2]])
                .collect(),
            head,
            eye_level,
            head_height: (eye_level - head[1]).abs().max(0.02),
        }
    }

    /// The dominant skinning joint of each vertex.
    pub fn dominant(&self) -> &[usize] {
        &self.dominant
    }
}

impl Outfit {
    /// One colour per vertex of the model `parts` was made from.
    pub fn vertex_colors(&self, parts: &BodyParts) -> Vec<[f32; 3]> {
        parts
            .dominant
            .iter()
            .zip(&parts.rest)
            .zip(&parts.features)
            .map(|((&j, &p), feature)| match feature {
                Some(f) => self.feature_color(*f),
                None => self.part_color(j, p, parts.head, parts.eye_level, parts.head_height),
            })
            .collect()
    }

    fn feature_color(&self, feature: FaceFeature) -> [f32; 3] {
        let [r, g, b] = self.skin;
        match feature {
            // Brows are hair; a bald head still has dark brows.
            FaceFeature::Brow if self.has_hair => self.hair.map(|c| 0.8 * c),
            FaceFeature::Brow => [0.12, 0.08, 0.06],
            FaceFeature::Eye => [0.06, 0.05, 0.05],
            FaceFeature::Lip => [0.85 * r, 0.5 * g, 0.5 * b],
            FaceFeature::Mouth => [0.25, 0.06, 0.06],
        }
    }

    fn part_color(
        &self,
        joint: usize,
        p: [f32; 3],
        head: [f32; 3],
        eye_level: f32,
        head_height: f32,
    ) -> [f32; 3] {
        use idx::*;
        match joint {
            HEAD | JAW | LEFT_EYE_SMPLHF | RIGHT_EYE_SMPLHF => {
                // Above the brow, or behind the head's centre above the ears.
                let above = p[1] > eye_level + 0.5 * head_height;
                let behind = p[2] < head[2] - 0.02 && p[1] > head[1] - 0.3 * head_height;
                if self.has_hair && (above || behind) {
                    self.hair
                } else {
                    self.skin
                }
            }
            NECK => self.skin,
            PELVIS | LEFT_HIP | RIGHT_HIP => self.bottom,
            LEFT_KNEE | RIGHT_KNEE if self.long_legs => self.bottom,
            LEFT_KNEE | RIGHT_KNEE => self.skin,
            LEFT_ANKLE | RIGHT_ANKLE | LEFT_FOOT | RIGHT_FOOT => self.shoes,
            SPINE1 | SPINE2 | SPINE3 | LEFT_COLLAR | RIGHT_COLLAR | LEFT_SHOULDER
            | RIGHT_SHOULDER => self.top,
            LEFT_ELBOW | RIGHT_ELBOW if self.long_sleeves => self.top,
            _ => self.skin, // forearms, wrists and fingers
        }
    }
}

/// Which face feature each vertex lies in: the front of the head seen along
/// the rest pose's view axis (+z), tested against the landmarks' outlines
/// (static landmarks in the reference order: brows 0–9, eyes 19–30, outer
/// lip 31–42, inner lip 43–50).
fn face_features(
    model: &SmplxData,
    dominant: &[usize],
    head: [f32; 3],
) -> Vec<Option<FaceFeature>> {
    let v = model.num_vertices();
    let mut features = vec![None; v];
    let landmarks: Vec<[f32; 3]> = (0..model.lmk_faces_idx.len())
        .filter_map(|l| {
            let tri = model.faces.get(model.lmk_faces_idx[l] as usize)?;
            let bary = model.lmk_bary_coords.get(l * 3..l * 3 + 3)?;
            let mut p = [0f32; 3];
            for (corner, w) in tri.iter().zip(bary) {
                let c = model
                    .v_template
                    .get(*corner as usize * 3..*corner as usize * 3 + 3)?;
                (0..3).for_each(|k| p[k] += w * c[k]);
            }
            Some(p)
        })
        .collect();
    if landmarks.len() != crate::smplx::data::NUM_STATIC_LANDMARKS {
        return features; // no usable landmark embedding: a plain head
    }
    let outline = |range: std::ops::RangeInclusive<usize>| -> Vec<[f32; 2]> {
        range.map(|l| [landmarks[l][0], landmarks[l][1]]).collect()
    };
    let (right_eye, left_eye) = (outline(19..=24), outline(25..=30));
    let (outer_lip, inner_lip) = (outline(31..=42), outline(43..=50));
    let brows = [outline(0..=4), outline(5..=9)];
    // Only the skin in front of the face's landmarks (not the back of the head).
    let front = landmarks.iter().map(|p| p[2]).fold(f32::INFINITY, f32::min) - 0.02;
    for (i, feature) in features.iter_mut().enumerate() {
        let p = &model.v_template[i * 3..i * 3 + 3];
        let on_head = matches!(
            dominant[i],
            idx::HEAD | idx::JAW | idx::LEFT_EYE_SMPLHF | idx::RIGHT_EYE_SMPLHF
        );
        if !on_head || p[2] < front || p[2] < head[2] {
            continue;
        }
        let q = [p[0], p[1]];
        *feature = if inside(&q, &right_eye) || inside(&q, &left_eye) {
            Some(FaceFeature::Eye)
        } else if inside(&q, &inner_lip) {
            Some(FaceFeature::Mouth)
        } else if inside(&q, &outer_lip) || near_polygon(&q, &outer_lip, 0.0015) {
            Some(FaceFeature::Lip)
        } else if brows.iter().any(|b| near_polyline(&q, b, 0.0035)) {
            Some(FaceFeature::Brow)
        } else {
            None
        };
    }
    features
}

/// Even–odd point-in-polygon test.
fn inside(q: &[f32; 2], polygon: &[[f32; 2]]) -> bool {
    let mut odd = false;
    for (a, b) in polygon.iter().zip(polygon.iter().cycle().skip(1)) {
        if (a[1] > q[1]) != (b[1] > q[1]) {
            let x = a[0] + (q[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]);
            if q[0] < x {
                odd = !odd;
            }
        }
    }
    odd
}

fn segment_distance(q: &[f32; 2], a: &[f32; 2], b: &[f32; 2]) -> f32 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let t = (((q[0] - a[0]) * dx + (q[1] - a[1]) * dy) / (dx * dx + dy * dy).max(1e-12))
        .clamp(0.0, 1.0);
    ((q[0] - a[0] - t * dx).powi(2) + (q[1] - a[1] - t * dy).powi(2)).sqrt()
}

fn near_polyline(q: &[f32; 2], line: &[[f32; 2]], r: f32) -> bool {
    line.windows(2)
        .any(|w| segment_distance(q, &w[0], &w[1]) < r)
}

fn near_polygon(q: &[f32; 2], polygon: &[[f32; 2]], r: f32) -> bool {
    polygon
        .iter()
        .zip(polygon.iter().cycle().skip(1))
        .any(|(a, b)| segment_distance(q, a, b) < r)
}
