//! Binary glTF 2.0 (`.glb`) export of a posed SMPL-X body with its skeleton,
//! for Blender, three.js and any other glTF tool.
//!
//! The file holds one skinned mesh and the 55 SMPL-X joints as a node
//! hierarchy (named as in [`crate::smplx::joints::JOINT_NAMES`]). The bind
//! pose *is* the posed body: joint nodes sit at the posed joint positions
//! with identity rotations and the inverse bind matrices undo those
//! translations, so the mesh shows exactly the vertices it was given (pose
//! correctives and expression included) while Blender still imports an
//! armature whose bones move the skin (four strongest SMPL-X skinning
//! weights per vertex).

use serde_json::json;

use crate::smplx::joints::{JOINT_NAMES, NUM_JOINTS};

/// A posed body to export.
#[derive(Debug, Clone, Copy)]
pub struct GlbBody<'a> {
    /// Posed vertices, metres.
    pub vertices: &'a [[f32; 3]],
    pub faces: &'a [[u32; 3]],
    /// Posed joint positions, at least the 55 skeleton joints.
    pub joints: &'a [[f32; 3]],
    /// Kinematic parents of the 55 joints (−1 for the root).
    pub parents: &'a [i64],
    /// Skinning weights, `[V, 55]` row-major.
    pub weights: &'a [f32],
    /// Optional linear RGB per vertex, in [0, 1].
    pub colors: Option<&'a [[f32; 3]]>,
}

/// Influences per vertex in glTF's `JOINTS_0` / `WEIGHTS_0`.
const INFLUENCES: usize = 4;

/// Builds the `.glb` bytes; errors describe inconsistent input.
pub fn write_glb(body: &GlbBody) -> Result<Vec<u8>, String> {
    let v = body.vertices.len();
    if body.joints.len() < NUM_JOINTS || body.parents.len() < NUM_JOINTS {
        return Err(format!(
            "GLB export needs {NUM_JOINTS} joints and parents, got {} and {}",
            body.joints.len(),
            body.parents.len()
        ));
    }
    if body.weights.len() != v * NUM_JOINTS {
        return Err(format!(
            "GLB export: {} skinning weights for {v} vertices × {NUM_JOINTS} joints",
            body.weights.len()
        ));
    }
    if let Some(colors) = body.colors {
        if colors.len() != v {
            return Err(format!(
                "GLB export: {} colours for {v} vertices",
                colors.len()
            ));
        }
    }
    if let Some(bad) = body.faces.iter().flatten().find(|&&i| i as usize >= v) {
        return Err(format!("GLB export: face index {bad} with {v} vertices"));
    }

    let mut bin: Vec<u8> = Vec::new();
    let mut views = Vec::new();
    let mut accessors = Vec::new();
    // Appends one tightly packed block (4-byte aligned) plus its accessor.
    let mut push = |bytes: Vec<u8>, accessor: serde_json::Value, target: Option<u32>| -> usize {
        while !bin.len().is_multiple_of(4) {
            bin.push(0);
        }
        let mut view = json!({ "buffer": 0, "byteOffset": bin.len(), "byteLength": bytes.len() });
        if let Some(t) = target {
            view["target"] = json!(t);
        }
        bin.extend_from_slice(&bytes);
        let mut accessor = accessor;
        accessor["bufferView"] = json!(views.len());
        views.push(view);
        accessors.push(accessor);
        accessors.len() - 1
    };
    let f32s = |values: &mut dyn Iterator<Item = f32>| -> Vec<u8> {
        values.flat_map(f32::to_le_bytes).collect()
    };
    const ARRAY_BUFFER: u32 = 34962;
    const ELEMENT_ARRAY_BUFFER: u32 = 34963;
    const FLOAT: u32 = 5126;
    const UNSIGNED_SHORT: u32 = 5123;
    const UNSIGNED_INT: u32 = 5125;

    let mut min = [f32::MAX; 3];
    let mut max = [f32::MIN; 3];
    for p in body.vertices {
        for k in 0..3 {
            min[k] = min[k].min(p[k]);
            max[k] = max[k].max(p[k]);
        }
    }
    if v == 0 {
        (min, max) = ([0.0; 3], [0.0; 3]);
    }
    let position = push(
        f32s(&mut body.vertices.iter().flatten().copied()),
        json!({ "componentType": FLOAT, "count": v, "type": "VEC3", "min": min, "max": max }),
        Some(ARRAY_BUFFER),
    );
    let mut normals = crate::mesh::vertex_normals(body.vertices, body.faces);
    // glTF requires unit normals; a vertex in no triangle (the mannequin has
    // a few) has none, so it gets an arbitrary unit one.
    for n in &mut normals {
        let len2 = n[0] * n[0] + n[1] * n[1] + n[2] * n[2];
        if len2.is_nan() || len2 < 0.5 {
            *n = [0.0, 0.0, 1.0];
        }
    }
    let normal = push(
        f32s(&mut normals.iter().flatten().copied()),
        json!({ "componentType": FLOAT, "count": v, "type": "VEC3" }),
        Some(ARRAY_BUFFER),
    );
    // The strongest influences per vertex, renormalised to sum to one.
    let mut joint_ids = Vec::with_capacity(v * INFLUENCES * 2);
    let mut joint_weights = Vec::with_capacity(v * INFLUENCES * 4);
    for row in body.weights.chunks(NUM_JOINTS) {
        let mut order: Vec<usize> = (0..NUM_JOINTS).collect();
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
        let top = &order[..INFLUENCES];
        let sum: f32 = top.iter().map(|&j| row[j].max(0.0)).sum();
        for &j in top {
            let w = if sum > 0.0 {
                row[j].max(0.0) / sum
            } else if j == top[0] {
                1.0
            } else {
                0.0
            };
            // An unused influence names joint 0 (glTF validators flag a
            // zero weight on any other joint).
            let j = if w > 0.0 { j } else { 0 };
            joint_ids.extend_from_slice(&(j as u16).to_le_bytes());
            joint_weights.extend_from_slice(&w.to_le_bytes());
        }
    }
    let joints_0 = push(
        joint_ids,
        json!({ "componentType": UNSIGNED_SHORT, "count": v, "type": "VEC4" }),
        Some(ARRAY_BUFFER),
    );
    let weights_0 = push(
        joint_weights,
        json!({ "componentType": FLOAT, "count": v, "type": "VEC4" }),
        Some(ARRAY_BUFFER),
    );
    let color = body.colors.map(|colors| {
        push(
            f32s(&mut colors.iter().flatten().copied()),
            json!({ "componentType": FLOAT, "count": v, "type": "VEC3" }),
            Some(ARRAY_BUFFER),
        )
    });
    let indices = push(
        body.faces
            .iter()
            .flatten()
            .flat_map(|i| i.to_le_bytes())
            .collect(),
        json!({ "componentType": UNSIGNED_INT, "count": body.faces.len() * 3, "type": "SCALAR" }),
        Some(ELEMENT_ARRAY_BUFFER),
    );
    // Column-major translation by −joint: undoes the joint node's transform.
    let inverse_bind = push(
        f32s(&mut body.joints[..NUM_JOINTS].iter().flat_map(|j| {
            [
                1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, -j[0], -j[1], -j[2],
                1.0,
            ]
        })),
        json!({ "componentType": FLOAT, "count": NUM_JOINTS, "type": "MAT4" }),
        None,
    );

    // Node 0: the mesh; nodes 1..=55: the joints.
    let mut nodes = vec![json!({ "name": "body", "mesh": 0, "skin": 0 })];
    let mut roots = vec![0usize];
    for (j, name) in JOINT_NAMES.iter().enumerate().take(NUM_JOINTS) {
        let parent = body.parents[j];
        let here = body.joints[j];
        let translation = match usize::try_from(parent).ok().filter(|&p| p < NUM_JOINTS) {
            Some(p) => {
                let there = body.joints[p];
                [here[0] - there[0], here[1] - there[1], here[2] - there[2]]
            }
            None => {
                roots.push(1 + j);
                here
            }
        };
        let children: Vec<usize> = (0..NUM_JOINTS)
            .filter(|&c| body.parents[c] == j as i64)
            .map(|c| 1 + c)
            .collect();
        let mut node = json!({ "name": name, "translation": translation });
        if !children.is_empty() {
            node["children"] = json!(children);
        }
        nodes.push(node);
    }
    let mut attributes = json!({
        "POSITION": position, "NORMAL": normal, "JOINTS_0": joints_0, "WEIGHTS_0": weights_0
    });
    if let Some(c) = color {
        attributes["COLOR_0"] = json!(c);
    }
    while !bin.len().is_multiple_of(4) {
        bin.push(0);
    }
    let gltf = json!({
        "asset": { "version": "2.0", "generator": "furpe (FuRPE in Rust)" },
        "scene": 0,
        "scenes": [{ "nodes": roots }],
        "nodes": nodes,
        "meshes": [{ "name": "smplx", "primitives": [{ "attributes": attributes, "indices": indices, "mode": 4 }] }],
        "skins": [{ "name": "smplx skeleton", "joints": (1..=NUM_JOINTS).collect::<Vec<_>>(),
                    "inverseBindMatrices": inverse_bind, "skeleton": roots.get(1).copied().unwrap_or(1) }],
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{ "byteLength": bin.len() }],
    });
    let mut text = gltf.to_string().into_bytes();
    // The JSON chunk is padded with spaces, the binary chunk with zeros.
    while !text.len().is_multiple_of(4) {
        text.push(b' ');
    }
    let total = 12 + 8 + text.len() + 8 + bin.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&text);
    out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
    out.extend_from_slice(b"BIN\0");
    out.extend_from_slice(&bin);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smplx::joints::PARENTS;

    #[test]
    fn writes_a_valid_skinned_glb() {
        // The fourth vertex is in no triangle (the mannequin has such).
        let vertices = [
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.5],
            [2.0, 2.0, 2.0],
        ];
        let faces = [[0, 1, 2]];
        let joints: Vec<[f32; 3]> = (0..NUM_JOINTS)
            .map(|j| [j as f32 * 0.01, 0.0, 0.0])
            .collect();
        let mut weights = vec![0.0f32; 4 * NUM_JOINTS];
        weights[0] = 0.7;
        weights[3] = 0.3;
        weights[NUM_JOINTS + 5] = 1.0;
        weights[3 * NUM_JOINTS + 9] = 1.0;
        let body = GlbBody {
            vertices: &vertices,
            faces: &faces,
            joints: &joints,
            parents: &PARENTS,
            weights: &weights,
            colors: None,
        };
        let glb = write_glb(&body).unwrap();
        assert_eq!(&glb[..4], b"glTF");
        let total = u32::from_le_bytes(glb[8..12].try_into().unwrap()) as usize;
        assert_eq!(total, glb.len());
        let json_len = u32::from_le_bytes(glb[12..16].try_into().unwrap()) as usize;
        assert_eq!(&glb[16..20], b"JSON");
        assert_eq!(json_len % 4, 0);
        let doc: serde_json::Value = serde_json::from_slice(&glb[20..20 + json_len]).unwrap();
        let bin_header = 20 + json_len;
        let bin_len = u32::from_le_bytes(glb[bin_header..bin_header + 4].try_into().unwrap());
        assert_eq!(&glb[bin_header + 4..bin_header + 8], b"BIN\0");
        assert_eq!(doc["buffers"][0]["byteLength"], bin_len);
        assert_eq!(doc["nodes"].as_array().unwrap().len(), 1 + NUM_JOINTS);
        assert_eq!(doc["nodes"][1]["name"], "pelvis");
        assert_eq!(
            doc["skins"][0]["joints"].as_array().unwrap().len(),
            NUM_JOINTS
        );
        // Every accessor fits its view, every view fits the buffer.
        let bin = &glb[bin_header + 8..];
        for a in doc["accessors"].as_array().unwrap() {
            let view = &doc["bufferViews"][a["bufferView"].as_u64().unwrap() as usize];
            let (off, len) = (
                view["byteOffset"].as_u64().unwrap(),
                view["byteLength"].as_u64().unwrap(),
            );
            assert!(off + len <= bin.len() as u64);
            assert_eq!(off % 4, 0);
        }
        // First vertex's weights: 0.7 and 0.3 on joints 0 and 3.
        let w = &doc["accessors"][doc["meshes"][0]["primitives"][0]["attributes"]["WEIGHTS_0"]
            .as_u64()
            .unwrap() as usize];
        let off = doc["bufferViews"][w["bufferView"].as_u64().unwrap() as usize]["byteOffset"]
            .as_u64()
            .unwrap() as usize;
        let first = f32::from_le_bytes(bin[off..off + 4].try_into().unwrap());
        assert!((first - 0.7).abs() < 1e-6);
        // What the Khronos validator checks: unit normals everywhere (the
        // unused vertex too), and joint 0 wherever a weight is zero.
        let attribute = |name: &str| {
            let a = &doc["accessors"][doc["meshes"][0]["primitives"][0]["attributes"][name]
                .as_u64()
                .unwrap() as usize];
            let view = &doc["bufferViews"][a["bufferView"].as_u64().unwrap() as usize];
            let off = view["byteOffset"].as_u64().unwrap() as usize;
            &bin[off..off + view["byteLength"].as_u64().unwrap() as usize]
        };
        let floats = |b: &[u8]| -> Vec<f32> {
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect()
        };
        for n in floats(attribute("NORMAL")).chunks_exact(3) {
            let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
            assert!((len - 1.0).abs() < 1e-5, "normal {n:?}");
        }
        let ids: Vec<u16> = attribute("JOINTS_0")
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        for (id, w) in ids.iter().zip(floats(attribute("WEIGHTS_0"))) {
            assert!(w > 0.0 || *id == 0, "joint {id} with weight {w}");
        }
        // Inconsistent input is an error, not a panic.
        let bad = GlbBody {
            weights: &weights[1..],
            ..body
        };
        assert!(write_glb(&bad).is_err());
    }
}
