//! Loading PyTorch checkpoints (`.pt`, `.pth`, `.tar` written by
//! `torch.save`) and `.safetensors` files into the networks of this module.
//!
//! burn-store reads the files (the pickle is parsed, never executed; tensor
//! data is read lazily). Matching is done here so that every problem is
//! reported in the checkpoint's own terms: the file, the checkpoint key and
//! both shapes in PyTorch's layout. Each network supplies a function from its
//! parameter paths, written PyTorch-style (BatchNorm `weight`/`bias` for Burn's
//! `gamma`/`beta`), to checkpoint keys.
//!
//! Only with the `import` cargo feature (native targets).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{backend::Backend, Tensor, TensorData};
use burn_store::pytorch::{PytorchError, PytorchReader};
use burn_store::{ModuleStore, SafetensorsStore, TensorSnapshot};

/// An error importing a checkpoint; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: cannot read: {reason}")]
    Read { file: String, reason: String },
    #[error("{file}: no top-level entry '{entry}' ({hint})")]
    MissingEntry {
        file: String,
        entry: String,
        hint: String,
    },
    #[error("{file}: missing key '{key}' (expected shape {expected:?}){}{}", more_text(.more), hint_text(.hint))]
    MissingKey {
        file: String,
        key: String,
        expected: Vec<usize>,
        /// Further missing or mis-shaped keys not listed.
        more: usize,
        /// A few keys the file does hold, to show prefix mismatches.
        hint: String,
    },
    #[error("{file}: key '{key}' has shape {found:?}, expected {expected:?}{}", more_text(.more))]
    Shape {
        file: String,
        key: String,
        found: Vec<usize>,
        expected: Vec<usize>,
        more: usize,
    },
    #[error("{file}: key '{key}': cannot read tensor data: {reason}")]
    Data {
        file: String,
        key: String,
        reason: String,
    },
}

fn more_text(more: &usize) -> String {
    match *more {
        0 => String::new(),
        n => format!(" (and {n} more missing or mis-shaped keys)"),
    }
}

fn hint_text(hint: &str) -> String {
    if hint.is_empty() {
        String::new()
    } else {
        format!("; {hint}")
    }
}

/// The tensors of one checkpoint file (or of one top-level entry of it).
pub struct Checkpoint {
    file: String,
    tensors: BTreeMap<String, TensorSnapshot>,
}

impl Checkpoint {
    /// Opens a plain state dict: `.safetensors` by extension, anything else
    /// as a PyTorch file (zip, legacy or tar container, detected by content).
    pub fn open(path: &Path) -> Result<Self, ImportError> {
        Self::open_inner(path, None)
    }

    /// Opens the state dict stored under a top-level key of a PyTorch
    /// checkpoint (SPIN's `model`, DECA's `E_flame`).
    pub fn open_entry(path: &Path, entry: &str) -> Result<Self, ImportError> {
        Self::open_inner(path, Some(entry))
    }

    fn open_inner(path: &Path, entry: Option<&str>) -> Result<Self, ImportError> {
        let file = path.display().to_string();
        let read_err = |reason: String| ImportError::Read {
            file: file.clone(),
            reason,
        };
        if !path.is_file() {
            return Err(read_err("no such file".into()));
        }
        let is_safetensors = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("safetensors"));
        let tensors: BTreeMap<String, TensorSnapshot> = if is_safetensors {
            let mut store = SafetensorsStore::from_file(path);
            let all = store
                .get_all_snapshots()
                .map_err(|e| read_err(e.to_string()))?;
            let prefix = entry.map(|e| format!("{e}.")).unwrap_or_default();
            all.iter()
                .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_string(), v.clone())))
                .collect()
        } else {
            let reader = match entry {
                Some(key) => PytorchReader::with_top_level_key(path, key),
                None => PytorchReader::new(path),
            };
            match reader {
                Ok(r) => r.into_tensors().into_iter().collect(),
                Err(PytorchError::KeyNotFound(_)) => {
                    let entry = entry.unwrap_or_default().to_string();
                    let hint = match PytorchReader::new(path) {
                        Ok(r) => sample_keys(r.keys().iter().map(String::as_str)),
                        Err(_) => String::from("the file holds no readable tensors"),
                    };
                    return Err(ImportError::MissingEntry { file, entry, hint });
                }
                Err(e) => return Err(read_err(e.to_string())),
            }
        };
        if tensors.is_empty() {
            return Err(read_err("no tensors found".into()));
        }
        Ok(Self { file, tensors })
    }

    /// The file, as given.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// All tensor keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// Shape of one tensor.
    pub fn shape(&self, key: &str) -> Option<Vec<usize>> {
        self.tensors.get(key).map(|s| s.shape.to_vec())
    }

    /// One tensor's data as `f32` values in row-major order.
    pub fn read_f32(&self, key: &str) -> Result<(Vec<usize>, Vec<f32>), ImportError> {
        let data = self.data(key)?;
        let shape = data.shape.to_vec();
        let values = data.to_vec::<f32>().map_err(|e| ImportError::Data {
            file: self.file.clone(),
            key: key.to_string(),
            reason: format!("{e:?}"),
        })?;
        Ok((shape, values))
    }

    fn data(&self, key: &str) -> Result<TensorData, ImportError> {
        let err = |reason: String| ImportError::Data {
            file: self.file.clone(),
            key: key.to_string(),
            reason,
        };
        let snapshot = self
            .tensors
            .get(key)
            .ok_or_else(|| err("no such key".into()))?;
        let data = snapshot.to_data().map_err(|e| err(format!("{e:?}")))?;
        Ok(data.convert::<f32>())
    }
}

fn sample_keys<'a>(keys: impl Iterator<Item = &'a str>) -> String {
    let mut keys: Vec<&str> = keys
        .filter(|k| !k.ends_with("num_batches_tracked"))
        .collect();
    keys.sort_unstable();
    if keys.is_empty() {
        return "the file holds no tensors".into();
    }
    let shown: Vec<String> = keys.iter().take(4).map(|k| format!("'{k}'")).collect();
    format!(
        "the file holds {} tensors, e.g. {}",
        keys.len(),
        shown.join(", ")
    )
}

/// One parameter (or running statistic) of a module.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamEntry {
    /// Burn path, e.g. `layer1.0.bn1.gamma`.
    pub path: String,
    /// The same path PyTorch-style, e.g. `layer1.0.bn1.weight`.
    pub torch_path: String,
    /// Shape in PyTorch's layout (`Linear` weights as `[out, in]`).
    pub torch_shape: Vec<usize>,
    /// A `Linear` weight: stored transposed in Burn.
    pub transposed: bool,
}

/// Every float tensor of `module` with its PyTorch-style name and shape,
/// in visiting order. Does not initialise lazy parameters.
pub fn param_entries<B: Backend, M: Module<B>>(module: &M) -> Vec<ParamEntry> {
    let mut visitor = EntryCollector {
        path: Vec::new(),
        containers: Vec::new(),
        entries: Vec::new(),
    };
    module.visit(&mut visitor);
    visitor.entries
}

struct EntryCollector {
    path: Vec<String>,
    containers: Vec<String>,
    entries: Vec<ParamEntry>,
}

impl<B: Backend> ModuleVisitor<B> for EntryCollector {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.push(name.to_string());
        self.containers.push(container_type.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
        self.containers.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let container = self.containers.last().map(String::as_str).unwrap_or("");
        let leaf = self.path.last().map(String::as_str).unwrap_or("");
        let mut shape = param.lazy_shape().to_vec();
        let transposed = container == "Struct:Linear" && leaf == "weight" && D == 2;
        if transposed {
            shape.reverse();
        }
        let mut torch = self.path.clone();
        if container == "Struct:BatchNorm" {
            if let Some(last) = torch.last_mut() {
                match last.as_str() {
                    "gamma" => *last = "weight".into(),
                    "beta" => *last = "bias".into(),
                    _ => {}
                }
            }
        }
        self.entries.push(ParamEntry {
            path: self.path.join("."),
            torch_path: torch.join("."),
            torch_shape: shape,
            transposed,
        });
    }
}

/// Loads `module`'s parameters from `checkpoint`.
///
/// `key_of` maps a PyTorch-style parameter path (see [`ParamEntry`]) to the
/// checkpoint key, or to `None` for parameters the checkpoint does not hold
/// (they keep their current values). Checkpoint keys nobody asks for are
/// ignored (optimiser state, `num_batches_tracked`, other sub-networks).
/// Nothing is changed unless every requested key exists with the right shape.
pub fn load_module<B, M, F>(module: M, checkpoint: &Checkpoint, key_of: F) -> Result<M, ImportError>
where
    B: Backend,
    M: Module<B>,
    F: Fn(&str) -> Option<String>,
{
    let entries = param_entries::<B, M>(&module);
    let mut problems: Vec<ImportError> = Vec::new();
    let mut wanted: Vec<(&ParamEntry, String)> = Vec::new();
    for entry in &entries {
        let Some(key) = key_of(&entry.torch_path) else {
            continue;
        };
        match checkpoint.tensors.get(&key) {
            None => problems.push(ImportError::MissingKey {
                file: checkpoint.file.clone(),
                key,
                expected: entry.torch_shape.clone(),
                more: 0,
                hint: String::new(),
            }),
            Some(s) if s.shape.to_vec() != entry.torch_shape => problems.push(ImportError::Shape {
                file: checkpoint.file.clone(),
                key,
                found: s.shape.to_vec(),
                expected: entry.torch_shape.clone(),
                more: 0,
            }),
            Some(_) => wanted.push((entry, key)),
        }
    }
    if !problems.is_empty() {
        let more = problems.len() - 1;
        let mut first = problems.swap_remove(0);
        match &mut first {
            ImportError::MissingKey { more: m, hint, .. } => {
                *m = more;
                *hint = sample_keys(checkpoint.keys());
            }
            ImportError::Shape { more: m, .. } => *m = more,
            _ => {}
        }
        return Err(first);
    }
    let mut values: HashMap<String, TensorData> = HashMap::with_capacity(wanted.len());
    for (entry, key) in wanted {
        let mut data = checkpoint.data(&key)?;
        if entry.transposed {
            data = transpose_2d(data).map_err(|reason| ImportError::Data {
                file: checkpoint.file.clone(),
                key: key.clone(),
                reason,
            })?;
        }
        values.insert(entry.path.clone(), data);
    }
    let mut loader = Loader {
        path: Vec::new(),
        values,
    };
    Ok(module.map(&mut loader))
}

fn transpose_2d(data: TensorData) -> Result<TensorData, String> {
    let [rows, cols] = [data.shape[0], data.shape[1]];
    let v = data.to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
    let mut t = vec![0.0f32; v.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = v[r * cols + c];
        }
    }
    Ok(TensorData::new(t, [cols, rows]))
}

struct Loader {
    path: Vec<String>,
    values: HashMap<String, TensorData>,
}

impl<B: Backend> ModuleMapper<B> for Loader {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        match self.values.remove(&self.path.join(".")) {
            Some(data) => {
                let id = param.id;
                let device = param.lazy_device();
                let tensor = Tensor::from_data(data.convert::<B::FloatElem>(), &device);
                param.transform_for_load(tensor, id)
            }
            None => param,
        }
    }
}
