//! `furpe import …`: bring a researcher's data into the dataset format
//! (`DIR/annotations.jsonl`, see `furpe::dataset`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use furpe::dataset::expose::read_curated_fits;
use furpe::dataset::openpose::{box_from_keypoints, parse_openpose_json};
use furpe::dataset::{write_annotations, Annotation, GroundTruth};
use furpe::npz::NpzArchive;

#[derive(Debug, clap::Subcommand)]
pub enum ImportCommand {
    /// Images plus OpenPose `--write_json` output (`<image stem>_keypoints.json`).
    Openpose {
        /// Folder of images (.png, .jpg, .jpeg).
        #[arg(long)]
        images: PathBuf,
        /// Folder of OpenPose JSON files.
        #[arg(long)]
        keypoints: PathBuf,
        /// Dataset directory to write (annotations.jsonl).
        #[arg(long)]
        out: PathBuf,
        /// One record per detected person instead of the largest person only.
        #[arg(long)]
        all_people: bool,
        /// Keypoints above this confidence define the person box.
        #[arg(long, default_value_t = 0.1)]
        min_confidence: f32,
        /// Replace an existing dataset in OUT (its annotations, and the
        /// labels and selection made from them, are removed).
        #[arg(long)]
        force: bool,
    },
    /// ExPose curated fits (`train.npz` / `val.npz`) with their images.
    Expose {
        #[arg(long)]
        npz: PathBuf,
        /// Folder the fits' `img_fns` are relative to.
        #[arg(long)]
        images: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// The fits' hand poses are absolute (no mean hand to add).
        #[arg(long)]
        flat_hand_mean: bool,
        /// Replace an existing dataset in OUT (see `import openpose --force`).
        #[arg(long)]
        force: bool,
    },
}

pub fn run(command: ImportCommand) -> anyhow::Result<()> {
    let (out, force) = match &command {
        ImportCommand::Openpose { out, force, .. } | ImportCommand::Expose { out, force, .. } => {
            (out.clone(), *force)
        }
    };
    let path = out.join("annotations.jsonl");
    // Refused before any work, so a long import never ends in this error.
    if path.exists() && !force {
        anyhow::bail!(
            "{}: already exists; pass --force to replace that dataset (its labels and selection are removed with it) or choose another --out",
            path.display()
        );
    }
    let (mut annotations, summary) = match command {
        ImportCommand::Openpose {
            images,
            keypoints,
            all_people,
            min_confidence,
            ..
        } => import_openpose(&images, &keypoints, all_people, min_confidence)?,
        ImportCommand::Expose {
            npz,
            images,
            flat_hand_mean,
            ..
        } => import_expose(&npz, &images, flat_hand_mean)?,
    };
    // Records name their images relative to the dataset directory (the
    // format's contract), whatever folder the import ran from.
    for a in &mut annotations {
        a.image = relative_to(&out, Path::new(&a.image))?;
    }
    if annotations.is_empty() {
        anyhow::bail!("nothing to import: {summary}");
    }
    let _lock = crate::rundir::DirLock::acquire(&out, "dataset")?;
    // Labels and a selection made from other annotations would no longer
    // match them (rows are image indices).
    for derived in ["labels", "selection.json"] {
        let p = out.join(derived);
        let removed = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        match removed {
            Ok(()) => eprintln!(
                "removed {} (made from the replaced annotations)",
                p.display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("{}: cannot remove", p.display())),
        }
    }
    write_annotations(&path, &annotations)?;
    println!(
        "wrote {} ({} records): {summary}",
        path.display(),
        annotations.len()
    );
    Ok(())
}

fn import_openpose(
    images: &Path,
    keypoints: &Path,
    all_people: bool,
    min_confidence: f32,
) -> anyhow::Result<(Vec<Annotation>, String)> {
    let files = list_images(images)?;
    let (mut without_json, mut without_people) = (0, 0);
    let mut annotations = Vec::new();
    for image in &files {
        let stem = image
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let json = [format!("{stem}_keypoints.json"), format!("{stem}.json")]
            .into_iter()
            .map(|name| keypoints.join(name))
            .find(|p| p.exists());
        let Some(json) = json else {
            without_json += 1;
            continue;
        };
        let (width, height) = image_size(image)?;
        let text = std::fs::read_to_string(&json)
            .with_context(|| format!("{}: cannot read", json.display()))?;
        let people =
            parse_openpose_json(&text, &json.display().to_string()).map_err(anyhow::Error::msg)?;
        let mut records: Vec<Annotation> = people
            .into_iter()
            .filter_map(|points| {
                let person_box =
                    box_from_keypoints(&points[..25], min_confidence, 0.1, width, height)?;
                Some(Annotation {
                    image: image.display().to_string(),
                    width,
                    height,
                    person_box,
                    keypoints: points,
                    keypoint_source: "openpose".into(),
                    ground_truth: None,
                })
            })
            .collect();
        if records.is_empty() {
            without_people += 1;
            continue;
        }
        if !all_people {
            let area = |a: &Annotation| {
                (a.person_box[2] - a.person_box[0]) * (a.person_box[3] - a.person_box[1])
            };
            records.sort_by(|a, b| area(b).total_cmp(&area(a)));
            records.truncate(1);
        }
        annotations.extend(records);
    }
    let summary = format!(
        "{} images, {without_json} without a keypoint file, {without_people} without a usable person",
        files.len()
    );
    Ok((annotations, summary))
}

fn import_expose(
    npz: &Path,
    images: &Path,
    flat_hand_mean: bool,
) -> anyhow::Result<(Vec<Annotation>, String)> {
    let fits = read_curated_fits(&mut NpzArchive::open(npz)?)?;
    let mut annotations = Vec::with_capacity(fits.len());
    for fit in fits {
        let image = images.join(&fit.image);
        let (width, height) = image_size(&image)?;
        let person_box = box_from_keypoints(&fit.keypoints[..25], 0.1, 0.1, width, height)
            .unwrap_or([0.0, 0.0, width as f32, height as f32]);
        annotations.push(Annotation {
            image: image.display().to_string(),
            width,
            height,
            person_box,
            keypoints: fit.keypoints,
            keypoint_source: "expose-curated-fits".into(),
            ground_truth: Some(GroundTruth::new(&fit.params, None, flat_hand_mean)),
        });
    }
    let summary = format!("{} curated fits from {}", annotations.len(), npz.display());
    Ok((annotations, summary))
}

/// Images in a folder, sorted; an empty or missing folder is an error.
pub fn list_images(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot list folder", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let ext = p
                .extension()
                .map(|e| e.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            matches!(ext.as_str(), "png" | "jpg" | "jpeg")
        })
        .collect();
    files.sort();
    if files.is_empty() {
        anyhow::bail!(
            "{}: no images (.png, .jpg, .jpeg) in this folder",
            dir.display()
        );
    }
    Ok(files)
}

/// `file` as a path from `dir` (`../frames/a.jpg`), or absolute when the
/// paths hold `..` (a lexical difference could then cross a symlink wrongly).
fn relative_to(dir: &Path, file: &Path) -> anyhow::Result<String> {
    use std::path::Component;
    let absolute = |p: &Path| {
        std::path::absolute(p).with_context(|| format!("{}: no absolute path", p.display()))
    };
    let (dir, file) = (absolute(dir)?, absolute(file)?);
    let lexical = |p: &Path| {
        p.components()
            .all(|c| !matches!(c, Component::ParentDir | Component::CurDir))
    };
    if !lexical(&dir) || !lexical(&file) {
        return Ok(file.display().to_string());
    }
    let d: Vec<Component> = dir.components().collect();
    let f: Vec<Component> = file.components().collect();
    let common = d.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let mut relative = PathBuf::new();
    for _ in common..d.len() {
        relative.push("..");
    }
    for c in &f[common..] {
        relative.push(c);
    }
    Ok(relative.display().to_string())
}

/// Width and height from the image header; a corrupt file is an error naming it.
pub fn image_size(path: &Path) -> anyhow::Result<(u32, u32)> {
    image::ImageReader::open(path)
        .with_context(|| format!("{}: cannot open image", path.display()))?
        .with_guessed_format()
        .with_context(|| format!("{}: cannot read image", path.display()))?
        .into_dimensions()
        .with_context(|| format!("{}: corrupt or unsupported image", path.display()))
}
