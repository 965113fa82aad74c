//! SSD anchors: MediaPipe's anchor layout for the detectors, generated in
//! the order of the models' output rows.

/// An SSD detector's anchor layout (MediaPipe's `SsdAnchorsCalculator`
/// options). Every detector here has one square feature map per stride,
/// `ceil(input_size / stride)` cells a side, one layer per stride and
/// `reduce_boxes_in_lowest_layer = false`, so those options are not modelled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnchorConfig {
    /// Square input side (pixels).
    pub input_size: usize,
    /// Anchor scale of the first and the last layer (fractions of the input).
    pub min_scale: f32,
    pub max_scale: f32,
    /// One per layer; consecutive equal strides share a feature map.
    pub strides: &'static [usize],
    pub aspect_ratios: &'static [f32],
    /// Aspect ratio of the extra anchor at the geometric mean of a layer's
    /// scale and the next one's (1.0 at the last layer); 0 for none.
    pub interpolated_scale_aspect_ratio: f32,
    /// Anchor centre within its cell (0.5: the middle).
    pub anchor_offset: f32,
    /// Every anchor 1 × 1: the regressors then carry the whole box size.
    pub fixed_anchor_size: bool,
}

/// One anchor, normalised to the detector input ([0, 1], y down).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anchor {
    pub center: [f32; 2],
    /// Width, height.
    pub size: [f32; 2],
}

/// The anchors in the order of the model's output rows: stride groups,
/// then cell rows, cell columns, anchors of a cell.
pub fn ssd_anchors(config: &AnchorConfig) -> Vec<Anchor> {
    let strides = config.strides;
    let mut anchors = Vec::new();
    let mut first = 0;
    while first < strides.len() {
        // Layers sharing a stride share one feature map.
        let end = first
            + strides[first..]
                .iter()
                .take_while(|&&s| s == strides[first])
                .count();
        let sizes = cell_anchor_sizes(config, first..end);
        let cells = config.input_size.div_ceil(strides[first].max(1));
        for y in 0..cells {
            for x in 0..cells {
                let center = [
                    (x as f32 + config.anchor_offset) / cells as f32,
                    (y as f32 + config.anchor_offset) / cells as f32,
                ];
                for &size in &sizes {
                    let size = if config.fixed_anchor_size {
                        [1.0, 1.0]
                    } else {
                        size
                    };
                    anchors.push(Anchor { center, size });
                }
            }
        }
        first = end;
    }
    anchors
}

/// (width, height) of the anchors in one cell of the feature map shared by
/// `layers`: per layer, one per aspect ratio, then the interpolated one.
fn cell_anchor_sizes(config: &AnchorConfig, layers: std::ops::Range<usize>) -> Vec<[f32; 2]> {
    let mut sizes = Vec::new();
    for layer in layers {
        let scale = anchor_scale(config, layer);
        for &ratio in config.aspect_ratios {
            sizes.push(anchor_size(scale, ratio));
        }
        if config.interpolated_scale_aspect_ratio > 0.0 {
            let next = if layer + 1 == config.strides.len() {
                1.0
            } else {
                anchor_scale(config, layer + 1)
            };
            let ratio = config.interpolated_scale_aspect_ratio;
            sizes.push(anchor_size((scale * next).sqrt(), ratio));
        }
    }
    sizes
}

/// Layer `layer`'s scale: linear from `min_scale` to `max_scale`.
fn anchor_scale(config: &AnchorConfig, layer: usize) -> f32 {
    let n = config.strides.len();
    if n == 1 {
        (config.min_scale + config.max_scale) / 2.0
    } else {
        config.min_scale + (config.max_scale - config.min_scale) * layer as f32 / (n - 1) as f32
    }
}

/// (width, height) of an anchor of `scale` and aspect ratio `ratio` (w / h).
fn anchor_size(scale: f32, ratio: f32) -> [f32; 2] {
    let root = ratio.sqrt();
    [scale * root, scale / root]
}
