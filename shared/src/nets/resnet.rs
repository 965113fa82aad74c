//! ResNet-18/34/50 with torchvision's parameter names, so ImageNet and expert
//! checkpoints load by name: `conv1`, `bn1`, `layer{1..4}.{i}.{conv1,bn1,conv2,
//! bn2,conv3,bn3}`, `layer{k}.0.downsample.{0,1}` (here `downsample.conv` /
//! `downsample.bn`, mapped by the importer) and an optional `fc`.
//!
//! Depth and width are both configurable: `base_width` 64 is the published
//! network; 8 or 16 gives the same topology small enough to train on a CPU.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{backend::Backend, Tensor};

use super::batch_norm::{BatchNorm, BatchNormConfig};

/// Residual block family: two 3×3 convolutions (ResNet-18/34) or the
/// 1×1–3×3–1×1 bottleneck with 4× channel expansion (ResNet-50).
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Basic,
    Bottleneck,
}

impl BlockKind {
    /// Output channels per "planes" unit.
    pub fn expansion(&self) -> usize {
        match self {
            BlockKind::Basic => 1,
            BlockKind::Bottleneck => 4,
        }
    }
}

/// [`ResNet`] configuration.
#[derive(Config, Debug)]
pub struct ResNetConfig {
    /// Block family.
    pub block: BlockKind,
    /// Blocks per stage (`layer1`..`layer4`).
    pub layers: [usize; 4],
    /// Channels of the stem and of `layer1`'s planes; 64 in the published nets.
    #[config(default = 64)]
    pub base_width: usize,
    /// Input image channels.
    #[config(default = 3)]
    pub in_channels: usize,
    /// Classifier `fc` after pooling; `None` for a backbone.
    pub num_classes: Option<usize>,
}

impl ResNetConfig {
    /// ResNet-18: basic blocks [2, 2, 2, 2], 512 features at width 64.
    pub fn resnet18() -> Self {
        Self::new(BlockKind::Basic, [2, 2, 2, 2])
    }

    /// ResNet-34: basic blocks [3, 4, 6, 3], 512 features at width 64.
    pub fn resnet34() -> Self {
        Self::new(BlockKind::Basic, [3, 4, 6, 3])
    }

    /// ResNet-50: bottlenecks [3, 4, 6, 3], 2048 features at width 64.
    pub fn resnet50() -> Self {
        Self::new(BlockKind::Bottleneck, [3, 4, 6, 3])
    }

    /// Channels of the pooled feature (`layer4`'s output).
    pub fn out_channels(&self) -> usize {
        self.base_width * 8 * self.block.expansion()
    }

    /// Widths and depths in range (see [`super::in_range`]); `name` prefixes
    /// the error.
    pub fn check(&self, name: &str) -> Result<(), String> {
        super::in_range(&format!("{name}.base_width"), self.base_width, 1, 512)?;
        super::in_range(&format!("{name}.in_channels"), self.in_channels, 1, 64)?;
        for &blocks in &self.layers {
            super::in_range(&format!("{name}.layers"), blocks, 1, 64)?;
        }
        if let Some(n) = self.num_classes {
            super::in_range(&format!("{name}.num_classes"), n, 1, 100_000)?;
        }
        Ok(())
    }

    /// Channels of `layer2`'s output.
    pub fn layer2_channels(&self) -> usize {
        self.base_width * 2 * self.block.expansion()
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> ResNet<B> {
        let w = self.base_width;
        let conv1 = Conv2dConfig::new([self.in_channels, w], [7, 7])
            .with_stride([2, 2])
            .with_padding(PaddingConfig2d::Explicit(3, 3, 3, 3))
            .with_bias(false)
            .init(device);
        let mut in_channels = w;
        let mut stages = Vec::with_capacity(4);
        for (stage, &blocks) in self.layers.iter().enumerate() {
            let planes = w << stage;
            let stride = if stage == 0 { 1 } else { 2 };
            let mut layer = Vec::with_capacity(blocks);
            for i in 0..blocks {
                let block = BlockConfig {
                    kind: self.block,
                    in_channels,
                    planes,
                    stride: if i == 0 { stride } else { 1 },
                };
                layer.push(block.init(device));
                in_channels = planes * self.block.expansion();
            }
            stages.push(layer);
        }
        let mut stages = stages.into_iter();
        let mut next = || stages.next().unwrap_or_default();
        ResNet {
            conv1,
            bn1: BatchNormConfig::new(w).init(device),
            maxpool: MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
            layer1: next(),
            layer2: next(),
            layer3: next(),
            layer4: next(),
            avgpool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            fc: self
                .num_classes
                .map(|n| LinearConfig::new(in_channels, n).init(device)),
        }
    }
}

/// A ResNet: stem, four stages of residual blocks, global average pooling,
/// optional classifier.
///
/// The published nets pool with `AvgPool2d(7)`, which equals global
/// average pooling on 224×224 inputs; global pooling also serves other sizes.
#[derive(Module, Debug)]
pub struct ResNet<B: Backend> {
    pub conv1: Conv2d<B>,
    pub bn1: BatchNorm<B>,
    pub maxpool: MaxPool2d,
    pub layer1: Vec<ResidualBlock<B>>,
    pub layer2: Vec<ResidualBlock<B>>,
    pub layer3: Vec<ResidualBlock<B>>,
    pub layer4: Vec<ResidualBlock<B>>,
    pub avgpool: AdaptiveAvgPool2d,
    pub fc: Option<Linear<B>>,
}

/// The pooled feature and the last feature map.
#[derive(Debug, Clone)]
pub struct ResNetFeatures<B: Backend> {
    /// `[batch, C]`
    pub pooled: Tensor<B, 2>,
    /// `[batch, C, H/32, W/32]`
    pub map: Tensor<B, 4>,
}

impl<B: Backend> ResNet<B> {
    /// `[batch, in_channels, H, W]` → pooled feature `[batch, C]`.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.pool(self.forward_map(images))
    }

    /// Pooled feature and the `layer4` map.
    pub fn forward_features(&self, images: Tensor<B, 4>) -> ResNetFeatures<B> {
        let map = self.forward_map(images);
        ResNetFeatures {
            pooled: self.pool(map.clone()),
            map,
        }
    }

    /// `[batch, in_channels, H, W]` → `[batch, C, H/32, W/32]`.
    pub fn forward_map(&self, images: Tensor<B, 4>) -> Tensor<B, 4> {
        self.forward_layer2_and_map(images).1
    }

    /// `layer2`'s map `[batch, 2w·e, H/8, W/8]` (fine enough to say where
    /// a joint is) and the last one `[batch, C, H/32, W/32]`, in one pass.
    pub fn forward_layer2_and_map(&self, images: Tensor<B, 4>) -> (Tensor<B, 4>, Tensor<B, 4>) {
        let x = relu(self.bn1.forward(self.conv1.forward(images))); // [batch, w, H/2, W/2]
        let mut x = self.maxpool.forward(x); // [batch, w, H/4, W/4]
        for block in self.layer1.iter().chain(&self.layer2) {
            x = block.forward(x);
        }
        let layer2 = x.clone(); // [batch, 2w·e, H/8, W/8]
        for block in self.layer3.iter().chain(&self.layer4) {
            x = block.forward(x);
        }
        (layer2, x)
    }

    /// Global average pooling, `[batch, C, h, w]` → `[batch, C]`.
    pub fn pool(&self, map: Tensor<B, 4>) -> Tensor<B, 2> {
        let [batch, channels, _, _] = map.dims();
        self.avgpool.forward(map).reshape([batch, channels])
    }

    /// Classifier logits `[batch, num_classes]`; `None` without `fc`.
    pub fn classify(&self, images: Tensor<B, 4>) -> Option<Tensor<B, 2>> {
        let fc = self.fc.as_ref()?;
        Some(fc.forward(self.forward(images)))
    }

    /// Channels of the pooled feature.
    pub fn out_channels(&self) -> usize {
        self.layer4
            .last()
            .map(ResidualBlock::out_channels)
            .unwrap_or_else(|| self.bn1.gamma.shape()[0])
    }
}

/// One residual block; `conv3`/`bn3` exist for bottlenecks only, and
/// `downsample` where the shortcut changes stride or width.
#[derive(Module, Debug)]
pub struct ResidualBlock<B: Backend> {
    pub conv1: Conv2d<B>,
    pub bn1: BatchNorm<B>,
    pub conv2: Conv2d<B>,
    pub bn2: BatchNorm<B>,
    pub conv3: Option<Conv2d<B>>,
    pub bn3: Option<BatchNorm<B>>,
    pub downsample: Option<Downsample<B>>,
}

/// The projection shortcut (torchvision's `downsample.0` / `downsample.1`).
#[derive(Module, Debug)]
pub struct Downsample<B: Backend> {
    pub conv: Conv2d<B>,
    pub bn: BatchNorm<B>,
}

struct BlockConfig {
    kind: BlockKind,
    in_channels: usize,
    planes: usize,
    stride: usize,
}

impl BlockConfig {
    fn init<B: Backend>(&self, device: &B::Device) -> ResidualBlock<B> {
        let conv = |cin: usize, cout: usize, k: usize, stride: usize| {
            let p = k / 2;
            Conv2dConfig::new([cin, cout], [k, k])
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
                .with_bias(false)
                .init(device)
        };
        let bn = |c: usize| BatchNormConfig::new(c).init(device);
        let (p, s) = (self.planes, self.stride);
        let out = p * self.kind.expansion();
        let downsample = (s != 1 || self.in_channels != out).then(|| Downsample {
            conv: conv(self.in_channels, out, 1, s),
            bn: bn(out),
        });
        match self.kind {
            // torchvision puts the stride on the 3×3 convolution (ResNet v1.5).
            BlockKind::Basic => ResidualBlock {
                conv1: conv(self.in_channels, p, 3, s),
                bn1: bn(p),
                conv2: conv(p, p, 3, 1),
                bn2: bn(p),
                conv3: None,
                bn3: None,
                downsample,
            },
            BlockKind::Bottleneck => ResidualBlock {
                conv1: conv(self.in_channels, p, 1, 1),
                bn1: bn(p),
                conv2: conv(p, p, 3, s),
                bn2: bn(p),
                conv3: Some(conv(p, out, 1, 1)),
                bn3: Some(bn(out)),
                downsample,
            },
        }
    }
}

impl<B: Backend> ResidualBlock<B> {
    /// `[batch, C_in, h, w]` → `[batch, C_out, h/stride, w/stride]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let shortcut = match &self.downsample {
            Some(d) => d.bn.forward(d.conv.forward(x.clone())),
            None => x.clone(),
        };
        let out = relu(self.bn1.forward(self.conv1.forward(x)));
        let out = self.bn2.forward(self.conv2.forward(out));
        let out = match (&self.conv3, &self.bn3) {
            (Some(conv3), Some(bn3)) => bn3.forward(conv3.forward(relu(out))),
            _ => out,
        };
        relu(out + shortcut)
    }

    /// Output channels of this block.
    pub fn out_channels(&self) -> usize {
        match &self.bn3 {
            Some(bn3) => bn3.gamma.shape()[0],
            None => self.bn2.gamma.shape()[0],
        }
    }
}

/// Loads torchvision-named weights (an ImageNet `resnet18/34/50-*.pth` state
/// dict, or the same names in `.safetensors`). The classifier `fc` is read
/// only when the network has one.
#[cfg(feature = "import")]
pub fn load_torchvision<B: Backend>(
    net: ResNet<B>,
    path: &std::path::Path,
) -> Result<ResNet<B>, super::import::ImportError> {
    let checkpoint = super::import::Checkpoint::open(path)?;
    super::import::load_module(net, &checkpoint, |p| Some(super::torchvision_path(p)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    type B = Flex;

    #[test]
    fn resnet_shapes_at_small_width() {
        let device = Default::default();
        for (config, channels) in [
            (ResNetConfig::resnet18().with_base_width(4), 32),
            (ResNetConfig::resnet34().with_base_width(4), 32),
            (ResNetConfig::resnet50().with_base_width(4), 128),
        ] {
            assert_eq!(config.out_channels(), channels);
            let net = config.init::<B>(&device);
            assert_eq!(net.out_channels(), channels);
            let features = net.forward_features(Tensor::ones([2, 3, 64, 64], &device));
            assert_eq!(features.pooled.dims(), [2, channels]);
            assert_eq!(features.map.dims(), [2, channels, 2, 2]);
            assert!(net
                .classify(Tensor::ones([1, 3, 32, 32], &device))
                .is_none());
        }
    }

    #[test]
    fn classifier_and_stage_layout() {
        let device = Default::default();
        let net = ResNetConfig::resnet50()
            .with_base_width(2)
            .with_num_classes(Some(7))
            .init::<B>(&device);
        let logits = net.classify(Tensor::zeros([1, 3, 32, 32], &device));
        assert_eq!(logits.map(|l| l.dims()), Some([1, 7]));
        let blocks: Vec<usize> = [&net.layer1, &net.layer2, &net.layer3, &net.layer4]
            .iter()
            .map(|l| l.len())
            .collect();
        assert_eq!(blocks, [3, 4, 6, 3]);
        // Only the first block of each stage projects its shortcut.
        for layer in [&net.layer1, &net.layer2, &net.layer3, &net.layer4] {
            assert!(layer[0].downsample.is_some());
            assert!(layer[1..].iter().all(|b| b.downsample.is_none()));
        }
        // ResNet-18's layer1 keeps its width: no projection there.
        let r18 = ResNetConfig::resnet18()
            .with_base_width(2)
            .init::<B>(&device);
        assert!(r18.layer1[0].downsample.is_none());
        assert!(r18.layer2[0].downsample.is_some());
    }
}
