//! Images of a dataset cut into the experts' part crops (the crop geometry
//! itself is `furpe::crop`): decoding with errors that name the file, and
//! stacking sampled crops into a batch tensor.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::{backend::Backend, Tensor, TensorData};
use furpe::crop::CropTransform;

/// Extensions of the image files a folder is read for.
pub const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// The images of a folder (by extension, any case), sorted by name; a
/// folder without any is an error naming it.
pub fn image_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_lowercase().as_str()))
        })
        .collect();
    files.sort();
    anyhow::ensure!(
        !files.is_empty(),
        "{}: no .png or .jpg images",
        dir.display()
    );
    Ok(files)
}

/// Decodes one image of a run over several (`many`): an undecodable one is
/// reported, added to `unreadable` and skipped (`None`), so the others are
/// still processed; a run over a single image fails on it instead.
pub fn open_or_skip(
    path: &Path,
    many: bool,
    unreadable: &mut Vec<String>,
) -> anyhow::Result<Option<image::RgbImage>> {
    match image::open(path) {
        Ok(image) => Ok(Some(image.to_rgb8())),
        Err(e) if many => {
            eprintln!("{}: cannot decode image ({e}); skipped", path.display());
            unreadable.push(path.display().to_string());
            Ok(None)
        }
        Err(e) => Err(e).with_context(|| format!("{}: cannot decode image", path.display())),
    }
}

/// An RGB8 image in memory.
pub struct RgbImage {
    pub pixels: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

impl RgbImage {
    /// Decodes `path` (PNG or JPEG); a missing or corrupt file is an error naming it.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let image = image::ImageReader::open(path)
            .with_context(|| format!("{}: cannot open image", path.display()))?
            .with_guessed_format()
            .with_context(|| format!("{}: cannot read image", path.display()))?
            .decode()
            .with_context(|| format!("{}: corrupt or unsupported image", path.display()))?
            .into_rgb8();
        let (width, height) = image.dimensions();
        Ok(Self {
            pixels: image.into_raw(),
            width,
            height,
        })
    }

    /// The window `crop` sampled at `size × size`: `[3, size, size]` flattened, values in [0, 1].
    pub fn crop(&self, crop: &CropTransform, size: usize) -> Vec<f32> {
        crop.sample_rgb(&self.pixels, self.width, self.height, size)
    }
}

/// Stacks crops (`[3, size, size]` each) into `[N, 3, size, size]`.
pub fn batch<B: Backend>(crops: &[&[f32]], size: usize, device: &B::Device) -> Tensor<B, 4> {
    let data: Vec<f32> = crops.iter().flat_map(|c| c.iter().copied()).collect();
    Tensor::from_data(
        TensorData::new(data, [crops.len(), 3, size, size]).convert::<B::FloatElem>(),
        device,
    )
}
