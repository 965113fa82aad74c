//! Images of a dataset cut into the experts' part crops (the crop geometry
//! itself is `furpe::crop`): decoding with errors that name the file, and
//! stacking sampled crops into a batch tensor.

use std::path::Path;

use anyhow::Context;
use burn::tensor::{backend::Backend, Tensor, TensorData};
use furpe::crop::CropTransform;

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
