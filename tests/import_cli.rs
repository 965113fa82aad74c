//! `furpe import`: OpenPose JSON folders and ExPose curated fits into the
//! dataset format, and the errors bad inputs must give.

mod common;

use std::path::Path;

use common::{fixtures, scratch};
use furpe::dataset::read_annotations;

fn furpe(args: &[&str]) -> (bool, String) {
    common::run_furpe(args)
}

fn write_png(path: &Path, width: u32, height: u32) {
    image::RgbImage::from_pixel(width, height, image::Rgb([40, 80, 120]))
        .save(path)
        .expect("png");
}

/// An OpenPose person: body points on a vertical line starting at (x, y).
fn person(x: f32, y: f32, spread: f32) -> serde_json::Value {
    let body: Vec<f32> = (0..25)
        .flat_map(|i| [x + (i % 3) as f32 * spread, y + i as f32 * spread, 0.8])
        .collect();
    let hand: Vec<f32> = (0..21).flat_map(|i| [x + i as f32, y, 0.5]).collect();
    serde_json::json!({"person_id": [-1], "pose_keypoints_2d": body, "hand_left_keypoints_2d": hand,
        "hand_right_keypoints_2d": hand, "face_keypoints_2d": []})
}

#[test]
fn openpose_folder_imports_largest_person() {
    let dir = scratch("import-op");
    let (images, json) = (dir.join("images"), dir.join("json"));
    std::fs::create_dir_all(&images).unwrap();
    std::fs::create_dir_all(&json).unwrap();
    for name in ["a", "b", "c"] {
        write_png(&images.join(format!("{name}.png")), 320, 240);
    }
    let file = |people: Vec<serde_json::Value>| {
        serde_json::json!({"version": 1.3, "people": people}).to_string()
    };
    std::fs::write(
        json.join("a_keypoints.json"),
        file(vec![person(10.0, 10.0, 1.0), person(100.0, 20.0, 5.0)]),
    )
    .unwrap();
    std::fs::write(json.join("b_keypoints.json"), file(vec![])).unwrap();
    // c has no keypoint file.
    let out = dir.join("ds");
    let (ok, text) = furpe(&[
        "import",
        "openpose",
        "--images",
        images.to_str().unwrap(),
        "--keypoints",
        json.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    assert!(
        text.contains("3 images, 1 without a keypoint file, 1 without a usable person"),
        "{text}"
    );
    let records = read_annotations(&out.join("annotations.jsonl")).unwrap();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(
        (r.width, r.height, r.keypoint_source.as_str()),
        (320, 240, "openpose")
    );
    assert!(
        r.person_box[0] < 100.0 && r.person_box[3] > 120.0 + 20.0,
        "the larger person: {:?}",
        r.person_box
    );
    assert_eq!(r.keypoints[25 + 3], [103.0, 20.0, 0.5]);
    assert_eq!(r.keypoints[136], [0.0; 3], "face block missing -> zeros");
    // Image paths are relative to the dataset directory, also when the import
    // ran elsewhere with relative paths.
    assert_eq!(r.image, "../images/a.png");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_furpe"))
        .current_dir(&dir)
        .args([
            "import",
            "openpose",
            "--images",
            "images",
            "--keypoints",
            "json",
        ])
        .args(["--out", "nested/ds"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let nested = dir.join("nested/ds");
    let records = read_annotations(&nested.join("annotations.jsonl")).unwrap();
    assert_eq!(records[0].image, "../../images/a.png");
    assert!(nested.join(&records[0].image).is_file());

    // An existing dataset is never replaced unasked; with --force its
    // labels (made from the old annotations) go with it.
    let again = |force: bool| {
        let mut args = vec![
            "import",
            "openpose",
            "--all-people",
            "--images",
            images.to_str().unwrap(),
            "--keypoints",
            json.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        if force {
            args.push("--force");
        }
        furpe(&args)
    };
    let before = std::fs::read(out.join("annotations.jsonl")).unwrap();
    std::fs::create_dir_all(out.join("labels")).unwrap();
    let (ok, text) = again(false);
    assert!(!ok && text.contains("--force"), "{text}");
    assert_eq!(
        std::fs::read(out.join("annotations.jsonl")).unwrap(),
        before
    );
    let (ok, text) = again(true);
    assert!(ok && !out.join("labels").exists(), "{text}");
    assert_eq!(
        read_annotations(&out.join("annotations.jsonl"))
            .unwrap()
            .len(),
        2
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_openpose_inputs_give_clear_errors() {
    let dir = scratch("import-bad");
    let (images, json, empty) = (dir.join("images"), dir.join("json"), dir.join("empty"));
    for d in [&images, &json, &empty] {
        std::fs::create_dir_all(d).unwrap();
    }
    let out = dir.join("ds");
    let args = |imgs: &Path| {
        vec![
            "import".to_string(),
            "openpose".into(),
            "--images".into(),
            imgs.display().to_string(),
            "--keypoints".into(),
            json.display().to_string(),
            "--out".into(),
            out.display().to_string(),
        ]
    };
    let run = |imgs: &Path| furpe(&args(imgs).iter().map(String::as_str).collect::<Vec<_>>());

    let (ok, text) = run(&empty);
    assert!(
        !ok && text.contains("empty") && text.contains("no images"),
        "{text}"
    );

    write_png(&images.join("a.png"), 64, 64);
    std::fs::write(
        json.join("a_keypoints.json"),
        "{\"people\": [{\"pose_keypoints_2d\": [1, 2, 3]}]}",
    )
    .unwrap();
    let (ok, text) = run(&images);
    assert!(
        !ok && text.contains("a_keypoints.json")
            && text.contains("pose_keypoints_2d")
            && text.contains("75"),
        "{text}"
    );

    std::fs::write(json.join("a_keypoints.json"), "{not json").unwrap();
    let (ok, text) = run(&images);
    assert!(
        !ok && text.contains("a_keypoints.json") && text.contains("not valid JSON"),
        "{text}"
    );

    std::fs::write(
        json.join("a_keypoints.json"),
        serde_json::json!({"people": [person(5.0, 5.0, 1.0)]}).to_string(),
    )
    .unwrap();
    std::fs::write(images.join("a.png"), b"\x89PNG\r\n\x1a\ngarbage").unwrap();
    let (ok, text) = run(&images);
    assert!(!ok && text.contains("a.png"), "{text}");
    assert!(
        !out.join("annotations.jsonl").exists(),
        "nothing written on error"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn expose_curated_fits_import_with_ground_truth() {
    let dir = scratch("import-expose");
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    for i in 0..3 {
        write_png(&images.join(format!("img_{i}.png")), 128, 96);
    }
    for (file, joints) in [("expose_curated_55.npz", 55), ("expose_curated_53.npz", 53)] {
        let out = dir.join(format!("ds{joints}"));
        let npz = fixtures().join(file);
        let (ok, text) = furpe(&[
            "import",
            "expose",
            "--npz",
            npz.to_str().unwrap(),
            "--images",
            images.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{file}: {text}");
        let records = read_annotations(&out.join("annotations.jsonl")).unwrap();
        assert_eq!(records.len(), 3);
        let mut archive = furpe::npz::NpzArchive::open(&npz).unwrap();
        let pose = archive
            .read_f32("pose", &[Some(3), Some(joints), Some(3)])
            .unwrap()
            .data;
        let kp = archive
            .read_f32("keypoints2D", &[Some(3), Some(137), Some(3)])
            .unwrap()
            .data;
        for (i, r) in records.iter().enumerate() {
            let p = r.ground_truth.as_ref().unwrap().smplx_params(file).unwrap();
            let base = i * joints * 3;
            assert_eq!(p.global_orient[0], pose[base..base + 3]);
            assert_eq!(p.jaw_pose[0], pose[base + 66..base + 69]);
            let hands = base + if joints == 55 { 75 } else { 69 };
            assert_eq!(p.right_hand_pose[0], pose[hands + 45..hands + 90]);
            assert_eq!(
                r.keypoints[7],
                [kp[i * 411 + 21], kp[i * 411 + 22], kp[i * 411 + 23]]
            );
            assert!(r.image.ends_with(&format!("img_{i}.png")));
        }
    }
    // A fits file whose image is missing names the image.
    std::fs::remove_file(images.join("img_1.png")).unwrap();
    let (ok, text) = furpe(&[
        "import",
        "expose",
        "--npz",
        fixtures().join("expose_curated_55.npz").to_str().unwrap(),
        "--images",
        images.to_str().unwrap(),
        "--out",
        dir.join("x").to_str().unwrap(),
    ]);
    assert!(!ok && text.contains("img_1.png"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}
