//! Agreement in the image, for pictures without 3D ground truth (real video
//! labelled by a 2D detector): how far a predictor's projected joints fall
//! from the detector's keypoints, as a fraction of the person's height, next
//! to the best constant in the image (the mean of the keypoints relative to
//! each person's box, placed in every box) and the spread of both.
//!
//! Per frame the distance is the median over the points the detector is
//! confident about; the set's figure is the median over frames (so a few
//! frames where the detector or the predictor fails do not decide it), with
//! the mean beside it. The browser's real-video check scores the page the
//! same way.

use serde::Serialize;

/// One frame: the person's box, the detector's points and the predictor's.
pub struct FramePoints<'a> {
    /// Person box (x0, y0, x1, y1), pixels.
    pub person_box: [f32; 4],
    /// Detector keypoints `[x, y, confidence]`, pixels.
    pub detected: &'a [[f32; 3]],
    /// The predictor's projection of the same points, pixels.
    pub predicted: &'a [[f32; 2]],
}

/// Distances as fractions of the person's height.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ImageAgreement {
    pub frames: usize,
    /// Median over frames of each frame's median point distance.
    pub median: f64,
    pub mean: f64,
    /// The same for the best constant in the image.
    pub constant_median: f64,
    pub constant_mean: f64,
    /// `median` and `constant_median` in pixels (each frame's median point
    /// distance unscaled): the reprojection error in the images as they are.
    pub median_px: f64,
    pub constant_median_px: f64,
    /// The median over frames after aligning each frame's points to the
    /// detector's by the least-squares 2D similarity (scale, in-plane
    /// rotation, shift): the pose alone, with the placement forgiven.
    pub aligned_median: f64,
    pub constant_aligned_median: f64,
    /// RMS distance of the predicted points from their own mean over the
    /// frames (box-relative); 0 for a predictor that ignores its input.
    pub spread: f64,
    /// The same for the detector's points.
    pub detected_spread: f64,
}

/// Scores frames whose points have confidence ≥ `min_confidence`; frames
/// with none, or a box without height, are left out. `None` when no frame
/// is left.
pub fn image_agreement(frames: &[FramePoints], min_confidence: f32) -> Option<ImageAgreement> {
    let frames: Vec<&FramePoints> = frames
        .iter()
        .filter(|f| {
            height(f) > 0.0
                && f.detected.len() == f.predicted.len()
                && f.detected.iter().any(|p| p[2] >= min_confidence)
        })
        .collect();
    if frames.is_empty() {
        return None;
    }
    let points = frames[0].detected.len();
    if frames.iter().any(|f| f.detected.len() != points) {
        return None;
    }
    // Box-relative coordinates: (p − box centre) / box height.
    let relative = |f: &FramePoints, p: [f32; 2]| -> [f64; 2] {
        let (cx, cy) = centre(f);
        let h = height(f);
        [(p[0] as f64 - cx) / h, (p[1] as f64 - cy) / h]
    };
    // The best constant: each point's mean box-relative position over the
    // frames where the detector is confident about it.
    let mut sum = vec![[0.0f64; 2]; points];
    let mut count = vec![0usize; points];
    for f in &frames {
        for (k, d) in f.detected.iter().enumerate() {
            if d[2] >= min_confidence {
                let r = relative(f, [d[0], d[1]]);
                sum[k] = [sum[k][0] + r[0], sum[k][1] + r[1]];
                count[k] += 1;
            }
        }
    }
    let constant: Vec<[f64; 2]> = sum
        .iter()
        .zip(&count)
        .map(|(s, &n)| [s[0] / n.max(1) as f64, s[1] / n.max(1) as f64])
        .collect();
    let (mut predicted, mut fixed) = (Vec::new(), Vec::new());
    let (mut predicted_px, mut fixed_px) = (Vec::new(), Vec::new());
    let (mut predicted_aligned, mut fixed_aligned) = (Vec::new(), Vec::new());
    for f in &frames {
        let (mut targets, mut ours, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
        for (k, d) in f.detected.iter().enumerate() {
            if d[2] < min_confidence {
                continue;
            }
            targets.push(relative(f, [d[0], d[1]]));
            ours.push(relative(f, f.predicted[k]));
            theirs.push(constant[k]);
        }
        let gaps = |points: &[[f64; 2]]| -> Vec<f64> {
            points
                .iter()
                .zip(&targets)
                .map(|(p, t)| distance(*p, *t))
                .collect()
        };
        let (ours_median, theirs_median) = (median(&mut gaps(&ours)), median(&mut gaps(&theirs)));
        predicted.push(ours_median);
        fixed.push(theirs_median);
        predicted_px.push(ours_median * height(f));
        fixed_px.push(theirs_median * height(f));
        predicted_aligned.push(median(&mut gaps(&align(&ours, &targets))));
        fixed_aligned.push(median(&mut gaps(&align(&theirs, &targets))));
    }
    let spread_of = |point: &dyn Fn(&FramePoints, usize) -> [f64; 2]| -> f64 {
        let mut total = 0.0;
        for k in 0..points {
            let all: Vec<[f64; 2]> = frames.iter().map(|f| point(f, k)).collect();
            let n = all.len() as f64;
            let m = [
                all.iter().map(|p| p[0]).sum::<f64>() / n,
                all.iter().map(|p| p[1]).sum::<f64>() / n,
            ];
            total += all.iter().map(|p| distance(*p, m).powi(2)).sum::<f64>() / n;
        }
        (total / points as f64).sqrt()
    };
    let spread = spread_of(&|f, k| relative(f, f.predicted[k]));
    let detected_spread = spread_of(&|f, k| relative(f, [f.detected[k][0], f.detected[k][1]]));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    Some(ImageAgreement {
        frames: frames.len(),
        median: median(&mut predicted.clone()),
        mean: mean(&predicted),
        constant_median: median(&mut fixed.clone()),
        constant_mean: mean(&fixed),
        median_px: median(&mut predicted_px),
        constant_median_px: median(&mut fixed_px),
        aligned_median: median(&mut predicted_aligned),
        constant_aligned_median: median(&mut fixed_aligned),
        spread,
        detected_spread,
    })
}

/// `points` moved by the 2D similarity that brings them closest to
/// `targets` in the least-squares sense. With both centred and read as
/// complex numbers p, q, the best scale-and-rotation is the complex factor
/// a = Σ conj(p)·q / Σ |p|²; a single point (or all equal) only moves.
fn align(points: &[[f64; 2]], targets: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let n = points.len() as f64;
    let centroid = |v: &[[f64; 2]]| {
        [
            v.iter().map(|p| p[0]).sum::<f64>() / n,
            v.iter().map(|p| p[1]).sum::<f64>() / n,
        ]
    };
    let (cp, cq) = (centroid(points), centroid(targets));
    let (mut re, mut im, mut norm) = (0.0, 0.0, 0.0);
    for (p, q) in points.iter().zip(targets) {
        let (px, py) = (p[0] - cp[0], p[1] - cp[1]);
        let (qx, qy) = (q[0] - cq[0], q[1] - cq[1]);
        // conj(p)·q = (px − i·py)(qx + i·qy)
        re += px * qx + py * qy;
        im += px * qy - py * qx;
        norm += px * px + py * py;
    }
    let (a, b) = if norm > 1e-18 {
        (re / norm, im / norm)
    } else {
        (1.0, 0.0)
    };
    points
        .iter()
        .map(|p| {
            let (px, py) = (p[0] - cp[0], p[1] - cp[1]);
            [cq[0] + a * px - b * py, cq[1] + b * px + a * py]
        })
        .collect()
}

fn height(f: &FramePoints) -> f64 {
    (f.person_box[3] - f.person_box[1]) as f64
}

fn centre(f: &FramePoints) -> (f64, f64) {
    let b = f.person_box;
    (((b[0] + b[2]) / 2.0) as f64, ((b[1] + b[3]) / 2.0) as f64)
}

fn distance(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

/// The median (the mean of the two middle values for an even count).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three frames of two points, the person moving and raising a hand.
    fn frames() -> Vec<(Vec<[f32; 3]>, [f32; 4])> {
        vec![
            (
                vec![[50.0, 20.0, 0.9], [50.0, 80.0, 0.9]],
                [0.0, 0.0, 100.0, 100.0],
            ),
            (
                vec![[150.0, 0.0, 0.9], [150.0, 80.0, 0.9]],
                [100.0, 0.0, 200.0, 100.0],
            ),
            (
                vec![[60.0, 40.0, 0.9], [60.0, 80.0, 0.2]],
                [10.0, 0.0, 110.0, 100.0],
            ),
        ]
    }

    fn score(predicted: &[Vec<[f32; 2]>]) -> ImageAgreement {
        let data = frames();
        let points: Vec<FramePoints> = data
            .iter()
            .zip(predicted)
            .map(|((d, b), p)| FramePoints {
                person_box: *b,
                detected: d,
                predicted: p,
            })
            .collect();
        image_agreement(&points, 0.5).unwrap()
    }

    #[test]
    fn the_detector_itself_scores_zero_and_a_shift_scores_its_size() {
        let exact: Vec<Vec<[f32; 2]>> = frames()
            .iter()
            .map(|(d, _)| d.iter().map(|p| [p[0], p[1]]).collect())
            .collect();
        let s = score(&exact);
        assert_eq!((s.frames, s.median, s.mean), (3, 0.0, 0.0));
        assert!(s.spread > 0.0 && (s.spread - s.detected_spread).abs() < 1e-12);
        // 10 px right on 100-px-high boxes: 0.1 of the height.
        let shifted: Vec<Vec<[f32; 2]>> = exact
            .iter()
            .map(|f| f.iter().map(|p| [p[0] + 10.0, p[1]]).collect())
            .collect();
        let s = score(&shifted);
        assert!((s.median - 0.1).abs() < 1e-6 && (s.mean - 0.1).abs() < 1e-6);
        assert!((s.median_px - 10.0).abs() < 1e-4, "{s:?}");
        // Alignment forgives the shift.
        assert!(s.aligned_median < 1e-9, "{s:?}");
    }

    #[test]
    fn alignment_undoes_a_similarity_and_nothing_more() {
        let targets = [[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]];
        // Turned 90°, halved, moved.
        let moved: Vec<[f64; 2]> = targets
            .iter()
            .map(|p| [5.0 - 0.5 * p[1], 3.0 + 0.5 * p[0]])
            .collect();
        for (a, t) in align(&moved, &targets).iter().zip(&targets) {
            assert!(distance(*a, *t) < 1e-12, "{a:?} vs {t:?}");
        }
        // A mirror image is not a similarity: something is left.
        let mirrored: Vec<[f64; 2]> = targets.iter().map(|p| [-p[0], p[1]]).collect();
        let left: f64 = align(&mirrored, &targets)
            .iter()
            .zip(&targets)
            .map(|(a, t)| distance(*a, *t))
            .sum();
        assert!(left > 0.1, "{left}");
    }

    #[test]
    fn the_constant_is_the_mean_box_relative_pose() {
        // First point box-relative: (0, -0.3), (0, -0.5), (0, -0.1) → mean -0.3;
        // second (confident in two frames): 0.3 both times.
        let s = score(&[vec![[0.0; 2]; 2], vec![[0.0; 2]; 2], vec![[0.0; 2]; 2]]);
        // Frame medians of the constant: mean of (0, 0) → 0, (0.2, 0) → 0.1, 0.2.
        assert!((s.constant_median - 0.1).abs() < 1e-6, "{s:?}");
        assert!((s.constant_mean - 0.1).abs() < 1e-6, "{s:?}");
        assert!((s.constant_median_px - 10.0).abs() < 1e-4, "{s:?}");
        // A predictor that puts the same box-relative points everywhere has no spread.
        let still: Vec<Vec<[f32; 2]>> = frames()
            .iter()
            .map(|(_, b)| vec![[b[0] + 50.0, 20.0], [b[0] + 50.0, 80.0]])
            .collect();
        assert!(score(&still).spread < 1e-9);
    }

    #[test]
    fn frames_without_confident_points_are_left_out() {
        let data = [[1.0f32, 1.0, 0.1]];
        let f = FramePoints {
            person_box: [0.0, 0.0, 10.0, 10.0],
            detected: &data,
            predicted: &[[1.0, 1.0]],
        };
        assert!(image_agreement(&[f], 0.5).is_none());
    }
}
