//! What a frame shows (a mesh, lights, a pinhole view, a background) and the
//! image it becomes on the host; shared by the GPU and CPU drawers.

use crate::camera::PinholeCamera;

/// Directional lights per frame.
pub const MAX_LIGHTS: usize = 2;

/// What can go wrong while rendering.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(
        "no GPU adapter found through wgpu ({0}). The renderer needs a Vulkan, Metal or DX12 \
         device; on a machine without a GPU install Mesa's CPU Vulkan driver \
         (`apt-get install mesa-vulkan-drivers`, the `llvmpipe` device; check with \
         `vulkaninfo --summary`)"
    )]
    NoAdapter(String),
    #[error("opening the GPU device failed: {0}")]
    Device(String),
    #[error("reading the rendered image back failed: {0}")]
    Readback(String),
    #[error("{0}")]
    Input(String),
}

// ---------------------------------------------------------------- scene data

/// A triangle mesh in world coordinates (metres), one normal and one linear
/// RGB colour in [0, 1] per vertex.
#[derive(Debug, Clone, Copy)]
pub struct MeshData<'a> {
    pub positions: &'a [[f32; 3]],
    pub normals: &'a [[f32; 3]],
    pub colors: &'a [[f32; 3]],
    pub triangles: &'a [[u32; 3]],
}

impl MeshData<'_> {
    pub(super) fn validate(&self) -> Result<(), RenderError> {
        let n = self.positions.len();
        if self.normals.len() != n || self.colors.len() != n {
            return Err(RenderError::Input(format!(
                "mesh has {n} positions but {} normals and {} colours",
                self.normals.len(),
                self.colors.len()
            )));
        }
        if let Some(t) = self.triangles.iter().flatten().find(|&&i| i as usize >= n) {
            return Err(RenderError::Input(format!(
                "triangle index {t} out of range ({n} vertices)"
            )));
        }
        Ok(())
    }
}

/// A directional light: `direction` points from the surface towards the
/// light (world frame, need not be normalised); `color` scales the albedo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Light {
    pub direction: [f32; 3],
    pub color: [f32; 3],
}

/// Ambient term plus directional lights (unused ones black).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lighting {
    pub ambient: [f32; 3],
    pub lights: [Light; MAX_LIGHTS],
}

impl Lighting {
    /// Unshaded: every fragment gets exactly its vertex colour.
    pub fn flat() -> Self {
        let off = Light {
            direction: [0.0, 0.0, 1.0],
            color: [0.0; 3],
        };
        Self {
            ambient: [1.0; 3],
            lights: [off; MAX_LIGHTS],
        }
    }
}

impl Default for Lighting {
    /// A key light from the upper front (world y up, +z towards a camera in
    /// front of the body) and a weaker fill from the side.
    fn default() -> Self {
        Self {
            ambient: [0.35; 3],
            lights: [
                Light {
                    direction: [0.3, 0.8, 0.6],
                    color: [0.7; 3],
                },
                Light {
                    direction: [-0.8, 0.1, 0.4],
                    color: [0.2; 3],
                },
            ],
        }
    }
}

/// The camera and image a frame is drawn for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    pub camera: PinholeCamera,
    pub width: u32,
    pub height: u32,
    /// Clipping planes, metres along the optical axis.
    pub near: f32,
    pub far: f32,
}

impl View {
    /// A view with near/far planes at 5 cm and 1 km.
    pub fn new(camera: PinholeCamera, width: u32, height: u32) -> Self {
        Self {
            camera,
            width,
            height,
            near: 0.05,
            far: 1000.0,
        }
    }

    /// World → wgpu clip space, column-major (what WGSL's `mat4x4` reads).
    ///
    /// OpenCV pixels (u, v) = f·(x, y)/z + c map to the framebuffer point
    /// (u + ½, v + ½) (the centre of pixel (u, v)); clip y is up where image
    /// v is down; depth z ∈ [near, far] maps to [0, 1].
    pub fn clip_from_world(&self) -> [[f32; 4]; 4] {
        let c = &self.camera;
        let (w, h) = (self.width as f64, self.height as f64);
        let (n, f) = (self.near as f64, self.far as f64);
        // Rows of the projection acting on camera-frame (x, y, z, 1).
        let proj = [
            [
                2.0 * c.focal[0] / w,
                0.0,
                2.0 * (c.center[0] + 0.5) / w - 1.0,
                0.0,
            ],
            [
                0.0,
                -2.0 * c.focal[1] / h,
                1.0 - 2.0 * (c.center[1] + 0.5) / h,
                0.0,
            ],
            [0.0, 0.0, f / (f - n), -f * n / (f - n)],
            [0.0, 0.0, 1.0, 0.0],
        ];
        let mut extrinsic = [[0.0f64; 4]; 4];
        for (row, (r, t)) in extrinsic
            .iter_mut()
            .zip(c.rotation.iter().zip(c.translation))
        {
            row[..3].copy_from_slice(r);
            row[3] = t;
        }
        extrinsic[3][3] = 1.0;
        let mut out = [[0.0f32; 4]; 4];
        for (row, proj_row) in proj.iter().enumerate() {
            for (col, column) in out.iter_mut().enumerate() {
                column[row] = (0..4).map(|k| proj_row[k] * extrinsic[k][col]).sum::<f64>() as f32;
            }
        }
        out
    }

    /// Camera-frame depth (metres) of a depth-buffer value; `None` for the
    /// cleared value 1 (nothing drawn there).
    pub fn linear_depth(&self, depth: f32) -> Option<f32> {
        if depth >= 1.0 {
            return None;
        }
        let (n, f) = (self.near as f64, self.far as f64);
        Some((f * n / (f - depth as f64 * (f - n))) as f32)
    }

    /// The camera centre in world coordinates, −Rᵀt.
    pub(super) fn eye(&self) -> [f32; 3] {
        let r = &self.camera.rotation;
        let t = &self.camera.translation;
        [0, 1, 2].map(|j| -(0..3).map(|i| r[i][j] * t[i]).sum::<f64>() as f32)
    }
}

/// What is behind the mesh.
#[derive(Debug, Clone, Copy)]
pub enum Background<'a> {
    /// A flat linear RGB colour.
    Color([f32; 3]),
    /// An RGBA8 image, rows top to bottom; stretched (nearest) to the target.
    Image {
        rgba: &'a [u8],
        width: u32,
        height: u32,
    },
}

/// One frame: camera, lights, background and (optionally) a mesh.
#[derive(Debug, Clone, Copy)]
pub struct Scene<'a> {
    pub view: View,
    pub lighting: Lighting,
    pub background: Background<'a>,
    pub mesh: Option<MeshData<'a>>,
}

/// Re-exported here because every scene needs normals; the one definition
/// lives with the other mesh helpers.
pub use crate::mesh::vertex_normals;

/// A rendered image on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    /// RGBA8, rows top to bottom.
    pub rgba: Vec<u8>,
    /// Depth-buffer values in [0, 1]; 1 where nothing was drawn. Turn into
    /// metres with [`View::linear_depth`].
    pub depth: Vec<f32>,
}

impl Frame {
    /// Whether the mesh covers pixel (x, y) (false outside the image).
    pub fn covered(&self, x: i64, y: i64) -> bool {
        self.depth_at(x, y).is_some_and(|d| d < 1.0)
    }

    /// The depth-buffer value at pixel (x, y), if inside the image.
    pub fn depth_at(&self, x: i64, y: i64) -> Option<f32> {
        (x >= 0 && y >= 0 && x < self.width as i64 && y < self.height as i64)
            .then(|| self.depth[y as usize * self.width as usize + x as usize])
    }

    /// The RGBA value of pixel (x, y), if inside the image.
    pub fn pixel(&self, x: i64, y: i64) -> Option<[u8; 4]> {
        (x >= 0 && y >= 0 && x < self.width as i64 && y < self.height as i64).then(|| {
            let i = (y as usize * self.width as usize + x as usize) * 4;
            [0, 1, 2, 3].map(|k| self.rgba[i + k])
        })
    }

    /// Box-filters `factor`×`factor` blocks (supersampling anti-aliasing);
    /// depth keeps each block's nearest value, so a pixel counts as covered
    /// when any of its samples is. Leftover rows/columns are dropped.
    pub fn downsampled(&self, factor: u32) -> Frame {
        if factor <= 1 {
            return self.clone();
        }
        let (w, h) = (self.width / factor, self.height / factor);
        let f = factor as usize;
        let sw = self.width as usize;
        let mut rgba = vec![0u8; w as usize * h as usize * 4];
        let mut depth = vec![1f32; w as usize * h as usize];
        let samples = (f * f) as u32;
        for y in 0..h as usize {
            for x in 0..w as usize {
                let mut acc = [0u32; 4];
                let mut nearest = 1f32;
                for dy in 0..f {
                    for dx in 0..f {
                        let s = (y * f + dy) * sw + x * f + dx;
                        (0..4).for_each(|k| acc[k] += self.rgba[s * 4 + k] as u32);
                        nearest = nearest.min(self.depth[s]);
                    }
                }
                let o = y * w as usize + x;
                (0..4).for_each(|k| rgba[o * 4 + k] = ((acc[k] + samples / 2) / samples) as u8);
                depth[o] = nearest;
            }
        }
        Frame {
            width: w,
            height: h,
            rgba,
            depth,
        }
    }
}
