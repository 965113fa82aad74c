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
    match decode_rgb(path) {
        Ok(image) => Ok(Some(image)),
        Err(e) if many => {
            eprintln!("{e:#}; skipped");
            unreadable.push(path.display().to_string());
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The one image decoder of the `furpe` command: a PNG or JPEG file as
/// RGB8. Errors name the file; a JPEG cut short (its entropy-coded data
/// never reaches the end-of-image marker), which the decoder would fill
/// with grey silently, is refused.
pub fn decode_rgb(path: &Path) -> anyhow::Result<image::RgbImage> {
    let bytes =
        std::fs::read(path).with_context(|| format!("{}: cannot open image", path.display()))?;
    if let Some(why) = truncated_jpeg(&bytes) {
        anyhow::bail!("{}: corrupt image: {why}", path.display());
    }
    let image = image::ImageReader::new(std::io::Cursor::new(&bytes))
        .with_guessed_format()
        .with_context(|| format!("{}: cannot read image", path.display()))?
        .decode()
        .with_context(|| format!("{}: corrupt or unsupported image", path.display()))?;
    Ok(image.into_rgb8())
}

/// For a JPEG, why it is cut short, if it is. Entropy-coded data cannot
/// hold the byte pair FF D9 (a data FF is followed by 00), so a complete
/// file has the end-of-image marker after its first start-of-scan; marker
/// pairs before that (an EXIF thumbnail's) do not count, bytes after it (a
/// camera's trailer) are allowed.
fn truncated_jpeg(bytes: &[u8]) -> Option<&'static str> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let pair = |a: u8, b: u8| bytes.windows(2).position(|w| w == [a, b]);
    let Some(scan) = pair(0xFF, 0xDA) else {
        return Some("a JPEG without image data (no start-of-scan marker)");
    };
    let after = &bytes[scan + 2..];
    if after.windows(2).any(|w| w == [0xFF, 0xD9]) {
        None
    } else {
        Some("the JPEG is truncated (its data ends before the end-of-image marker)")
    }
}

/// Writes an RGB8 image as PNG atomically: a failure (a full disk) leaves
/// neither a half-written file nor a temporary one.
pub fn save_png(image: &image::RgbImage, path: &Path) -> anyhow::Result<()> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Png)
        .with_context(|| format!("{}: encoding PNG", path.display()))?;
    furpe::io::write_bytes_atomic(path, bytes.get_ref())
        .with_context(|| format!("{}: cannot write", path.display()))
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
        let image = decode_rgb(path)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg() -> Vec<u8> {
        let image = image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 5) as u8, 90])
        });
        let mut bytes = std::io::Cursor::new(Vec::new());
        image
            .write_to(&mut bytes, image::ImageFormat::Jpeg)
            .unwrap();
        bytes.into_inner()
    }

    #[test]
    fn a_truncated_jpeg_is_refused_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("furpe-jpeg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let full = jpeg();
        let whole = dir.join("whole.jpg");
        std::fs::write(&whole, &full).unwrap();
        assert_eq!(decode_rgb(&whole).unwrap().dimensions(), (64, 48));
        // A trailer after the end-of-image marker is fine (cameras write them).
        let trailer = dir.join("trailer.jpg");
        std::fs::write(&trailer, [full.as_slice(), b"trailer"].concat()).unwrap();
        assert!(decode_rgb(&trailer).is_ok());

        let cut = dir.join("cut.jpg");
        std::fs::write(&cut, &full[..full.len() * 2 / 3]).unwrap();
        // The decoder alone fills the missing rows and reports nothing.
        assert!(image::open(&cut).is_ok());
        let msg = format!("{:#}", decode_rgb(&cut).unwrap_err());
        assert!(
            msg.contains("cut.jpg") && msg.contains("truncated"),
            "{msg}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
