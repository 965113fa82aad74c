//! The pipeline against MediaPipe's formulas, hand-made outputs and real
//! model outputs on the test photos.

use super::*;
use crate::crop::{Border, CropTransform};
use std::f32::consts::{FRAC_PI_2, PI};

fn near(a: f32, b: f32, tol: f32) -> bool {
    (a - b).abs() <= tol
}

fn near2(a: [f32; 2], b: [f32; 2], tol: f32) -> bool {
    near(a[0], b[0], tol) && near(a[1], b[1], tol)
}

fn inside(p: [f32; 2], b: [f32; 4]) -> bool {
    (b[0]..=b[2]).contains(&p[0]) && (b[1]..=b[3]).contains(&p[1])
}

fn landmark(x: f32, y: f32) -> Landmark {
    Landmark {
        position: [x, y, 0.0],
        visibility: None,
        presence: None,
    }
}

#[test]
fn anchor_counts() {
    // 28²·2 + 14²·2 + 7²·6 = 2254; 24²·2 + 12²·6 = 2016; 16²·2 + 8²·6 = 896.
    assert_eq!(ssd_anchors(&POSE_DETECTOR.anchors).len(), 2254);
    assert_eq!(ssd_anchors(&PALM_DETECTOR.anchors).len(), 2016);
    assert_eq!(ssd_anchors(&FACE_DETECTOR.anchors).len(), 896);
}

#[test]
fn anchor_values_by_hand() {
    let a = ssd_anchors(&POSE_DETECTOR.anchors);
    let c = |i: usize| a[i].center;
    // Stride 8: 28 cells, two anchors per cell.
    assert!(near2(c(0), [0.5 / 28.0, 0.5 / 28.0], 1e-6));
    assert_eq!(c(1), c(0));
    assert!(near2(c(2), [1.5 / 28.0, 0.5 / 28.0], 1e-6));
    assert!(near2(c(56), [0.5 / 28.0, 1.5 / 28.0], 1e-6));
    // Stride 16 starts at 1568; the three stride-32 layers at 1960 with
    // six anchors per cell.
    assert!(near2(c(1568), [0.5 / 14.0, 0.5 / 14.0], 1e-6));
    assert!(near2(c(1960), [0.5 / 7.0, 0.5 / 7.0], 1e-6));
    assert_eq!(c(1965), c(1960));
    assert!(near2(c(1966), [1.5 / 7.0, 0.5 / 7.0], 1e-6));
    assert!(near2(c(2253), [6.5 / 7.0, 6.5 / 7.0], 1e-6));
    assert!(a.iter().all(|a| a.size == [1.0, 1.0]));
    // The face detector's 8×8 map begins at 512.
    let f = ssd_anchors(&FACE_DETECTOR.anchors);
    assert!(near2(f[512].center, [1.0 / 16.0, 1.0 / 16.0], 1e-6));

    // Unfixed sizes: layer scales 0.1484375 + 0.6015625·i/4, the
    // interpolated one √(sᵢ·sᵢ₊₁) (√(s₄·1) at the last layer).
    let free = AnchorConfig {
        fixed_anchor_size: false,
        aspect_ratios: &[1.0, 2.0],
        ..POSE_DETECTOR.anchors
    };
    let a = ssd_anchors(&free);
    assert_eq!(a.len(), 28 * 28 * 3 + 14 * 14 * 3 + 7 * 7 * 9);
    let (s0, s1) = (0.1484375f32, 0.1484375 + 0.6015625 / 4.0);
    assert!(near2(a[0].size, [s0, s0], 1e-6));
    assert!(near2(a[1].size, [s0 * 2f32.sqrt(), s0 / 2f32.sqrt()], 1e-6));
    assert!(near2(a[2].size, [(s0 * s1).sqrt(), (s0 * s1).sqrt()], 1e-6));
    let last = a[a.len() - 1].size;
    assert!(near2(last, [0.75f32.sqrt(), 0.75f32.sqrt()], 1e-6));
}

/// A one-anchor detector at the input's centre.
fn single(raw: &[f32], logit: f32) -> Vec<Detection> {
    let anchors = [Anchor {
        center: [0.5, 0.5],
        size: [1.0, 1.0],
    }];
    decode_detections(&POSE_DETECTOR, &anchors, raw, &[logit]).expect("shape")
}

#[test]
fn decoding_boxes_keypoints_and_scores() {
    let mut raw = [0.0f32; 12];
    raw[..4].copy_from_slice(&[22.4, -11.2, 44.8, 22.4]);
    raw[4..6].copy_from_slice(&[-112.0, 112.0]);
    let d = single(&raw, 1000.0);
    assert_eq!(d.len(), 1);
    // Clipped to 100 before the sigmoid.
    assert_eq!(d[0].score, sigmoid(100.0));
    let b = d[0].bbox;
    for (v, e) in b.iter().zip([0.5, 0.4, 0.7, 0.5]) {
        assert!(near(*v, e, 1e-6), "{b:?}");
    }
    assert!(near2(d[0].keypoints[0], [0.0, 1.0], 1e-6));
    assert!(near2(d[0].keypoints[3], [0.5, 0.5], 1e-6));
    // Below the threshold (sigmoid(-0.1) < 0.5), NaN, or a negative size: dropped.
    assert!(single(&raw, -0.1).is_empty());
    assert!(single(&raw, f32::NAN).is_empty());
    raw[2] = -1.0;
    assert!(single(&raw, 5.0).is_empty());
    // Wrong shapes are errors, not panics.
    let anchors = ssd_anchors(&POSE_DETECTOR.anchors);
    assert!(decode_detections(&POSE_DETECTOR, &anchors, &[0.0; 12], &[0.0]).is_err());
}

fn det(score: f32, bbox: [f32; 4], k: [f32; 2]) -> Detection {
    Detection {
        score,
        bbox,
        keypoints: vec![k],
    }
}

#[test]
fn weighted_nms_blends_overlapping_boxes() {
    let a = det(0.6, [0.1, 0.1, 0.3, 0.3], [0.2, 0.2]);
    let b = det(0.9, [0.12, 0.1, 0.32, 0.3], [0.3, 0.2]);
    let far = det(0.7, [0.6, 0.6, 0.8, 0.8], [0.7, 0.7]);
    assert!(iou(a.bbox, b.bbox) > 0.3 && iou(a.bbox, far.bbox) == 0.0);
    let out = weighted_nms(vec![a, far, b], 0.3);
    assert_eq!(out.len(), 2);
    // Best first; the cluster keeps the best score and averages by score.
    assert_eq!(out[0].score, 0.9);
    let x0 = (0.9 * 0.12 + 0.6 * 0.1) / 1.5;
    assert!(near(out[0].bbox[0], x0, 1e-6));
    assert!(near(
        out[0].keypoints[0][0],
        (0.9 * 0.3 + 0.6 * 0.2) / 1.5,
        1e-6
    ));
    assert_eq!(out[1].bbox, [0.6, 0.6, 0.8, 0.8]);
    // A degenerate box still comes out (alone), and nothing hangs.
    let flat = det(0.8, [0.5, 0.5, 0.5, 0.9], [0.0, 0.0]);
    assert_eq!(weighted_nms(vec![flat.clone(), flat], 0.3).len(), 2);
    assert!(weighted_nms(Vec::new(), 0.3).is_empty());
}

#[test]
fn letterbox_matches_mediapipe_padding_removal() {
    // 640×480 letterboxed to a square: MediaPipe pads top and bottom by
    // (1 − 480/640)/2 = 0.125 and maps y to (y − 0.125)/0.75.
    let window = CropTransform::whole_image(640, 480);
    let d = det(0.9, [0.25, 0.125, 0.75, 0.5], [0.5, 0.875]).to_image(&window);
    let mp = |x: f32, y: f32| [x * 640.0, (y - 0.125) / 0.75 * 480.0];
    assert!(near2([d.bbox[0], d.bbox[1]], mp(0.25, 0.125), 1e-3));
    assert!(near2([d.bbox[2], d.bbox[3]], mp(0.75, 0.5), 1e-3));
    assert!(near2(d.keypoints[0], mp(0.5, 0.875), 1e-3));
}

#[test]
fn input_tensor_is_channels_first_in_the_model_range() {
    // 4×2, left half red, right half blue, letterboxed to 4×4: row 0 is
    // padding (black → −1), row 1 reads the image's first row exactly.
    let mut rgb = vec![0u8; 4 * 2 * 3];
    for (i, px) in rgb.chunks_exact_mut(3).enumerate() {
        px[if i % 4 < 2 { 0 } else { 2 }] = 255;
    }
    let t = input_tensor(
        &CropTransform::whole_image(4, 2),
        &rgb,
        4,
        2,
        4,
        [-1.0, 1.0],
        Border::Zero,
    );
    assert_eq!(t.len(), 4 * 4 * 3);
    let at = |row: usize, col: usize| [0, 1, 2].map(|c| t[(c * 4 + row) * 4 + col]);
    assert_eq!(at(0, 0), [-1.0, -1.0, -1.0]);
    assert_eq!(at(1, 0), [1.0, -1.0, -1.0]);
    assert_eq!(at(1, 3), [-1.0, -1.0, 1.0]);
}

#[test]
fn rotation_convention_matches_mediapipe_projection() {
    // MediaPipe's LandmarkProjection on a normalised rect of a non-square
    // image, against project_landmarks through crop_from_mediapipe.
    let (w, h) = (640.0f32, 480.0f32);
    let (center, side, theta) = ([300.0f32, 200.0f32], 160.0f32, 0.7f32);
    let roi = crop_from_mediapipe(center, side, theta);
    let raw = [40.0f32, 200.0, 10.0, 250.0, 30.0, -8.0];
    let ours = project_landmarks(
        &LandmarkConfig {
            input_size: 256,
            input_range: [0.0, 1.0],
            num_landmarks: 2,
            values_per_landmark: 3,
            z_divisor: 1.0,
        },
        &raw,
        &roi,
    )
    .expect("shape");
    for (p, row) in ours.iter().zip(raw.chunks(3)) {
        let (x, y) = (row[0] / 256.0 - 0.5, row[1] / 256.0 - 0.5);
        let (s, c) = theta.sin_cos();
        let nx = (c * x - s * y) * (side / w) + center[0] / w;
        let ny = (s * x + c * y) * (side / h) + center[1] / h;
        let nz = row[2] / 256.0 * (side / w);
        assert!(near2(p.xy(), [nx * w, ny * h], 1e-3), "{p:?}");
        assert!(near(p.position[2], nz * w, 1e-4));
    }
    assert_eq!(mediapipe_rotation(&roi), theta);
    // MediaPipe's positive angle turns the window clockwise on screen:
    // at 90° the crop's up (0, −1) points to the image's right.
    let r = crop_from_mediapipe([0.0, 0.0], 2.0, FRAC_PI_2);
    assert!(near2(r.to_image([0.0, -1.0]), [1.0, 0.0], 1e-6));
}

#[test]
fn pose_roi_turns_the_body_upright() {
    // Hip at (100, 200), scale point 80 px above: upright, side 2·80·1.25.
    let mut d = Detection {
        score: 0.9,
        bbox: [0.0; 4],
        keypoints: vec![[100.0, 200.0], [100.0, 120.0]],
    };
    let roi = pose_roi_from_detection(&d).expect("roi");
    assert!(near2(roi.center, [100.0, 200.0], 1e-4));
    assert!(near(roi.side, 200.0, 1e-3) && near(roi.rotation, 0.0, 1e-6));
    // Lying with the head to the right: the crop's top is on the right.
    d.keypoints[1] = [180.0, 200.0];
    let roi = pose_roi_from_detection(&d).expect("roi");
    assert!(near(mediapipe_rotation(&roi), FRAC_PI_2, 1e-6));
    assert!(near2(roi.to_image([0.0, -0.8]), [180.0, 200.0], 1e-3));
    // From landmarks: the same rule on 33 → 34.
    let mut lm = vec![landmark(0.0, 0.0); 39];
    lm[33] = landmark(100.0, 200.0);
    lm[34] = landmark(180.0, 200.0);
    assert_eq!(pose_roi_from_landmarks(&lm), Some(roi));
    // Degenerate: missing or coinciding points.
    assert!(pose_roi_from_landmarks(&lm[..34]).is_none());
    d.keypoints[1] = d.keypoints[0];
    assert!(pose_roi_from_detection(&d).is_none());
    d.keypoints.truncate(1);
    assert!(pose_roi_from_detection(&d).is_none());
}

#[test]
fn palm_and_hand_rois() {
    // An upright palm box 40×60, wrist below the middle finger base.
    let mut keypoints = vec![[100.0, 130.0], [0.0, 0.0], [100.0, 80.0]];
    let d = Detection {
        score: 0.9,
        bbox: [80.0, 70.0, 120.0, 130.0],
        keypoints: keypoints.clone(),
    };
    let roi = palm_roi_from_detection(&d).expect("roi");
    assert!(near2(roi.center, [100.0, 70.0], 1e-3));
    assert!(near(roi.side, 156.0, 1e-3) && near(roi.rotation, 0.0, 1e-6));
    // Fingers to the right: the shift follows the hand.
    keypoints[2] = [150.0, 130.0];
    let roi = palm_roi_from_detection(&Detection { keypoints, ..d }).expect("roi");
    assert!(near(mediapipe_rotation(&roi), FRAC_PI_2, 1e-6));
    assert!(near2(roi.center, [130.0, 100.0], 1e-3));

    // A hand pointing up: wrist at (0, 100), finger joints spread over
    // x ∈ [−20, 20], y ∈ [20, 90].
    let mut lm = vec![landmark(0.0, 50.0); 21];
    lm[0] = landmark(0.0, 100.0);
    for (k, &i) in HAND_ROI_LANDMARKS.iter().enumerate().skip(1) {
        let x = -20.0 + 40.0 * (k as f32 - 1.0) / 10.0;
        lm[i] = landmark(x, 20.0 + 70.0 * ((k % 3) as f32 / 2.0));
    }
    lm[5] = landmark(-10.0, 30.0);
    lm[13] = landmark(10.0, 30.0);
    lm[9] = landmark(0.0, 20.0);
    lm[4] = landmark(500.0, 500.0); // the thumb tip does not count
    let roi = hand_roi_from_landmarks(&lm).expect("roi");
    assert!(near(roi.rotation, 0.0, 1e-6));
    // Box x −20..20, y 20..100: centre (0, 60), moved up 8, side 2·80.
    assert!(near2(roi.center, [0.0, 52.0], 1e-3), "{roi:?}");
    assert!(near(roi.side, 160.0, 1e-3));
    // The same hand turned a quarter clockwise on screen ((x, y) →
    // (−y, x) with y down): the fingers point right, the window follows.
    let turned: Vec<Landmark> = lm
        .iter()
        .map(|l| landmark(-l.position[1], l.position[0]))
        .collect();
    let t = hand_roi_from_landmarks(&turned).expect("roi");
    assert!(near(mediapipe_rotation(&t), FRAC_PI_2, 1e-5));
    assert!(near2(t.center, [-52.0, 0.0], 1e-3), "{t:?}");
    assert!(near(t.side, 160.0, 1e-3));
    assert!(hand_roi_from_landmarks(&lm[..18]).is_none());
}

#[test]
fn face_rois_level_the_eyes() {
    // Eyes on a 45° line going down to the right: MediaPipe turns the
    // window 45° clockwise, so its x axis runs along the eyes.
    let d = Detection {
        score: 0.9,
        bbox: [0.0, 0.0, 80.0, 100.0],
        keypoints: vec![[20.0, 30.0], [50.0, 60.0]],
    };
    let roi = face_roi_from_detection(&d).expect("roi");
    assert!(near(mediapipe_rotation(&roi), PI / 4.0, 1e-6));
    let axis = roi.to_image([1.0, 0.0]);
    let (dx, dy) = (axis[0] - roi.center[0], axis[1] - roi.center[1]);
    assert!(near(dx, dy, 1e-3) && dx > 0.0);
    assert!(near2(roi.center, [40.0, 50.0], 1e-4) && near(roi.side, 150.0, 1e-3));
    // Landmarks: the box of all 468, eyes 33 and 263 level.
    let mut lm = vec![landmark(10.0, 20.0); 468];
    lm[0] = landmark(110.0, 220.0);
    lm[33] = landmark(40.0, 80.0);
    lm[263] = landmark(80.0, 80.0);
    let roi = face_roi_from_landmarks(&lm).expect("roi");
    assert!(near(roi.rotation, 0.0, 1e-6));
    assert!(near2(roi.center, [60.0, 120.0], 1e-4) && near(roi.side, 300.0, 1e-3));
    assert!(face_roi_from_landmarks(&lm[..100]).is_none());
}

#[test]
fn landmark_outputs_and_world_points() {
    let roi = crop_from_mediapipe([50.0, 50.0], 100.0, 0.0);
    let raw = [128.0f32, 0.0, 12.8, 0.0, 1000.0];
    let cfg = LandmarkConfig {
        num_landmarks: 1,
        ..POSE_LANDMARKS
    };
    let p = project_landmarks(&cfg, &raw, &roi).expect("shape")[0];
    assert!(near2(p.xy(), [50.0, 0.0], 1e-4));
    assert!(near(p.position[2], 5.0, 1e-4));
    assert_eq!((p.visibility, p.presence), (Some(0.5), Some(1.0)));
    // Hand z is further divided by 0.4.
    let hand = LandmarkConfig {
        num_landmarks: 1,
        ..HAND_LANDMARKS
    };
    let h = project_landmarks(&hand, &[112.0, 112.0, 22.4], &roi).expect("shape")[0];
    assert!(near(h.position[2], 25.0, 1e-4) && h.visibility.is_none());
    assert!(project_landmarks(&POSE_LANDMARKS, &raw, &roi).is_err());
    // World points only turn: a window turned 90° clockwise maps x to y.
    let turned = crop_from_mediapipe([0.0, 0.0], 1.0, FRAC_PI_2);
    let w = project_world_landmarks(&[1.0, 0.0, 0.3], &turned).expect("shape");
    assert!(near2([w[0][0], w[0][1]], [0.0, 1.0], 1e-6) && w[0][2] == 0.3);
    assert!(project_world_landmarks(&[1.0, 2.0], &turned).is_err());
}

/// The six best anchors of `pose_detection.tflite` on skimage's
/// astronaut (512×512, letterboxed to 224² in [-1, 1]), from
/// `python3 tools/mediapipe_pipeline_check.py --landmarks --top 6`:
/// (anchor index, raw score logit, 12 raw regressors).
#[rustfmt::skip]
const ASTRONAUT_ANCHORS: [(usize, f32, [f32; 12]); 6] = [
    (583, 1.483488, [0.8257689, -3.181362, 44.73498, 44.73486, -25.83774, 149.6739, 12.64398, -74.2114, -0.7433596, 22.68603, 26.38852, -141.4223]),
    (527, 1.081395, [0.6700511, 4.774317, 44.75568, 44.75552, -22.4726, 151.1692, 12.17959, -65.86399, -0.5867277, 28.5113, 23.27031, -130.5966]),
    (1718, 0.9644423, [4.127245, -5.50913, 44.85847, 44.82652, -18.52806, 147.1077, 18.61643, -79.22278, 4.423874, 18.89645, 28.57764, -146.399]),
    (585, 0.5805626, [-6.268382, -2.844843, 44.73369, 44.73349, -33.28708, 147.1156, 4.307253, -75.10033, -8.142881, 21.59369, 18.89868, -140.6564]),
    (1690, 0.5694202, [4.328362, 8.471923, 44.86454, 44.83248, -12.63767, 152.1924, 15.49567, -62.21142, 4.311188, 30.56332, 20.78582, -125.6009]),
    (581, 0.3901263, [7.211243, -2.328099, 44.73429, 44.73423, -18.57876, 154.1444, 20.49337, -72.14252, 5.786394, 24.88303, 33.13657, -141.3599]),
];

/// The full output arrays with only those anchors scoring.
fn astronaut_outputs(only_best: bool) -> (Vec<f32>, Vec<f32>) {
    let mut boxes = vec![0.0f32; 2254 * 12];
    let mut scores = vec![-100.0f32; 2254];
    let n = if only_best {
        1
    } else {
        ASTRONAUT_ANCHORS.len()
    };
    for &(i, logit, raw) in &ASTRONAUT_ANCHORS[..n] {
        boxes[i * 12..(i + 1) * 12].copy_from_slice(&raw);
        scores[i] = logit;
    }
    (boxes, scores)
}

#[test]
fn astronaut_pose_detection() {
    let anchors = ssd_anchors(&POSE_DETECTOR.anchors);
    let window = CropTransform::whole_image(512, 512);
    // The best anchor alone decodes to what the script printed:
    // box (161.0, 133.6)–(263.3, 235.9), keypoints (151.2, 534.1),
    // (239.2, 22.4), (208.6, 243.9), (270.6, −131.3).
    let (boxes, scores) = astronaut_outputs(true);
    let d = detect(&POSE_DETECTOR, &anchors, &boxes, &scores).expect("shape");
    assert_eq!(d.len(), 1);
    let best = d[0].to_image(&window);
    assert!(near(best.score, 0.815099, 1e-5));
    for (v, e) in best.bbox.iter().zip([161.0, 133.6, 263.3, 235.9]) {
        assert!(near(*v, e, 0.1), "{:?}", best.bbox);
    }
    for (k, e) in best.keypoints.iter().zip([
        [151.2, 534.1],
        [239.2, 22.4],
        [208.6, 243.9],
        [270.6, -131.3],
    ]) {
        assert!(near2(*k, e, 0.1), "{k:?}");
    }

    // All six pass the threshold (the last one's sigmoid is 0.596) and,
    // overlapping, blend into one detection.
    let (boxes, scores) = astronaut_outputs(false);
    let d = detect(&POSE_DETECTOR, &anchors, &boxes, &scores).expect("shape");
    assert_eq!(d.len(), 1);
    let person = d[0].to_image(&window);
    assert!(near(person.score, 0.815099, 1e-5));
    // What the data shows (tools/mediapipe_pipeline_check.py, drawn on the
    // image): the box spans mouth to neck ring, x 160–265, y 133–237; it
    // holds the chin at about (222, 175).
    let b = person.bbox;
    assert!(
        b[0] > 150.0 && b[1] > 125.0 && b[2] < 275.0 && b[3] < 245.0,
        "{b:?}"
    );
    assert!(inside([222.0, 175.0], b));
    // Keypoint 1 (size point) above the head, keypoint 2 (mid-shoulder)
    // on the neck ring between the shoulders, keypoint 0 (mid-hip) below
    // the picture.
    let k = &person.keypoints;
    assert!(k[1][1] < 40.0 && (200.0..280.0).contains(&k[1][0]), "{k:?}");
    assert!(near2(k[2], [209.0, 243.0], 10.0), "{k:?}");
    assert!(k[0][1] > 512.0);
}

/// Raw `pose_landmark_full.tflite` rows (x, y, z, visibility,
/// presence) for the astronaut, inside the ROI built from the best
/// anchor alone (same script): nose, left and right shoulder, the two
/// alignment points.
#[rustfmt::skip]
const ASTRONAUT_LANDMARKS: [(usize, [f32; 5]); 5] = [
    (0, [126.5214, 45.82467, -76.99674, 6.630966, 4.60355]),
    (11, [148.4435, 64.87318, -6.502593, 5.134119, 2.571486]),
    (12, [110.9756, 67.51465, -12.60178, 6.646006, 4.258894]),
    (33, [131.4828, 122.9339, 0.05489477, -20.15911, 19.40446]),
    (34, [127.962, 23.04695, 0.1701445, -20.18243, 19.38835]),
];

#[test]
fn astronaut_pose_landmarks() {
    let anchors = ssd_anchors(&POSE_DETECTOR.anchors);
    let (boxes, scores) = astronaut_outputs(true);
    let d = detect(&POSE_DETECTOR, &anchors, &boxes, &scores).expect("shape");
    let person = d[0].to_image(&CropTransform::whole_image(512, 512));
    let roi = pose_roi_from_detection(&person).expect("roi");
    // The script printed centre (151.23, 534.11), side 1298.11, MediaPipe
    // rotation 0.170218 and sampled the crop with rotation −0.170218.
    assert!(near2(roi.center, [151.23, 534.11], 0.05));
    assert!(near(roi.side, 1298.11, 0.1));
    assert!(near(roi.rotation, -0.170218, 1e-4));

    let mut raw = vec![0.0f32; 195];
    for &(i, row) in &ASTRONAUT_LANDMARKS {
        raw[i * 5..i * 5 + 5].copy_from_slice(&row);
    }
    let lm = project_landmarks(&POSE_LANDMARKS, &raw, &roi).expect("shape");
    // The nose lands on the astronaut's nose (about (222, 125) by eye).
    assert!(near2(lm[0].xy(), [214.4, 122.2], 0.2), "{:?}", lm[0]);
    assert!(inside(lm[0].xy(), [200.0, 105.0, 235.0, 140.0]));
    // Shoulders at the suit's shoulder seams, left on the image's right.
    assert!(near2(lm[11].xy(), [307.6, 236.2], 0.2) && near2(lm[12].xy(), [118.1, 217.2], 0.2));
    assert!(lm[0].visibility.is_some_and(|v| v > 0.99));
    // The model saw the body upright (33 → 34 nearly vertical in the
    // crop: 1° off), so the ROI's sign convention is MediaPipe's; the
    // next frame's ROI agrees with the detector's.
    let next = pose_roi_from_landmarks(&lm).expect("roi");
    assert!(near(next.rotation, roi.rotation, 0.05), "{next:?}");
    assert!(near(next.side, roi.side, 0.05 * roi.side));
}

/// The best anchor of `face_detection_short_range.tflite` on the
/// astronaut (letterboxed to 128² in [-1, 1]) and, inside the ROI built
/// from it, raw `face_landmark.tflite` rows of landmarks 1 (nose tip), 33
/// and 263 (the eyes' outer corners) and the raw face flag, from
/// `python3 tools/mediapipe_pipeline_check.py --face --top 4`.
#[rustfmt::skip]
const ASTRONAUT_FACE_ANCHOR: (usize, f32, [f32; 16]) = (143, 2.453855, [-3.769764, -3.868824, 23.11068, 23.11061, -8.302193, -10.8777, 2.817215, -8.691884, -3.42255, -5.027547, -4.471474, 0.2714195, -15.67706, -8.478078, 7.685539, -4.294913]);
#[rustfmt::skip]
const ASTRONAUT_FACE_LANDMARKS: [(usize, [f32; 3]); 3] = [
    (1, [95.63544, 99.13277, -32.23194]),
    (33, [47.40282, 66.03873, 4.74858]),
    (263, [133.3254, 54.80486, 5.232026]),
];
const ASTRONAUT_FACE_FLAG: f32 = 26.49973;

#[test]
fn astronaut_face() {
    let anchors = ssd_anchors(&FACE_DETECTOR.anchors);
    let (i, logit, row) = ASTRONAUT_FACE_ANCHOR;
    let mut boxes = vec![0.0f32; 896 * 16];
    let mut scores = vec![-100.0f32; 896];
    boxes[i * 16..(i + 1) * 16].copy_from_slice(&row);
    scores[i] = logit;
    let d = detect(&FACE_DETECTOR, &anchors, &boxes, &scores).expect("shape");
    assert_eq!(d.len(), 1);
    let face = d[0].to_image(&CropTransform::whole_image(512, 512));
    // The script printed box (178.7, 82.3)–(271.1, 174.7): the face from
    // brow to chin; eyes (206.8, 100.5), (251.3, 109.2), nose tip
    // (226.3, 123.9), mouth (222.1, 145.1).
    for (v, e) in face.bbox.iter().zip([178.7, 82.3, 271.1, 174.7]) {
        assert!(near(*v, e, 0.1), "{:?}", face.bbox);
    }
    for (k, e) in face
        .keypoints
        .iter()
        .zip([[206.8, 100.5], [251.3, 109.2], [226.3, 123.9]])
    {
        assert!(near2(*k, e, 0.1), "{k:?}");
        assert!(inside(*k, face.bbox));
    }
    // Its ROI: the box squared × 1.5, turned 0.194 rad (clockwise, as the
    // eyes run down to the right).
    let roi = face_roi_from_detection(&face).expect("roi");
    assert!(near2(roi.center, [224.92, 128.52], 0.05));
    assert!(near(roi.side, 138.66, 0.05));
    assert!(near(mediapipe_rotation(&roi), 0.194102, 1e-4));
    // The landmarks land on the nose tip and the outer eye corners (checked
    // by eye on the image).
    assert!(sigmoid(ASTRONAUT_FACE_FLAG) > PRESENCE_THRESHOLD);
    let mut raw = vec![0.0f32; 468 * 3];
    for &(k, r) in &ASTRONAUT_FACE_LANDMARKS {
        raw[k * 3..k * 3 + 3].copy_from_slice(&r);
    }
    let lm = project_landmarks(&FACE_LANDMARKS, &raw, &roi).expect("shape");
    assert!(near2(lm[1].xy(), [224.2, 130.7], 0.2), "{:?}", lm[1]);
    assert!(near2(lm[33].xy(), [194.7, 100.5], 0.2), "{:?}", lm[33]);
    assert!(near2(lm[263].xy(), [257.1, 104.5], 0.2), "{:?}", lm[263]);
    // Directions turn by MediaPipe's angle from crop to image (clockwise
    // on screen): the corners' line slopes −7.4° in the crop, 3.7° in the
    // image (the detector's eye keypoints overstate the tilt, 11°).
    let tilt = |a: [f32; 2], b: [f32; 2]| ((b[1] - a[1]) / (b[0] - a[0])).atan();
    let in_image = tilt(lm[33].xy(), lm[263].xy());
    let in_crop = tilt([47.40282, 66.03873], [133.3254, 54.80486]);
    assert!(near(in_image - in_crop, mediapipe_rotation(&roi), 0.01));
}

#[test]
fn hand_window_from_the_body_covers_the_fingers_upright() {
    // A hand hanging down: wrist at (100, 100), knuckles 30 px below.
    let roi = hand_roi_from_pose([100.0, 100.0], [105.0, 130.0], [90.0, 130.0]).expect("roi");
    // Upright in the crop: the fingers (further down on screen) are up.
    let fingers = roi.to_crop([100.0, 160.0]);
    let wrist = roi.to_crop([100.0, 100.0]);
    assert!(
        fingers[1] < wrist[1],
        "fingers {fingers:?} should be above the wrist {wrist:?}"
    );
    assert!(
        wrist[1] < 1.0 && fingers[1] > -1.0,
        "both inside: {wrist:?} {fingers:?}"
    );
    assert!(hand_roi_from_pose([1.0, 1.0], [1.0, 1.0], [1.0, 1.0]).is_none());
    assert!(hand_roi_from_pose([f32::NAN, 1.0], [1.0, 1.0], [2.0, 1.0]).is_none());
}

#[test]
fn heatmap_refinement_moves_a_confident_point_to_the_peak() {
    // One landmark at input pixel (40, 40) of 64 → heatmap cell (10, 10)
    // of 16 × 16; a confident blob centred on cell (11, 12).
    let (rows, cols) = (16, 16);
    let mut heatmap = vec![-30.0f32; rows * cols];
    heatmap[12 * cols + 11] = 10.0;
    let mut raw = vec![40.0, 40.0, 0.0];
    refine_from_heatmap(&mut raw, 3, 64, &heatmap, rows, cols).expect("shape");
    // Weighted mean ≈ the peak cell, in input pixels: 11 / 16 · 64 = 44.
    assert!(
        near(raw[0], 44.0, 0.01) && near(raw[1], 48.0, 0.01),
        "{raw:?}"
    );
    // Nothing confident nearby: unchanged.
    let mut raw = vec![40.0, 40.0, 0.0];
    refine_from_heatmap(&mut raw, 3, 64, &vec![-10.0; rows * cols], rows, cols).expect("shape");
    assert_eq!(raw, vec![40.0, 40.0, 0.0]);
    assert!(refine_from_heatmap(&mut raw, 3, 64, &[0.0; 3], rows, cols).is_err());
}

#[test]
fn face_window_from_the_body_is_level_and_holds_the_face() {
    // A frontal face: eyes at y = 100, ears at y = 105, nose below.
    let mut face = [[0.0f32; 2]; 11];
    face[0] = [100.0, 115.0]; // nose
    face[2] = [110.0, 100.0]; // left eye (image right)
    face[5] = [90.0, 100.0]; // right eye
    face[7] = [125.0, 105.0]; // left ear
    face[8] = [75.0, 105.0]; // right ear
    for (i, p) in face.iter_mut().enumerate() {
        if *p == [0.0, 0.0] {
            *p = [100.0 + i as f32, 110.0];
        }
    }
    let roi = face_roi_from_pose(&face).expect("roi");
    assert!(roi.rotation.abs() < 1e-6, "eyes level: {}", roi.rotation);
    assert!(near(roi.side, 100.0, 1e-3));
    for p in face {
        let c = roi.to_crop(p);
        assert!(c[0].abs() < 1.0 && c[1].abs() < 1.0, "{p:?} outside: {c:?}");
    }
    assert!(face_roi_from_pose(&face[..6]).is_none());
}
